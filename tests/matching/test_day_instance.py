"""The day's pooled instance (matching.day_instance) on the exact grid and on a real extract."""

from __future__ import annotations

import numpy as np
import pytest

from matching.day_instance import DayOptions, build_day_instance, plan_day_routes
from matching.model import (
    DriverTrip,
    Purpose,
    Requirement,
    ReturnMode,
)
from matching.pooling import check_plan, plan_routes
from matching.rides import assign_batch
from tests.matching.rides_fixtures import EDGE_S, T0, at, grid_engine, hops, need, volunteer


def test_instance_maps_needs_legs_and_vehicles() -> None:
    n1 = need("a", (0, 0), (0, 5), T0 + 1800, return_mode=ReturnMode.AFTER_WAIT, return_wait_s=600)
    n2 = need("b", (7, 7), (0, 5), T0 + 1800, purpose=Purpose.MEDICAL)
    trip = DriverTrip("t", "d", *at(0, 0), *at(0, 7), T0, T0 + 600, seats=2, max_detour_s=300)
    day = build_day_instance(grid_engine(), [n1, n2], [trip], [volunteer("v", (3, 3))])
    inst = day.instance
    # a: outbound + linked return; b: outbound only.
    assert inst.n_requests == 3
    assert day.request_need.tolist() == [0, 0, 1]
    assert day.request_leg.tolist() == [0, 1, 0]
    assert inst.linked_to.tolist() == [1, 0, -1]
    # Travel times are the grid's, between the snapped nodes.
    assert inst.travel_s[inst.pickup_node[0], inst.dropoff_node[0]] == 5 * EDGE_S
    assert inst.travel_s[inst.pickup_node[2], inst.dropoff_node[2]] == hops((7, 7), (0, 5)) * EDGE_S
    # Latest pickup leaves time for the direct drive and the boarding.
    opts = DayOptions()
    assert inst.pickup_latest_s[0] == T0 + 1800 - 5 * EDGE_S - opts.pickup_service_s
    assert inst.dropoff_latest_s[0] == T0 + 1800
    # The return waits for the appointment and its wait.
    assert inst.pickup_earliest_s[1] == T0 + 1800 + 600
    # Ride time bound: direct + max(extra, factor x direct).
    assert inst.max_ride_s[0] == 5 * EDGE_S + max(opts.max_ride_extra_s, 0.5 * 5 * EDGE_S)
    # The medical need weighs more; a need's two legs weigh one need together.
    assert inst.priority_weight[2] > inst.priority_weight[0] + inst.priority_weight[1] - 1e-9
    assert inst.priority_weight[0] + inst.priority_weight[1] == pytest.approx(1.0)
    # Vehicles: the trip (own route, detour budget), the volunteer's window as an outing.
    assert day.vehicle_kind == ("trip", "volunteer")
    assert inst.max_added_s[0] == 300 and inst.capacity[0] == 2
    assert bool(inst.is_volunteer_outing[1]) and inst.start_node[1] == inst.end_node[1]


def test_unplannable_needs_are_left_out_with_a_reason() -> None:
    short = need("short", (0, 0), (7, 7), T0 + 3600, window_s=5 * EDGE_S)  # 14-min drive
    ok = need("ok", (0, 0), (0, 1), T0 + 3600)
    day = build_day_instance(grid_engine(), [short, ok], [], [volunteer("v", (0, 0))])
    assert day.not_plannable == {"short": "window_too_short"}
    assert day.instance.n_requests == 1
    routes = plan_day_routes(day, 0.2)
    assert routes.unserved == ("short",)
    assert routes.served == 1


def test_duplicate_need_ids_are_refused() -> None:
    n1 = need("x", (0, 0), (0, 1), T0 + 3600)
    with pytest.raises(ValueError, match="unique"):
        build_day_instance(grid_engine(), [n1, n1], [], [])


def test_pooling_puts_two_riders_in_one_car_and_the_switch_does_not() -> None:
    # Two neighbours going to the same place at the same time, one volunteer with one outing
    # and a daily cap of one service in today's model.
    needs = [
        need("a", (0, 0), (0, 6), T0 + 3600),
        need("b", (0, 1), (0, 6), T0 + 3600),
    ]
    vols = [volunteer("v", (0, 0), max_rides_per_day=1)]
    pooled = plan_day_routes(build_day_instance(grid_engine(), needs, [], vols), 0.3)
    assert pooled.problems == ()
    assert pooled.served == 2
    assert len(pooled.routes) == 1
    route = pooled.routes[0]
    assert route.riders == 2 and route.max_on_board == 2
    assert [s.kind for s in route.stops].count("pickup") == 2
    ride_a = next(r for r in pooled.rides if r.need_id == "a")
    # Picked up after the window opens, dropped before the appointment.
    assert T0 + 3600 - 3600 <= ride_a.pickup_s < ride_a.dropoff_s <= T0 + 3600
    one = plan_day_routes(
        build_day_instance(grid_engine(), needs, [], vols, DayOptions(one_rider_per_drive=True)),
        0.3,
    )
    assert one.problems == ()
    assert one.served == 1
    assert all(r.max_on_board == 1 for r in one.routes)
    # Today's exact one-rider assignment agrees on the count.
    assert assign_batch(grid_engine(), needs, [], vols, 1).served == 1


