"""A volunteer's drive to a station combined with a train (matching.station_legs) on the grid.

The grid (tests.matching.rides_fixtures) has 1-minute, 1-km roads; the "station" is a grid
node, the train times are given as a caller (RAPTOR) would.
"""

from __future__ import annotations

import pytest

from matching.day_instance import DayOptions, build_day_instance, plan_day_routes
from matching.model import DriverTrip, Requirement, ReturnMode, RideNeed, VolunteerAvailability
from matching.pooling import check_plan, plan_routes
from matching.station_legs import (
    StationAlternative,
    StationChoice,
    choose,
    plan_day_with_stations,
    station_problems,
)
from tests.matching.rides_fixtures import COLS, EDGE_S, T0, at, grid_engine, need, volunteer

ON = DayOptions(station_legs=True)
STATION = (0, 2)  # two minutes from the volunteer's home at (0, 0)
APPT = T0 + 3600
TRAIN_OUT = APPT - 1800  # latest drop-off at the station (departure - margin)
TRAIN_BACK = APPT + 600 + 2400  # earliest pickup at the station (arrival + margin)


def node(cell: tuple[int, int]) -> int:
    return cell[0] * COLS + cell[1]


def alternatives(
    name: str, wheelchair: bool = False, back: bool = True
) -> dict[str, list[StationAlternative]]:
    alts = [
        StationAlternative("outbound", node(STATION), TRAIN_OUT, 1500, "train out", "S", wheelchair)
    ]
    if back:
        alts.append(
            StationAlternative("return", node(STATION), TRAIN_BACK, 1500, "train back", "S", wheelchair)
        )  # fmt: skip
    return {name: alts}


def far_need(name: str = "far", **kw: object) -> RideNeed:
    """Home at (0, 0), appointment at (7, 7): 14 km, beyond the volunteer's 3-km reach."""
    kw.setdefault("return_mode", ReturnMode.AFTER_WAIT)
    kw.setdefault("return_wait_s", 600)
    return need(name, (0, 0), (7, 7), APPT, **kw)  # type: ignore[arg-type]


def near_volunteer(**kw: object) -> VolunteerAvailability:
    kw.setdefault("max_distance_km", 3.0)
    return volunteer("v", (0, 0), **kw)


def test_a_need_no_driver_can_serve_directly_goes_through_a_station() -> None:
    n = far_need()
    vols = [near_volunteer()]
    direct = plan_day_routes(build_day_instance(grid_engine(), [n], [], vols), 0.3)
    assert direct.served == 0  # the volunteer cannot drive 14 km from home
    routes = plan_day_with_stations(
        grid_engine(), [n], [], vols, alternatives("far"), ON, time_limit_s=0.3
    )
    assert routes.problems == ()
    (ride,) = routes.rides
    assert ride.outbound_station is not None and ride.return_station is not None
    # Dropped at the station before the train's latest time, after a 2-minute drive.
    assert ride.dropoff_s <= TRAIN_OUT
    assert ride.dropoff_s - ride.pickup_s >= 2 * EDGE_S
    # The return picks her up at the station after the train is in.
    assert ride.return_pickup_s is not None and ride.return_pickup_s >= TRAIN_BACK
    assert routes.unserved == ()
    # The route's stops say which one is at the station and carry the transit part.
    stops = [s for r in routes.routes for s in r.stops]
    at_station = [s for s in stops if s.station is not None]
    assert {(s.kind, s.leg) for s in at_station} == {("dropoff", "outbound"), ("pickup", "return")}
    assert {s.station.description for s in at_station if s.station} == {"train out", "train back"}


def test_the_station_request_passes_the_independent_checker() -> None:
    n = far_need()
    choices = choose([n], alternatives("far"))
    day = build_day_instance(
        grid_engine(), [n], [], [near_volunteer()], ON, station_choices=choices
    )
    inst = day.instance
    assert inst.n_requests == 2 and inst.linked_to.tolist() == [1, 0]
    # The outbound's drop-off window ends at the train's latest time; the return starts
    # when the train is in.
    assert inst.dropoff_latest_s[0] == TRAIN_OUT
    assert inst.pickup_earliest_s[1] == TRAIN_BACK
    assert day.graph_nodes[inst.dropoff_node[0]] == node(STATION)
    plan = plan_routes(inst, time_limit_s=0.3, seed=0)
    assert check_plan(inst, plan) == []
    assert bool(plan.served.all())


