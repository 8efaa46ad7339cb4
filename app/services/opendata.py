"""Open data out: the volunteers' regular trips and the solidarity service as a GTFS feed.

Each active regular trip of a cleared volunteer becomes a GTFS trip between two generalised
stops, the centres of the communes it starts from and goes to, on the weekdays it runs;
routes have route_type 1551 (carpooling, extended route types). Riders book through the
solidarity service: the agency's phone is the service's (config ``SERVICE_PHONE``), stop
times say "phone the agency" (pickup_type / drop_off_type 2) and point at a GTFS-Flex
``booking_rules.txt`` rule with that phone number. The solidarity service itself (rides on
request) is a route of the same agency, described with GTFS-Flex (:mod:`app.services.gtfs_flex`):
``locations.geojson`` commune zones, on-demand trips whose stop times carry pickup / drop-off
windows (the hours volunteers cover) and a booking rule of its own.

No personal data leaves: no names, phones, addresses or exact points; a trip is known only
by its communes, weekdays and time of day (:mod:`app.services.publication`). Only trips of
volunteers who consented are exported; a commune of fewer than
``OPENDATA_MIN_COMMUNE_POPULATION`` inhabitants is replaced by the nearest commune above that
threshold (in the same intercommunality when there is one), so that a commune pair and a time
do not single out the one volunteer of a hamlet; times are rounded to
``OPENDATA_TIME_ROUNDING_MIN`` minutes; trip, service and shape ids are numbers within the
feed, in the order of route and time, not database ids.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .gtfs_flex import FlexService, flex_tables
from .journeys import LatLon, OfferView, Roads, haversine_m
from .publication import (
    CommunePoint,
    commune_of,
    communes_from_db,
    populous_commune_of,
    round_seconds,
)

CARPOOL_ROUTE_TYPE = 1551
SOLIDARITY_ROUTE_ID = "solidaire"
BOOKING_RULE_ID = "reservation-telephone"
AGENCY_ID = "mobilite-solidaire-lot"
#: How far ahead the calendar of an open-ended regular trip runs.
HORIZON_DAYS = 182
#: How far ahead the on-demand service is published: volunteers' availability changes often.
FLEX_HORIZON_DAYS = 28
#: Fallback speed when the road graph cannot time a trip (straight line × 1.3).
FALLBACK_SPEED_M_S = 60 / 3.6


class NothingToPublish(LookupError):
    """Nothing can be published: no regular volunteer trip and no volunteer on call for the
    on-demand service (a GTFS feed needs at least one trip)."""


@dataclass(frozen=True)
class ServiceInfo:
    """Who publishes the feed and how riders book."""

    name: str
    url: str
    phone: str
    timezone: str
    lang: str = "fr"


def _gtfs_time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in columns})
    return buf.getvalue().encode("utf-8")


def build_gtfs(
    offers: Sequence[OfferView],
    communes: Sequence[CommunePoint],
    service: ServiceInfo,
    *,
    today: dt.date,
    roads: Roads | None = None,
    min_population: int = 0,
    rounding_s: int = 0,
    flex: FlexService | None = None,
) -> bytes:
    """The GTFS zip of the regular trips ``offers`` (kind ``regular``) and the solidarity service.

    Each end of a trip is its commune, or the nearest commune of at least ``min_population``
    inhabitants (:func:`~app.services.publication.populous_commune_of`). Trips whose two ends
    fall in the same commune, trips with an end no commune can stand for, and trips no longer
    valid are left out; with no trip left, :class:`NothingToPublish` is raised (a feed without
    trips is not GTFS). Times of day are local (``service.timezone``) and rounded to
    ``rounding_s``; the ride's duration comes from ``roads`` (between the commune centres) or,
    without it, from the straight line.

    With ``flex``, the solidarity route gets its on-demand trips (GTFS-Flex): one per served
    zone, window and weekday pattern, over the next ``FLEX_HORIZON_DAYS`` days, and the feed
    gains ``locations.geojson``. The feed is published when it has trips of either kind.
    """
    stops: dict[str, dict[str, Any]] = {}
    routes: dict[str, dict[str, Any]] = {
        SOLIDARITY_ROUTE_ID: {
            "route_id": SOLIDARITY_ROUTE_ID,
            "agency_id": AGENCY_ID,
            "route_short_name": "Solidaire",
            "route_long_name": "Transport solidaire par des conducteurs bénévoles, sur réservation",
            "route_desc": f"Trajets à la demande, réservés par téléphone au {service.phone}.",
            "route_type": CARPOOL_ROUTE_TYPE,
        },
    }
    trips, stop_times, calendar, shapes = [], [], [], []
    horizon = today + dt.timedelta(days=HORIZON_DAYS)
    published = []
    for offer in offers:
        if (
            offer.kind != "regular"
            or offer.time_of_day_s is None
            or not offer.weekdays
            or not communes
        ):
            continue
        start = max(today, offer.valid_from or today)
        end = min(horizon, offer.valid_until or horizon)
        if end < start:
            continue
        a, b = (
            populous_commune_of(communes, commune_of(communes, point), min_population)
            for point in (offer.origin, offer.destination)
        )
        if a is None or b is None or a.insee == b.insee:
            continue
        depart = round_seconds(offer.time_of_day_s, rounding_s)
        published.append(
            (a.insee, b.insee, depart, sorted(offer.weekdays), a, b, start, end, offer)
        )
    # Numbered in the order of route and time: an id says nothing of the database.
    published.sort(key=lambda x: x[:4])
    for number, (_, _, depart, _, a, b, start, end, offer) in enumerate(published, start=1):
        a_ll, b_ll = (a.lat, a.lon), (b.lat, b.lon)
        found = roads.route(a_ll, b_ll) if roads is not None and roads.route is not None else None
        if found is not None:
            ride_s, line = int(found[0]), [a_ll, *found[2], b_ll]
        else:
            ride_s, line = int(haversine_m(a_ll, b_ll) * 1.3 / FALLBACK_SPEED_M_S), [a_ll, b_ll]
        ride_s = max(round_seconds(ride_s, rounding_s), 60)
        for c in (a, b):
            stops.setdefault(
                c.insee,
                {
                    "stop_id": f"commune-{c.insee}",
                    "stop_name": c.name,
                    "stop_desc": "Centre de la commune (lieu de rendez-vous à convenir)",
                    "stop_lat": round(c.lat, 6),
                    "stop_lon": round(c.lon, 6),
                    "location_type": 0,
                },
            )
        route_id = f"covoiturage-{a.insee}-{b.insee}"
        routes.setdefault(
            route_id,
            {
                "route_id": route_id,
                "agency_id": AGENCY_ID,
                "route_short_name": f"Covoit. {len(routes)}",
                "route_long_name": f"{a.name} → {b.name}",
                "route_desc": "Trajet régulier d'un conducteur bénévole, place réservée par téléphone.",
                "route_type": CARPOOL_ROUTE_TYPE,
            },
        )
        trip_id = f"trajet-{number}"
        service_id = f"jours-{number}"
        shape_id = f"trace-{number}"
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        calendar.append(
            {
                "service_id": service_id,
                **{d: int(i in offer.weekdays) for i, d in enumerate(days)},
                "start_date": start.strftime("%Y%m%d"),
                "end_date": end.strftime("%Y%m%d"),
            }
        )
        trips.append(
            {
                "route_id": route_id,
                "service_id": service_id,
                "trip_id": trip_id,
                "trip_headsign": b.name,
                "direction_id": 0,
                "shape_id": shape_id,
            }
        )
        thin = _thin(line)
        total_km = sum(haversine_m(p, q) for p, q in zip(thin, thin[1:], strict=False)) / 1000
        for seq, (c, t, pickup, drop) in enumerate(
            ((a, depart, 2, 1), (b, depart + ride_s, 1, 2)), start=1
        ):
            stop_times.append(
                {
                    "trip_id": trip_id,
                    "arrival_time": _gtfs_time(t),
                    "departure_time": _gtfs_time(t),
                    "stop_id": f"commune-{c.insee}",
                    "stop_sequence": seq,
                    "pickup_type": pickup,
                    "drop_off_type": drop,
                    "timepoint": 0,
                    "shape_dist_traveled": round(0.0 if seq == 1 else total_km, 3),
                    "pickup_booking_rule_id": BOOKING_RULE_ID if pickup == 2 else None,
                    "drop_off_booking_rule_id": BOOKING_RULE_ID if drop == 2 else None,
                }
            )
        dist_km = 0.0
        prev = None
        for k, (lat, lon) in enumerate(thin, start=1):
            if prev is not None:
                dist_km += haversine_m(prev, (lat, lon)) / 1000
            prev = (lat, lon)
            shapes.append(
                {
                    "shape_id": shape_id,
                    "shape_pt_lat": round(lat, 6),
                    "shape_pt_lon": round(lon, 6),
                    "shape_pt_sequence": k,
                    "shape_dist_traveled": round(dist_km, 3),
                }
            )
    flex_part = (
        flex_tables(
            flex,
            route_id=SOLIDARITY_ROUTE_ID,
            start=today,
            end=today + dt.timedelta(days=FLEX_HORIZON_DAYS),
            phone=service.phone,
            url=service.url,
        )
        if flex is not None
        else None
    )
    if flex_part is not None and flex_part.trips:
        trips.extend(flex_part.trips)
        stop_times.extend(flex_part.stop_times)
        calendar.extend(flex_part.calendar)
    else:
        flex_part = None
    if not trips:
        raise NothingToPublish("no regular volunteer trip to publish yet")
    start_dates = [c["start_date"] for c in calendar] or [today.strftime("%Y%m%d")]
    end_dates = [c["end_date"] for c in calendar] or [horizon.strftime("%Y%m%d")]
    files = {
        "agency.txt": _csv(
            [
                {
                    "agency_id": AGENCY_ID,
                    "agency_name": service.name,
                    "agency_url": service.url,
                    "agency_timezone": service.timezone,
                    "agency_lang": service.lang,
                    "agency_phone": service.phone,
                }
            ],
            [
                "agency_id",
                "agency_name",
                "agency_url",
                "agency_timezone",
                "agency_lang",
                "agency_phone",
            ],
        ),
        "feed_info.txt": _csv(
            [
                {
                    "feed_publisher_name": service.name,
                    "feed_publisher_url": service.url,
                    "feed_lang": service.lang,
                    "feed_start_date": min(start_dates),
                    "feed_end_date": max(end_dates),
                    "feed_version": today.strftime("%Y%m%d"),
                    "feed_contact_url": service.url,
                }
            ],
            [
                "feed_publisher_name",
                "feed_publisher_url",
                "feed_lang",
                "feed_start_date",
                "feed_end_date",
                "feed_version",
                "feed_contact_url",
            ],
        ),
        "stops.txt": _csv(
            sorted(stops.values(), key=lambda s: s["stop_id"]),
            ["stop_id", "stop_name", "stop_desc", "stop_lat", "stop_lon", "location_type"],
        ),
        "routes.txt": _csv(
            list(routes.values()),
            [
                "route_id",
                "agency_id",
                "route_short_name",
                "route_long_name",
                "route_desc",
                "route_type",
            ],
        ),
        "trips.txt": _csv(
            trips,
            ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "shape_id"],
        ),
        "calendar.txt": _csv(
            calendar,
            [
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
            ],
        ),
        "stop_times.txt": _csv(
            stop_times,
            [
                "trip_id",
                "arrival_time",
                "departure_time",
                "stop_id",
                "stop_sequence",
                "pickup_type",
                "drop_off_type",
                "timepoint",
                "shape_dist_traveled",
                "pickup_booking_rule_id",
                "drop_off_booking_rule_id",
                # GTFS-Flex, last so that the classic columns keep their places.
                "location_id",
                "start_pickup_drop_off_window",
                "end_pickup_drop_off_window",
            ],
        ),
        "shapes.txt": _csv(
            shapes,
            [
                "shape_id",
                "shape_pt_lat",
                "shape_pt_lon",
                "shape_pt_sequence",
                "shape_dist_traveled",
            ],
        ),
        "booking_rules.txt": _csv(
            [
                *([flex_part.booking_rule] if flex_part is not None else []),
                {
                    "booking_rule_id": BOOKING_RULE_ID,
                    "booking_type": 2,
                    "prior_notice_last_day": 1,
                    "prior_notice_last_time": "17:00:00",
                    "phone_number": service.phone,
                    "info_url": service.url,
                    "message": "Réservez la veille avant 17 h auprès du service de mobilité solidaire.",
                },
            ],
            [
                "booking_rule_id",
                "booking_type",
                "prior_notice_last_day",
                "prior_notice_last_time",
                "prior_notice_start_day",
                "prior_notice_start_time",
                "phone_number",
                "info_url",
                "message",
                "pickup_message",
                "drop_off_message",
            ],
        ),
    }
    if flex_part is not None:
        files["locations.geojson"] = json.dumps(
            flex_part.locations, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(
                name, date_time=(2020, 1, 1, 0, 0, 0)
            )  # same bytes for the same data (ETag)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue()


def _thin(line: list[LatLon], max_points: int = 200) -> list[LatLon]:
    pts: list[LatLon] = []
    for p in line:
        if not pts or pts[-1] != p:
            pts.append(p)
    if len(pts) <= max_points:
        return pts
    step = (len(pts) - 1) / (max_points - 1)
    return [pts[round(k * step)] for k in range(max_points)]


def export_gtfs() -> bytes:
    """The GTFS zip of the application's regular volunteer trips and solidarity service."""
    from flask import current_app

    from .gtfs_flex import flex_service_from_app
    from .journeys import app_roads, load_offer_views
    from .publication import min_commune_population, rounding_step_s

    cfg = current_app.config
    url = (
        cfg.get("PUBLIC_BASE_URL")
        or f"https://{cfg.get('OPERATOR_DOMAIN', 'mobilite-solidaire.lot.fr')}"
    )
    info = ServiceInfo(
        name="Mobilité solidaire du Lot",
        url=url,
        phone=str(cfg.get("SERVICE_PHONE", "")),
        timezone=str(cfg.get("TIMEZONE", "Europe/Paris")),
    )
    from zoneinfo import ZoneInfo

    today = dt.datetime.now(ZoneInfo(info.timezone)).date()
    communes = communes_from_db()
    return build_gtfs(
        load_offer_views(kind="regular"),
        communes,
        info,
        today=today,
        roads=app_roads(),
        min_population=min_commune_population(),
        rounding_s=rounding_step_s(),
        flex=flex_service_from_app(
            communes,
            min_population=min_commune_population(),
            polygons_file=cfg.get("COMMUNE_POLYGONS_FILE") or None,
        ),
    )
