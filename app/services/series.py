"""Recurring ride needs: a series creates one ordinary RideNeed per occurrence.

The planner, the matching and the SMS flow see only the occurrences, like any other need.
Changing a series changes its coming occurrences that nobody has been asked for yet (new,
searching, unserved); past occurrences and those proposed to or confirmed by a volunteer stay
as they are. Changing one occurrence on its own detaches it from the series
(:func:`app.services.rides.update_need`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Beneficiary, RideNeed, RideNeedSeries, User, utcnow
from . import rides
from .audit import record_audit
from .rides import EDITABLE_STATUSES, Endpoint, NeedData, RideError

MAX_OCCURRENCES = 60
MAX_SPAN_DAYS = 366
WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


class SeriesError(RideError):
    """A series that cannot be created or changed as asked; French message for the aidant."""


@dataclass(frozen=True)
class Schedule:
    """When a series repeats: weekdays (0 = Monday), every N weeks, from start to until."""

    weekdays: tuple[int, ...]
    interval_weeks: int
    start: date
    until: date
    exceptions: tuple[date, ...] = ()
    local_time: time = time(10, 0)


def occurrence_dates(schedule: Schedule, *, max_occurrences: int = MAX_OCCURRENCES,
                     max_span_days: int = MAX_SPAN_DAYS) -> list[date]:
    """The days of the series, in order; SeriesError when the schedule is invalid or too long.

    Weeks are counted from the week (Monday to Sunday) of the first day: with every 2 weeks,
    the chosen weekdays of that week, of the week after next, and so on.
    """
    days = sorted(set(schedule.weekdays))
    if not days or any(d < 0 or d > 6 for d in days):
        raise SeriesError("Choisissez au moins un jour de la semaine.")
    if not 1 <= schedule.interval_weeks <= 8:
        raise SeriesError("La fréquence va d'une fois par semaine à une fois toutes les 8 semaines.")
    if schedule.until < schedule.start:
        raise SeriesError("Le dernier jour de la série doit être après le premier.")
    if (schedule.until - schedule.start).days > max_span_days:
        raise SeriesError("Une série dure au plus un an : choisissez un dernier jour plus proche "
                          "(vous pourrez la prolonger ensuite).")
    first_monday = schedule.start - timedelta(days=schedule.start.weekday())
    skipped = set(schedule.exceptions)
    out: list[date] = []
    day = schedule.start
    while day <= schedule.until:
        week = (day - first_monday).days // 7
        if day.weekday() in days and week % schedule.interval_weeks == 0 and day not in skipped:
            out.append(day)
            if len(out) > max_occurrences:
                raise SeriesError(f"Une série compte au plus {max_occurrences} trajets : raccourcissez la "
                                  "période, espacez les trajets ou cochez moins de jours.")
        day += timedelta(days=1)
    if not out:
        raise SeriesError("Aucun trajet dans cette période : vérifiez les jours cochés, les dates et "
                          "les exceptions.")
    return out


def describe(series: RideNeedSeries) -> str:
    """The schedule in plain French: 'chaque semaine, le lundi et le jeudi à 08 h 30, du … au …'."""
    names = [f"le {WEEKDAYS_FR[d]}" for d in series.weekday_numbers]
    days = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
    every = {1: "chaque semaine", 2: "une semaine sur deux"}.get(
        series.interval_weeks, f"toutes les {series.interval_weeks} semaines")
    text = (f"{every}, {days} à {series.local_time.replace(':', ' h ')}, "
            f"du {series.start_date:%d/%m/%Y} au {series.until_date:%d/%m/%Y}")
    if series.exception_dates:
        text += ", sauf le " + ", ".join(f"{date.fromisoformat(d):%d/%m/%Y}" for d in series.exception_dates)
    return text


# --- The trip repeated ------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(str(current_app.config.get("TIMEZONE", "Europe/Paris")))


def template_of(data: NeedData) -> dict[str, Any]:
    """What a series keeps of the need typed by the aidant: everything but the date."""
    tz = _tz()
    return {
        "pickup": {"label": data.pickup.label, "lat": data.pickup.lat, "lon": data.pickup.lon,
                   "place_id": data.pickup.place_id},
        "dropoff": {"label": data.dropoff.label, "lat": data.dropoff.lat, "lon": data.dropoff.lon,
                    "place_id": data.dropoff.place_id},
        "time_mode": data.time_mode, "purpose": data.purpose, "return_mode": data.return_mode,
        "return_wait_min": data.return_wait_min,
        "return_time": data.return_at.astimezone(tz).strftime("%H:%M") if data.return_at else None,
        "passengers": data.passengers, "needs_accompaniment": data.needs_accompaniment,
        "needs_wheelchair": data.needs_wheelchair, "no_front_seat": data.no_front_seat,
        "notes": data.notes,
    }


def need_data_on(series: RideNeedSeries, day: date, beneficiary: Beneficiary | None = None) -> NeedData:
    """The NeedData of the series' occurrence on ``day`` (local date and time)."""
    tz = _tz()
    t = series.template
    at = time.fromisoformat(series.local_time)
    return_at = (datetime.combine(day, time.fromisoformat(t["return_time"]), tz)
                 if t.get("return_mode") == "at_time" and t.get("return_time") else None)
    return NeedData(
        beneficiary=beneficiary or series.beneficiary,
        pickup=Endpoint(**t["pickup"]), dropoff=Endpoint(**t["dropoff"]), time_mode=t["time_mode"],
        requested_at=datetime.combine(day, at, tz), purpose=t["purpose"],
        return_mode=t.get("return_mode", "none"), return_wait_min=t.get("return_wait_min"),
        return_at=return_at, passengers=t.get("passengers", 1),
        needs_accompaniment=t.get("needs_accompaniment", False),
        needs_wheelchair=t.get("needs_wheelchair", False), no_front_seat=t.get("no_front_seat", False),
        notes=t.get("notes"))


