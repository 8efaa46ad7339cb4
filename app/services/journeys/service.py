"""The application's journey search: the active territory's timetables, road graph, public
places and volunteers, and the service's booking phone, from the Flask configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from ...errors import TerritoryNotBuilt
from ..publication import rounding_step_s
from ..runtime import loaded_territory
from ..transit import transit_service
from .limits import DEFAULT_MAX_VOLUNTEER_DRIVE_MIN
from .offers import load_offer_views, seats_left
from .places import PlaceIndex, cached_place_index
from .roads import app_roads
from .search import search_journeys
from .types import Availability, Generalise, JourneyQuery, OfferView, SearchResult
from .volunteers import load_availability


def service_booking() -> dict[str, Any]:
    """How the public books a volunteer ride: the solidarity service's phone."""
    rate = f"{float(current_app.config.get('COST_SHARE_EUR_PER_KM', 0.32)):.2f}".replace(".", ",")
    booking: dict[str, Any] = {
        "method": "phone",
        "phone": current_app.config.get("SERVICE_PHONE", ""),
        "conditions": (
            "Transport solidaire (transport d'utilité sociale) : réservé aux personnes éligibles, "
            f"trajets de 100 km au plus ; participation aux frais de {rate} € par km au plus."
        ),
    }
    url = current_app.config.get("PUBLIC_BASE_URL")
    if url:
        booking["url"] = url
    return booking


def find_journeys(query: JourneyQuery) -> SearchResult:
    """Search with the active territory's timetables, road graph, places and volunteer trips."""
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    try:
        service = transit_service()
        territory_name: str | None = loaded_territory().name
    except TerritoryNotBuilt:
        service, territory_name = None, None
    drive = app_roads()
    wants_volunteers = drive is not None and bool({"solidarity", "combined"} & query.modes)
    offers: list[OfferView] = []
    generalise: Generalise = PlaceIndex([])
    availability: Availability | None = None
    if wants_volunteers:
        local_day = query.when.astimezone(tz).date()
        # Legs may fall on the day before (arrive by) or after (a late train): their bookings.
        days = [local_day + dt.timedelta(days=k) for k in (-1, 0, 1)]
        availability = load_availability(tz, days)
        start = query.when - dt.timedelta(hours=3)
        end = query.when + dt.timedelta(hours=3)
        if "solidarity" in query.modes:
            offers = load_offer_views(kind="one_off", start=start, end=end) + load_offer_views(
                kind="regular"
            )
            offers = seats_left(offers, local_day)
        generalise = cached_place_index(territory_name)
    max_drive_min = current_app.config.get(
        "JOURNEY_MAX_VOLUNTEER_DRIVE_MIN", DEFAULT_MAX_VOLUNTEER_DRIVE_MIN
    )
    return search_journeys(
        query,
        transit=service,
        drive_times=drive,
        offers=offers,
        generalise=generalise,
        booking=service_booking(),
        tz=tz,
        availability=availability,
        rounding_s=rounding_step_s(),
        max_volunteer_drive_s=int(float(max_drive_min) * 60),
    )


#: The need page's public-transport alternative: journeys in this window before the appointment
#: (or after the earliest departure), at most this many.
ALTERNATIVE_WINDOW_S = 2 * 3600
ALTERNATIVE_COUNT = 3


def transit_alternative(need: Any) -> list[dict[str, Any]]:
    """Bus or train for a stored need (shown on its page): up to three journeys arriving in the
    two hours before the appointment (or leaving in the two hours after the earliest
    departure), walking at most the API's default distance, in a wheelchair when she needs one.
    Empty when there is none or the territory has no timetable."""
    from ...models import aware_utc

    origin, destination = need.pickup_lat_lon, need.dropoff_lat_lon
    when = aware_utc(need.requested_at)
    if origin is None or destination is None or when is None:
        return []
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    query = JourneyQuery(
        origin=origin,
        destination=destination,
        when=when.astimezone(tz),
        arrive_by=need.time_mode != "depart_after",
        modes=frozenset({"transit"}),
        wheelchair=bool(need.needs_wheelchair),
        window_s=ALTERNATIVE_WINDOW_S,
    )
    found = find_journeys(query).itineraries
    return [it for it in found if any(leg.get("trip_id") for leg in it["legs"])][:ALTERNATIVE_COUNT]
