"""Matching one need on a grid whose travel times are known by hand."""

from __future__ import annotations

import pytest

from matching.model import (
    DriverTrip,
    Purpose,
    Requirement,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
)
from matching.offers import build_offer_set
from matching.rides import match_need
from tests.matching.rides_fixtures import EDGE_S, T0, at, grid_engine


def need(**kw: object) -> RideNeed:
    args: dict[str, object] = {
        "need_id": "roseline",
        "pickup_lat": at(0, 0)[0],
        "pickup_lon": at(0, 0)[1],
        "dropoff_lat": at(0, 5)[0],
        "dropoff_lon": at(0, 5)[1],
        "earliest_pickup_s": T0,
        "latest_arrival_s": T0 + 3600,
        "purpose": Purpose.MEDICAL,
    }
    args.update(kw)
    return RideNeed(**args)  # type: ignore[arg-type]


def volunteer(**kw: object) -> VolunteerAvailability:
    args: dict[str, object] = {
        "driver_id": "vol-1",
        "home_lat": at(1, 0)[0],
        "home_lon": at(1, 0)[1],
        "windows": ((T0 - 3600, T0 + 7200),),
        "max_distance_km": 20.0,
    }
    args.update(kw)
    return VolunteerAvailability(**args)  # type: ignore[arg-type]


def trip(
    offer_id: str = "trip-1",
    frm: tuple[int, int] = (1, 0),
    to: tuple[int, int] = (1, 7),
    **kw: object,
) -> DriverTrip:
    args: dict[str, object] = {
        "offer_id": offer_id,
        "driver_id": "drv-" + offer_id,
        "origin_lat": at(*frm)[0],
        "origin_lon": at(*frm)[1],
        "destination_lat": at(*to)[0],
        "destination_lon": at(*to)[1],
        "departure_earliest_s": T0,
        "departure_latest_s": T0 + 600,
        "seats": 2,
        "max_detour_s": 600,
    }
    args.update(kw)
    return DriverTrip(**args)  # type: ignore[arg-type]


def codes(result: object) -> dict[str, int]:
    return {r.code: r.count for r in result.reasons}  # type: ignore[attr-defined]


def test_volunteer_round_trip_times_and_costs() -> None:
    result = match_need(grid_engine(), need(), [], [volunteer()])
    assert result.direct_time_s == 5 * EDGE_S
    assert result.direct_distance_m == pytest.approx(5000)
    (cand,) = result.candidates
    assert cand.kind == "volunteer" and cand.driver_id == "vol-1"
    # Latest pickup that still arrives by the appointment.
    assert cand.pickup_s == T0 + 3600 - 300
    assert cand.dropoff_s == T0 + 3600
    assert cand.leave_s == cand.pickup_s - 60
    assert cand.end_s == T0 + 3600 + 360
    assert cand.added_time_s == 60 + 300 + 360
    assert cand.added_distance_m == pytest.approx(12_000)
    assert cand.rider_contribution_eur == pytest.approx(1.60)
    assert cand.mileage_allowance_eur == pytest.approx(3.84)
    assert cand.return_pickup_s is None


def test_trip_detour_ranks_before_volunteer() -> None:
    result = match_need(grid_engine(), need(), [trip()], [volunteer()], top=5)
    assert [c.kind for c in result.candidates] == ["trip", "volunteer"]
    cand = result.candidates[0]
    # (1,0) -> (0,0) -> (0,5) -> (1,7) instead of (1,0) -> (1,7): 9 minutes instead of 7.
    assert cand.added_time_s == 120
    assert cand.added_distance_m == pytest.approx(2000)
    assert cand.total_distance_m == pytest.approx(9000)
    assert cand.leave_s == T0
    assert cand.pickup_s == T0 + 60
    assert cand.dropoff_s == T0 + 360
    assert match_need(grid_engine(), need(), [trip()], [volunteer()], top=1).candidates == (cand,)