def _apply(series: RideNeedSeries, data: NeedData, schedule: Schedule) -> None:
    series.weekdays = ",".join(str(d) for d in sorted(set(schedule.weekdays)))
    series.interval_weeks = schedule.interval_weeks
    series.start_date = schedule.start
    series.until_date = schedule.until
    series.exception_dates = [d.isoformat() for d in sorted(set(schedule.exceptions))]
    series.local_time = schedule.local_time.strftime("%H:%M")
    series.template = template_of(data)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(_tz()).date()


# --- Create, change, cancel -------------------------------------------------------------------

def create_series(data: NeedData, schedule: Schedule, by_user: User) -> RideNeedSeries:
    """Create the series and one need per occurrence to come; commit."""
    now = utcnow()
    days = [d for d in occurrence_dates(schedule)
            if datetime.combine(d, schedule.local_time, _tz()) > now]
    if not days:
        raise SeriesError("Tous les trajets de cette série sont déjà passés.")
    beneficiary = data.beneficiary
    series = RideNeedSeries(beneficiary_id=beneficiary.id, structure_id=beneficiary.structure_id,
                            created_by_id=by_user.id, status="active")
    _apply(series, data, schedule)
    db.session.add(series)
    db.session.flush()
    for day in days:
        rides.add_need(need_data_on(series, day, beneficiary), by_user, series_id=series.id,
                       note=f"Besoin enregistré (série n° {series.id})")
    record_audit("create", "ride_need_series", series.id, user=by_user,
                 detail={"beneficiary": beneficiary.id, "occurrences": len(days)})
    db.session.commit()
    return series


