"""The French carpooling standard ("Standard covoiturage"), search routes, at /api/covoiturage/v1.

Only drivers' journeys and trips are served: riders and their needs are never listed. Every
result obeys the query: pickup within ``departureRadius`` km of the searched departure and
drop-off within ``arrivalRadius`` km of the searched arrival, pickup time within ``timeDelta``
seconds, at most ``count`` results, most relevant first.

Radius semantics: the rider is picked up at the searched departure and dropped at the searched
arrival (the volunteer makes the detour, checked on the road graph); when the volunteer's trip
does not allow that detour, the ends of her trip (centres of its communes, public places)
are tried as meeting points, if they lie within the radii. The first way that fits is kept, in
the order the rider walks least; a result outside the radii (+1 %) is never returned.

Volunteers' privacy (:mod:`app.services.publication`): only trips of volunteers who consented
are served; a trip is computed from the centre of its commune, not from the home, so that
``passengerPickupDate - driverDepartureDate`` is a road time from a public place; both dates
are rounded to ``OPENDATA_TIME_ROUNDING_MIN`` minutes (a result whose rounded pickup falls
outside ``timeDelta`` is left out); ids are fresh in every answer and the alias is the same
for every volunteer, so that nothing links one volunteer's trips across queries or days. An id
carries its pickup time (public in the same result), so that a booking can resolve it with the
HMAC key (:func:`app.services.partners.resolve_journey`) without a table of issued ids.

``webUrl`` is a deep link to the journey's public page (``/trajet/<id>``, app.web.partners),
which tells how to book it by phone or SMS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request

from ..services.journeys import (
    OfferMatch,
    OfferView,
    app_roads,
    drive_seconds,
    haversine_m,
    load_offer_views,
    match_offer,
)
from ..services.partners import journey_id
from ..services.publication import (
    PUBLIC_ALIAS,
    public_user_id,
    round_time,
    rounding_step_s,
)
from . import operations, standard_bp
from .errors import cacheable
from .schemas.fields import WEEKDAYS
from .schemas.standard import DriverJourneysQuery, DriverRegularTripsQuery

MAX_AGE_S = 60
#: The standard's tolerance on the radii (a conformance checker allows 1 %).
RADIUS_TOLERANCE = 1.01
#: Where a journey's deep link leads (app.web.partners.journey_page).
JOURNEY_PAGE = "/trajet/"

LatLon = tuple[float, float]


@standard_bp.get("/status", tags=[operations.STANDARD_TAG])
@standard_bp.doc(**operations.STATUS)
def status() -> Response:
    """Health of the carpooling-standard API (the standard asks for a plain 200)."""
    return jsonify({"status": "ok"})


def _common(args: dict[str, Any]) -> dict[str, Any]:
    """The search parameters common to both routes, as the matching below uses them."""
    return {
        "origin": (args["departureLat"], args["departureLng"]),
        "destination": (args["arrivalLat"], args["arrivalLng"]),
        "time_delta_s": args["timeDelta"],
        "departure_radius_km": args["departureRadius"],
        "arrival_radius_km": args["arrivalRadius"],
        "count": args.get("count"),
    }


def _user(operator: str) -> dict[str, Any]:
    return {"id": public_user_id(), "operator": operator, "alias": PUBLIC_ALIAS}


def _public_id(offer_id: int, pickup_ts: int) -> str:
    return journey_id(
        offer_id,
        pickup_ts,
        secret=str(current_app.config["SECRET_KEY"]),
        day=dt.datetime.now(dt.UTC).date(),
    )


def deep_link(public_id: str, pickup: LatLon, drop: LatLon) -> str:
    """The journey's public page (the standard's ``webUrl``), with the rider's two points."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/")
    query = urlencode(
        {"de": f"{pickup[0]:.5f},{pickup[1]:.5f}", "a": f"{drop[0]:.5f},{drop[1]:.5f}"}
    )
    # The path of app.web.partners.journey_page, spelt out: this blueprint does not depend on
    # the web one being registered.
    return f"{base}{JOURNEY_PAGE}{quote(public_id, safe='')}?{query}"


def _within(point: LatLon, centre: LatLon, radius_km: float) -> bool:
    return haversine_m(point, centre) <= radius_km * 1000 * RADIUS_TOLERANCE


def meeting_points(offer: OfferView, q: dict[str, Any]) -> list[tuple[LatLon, LatLon]]:
    """(pickup, drop-off) pairs a result may use, the rider walking least first.

    The searched points themselves, then the ends of the volunteer's trip (commune centres)
    that lie within ``departureRadius`` / ``arrivalRadius``.
    """
    pickups: list[LatLon] = [q["origin"]]
    if offer.origin != q["origin"] and _within(offer.origin, q["origin"], q["departure_radius_km"]):
        pickups.append(offer.origin)
    drops: list[LatLon] = [q["destination"]]
    if offer.destination != q["destination"] and _within(
        offer.destination, q["destination"], q["arrival_radius_km"]
    ):
        drops.append(offer.destination)
    pairs = [(p, d) for p in pickups for d in drops]
    # Walking of the rider: none, then the shorter walk first.
    return sorted(
        pairs,
        key=lambda pd: haversine_m(pd[0], q["origin"]) + haversine_m(pd[1], q["destination"]),
    )