def test_return_leg_is_served_with_its_outbound() -> None:
    n1 = need("a", (0, 0), (0, 4), T0 + 3600, return_mode=ReturnMode.AFTER_WAIT, return_wait_s=1200)
    vols = [volunteer("v", (0, 2))]
    routes = plan_day_routes(build_day_instance(grid_engine(), [n1], [], vols), 0.3)
    assert routes.problems == ()
    (ride,) = routes.rides
    assert ride.return_pickup_s is not None and ride.return_dropoff_s is not None
    assert ride.return_pickup_s >= T0 + 3600 + 1200
    assert ride.return_dropoff_s > ride.return_pickup_s


def test_requirements_and_options() -> None:
    wheel = need("w", (0, 0), (0, 3), T0 + 3600, requirements=Requirement.WHEELCHAIR)
    plain = volunteer("v", (0, 0), capabilities=Requirement.ACCOMPANIMENT)
    routes = plan_day_routes(build_day_instance(grid_engine(), [wheel], [], [plain]), 0.2)
    assert routes.served == 0 and routes.unserved == ("w",)
    fit = volunteer("v2", (0, 0), capabilities=Requirement.WHEELCHAIR)
    routes = plan_day_routes(build_day_instance(grid_engine(), [wheel], [], [fit]), 0.2)
    assert routes.served == 1 and routes.rides[0].driver_id == "v2"
    # Volunteers only: the trip is not used.
    trip = DriverTrip("t", "d", *at(0, 0), *at(0, 7), T0 + 1800, T0 + 2400)
    day = build_day_instance(grid_engine(), [wheel], [trip], [fit], DayOptions(use_trips=False))
    assert day.vehicle_kind == ("volunteer",)
    with pytest.raises(ValueError, match="max_outing_s"):
        DayOptions(max_outing_s=0)


def test_windows_outside_the_day_are_dropped() -> None:
    n1 = need("a", (0, 0), (0, 3), T0 + 3600)
    v = volunteer("v", (0, 0), windows=((T0 - 3600, T0 + 6 * 3600), (T0 + 86_400, T0 + 90_000)))
    day = build_day_instance(grid_engine(), [n1], [], [v])
    assert day.instance.n_vehicles == 1


def test_plans_pass_the_independent_checker_on_a_random_day() -> None:
    rng = np.random.default_rng(5)
    needs = []
    for i in range(14):
        a = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
        b = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
        if a == b:
            continue
        mode = ReturnMode.AFTER_WAIT if i % 3 == 0 else ReturnMode.NONE
        needs.append(
            need(
                f"n{i}",
                a,
                b,
                T0 + int(rng.integers(2, 6)) * 1800,
                return_mode=mode,
                return_wait_s=900 if mode == ReturnMode.AFTER_WAIT else 0,
            )
        )
    vols = [volunteer(f"v{k}", (k * 2, 7 - k * 2)) for k in range(3)]
    trips = [DriverTrip("t0", "d0", *at(0, 0), *at(7, 7), T0, T0 + 1800, seats=3)]
    day = build_day_instance(grid_engine(), needs, trips, vols)
    plan = plan_routes(day.instance, time_limit_s=0.3, seed=1)
    assert check_plan(day.instance, plan) == []
    routes = plan_day_routes(day, 0.3, seed=1)
    assert routes.problems == ()
    assert routes.served + len(routes.unserved) == len(needs)
    assert routes.distance_m == pytest.approx(sum(r.distance_m for r in routes.routes))
    for route in routes.routes:
        pickups = [s.need_id for s in route.stops if s.kind == "pickup"]
        assert route.riders == len(set(pickups))
        times = [s.service_start_s for s in route.stops]
        assert times == sorted(times)


@pytest.mark.slow
def test_real_extract_day(real_graphs: dict) -> None:
    from benchmarks.synthetic import generate_workload, places_from_graph_density
    from matching.engine import Engine

    graph = real_graphs.get("andorra")
    if graph is None:
        pytest.skip("the andorra extract is not in ../shared/data")
    engine = Engine.from_graph(graph)
    places = places_from_graph_density(graph, 12)
    w = generate_workload(places, 30, 10, 10, seed=3)
    day = build_day_instance(engine, w.needs, w.trips, w.volunteers)
    routes = plan_day_routes(day, 0.5)
    assert routes.problems == ()
    assert routes.served > 0


def test_volunteers_distance_limit_holds() -> None:
    # Home at (0, 0), 3 km limit: a need from (0, 1) to (0, 2) is within, (0, 1) to (0, 6) not.
    near = need("near", (0, 1), (0, 2), T0 + 3600)
    far = need("far", (0, 1), (0, 6), T0 + 3600)
    vols = [volunteer("v", (0, 0), max_distance_km=3.0)]
    day = build_day_instance(grid_engine(), [near, far], [], vols)
    assert day.radius_encoding in ("matrix", "bits")
    routes = plan_day_routes(day, 0.2)
    assert routes.problems == ()
    assert [r.need_id for r in routes.rides] == ["near"]
    assert routes.unserved == ("far",)


def test_eligibility_bits_are_exact_or_conservative() -> None:
    from matching.day_instance import _encode_eligibility

    rng = np.random.default_rng(2)
    for n_veh in (5, 80):
        allowed = rng.random((12, n_veh)) < 0.6
        allowed[:, 0] = True  # a vehicle without limit (a driver's trip)
        req = np.zeros(12, dtype=np.int64)
        cap = np.zeros(n_veh, dtype=np.int64)
        how = _encode_eligibility(allowed, req, cap)
        got = (req[:, None] & ~cap[None, :]) == 0
        assert not np.any(got & ~allowed)  # never allows a forbidden pair
        assert got[:, 0].all()
        if how == "bits":
            assert np.array_equal(got, allowed)
        else:
            assert n_veh > 55 and how == "bits-grouped"
