"""One journey search from plain inputs: the query, the timetables, road times, volunteers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .limits import DEFAULT_MAX_VOLUNTEER_DRIVE_MIN
from .places import PlaceIndex
from .roads import DriveTimes, Roads
from .solidarity import solidarity_itineraries
from .transit import transit_itineraries
from .types import Availability, Generalise, JourneyQuery, OfferView, SearchResult


def search_journeys(
    query: JourneyQuery,
    *,
    transit: Any | None,
    drive_times: DriveTimes | Roads | None,
    offers: Sequence[OfferView] = (),
    generalise: Generalise | None = None,
    booking: dict[str, Any] | None = None,
    tz: dt.tzinfo = dt.UTC,
    availability: Availability | None = None,
    rounding_s: int = 0,
    max_volunteer_drive_s: int = DEFAULT_MAX_VOLUNTEER_DRIVE_MIN * 60,
) -> SearchResult:
    """All itineraries for a query, best first (earliest arrival, or latest departure).

    ``transit`` is a :class:`~app.services.transit.TransitService` (None: no lines);
    ``drive_times`` the road travel-time function (None: no volunteer options); ``offers``
    the active volunteer trips; ``generalise`` maps a point to the public place that stands
    for it; ``booking`` tells how to book a volunteer ride (the service's phone);
    ``availability`` the volunteers on call (None: not checked), without whom no ride on
    request nor drive to a station is offered; ``rounding_s`` the step volunteers' trip
    times are rounded to; ``max_volunteer_drive_s`` the most a volunteer drives with the rider
    in one combined journey (config ``JOURNEY_MAX_VOLUNTEER_DRIVE_MIN``).
    """
    result = SearchResult()
    gen = generalise or PlaceIndex([])
    roads = (
        drive_times if isinstance(drive_times, Roads) or drive_times is None else Roads(drive_times)
    )
    if transit is not None and transit.has_feeds and ({"transit", "combined"} & query.modes):
        transit_itineraries(
            query, transit, roads, gen, booking, result, availability, max_volunteer_drive_s
        )
    elif {"transit", "combined"} & query.modes:
        result.notices.append(
            {"code": "no_transit_data", "message": "The territory has no timetable."}
        )
    if roads is None and ({"solidarity", "combined"} & query.modes):
        result.notices.append(
            {
                "code": "road_routing_unavailable",
                "message": "Road travel times are unavailable: volunteer rides are not searched.",
            }
        )
    if roads is not None and "solidarity" in query.modes:
        solidarity_itineraries(
            query, roads, offers, gen, booking, tz, result, availability, rounding_s
        )
    if query.arrive_by:
        result.itineraries.sort(
            key=lambda it: (
                -dt.datetime.fromisoformat(it["departure"]).timestamp(),
                it["transfers"],
                it["walking_m"],
            )
        )
    else:
        result.itineraries.sort(
            key=lambda it: (
                dt.datetime.fromisoformat(it["arrival"]).timestamp(),
                it["transfers"],
                it["walking_m"],
            )
        )
    return result
