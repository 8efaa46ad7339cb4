"""Several feeds: each in its own id namespace, shared stations joined on purpose."""

from __future__ import annotations

import pytest

import gtfs_import
from gtfs_import import normalise_name, seconds_at
from tests.gtfs_import.conftest import footpaths_by_id
from tests.gtfs_import.feeds import line_feed

DAY = "20250115"


def two_feeds(tmp_path, bus_station_north_m: float = 250.0):  # type: ignore[no-untyped-def]
    """A train to Figeac (feed "ter") and a bus from Figeac (feed "bus"), both with a stop
    "a": the train's Figeac platform, and an unrelated bus stop far away."""
    lat = 44.6000 + bus_station_north_m / 111_195
    ter = line_feed(
        tmp_path / "ter",
        [("o", "Origine", 44.40, 2.00), ("a", "Figeac", 44.6000, 2.00)],
        [("t1", "K", "Figeac", [("o", "08:00:00"), ("a", "08:30:00")])],
        [DAY],
        parents={"a": "S"},
    )
    bus = line_feed(
        tmp_path / "bus",
        [
            ("a", "Alpha", 45.00, 1.00),
            ("g", "FIGEAC (gare)", lat, 2.00),
            ("d", "Destination", 44.80, 2.00),
        ],
        [
            ("b1", "L1", "Dest", [("g", "09:00:00"), ("d", "09:30:00")]),
            # Would be a faster journey if "a" of the bus feed were taken for the train's "a".
            ("b2", "L2", "Dest", [("a", "08:40:00"), ("d", "09:00:00")]),
        ],
        [DAY],
        parents={"g": "G"},
    )
    return ter, bus


def search(tt: gtfs_import.Timetable) -> list[gtfs_import.Journey]:
    router = gtfs_import.TransitRouter(tt)
    return router.depart_after({"ter:o": 0}, {"bus:d": 0}, seconds_at(tt, DAY, 7 * 3600))


def test_same_stop_id_in_two_feeds_stays_two_stops(tmp_path):
    ter, bus = two_feeds(tmp_path)
    tt = gtfs_import.build_timetable([ter, bus], DAY, feed_names=["ter", "bus"], max_walk_m=100)
    ids = tt.stop_ids.tolist()
    assert {"ter:a", "bus:a", "ter:S", "bus:G"} <= set(ids)
    assert tt.stop_feed[ids.index("ter:a")] == 0 and tt.stop_feed[ids.index("bus:a")] == 1
    assert tt.stop_parent[ids.index("ter:a")] == ids.index("ter:S")
    router = gtfs_import.TransitRouter(tt)
    with pytest.raises(gtfs_import.QueryError, match="ambiguous"):
        router.depart_after({"a": 0}, {"bus:d": 0}, seconds_at(tt, DAY, 7 * 3600))
    # A bare id published by one feed only is still accepted.
    assert router.depart_after({"o": 0}, {"d": 0}, seconds_at(tt, DAY, 7 * 3600))


def test_stations_joined_by_name_and_distance(tmp_path):
    ter, bus = two_feeds(tmp_path)
    tt = gtfs_import.build_timetable([ter, bus], DAY, feed_names=["ter", "bus"], max_walk_m=100)
    foot = dict(footpaths_by_id(tt)["ter:a"])
    assert foot == {"bus:g": pytest.approx(250 * 1.3 / (4.5 / 3.6), abs=3)}
    journey = search(tt)[-1]
    # Train, walk across the joined station, bus: never the unrelated bus stop "a".
    assert [(leg.mode, leg.trip_id) for leg in journey.legs] == [
        ("transit", "ter:t1"),
        ("walk", None),
        ("transit", "bus:b1"),
    ]
    assert journey.legs[1].from_stop_id == "ter:a" and journey.legs[1].to_stop_id == "bus:g"
    assert journey.arrival_s == seconds_at(tt, DAY, 9 * 3600 + 30 * 60)


def test_no_join_when_too_far_or_turned_off(tmp_path):
    ter, bus = two_feeds(tmp_path, bus_station_north_m=400)
    tt = gtfs_import.build_timetable([ter, bus], DAY, feed_names=["ter", "bus"], max_walk_m=100)
    assert not search(tt)
    ter, bus = two_feeds(tmp_path / "off")
    tt = gtfs_import.build_timetable(
        [ter, bus], DAY, feed_names=["ter", "bus"], max_walk_m=100, join_stations_m=0
    )
    assert not search(tt)


def test_stations_joined_by_an_explicit_table(tmp_path):
    ter, bus = two_feeds(tmp_path, bus_station_north_m=400)
    tt = gtfs_import.build_timetable(
        [ter, bus],
        DAY,
        feed_names=["ter", "bus"],
        max_walk_m=100,
        station_links=[(("ter", "S"), (1, "G"))],
    )
    journey = search(tt)[-1]
    assert [leg.trip_id for leg in journey.legs if leg.mode == "transit"] == ["ter:t1", "bus:b1"]
    with pytest.raises(gtfs_import.FeedError, match="no stop"):
        gtfs_import.build_timetable(
            [ter, bus], DAY, feed_names=["ter", "bus"], station_links=[(("ter", "G"), ("bus", "G"))]
        )


def test_saved_multi_feed_timetable_round_trips(tmp_path):
    ter, bus = two_feeds(tmp_path)
    tt = gtfs_import.build_timetable([ter, bus], DAY, feed_names=["ter", "bus"], max_walk_m=100)
    gtfs_import.save_timetable(tt, tmp_path / "tt.npz")
    back = gtfs_import.load_timetable(tmp_path / "tt.npz")
    assert back.timezone == tt.timezone and back.feed_names.tolist() == ["ter", "bus"]
    assert search(back)[-1].arrival_s == search(tt)[-1].arrival_s


def test_names_are_compared_without_accents_case_or_station_words():
    assert normalise_name("Saint-Céré (Gare SNCF)") == normalise_name("SAINT CERE")
    assert normalise_name("Figeac") != normalise_name("Figeac Centre")
