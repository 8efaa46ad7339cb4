"""``transfers.txt``: forbidden, minimum-time, timed and in-seat transfers in RAPTOR."""

from __future__ import annotations

import pytest

import gtfs_import
from gtfs_import import seconds_at
from tests.gtfs_import.feeds import line_feed

DAY = "20250115"
# X and Y are two stops 150 m apart (a footpath between them), far from A and B.
STOPS = [
    ("A", "Alpha", 44.40, 1.40),
    ("X", "Xray", 44.50, 1.50),
    ("Y", "Yankee", 44.5013, 1.50),
    ("B", "Bravo", 44.60, 1.60),
]
TRIPS = [
    ("in", "R1", "to X", [("A", "07:30:00"), ("X", "08:00:00")]),
    ("soon", "R2", "to B", [("X", "08:05:00"), ("B", "08:30:00")]),
    ("later", "R3", "to B", [("X", "08:30:00"), ("B", "09:00:00")]),
    ("at_y", "R4", "to B", [("Y", "08:15:00"), ("B", "08:45:00")]),
]


def network(tmp_path, transfers=None, trips=TRIPS, stops=STOPS):  # type: ignore[no-untyped-def]
    extra = {"transfers": transfers} if transfers else None
    feed = line_feed(tmp_path, stops, trips, [DAY], extra=extra)
    return gtfs_import.build_timetable(feed, DAY)


def rule(frm: str, to: str, kind: int, **more: object) -> dict[str, object]:
    return {"from_stop_id": frm, "to_stop_id": to, "transfer_type": kind, **more}


def trips_of(journey: gtfs_import.Journey | None) -> list[str | None]:
    if journey is None:
        return []
    return [leg.trip_id for leg in journey.legs if leg.mode == "transit"]


def fastest(tt: gtfs_import.Timetable) -> gtfs_import.Journey:
    router = gtfs_import.TransitRouter(tt)
    return router.depart_after({"A": 0}, {"B": 0}, seconds_at(tt, DAY, 7 * 3600))[-1]


def latest(tt: gtfs_import.Timetable, by: str) -> gtfs_import.Journey | None:
    h, m = (int(x) for x in by.split(":"))
    router = gtfs_import.TransitRouter(tt)
    found = router.arrive_by({"A": 0}, {"B": 0}, seconds_at(tt, DAY, h * 3600 + m * 60))
    return found[-1] if found else None


def test_without_rules_the_quick_change_is_taken(tmp_path):
    tt = network(tmp_path)
    assert trips_of(fastest(tt)) == ["in", "soon"]


@pytest.mark.parametrize(
    "forbid",
    [
        rule("X", "X", 3, from_trip_id="in", to_trip_id="soon"),
        rule("X", "X", 3, from_route_id="R1", to_route_id="R2"),
        rule("X", "X", 3, from_trip_id="in", to_route_id="R2"),
    ],
    ids=["trips", "routes", "trip-route"],
)
def test_forbidden_transfer_is_never_used(tmp_path, forbid):
    tt = network(tmp_path, [forbid])
    gtfs_import.check_timetable(tt)
    # The forbidden change is avoided: the walk to Y and the 08:15 is the next option.
    journey = fastest(tt)
    assert trips_of(journey) == ["in", "at_y"]
    assert journey.arrival_s == seconds_at(tt, DAY, 8 * 3600 + 45 * 60)
    # Arrive-by searches backwards in time: the same rule holds (by 08:50, the 08:30
    # from X arriving at 09:00 is too late).
    assert trips_of(latest(tt, by="08:50")) == ["in", "at_y"]
    # Without the walk to Y, the only way left is the forbidden change: none by 08:50.
    direct = [t for t in TRIPS if t[0] != "at_y"]
    assert trips_of(latest(network(tmp_path / "free", trips=direct), by="08:50")) == [
        "in",
        "soon",
    ]
    router = gtfs_import.TransitRouter(network(tmp_path / "rule", [forbid], trips=direct))
    deadline = seconds_at(router.tt, DAY, 8 * 3600 + 50 * 60)
    assert not router.arrive_by({"A": 0}, {"B": 0}, deadline)