def _match(
    offer: OfferView,
    q: dict[str, Any],
    target: dt.datetime,
    drive: Any,
    **day: Any,
) -> tuple[OfferMatch, LatLon, LatLon] | None:
    """The first meeting points at which the volunteer can take the rider, and the match."""
    for pickup, drop in meeting_points(offer, q):
        ride_s = drive_seconds(drive, pickup, drop)
        if ride_s is None:
            continue
        m = match_offer(offer, pickup, drop, target, drive, ride_s=ride_s, **day)
        if m is not None:
            return m, pickup, drop
    return None


def _schedule(m: OfferMatch, step_s: int, pickup: LatLon, drop: LatLon) -> dict[str, Any]:
    """The published times of a match: rounded, and from the commune centre."""
    at = int(round_time(m.pickup_at, step_s).timestamp())
    public_id = _public_id(m.offer.id, at)
    return {
        "id": public_id,
        "passengerPickupDate": at,
        "driverDepartureDate": int(round_time(m.driver_departure_at, step_s).timestamp()),
        "webUrl": deep_link(public_id, pickup, drop),
        "type": "PLANNED",
    }


def _trip_fields(
    offer: OfferView,
    pickup: LatLon,
    drop: LatLon,
    ride_s: int,
    distance_m: int | None,
    operator: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operator": operator,
        "passengerPickupLat": pickup[0],
        "passengerPickupLng": pickup[1],
        "passengerDropLat": drop[0],
        "passengerDropLng": drop[1],
        "duration": int(ride_s),
        "driver": _user(operator),
        "price": {"type": "UNKNOWN"},
        "availableSeats": int(offer.seats),
    }
    if distance_m is not None:
        # The rider's share of the costs, capped by law for social-utility transport.
        rate = float(current_app.config.get("COST_SHARE_EUR_PER_KM", 0.32))
        out["distance"] = distance_m
        out["price"] = {
            "type": "PAYING",
            "amount": round(distance_m / 1000 * rate, 2),
            "currency": "EUR",
        }
    return out


def _roads() -> tuple[Any, Any]:
    """The road-time function (memoised) and the route function of the engine, or Nones."""
    roads = app_roads()
    return (roads.times, roads.route) if roads is not None else (None, None)


def _distance_m(route: Any, pickup: LatLon, drop: LatLon) -> int | None:
    if route is None:
        return None
    found = route(pickup, drop)
    return int(found[1]) if found else None


def _conforms(item: dict[str, Any], q: dict[str, Any]) -> bool:
    """The standard's radius rule, checked on what is about to be published."""
    return _within(
        (item["passengerPickupLat"], item["passengerPickupLng"]),
        q["origin"],
        q["departure_radius_km"],
    ) and _within(
        (item["passengerDropLat"], item["passengerDropLng"]),
        q["destination"],
        q["arrival_radius_km"],
    )


@standard_bp.get("/driver_journeys", tags=[operations.STANDARD_TAG])
@standard_bp.arguments(DriverJourneysQuery, location="query")
@standard_bp.doc(**operations.DRIVER_JOURNEYS)
def driver_journeys(args: dict[str, Any]) -> Response:
    """One-off volunteer trips that can take the passenger around ``departureDate``."""
    q = _common(args)
    target = dt.datetime.fromtimestamp(args["departureDate"], dt.UTC)
    delta = dt.timedelta(seconds=int(q["time_delta_s"]))
    drive, route = _roads()
    operator = str(current_app.config.get("OPERATOR_DOMAIN", "mobilite-solidaire.lot.fr"))
    step_s = rounding_step_s()
    found: list[tuple[float, int, int, dict[str, Any]]] = []
    if drive is not None and q["count"] != 0:
        for offer in load_offer_views(kind="one_off", start=target - delta, end=target + delta):
            matched = _match(offer, q, target, drive)
            if matched is None:
                continue
            m, pickup, drop = matched
            times = _schedule(m, step_s, pickup, drop)
            gap = abs(times["passengerPickupDate"] - target.timestamp())
            if gap > delta.total_seconds():
                continue
            item = _trip_fields(
                m.offer, pickup, drop, m.ride_s, _distance_m(route, pickup, drop), operator
            )
            item.update(times)
            if _conforms(item, q):
                found.append((gap, m.detour_s, m.offer.id, item))
    found.sort(key=lambda x: (x[0], x[1], x[2]))
    out = [item for *_, item in found]
    if q["count"] is not None:
        out = out[: q["count"]]
    return cacheable(jsonify(out), MAX_AGE_S)


