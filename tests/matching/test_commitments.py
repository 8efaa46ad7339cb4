"""Bookings that hold: commitments pinned in the day's plan, and insertion candidates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matching.commitments import Commitment, candidate_plans, insertion_candidates
from matching.day_instance import (
    DayOptions,
    DayRoutes,
    build_day_instance,
    plan_day_routes,
    rides_from_plan,
)
from matching.model import (
    DriverTrip,
    Purpose,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
)
from matching.pooling import check_plan, plan_routes, warm_up
from tests.matching.rides_fixtures import T0, at, grid_engine, need, volunteer

MARGIN = DayOptions().commitment_margin_s


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()




def trip(name: str, a: tuple[int, int], b: tuple[int, int], **kw: object) -> DriverTrip:
    kw.setdefault("max_detour_s", 900)
    return DriverTrip(name, "d" + name, *at(*a), *at(*b), T0 + 1800, T0 + 2400, **kw)  # type: ignore[arg-type]


def book(routes: DayRoutes, needs: Sequence[RideNeed]) -> list[Commitment]:
    """The plan's rides as the app would book them (one commitment per driver)."""
    by_id = {n.need_id: n for n in needs}
    out = []
    for ride in routes.rides:
        n = by_id[ride.need_id]
        if ride.return_offer_id == ride.offer_id:
            out.append(
                Commitment(
                    n, ride.offer_id, ("outbound", "return"), ride.pickup_s, ride.return_pickup_s
                )
            )
            continue
        out.append(Commitment(n, ride.offer_id, ("outbound",), ride.pickup_s))
        if ride.return_offer_id is not None and ride.return_pickup_s is not None:
            out.append(Commitment(n, ride.return_offer_id, ("return",), ride.return_pickup_s))
    return out


def plan(
    day_needs: list[RideNeed],
    trips: list[DriverTrip],
    vols: list[VolunteerAvailability],
    commitments: Sequence[Commitment] = (),
    seed: int = 0,
) -> DayRoutes:
    day = build_day_instance(grid_engine(), day_needs, trips, vols, commitments=commitments)
    return rides_from_plan(day, plan_routes(day.instance, 30.0, seed=seed, max_iterations=120))


def promised_pickups(commitments: Sequence[Commitment]) -> dict[tuple[str, str], tuple[str, int]]:
    out = {}
    for c in commitments:
        for leg in c.legs:
            t = c.return_pickup_s if leg == "return" and len(c.legs) == 2 else c.pickup_s
            assert t is not None
            out[(c.need.need_id, leg)] = (c.vehicle_key, t)
    return out


def test_replan_keeps_every_committed_pickup_within_margin() -> None:
    booked_needs = [
        need("a", (0, 0), (0, 6), T0 + 3600),
        need("b", (0, 1), (0, 6), T0 + 3600),
        need("c", (5, 5), (1, 1), T0 + 7200, return_mode=ReturnMode.AFTER_WAIT, return_wait_s=600),
        need("d", (6, 2), (2, 6), T0 + 5400),
    ]
    trips = [trip("t", (0, 0), (0, 7), seats=2)]
    vols = [volunteer("v", (0, 0)), volunteer("w", (6, 6), seats=1)]
    first = plan(booked_needs, trips, vols)
    assert first.problems == () and first.served == 4
    comms = book(first, booked_needs)
    promised = promised_pickups(comms)
    # Nothing new: the re-plan keeps every promise exactly.
    same = plan([], trips, vols, comms)
    assert same.problems == () and same.broken_commitments == {}
    assert same.moved == dict.fromkeys(["a", "b", "c", "d"], 0)
    # New riders, several seeds: every booking stays on its driver, within the margin.
    new = [
        need("n1", (0, 2), (0, 6), T0 + 3600, purpose=Purpose.MEDICAL),
        need("n2", (6, 1), (2, 6), T0 + 5400, purpose=Purpose.MEDICAL),
        need("n3", (5, 6), (1, 1), T0 + 7200),
    ]
    for seed in range(4):
        routes = plan(new, trips, vols, comms, seed=seed)
        assert routes.problems == ()
        assert routes.broken_commitments == {}
        assert set(routes.moved) == {"a", "b", "c", "d"}
        seen = set()
        for route in routes.routes:
            for stop in route.stops:
                if stop.kind != "pickup" or (stop.need_id, stop.leg) not in promised:
                    continue
                key, t = promised[(stop.need_id, stop.leg)]
                assert route.offer_id == key
                assert abs(stop.service_start_s - t) <= MARGIN
                assert abs(routes.moved[stop.need_id]) >= abs(stop.service_start_s - t)
                seen.add((stop.need_id, stop.leg))
        assert seen == set(promised)
        for ride in routes.rides:
            assert ride.committed == (ride.need_id in {"a", "b", "c", "d"})
        assert set(routes.unserved) <= {"n1", "n2", "n3"}


