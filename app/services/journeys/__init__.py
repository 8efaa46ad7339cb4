"""Journey search for open-data consumers: trains and buses, volunteer rides, and both combined.

Three kinds of itineraries answer one query (origin, destination, time):

* ``transit``: walk, ride the territory's lines (RAPTOR over its GTFS feeds), walk;
* ``carpool`` and ``solidarity``: a volunteer's planned trip that can take the rider on a small
  detour (an active :class:`~app.models.DriverOffer`), or a ride on request from the solidarity
  service, booked by phone;
* ``combined``: a volunteer drives the rider to a station or stop (first mile) or from it
  (last mile), and the train or bus does the rest.

What leaves this package is meant for the public: no volunteer's name, phone or home; a
rider is picked up at a generalised place (town hall, station, commune), the exact meeting
point being agreed with the service. Volunteers appear only with their recorded consent, their
trips as if they went from commune centre to commune centre, their times rounded (the rules are
in :mod:`app.services.publication`).

Road travel times come from the matching engine through :mod:`app.services.matching` as a
:data:`DriveTimes` function; without it, volunteer options are left out and a notice says so.

The modules, each importing only those before it:

* :mod:`.limits`, :mod:`.geometry`, :mod:`.types`: bounds, distances, the plain values;
* :mod:`.roads`: the engine's road times made safe and memoised;
* :mod:`.serialise`: itineraries and legs as JSON-ready dicts;
* :mod:`.offers`, :mod:`.volunteers`, :mod:`.places`, :mod:`.stops`: volunteers' trips, the
  volunteers on call, public places, stations (each with what loads it);
* :mod:`.solidarity`, :mod:`.combined`, :mod:`.transit`, :mod:`.search`: the search itself;
* :mod:`.service`: the Flask-facing entry, :func:`find_journeys`.
"""

from __future__ import annotations

from .geometry import EARTH_RADIUS_M, LatLon, haversine_m
from .limits import (
    CARPOOL_WINDOW_S,
    DEFAULT_MAX_VOLUNTEER_DRIVE_MIN,
    FIRST_MILE_BUFFER_S,
    LAST_MILE_BUFFER_S,
    MAX_DRIVE_STATIONS,
    MAX_DRIVE_TO_STOP_M,
    MAX_SOLIDARITY_M,
    MAX_WALK_LIMIT_M,
    MAX_WALK_M,
    MODES,
    NEAREST_DRIVE_STATIONS,
    VOLUNTEER_ROUNDS,
    WALK_SPEED_M_S,
)
from .offers import load_offer_views, match_offer, seats_left
from .places import PUBLIC_PLACE_KINDS, PlaceIndex, cached_place_index, place_index_from_db
from .roads import (
    MAX_PLAUSIBLE_SPEED_M_S,
    SNAP_TOLERANCE_M,
    DriveLengths,
    DriveRoute,
    DriveTimes,
    DriveTimesTo,
    Roads,
    app_roads,
    drive_seconds,
    memoised,
    memoised_route,
    road_drive_times,
)
from .search import search_journeys
from .serialise import transit_mode
from .service import find_journeys, service_booking, transit_alternative
from .types import (
    Availability,
    Generalise,
    Interval,
    JourneyQuery,
    JourneyQueryError,
    OfferMatch,
    OfferView,
    PlaceRef,
    SearchResult,
    VolunteerView,
)
from .volunteers import (
    REACH_ROAD_SPEED_KMH,
    anyone_within_reach,
    busy_by_driver,
    load_availability,
    volunteer_for_leg,
)

__all__ = [
    "CARPOOL_WINDOW_S",
    "DEFAULT_MAX_VOLUNTEER_DRIVE_MIN",
    "EARTH_RADIUS_M",
    "FIRST_MILE_BUFFER_S",
    "LAST_MILE_BUFFER_S",
    "MAX_DRIVE_STATIONS",
    "MAX_DRIVE_TO_STOP_M",
    "MAX_PLAUSIBLE_SPEED_M_S",
    "MAX_SOLIDARITY_M",
    "MAX_WALK_LIMIT_M",
    "MAX_WALK_M",
    "MODES",
    "NEAREST_DRIVE_STATIONS",
    "PUBLIC_PLACE_KINDS",
    "REACH_ROAD_SPEED_KMH",
    "SNAP_TOLERANCE_M",
    "VOLUNTEER_ROUNDS",
    "WALK_SPEED_M_S",
    "Availability",
    "DriveLengths",
    "DriveRoute",
    "DriveTimes",
    "DriveTimesTo",
    "Generalise",
    "Interval",
    "JourneyQuery",
    "JourneyQueryError",
    "LatLon",
    "OfferMatch",
    "OfferView",
    "PlaceIndex",
    "PlaceRef",
    "Roads",
    "SearchResult",
    "VolunteerView",
    "anyone_within_reach",
    "app_roads",
    "busy_by_driver",
    "cached_place_index",
    "drive_seconds",
    "find_journeys",
    "transit_alternative",
    "haversine_m",
    "load_availability",
    "load_offer_views",
    "match_offer",
    "memoised",
    "memoised_route",
    "place_index_from_db",
    "road_drive_times",
    "search_journeys",
    "seats_left",
    "service_booking",
    "transit_mode",
    "volunteer_for_leg",
]
