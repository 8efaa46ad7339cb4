"""Template filters: French dates in the configured time zone, phones, statuses, distances."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from ..services.people import ELIGIBILITY_FR, format_phone
from ..services.rides import PROPOSAL_STATUS_FR, PURPOSE_FR, STATUS_FR
from . import bp

_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre")
STATUS_BADGE = {"new": "new", "searching": "info", "proposed": "warning", "confirmed": "success",
                "done": "success", "cancelled": "", "unserved": "error"}


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris")))


@bp.app_template_filter("when")
def when(value: datetime | date | str | None, style: str = "long") -> str:
    """'mardi 24 novembre 2026 à 10 h 30' (long), '24/11/2026 10:30' (short), 'hh:mm' (time)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return f"{value:%d/%m/%Y}"
    local = to_local(value)
    if style == "time":
        return f"{local:%H:%M}"
    if style == "short":
        return f"{local:%d/%m/%Y %H:%M}"
    if style == "day":
        return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}"
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"


@bp.app_template_filter("phone")
def phone(value: str | None) -> str:
    return format_phone(value)


@bp.app_template_filter("status_fr")
def status_fr(value: str) -> str:
    return STATUS_FR.get(value, value)


@bp.app_template_filter("status_badge")
def status_badge(value: str) -> str:
    return STATUS_BADGE.get(value, "")


@bp.app_template_filter("proposal_status_fr")
def proposal_status_fr(value: str) -> str:
    return PROPOSAL_STATUS_FR.get(value, value)


@bp.app_template_filter("purpose_fr")
def purpose_fr(value: str) -> str:
    return PURPOSE_FR.get(value, value)


@bp.app_template_filter("eligibility_fr")
def eligibility_fr(value: str) -> str:
    return ELIGIBILITY_FR.get(value, value)


@bp.app_template_filter("km")
def km(value_m: float | None) -> str:
    if value_m is None:
        return "–"
    return f"{value_m / 1000:.1f} km".replace(".", ",")


@bp.app_template_filter("minutes")
def minutes(value_s: float | None) -> str:
    if value_s is None:
        return "–"
    return f"{round(value_s / 60)} min"


@bp.app_template_filter("euros")
def euros(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} €".replace(".", ",")
