"""Timetable arrays: invariants, dates, several feeds, footpaths."""

from __future__ import annotations

import numpy as np
import pytest

import gtfs_import
from gtfs_import import TimetableError, check_timetable
from tests.gtfs_import.conftest import (
    CAHORS,
    DATE,
    TOULOUSE,
    day_stop_times,
    footpaths_by_id,
    station_stops,
)
from tests.gtfs_import.synthetic import make_feed


def test_timetable_holds_the_runs_of_the_day(k1_feed, k1_tt):
    check_timetable(k1_tt)
    st = day_stop_times(k1_feed, DATE)
    assert k1_tt.n_trips == st["run"].nunique()
    assert len(k1_tt.arrival_s) == len(st)
    assert sorted(k1_tt.arrival_s.tolist()) == sorted(st["arr"].tolist())
    assert k1_tt.base_date == DATE


def test_several_dates_and_feeds(k1_feed, lot_feed):
    tt = gtfs_import.build_timetable(
        [k1_feed, lot_feed], ["20250124", "20250123"], feed_names=["k1", "lot"]
    )
    check_timetable(tt)
    assert tt.base_date == "20250123" and tt.dates.tolist() == ["20250123", "20250124"]
    # K1's stops are also in the Lot feed: each feed keeps its own, never merged by id.
    ids = tt.stop_ids.tolist()
    assert len(set(ids)) == tt.n_stops == len(k1_feed.stops) + len(lot_feed.stops)
    assert f"k1:{CAHORS}" in ids and f"lot:{CAHORS}" in ids
    # ... but the two Cahors stations are joined (same name, same place) by footpaths.
    foot = footpaths_by_id(tt)
    k1_served = [f"k1:{s}" for s in station_stops(k1_feed, CAHORS) if f"k1:{s}" in foot]
    lot_platforms = {f"lot:{s}" for s in station_stops(lot_feed, CAHORS)}
    assert k1_served and all(lot_platforms & {v for v, _ in foot[p]} for p in k1_served)
    assert set(tt.trip_day.tolist()) <= {-1, 0, 1}
    router = gtfs_import.TransitRouter(tt)
    with pytest.raises(gtfs_import.QueryError, match="ambiguous"):
        router.depart_after({CAHORS: 0}, {f"k1:{TOULOUSE}": 0}, 6 * 3600)
    late = router.depart_after({f"k1:{CAHORS}": 0}, {f"k1:{TOULOUSE}": 0}, 86_400 + 6 * 3600)
    assert late and late[0].legs[0].departure_s >= 86_400 + 6 * 3600
    st = day_stop_times(k1_feed, "20250124")
    (leg,) = late[0].legs
    assert leg.trip_id.startswith("k1:")
    trip = leg.trip_id.removeprefix("k1:")
    assert leg.departure_s - 86_400 in set(st.loc[st["trip_id"] == trip, "dep"])


def test_trips_past_midnight_in_the_whole_feed(k1_tt):
    # Day times in seconds: anything past 24:00:00 is simply > 86 400 s.
    assert k1_tt.arrival_s.max() < 2 * 86_400
    assert (np.diff(k1_tt.pattern_trip_offset) > 0).all()


@pytest.mark.parametrize(
    "field,breaker,message",
    [
        ("departure_s", lambda a: a - 10_000, "departure before its arrival"),
        ("pattern_stops", lambda a: np.full_like(a, 10_000), "out of range"),
        ("foot_s", lambda a: a * 0 - 1, "negative duration"),
        ("stop_pattern_pos", lambda a: np.maximum(a - 1, 0), "disagree"),
        ("trip_time_offset", lambda a: a + 1, "trip_time_offset"),
        ("stop_change_s", lambda a: a - 10_000, "negative change time"),
        ("stop_feed", lambda a: a + 5, "stop_feed out of range"),
        ("xfer_offset", lambda a: a + 1, "xfer_offset"),
        ("trip_headway_s", lambda a: a - 1, "trip_headway_s"),
    ],
)
def test_check_timetable_catches_broken_arrays(lot_tt, field, breaker, message):
    broken = lot_tt._replace(**{field: breaker(getattr(lot_tt, field)).astype(np.int32)})
    with pytest.raises(TimetableError, match=message):
        check_timetable(broken)


def test_overtaking_trips_are_split_into_patterns():
    stops = [("a", 44.40, 1.44), ("b", 44.50, 1.44)]
    trips = [
        [("a", "8:00:00", "8:00:00", 0, 0), ("b", "9:30:00", "9:30:00", 0, 0)],  # slow
        [("a", "8:10:00", "8:10:00", 0, 0), ("b", "8:40:00", "8:40:00", 0, 0)],  # fast, overtakes
    ]
    tt = gtfs_import.build_timetable(make_feed(stops, trips), "20250106")
    assert tt.n_patterns == 2
    (j,) = gtfs_import.TransitRouter(tt).depart_after({"a": 0}, {"b": 0}, 7 * 3600)
    assert j.arrival_s == 8 * 3600 + 40 * 60


def test_footpaths_follow_distance_and_stations():
    # b is 300 m from a; c is 1.1 km away but in the same station as a.
    stops = [("a", 44.4000, 1.44), ("b", 44.4027, 1.44), ("c", 44.4100, 1.44)]
    trips = [
        [
            ("a", "8:00:00", "8:00:00", 0, 0),
            ("b", "8:10:00", "8:10:00", 0, 0),
            ("c", "8:20:00", "8:20:00", 0, 0),
        ]
    ]
    tt = gtfs_import.build_timetable(make_feed(stops, trips, {"a": "S", "c": "S"}), "20250106")
    ids = tt.stop_ids.tolist()
    foot = {
        (ids[u], ids[tt.foot_to[e]]): int(tt.foot_s[e])
        for u in range(tt.n_stops)
        for e in range(tt.foot_offset[u], tt.foot_offset[u + 1])
    }
    assert set(foot) == {("a", "b"), ("b", "a"), ("a", "c"), ("c", "a")}
    assert foot[("a", "b")] == pytest.approx(300 * 1.3 / (4.5 / 3.6), abs=3)
    assert foot[("a", "c")] == pytest.approx(1113 * 1.3 / (4.5 / 3.6), abs=5)


@pytest.mark.slow
def test_whole_france_timetable(france_feed):
    tt = gtfs_import.build_timetable(france_feed, DATE)
    check_timetable(tt)
    assert tt.arrival_s.max() > 86_400  # some trains run past midnight
    assert tt.n_trips > 5000
    router = gtfs_import.TransitRouter(tt)
    journeys = router.depart_after(
        {CAHORS: 0}, {"StopArea:OCE87751008": 0}, 6 * 3600, max_transfers=5
    )
    assert journeys and journeys[-1].transfers >= 1
    assert all(j.arrival_s > 6 * 3600 for j in journeys)
