"""A day's offers as the engine indexes them, kept per process between requests.

Every need page asks the engine for the day's candidates. Building the day's offers reads
every driver's record, grid, absences and trips, then snaps them and runs a CH search from
each (tens of milliseconds each). Those inputs change rarely; the day's bookings change at
every SMS confirmation. So the cache has two levels:

* the drivers' side (:class:`DayBase`), kept until ``day_state.drivers_fingerprint``
  changes: the offers whole and their engine index (snapping and CH buckets);
* the bookings' part (:class:`DayOffers`), derived from it per set of bookings without
  reading a driver again and without a CH search: an offer the bookings take is given no
  seat (the engine never proposes it), a volunteer's windows lose her booked hours, and
  what joining a booked car needs (:class:`JoinContext`) is built from the same offers.

Reading the bookings is one query per request; nothing stale is ever served: the drivers'
fingerprint and the bookings are read from the rows themselves at each request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
from flask import current_app

from . import matching as service

_CACHE_KEY = "lot_day_offers"
_DAYS_KEPT = 40  # days kept per process (a month of needs and some)
_DERIVED_KEPT = 4  # bookings states kept per day
_lock = threading.Lock()

BookingsKey = tuple[tuple[service.Booking, ...], tuple[tuple[int, int], ...]]


@dataclass
class JoinContext:
    """What joining a booked car needs, for a whole day: the day's bookings, the drivers whose
    car is settled (every booking of theirs accepted), their offers whole and their bookings as
    the engine's commitments. Kept with the bookings it was built from (a booked need cannot
    be edited, only withdrawn or cancelled, which changes the bookings)."""

    bookings: list[service.Booking]
    settled: set[int]
    trips: list[Any]
    volunteers: list[Any]
    keys: dict[str, tuple[int, int | None]]  # vehicle key -> (driver id, offer id)
    commitments: list[Any]


@dataclass
class DayOffers:
    """The day's offers once its bookings have taken their part, indexed for the engine."""

    base: DayBase
    offer_set: Any
    bookings: list[service.Booking]
    busy: dict[int, int]
    joins: JoinContext | None = None  # built on first use (join_context)

    @property
    def keys(self) -> dict[str, tuple[int, int | None]]:
        """Offer key -> (driver id, offer id); offers the bookings took have no seat."""
        return self.base.keys

    def offers_of(self, drivers: set[int] | None) -> tuple[list[Any], list[Any]]:
        """The offers left to the drivers in ``drivers`` (all if None), bookings applied."""
        side = self.base.side if drivers is None else self.base.side.only(drivers)
        return service.apply_bookings(side, self.busy, self.bookings)


@dataclass
class DayBase:
    """The drivers' side of a day, whole, with its engine index (kept per process)."""

    fingerprint: str
    side: service.DriverSide
    offer_set: Any
    keys: dict[str, tuple[int, int | None]]
    derived: dict[BookingsKey, DayOffers] = field(default_factory=dict)


def _build_base(day: date, fingerprint: str) -> DayBase:
    from matching.rides import build_offer_set

    side, index = service.driver_side(day)
    offer_set = build_offer_set(service.get_engine(), [t for _, _, t in side.trips],
                                [v for _, v in side.volunteers])
    keys = {k: (driver.id, offer.id if offer is not None else None) for k, (driver, offer) in index.items()}
    return DayBase(fingerprint, side, offer_set, keys)


def blocked_offer_set(base: DayBase, trips: list[Any], volunteers: list[Any]) -> Any:
    """The base index with only ``trips`` and ``volunteers`` (a subset of the base's offers,
    the volunteers' windows possibly cut): the others keep their place with no seat, so the
    snapping and the CH buckets are reused as they are."""
    full = base.offer_set
    seats = full.seats.copy()
    max_rides = full.max_rides.copy()
    kept_trips = {t.offer_id for t in trips}
    for i, trip in enumerate(full.trips):
        if trip.offer_id not in kept_trips:
            seats[i] = 0
    left = {v.driver_id: v for v in volunteers}
    new_volunteers = []
    counts = []
    starts: list[int] = []
    ends: list[int] = []
    for j, whole in enumerate(full.volunteers):
        o = full.n_trips + j
        now = left.get(whole.driver_id)
        if now is None:
            seats[o] = 0
            max_rides[o] = 0
            new_volunteers.append(whole)
            counts.append(0)
            continue
        new_volunteers.append(now)
        max_rides[o] = now.max_rides_per_day
        counts.append(len(now.windows_sorted))
        starts += [w[0] for w in now.windows_sorted]
        ends += [w[1] for w in now.windows_sorted]
    w_indptr = np.zeros(full.n_offers + 1, dtype=np.int64)
    np.cumsum([0] * full.n_trips + counts, out=w_indptr[1:])
    return replace(full, volunteers=tuple(new_volunteers), seats=seats, max_rides=max_rides,
                   w_indptr=w_indptr, w_start=np.array(starts, dtype=np.int64),
                   w_end=np.array(ends, dtype=np.int64))


def day_offers(day: date) -> DayOffers:
    """The day's offers for the one-rider search (every driver, bookings applied).

    The drivers' side is rebuilt only when ``drivers_fingerprint`` changes; the bookings are
    read at each call and their part applied to it (a few milliseconds, no CH search).
    """
    from .day_state import drivers_fingerprint

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cache: dict[date, DayBase] = app.extensions.setdefault(_CACHE_KEY, {})
    fingerprint = drivers_fingerprint(day)
    base = cache.get(day)
    if base is None or base.fingerprint != fingerprint:
        base = _build_base(day, fingerprint)
        with _lock:
            cache[day] = base
            while len(cache) > _DAYS_KEPT:
                cache.pop(next(iter(cache)))
    busy, bookings = service.booked_state(day)
    key: BookingsKey = (tuple(bookings), tuple(sorted(busy.items())))
    entry = base.derived.get(key)
    if entry is None:
        trips, volunteers = service.apply_bookings(base.side, busy, bookings)
        entry = DayOffers(base, blocked_offer_set(base, trips, volunteers), bookings, busy)
        with _lock:
            base.derived[key] = entry
            while len(base.derived) > _DERIVED_KEPT:
                base.derived.pop(next(iter(base.derived)))
    return entry


def join_context(day: date, offers: DayOffers, without_need: int | None = None) -> JoinContext:
    """The day's join context (kept with ``offers``), or one without the bookings of
    ``without_need`` (a booked need's own booking must not count; not kept)."""
    if without_need is None and offers.joins is not None:
        return offers.joins
    bookings = [b for b in offers.bookings if b.need_id != without_need]
    settled = {b.driver_id for b in bookings} - {b.driver_id for b in bookings if b.status != "accepted"}
    if not settled:
        context = JoinContext(bookings, set(), [], [], {}, [])
    else:
        trips, volunteers = service.apply_bookings(offers.base.side.only(settled), {}, [])
        keys = {t.offer_id: offers.keys[t.offer_id] for t in trips}
        keys.update({v.driver_id: offers.keys[v.driver_id] for v in volunteers})
        commitments, _ = service.commitments_for_day(day, [b for b in bookings if b.driver_id in settled])
        commitments = [c for c in commitments if c.vehicle_key in keys]
        context = JoinContext(bookings, settled, trips, volunteers, keys, commitments)
    if without_need is None:
        offers.joins = context
    return context