@standard_bp.get("/driver_regular_trips", tags=[operations.STANDARD_TAG])
@standard_bp.arguments(DriverRegularTripsQuery, location="query")
@standard_bp.doc(**operations.DRIVER_REGULAR_TRIPS)
def driver_regular_trips(args: dict[str, Any]) -> Response:
    """Regular volunteer trips that can take the passenger at ``departureTimeOfDay``."""
    q = _common(args)
    tod_s = args["departureTimeOfDay"]
    days = args["departureWeekdays"]
    min_date = args.get("minDepartureDate")
    max_date = args.get("maxDepartureDate")
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    drive, route = _roads()
    operator = str(current_app.config.get("OPERATOR_DOMAIN", "mobilite-solidaire.lot.fr"))
    wanted = {WEEKDAYS.index(d) for d in days}
    start = (
        dt.datetime.fromtimestamp(min_date, dt.UTC)
        if min_date is not None
        else dt.datetime.now(dt.UTC)
    )
    end = (
        dt.datetime.fromtimestamp(max_date, dt.UTC)
        if max_date is not None
        else start + dt.timedelta(days=28)
    )
    window = _Window(tod_s, wanted, int(q["time_delta_s"]), start, end, tz)
    results: list[tuple[int, int, int, dict[str, Any]]] = []
    if drive is not None and q["count"] != 0:
        for offer in load_offer_views(kind="regular"):
            trip = _regular_trip(offer, q, window, drive, route, operator)
            if trip is not None and _conforms(trip[3], q):
                results.append(trip)
    results.sort(key=lambda x: (x[0], x[1], x[2]))
    items = [r[3] for r in results]
    if q["count"] is not None:
        items = items[: q["count"]]
    return cacheable(jsonify(items), MAX_AGE_S)


class _Window:
    """What a regular-trip search asks for: time of day, weekdays, margin, dates, zone."""

    def __init__(
        self,
        tod_s: int,
        weekdays: set[int],
        delta_s: int,
        start: dt.datetime,
        end: dt.datetime,
        tz: ZoneInfo,
    ) -> None:
        self.tod_s, self.weekdays, self.delta_s = tod_s, weekdays, delta_s
        self.start, self.end, self.tz = start, end, tz


def _regular_trip(
    offer: OfferView,
    q: dict[str, Any],
    w: _Window,
    drive: Any,
    route: Any,
    operator: str,
) -> tuple[int, int, int, dict[str, Any]] | None:
    """(gap, detour, offer id, trip) on the wanted weekdays, or None when it does not fit.

    The meeting points are those of the first day that fits; every schedule uses them.
    """
    days = sorted(offer.weekdays & w.weekdays)
    if not days or offer.time_of_day_s is None:
        return None
    step_s = rounding_step_s()
    schedules: list[dict[str, Any]] = []
    gap = None
    detour = 0
    chosen: tuple[LatLon, LatLon] | None = None
    ride_s = 0
    for weekday in days:
        journeys: list[dict[str, Any]] = []
        day = w.start.astimezone(w.tz).date()
        day += dt.timedelta(days=(weekday - day.weekday()) % 7)
        while len(journeys) < 4:
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=w.tz)
            if noon - dt.timedelta(hours=12) > w.end:
                break
            target = dt.datetime.combine(day, dt.time(), tzinfo=w.tz) + dt.timedelta(
                seconds=w.tod_s
            )
            fixed = {**q, "departure_radius_km": 0.0, "arrival_radius_km": 0.0}
            if chosen is not None:
                fixed["origin"], fixed["destination"] = chosen
            matched = _match(offer, q if chosen is None else fixed, target, drive, day=day, tz=w.tz)
            if matched is None:  # not on that day (validity period), or too long a detour
                day += dt.timedelta(days=7)
                continue
            m, pickup, drop = matched
            times = _schedule(m, step_s, pickup, drop)
            at = times["passengerPickupDate"]
            this_gap = abs(int(at - target.timestamp()))
            if this_gap <= w.delta_s and w.start.timestamp() <= at <= w.end.timestamp():
                chosen = chosen or (pickup, drop)
                gap = this_gap if gap is None else min(gap, this_gap)
                detour, ride_s = m.detour_s, m.ride_s
                journeys.append(times)
            day += dt.timedelta(days=7)
        if journeys:
            first = dt.datetime.fromtimestamp(journeys[0]["passengerPickupDate"], w.tz)
            schedules.append(
                {
                    "passengerPickupDay": WEEKDAYS[weekday],
                    "passengerPickupTimeOfDay": first.strftime("%H:%M:%S"),
                    "journeySchedules": journeys,
                }
            )
    if not schedules or gap is None or chosen is None:
        return None
    pickup, drop = chosen
    trip = _trip_fields(offer, pickup, drop, ride_s, _distance_m(route, pickup, drop), operator)
    trip["id"] = _public_id(offer.id, 0)
    trip["webUrl"] = schedules[0]["journeySchedules"][0]["webUrl"]
    trip["schedules"] = schedules
    return gap, detour, offer.id, trip


from . import standard_booking  # noqa: E402,F401  (the booking routes register on standard_bp)
