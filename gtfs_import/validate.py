"""Validation of a GTFS feed into a list of problems a person can act on.

The checks follow MobilityData's canonical GTFS validator (``gtfs-validator``): each
:class:`Problem` carries the validator's notice code (``missing_required_file``,
``foreign_key_violation``, ``fast_travel_between_consecutive_stops``...), its severity and
its thresholds, so that a publisher can compare our report with the validator's. A few
checks are ours (coordinates outside the territory or swapped, times past 48 h, services
that never run); their codes have the same form. :data:`NOTICES` lists every code, and
``docs/gtfs-validation.md`` says what the importer does about each.

Errors block an import (the timetable would be wrong or could not be built); warnings and
infos do not. Each problem names the file, the line as the validator counts it (the header
is line 1, so row ``i`` of a table read by :func:`gtfs_import.read_feed` is line ``i + 2``)
and the field. Times past ``24:00:00`` are valid GTFS (trips running after midnight) and
are not reported.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal, NamedTuple

import gtfs_kit
import numpy as np
import pandas as pd
import shapely

from gtfs_import.schema import REQUIRED_COLUMNS
from gtfs_import.tables import parse_times

Severity = Literal["error", "warning", "info"]

#: How many problems of one check are listed one by one before a summary line.
MAX_PROBLEMS_PER_CHECK = 50

#: Every code :func:`validate_feed` reports: severity and what it means. Codes marked
#: "(ours)" are not the canonical validator's.
NOTICES: dict[str, tuple[Severity, str]] = {
    "missing_required_file": ("error", "a required file is missing or empty"),
    "missing_calendar_and_calendar_date_files": (
        "error",
        "neither calendar.txt nor calendar_dates.txt",
    ),
    "missing_required_column": ("error", "a required column is missing"),
    "missing_required_field": ("error", "a required value is empty"),
    "duplicate_key": ("error", "two rows have the same key"),
    "foreign_key_violation": ("error", "a reference to an id that does not exist"),
    "invalid_timezone": ("error", "not an IANA time zone"),
    "inconsistent_agency_timezone": ("error", "agencies in different time zones"),
    "invalid_url": ("error", "not an http(s) URL"),
    "invalid_color": ("error", "not a RRGGBB colour"),
    "invalid_date": ("error", "not a YYYYMMDD date"),
    "invalid_time": ("error", "not a H:MM:SS time"),
    "start_and_end_range_out_of_order": ("error", "a range ends before it starts"),
    "start_and_end_range_equal": ("error", "a frequency range is empty"),
    "route_both_short_and_long_name_missing": ("error", "a route without a name"),
    "missing_stop_name": ("error", "a stop, station or entrance without a name"),
    "number_out_of_range": ("error", "a latitude or longitude out of range"),
    "point_near_origin": ("error", "a point near (0, 0): coordinates probably missing"),
    "point_near_pole": ("error", "a point near a pole"),
    "station_with_parent_station": ("error", "a station inside another station"),
    "location_without_parent_station": (
        "error",
        "an entrance, node or boarding area without its station",
    ),
    "wrong_parent_location_type": ("error", "a parent_station of the wrong location type"),
    "location_with_unexpected_stop_time": ("error", "a stop time at a station or entrance"),
    "stop_time_with_only_arrival_or_departure_time": ("error", "a stop time with one time"),
    "missing_trip_edge": ("error", "a trip whose first or last stop has no time"),
    "stop_time_with_arrival_before_previous_departure_time": (
        "error",
        "times going backwards along a trip",
    ),
    "decreasing_or_equal_stop_time_distance": (
        "error",
        "shape_dist_traveled not increasing along a trip",
    ),
    "decreasing_or_equal_shape_distance": (
        "error",
        "shape_dist_traveled not increasing along a shape",
    ),
    "block_trips_with_overlapping_stop_times": (
        "error",
        "two trips of one block (vehicle) at the same time",
    ),
    "overlapping_frequency": ("error", "frequency periods of a trip overlap"),
    "stop_coordinates_swapped": ("error", "(ours) latitude and longitude swapped"),
    "stop_time_with_departure_before_arrival_time": (
        "error",
        "(ours) departure before arrival at a stop",
    ),
    "unexpected_enum_value": ("warning", "a value outside the field's list"),
    "route_short_and_long_name_equal": ("warning", "a route's short and long names are equal"),
    "route_short_name_too_long": ("warning", "a route_short_name of more than 12 characters"),
    "fast_travel_between_consecutive_stops": ("warning", "too fast between two stops"),
    "fast_travel_between_far_stops": ("warning", "too fast over more than 10 km"),
    "stop_too_far_from_shape": ("warning", "a stop more than 100 m from its trip's shape"),
    "unused_trip": ("warning", "a trip without stop times"),
    "unusable_trip": ("warning", "a trip with a single stop time"),
    "unused_shape": ("warning", "a shape no trip uses"),
    "expired_calendar": ("warning", "a service whose last day is past"),
    "feed_expiration_date7_days": ("warning", "the feed ends within 7 days"),
    "feed_expiration_date30_days": ("warning", "the feed ends within 30 days"),
    "missing_feed_info_date": ("warning", "feed_info with a start or an end date only"),
    "stop_outside_area": ("warning", "(ours) a stop outside the territory"),
    "stop_time_after_48_hours": ("warning", "(ours) a time past 48:00:00"),
    "service_never_active": ("warning", "(ours) a service that runs on no day"),
}

#: Fastest plausible speed per GTFS ``route_type``, in km/h: the canonical validator's
#: limits for ``fast_travel_between_*`` (other types, e.g. extended ones, get the default).
MAX_SPEED_KMH: dict[int, float] = {
    0: 100.0,  # tram, light rail
    1: 150.0,  # subway, metro
    2: 500.0,  # rail
    3: 150.0,  # bus
    4: 80.0,  # ferry
    5: 30.0,  # cable tram
    6: 50.0,  # aerial lift
    7: 50.0,  # funicular
    11: 150.0,  # trolleybus
    12: 150.0,  # monorail
}
DEFAULT_MAX_SPEED_KMH = 200.0
#: ``fast_travel_between_far_stops`` only applies over more than this distance.
FAR_STOPS_KM = 10.0
#: ``stop_too_far_from_shape``: a stop farther than this from its trip's shape.
STOP_SHAPE_MAX_M = 100.0
#: Longest ``route_short_name`` before ``route_short_name_too_long``.
MAX_SHORT_NAME = 12

#: A stop outside the area is taken for swapped when its swapped position lies within
#: this margin of the area and its published one does not: exchanging latitude and
#: longitude moves a point by thousands of kilometres, so the test holds for any area from
#: a département to a country.
SWAP_MARGIN_KM = 1000.0

_EARTH_RADIUS_M = 6_371_000.0
_KM_PER_DEGREE = 111.195
_DATE_RE = r"\d{8}"
_COLOR_RE = r"[0-9A-Fa-f]{6}"
_URL_RE = r"https?://[^\s/$.?#][^\s]*"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Problem:
    """One defect of a feed.

    Attributes
    ----------
    severity
        ``'error'`` blocks the import; ``'warning'`` and ``'info'`` do not.
    file
        The GTFS file, e.g. ``'stops.txt'``.
    row
        Line number in the file (header is line 1) or, when no line applies, an id or
        ``None``.
    field
        The column concerned, or ``None``.
    message
        What is wrong, in plain words, naming ids and values.
    code
        The notice code (see :data:`NOTICES`); empty for a problem made outside
        :func:`validate_feed`, e.g. a feed that cannot be read at all.
    """

    severity: Severity
    file: str
    row: int | str | None
    field: str | None
    message: str
    code: str = ""

    def __str__(self) -> str:
        where = self.file + (f":{self.row}" if self.row is not None else "")
        col = f" [{self.field}]" if self.field else ""
        code = f" {self.code}" if self.code else ""
        return f"{self.severity.upper()} {where}{col}{code}: {self.message}"


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

    def expanded(self, margin_km: float) -> BBox:
        """The box grown by ``margin_km`` on every side, e.g. a territory's communes plus the
        stations just beyond its border."""
        dlat = margin_km / _KM_PER_DEGREE
        widest = math.cos(math.radians(min(89.0, max(abs(self.min_lat), abs(self.max_lat)))))
        dlon = margin_km / (_KM_PER_DEGREE * widest)
        return BBox(self.min_lat - dlat, self.min_lon - dlon, self.max_lat + dlat,
                    self.max_lon + dlon)  # fmt: skip


#: Metropolitan France with Corsica and a margin for cross-border stations.
FRANCE_BBOX = BBox(41.0, -5.8, 51.5, 10.0)
#: The Lot département with a margin of about 30 km (reaches Brive and Montauban).
LOT_BBOX = BBox(44.0, 0.6, 45.3, 2.4)

#: Columns each file must have (beyond what routing needs, see ``schema.REQUIRED_COLUMNS``).
_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    **REQUIRED_COLUMNS,
    "agency": ("agency_name", "agency_url", "agency_timezone"),
    "feed_info": ("feed_publisher_name", "feed_publisher_url", "feed_lang"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
}
#: Fields that must have a value on every row (``missing_required_field``); stop times
#: may leave intermediate times blank, and stop names and coordinates depend on the type.
_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    **_REQUIRED_COLUMNS,
    "stop_times": ("trip_id", "stop_sequence"),  # stop_id: see _check_stop_times
}
#: Primary keys (``duplicate_key``).
_KEYS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_id",),
    "stops": ("stop_id",),
    "routes": ("route_id",),
    "trips": ("trip_id",),
    "stop_times": ("trip_id", "stop_sequence"),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id", "date"),
    "shapes": ("shape_id", "shape_pt_sequence"),
}


class _Collector:
    """Problems found so far, at most :data:`MAX_PROBLEMS_PER_CHECK` per check."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, code: str, file: str, row: int | str | None, field: str | None, msg: str):
        self.problems.append(Problem(NOTICES[code][0], file, row, field, msg, code))

    def add_many(
        self,
        code: str,
        file: str,
        rows: list[int | str | None],
        field: str | None,
        messages: Iterable[str],
    ) -> None:
        """One problem per row, the first ones then a summary; ``messages`` may be lazy,
        so that a check firing on every row of a country's feed stays cheap."""
        for row, msg in zip(rows[:MAX_PROBLEMS_PER_CHECK], messages, strict=False):
            self.add(code, file, row, field, msg)
        if len(rows) > MAX_PROBLEMS_PER_CHECK:
            more = len(rows) - MAX_PROBLEMS_PER_CHECK
            self.add(code, file, None, field, f"... and {more} more: {NOTICES[code][1]}")

    def add_rows(
        self,
        code: str,
        file: str,
        df: pd.DataFrame,
        mask: np.ndarray,
        field: str | None,
        message: Callable[[pd.Series], str],
    ) -> None:
        """Report the rows of ``df`` selected by ``mask``; ``message`` words one row."""
        if not mask.any():
            return
        shown = df.loc[mask].head(MAX_PROBLEMS_PER_CHECK)
        self.add_many(
            code, file, _lines(df, mask), field, (message(r) for _, r in shown.iterrows())
        )