def test_accompanied_rider_is_never_left_at_a_station() -> None:
    n = far_need(requirements=Requirement.ACCOMPANIMENT)
    assert choose([n], alternatives("far")) == {}
    # Even given the station by hand, the instance keeps her legs direct.
    forced = {"far": StationChoice(*alternatives("far")["far"])}
    day = build_day_instance(grid_engine(), [n], [], [near_volunteer()], ON, station_choices=forced)
    assert day.request_station == (None, None)
    assert day.graph_nodes[day.instance.dropoff_node[0]] != node(STATION)
    routes = plan_day_with_stations(
        grid_engine(), [n], [], [near_volunteer()], alternatives("far"), ON, time_limit_s=0.3
    )
    assert routes.served == 0 and routes.unserved == ("far",)
    assert routes.problems == ()


def test_wheelchair_rider_only_on_accessible_transit() -> None:
    n = far_need(requirements=Requirement.WHEELCHAIR)
    vols = [near_volunteer(capabilities=Requirement.WHEELCHAIR)]
    closed = plan_day_with_stations(
        grid_engine(), [n], [], vols, alternatives("far"), ON, time_limit_s=0.3
    )
    assert closed.served == 0
    opened = plan_day_with_stations(
        grid_engine(), [n], [], vols, alternatives("far", wheelchair=True), ON, time_limit_s=0.3
    )
    assert opened.served == 1 and opened.problems == ()


def test_switch_off_changes_nothing() -> None:
    needs = [far_need(), need("near", (0, 0), (0, 2), APPT)]
    vols = [near_volunteer()]
    off = plan_day_with_stations(grid_engine(), needs, [], vols, alternatives("far"), DayOptions(), time_limit_s=0.3)  # fmt: skip
    plain = plan_day_routes(build_day_instance(grid_engine(), needs, [], vols), 0.3)
    assert off.rides == plain.rides and off.unserved == plain.unserved == ("far",)
    assert all(r.outbound_station is None and r.return_station is None for r in off.rides)
    assert build_day_instance(grid_engine(), needs, [], vols).request_station == ()
    # Switch on: the direct ride is kept as it was and the far need goes by train.
    on = plan_day_with_stations(
        grid_engine(), needs, [], vols, alternatives("far"), ON, time_limit_s=0.3
    )
    assert on.problems == ()
    assert on.served == 2
    near = next(r for r in on.rides if r.need_id == "near")
    before = next(r for r in plain.rides if r.need_id == "near")
    assert near.outbound_station is None and near.driver_id == before.driver_id
    assert abs(near.pickup_s - before.pickup_s) <= DayOptions().commitment_margin_s


def test_return_through_a_station_waits_for_the_train() -> None:
    # A commuter drives her there; nobody can drive her back from 14 km away, but the
    # volunteer can fetch her at the station when her train is in.
    n = far_need()
    trip = DriverTrip("t", "d", *at(0, 0), *at(7, 7), T0 + 1800, T0 + 2400, max_detour_s=600)
    vols = [near_volunteer()]
    back_only = {"far": [a for a in alternatives("far")["far"] if a.leg == "return"]}
    direct = plan_day_routes(build_day_instance(grid_engine(), [n], [trip], vols), 0.3)
    assert direct.served == 0  # the outbound alone would be half a need
    routes = plan_day_with_stations(grid_engine(), [n], [trip], vols, back_only, ON, time_limit_s=0.3)  # fmt: skip
    assert routes.problems == ()
    (ride,) = routes.rides
    assert ride.offer_id == "t" and ride.outbound_station is None
    assert ride.return_driver_id == "v" and ride.return_station is not None
    assert ride.return_pickup_s is not None and ride.return_pickup_s >= TRAIN_BACK
    assert ride.return_dropoff_s is not None
    assert ride.return_dropoff_s - ride.return_pickup_s >= 2 * EDGE_S


def test_station_problems_flags_a_pickup_before_the_train() -> None:
    n = far_need()
    routes = plan_day_with_stations(
        grid_engine(), [n], [], [near_volunteer()], alternatives("far"), ON, time_limit_s=0.3
    )
    (ride,) = routes.rides
    assert station_problems(routes.rides, [n]) == []
    from dataclasses import replace

    early = replace(ride, return_pickup_s=TRAIN_BACK - 60, dropoff_s=TRAIN_OUT + 60)
    found = station_problems([early], [n])
    assert len(found) == 2
    assert station_problems([ride], [far_need(requirements=Requirement.ACCOMPANIMENT)])


def test_alternatives_are_validated() -> None:
    with pytest.raises(ValueError, match="leg"):
        StationAlternative("there", 0, 0, 0, "")
    assert StationChoice() == StationChoice(None, None)