def test_return_after_wait_by_volunteer_and_by_two_trips() -> None:
    n = need(return_mode=ReturnMode.AFTER_WAIT, return_wait_s=1800)
    back = trip(
        "trip-2",
        frm=(1, 7),
        to=(1, 0),
        departure_earliest_s=T0 + 5000,
        departure_latest_s=T0 + 6000,
    )
    result = match_need(grid_engine(), n, [trip(), back], [volunteer()])
    by_kind = {c.kind: c for c in result.candidates}
    vol = by_kind["volunteer"]
    assert vol.return_pickup_s == T0 + 3600 + 1800
    assert vol.return_dropoff_s == T0 + 3600 + 1800 + 300
    assert vol.end_s == T0 + 5400 + 300 + 60
    assert vol.added_time_s == 60 + 300 + 300 + 60
    assert vol.rider_distance_m == pytest.approx(10_000)
    tr = by_kind["trip"]
    assert (tr.offer_id, tr.return_offer_id) == ("trip-1", "trip-2")
    assert tr.return_pickup_s == T0 + 5400
    assert tr.return_dropoff_s == T0 + 5700
    assert tr.added_time_s == 120 + 120
    # Without the way back, the outbound trip alone does not serve the need.
    alone = match_need(grid_engine(), n, [trip()], [])
    assert not alone.feasible
    assert codes(alone) == {"no_return": 1}


@pytest.mark.parametrize(
    ("n_kw", "trips", "vols", "expected"),
    [
        ({"requirements": Requirement.WHEELCHAIR}, [], [volunteer()], {"requirement_unmet": 1}),
        ({"seats": 3}, [trip(seats=2)], [], {"no_seat": 1}),
        ({}, [], [volunteer(max_distance_km=3.0)], {"too_far": 1}),
        ({}, [], [volunteer(max_duration_s=300)], {"too_far": 1}),
        ({}, [trip(max_detour_s=60)], [], {"detour_too_long": 1}),
        ({}, [], [volunteer(windows=((T0 + 7200, T0 + 9000),))], {"no_one_available_then": 1}),
        (
            {},
            [trip(departure_earliest_s=T0 + 4000, departure_latest_s=T0 + 5000)],
            [],
            {"no_one_available_then": 1},
        ),
        ({"latest_arrival_s": T0 + 200}, [trip()], [volunteer()], {"window_too_short": 2}),
        ({}, [], [], {"no_offer": 1}),
        (
            {"requirements": Requirement.ACCOMPANIMENT},
            [trip(), trip("trip-2", max_detour_s=0)],
            [volunteer(max_distance_km=2.0)],
            {"requirement_unmet": 2, "too_far": 1},
        ),
    ],
)
def test_reasons_when_nothing_is_feasible(
    n_kw: dict[str, object],
    trips: list[DriverTrip],
    vols: list[VolunteerAvailability],
    expected: dict[str, int],
) -> None:
    result = match_need(grid_engine(), need(**n_kw), trips, vols)
    assert not result.feasible
    assert codes(result) == expected
    assert all(r.description for r in result.reasons)


def test_reasons_count_every_rejected_offer_when_some_fit() -> None:
    result = match_need(grid_engine(), need(), [trip(), trip("t2", max_detour_s=0)], [volunteer()])
    assert len(result.candidates) == 2
    assert codes(result) == {"detour_too_long": 1}


def test_prebuilt_offer_set_gives_the_same_result() -> None:
    engine = grid_engine()
    offers = build_offer_set(engine, [trip()], [volunteer()])
    assert match_need(engine, need(), [], [], offers=offers) == match_need(
        engine, need(), [trip()], [volunteer()]
    )


def test_rate_above_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="0.32"):
        match_need(grid_engine(), need(), [], [volunteer()], rate_eur_per_km=0.35)
    cheaper = match_need(grid_engine(), need(), [], [volunteer()], rate_eur_per_km=0.1)
    assert cheaper.candidates[0].rider_contribution_eur == pytest.approx(0.5)
