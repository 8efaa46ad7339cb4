"""GTFS importer and transit router of the solidarity mobility platform.

Read feeds (:func:`read_feed`), check them (:func:`validate_feed`), extract plain tables
(:func:`stops_table`, :func:`routes_table`), build routing arrays for some dates
(:func:`build_timetable`, saved with :func:`save_timetable`) and search journeys with
:class:`TransitRouter` (one instant, or a window of departures or arrivals: range
RAPTOR; trip and stop masks such as :meth:`TransitRouter.wheelchair_masks`; leg geometry
from ``shapes.txt``). Call :func:`warm_up` at start-up so that no request compiles. Times are seconds elapsed since "noon minus 12 h" of the
timetable's base date, each feed's service days read in its agency's time zone: see
:mod:`gtfs_import.schema`; convert with :func:`seconds_at`, :func:`datetime_at` and
:func:`seconds_of`.

This package never imports Flask, SQLAlchemy, ``app`` or ``matching``.
"""

from gtfs_import.errors import FeedError, QueryError, TimetableError
from gtfs_import.frequencies import frequency_runs
from gtfs_import.io import load_timetable, read_feed, save_timetable
from gtfs_import.router import Journey, Leg, TransitRouter
from gtfs_import.schema import TIMETABLE_FORMAT_VERSION
from gtfs_import.service_days import day_origin_s, feed_timezone
from gtfs_import.stations import normalise_name
from gtfs_import.tables import expand_calendar, feed_dates, parse_times, routes_table, stops_table
from gtfs_import.timetable import (
    Timetable,
    build_timetable,
    check_timetable,
    datetime_at,
    format_seconds,
    seconds_at,
    seconds_of,
)
from gtfs_import.validate import FRANCE_BBOX, LOT_BBOX, BBox, Problem, validate_feed
from gtfs_import.warm import warm_up

__all__ = [
    "FRANCE_BBOX",
    "LOT_BBOX",
    "TIMETABLE_FORMAT_VERSION",
    "BBox",
    "FeedError",
    "Journey",
    "Leg",
    "Problem",
    "QueryError",
    "Timetable",
    "TimetableError",
    "TransitRouter",
    "build_timetable",
    "check_timetable",
    "datetime_at",
    "day_origin_s",
    "expand_calendar",
    "feed_dates",
    "feed_timezone",
    "format_seconds",
    "frequency_runs",
    "load_timetable",
    "normalise_name",
    "parse_times",
    "read_feed",
    "routes_table",
    "save_timetable",
    "seconds_at",
    "seconds_of",
    "stops_table",
    "validate_feed",
    "warm_up",
]
