"""Volunteers' planned trips: loading them for the public, and whether one can take a rider.

A trip is loaded as an :class:`OfferView` whose ends are the centres of their communes, so
that nothing computed from it depends on the volunteer's home; :func:`match_offer` then says
whether the trip can pick the rider up and drop her off within its detour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy.orm import contains_eager

from ...extensions import db
from ...models import Driver, DriverOffer
from ..publication import CommunePoint, cached_communes, commune_of
from .geometry import LatLon
from .roads import DriveTimes, drive_from
from .types import OfferMatch, OfferView

#: Most trips a search reads (of one kind).
MAX_OFFERS_LOADED = 2000


def match_offer(
    offer: OfferView,
    origin: LatLon,
    destination: LatLon,
    target: dt.datetime,
    drive_times: DriveTimes,
    *,
    ride_s: int,
    target_is_arrival: bool = False,
    day: dt.date | None = None,
    tz: dt.tzinfo | None = None,
) -> OfferMatch | None:
    """Whether a volunteer's trip can take the rider along, and when.

    The driver leaves the trip's origin A within its window, picks the rider up at
    ``origin``, drops them at ``destination`` and drives on to the trip's destination B; the
    added time must fit the offer's ``max_detour_s``. The pickup (or, with
    ``target_is_arrival``, the drop-off, never later than ``target``) is as close to
    ``target`` as the window allows. Regular trips are taken on ``day`` (local, ``tz``).
    """
    window = departure_window(offer, day, tz)
    if window is None or offer.seats < 1:
        return None
    earliest, latest = window
    a_o, a_b = drive_from(drive_times, offer.origin, [origin, offer.destination])
    (d_b,) = drive_from(drive_times, destination, [offer.destination])
    if a_o is None or a_b is None or d_b is None:
        return None
    detour = a_o + ride_s + d_b - a_b
    if detour > offer.max_detour_s:
        return None
    if target_is_arrival:
        leave = min(latest, target - dt.timedelta(seconds=a_o + ride_s))
        if leave < earliest:
            return None
    else:
        leave = min(max(target - dt.timedelta(seconds=a_o), earliest), latest)
    pickup = leave + dt.timedelta(seconds=a_o)
    return OfferMatch(
        offer, leave, pickup, pickup + dt.timedelta(seconds=ride_s), ride_s, max(0, detour)
    )


def departure_window(
    offer: OfferView, day: dt.date | None, tz: dt.tzinfo | None
) -> tuple[dt.datetime, dt.datetime] | None:
    """When the volunteer may leave: a one-off trip's window, or a regular trip's time of day
    ± its flexibility on ``day`` (local, ``tz``); None when the trip does not run then."""
    if offer.kind == "regular":
        if (
            day is None
            or tz is None
            or offer.time_of_day_s is None
            or day.weekday() not in offer.weekdays
        ):
            return None
        if (offer.valid_from and day < offer.valid_from) or (
            offer.valid_until and day > offer.valid_until
        ):
            return None
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(
            seconds=offer.time_of_day_s
        )
        flex = dt.timedelta(seconds=offer.flexibility_s)
        return start - flex, start + flex
    if offer.departure_earliest is None:
        return None
    return offer.departure_earliest, offer.departure_latest or offer.departure_earliest


def load_offer_views(
    *, kind: str, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[OfferView]:
    """Active trips of cleared, active drivers who consented to publication, for the public.

    One-off trips are those within [start, end]. Each trip's ends are replaced by the centres
    of their communes, so that nothing computed from it depends on the volunteer's home.
    One query, whatever the number of trips: each trip's driver comes with it, and her
    availability grid (not needed here) is not read.
    """
    communes = cached_communes()
    if not communes:  # nothing to generalise to: publish nothing rather than homes
        return []
    q = (
        db.session.query(DriverOffer)
        .join(Driver)
        .options(contains_eager(DriverOffer.driver).lazyload(Driver.availability))
        .filter(
            DriverOffer.status == "active",
            DriverOffer.kind == kind,
            Driver.active.is_(True),
            Driver.publish_consent_at.is_not(None),
        )
    )
    if kind == "one_off" and start is not None and end is not None:
        # Wide on purpose: SQLite compares timestamps as text; the exact window is checked later.
        q = q.filter(
            DriverOffer.departure_earliest <= end + dt.timedelta(hours=3),
            DriverOffer.departure_earliest >= start - dt.timedelta(days=1),
        )
    today = dt.date.today()
    centre = _commune_centres(communes)
    out = []
    for offer in q.order_by(DriverOffer.id).limit(MAX_OFFERS_LOADED):
        driver = offer.driver
        origin, destination = offer.origin_lat_lon, offer.destination_lat_lon
        if not driver.is_cleared_on(today) or origin is None or destination is None:
            continue
        weekdays = frozenset(
            int(x) for x in (offer.weekdays or "").split(",") if x.strip().isdigit()
        )
        tod = None
        if offer.time_of_day:
            h, _, m = offer.time_of_day.partition(":")
            tod = int(h) * 3600 + int(m or 0) * 60
        out.append(
            OfferView(
                id=offer.id,
                kind=offer.kind,
                origin=centre(origin),
                destination=centre(destination),
                seats=offer.seats,
                max_detour_s=offer.max_detour_min * 60,
                departure_earliest=as_utc(offer.departure_earliest),
                departure_latest=as_utc(offer.departure_latest),
                weekdays=weekdays,
                time_of_day_s=tod,
                flexibility_s=offer.flexibility_min * 60,
                valid_from=offer.valid_from.date() if offer.valid_from else None,
                valid_until=offer.valid_until.date() if offer.valid_until else None,
                wheelchair=bool(driver.wheelchair_accessible),
            )
        )
    return out


def _commune_centres(communes: Sequence[CommunePoint]) -> Callable[[LatLon], LatLon]:
    """``point -> centre of its commune``, remembering points (trips share homes and towns)."""
    seen: dict[LatLon, LatLon] = {}

    def centre(point: LatLon) -> LatLon:
        found = seen.get(point)
        if found is None:
            c = commune_of(communes, point)
            found = seen[point] = (c.lat, c.lon)
        return found

    return centre


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` with its zone, UTC when the database dropped it (SQLite)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def seats_left(offers: list[OfferView], day: dt.date) -> list[OfferView]:
    """Volunteer trips with the seats already booked on ``day`` taken off (full ones dropped)."""
    from ..matching import bookings_on

    taken: dict[int, int] = {}
    for b in bookings_on(day):
        if b.offer_id is not None:
            taken[b.offer_id] = taken.get(b.offer_id, 0) + b.passengers
    out = []
    for offer in offers:
        seats = offer.seats - taken.get(offer.id, 0)
        if seats >= 1:
            out.append(replace(offer, seats=seats) if seats != offer.seats else offer)
    return out
