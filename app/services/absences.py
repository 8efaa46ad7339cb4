"""Volunteers' absences and one-off availabilities, and what her page shows of her month.

An absence (holidays, illness) covers whole local days: on those days the volunteer is offered no
ride, neither from her weekly grid nor from her announced trips. A one-off availability ("DISPO
lundi matin") adds one slot of one day, and wins over an absence on that day. Both are recorded by
an aidant on the volunteer's page or by the volunteer herself by SMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, select

from ..errors import PlatformError
from ..extensions import db
from ..models import Driver, DriverAbsence, DriverExtraSlot, Proposal, RideNeed, User
from ..models.people import SLOTS
from .audit import record_audit

MAX_ABSENCE_DAYS = 366


class AbsenceError(PlatformError, ValueError):
    """An absence or availability that cannot be recorded; the message is French."""


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))


def local_today() -> date:
    return datetime.now(_tz()).date()


def _local_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    tz = _tz()
    start = datetime.combine(first, time(0), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def rides_during(driver: Driver, first: date, last: date) -> list[Proposal]:
    """The volunteer's pending or accepted rides on those days (to hand over to someone else)."""
    start, end = _local_bounds(first, last)
    return list(db.session.execute(
        select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id).where(
            Proposal.driver_id == driver.id, Proposal.status.in_(("pending", "accepted")),
            RideNeed.requested_at >= start, RideNeed.requested_at < end,
        ).order_by(RideNeed.requested_at)).scalars())


def record_absence(driver: Driver, first: date, last: date, *, reason: str | None = None,
                   source: str = "web", user: User | None = None) -> tuple[DriverAbsence, list[Proposal]]:
    """Record an absence (inclusive days); return it and the rides already planned then.

    The caller commits. Overlapping absences are merged into one.
    """
    if last < first:
        raise AbsenceError("La date de fin est avant la date de début.")
    if last < local_today():
        raise AbsenceError("Cette absence est déjà passée.")
    if (last - first).days + 1 > MAX_ABSENCE_DAYS:
        raise AbsenceError("Une absence dure au plus un an : désactivez plutôt le bénévole.")
    overlapping = db.session.execute(select(DriverAbsence).where(
        DriverAbsence.driver_id == driver.id,
        DriverAbsence.first_day <= last + timedelta(days=1),
        DriverAbsence.last_day >= first - timedelta(days=1))).scalars().all()
    for other in overlapping:
        first, last = min(first, other.first_day), max(last, other.last_day)
        db.session.delete(other)
    absence = DriverAbsence(driver_id=driver.id, first_day=first, last_day=last,
                            reason=(reason or "").strip()[:200] or None, source=source,
                            created_by_id=user.id if user is not None else None)
    db.session.add(absence)
    db.session.flush()
    record_audit("update", "driver", driver.id, user=user, actor=None if user else "SMS",
                 detail={"absence": [first.isoformat(), last.isoformat()], "source": source})
    return absence, rides_during(driver, first, last)


def delete_absence(driver: Driver, absence_id: int, *, user: User | None = None) -> None:
    absence = db.session.get(DriverAbsence, absence_id)
    if absence is None or absence.driver_id != driver.id:
        raise AbsenceError("Cette absence n'existe pas.")
    db.session.delete(absence)
    record_audit("update", "driver", driver.id, user=user,
                 detail={"absence_removed": [absence.first_day.isoformat(), absence.last_day.isoformat()]})


def record_extra_slot(driver: Driver, day: date, slot: str, *, source: str = "sms") -> DriverExtraSlot:
    """A one-off availability for one slot of one day (idempotent). The caller commits."""
    if slot not in SLOTS:
        raise AbsenceError("Créneau inconnu : matin, après-midi ou soir.")
    if day < local_today():
        raise AbsenceError("Ce jour est déjà passé.")
    existing = db.session.execute(select(DriverExtraSlot).filter_by(
        driver_id=driver.id, day=day, slot=slot)).scalar_one_or_none()
    if existing is not None:
        return existing
    extra = DriverExtraSlot(driver_id=driver.id, day=day, slot=slot, source=source)
    db.session.add(extra)
    db.session.flush()
    record_audit("update", "driver", driver.id, actor="SMS" if source == "sms" else None,
                 detail={"available": [day.isoformat(), slot], "source": source})
    return extra


