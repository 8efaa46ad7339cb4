"""Volunteers on call, and whether one can drive a leg: at the leg's time, within reach, free.

A volunteer leg (the solidarity service's ride on request, or the drive to or from a station
of a combined itinerary) is offered only when one volunteer

* is on call (weekday × slot grid) when the leg starts and when it ends, the leg's own times
  rather than the query's instant;
* reaches both ends of the leg from home within her ``max_distance_m``: straight line first
  (cheap, and a lower bound of the road), then on the road (the engine's lengths when it gives
  them, else the length her drive time stands for at :data:`REACH_ROAD_SPEED_KMH`);
* has no pending or accepted proposal whose busy time overlaps the leg, from leaving home to
  dropping the rider (:func:`app.services.matching.bookings_on`);
* drives a wheelchair-accessible vehicle when the rider asked for one.

Homes are commune centres (see :func:`load_availability`): nothing computed here can tell where
a volunteer lives, and nothing about her leaves this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import lazyload, selectinload

from ...extensions import db
from ...models import Driver
from ..publication import cached_communes, commune_of
from .geometry import LatLon, haversine_m
from .roads import Roads
from .types import Availability, Interval, VolunteerView

if TYPE_CHECKING:
    from ..matching import Booking

#: Average speed that turns a drive time into the road length it stands for, when the engine
#: gives no lengths (country roads of the Lot: 60 km/h on average).
REACH_ROAD_SPEED_KMH = 60.0


def load_availability(tz: dt.tzinfo, days: Iterable[dt.date] = ()) -> Availability:
    """Cleared, active volunteers who consented to publication, with their weekly grid, and
    the grid's slot hours. A volunteer's home is the centre of her commune: whether someone is
    on call near a point must not reveal where she lives.

    ``days``: the local days whose pending and accepted proposals are loaded as her busy time
    (a volunteer already booked then is not offered again). The volunteers are kept per
    process (:func:`_on_call_volunteers`); the bookings of all the days take one query.
    """
    from matching.model import SLOT_HOURS as slot_hours

    from .. import matching as matching_service

    volunteers = _on_call_volunteers()
    busy: dict[int, tuple[Interval, ...]] = {}
    ids = [v.driver_id for v in volunteers if v.driver_id is not None]
    if ids:
        busy = busy_by_driver(matching_service.bookings_on_days(sorted(set(days)), ids))
    return Availability(volunteers, dict(slot_hours), tz, busy)


_CACHE_KEY = "lot_journey_volunteers"


def _on_call_volunteers() -> list[VolunteerView]:
    """The published volunteers with their grids, kept per process until a driver's record
    or grid changes (``day_state.volunteers_fingerprint``), the day turns, or the territory
    (its communes) does. The bookings are not kept: they are read at each search."""
    from flask import current_app

    from ..day_state import volunteers_fingerprint

    key = (dt.date.today(), volunteers_fingerprint(), id(cached_communes()))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    kept = app.extensions.get(_CACHE_KEY)
    if kept is not None and kept[0] == key:
        return list(kept[1])
    volunteers = _read_volunteers()
    app.extensions[_CACHE_KEY] = (key, tuple(volunteers))
    return volunteers


def _read_volunteers() -> list[VolunteerView]:
    from .. import matching as matching_service

    today = dt.date.today()
    communes = cached_communes()
    published = (Driver.active.is_(True), Driver.publish_consent_at.is_not(None))
    drivers = (
        db.session.query(Driver)
        # The grids are read below in one query; a home without a point falls back on its
        # commune, read with the drivers rather than one by one.
        .options(lazyload(Driver.availability), selectinload(Driver.home_commune))
        .filter(*published)
        .order_by(Driver.id)
        .all()
    )
    grids = matching_service.weekly_cells([d.id for d in drivers])
    volunteers = []
    for d in drivers:
        home = d.home_lat_lon
        if home is None or not communes or not d.is_cleared_on(today) or d.sms_opt_out:
            continue
        cells = frozenset(grids.get(d.id, ()))
        if cells:
            centre = commune_of(communes, home)
            volunteers.append(
                VolunteerView(
                    (centre.lat, centre.lon),
                    d.max_distance_km * 1000.0,
                    cells,
                    driver_id=d.id,
                    wheelchair=bool(d.wheelchair_accessible),
                )
            )
    return volunteers


def busy_by_driver(
    bookings: Iterable[Booking],
) -> dict[int, tuple[tuple[dt.datetime, dt.datetime], ...]]:
    """Busy intervals of each driver from her pending and accepted proposals."""
    out: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for b in bookings:
        out.setdefault(b.driver_id, []).append((b.busy_from, b.busy_until))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def within_reach_straight(v: VolunteerView, points: Sequence[LatLon]) -> bool:
    """Whether every point is within her distance of home, in a straight line."""
    return all(haversine_m(v.home, p) <= v.max_distance_m for p in points)


def road_approach_s(v: VolunteerView, points: Sequence[LatLon], roads: Roads) -> int | None:
    """Drive seconds from her home to the first point, when every point is within her reach on
    the road; None when one is not (or is off the road graph)."""
    times = roads.from_point(v.home, points)
    if any(t is None for t in times):
        return None
    lengths = roads.lengths_from(v.home, points)
    if lengths is None:
        speed_m_s = REACH_ROAD_SPEED_KMH / 3.6
        lengths = [float(t) * speed_m_s for t in times if t is not None]
    if any(m is None or m > v.max_distance_m for m in lengths):
        return None
    return times[0]


def volunteer_for_leg(
    availability: Availability,
    roads: Roads | None,
    reach: Sequence[LatLon],
    start: dt.datetime,
    end: dt.datetime,
    *,
    wheelchair: bool = False,
) -> VolunteerView | None:
    """A volunteer who can drive a leg from ``start`` to ``end`` whose ends are ``reach``.

    ``reach`` lists the points she must reach from home, the pickup first (the time to drive
    there is part of the time the leg takes from her). Without road times (``roads`` None) the
    straight-line reach is all that is checked.
    """
    for v in availability.volunteers:
        if wheelchair and not v.wheelchair:
            continue
        if not within_reach_straight(v, reach):
            continue
        if not (availability.on_call(v, start) and availability.on_call(v, end)):
            continue
        if not availability.is_free(v, start, end):
            continue
        if roads is None:
            return v
        approach = road_approach_s(v, reach, roads)
        if approach is None:
            continue
        if availability.is_free(v, start - dt.timedelta(seconds=approach), end):
            return v
    return None


def anyone_within_reach(
    availability: Availability, point: LatLon, *, wheelchair: bool = False
) -> bool:
    """Whether some volunteer lives within her distance of ``point`` (straight line, any time).

    The cheap test that decides whether drives to stations are searched at all; each leg
    found is then checked at its own time with :func:`volunteer_for_leg`.
    """
    return any(
        (v.wheelchair or not wheelchair) and within_reach_straight(v, [point])
        for v in availability.volunteers
    )