@dataclass
class SeriesChange:
    """What a change of a series did to its occurrences."""

    changed: int = 0
    created: int = 0
    cancelled: int = 0
    kept: list[RideNeed] = field(default_factory=list)  # coming, already proposed or confirmed

    def summary_fr(self) -> str:
        parts = [f"{self.changed} trajet{'s' if self.changed > 1 else ''} à venir modifié{'s' if self.changed > 1 else ''}",
                 f"{self.created} ajouté{'s' if self.created > 1 else ''}",
                 f"{self.cancelled} annulé{'s' if self.cancelled > 1 else ''}"]
        text = "Série modifiée : " + ", ".join(parts) + ". Les trajets passés ne changent pas."
        if self.kept:
            text += (f" {len(self.kept)} trajet{'s' if len(self.kept) > 1 else ''} déjà proposé"
                     f"{'s' if len(self.kept) > 1 else ''} à un bénévole ou confirmé{'s' if len(self.kept) > 1 else ''} "
                     "ne change pas : modifiez-le ou annulez-le un par un si besoin.")
        return text


def occurrences(series: RideNeedSeries) -> list[RideNeed]:
    return list(db.session.execute(
        select(RideNeed).where(RideNeed.series_id == series.id).order_by(RideNeed.requested_at)).scalars())


def update_series(series: RideNeedSeries, data: NeedData, schedule: Schedule, by_user: User) -> SeriesChange:
    """Change the series and its coming occurrences nobody was asked for yet; commit.

    Occurrences already proposed, confirmed, done or cancelled keep their day (no new one is
    made on it); past occurrences are never touched.
    """
    if series.status != "active":
        raise SeriesError("Cette série est close : créez-en une nouvelle.")
    wanted_days = occurrence_dates(schedule)
    now = utcnow()
    tz = _tz()
    wanted = {d for d in wanted_days if datetime.combine(d, schedule.local_time, tz) > now}
    change = SeriesChange()
    _apply(series, data, schedule)
    db.session.commit()
    taken: set[date] = set()
    for need in occurrences(series):
        if need.requested_at <= now:
            continue
        day = _local_day(need.requested_at)
        if need.status not in EDITABLE_STATUSES:
            taken.add(day)
            if need.status in ("proposed", "confirmed"):
                change.kept.append(need)
            continue
        if day in wanted:
            taken.add(day)
            if rides.update_need(need, need_data_on(series, day), by_user, expected_version=None,
                                 keep_series=True):
                change.changed += 1
        else:
            rides.cancel_need(need, by_user=by_user, reason="jour retiré de la série")
            change.cancelled += 1
    for day in sorted(wanted - taken):
        rides.add_need(need_data_on(series, day), by_user, series_id=series.id,
                       note=f"Besoin ajouté à la série n° {series.id}")
        change.created += 1
    record_audit("update", "ride_need_series", series.id, user=by_user,
                 detail={"changed": change.changed, "created": change.created,
                         "cancelled": change.cancelled, "kept": [n.id for n in change.kept]})
    db.session.commit()
    return change


def exclude_occurrence_day(series_id: int, requested_at: datetime) -> None:
    """Add an occurrence's day to the series' exceptions (not committed).

    Called when an occurrence is changed on its own and leaves the series: a later change of
    the series must not make a second need on that day.
    """
    series = db.session.get(RideNeedSeries, series_id)
    if series is None:
        return
    day = _local_day(requested_at).isoformat()
    if day not in (series.exception_dates or []):
        series.exception_dates = sorted([*(series.exception_dates or []), day])


def cancel_series(series: RideNeedSeries, by_user: User, reason: str | None = None) -> int:
    """Cancel every coming occurrence (volunteers already confirmed are told); commit.

    Past occurrences stay. Returns how many were cancelled.
    """
    if series.status != "active":
        raise SeriesError("Cette série est déjà close.")
    now = utcnow()
    count = 0
    for need in occurrences(series):
        if need.requested_at > now and need.status in rides.ACTIVE_STATUSES:
            rides.cancel_need(need, by_user=by_user,
                              reason="fin de la série" + (f" : {reason}" if reason else ""))
            count += 1
    series.status = "cancelled"
    record_audit("cancel", "ride_need_series", series.id, user=by_user, detail={"cancelled": count})
    db.session.commit()
    return count
