"""Validation of a GTFS feed into a list of problems a person can act on.

Errors block an import (the timetable would be wrong or could not be built); warnings do
not (the affected rows are dropped or kept as published). Each :class:`Problem` names the
file, the row (the line number in the file when the table was read from a file, else the
id) and the field, so that someone can find and fix it. Times past ``24:00:00`` are valid
GTFS (trips running after midnight) and are not reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import gtfs_kit
import numpy as np
import pandas as pd

from gtfs_import.schema import REQUIRED_COLUMNS, REQUIRED_TABLES
from gtfs_import.tables import expand_calendar, feed_dates, parse_times

Severity = Literal["error", "warning"]

#: How many problems of one kind are listed one by one before a summary line.
MAX_PROBLEMS_PER_CHECK = 50


@dataclass(frozen=True, slots=True)
class Problem:
    """One defect of a feed.

    Attributes
    ----------
    severity
        ``'error'`` blocks the import, ``'warning'`` does not.
    file
        The GTFS file, e.g. ``'stops.txt'``.
    row
        Line number in the file (header is line 1) or, when no line applies, an id.
    field
        The column concerned, or ``None``.
    message
        What is wrong, in plain words, naming ids and values.
    """

    severity: Severity
    file: str
    row: int | str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.row}" if self.row is not None else "")
        col = f" [{self.field}]" if self.field else ""
        return f"{self.severity.upper()} {where}{col}: {self.message}"


class BBox(NamedTuple):
    """A WGS84 bounding box, in degrees."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def __str__(self) -> str:
        return (
            f"lat {self.min_lat:.4f}..{self.max_lat:.4f}, "
            f"lon {self.min_lon:.4f}..{self.max_lon:.4f}"
        )

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Boolean mask of the points inside the box."""
        return (
            (lat >= self.min_lat)
            & (lat <= self.max_lat)
            & (lon >= self.min_lon)
            & (lon <= self.max_lon)
        )


#: Metropolitan France with Corsica and a margin for cross-border stations.
FRANCE_BBOX = BBox(41.0, -5.8, 51.5, 10.0)
#: The Lot département with a margin of about 30 km (reaches Brive and Montauban).
LOT_BBOX = BBox(44.0, 0.6, 45.3, 2.4)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add_many(
        self,
        severity: Severity,
        file: str,
        rows: Iterable[int | str | None],
        field: str | None,
        messages: Iterable[str],
        summary: str,
    ) -> None:
        rows, messages = list(rows), list(messages)
        for row, msg in zip(rows[:MAX_PROBLEMS_PER_CHECK], messages, strict=False):
            self.problems.append(Problem(severity, file, row, field, msg))
        if len(rows) > MAX_PROBLEMS_PER_CHECK:
            more = len(rows) - MAX_PROBLEMS_PER_CHECK
            self.problems.append(
                Problem(severity, file, None, field, f"... and {more} more: {summary}")
            )


def _lines(df: pd.DataFrame, mask: np.ndarray) -> list[int | str | None]:
    """Line numbers (header = line 1) of the masked rows of a table read from a file."""
    return [int(i) + 2 for i in df.index[mask]]


def _check_structure(feed: gtfs_kit.Feed, out: _Collector) -> set[str]:
    """Missing tables and columns; returns the names of the usable tables."""
    usable = set()
    for table in (*REQUIRED_TABLES, "calendar", "calendar_dates"):
        df = getattr(feed, table, None)
        if df is None or len(df) == 0:
            if table in REQUIRED_TABLES:
                out.problems.append(
                    Problem("error", f"{table}.txt", None, None, "required file missing or empty")
                )
            continue
        missing = [c for c in REQUIRED_COLUMNS[table] if c not in df.columns]
        for col in missing:
            out.problems.append(
                Problem("error", f"{table}.txt", 1, col, f"required column {col!r} missing")
            )
        if not missing:
            usable.add(table)
    if "calendar" not in usable and "calendar_dates" not in usable:
        out.problems.append(
            Problem(
                "error",
                "calendar.txt",
                None,
                None,
                "neither calendar.txt nor calendar_dates.txt: no service runs on any day",
            )
        )
    return usable


def _check_unique(df: pd.DataFrame, file: str, key: str, out: _Collector) -> None:
    dup = df[key].duplicated(keep="first").to_numpy(dtype=bool)
    if dup.any():
        ids = df.loc[dup, key].astype("string").tolist()
        out.add_many(
            "error",
            file,
            _lines(df, dup),
            key,
            (f"duplicate {key} {i!r}" for i in ids),
            f"duplicate {key}",
        )


def _check_refs(
    df: pd.DataFrame,
    file: str,
    col: str,
    known: pd.Series,
    target: str,
    sev: Severity,
    out: _Collector,
) -> None:
    values = df[col].astype("string")
    bad = (values.notna() & ~values.isin(set(known.dropna().astype("string")))).to_numpy(dtype=bool)
    if bad.any():
        ids = values[bad].tolist()
        out.add_many(
            sev,
            file,
            _lines(df, bad),
            col,
            (f"{col} {i!r} is not in {target}" for i in ids),
            f"unknown {col} in {target}",
        )


def _check_stops(feed: gtfs_kit.Feed, bbox: BBox | None, out: _Collector) -> None:
    stops = feed.stops
    _check_unique(stops, "stops.txt", "stop_id", out)
    if "stop_lat" not in stops.columns or "stop_lon" not in stops.columns:
        out.problems.append(
            Problem("error", "stops.txt", 1, "stop_lat", "stop_lat/stop_lon missing")
        )
        return
    lat = stops["stop_lat"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    lon = stops["stop_lon"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ids = stops["stop_id"].astype("string").to_numpy(dtype=object)
    loc = (
        stops["location_type"].fillna(0).to_numpy(dtype=np.int64)
        if "location_type" in stops.columns
        else np.zeros(len(stops), dtype=np.int64)
    )
    missing = (np.isnan(lat) | np.isnan(lon)) & (loc <= 2)
    if missing.any():
        out.add_many(
            "error",
            "stops.txt",
            _lines(stops, missing),
            "stop_lat",
            (f"stop {i!r} has no coordinates" for i in ids[missing]),
            "stops without coordinates",
        )
    invalid = (
        ~missing & ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180)) & ~(np.isnan(lat) | np.isnan(lon))
    )
    if invalid.any():
        out.add_many(
            "error",
            "stops.txt",
            _lines(stops, invalid),
            "stop_lat",
            (
                f"stop {i!r}: impossible coordinates lat={a}, lon={o}"
                for i, a, o in zip(ids[invalid], lat[invalid], lon[invalid], strict=True)
            ),
            "impossible coordinates",
        )
    ok = ~np.isnan(lat) & ~np.isnan(lon) & ~invalid
    if bbox is None:
        if ok.sum() < 10:
            return
        # Territory of the feed itself: where most of its stops are, with a margin.
        lo_lat, hi_lat = np.percentile(lat[ok], [1, 99])
        lo_lon, hi_lon = np.percentile(lon[ok], [1, 99])
        m_lat, m_lon = max(0.5, (hi_lat - lo_lat) * 0.25), max(0.5, (hi_lon - lo_lon) * 0.25)
        box = BBox(
            *(float(x) for x in (lo_lat - m_lat, lo_lon - m_lon, hi_lat + m_lat, hi_lon + m_lon))
        )
    else:
        box = bbox
    inside = box.contains(lat, lon)
    swapped_inside = box.contains(lon, lat)
    swapped = ok & ~inside & swapped_inside
    outside = ok & ~inside & ~swapped_inside
    if swapped.any():
        # An error, not a warning: a stop thousands of kilometres off would be snapped to the
        # wrong road and give wrong journeys. The feed must be fixed before it is imported.
        out.add_many(
            "error",
            "stops.txt",
            _lines(stops, swapped),
            "stop_lat",
            (
                f"stop {i!r}: latitude and longitude look swapped (stop_lat={a}, stop_lon={o}); "
                f"swapped back the stop falls inside the territory ({box})"
                for i, a, o in zip(ids[swapped], lat[swapped], lon[swapped], strict=True)
            ),
            "latitude and longitude swapped",
        )
    if outside.any():
        out.add_many(
            "warning",
            "stops.txt",
            _lines(stops, outside),
            "stop_lat",
            (
                f"stop {i!r} at ({a}, {o}) is outside the territory ({box})"
                for i, a, o in zip(ids[outside], lat[outside], lon[outside], strict=True)
            ),
            "stops outside the territory",
        )
    if "parent_station" in stops.columns:
        _check_refs(
            stops, "stops.txt", "parent_station", stops["stop_id"], "stops.txt", "warning", out
        )


def _check_stop_times(feed: gtfs_kit.Feed, out: _Collector) -> None:
    st = feed.stop_times
    _check_refs(st, "stop_times.txt", "trip_id", feed.trips["trip_id"], "trips.txt", "error", out)
    _check_refs(st, "stop_times.txt", "stop_id", feed.stops["stop_id"], "stops.txt", "error", out)
    if "location_type" in feed.stops.columns:
        stations = feed.stops.loc[feed.stops["location_type"].fillna(0) == 1, "stop_id"]
        at_station = st["stop_id"].isin(set(stations.astype("string"))).to_numpy(dtype=bool)
        if at_station.any():
            out.add_many(
                "error",
                "stop_times.txt",
                _lines(st, at_station),
                "stop_id",
                (
                    f"stop_id {i!r} is a station (location_type=1), not a stop"
                    for i in st.loc[at_station, "stop_id"]
                ),
                "stop times at stations",
            )
    arr = parse_times(st["arrival_time"])
    dep = parse_times(st["departure_time"])
    for name, t, raw in (
        ("arrival_time", arr, st["arrival_time"]),
        ("departure_time", dep, st["departure_time"]),
    ):
        bad = t == -2
        if bad.any():
            out.add_many(
                "error",
                "stop_times.txt",
                _lines(st, bad),
                name,
                (
                    f"unparsable time {v!r} (expected H:MM:SS, hours may exceed 24)"
                    for v in raw[bad]
                ),
                f"unparsable {name}",
            )
    # Times past 48 h are legal but almost always a typing error.
    late = np.maximum(arr, dep) >= 48 * 3600
    if late.any():
        out.add_many(
            "warning",
            "stop_times.txt",
            _lines(st, late),
            "arrival_time",
            (f"time past 48:00:00 ({v})" for v in st.loc[late, "arrival_time"]),
            "times past 48 h",
        )
    # Order along each trip: times must not decrease with stop_sequence.
    order = np.lexsort(
        (
            st["stop_sequence"].to_numpy(dtype=np.int64, na_value=-1),
            st["trip_id"].astype("string").to_numpy(dtype=object).astype(str),
        )
    )
    trip = st["trip_id"].astype("string").to_numpy(dtype=object)[order]
    a, d = arr[order], dep[order]
    a = np.where(a < 0, d, a)
    d = np.where(d < 0, a, d)
    same = trip[1:] == trip[:-1]
    back = same & (a[1:] >= 0) & (d[:-1] >= 0) & (a[1:] < d[:-1])
    back_rows = np.zeros(len(st), dtype=bool)
    back_rows[order[1:][back]] = True
    dwell_back = (a >= 0) & (d >= 0) & (d < a)
    back_rows[order[dwell_back]] = True
    if back_rows.any():
        out.add_many(
            "error",
            "stop_times.txt",
            _lines(st, back_rows),
            "arrival_time",
            (
                f"trip {t!r}: time goes backwards at stop_sequence {s}"
                for t, s in zip(
                    st.loc[back_rows, "trip_id"], st.loc[back_rows, "stop_sequence"], strict=True
                )
            ),
            "times going backwards",
        )
    dup = st.duplicated(["trip_id", "stop_sequence"]).to_numpy(dtype=bool)
    if dup.any():
        out.add_many(
            "error",
            "stop_times.txt",
            _lines(st, dup),
            "stop_sequence",
            (
                f"trip {t!r}: stop_sequence {s} repeated"
                for t, s in zip(st.loc[dup, "trip_id"], st.loc[dup, "stop_sequence"], strict=True)
            ),
            "repeated stop_sequence",
        )
    # Ends of trips need times (intermediate blanks are interpolated by build_timetable).
    first = np.r_[True, ~same]
    last = np.r_[~same, True]
    blank = (first | last) & ((arr[order] == -1) & (dep[order] == -1))
    blank_rows = np.zeros(len(st), dtype=bool)
    blank_rows[order[blank]] = True
    if blank_rows.any():
        out.add_many(
            "error",
            "stop_times.txt",
            _lines(st, blank_rows),
            "arrival_time",
            (
                f"trip {t!r}: first or last stop without times"
                for t in st.loc[blank_rows, "trip_id"]
            ),
            "trip ends without times",
        )
    counts = st.groupby("trip_id", observed=True).size()
    short = counts[counts < 2]
    if len(short):
        out.add_many(
            "warning",
            "stop_times.txt",
            short.index.tolist(),
            "trip_id",
            (f"trip {t!r} has fewer than two stops; it is ignored" for t in short.index),
            "trips with fewer than two stops",
        )


def _check_trips_and_services(feed: gtfs_kit.Feed, usable: set[str], out: _Collector) -> None:
    trips = feed.trips
    _check_unique(trips, "trips.txt", "trip_id", out)
    _check_unique(feed.routes, "routes.txt", "route_id", out)
    _check_refs(trips, "trips.txt", "route_id", feed.routes["route_id"], "routes.txt", "error", out)
    known = []
    if "calendar" in usable:
        known.append(feed.calendar["service_id"])
    if "calendar_dates" in usable:
        known.append(feed.calendar_dates["service_id"])
    if not known:
        return
    services = pd.concat(known, ignore_index=True)
    _check_refs(
        trips, "trips.txt", "service_id", services, "calendar.txt/calendar_dates.txt", "error", out
    )
    running = set(expand_calendar(feed, feed_dates(feed))["service_id"])
    never = sorted(set(services.dropna().astype("string")) - running)
    if never:
        out.add_many(
            "warning",
            "calendar.txt" if "calendar" in usable else "calendar_dates.txt",
            never,
            "service_id",
            (f"service {s!r} runs on no day (empty service)" for s in never),
            "empty services",
        )
    stop_trips = set(feed.stop_times["trip_id"].astype("string"))
    idle = ~trips["trip_id"].astype("string").isin(stop_trips).to_numpy(dtype=bool)
    if idle.any():
        out.add_many(
            "warning",
            "trips.txt",
            _lines(trips, idle),
            "trip_id",
            (f"trip {t!r} has no stop times" for t in trips.loc[idle, "trip_id"]),
            "trips without stop times",
        )


def validate_feed(
    feed: gtfs_kit.Feed, bbox: BBox | tuple[float, float, float, float] | None = None
) -> list[Problem]:
    """Check a feed and list its problems, errors first.

    Parameters
    ----------
    feed
        A feed, typically from :func:`gtfs_import.read_feed`.
    bbox
        Territory as ``(min_lat, min_lon, max_lat, max_lon)``, e.g. :data:`LOT_BBOX`. Stops
        outside are warned about; stops that fall inside once latitude and longitude are
        exchanged are reported as swapped. Without a box, the area where 98 % of the
        feed's stops lie, with a margin, is used.

    Returns
    -------
    list[Problem]
        Empty for a clean feed. Checks: required tables and columns; duplicate ids;
        unknown trip, stop, route, service and parent-station references; stop times at
        stations; missing, impossible, swapped or out-of-territory coordinates;
        unparsable times, times going backwards, trips without times at their ends;
        services that run on no day, trips without stop times or with a single stop;
        ``frequencies.txt`` and ``transfers.txt`` rows, which the timetable does not apply.
    """
    out = _Collector()
    usable = _check_structure(feed, out)
    box = None if bbox is None else BBox(*bbox)
    if "stops" in usable:
        _check_stops(feed, box, out)
    if {"stop_times", "stops", "trips"} <= usable:
        _check_stop_times(feed, out)
    if {"trips", "routes"} <= usable:
        _check_trips_and_services(feed, usable, out)
    # Tables the timetable builder does not apply: say so rather than route silently wrong.
    if feed.frequencies is not None and len(feed.frequencies):
        out.problems.append(
            Problem(
                "warning",
                "frequencies.txt",
                None,
                None,
                f"{len(feed.frequencies)} frequency rows are not expanded: each trip is routed "
                "once, at its stop_times",
            )
        )
    if feed.transfers is not None and len(feed.transfers):
        out.problems.append(
            Problem(
                "warning",
                "transfers.txt",
                None,
                None,
                f"{len(feed.transfers)} transfer rows are not applied: transfers are walked "
                "between stops closer than the walking radius and within stations",
            )
        )
    return sorted(out.problems, key=lambda p: p.severity != "error")
