"""validate_feed: problems named by file, line and id, errors apart from warnings."""

from __future__ import annotations

import csv
import io
import zipfile

import gtfs_kit
import pandas as pd
import pytest

import gtfs_import
from gtfs_import import LOT_BBOX, Problem
from tests.conftest import shared_file
from tests.gtfs_import.conftest import TER_2019
from tests.gtfs_import.synthetic import DATE, make_feed


def copy_feed(feed: gtfs_kit.Feed, **tables: pd.DataFrame | None) -> gtfs_kit.Feed:
    new = feed.copy()
    for name, df in tables.items():
        setattr(new, name, df)
    return new


def small_feed() -> gtfs_kit.Feed:
    stops = [("a", 44.45, 1.44), ("b", 44.46, 1.45), ("c", 44.47, 1.46)]
    trips = [
        [
            ("a", "8:00:00", "8:00:00", 0, 0),
            ("b", "8:10:00", "8:11:00", 0, 0),
            ("c", "25:20:00", "25:20:00", 0, 0),
        ]
    ]
    return make_feed(stops, trips)


def test_real_2025_feed_is_clean(k1_feed, lot_feed):
    assert gtfs_import.validate_feed(k1_feed) == []
    assert gtfs_import.validate_feed(lot_feed, bbox=gtfs_import.FRANCE_BBOX) == []


def test_times_past_midnight_are_not_problems():
    assert gtfs_import.validate_feed(small_feed(), LOT_BBOX) == []


def test_2019_swapped_coordinates_are_named(feed_2019):
    problems = gtfs_import.validate_feed(feed_2019)
    swapped = [p for p in problems if "swapped" in p.message]
    ids = {p.message.split("'")[1] for p in swapped}
    assert {"StopArea:OCE87686378", "StopPoint:OCECar TER-87686378"} <= ids
    # Swapped coordinates block an import (and nothing else in this feed does).
    assert {p.severity for p in swapped} == {"error"}
    assert [p for p in problems if p.severity == "error"] == swapped
    # The line number points at the right line of stops.txt.
    with zipfile.ZipFile(shared_file(TER_2019)) as zf:
        text = zf.read("export-ter-gtfs-last/stops.txt").decode("utf-8-sig")
    lines = text.splitlines()
    for p in swapped:
        assert p.file == "stops.txt" and p.field == "stop_lat"
        row = next(csv.reader(io.StringIO(lines[p.row - 1])))
        assert row[0] in p.message
    assert "swapped" in str(swapped[0]) and str(swapped[0]).startswith("ERROR stops.txt:")


def test_outside_territory_is_a_warning(feed_2019):
    problems = gtfs_import.validate_feed(feed_2019, bbox=LOT_BBOX)
    outside = [p for p in problems if "outside the territory" in p.message]
    assert outside and all(p.severity == "warning" for p in outside)
    assert any(p.message.startswith("... and") for p in problems)  # long lists are capped


def test_defects_are_reported():
    feed = small_feed()
    st = feed.stop_times.copy()
    st.loc[1, "departure_time"] = "8h11"
    st.loc[2, "stop_id"] = "ghost"
    trips = pd.concat(
        [feed.trips, feed.trips.assign(trip_id="t9", route_id="nope", service_id="never")],
        ignore_index=True,
    )
    stops = pd.concat([feed.stops, feed.stops.iloc[[0]]], ignore_index=True)
    stops.loc[1, ["stop_lat", "stop_lon"]] = [1.45, 44.46]  # swapped
    cal = pd.concat(
        [feed.calendar_dates, feed.calendar_dates.assign(service_id="never", exception_type=2)],
        ignore_index=True,
    )
    bad = copy_feed(feed, stop_times=st, trips=trips, stops=stops, calendar_dates=cal)
    before = [df.copy() for df in (bad.stop_times, bad.trips, bad.stops)]
    problems = gtfs_import.validate_feed(bad, LOT_BBOX)
    for old, new in zip(before, (bad.stop_times, bad.trips, bad.stops), strict=True):
        assert old.equals(new), "validate_feed does not modify its input"
    found = {(p.severity, p.file, p.row, p.field) for p in problems}
    assert ("error", "stop_times.txt", 3, "departure_time") in found  # line 3: 8h11
    assert ("error", "stop_times.txt", 4, "stop_id") in found  # line 4: ghost
    assert ("error", "stops.txt", 5, "stop_id") in found  # duplicate id
    assert ("error", "stops.txt", 3, "stop_lat") in found  # swapped
    assert ("error", "trips.txt", 3, "route_id") in found
    assert ("warning", "calendar_dates.txt", "never", "service_id") in found  # empty service
    assert ("warning", "trips.txt", 3, "trip_id") in found  # trip without stop times
    msgs = " ".join(p.message for p in problems)
    assert "'8h11'" in msgs and "'ghost'" in msgs and "'nope'" in msgs
    assert [p.severity for p in problems] == sorted(
        (p.severity for p in problems), key=lambda s: s != "error"
    )


def test_missing_tables_and_columns():
    feed = small_feed()
    problems = gtfs_import.validate_feed(copy_feed(feed, routes=None, calendar_dates=None))
    assert Problem("error", "routes.txt", None, None, "required file missing or empty") in problems
    assert any(p.file == "calendar.txt" and "no service" in p.message for p in problems)
    problems = gtfs_import.validate_feed(
        copy_feed(feed, stop_times=feed.stop_times.drop(columns="arrival_time"))
    )
    assert ("error", "stop_times.txt", 1, "arrival_time") in {
        (p.severity, p.file, p.row, p.field) for p in problems
    }


def test_backwards_times_and_blank_ends():
    feed = small_feed()
    st = feed.stop_times.copy()
    st.loc[2, "arrival_time"] = "7:00:00"
    st.loc[0, ["arrival_time", "departure_time"]] = pd.NA
    problems = gtfs_import.validate_feed(copy_feed(feed, stop_times=st))
    messages = {(p.row, p.message) for p in problems if p.severity == "error"}
    assert (4, "trip 't0': time goes backwards at stop_sequence 2") in messages
    assert (2, "trip 't0': first or last stop without times") in messages
    # Such trips are left out of the timetable rather than routed wrongly.
    assert gtfs_import.build_timetable(copy_feed(feed, stop_times=st), DATE).n_trips == 0


@pytest.mark.slow
def test_whole_france_feed_has_no_errors(france_feed):
    problems = gtfs_import.validate_feed(france_feed, bbox=gtfs_import.FRANCE_BBOX)
    assert [p for p in problems if p.severity == "error"] == []


def test_tables_not_applied_are_warned():
    feed = small_feed()
    freq = pd.DataFrame(
        {
            "trip_id": ["t0"],
            "start_time": ["06:00:00"],
            "end_time": ["09:00:00"],
            "headway_secs": [600],
        }
    )
    transfers = pd.DataFrame(
        {
            "from_stop_id": ["a"],
            "to_stop_id": ["b"],
            "transfer_type": [2],
            "min_transfer_time": [300],
        }
    )
    problems = gtfs_import.validate_feed(copy_feed(feed, frequencies=freq, transfers=transfers))
    assert {(p.severity, p.file) for p in problems} == {
        ("warning", "frequencies.txt"),
        ("warning", "transfers.txt"),
    }