def absent_driver_ids(driver_ids: list[int], day: date) -> set[int]:
    """The volunteers among ``driver_ids`` who are absent on ``day``."""
    if not driver_ids:
        return set()
    return set(db.session.execute(select(DriverAbsence.driver_id).where(
        DriverAbsence.driver_id.in_(driver_ids), DriverAbsence.first_day <= day,
        DriverAbsence.last_day >= day)).scalars())


def extra_slots_on(driver_ids: list[int], day: date) -> dict[int, list[str]]:
    """One-off available slots of ``day`` per volunteer."""
    slots: dict[int, list[str]] = {}
    if not driver_ids:
        return slots
    for driver_id, slot in db.session.execute(select(DriverExtraSlot.driver_id, DriverExtraSlot.slot).where(
            DriverExtraSlot.driver_id.in_(driver_ids), DriverExtraSlot.day == day)):
        slots.setdefault(driver_id, []).append(slot)
    return slots


def coming_absences(driver: Driver) -> list[DriverAbsence]:
    return list(db.session.execute(select(DriverAbsence).where(
        DriverAbsence.driver_id == driver.id, DriverAbsence.last_day >= local_today())
        .order_by(DriverAbsence.first_day)).scalars())


def coming_extra_slots(driver: Driver) -> list[DriverExtraSlot]:
    return list(db.session.execute(select(DriverExtraSlot).where(
        DriverExtraSlot.driver_id == driver.id, DriverExtraSlot.day >= local_today())
        .order_by(DriverExtraSlot.day)).scalars())


@dataclass(frozen=True)
class MonthActivity:
    """A volunteer's rides of one month: count, kilometres and mileage allowance owed."""

    month: date
    rides: int
    km: float
    allowance_eur: float


def coming_rides(driver: Driver) -> list[Proposal]:
    """Her pending and accepted rides from now on, soonest first."""
    now = datetime.now(UTC)
    return list(db.session.execute(
        select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id).where(
            Proposal.driver_id == driver.id, Proposal.status.in_(("pending", "accepted")),
            RideNeed.status.in_(("proposed", "confirmed")), RideNeed.requested_at >= now - timedelta(hours=3),
        ).order_by(RideNeed.requested_at)).scalars())


def month_activity(driver: Driver, month: date | None = None) -> MonthActivity:
    """Rides done or confirmed this month (local), with kilometres and allowance (capped rate)."""
    today = local_today()
    first = (month or today).replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    start, end = _local_bounds(first, nxt - timedelta(days=1))
    rate = float(current_app.config["COST_SHARE_EUR_PER_KM"])
    rows = db.session.execute(
        select(Proposal.distance_m, Proposal.allowance_eur).join(RideNeed, Proposal.need_id == RideNeed.id).where(
            and_(Proposal.driver_id == driver.id, Proposal.status == "accepted",
                 RideNeed.status.in_(("confirmed", "done")),
                 RideNeed.requested_at >= start, RideNeed.requested_at < end))).all()
    km = sum((d or 0) for d, _ in rows) / 1000.0
    allowance = sum(a if a is not None else (d or 0) / 1000.0 * rate for d, a in rows)
    return MonthActivity(first, len(rows), round(km, 1), round(allowance, 2))


def end_current_absence(driver: Driver) -> bool:
    """She is back: the absence covering today ends yesterday (or goes). True if there was one."""
    today = local_today()
    current = db.session.execute(select(DriverAbsence).where(
        DriverAbsence.driver_id == driver.id, DriverAbsence.first_day <= today,
        DriverAbsence.last_day >= today)).scalars().all()
    for absence in current:
        if absence.first_day >= today:
            db.session.delete(absence)
        else:
            absence.last_day = today - timedelta(days=1)
    if current:
        record_audit("update", "driver", driver.id, actor="SMS", detail={"absence_ended": today.isoformat()})
    return bool(current)