def test_one_seat_trip_with_a_committed_rider_takes_no_second_rider() -> None:
    a = need("a", (0, 1), (0, 6), T0 + 3600)
    b = need("b", (0, 2), (0, 5), T0 + 3600, purpose=Purpose.MEDICAL)
    for seats, fits in ((1, False), (2, True)):
        # a 5-minute detour budget (dwells count): b can only ride along with a, not after her
        trips = [trip("t", (0, 0), (0, 7), seats=seats, max_detour_s=300)]
        comms = book(plan([a], trips, []), [a])
        assert [c.vehicle_key for c in comms] == ["t"]
        routes = plan([b], trips, [], comms)
        assert routes.problems == ()
        assert [r.need_id for r in routes.rides if r.committed] == ["a"]
        assert (routes.unserved == ()) is fits
        assert max(r.max_on_board for r in routes.routes) == seats
        cands = insertion_candidates(grid_engine(), b, trips, [], comms)
        assert [c.vehicle_key for c in cands] == (["t"] if fits else [])


def test_a_volunteers_committed_outing_is_not_double_booked() -> None:
    # a and b at the same time on opposite sides of the grid: v cannot chain them.
    a = need("a", (0, 1), (0, 7), T0 + 3600, window_s=900)
    b = need("b", (7, 0), (7, 7), T0 + 3600, window_s=900, purpose=Purpose.MEDICAL)
    c = need("c", (1, 1), (1, 6), T0 + 7 * 3600)
    morning, afternoon = (T0 - 3600, T0 + 3 * 3600), (T0 + 5 * 3600, T0 + 9 * 3600)
    vols = [volunteer("v", (0, 0), windows=(morning, afternoon))]
    # Open, the priority rider b wins the morning; booked, a keeps it.
    assert [r.need_id for r in plan([a, b], [], vols).rides] == ["b"]
    comms = book(plan([a], [], vols), [a])
    routes = plan([b, c], [], vols, comms)
    assert routes.problems == ()
    assert {r.need_id: r.driver_id for r in routes.rides} == {"a": "v", "c": "v"}
    assert routes.unserved == ("b",)
    drives = sorted((r.start_s, r.end_s) for r in routes.routes if r.driver_id == "v")
    assert len(drives) == 2
    assert all(x[1] <= y[0] for x, y in zip(drives, drives[1:], strict=False))
    assert insertion_candidates(grid_engine(), b, [], vols, comms) == []


def test_a_commitment_to_a_vanished_vehicle_is_reported() -> None:
    a = need("a", (0, 1), (0, 6), T0 + 3600)
    n = need("n", (0, 2), (0, 6), T0 + 3600)
    vols = [volunteer("v", (0, 0))]
    comms = [Commitment(a, "t99", ("outbound",), T0 + 600)]
    day = build_day_instance(grid_engine(), [n], [], vols, commitments=comms)
    assert day.broken_commitments == {"a": "vehicle_absent"}
    routes = plan_day_routes(day, 0.2)
    assert routes.broken_commitments == {"a": "vehicle_absent"}
    assert routes.problems == ()
    assert "a" not in routes.moved and "a" not in {r.need_id for r in routes.rides}
    assert routes.unserved == ()
    # A promise that no longer fits the need's own window is reported too.
    late = Commitment(a, "v", ("outbound",), T0 + 3 * 3600)
    day = build_day_instance(grid_engine(), [], [], vols, commitments=[late])
    assert day.broken_commitments == {"a": "pickup_outside_window"}


def test_commitments_are_validated() -> None:
    a = need("a", (0, 1), (0, 6), T0 + 3600)
    with pytest.raises(ValueError, match="open and committed"):
        build_day_instance(
            grid_engine(), [a], [], [], commitments=[Commitment(a, "v", ("outbound",), T0)]
        )
    with pytest.raises(ValueError, match="has none"):
        build_day_instance(
            grid_engine(), [], [], [], commitments=[Commitment(a, "v", ("return",), T0)]
        )
    twice = [Commitment(a, "v", ("outbound",), T0), Commitment(a, "w", ("outbound",), T0)]
    with pytest.raises(ValueError, match="booked twice"):
        build_day_instance(grid_engine(), [], [], [], commitments=twice)
    with pytest.raises(ValueError, match="legs"):
        Commitment(a, "v", ("aller",), T0)
    with pytest.raises(ValueError, match="return_pickup_s"):
        Commitment(a, "v", ("outbound", "return"), T0)
    with pytest.raises(ValueError, match="commitment_margin_s"):
        DayOptions(commitment_margin_s=-1)


