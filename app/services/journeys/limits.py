"""The journey search's modes and bounds: walking, driving to stations, volunteer trips."""

from __future__ import annotations

#: The kinds of itineraries a query may ask for (``carpool`` trips come with ``solidarity``).
MODES = ("transit", "solidarity", "combined")
WALK_SPEED_M_S = 4.5 / 3.6
#: Walking to or from a stop, straight line (the router adds a detour factor).
MAX_WALK_M = 1200.0
#: Greatest ``max_walk_m`` a query may ask for (beyond it, a drive to the station is the offer).
MAX_WALK_LIMIT_M = 5000.0
#: Stations a volunteer may drive a rider to or from, straight line.
MAX_DRIVE_TO_STOP_M = 30_000.0
#: At most this many stations (grouped by parent station) are tried for a drive: the
#: :data:`NEAREST_DRIVE_STATIONS` nearest, then the busiest (departures per day).
MAX_DRIVE_STATIONS = 12
NEAREST_DRIVE_STATIONS = 3
#: Rounds of search when drives to stations turn out to have no volunteer at their time.
VOLUNTEER_ROUNDS = 3
#: Rider dropped at the station this long before the train; picked up this long after arrival.
FIRST_MILE_BUFFER_S = 600
LAST_MILE_BUFFER_S = 300
#: "Transport d'utilité sociale" trips are at most 100 km.
MAX_SOLIDARITY_M = 100_000.0
#: Volunteer trips offered around the requested time.
CARPOOL_WINDOW_S = 1800
#: Default bound on a volunteer's driving with the rider in one journey (config
#: ``JOURNEY_MAX_VOLUNTEER_DRIVE_MIN``).
DEFAULT_MAX_VOLUNTEER_DRIVE_MIN = 45
