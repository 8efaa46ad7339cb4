"""Coordinators' dashboard: waiting needs, the territory's gaps, volunteers' activity, km."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, true

from ..extensions import db
from ..models import Beneficiary, Commune, Driver, Proposal, RideNeed, utcnow
from .access import PARTNER_DRIVER_FR
from .csv_export import csv_text
from .rides import OPEN_STATUSES


def _scope(query: Any, structure_ids: list[int] | None, column: Any) -> Any:
    return query if structure_ids is None else query.where(column.in_(structure_ids))


def status_counts(structure_ids: list[int] | None) -> dict[str, int]:
    query = _scope(select(RideNeed.status, func.count()).group_by(RideNeed.status), structure_ids,
                   RideNeed.structure_id)
    return {status: count for status, count in db.session.execute(query).all()}


def waiting_needs(structure_ids: list[int] | None, limit: int = 50) -> list[RideNeed]:
    """Needs still without a driver, soonest first."""
    query = select(RideNeed).where(RideNeed.status.in_(OPEN_STATUSES)).order_by(RideNeed.requested_at)
    return list(db.session.execute(_scope(query, structure_ids, RideNeed.structure_id).limit(limit)).scalars())


@dataclass
class Gap:
    commune: str
    purpose: str
    count: int


def unserved_gaps(structure_ids: list[int] | None, since_days: int = 365) -> list[Gap]:
    """Unserved needs by the person's home commune and purpose: what the territory lacks."""
    since = utcnow() - timedelta(days=since_days)
    query = (
        select(func.coalesce(Commune.name, "Commune inconnue"), RideNeed.purpose, func.count())
        .select_from(RideNeed)
        .join(Beneficiary, RideNeed.beneficiary_id == Beneficiary.id)
        .outerjoin(Commune, Beneficiary.home_commune_insee == Commune.insee)
        .where(RideNeed.status == "unserved", RideNeed.requested_at >= since)
        .group_by(Commune.name, RideNeed.purpose)
        .order_by(func.count().desc())
    )
    rows = db.session.execute(_scope(query, structure_ids, RideNeed.structure_id)).all()
    return [Gap(commune, purpose, count) for commune, purpose, count in rows]


@dataclass
class VolunteerActivity:
    driver: Driver
    proposed: int = 0
    accepted: int = 0
    declined: int = 0
    done: int = 0
    distance_m: float = 0.0


def volunteer_activity(structure_ids: list[int] | None, since_days: int = 90) -> list[VolunteerActivity]:
    """Per volunteer: proposals received, accepted, declined, rides done and km, over a period."""
    since = utcnow() - timedelta(days=since_days)
    drivers = db.session.execute(
        _scope(select(Driver).order_by(Driver.last_name), structure_ids, Driver.structure_id)).scalars().all()
    stats = {d.id: VolunteerActivity(d) for d in drivers}
    rows = db.session.execute(
        select(Proposal.driver_id, Proposal.status, RideNeed.status, Proposal.distance_m)
        .join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(Proposal.created_at >= since, Proposal.driver_id.in_(list(stats)))
    ).all()
    for driver_id, proposal_status, need_status, distance_m in rows:
        item = stats[driver_id]
        item.proposed += 1
        if proposal_status == "accepted":
            item.accepted += 1
            if need_status == "done":
                item.done += 1
                item.distance_m += distance_m or 0
        elif proposal_status == "declined":
            item.declined += 1
    return sorted(stats.values(), key=lambda s: (-s.done, -s.accepted, s.driver.last_name))


@dataclass
class MonthRow:
    month: str  # YYYY-MM
    driver: str
    rides: int
    km: float
    allowance_eur: float
    contribution_eur: float


def monthly_kilometres(structure_ids: list[int] | None, timezone: str, rate_eur_per_km: float,
                       visible_drivers: Any = None) -> list[MonthRow]:
    """Rides done per month and volunteer: kilometres, mileage allowance, riders' contribution.

    The allowance is the engine's figure stored with the proposal, else km × the rate. A
    driver outside ``visible_drivers`` (``access.driver_filter(user)``: a partner structure's
    volunteer who served one of the structure's needs) is named by first name only.
    """
    tz = ZoneInfo(timezone)
    seen = true() if visible_drivers is None else visible_drivers
    query = (
        select(RideNeed.requested_at, Driver.id, Driver.first_name, Driver.last_name,
               case((seen, 1), else_=0), Proposal.distance_m, Proposal.allowance_eur,
               Proposal.contribution_eur)
        .join(Proposal, Proposal.need_id == RideNeed.id)
        .join(Driver, Proposal.driver_id == Driver.id)
        .where(RideNeed.status == "done", Proposal.status == "accepted")
    )
    rows = db.session.execute(_scope(query, structure_ids, RideNeed.structure_id)).all()
    totals: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for requested_at, driver_id, first, last, visible, distance_m, allowance, contribution in rows:
        month = requested_at.astimezone(tz).strftime("%Y-%m")
        km = (distance_m or 0) / 1000
        name = f"{first} {last}" if visible else f"{first}, {PARTNER_DRIVER_FR}"
        item = totals[(month, name, driver_id)]
        item[0] += 1
        item[1] += km
        item[2] += allowance if allowance is not None else km * rate_eur_per_km
        item[3] += contribution or 0.0
    return [MonthRow(month, driver, int(v[0]), round(v[1], 1), round(v[2], 2), round(v[3], 2))
            for (month, driver, _id), v in sorted(totals.items(), reverse=True)]


def monthly_csv(rows: list[MonthRow]) -> str:
    """The monthly table as CSV (semicolon-separated, comma decimals: opens in French spreadsheets;
    names that a spreadsheet would read as a formula are neutralised)."""
    return csv_text(
        ["mois", "benevole", "trajets", "km", "indemnites_eur", "participations_eur"],
        ([r.month, r.driver, r.rides, f"{r.km:.1f}".replace(".", ","),
          f"{r.allowance_eur:.2f}".replace(".", ","), f"{r.contribution_eur:.2f}".replace(".", ",")]
         for r in rows))


def map_features(structure_ids: list[int] | None) -> dict[str, list[dict[str, Any]]]:
    """Points for the dashboard map: open and unserved needs (pickup) and volunteers (home).

    Needs carry only their status, purpose and commune-level place labels: no names.
    """
    needs = db.session.execute(_scope(
        select(RideNeed).where(RideNeed.status.in_((*OPEN_STATUSES, "confirmed", "unserved")))
        .order_by(RideNeed.requested_at.desc()).limit(500), structure_ids, RideNeed.structure_id)).scalars()
    drivers = db.session.execute(_scope(select(Driver).where(Driver.active.is_(True)), structure_ids,
                                        Driver.structure_id)).scalars()
    out: dict[str, list[dict[str, Any]]] = {"needs": [], "drivers": []}
    for n in needs:
        if n.pickup_lat_lon:
            out["needs"].append({"lat": round(n.pickup_lat_lon[0], 4), "lon": round(n.pickup_lat_lon[1], 4),
                                 "status": n.status, "purpose": n.purpose, "to": n.dropoff_label})
    for d in drivers:
        home = d.home_lat_lon
        if home:
            out["drivers"].append({"lat": round(home[0], 3), "lon": round(home[1], 3),
                                   "commune": d.home_commune.name if d.home_commune else ""})
    return out