# -- small helpers ------------------------------------------------------------------------


def _lines(df: pd.DataFrame, mask: np.ndarray) -> list[int | str | None]:
    """Line numbers (header = line 1) of the masked rows of a table read from a file."""
    return [int(i) + 2 for i in df.index[mask]]


def _table(feed: gtfs_kit.Feed, name: str) -> pd.DataFrame | None:
    df = getattr(feed, name, None)
    return df if df is not None and len(df) else None


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as strings; NA where absent or blank.

    Values are compared as published, as the timetable builder does (an id with a trailing
    space is another id)."""
    if col not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    s = df[col].astype("string")
    return s.mask(s.eq("").fillna(False))


def _blank(df: pd.DataFrame, col: str) -> np.ndarray:
    return _text(df, col).isna().to_numpy(dtype=bool)


def _number(df: pd.DataFrame, col: str) -> np.ndarray:
    """A numeric column as float64 with NaN for blanks (everywhere if the column is absent)."""
    if col not in df.columns:
        return np.full(len(df), np.nan)
    values = pd.to_numeric(df[col], errors="coerce").astype("Float64")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _matches(s: pd.Series, pattern: str) -> np.ndarray:
    return s.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _days(values: pd.Series) -> np.ndarray:
    """``YYYYMMDD`` strings as days since 1970-01-01 (int64); -1 where not a real date."""
    s = values.astype("string")
    s = s.where(_matches(s, _DATE_RE))
    parsed = pd.to_datetime(s, format="%Y%m%d", errors="coerce")
    days = (parsed - pd.Timestamp("1970-01-01")).dt.days
    return days.fillna(-1).astype("int64").to_numpy()


def _day_str(day: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).strftime("%Y%m%d")


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_M / 1000.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _ids(df: pd.DataFrame | None, col: str) -> set[str]:
    if df is None or col not in df.columns:
        return set()
    return set(_text(df, col).dropna())


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# -- files, columns, required fields, keys, references ------------------------------------


def _check_structure(feed: gtfs_kit.Feed, out: _Collector) -> set[str]:
    """Missing files, columns and required values, duplicate keys; returns usable tables."""
    for table in ("agency", "stops", "routes", "trips", "stop_times"):
        if _table(feed, table) is None:
            msg = f"required file {table}.txt is missing or empty"
            out.add("missing_required_file", f"{table}.txt", None, None, msg)
    if _table(feed, "calendar") is None and _table(feed, "calendar_dates") is None:
        msg = "neither calendar.txt nor calendar_dates.txt: no service runs on any day"
        out.add("missing_calendar_and_calendar_date_files", "calendar.txt", None, None, msg)
    usable = set()
    for table, columns in _REQUIRED_COLUMNS.items():
        df, file = _table(feed, table), f"{table}.txt"
        if df is None:
            continue
        missing = [c for c in columns if c not in df.columns]
        for col in missing:
            out.add("missing_required_column", file, 1, col, f"required column {col!r} missing")
        if not missing:
            usable.add(table)
        for col in _REQUIRED_FIELDS[table]:
            if col in df.columns:
                out.add_rows(
                    "missing_required_field", file, df, _blank(df, col), col,
                    lambda r, col=col: f"{col} is required and empty",
                )  # fmt: skip
        key = _KEYS.get(table)
        if key and all(c in df.columns for c in key):
            keys = pd.DataFrame({c: _text(df, c) for c in key})
            dup = (keys.duplicated(keep="first") & keys.notna().all(axis=1)).to_numpy(bool)
            out.add_rows(
                "duplicate_key", file, df, dup, key[-1],
                lambda r, key=key: "duplicate "
                + ", ".join(f"{c} {r[c]!r}" for c in key)
                + " (an earlier line has the same key)",
            )  # fmt: skip
    return usable


def _check_reference(
    out: _Collector, df: pd.DataFrame, file: str, col: str, known: set[str], target: str
) -> None:
    """``foreign_key_violation``: non-blank values of ``col`` absent from ``target``."""
    if col not in df.columns:
        return
    values = _text(df, col)
    bad = (values.notna() & ~values.isin(known)).to_numpy(dtype=bool)
    out.add_rows(
        "foreign_key_violation", file, df, bad, col,
        lambda r: f"{col} {r[col]!r} is not in {target}",
    )  # fmt: skip


def _check_pattern(
    out: _Collector, df: pd.DataFrame, file: str, cols: Iterable[str], code: str, pattern: str
) -> None:
    for col in cols:
        s = _text(df, col)
        bad = s.notna().to_numpy(dtype=bool) & ~_matches(s, pattern)
        out.add_rows(
            code, file, df, bad, col,
            lambda r, col=col: f"{col} {r[col]!r}: {NOTICES[code][1]}",
        )  # fmt: skip


def _check_enum(
    out: _Collector, df: pd.DataFrame, file: str, col: str, allowed: Iterable[int]
) -> None:
    v = _number(df, col)
    allowed = list(allowed)
    bad = ~np.isnan(v) & ~np.isin(v, allowed)
    out.add_rows(
        "unexpected_enum_value", file, df, bad, col,
        lambda r: f"{col} is {r[col]}, expected one of {allowed}",
    )  # fmt: skip


# -- agency, routes -----------------------------------------------------------------------


def _check_timezones(out: _Collector, df: pd.DataFrame, file: str, col: str) -> None:
    tz = _text(df, col)
    bad = (tz.notna() & ~tz.isin(_timezones())).to_numpy(dtype=bool)
    out.add_rows(
        "invalid_timezone", file, df, bad, col,
        lambda r: f"{col} {r[col]!r} is not an IANA time zone (such as 'Europe/Paris')",
    )  # fmt: skip


def _check_agency(feed: gtfs_kit.Feed, out: _Collector) -> None:
    agency = feed.agency
    _check_timezones(out, agency, "agency.txt", "agency_timezone")
    _check_pattern(out, agency, "agency.txt", ("agency_url", "agency_fare_url"), "invalid_url",
                   _URL_RE)  # fmt: skip
    tz = _text(agency, "agency_timezone")
    if tz.notna().any():
        first = tz.dropna().iloc[0]
        out.add_rows(
            "inconsistent_agency_timezone", "agency.txt", agency,
            (tz.notna() & (tz != first)).to_numpy(dtype=bool), "agency_timezone",
            lambda r: f"agency {r.get('agency_id')!r} is in {r['agency_timezone']!r} but the "
            f"first agency is in {first!r}: all agencies must share one time zone",
        )  # fmt: skip
    if len(agency) > 1:
        out.add_rows(
            "missing_required_field", "agency.txt", agency, _blank(agency, "agency_id"),
            "agency_id", lambda r: "agency_id is required when the feed has several agencies",
        )  # fmt: skip


def _check_routes(feed: gtfs_kit.Feed, out: _Collector) -> None:
    routes, file = feed.routes, "routes.txt"
    agency = _table(feed, "agency")
    if agency is not None:
        if "agency_id" in agency.columns:
            agencies = _ids(agency, "agency_id")
            _check_reference(out, routes, file, "agency_id", agencies, "agency.txt")
        if len(agency) > 1:
            out.add_rows(
                "missing_required_field", file, routes, _blank(routes, "agency_id"),
                "agency_id", lambda r: f"route {r['route_id']!r}: agency_id is required when "
                "the feed has several agencies",
            )  # fmt: skip
    short, long_ = _text(routes, "route_short_name"), _text(routes, "route_long_name")
    out.add_rows(
        "route_both_short_and_long_name_missing", file, routes,
        (short.isna() & long_.isna()).to_numpy(dtype=bool), "route_short_name",
        lambda r: f"route {r['route_id']!r} has neither route_short_name nor route_long_name",
    )  # fmt: skip
    out.add_rows(
        "route_short_and_long_name_equal", file, routes,
        (short == long_).fillna(False).to_numpy(dtype=bool), "route_long_name",
        lambda r: f"route {r['route_id']!r}: short and long names are both "
        f"{r['route_short_name']!r}",
    )  # fmt: skip
    out.add_rows(
        "route_short_name_too_long", file, routes,
        (short.str.len() > MAX_SHORT_NAME).fillna(False).to_numpy(dtype=bool),
        "route_short_name",
        lambda r: f"route {r['route_id']!r}: route_short_name {r['route_short_name']!r} is "
        f"longer than {MAX_SHORT_NAME} characters",
    )  # fmt: skip
    rtype = _number(routes, "route_type")
    known = np.isin(rtype, list(MAX_SPEED_KMH)) | ((rtype >= 100) & (rtype <= 1702))
    out.add_rows(
        "unexpected_enum_value", file, routes, ~np.isnan(rtype) & ~known, "route_type",
        lambda r: f"route {r['route_id']!r}: route_type {r['route_type']} is neither a GTFS "
        "route type (0-7, 11, 12) nor an extended one (100-1702)",
    )  # fmt: skip
    _check_pattern(out, routes, file, ("route_color", "route_text_color"), "invalid_color",
                   _COLOR_RE)  # fmt: skip
    _check_pattern(out, routes, file, ("route_url",), "invalid_url", _URL_RE)


# -- stops --------------------------------------------------------------------------------


def _check_points(
    out: _Collector,
    df: pd.DataFrame,
    file: str,
    lat_col: str,
    what: Callable[[pd.Series], str],
) -> np.ndarray:
    """Out-of-range, near-origin and near-pole points; returns the mask of plausible ones."""
    lon_col = lat_col.replace("lat", "lon")
    lat, lon = _number(df, lat_col), _number(df, lon_col)
    for col, values, limit in ((lat_col, lat, 90.0), (lon_col, lon, 180.0)):
        out.add_rows(
            "number_out_of_range", file, df, np.abs(values) > limit, col,
            lambda r, col=col, limit=limit: f"{what(r)}: {col} {r[col]} is not within "
            f"±{limit:g} degrees",
        )  # fmt: skip
    in_range = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    origin = in_range & (np.abs(lat) <= 1.0) & (np.abs(lon) <= 1.0)
    out.add_rows(
        "point_near_origin", file, df, origin, lat_col,
        lambda r: f"{what(r)} is at ({r[lat_col]}, {r[lon_col]}), near (0, 0): coordinates "
        "probably missing",
    )  # fmt: skip
    pole = in_range & (np.abs(lat) >= 89.0)
    out.add_rows(
        "point_near_pole", file, df, pole, lat_col,
        lambda r: f"{what(r)} is at latitude {r[lat_col]}, near a pole",
    )  # fmt: skip
    return in_range & ~origin & ~pole


def _check_area(out: _Collector, stops: pd.DataFrame, ok: np.ndarray, area: BBox) -> None:
    lat, lon = _number(stops, "stop_lat"), _number(stops, "stop_lon")
    inside = area.contains(lat, lon)
    near = area.expanded(SWAP_MARGIN_KM)
    swapped = ok & ~inside & ~near.contains(lat, lon) & near.contains(lon, lat)
    # An error, not a warning: a stop thousands of kilometres off would be snapped to the
    # wrong road and give wrong journeys. The feed must be fixed before it is imported.
    out.add_rows(
        "stop_coordinates_swapped", "stops.txt", stops, swapped, "stop_lat",
        lambda r: f"stop {r['stop_id']!r}: latitude and longitude look swapped "
        f"(stop_lat={r['stop_lat']}, stop_lon={r['stop_lon']}); swapped back the stop falls "
        f"within {SWAP_MARGIN_KM:.0f} km of the territory ({area})",
    )  # fmt: skip
    out.add_rows(
        "stop_outside_area", "stops.txt", stops, ok & ~inside & ~swapped, "stop_lat",
        lambda r: f"stop {r['stop_id']!r} at ({r['stop_lat']}, {r['stop_lon']}) is outside "
        f"the territory ({area})",
    )  # fmt: skip


def _check_stops(feed: gtfs_kit.Feed, area: BBox | None, out: _Collector) -> None:
    stops, file = feed.stops, "stops.txt"
    _check_enum(out, stops, file, "location_type", range(5))
    loc = np.nan_to_num(_number(stops, "location_type"), nan=0.0)
    named = np.isin(loc, [0, 1, 2])  # stops, stations and entrances
    out.add_rows(
        "missing_stop_name", file, stops, named & _blank(stops, "stop_name"), "stop_name",
        lambda r: f"stop {r['stop_id']!r} (location_type {int(r.get('location_type') or 0)}) "
        "has no stop_name",
    )  # fmt: skip
    for col in ("stop_lat", "stop_lon"):
        out.add_rows(
            "missing_required_field", file, stops, named & np.isnan(_number(stops, col)), col,
            lambda r, col=col: f"stop {r['stop_id']!r} has no {col}",
        )  # fmt: skip
    ok = _check_points(out, stops, file, "stop_lat", lambda r: f"stop {r['stop_id']!r}")
    if area is not None:
        _check_area(out, stops, ok, area)
    if "stop_timezone" in stops.columns:
        _check_timezones(out, stops, file, "stop_timezone")
    _check_pattern(out, stops, file, ("stop_url",), "invalid_url", _URL_RE)
    # Parent stations: known, of the right type, present where they must be.
    ids, parent = _text(stops, "stop_id"), _text(stops, "parent_station")
    _check_reference(out, stops, file, "parent_station", set(ids.dropna()), file)
    has_parent = parent.notna().to_numpy(dtype=bool)
    out.add_rows(
        "station_with_parent_station", file, stops, (loc == 1) & has_parent, "parent_station",
        lambda r: f"station {r['stop_id']!r} (location_type 1) has a parent_station",
    )  # fmt: skip
    out.add_rows(
        "location_without_parent_station", file, stops, np.isin(loc, [2, 3, 4]) & ~has_parent,
        "parent_station",
        lambda r: f"location {r['stop_id']!r} (location_type {r['location_type']}) needs a "
        "parent_station",
    )  # fmt: skip
    type_of = pd.Series(loc, index=ids.to_numpy())
    type_of = type_of[~type_of.index.duplicated()]
    parent_type = parent.map(type_of).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    expected = np.where(loc == 4, 0.0, 1.0)  # boarding areas hang off a stop, others a station
    wrong = has_parent & (loc != 1) & ~np.isnan(parent_type) & (parent_type != expected)
    out.add_rows(
        "wrong_parent_location_type", file, stops, wrong, "parent_station",
        lambda r: f"stop {r['stop_id']!r} (location_type {int(r.get('location_type') or 0)}):"
        f" parent_station {r['parent_station']!r} has location_type "
        f"{int(type_of[r['parent_station']])}",
    )  # fmt: skip


def _stop_coordinates(stops: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Latitude and longitude by stop id, taken from the parent station when blank."""
    ids = _text(stops, "stop_id").to_numpy()
    first = ~pd.Series(ids).duplicated().to_numpy()
    lat = pd.Series(_number(stops, "stop_lat")[first], index=ids[first])
    lon = pd.Series(_number(stops, "stop_lon")[first], index=ids[first])
    parent = pd.Series(_text(stops, "parent_station").to_numpy()[first], index=ids[first])
    return lat.fillna(parent.map(lat)), lon.fillna(parent.map(lon))