def test_forbidden_stop_to_stop_transfer_removes_the_walk(tmp_path):
    tt = network(tmp_path, [rule("X", "X", 3), rule("X", "Y", 3)])
    # No change at X at all, and no walk to Y: A → B cannot be made.
    assert not gtfs_import.TransitRouter(tt).depart_after(
        {"A": 0}, {"B": 0}, seconds_at(tt, DAY, 7 * 3600)
    )
    assert int(tt.stop_change_s[tt.stop_ids.tolist().index("X")]) >= 2**30


def test_minimum_transfer_time_is_waited(tmp_path):
    # 10 minutes to change at X: the 08:05 cannot be caught, the walk to Y (150 m) is
    # given 20 minutes, so the 08:30 from X is next.
    tt = network(
        tmp_path,
        [
            rule("X", "X", 2, min_transfer_time=600),
            rule("X", "Y", 2, min_transfer_time=1200),
        ],
    )
    journey = fastest(tt)
    assert trips_of(journey) == ["in", "later"]
    legs = [leg for leg in journey.legs if leg.mode == "transit"]
    assert legs[1].departure_s - legs[0].arrival_s >= 600
    assert trips_of(latest(tt, by="08:50")) == []  # the 08:05 may not be caught


def test_minimum_time_for_some_routes_only(tmp_path):
    tt = network(
        tmp_path,
        [rule("X", "X", 2, min_transfer_time=600, from_route_id="R1", to_route_id="R2")],
    )
    # The 08:05 (R2) needs 10 min after R1; the walk to Y (R4 at 08:15) is then best.
    assert trips_of(fastest(tt)) == ["in", "at_y"]


def test_timed_and_in_seat_transfers_allow_no_change_time(tmp_path):
    trips = [
        ("in", "R1", "to X", [("A", "07:30:00"), ("X", "08:00:00")]),
        ("on", "R2", "to B", [("X", "08:00:00"), ("B", "08:20:00")]),
        ("later", "R3", "to B", [("X", "08:30:00"), ("B", "09:00:00")]),
    ]
    # Default change time (120 s): the 08:00 continuation cannot be caught.
    assert trips_of(fastest(network(tmp_path / "none", trips=trips))) == ["in", "later"]
    timed = network(tmp_path / "timed", [rule("X", "X", 1)], trips=trips)
    assert trips_of(fastest(timed)) == ["in", "on"]
    in_seat = network(
        tmp_path / "seat",
        [{"from_trip_id": "in", "to_trip_id": "on", "transfer_type": 4}],
        trips=trips,
    )
    assert trips_of(fastest(in_seat)) == ["in", "on"]
    # Backwards too: by 08:25 only the in-seat continuation arrives in time.
    assert trips_of(latest(in_seat, by="08:25")) == ["in", "on"]
    none = gtfs_import.TransitRouter(network(tmp_path / "none2", trips=trips))
    assert not none.arrive_by({"A": 0}, {"B": 0}, seconds_at(none.tt, DAY, 8 * 3600 + 25 * 60))
    # Type 5 forbids staying on board: an ordinary change applies.
    no_seat = network(
        tmp_path / "noseat",
        [{"from_trip_id": "in", "to_trip_id": "on", "transfer_type": 5}],
        trips=trips,
    )
    assert trips_of(fastest(no_seat)) == ["in", "later"]


def test_most_specific_rule_wins(tmp_path):
    # Changes at X are forbidden in general but allowed from trip "in" to trip "soon".
    tt = network(
        tmp_path,
        [
            rule("X", "X", 3, from_route_id="R1"),
            rule("X", "X", 0, from_trip_id="in", to_trip_id="soon"),
        ],
    )
    assert trips_of(fastest(tt)) == ["in", "soon"]


def test_station_rules_apply_to_its_stops(tmp_path):
    stops = [*STOPS]
    feed = line_feed(
        tmp_path,
        stops,
        TRIPS,
        [DAY],
        parents={"X": "SX", "Y": "SX"},
        extra={"transfers": [rule("SX", "SX", 3)]},
    )
    tt = gtfs_import.build_timetable(feed, DAY)
    # Every change inside the station is forbidden, at X and between X and Y.
    assert not gtfs_import.TransitRouter(tt).depart_after(
        {"A": 0}, {"B": 0}, seconds_at(tt, DAY, 7 * 3600)
    )
