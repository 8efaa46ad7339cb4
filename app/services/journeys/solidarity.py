"""Volunteer rides door to door: a volunteer's planned trip (carpool), or a ride on request.

Times of volunteers' trips are published rounded, and both ends of every ride are generalised
places (see :mod:`.places`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..publication import round_time
from .geometry import haversine_m
from .limits import CARPOOL_WINDOW_S, MAX_SOLIDARITY_M
from .offers import match_offer
from .roads import Roads, drive_from
from .serialise import car_leg, finish, generalised_place, no_volunteer_notice
from .types import Availability, Generalise, JourneyQuery, OfferView, SearchResult
from .volunteers import volunteer_for_leg


def solidarity_itineraries(
    query: JourneyQuery,
    roads: Roads,
    offers: Sequence[OfferView],
    generalise: Generalise,
    booking: dict[str, Any] | None,
    tz: dt.tzinfo,
    result: SearchResult,
    availability: Availability | None = None,
    rounding_s: int = 0,
) -> None:
    """Add to ``result`` the volunteer trips that can take the rider, then a ride on request
    from the solidarity service when a volunteer is on call, within reach and free for it."""
    if haversine_m(query.origin, query.destination) > MAX_SOLIDARITY_M:
        result.notices.append(
            {"code": "too_far_for_solidarity", "message": "Volunteer rides are limited to 100 km."}
        )
        return
    drive_times = roads.times
    (ride_s,) = drive_from(drive_times, query.origin, [query.destination])
    if ride_s is None:
        result.notices.append(
            {"code": "no_road", "message": "No road route between the origin and the destination."}
        )
        return
    pickup, dropoff = (
        generalised_place(generalise(query.origin)),
        generalised_place(generalise(query.destination)),
    )
    day = query.when.astimezone(tz).date()
    for offer in offers:
        if query.wheelchair and not offer.wheelchair:
            continue
        m = match_offer(
            offer,
            query.origin,
            query.destination,
            query.when,
            drive_times,
            ride_s=ride_s,
            target_is_arrival=query.arrive_by,
            day=day,
            tz=tz,
        )
        if m is None:
            continue
        # Published times are rounded (a volunteer's times are never given to the minute),
        # down when the rider must arrive by a time.
        down = query.arrive_by
        pickup_at = round_time(m.pickup_at, rounding_s, down=down).astimezone(tz)
        dropoff_at = round_time(m.dropoff_at, rounding_s, down=down).astimezone(tz)
        if query.arrive_by:
            if (query.when - dropoff_at).total_seconds() > 2 * CARPOOL_WINDOW_S:
                continue
        elif abs((pickup_at - query.when).total_seconds()) > CARPOOL_WINDOW_S:
            continue
        leg = car_leg(pickup, dropoff, pickup_at, dropoff_at, booking, roads)
        leg["operator"] = "volunteer_trip"
        leg["seats"] = offer.seats
        it = finish([leg], 0)
        it["type"] = "carpool"
        if query.wheelchair:
            leg["wheelchair"] = it["wheelchair"] = "yes"
        result.itineraries.append(it)
    # A ride on request from the solidarity service, door to door, if a volunteer is on call.
    if query.arrive_by:
        arr = query.when.astimezone(tz)
        dep = arr - dt.timedelta(seconds=ride_s)
    else:
        dep = query.when.astimezone(tz)
        arr = dep + dt.timedelta(seconds=ride_s)
    # Someone on call for the ride's own times, within reach of the pickup, not booked then.
    if availability is not None:
        found = volunteer_for_leg(
            availability, roads, [query.origin], dep, arr, wheelchair=query.wheelchair
        )
        if found is None:
            result.notices.append(no_volunteer_notice())
            return
    leg = car_leg(pickup, dropoff, dep, arr, booking, roads)
    leg["operator"] = "solidarity_service"
    it = finish([leg], 0)
    if query.wheelchair:
        leg["wheelchair"] = it["wheelchair"] = "yes" if availability is not None else "unknown"
    result.itineraries.append(it)