# -- stop times ---------------------------------------------------------------------------


class _Trips(NamedTuple):
    """Stop times sorted along each trip, as arrays (index = position in that order)."""

    order: np.ndarray  # position in feed.stop_times of each sorted row
    trip: np.ndarray  # trip ids (str)
    arr: np.ndarray  # seconds; -1 blank, -2 unparsable
    dep: np.ndarray
    same: np.ndarray  # same[i]: rows i and i + 1 belong to one trip
    first: np.ndarray
    last: np.ndarray
    flex: np.ndarray  # GTFS-Flex rows: a pickup/drop-off window instead of times


def _sorted_trips(st: pd.DataFrame) -> _Trips:
    seq = _number(st, "stop_sequence")
    trip_ids = _text(st, "trip_id").fillna("").to_numpy(dtype=object).astype(str)
    order = np.lexsort((seq, trip_ids))
    trip = trip_ids[order]
    same = trip[1:] == trip[:-1]
    return _Trips(
        order=order,
        trip=trip,
        arr=parse_times(st["arrival_time"])[order],
        dep=parse_times(st["departure_time"])[order],
        same=same,
        first=np.r_[True, ~same],
        last=np.r_[~same, True],
        flex=~(
            _blank(st, "start_pickup_drop_off_window") & _blank(st, "end_pickup_drop_off_window")
        )[order],
    )