cells = st.tuples(st.integers(0, 7), st.integers(0, 7))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_booked=st.integers(1, 4),
    new_from=cells,
    new_to=cells,
    new_hour=st.integers(1, 4),
    with_return=st.booleans(),
)
def test_insertion_candidates_agree_with_the_planner(
    seed: int,
    n_booked: int,
    new_from: tuple[int, int],
    new_to: tuple[int, int],
    new_hour: int,
    with_return: bool,
) -> None:
    assume(new_from != new_to)
    rng = np.random.default_rng(seed)
    booked = []
    for i in range(n_booked):
        a = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
        b = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
        if a != b:
            booked.append(need(f"b{i}", a, b, T0 + int(rng.integers(1, 5)) * 1800 + 1800))
    trips = [trip("t", (0, 0), (7, 7), seats=int(rng.integers(1, 4)))]
    vols = [volunteer("v", (int(rng.integers(0, 8)), 3), seats=int(rng.integers(1, 4)))]
    comms = book(plan(booked, trips, vols, seed=seed), booked)
    assume(comms)
    kw = {"return_mode": ReturnMode.AFTER_WAIT, "return_wait_s": 900} if with_return else {}
    new = need("new", new_from, new_to, T0 + new_hour * 1800 + 1800, **kw)  # type: ignore[arg-type]
    day = build_day_instance(grid_engine(), [new], trips, vols, commitments=comms)
    found = candidate_plans(day)
    for cand, inst, pplan in found:
        assert check_plan(inst, pplan) == []
        assert new.earliest_pickup_s <= cand.pickup_s < cand.dropoff_s <= new.latest_arrival_s
        assert cand.added_distance_m >= -1e-6
    assert [c.added_distance_m for c, _, _ in found] == sorted(
        c.added_distance_m for c, _, _ in found
    )
    keys = {c.vehicle_key for c, _, _ in found}
    assert keys <= {c.vehicle_key for c in comms}
    full = rides_from_plan(day, plan_routes(day.instance, 30.0, seed=seed, max_iterations=120))
    assert full.problems == ()
    for ride in full.rides:
        if ride.need_id == "new" and ride.offer_id in {c.vehicle_key for c in comms}:
            assert ride.offer_id in keys
    public = insertion_candidates(grid_engine(), new, trips, vols, comms)
    assert [c.vehicle_key for c in public] == [c.vehicle_key for c, _, _ in found][:10]


def test_a_booked_outbound_gets_its_open_return_planned_and_a_booked_return_alone_holds() -> None:
    a = need("a", (0, 1), (0, 6), T0 + 3600, return_mode=ReturnMode.AFTER_WAIT, return_wait_s=900)
    trips = [trip("t", (0, 0), (0, 7), seats=2)]
    vols = [volunteer("v", (0, 4))]
    out = Commitment(a, "t", ("outbound",), T0 + 1860)
    day = build_day_instance(grid_engine(), [], trips, vols, commitments=[out])
    assert day.instance.pin_group is not None
    assert sorted(day.instance.pin_group.tolist()) == [-1, 0]  # the return is open
    routes = plan_day_routes(day, 0.3)
    assert routes.problems == ()
    (ride,) = routes.rides
    assert ride.committed and ride.offer_id == "t" and ride.return_offer_id == "v"
    assert routes.moved == {"a": 0}
    # The return booked alone: its outbound is not planned (the rider went another way).
    back = Commitment(a, "v", ("return",), T0 + 3600 + 900)
    routes = plan_day_routes(
        build_day_instance(grid_engine(), [], trips, vols, commitments=[back]), 0.3
    )
    assert routes.problems == ()
    assert [(s.need_id, s.leg) for r in routes.routes for s in r.stops] == [("a", "return")] * 2
    assert routes.moved == {"a": 0} and routes.rides == ()


def test_a_day_without_commitments_has_no_pins() -> None:
    a = need("a", (0, 1), (0, 6), T0 + 3600)
    day = build_day_instance(grid_engine(), [a], [], [volunteer("v", (0, 0))])
    assert day.instance.pin_group is None and day.instance.pickup_target_s is None
    assert day.committed_needs == frozenset() and day.broken_commitments == {}
    routes = plan_day_routes(day, 0.2)
    assert routes.moved == {} and routes.broken_commitments == {}
    assert [r.committed for r in routes.rides] == [False]
