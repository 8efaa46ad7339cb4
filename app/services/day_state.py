"""What a day's plan and a day's offer index depend on, as one short fingerprint.

A stored day plan stays valid, and the per-process offer index of a day stays usable, until
something it was computed from changes: a need of the day (status, version), a proposal or a
route of the day, a driver (record, weekly availability, absence, extra slot), an offer, or
the territory. Rather than hooking every writer, the fingerprint is read from the rows
themselves (a few indexed queries, a few milliseconds): nothing can change them without
changing it.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Driver,
    DriverAbsence,
    DriverAvailability,
    DriverExtraSlot,
    DriverOffer,
    Proposal,
    RideNeed,
    RideRoute,
)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The local day's start and end (aware, configured time zone)."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    start = datetime.combine(day, datetime.min.time(), tz)
    return start, datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _territory_key() -> str:
    from ..errors import TerritoryNotBuilt
    from .runtime import loaded_territory

    try:
        return str(loaded_territory().path)
    except TerritoryNotBuilt:
        return ""


def volunteers_fingerprint() -> str:
    """The drivers' records and weekly grids, whatever the day (one statement)."""
    row = db.session.execute(select(
        select(func.count(Driver.id)).scalar_subquery(),
        select(func.max(Driver.id)).scalar_subquery(),
        select(func.max(Driver.updated_at)).scalar_subquery(),
        select(func.count(DriverAvailability.id)).scalar_subquery(),
        select(func.max(DriverAvailability.id)).scalar_subquery(),
        select(func.coalesce(func.sum(DriverAvailability.driver_id * 7 + DriverAvailability.weekday), 0))
        .scalar_subquery(),
    )).one()
    return _digest([_territory_key(), tuple(row)])


def drivers_fingerprint(day: date) -> str:
    """The drivers' side of a day before bookings: records, availability, absences, offers."""
    absences = db.session.execute(
        select(DriverAbsence.id, DriverAbsence.driver_id).where(
            DriverAbsence.first_day <= day, DriverAbsence.last_day >= day).order_by(DriverAbsence.id)).all()
    extra = db.session.execute(
        select(DriverExtraSlot.id, DriverExtraSlot.slot).where(DriverExtraSlot.day == day)
        .order_by(DriverExtraSlot.id)).all()
    offers = db.session.execute(
        select(func.count(DriverOffer.id), func.max(DriverOffer.id),
               func.sum(DriverOffer.seats + DriverOffer.max_detour_min + DriverOffer.flexibility_min),
               # Any offer edited in place (hour, days, places), whatever its status now.
               select(func.max(DriverOffer.updated_at)).correlate(None).scalar_subquery())
        .where(DriverOffer.status == "active")).one()
    return _digest([volunteers_fingerprint(), str(day), [tuple(r) for r in absences],
                    [tuple(r) for r in extra], tuple(offers)])


def offers_fingerprint(day: date) -> str:
    """The drivers' side of a day: records, availability, absences, offers, bookings."""
    start, end = day_bounds(day)
    bookings = db.session.execute(
        select(Proposal.id, Proposal.status, Proposal.driver_id, Proposal.leg)
        .join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(RideNeed.requested_at >= start, RideNeed.requested_at < end,
               Proposal.status.in_(("pending", "accepted")))
        .order_by(Proposal.id)).all()
    routes = db.session.execute(
        select(RideRoute.id, RideRoute.status).where(RideRoute.day == day).order_by(RideRoute.id)).all()
    return _digest([drivers_fingerprint(day), [tuple(r) for r in bookings], [tuple(r) for r in routes]])


def day_fingerprint(day: date) -> str:
    """Everything a day's plan depends on: the drivers' side and the day's needs."""
    start, end = day_bounds(day)
    needs = db.session.execute(
        select(RideNeed.id, RideNeed.status, RideNeed.version)
        .where(RideNeed.requested_at >= start, RideNeed.requested_at < end).order_by(RideNeed.id)).all()
    proposals = db.session.execute(
        select(Proposal.id, Proposal.status).join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(RideNeed.requested_at >= start, RideNeed.requested_at < end).order_by(Proposal.id)).all()
    return _digest([offers_fingerprint(day), [tuple(r) for r in needs], [tuple(r) for r in proposals]])