def _unsort(tr: _Trips, sorted_mask: np.ndarray) -> np.ndarray:
    """A mask over the stop_times table from a mask over the sorted order."""
    mask = np.zeros(len(tr.order), dtype=bool)
    mask[tr.order[sorted_mask]] = True
    return mask


def _check_stop_times(feed: gtfs_kit.Feed, out: _Collector) -> _Trips:
    st, file = feed.stop_times, "stop_times.txt"
    # GTFS-Flex rows name a zone (location_id, location_group_id) instead of a stop.
    nowhere = _blank(st, "stop_id") & _blank(st, "location_id") & _blank(st, "location_group_id")
    out.add_rows(
        "missing_required_field", file, st, nowhere, "stop_id",
        lambda r: f"trip {r['trip_id']!r}, stop_sequence {r['stop_sequence']}: no stop_id "
        "(nor a Flex location_id or location_group_id)",
    )  # fmt: skip
    _check_reference(out, st, file, "trip_id", _ids(feed.trips, "trip_id"), "trips.txt")
    _check_reference(out, st, file, "stop_id", _ids(feed.stops, "stop_id"), "stops.txt")
    loc = pd.Series(_number(feed.stops, "location_type"), index=_text(feed.stops, "stop_id"))
    loc = loc[~loc.index.duplicated()].fillna(0)
    st_loc = _text(st, "stop_id").map(loc).astype("Float64").to_numpy(dtype=float, na_value=0)
    out.add_rows(
        "location_with_unexpected_stop_time", file, st, st_loc != 0, "stop_id",
        lambda r: f"stop_id {r['stop_id']!r} is a station, entrance, node or boarding area, "
        "not a stop a vehicle serves",
    )  # fmt: skip
    tr = _sorted_trips(st)
    for name, t in (("arrival_time", tr.arr), ("departure_time", tr.dep)):
        out.add_rows(
            "invalid_time", file, st, _unsort(tr, t == -2), name,
            lambda r, name=name: f"unparsable time {r[name]!r} (expected H:MM:SS, hours may "
            "exceed 24)",
        )  # fmt: skip
    out.add_rows(
        "stop_time_with_only_arrival_or_departure_time", file, st,
        _unsort(tr, ~tr.flex & ((tr.arr == -1) != (tr.dep == -1))), "arrival_time",
        lambda r: f"trip {r['trip_id']!r}, stop_sequence {r['stop_sequence']}: only one of "
        "arrival_time and departure_time is given",
    )  # fmt: skip
    for name, t in (("arrival_time", tr.arr), ("departure_time", tr.dep)):
        out.add_rows(
            "missing_trip_edge", file, st,
            _unsort(tr, (tr.first | tr.last) & ~tr.flex & (t == -1)), name,
            lambda r, name=name: f"trip {r['trip_id']!r}: first or last stop without {name}",
        )  # fmt: skip
    # Arrival before the departure from the last earlier stop that has a time.
    dep = pd.Series(np.where(tr.dep >= 0, tr.dep, np.nan))
    prev_dep = dep.groupby(tr.trip).shift(1).groupby(tr.trip).ffill().to_numpy()
    back = (tr.arr >= 0) & (tr.arr < prev_dep)
    out.add_rows(
        "stop_time_with_arrival_before_previous_departure_time", file, st, _unsort(tr, back),
        "arrival_time",
        lambda r: f"trip {r['trip_id']!r}: arrival {r['arrival_time']} at stop_sequence "
        f"{r['stop_sequence']} is before the departure from the previous stop",
    )  # fmt: skip
    out.add_rows(
        "stop_time_with_departure_before_arrival_time", file, st,
        _unsort(tr, (tr.arr >= 0) & (tr.dep >= 0) & (tr.dep < tr.arr)), "departure_time",
        lambda r: f"trip {r['trip_id']!r}, stop_sequence {r['stop_sequence']}: departure "
        f"{r['departure_time']} is before arrival {r['arrival_time']}",
    )  # fmt: skip
    # Times past 48 h are legal but almost always a typing error.
    out.add_rows(
        "stop_time_after_48_hours", file, st,
        _unsort(tr, np.maximum(tr.arr, tr.dep) >= 48 * 3600), "arrival_time",
        lambda r: f"trip {r['trip_id']!r}: time past 48:00:00 ({r['arrival_time']})",
    )  # fmt: skip
    if "shape_dist_traveled" in st.columns:
        dist = _number(st, "shape_dist_traveled")[tr.order]
        dec = np.r_[False, tr.same & (dist[1:] <= dist[:-1])]
        out.add_rows(
            "decreasing_or_equal_stop_time_distance", file, st, _unsort(tr, dec),
            "shape_dist_traveled",
            lambda r: f"trip {r['trip_id']!r}, stop_sequence {r['stop_sequence']}: "
            "shape_dist_traveled does not increase",
        )  # fmt: skip
    return tr


