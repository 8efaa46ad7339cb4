"""The French carpooling standard ("Standard covoiturage"), search routes, at /api/covoiturage/v1.

Only drivers' journeys and trips are served: riders and their needs are never listed. Every
result obeys the query: pickup within ``departureRadius`` km of the searched departure and
drop-off within ``arrivalRadius`` km of the searched arrival (the rider is picked up and
dropped at the searched points, the volunteer making the detour, checked on the road graph),
pickup time within ``timeDelta`` seconds, at most ``count`` results, most relevant first.

Volunteers' privacy (:mod:`app.services.publication`): only trips of volunteers who consented
are served; a trip is computed from the centre of its commune, not from the home, so that
``passengerPickupDate - driverDepartureDate`` is a road time from a public place; both dates
are rounded to ``OPENDATA_TIME_ROUNDING_MIN`` minutes (a result whose rounded pickup falls
outside ``timeDelta`` is left out); ids are fresh in every answer and the alias is the same
for every volunteer, so that nothing links one volunteer's trips across queries or days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, request

from ..services.journeys import (
    OfferMatch,
    OfferView,
    app_roads,
    drive_seconds,
    load_offer_views,
    match_offer,
)
from ..services.publication import (
    PUBLIC_ALIAS,
    public_journey_id,
    public_user_id,
    round_time,
    rounding_step_s,
)
from . import params, standard_bp
from .errors import ParameterError, cacheable

MAX_AGE_S = 60
MAX_TIME_DELTA_S = 7 * 86_400
MAX_RADIUS_KM = 100.0


@standard_bp.get("/status")
def status() -> Response:
    """Health of the carpooling-standard API (the standard asks for a plain 200)."""
    return jsonify({"status": "ok"})


def _common(args: Any) -> dict[str, Any]:
    return {
        "origin": (
            params.number(args, "departureLat", minimum=-90, maximum=90),
            params.number(args, "departureLng", minimum=-180, maximum=180),
        ),
        "destination": (
            params.number(args, "arrivalLat", minimum=-90, maximum=90),
            params.number(args, "arrivalLng", minimum=-180, maximum=180),
        ),
        "time_delta_s": params.integer(
            args, "timeDelta", default=900, minimum=0, maximum=MAX_TIME_DELTA_S
        ),
        "departure_radius_km": params.number(
            args, "departureRadius", default=1.0, minimum=0, maximum=MAX_RADIUS_KM
        ),
        "arrival_radius_km": params.number(
            args, "arrivalRadius", default=1.0, minimum=0, maximum=MAX_RADIUS_KM
        ),
        "count": params.integer(args, "count", minimum=0, maximum=1000),
    }


def _user(operator: str) -> dict[str, Any]:
    return {"id": public_user_id(), "operator": operator, "alias": PUBLIC_ALIAS}


def _public_id(offer_id: int, pickup_ts: int) -> str:
    return public_journey_id(
        offer_id,
        pickup_ts,
        secret=str(current_app.config["SECRET_KEY"]),
        day=dt.datetime.now(dt.UTC).date(),
    )


def _schedule(m: OfferMatch, step_s: int) -> dict[str, Any]:
    """The published times of a match: rounded, and from the commune centre."""
    pickup = int(round_time(m.pickup_at, step_s).timestamp())
    return {
        "id": _public_id(m.offer.id, pickup),
        "passengerPickupDate": pickup,
        "driverDepartureDate": int(round_time(m.driver_departure_at, step_s).timestamp()),
        "type": "PLANNED",
    }


def _trip_fields(
    offer: OfferView, q: dict[str, Any], ride_s: int, distance_m: int | None, operator: str
) -> dict[str, Any]:
    (plat, plng), (dlat, dlng) = q["origin"], q["destination"]
    out: dict[str, Any] = {
        "operator": operator,
        "passengerPickupLat": plat,
        "passengerPickupLng": plng,
        "passengerDropLat": dlat,
        "passengerDropLng": dlng,
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
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        out["webUrl"] = base
    return out


def _roads() -> tuple[Any, Any]:
    """The road-time function (memoised) and the route function of the engine, or Nones."""
    roads = app_roads()
    return (roads.times, roads.route) if roads is not None else (None, None)


def _distance_m(route: Any, q: dict[str, Any], ride_s: int | None) -> int | None:
    if route is None or ride_s is None:
        return None
    found = route(q["origin"], q["destination"])
    return int(found[1]) if found else None


def _ride_s(q: dict[str, Any], drive: Any) -> int | None:
    return None if drive is None else drive_seconds(drive, q["origin"], q["destination"])


@standard_bp.get("/driver_journeys")
def driver_journeys() -> Response:
    """One-off volunteer trips that can take the passenger around ``departureDate``."""
    args = request.args
    q = _common(args)
    departure = params.integer(
        args, "departureDate", required=True, minimum=params.MIN_UNIX_S, maximum=params.MAX_UNIX_S
    )
    target = dt.datetime.fromtimestamp(int(departure or 0), dt.UTC)
    delta = dt.timedelta(seconds=int(q["time_delta_s"]))
    drive, route = _roads()
    ride_s = _ride_s(q, drive)
    distance_m = _distance_m(route, q, ride_s)
    operator = str(current_app.config.get("OPERATOR_DOMAIN", "mobilite-solidaire.lot.fr"))
    step_s = rounding_step_s()
    found: list[tuple[float, int, int, OfferMatch, dict[str, Any]]] = []
    if drive is not None and ride_s is not None and q["count"] != 0:
        for offer in load_offer_views(kind="one_off", start=target - delta, end=target + delta):
            m = match_offer(offer, q["origin"], q["destination"], target, drive, ride_s=ride_s)
            if m is None:
                continue
            times = _schedule(m, step_s)
            gap = abs(times["passengerPickupDate"] - target.timestamp())
            if gap <= delta.total_seconds():
                found.append((gap, m.detour_s, m.offer.id, m, times))
    found.sort(key=lambda x: (x[0], x[1], x[2]))
    out = []
    for _, _, _, m, times in found[: q["count"]] if q["count"] is not None else found:
        item = _trip_fields(m.offer, q, m.ride_s, distance_m, operator)
        item.update(times)
        out.append(item)
    return cacheable(jsonify(out), MAX_AGE_S)


@standard_bp.get("/driver_regular_trips")
def driver_regular_trips() -> Response:
    """Regular volunteer trips that can take the passenger at ``departureTimeOfDay``."""
    args = request.args
    q = _common(args)
    tod_s = params.time_of_day(args, "departureTimeOfDay")
    days = params.csv_choices(args, "departureWeekdays", params.WEEKDAYS, upper=True)
    min_date = params.integer(
        args, "minDepartureDate", minimum=params.MIN_UNIX_S, maximum=params.MAX_UNIX_S
    )
    max_date = params.integer(
        args, "maxDepartureDate", minimum=params.MIN_UNIX_S, maximum=params.MAX_UNIX_S
    )
    if min_date is not None and max_date is not None and min_date > max_date:
        raise ParameterError(
            "minDepartureDate", "parameter 'minDepartureDate' is after 'maxDepartureDate'"
        )
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    drive, route = _roads()
    ride_s = _ride_s(q, drive)
    distance_m = _distance_m(route, q, ride_s)
    operator = str(current_app.config.get("OPERATOR_DOMAIN", "mobilite-solidaire.lot.fr"))
    delta_s = int(q["time_delta_s"])
    wanted = {params.WEEKDAYS.index(d) for d in days}
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
    results: list[tuple[int, int, int, dict[str, Any]]] = []
    if drive is not None and ride_s is not None and q["count"] != 0:
        for offer in load_offer_views(kind="regular"):
            trip = _regular_trip(
                offer,
                q,
                tod_s,
                wanted,
                delta_s,
                start,
                end,
                tz,
                drive,
                ride_s,
                operator,
                distance_m,
            )
            if trip is not None:
                results.append(trip)
    results.sort(key=lambda x: (x[0], x[1], x[2]))
    items = [r[3] for r in results]
    if q["count"] is not None:
        items = items[: q["count"]]
    return cacheable(jsonify(items), MAX_AGE_S)


def _regular_trip(
    offer: OfferView,
    q: dict[str, Any],
    tod_s: int,
    wanted: set[int],
    delta_s: int,
    start: dt.datetime,
    end: dt.datetime,
    tz: ZoneInfo,
    drive: Any,
    ride_s: int,
    operator: str,
    distance_m: int | None = None,
) -> tuple[int, int, int, dict[str, Any]] | None:
    """(gap, detour, offer id, trip) on the wanted weekdays, or None when it does not fit."""
    days = sorted(offer.weekdays & wanted)
    if not days or offer.time_of_day_s is None:
        return None
    step_s = rounding_step_s()
    schedules = []
    gap = None
    detour = 0
    for weekday in days:
        journeys = []
        day = start.astimezone(tz).date()
        day += dt.timedelta(days=(weekday - day.weekday()) % 7)
        while len(journeys) < 4:
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz)
            if noon - dt.timedelta(hours=12) > end:
                break
            target = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(seconds=tod_s)
            m = match_offer(
                offer, q["origin"], q["destination"], target, drive, ride_s=ride_s, day=day, tz=tz
            )
            if m is None:  # not on that day (validity period), or too long a detour
                day += dt.timedelta(days=7)
                continue
            times = _schedule(m, step_s)
            pickup = times["passengerPickupDate"]
            this_gap = abs(int(pickup - target.timestamp()))
            if this_gap <= delta_s and start.timestamp() <= pickup <= end.timestamp():
                gap = this_gap if gap is None else min(gap, this_gap)
                detour = m.detour_s
                journeys.append(times)
            day += dt.timedelta(days=7)
        if journeys:
            first = dt.datetime.fromtimestamp(journeys[0]["passengerPickupDate"], tz)
            schedules.append(
                {
                    "passengerPickupDay": ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[
                        weekday
                    ],
                    "passengerPickupTimeOfDay": first.strftime("%H:%M:%S"),
                    "journeySchedules": journeys,
                }
            )
    if not schedules or gap is None:
        return None
    trip = _trip_fields(offer, q, ride_s, distance_m, operator)
    trip["id"] = _public_id(offer.id, 0)
    trip["schedules"] = schedules
    return gap, detour, offer.id, trip
