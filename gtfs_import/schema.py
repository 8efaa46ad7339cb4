"""One schema for the importer: column dtypes, sentinels and units.

Time convention
---------------
All times handled by the timetable and the router are integer **seconds elapsed since
"noon minus 12 h" of the timetable's base date** (``Timetable.base_date``, the first date
the timetable was built for) in the timetable's zone (``Timetable.timezone``): a real
clock, not a wall clock. GTFS defines a time ``t`` of service day ``D`` as "noon minus
12 h" of ``D`` in the agency's zone plus ``t``, so each run is placed with its own day's
origin (:mod:`gtfs_import.service_days`): on the days clocks change, consecutive service
days are 23 h or 25 h apart, not 86 400 s, and a feed in another zone lands on the same
clock. On an ordinary day a trip of the base date leaving at ``25:10:00`` is at ``90_600``
and the same trip on the next day at ``90_600 + 86_400``. Trips of the day *before* the
base date that run past midnight are included with negative start times, so that a
journey at 00:30 can use them. Use :func:`gtfs_import.seconds_at`,
:func:`gtfs_import.datetime_at` and :func:`gtfs_import.seconds_of` to convert.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Version of the ``.npz`` timetable format written by :func:`gtfs_import.save_timetable`.
TIMETABLE_FORMAT_VERSION: Final = 3

#: Seconds in an ordinary service day (not across a clock change: see the module docstring).
DAY_S: Final = 86_400

#: "No time" sentinel of the int32 time arrays (unreached stop, unknown time).
NO_TIME: Final = np.int32(np.iinfo(np.int32).max)

#: "No index" sentinel of the int32 index arrays (no parent station, no trip...).
NO_INDEX: Final = np.int32(-1)

#: dtype of every time array (seconds, see the module docstring).
TIME_DTYPE: Final = np.int32

#: dtype of every index array (stops, routes, trips, patterns, offsets).
INDEX_DTYPE: Final = np.int32

#: Tables without which a feed cannot be routed on.
REQUIRED_TABLES: Final = ("stops", "stop_times", "trips", "routes")

#: Columns that must be present in each required table.
REQUIRED_COLUMNS: Final = {
    "stops": ("stop_id",),
    "stop_times": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
    "trips": ("trip_id", "route_id", "service_id"),
    "routes": ("route_id", "route_type"),
    "calendar": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates": ("service_id", "date", "exception_type"),
}

#: Columns and dtypes of :func:`gtfs_import.stops_table`.
STOPS_TABLE_DTYPES: Final = {
    "stop_id": "string",
    "stop_code": "string",
    "name": "string",
    "lat": "float64",
    "lon": "float64",
    "location_type": "Int8",
    "parent_station": "string",
    "wheelchair_boarding": "Int8",
    "zone_id": "string",
}

#: Columns and dtypes of :func:`gtfs_import.routes_table`.
ROUTES_TABLE_DTYPES: Final = {
    "route_id": "string",
    "agency_id": "string",
    "agency_name": "string",
    "short_name": "string",
    "long_name": "string",
    "route_type": "Int16",
    "color": "string",
    "text_color": "string",
}

#: Walking defaults for transfers between nearby stops.
WALK_SPEED_KMH: Final = 4.5
WALK_DETOUR_FACTOR: Final = 1.3
MAX_TRANSFER_WALK_M: Final = 500.0
#: Minimum time to change vehicles, at one stop or between two stops of a station.
MIN_CHANGE_S: Final = 120