def _speed_kmh(tr: _Trips, cum_km: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Speed from the departure at sorted row ``i`` to the arrival at row ``j``.

    As the canonical validator counts it: times in whole minutes are taken as up to a
    minute late (one minute is added), and the time is at least one minute.
    """
    d, a = tr.dep[i].astype(float), tr.arr[j].astype(float)
    delta = a - d
    whole = (a % 60 == 0) & (d % 60 == 0)
    delta = np.where(delta <= 0, 60.0, np.where(whole, delta + 60.0, delta))
    speed = (cum_km[j] - cum_km[i]) * 3600.0 / delta
    return np.where((tr.dep[i] >= 0) & (tr.arr[j] >= 0), speed, np.nan)


def _check_speeds(feed: gtfs_kit.Feed, tr: _Trips, out: _Collector) -> None:
    """``fast_travel_between_consecutive_stops`` and ``fast_travel_between_far_stops``.

    Distances are great-circle between stops (a stop without coordinates takes its
    station's), summed along the trip; limits by route type are :data:`MAX_SPEED_KMH`.
    """
    st = feed.stop_times
    lat_of, lon_of = _stop_coordinates(feed.stops)
    stop_ids = pd.Series(_text(st, "stop_id").to_numpy()[tr.order])
    lat = stop_ids.map(lat_of).astype(float).to_numpy()
    lon = stop_ids.map(lon_of).astype(float).to_numpy()
    trips, routes = feed.trips, feed.routes
    route_of = pd.Series(_text(trips, "route_id").to_numpy(), index=_text(trips, "trip_id"))
    types = pd.Series(_number(routes, "route_type"), index=_text(routes, "route_id"))
    limits = types.map(lambda t: MAX_SPEED_KMH.get(int(t), DEFAULT_MAX_SPEED_KMH), "ignore")
    route_of = route_of[~route_of.index.duplicated()]
    limits = limits[~limits.index.duplicated()]
    limit = pd.Series(tr.trip).map(route_of).map(limits).astype(float).to_numpy()
    # As the validator does, trips with a stop lacking coordinates are not checked.
    no_coords = pd.Series(np.isnan(lat) | np.isnan(lon)).groupby(tr.trip).transform("any")
    limit[no_coords.to_numpy(dtype=bool)] = np.nan
    n = len(tr.trip)
    step = np.zeros(n)
    if n > 1:
        step[:-1] = np.where(tr.same, _haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]), 0.0)
    cum = np.r_[0.0, np.cumsum(np.nan_to_num(step))[:-1]]  # km from sorted row 0

    def describe(k: int, j: int, far: bool) -> str:
        a, b = st.iloc[tr.order[k]], st.iloc[tr.order[j]]
        speed = _speed_kmh(tr, cum, np.array([k]), np.array([j]))[0]
        return (
            f"trip {a['trip_id']!r}: {speed:.0f} km/h over {cum[j] - cum[k]:.1f} km between "
            f"{'stops' if far else 'consecutive stops'} {a['stop_id']!r} (departure "
            f"{a['departure_time']}) and {b['stop_id']!r} (arrival {b['arrival_time']}); the "
            f"limit for its route type is {limit[k]:.0f} km/h"
        )

    i = np.flatnonzero(tr.same)
    fast = i[_speed_kmh(tr, cum, i, i + 1) > limit[i]]
    out.add_many(
        "fast_travel_between_consecutive_stops", "stop_times.txt",
        [int(st.index[tr.order[k + 1]]) + 2 for k in fast], "arrival_time",
        (describe(int(k), int(k) + 1, False) for k in fast),
    )  # fmt: skip
    # Far stops: every pair (k, k + gap) of one trip, more than FAR_STOPS_KM apart; one
    # problem per trip, the pair ending first and, among those, starting last.
    found: dict[str, tuple[int, int]] = {}
    links = np.r_[0, np.cumsum(tr.same)]  # links within trips before each sorted row
    for gap in range(1, n):
        k = np.arange(n - gap)
        k = k[links[k] + gap == links[k + gap]]  # rows k and k + gap are in one trip
        if not len(k):
            break
        j = k + gap
        hit = (_speed_kmh(tr, cum, k, j) > limit[k]) & (cum[j] - cum[k] > FAR_STOPS_KM)
        for a, b in zip(k[hit], j[hit], strict=True):
            best = found.get(tr.trip[a])
            if best is None or b < best[1] or (b == best[1] and a > best[0]):
                found[tr.trip[a]] = (int(a), int(b))
    pairs = sorted(found.values(), key=lambda p: p[1])
    out.add_many(
        "fast_travel_between_far_stops", "stop_times.txt",
        [int(st.index[tr.order[b]]) + 2 for _, b in pairs], "arrival_time",
        (describe(a, b, True) for a, b in pairs),
    )  # fmt: skip


# -- trips, blocks ------------------------------------------------------------------------


def _check_trips(
    feed: gtfs_kit.Feed, tr: _Trips | None, days: pd.DataFrame, services: set[str],
    out: _Collector,
) -> None:  # fmt: skip
    trips, file = feed.trips, "trips.txt"
    _check_reference(out, trips, file, "route_id", _ids(feed.routes, "route_id"), "routes.txt")
    if services:
        where = "calendar.txt/calendar_dates.txt"
        _check_reference(out, trips, file, "service_id", services, where)
    shapes = _ids(_table(feed, "shapes"), "shape_id")
    _check_reference(out, trips, file, "shape_id", shapes, "shapes.txt")
    if tr is None:
        return
    counts = pd.Series(tr.trip).value_counts()
    n_stops = _text(trips, "trip_id").map(counts).fillna(0).to_numpy(dtype=float)
    out.add_rows(
        "unused_trip", file, trips, n_stops == 0, "trip_id",
        lambda r: f"trip {r['trip_id']!r} has no stop times",
    )  # fmt: skip
    out.add_rows(
        "unusable_trip", file, trips, n_stops == 1, "trip_id",
        lambda r: f"trip {r['trip_id']!r} has a single stop time; it is ignored",
    )  # fmt: skip
    _check_blocks(feed, tr, days, out)


def _check_blocks(feed: gtfs_kit.Feed, tr: _Trips, days: pd.DataFrame, out: _Collector) -> None:
    """``block_trips_with_overlapping_stop_times``: one vehicle cannot run two trips at once.

    Two trips of a block overlap when one starts (first departure) before the other ends
    (last arrival) on a date both their services run.
    """
    trips = feed.trips
    block = _text(trips, "block_id")
    if block.isna().all():
        return
    span = (
        pd.DataFrame(
            {
                "trip": tr.trip,
                "start": np.where(tr.dep >= 0, tr.dep, np.nan),
                "end": np.where(tr.arr >= 0, tr.arr, np.nan),
            }
        )
        .groupby("trip")
        .agg(start=("start", "min"), end=("end", "max"))
    )
    df = pd.DataFrame(
        {
            "line": trips.index.to_numpy() + 2,
            "trip": _text(trips, "trip_id").to_numpy(dtype=object),
            "block": block.to_numpy(dtype=object),
            "service": _text(trips, "service_id").to_numpy(dtype=object),
        }
    ).dropna(subset=["block", "trip"])
    df = df.join(span, on="trip").dropna(subset=["start", "end"])
    df = df.sort_values(["block", "start"], kind="stable").reset_index(drop=True)
    blk, start, end = df["block"].to_numpy(), df["start"].to_numpy(), df["end"].to_numpy()
    # Trips sorted by start within a block: trip x overlaps trips x + 1, x + 2... until one
    # starts after x ends, so looking ``gap`` trips ahead stops when no pair overlaps.
    pairs = []
    for gap in range(1, len(df)):
        x = np.flatnonzero((blk[:-gap] == blk[gap:]) & (start[gap:] < end[:-gap]))
        if not len(x):
            break
        pairs.extend(zip(x, x + gap, strict=True))
    days_of: dict[str, set[int]] = {}
    if pairs:
        wanted = set(df["service"].iloc[[i for p in pairs for i in p]].dropna())
        sub = days[days["service_id"].isin(wanted)]
        days_of = {s: set(g) for s, g in sub.groupby("service_id")["day"]}
    rows: list[int | str | None] = []
    messages: list[str] = []
    for x, y in sorted(pairs, key=lambda p: (p[1], p[0])):
        a, b = df.iloc[x], df.iloc[y]
        common = days_of.get(a["service"], set()) & days_of.get(b["service"], set())
        if common:
            rows.append(int(b["line"]))
            messages.append(
                f"block {b['block']!r}: trips {a['trip']!r} (line {a['line']}) and "
                f"{b['trip']!r} overlap in time on {_day_str(min(common))}"
            )
    out.add_many("block_trips_with_overlapping_stop_times", "trips.txt", rows, "block_id",
                 messages)  # fmt: skip


# -- calendars, feed info, expiry ---------------------------------------------------------


def _service_days(feed: gtfs_kit.Feed, usable: set[str]) -> pd.DataFrame:
    """Every (service_id, day) a service runs, ``day`` in days since 1970-01-01.

    The rules of :func:`gtfs_import.expand_calendar`, over the whole calendar rather than
    given dates; rows with bad dates are left out (they are ``invalid_date`` errors).
    """
    sids: list[np.ndarray] = [np.empty(0, dtype=object)]
    runs: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    cal = feed.calendar if "calendar" in usable else None
    if cal is not None:
        start, end = _days(cal["start_date"]), _days(cal["end_date"])
        flags = np.stack([_number(cal, d) == 1 for d in _WEEKDAYS], axis=1)
        ids = _text(cal, "service_id").to_numpy(dtype=object)
        for sid, a, b, f in zip(ids, start, end, flags, strict=True):
            if a < 0 or b < a or not isinstance(sid, str):
                continue
            days = np.arange(a, b + 1)
            days = days[f[(days + 3) % 7]]  # 1970-01-01 was a Thursday (weekday 3)
            runs.append(days)
            sids.append(np.full(len(days), sid, dtype=object))
    base = pd.DataFrame({"service_id": np.concatenate(sids), "day": np.concatenate(runs)})
    cd = feed.calendar_dates if "calendar_dates" in usable else None
    if cd is not None:
        ex = pd.DataFrame(
            {
                "service_id": _text(cd, "service_id").to_numpy(dtype=object),
                "day": _days(cd["date"]),
                "type": _number(cd, "exception_type"),
            }
        ).dropna(subset=["service_id"])
        ex = ex[ex["day"] >= 0]
        added = ex.loc[ex["type"] == 1, ["service_id", "day"]]
        removed = ex.loc[ex["type"] == 2, ["service_id", "day"]]
        base = pd.concat([base, added], ignore_index=True).drop_duplicates()
        base = base.merge(removed.drop_duplicates(), how="left", indicator=True)
        base = base.loc[base["_merge"] == "left_only", ["service_id", "day"]]
    return base.reset_index(drop=True)


def _check_dates(feed: gtfs_kit.Feed, out: _Collector) -> None:
    """``invalid_date`` (such rows were silently dropped before) and date ranges."""
    for table, cols in (
        ("calendar", ("start_date", "end_date")),
        ("calendar_dates", ("date",)),
        ("feed_info", ("feed_start_date", "feed_end_date")),
    ):
        df, file = _table(feed, table), f"{table}.txt"
        if df is None:
            continue
        for col in cols:
            if col in df.columns:
                bad = _text(df, col).notna().to_numpy(dtype=bool) & (_days(df[col]) < 0)
                out.add_rows(
                    "invalid_date", file, df, bad, col,
                    lambda r, col=col: f"{col} {r[col]!r} is not a date (expected YYYYMMDD); "
                    "the row would be ignored",
                )  # fmt: skip
        if len(cols) == 2 and all(c in df.columns for c in cols):
            a, b = _days(df[cols[0]]), _days(df[cols[1]])
            out.add_rows(
                "start_and_end_range_out_of_order", file, df, (a >= 0) & (b >= 0) & (b < a),
                cols[1], lambda r, c=cols: f"{c[1]} {r[c[1]]} is before {c[0]} {r[c[0]]}",
            )  # fmt: skip
    cal = _table(feed, "calendar")
    if cal is not None:
        for day in _WEEKDAYS:
            _check_enum(out, cal, "calendar.txt", day, (0, 1))
    cd = _table(feed, "calendar_dates")
    if cd is not None:
        _check_enum(out, cd, "calendar_dates.txt", "exception_type", (1, 2))
    info = _table(feed, "feed_info")
    if info is not None:
        one = _blank(info, "feed_start_date") != _blank(info, "feed_end_date")
        out.add_rows(
            "missing_feed_info_date", "feed_info.txt", info, one, "feed_end_date",
            lambda r: "feed_start_date and feed_end_date should be given together",
        )  # fmt: skip
        _check_pattern(out, info, "feed_info.txt", ("feed_publisher_url",), "invalid_url",
                       _URL_RE)  # fmt: skip


class _ServiceLines:
    """Where each service is defined, to point problems about services at a line."""

    def __init__(self, feed: gtfs_kit.Feed) -> None:
        cal, cd = _table(feed, "calendar"), _table(feed, "calendar_dates")
        self.calendar: dict[str, int] = {}
        if cal is not None:
            lines = pd.Series(cal.index.to_numpy() + 2, index=_text(cal, "service_id"))
            self.calendar = lines[~lines.index.duplicated()].to_dict()
        self.dates = pd.DataFrame({"service_id": [], "day": [], "line": []})
        if cd is not None:
            self.dates = pd.DataFrame(
                {
                    "service_id": _text(cd, "service_id").fillna("").to_numpy(dtype=object),
                    "day": _days(cd["date"]),
                    "line": cd.index.to_numpy() + 2,
                }
            )

    def find(self, sid: str, day: int | None) -> tuple[str, int | None]:
        """Its calendar.txt line, else its calendar_dates.txt line for ``day`` (or its last)."""
        if sid in self.calendar:
            return "calendar.txt", int(self.calendar[sid])
        rows = self.dates[(self.dates["service_id"] == sid).to_numpy(dtype=bool)]
        if not len(rows):
            return "calendar.txt", None
        on_day = rows[rows["day"] == day]
        return "calendar_dates.txt", int((on_day if len(on_day) else rows)["line"].iloc[-1])


def _add_per_service(
    out: _Collector, where: _ServiceLines, code: str, items: list[tuple[str, int | None, str]]
) -> None:
    """One problem per (service, day, message), at the line defining the service."""
    for sid, day, msg in items[:MAX_PROBLEMS_PER_CHECK]:
        file, line = where.find(sid, day)
        out.add(code, file, line, "service_id", msg)
    if len(items) > MAX_PROBLEMS_PER_CHECK:
        more = f"... and {len(items) - MAX_PROBLEMS_PER_CHECK} more: {NOTICES[code][1]}"
        out.add(code, where.find(items[0][0], None)[0], None, "service_id", more)


def _check_services(
    feed: gtfs_kit.Feed, days: pd.DataFrame, services: set[str], today: dt.date, out: _Collector
) -> None:
    """Services that never run, expired services, and how long the feed still runs."""
    where = _ServiceLines(feed)
    never = sorted(services - set(days["service_id"]))
    _add_per_service(
        out, where, "service_never_active",
        [(s, None, f"service {s!r} runs on no day (empty service)") for s in never],
    )  # fmt: skip
    today_day = (today - dt.date(1970, 1, 1)).days
    last = days.groupby("service_id")["day"].max().sort_index()
    expired = last[last < today_day]
    _add_per_service(
        out, where, "expired_calendar",
        [
            (s, int(d), f"service {s!r} ran for the last time on {_day_str(d)}, before today "
             f"({today:%Y%m%d})")
            for s, d in expired.items()
        ],
    )  # fmt: skip
    # Expiry: feed_info.feed_end_date when given, else the last day any service runs.
    info = _table(feed, "feed_info")
    ends = _days(info["feed_end_date"]) if info is not None and "feed_end_date" in info else []
    if len(ends) and (ends >= 0).any():
        end_day = int(ends[ends >= 0][0])
        file, line, field = "feed_info.txt", int(info.index[ends >= 0][0]) + 2, "feed_end_date"
    elif len(last):
        end_day = int(last.max())
        file, line = where.find(str(last.idxmax()), end_day)
        field = "end_date" if file == "calendar.txt" else "date"
    else:
        return
    ahead = 7 if end_day < today_day + 7 else 30 if end_day <= today_day + 30 else None
    if ahead is not None:
        out.add(
            f"feed_expiration_date{ahead}_days", file, line, field,
            f"the feed runs until {_day_str(end_day)}: it should still run {ahead} days after "
            f"today ({today:%Y%m%d})",
        )  # fmt: skip


# -- shapes, frequencies, transfers -------------------------------------------------------


def _check_shapes(feed: gtfs_kit.Feed, tr: _Trips | None, out: _Collector) -> None:
    shapes, file = feed.shapes, "shapes.txt"
    _check_points(out, shapes, file, "shape_pt_lat", lambda r: f"shape {r['shape_id']!r}")
    sid = _text(shapes, "shape_id")
    order = np.lexsort((_number(shapes, "shape_pt_sequence"), sid.fillna("").to_numpy(str)))
    if "shape_dist_traveled" in shapes.columns:
        dist = _number(shapes, "shape_dist_traveled")[order]
        s = sid.to_numpy(dtype=object)[order]
        dec = np.r_[False, (s[1:] == s[:-1]) & (dist[1:] <= dist[:-1])]
        mask = np.zeros(len(shapes), dtype=bool)
        mask[order[dec]] = True
        out.add_rows(
            "decreasing_or_equal_shape_distance", file, shapes, mask, "shape_dist_traveled",
            lambda r: f"shape {r['shape_id']!r}, point {r['shape_pt_sequence']}: "
            "shape_dist_traveled does not increase",
        )  # fmt: skip
    used = _ids(feed.trips, "shape_id") if feed.trips is not None else set()
    unused = ~sid.duplicated().to_numpy(dtype=bool) & sid.notna().to_numpy(dtype=bool)
    unused &= ~sid.isin(used).to_numpy(dtype=bool)
    out.add_rows(
        "unused_shape", file, shapes, unused, "shape_id",
        lambda r: f"shape {r['shape_id']!r} is used by no trip",
    )  # fmt: skip
    if tr is not None and "shape_id" in feed.trips.columns:
        _check_stops_near_shapes(feed, tr, shapes.iloc[order], out)


def _check_stops_near_shapes(
    feed: gtfs_kit.Feed, tr: _Trips, shapes: pd.DataFrame, out: _Collector
) -> None:
    """``stop_too_far_from_shape``: a stop more than :data:`STOP_SHAPE_MAX_M` from the
    polyline of a trip serving it, reported once per shape and stop at its first stop time."""
    st, trips = feed.stop_times, feed.trips
    shape_of = pd.Series(_text(trips, "shape_id").to_numpy(), index=_text(trips, "trip_id"))
    shape_of = shape_of[~shape_of.index.duplicated()]
    lat_of, lon_of = _stop_coordinates(feed.stops)
    pairs = pd.DataFrame(
        {
            "shape": pd.Series(tr.trip).map(shape_of).to_numpy(dtype=object),
            "stop": _text(st, "stop_id").to_numpy(dtype=object)[tr.order],
            "line": st.index.to_numpy()[tr.order] + 2,
        }
    ).dropna()
    pairs = pairs.drop_duplicates(["shape", "stop"])
    pairs["lat"] = pairs["stop"].map(lat_of).astype(float)
    pairs["lon"] = pairs["stop"].map(lon_of).astype(float)
    pairs = pairs.dropna(subset=["lat", "lon"])
    points = pd.DataFrame(
        {
            "shape": _text(shapes, "shape_id").to_numpy(dtype=object),
            "lat": _number(shapes, "shape_pt_lat"),
            "lon": _number(shapes, "shape_pt_lon"),
        }
    ).dropna()
    by_shape = dict(list(points.groupby("shape", sort=False)))
    rows: list[int | str | None] = []
    messages: list[str] = []
    for shape, group in pairs.groupby("shape", sort=True):
        pts = by_shape.get(shape)
        if pts is None or len(pts) < 2:
            continue
        # Local equirectangular metres around the shape: exact enough at 100 m.
        scale = np.array([np.cos(np.radians(pts["lat"].mean())), 1.0]) * _EARTH_RADIUS_M
        line = shapely.LineString(np.radians(pts[["lon", "lat"]].to_numpy()) * scale)
        stops_xy = shapely.points(np.radians(group[["lon", "lat"]].to_numpy()) * scale)
        dist = shapely.distance(line, stops_xy)
        for stop, at, d in zip(group["stop"], group["line"], dist, strict=True):
            if d > STOP_SHAPE_MAX_M:
                rows.append(int(at))
                messages.append(
                    f"stop {stop!r} is {d:.0f} m from shape {shape!r} of a trip serving it "
                    f"(more than {STOP_SHAPE_MAX_M:.0f} m)"
                )
    out.add_many("stop_too_far_from_shape", "stop_times.txt", rows, "stop_id", messages)


def _check_frequencies(feed: gtfs_kit.Feed, out: _Collector) -> None:
    freq, file = feed.frequencies, "frequencies.txt"
    if feed.trips is not None:
        _check_reference(out, freq, file, "trip_id", _ids(feed.trips, "trip_id"), "trips.txt")
    start, end = parse_times(freq["start_time"]), parse_times(freq["end_time"])
    for name, t in (("start_time", start), ("end_time", end)):
        out.add_rows(
            "invalid_time", file, freq, t == -2, name,
            lambda r, name=name: f"unparsable time {r[name]!r} (expected H:MM:SS)",
        )  # fmt: skip
    headway = _number(freq, "headway_secs")
    out.add_rows(
        "number_out_of_range", file, freq, headway <= 0, "headway_secs",
        lambda r: f"trip {r['trip_id']!r}: headway_secs {r['headway_secs']} is not positive",
    )  # fmt: skip
    _check_enum(out, freq, file, "exact_times", (0, 1))
    ok = (start >= 0) & (end >= 0)
    out.add_rows(
        "start_and_end_range_out_of_order", file, freq, ok & (end < start), "end_time",
        lambda r: f"trip {r['trip_id']!r}: end_time {r['end_time']} is before start_time "
        f"{r['start_time']}",
    )  # fmt: skip
    out.add_rows(
        "start_and_end_range_equal", file, freq, ok & (end == start), "end_time",
        lambda r: f"trip {r['trip_id']!r}: start_time and end_time are both {r['start_time']}",
    )  # fmt: skip
    df = pd.DataFrame(
        {"trip": _text(freq, "trip_id").to_numpy(dtype=object), "start": start, "end": end}
    )
    df = df[ok & (end > start)].sort_values(["trip", "start"])
    overlap = df.index[(df["start"] < df.groupby("trip")["end"].shift(1)).to_numpy(bool)]
    mask = np.zeros(len(freq), dtype=bool)
    mask[overlap] = True
    out.add_rows(
        "overlapping_frequency", file, freq, mask, "start_time",
        lambda r: f"trip {r['trip_id']!r}: the period from {r['start_time']} overlaps an "
        "earlier one",
    )  # fmt: skip


def _check_transfers(feed: gtfs_kit.Feed, out: _Collector) -> None:
    transfers, file = feed.transfers, "transfers.txt"
    for prefix in ("from", "to"):
        _check_reference(out, transfers, file, f"{prefix}_stop_id", _ids(feed.stops, "stop_id"),
                         "stops.txt")  # fmt: skip
        _check_reference(out, transfers, file, f"{prefix}_trip_id", _ids(feed.trips, "trip_id"),
                         "trips.txt")  # fmt: skip
        _check_reference(out, transfers, file, f"{prefix}_route_id",
                         _ids(feed.routes, "route_id"), "routes.txt")  # fmt: skip
    _check_enum(out, transfers, file, "transfer_type", range(6))


# -- entry point --------------------------------------------------------------------------


def _as_date(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    return dt.datetime.strptime(str(value), "%Y%m%d").date()


def validate_feed(
    feed: gtfs_kit.Feed,
    area: BBox | tuple[float, float, float, float] | None = None,
    *,
    bbox: BBox | tuple[float, float, float, float] | None = None,
    today: dt.date | str | None = None,
) -> list[Problem]:
    """Check a feed and list its problems: errors first, then warnings, then infos.

    Parameters
    ----------
    feed
        A feed, typically from :func:`gtfs_import.read_feed` (line numbers assume its
        tables keep the files' row order, as ``read_feed`` does). It is not modified.
    area
        The territory as ``(min_lat, min_lon, max_lat, max_lon)``, e.g. the bounding box
        of the territory's communes with a margin. Stops outside are warned about
        (``stop_outside_area``); stops that fall inside once latitude and longitude are
        exchanged are errors (``stop_coordinates_swapped``). ``None``: no area check. The
        area is the caller's knowledge: guessed from the stops themselves, it would hide a
        feed that is wrong as a whole.
    bbox
        Former name of ``area``, kept for existing callers.
    today
        The date the expiry checks compare with (``expired_calendar``,
        ``feed_expiration_date7_days``...), as a date or ``YYYYMMDD``; today by default.

    Returns
    -------
    list[Problem]
        Empty for a clean feed. :data:`NOTICES` lists the codes; ``docs/gtfs-validation.md``
        explains them and what the importer does.
    """
    if bbox is not None:
        if area is not None:
            raise ValueError("give the territory once, as area= (bbox is its former name)")
        area = bbox
    box = None if area is None else BBox(*area)
    out = _Collector()
    usable = _check_structure(feed, out)
    if "agency" in usable:
        _check_agency(feed, out)
    if "routes" in usable:
        _check_routes(feed, out)
    if "stops" in usable:
        _check_stops(feed, box, out)
    _check_dates(feed, out)
    services = _ids(feed.calendar if "calendar" in usable else None, "service_id")
    services |= _ids(feed.calendar_dates if "calendar_dates" in usable else None, "service_id")
    days = _service_days(feed, usable)
    if services:
        _check_services(feed, days, services, _as_date(today), out)
    tr = None
    if {"stop_times", "stops", "trips"} <= usable:
        tr = _check_stop_times(feed, out)
        if "routes" in usable:
            _check_speeds(feed, tr, out)
    if {"trips", "routes"} <= usable:
        _check_trips(feed, tr, days, services, out)
    if "shapes" in usable:
        _check_shapes(feed, tr if "trips" in usable else None, out)
    if "frequencies" in usable:
        _check_frequencies(feed, out)
    if _table(feed, "transfers") is not None:
        _check_transfers(feed, out)
    return sorted(out.problems, key=lambda p: _SEVERITY_ORDER[p.severity])
