"""Day plans computed on the queue, stored, and proposed route by route.

"Planifier la journée" stores a :class:`DayPlanRun` (queued) and queues :func:`run_plan`; the
worker runs the pooled planner (:func:`app.services.matching.plan_day`, which keeps the day's
bookings fixed) and stores the plan as plain JSON. The planning page shows the progress, then
the stored plan, which stays until something it was computed from changes
(:func:`app.services.day_state.day_fingerprint`). No solver runs inside a web request.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..errors import TerritoryNotBuilt
from ..extensions import db
from ..models import DayPlanRun, Driver, RideNeed, User, aware_utc, utcnow
from . import access
from .day_state import day_fingerprint

log = logging.getLogger(__name__)

FAILED_FR = ("Le calcul du plan a échoué. Relancez « Planifier la journée » ; si l'échec se "
             "répète, proposez les trajets un par un depuis la page de chaque besoin et prévenez "
             "l'administrateur de la plateforme.")
NO_TERRITORY_FR = ("Le territoire n'est pas encore construit : l'administrateur doit lancer "
                   "« flask territory ensure » avant toute planification.")
STALE_AFTER_S = 15 * 60
"""A queued or running plan older than this is taken as lost (worker stopped): it may be re-run."""


def scope_of(user: User | None) -> str:
    """The needs and drivers a user's plan covers, as a key (an administrator plans everything)."""
    if user is None or access.is_admin(user):
        return "all"
    return f"structure:{user.structure_id}"


def latest_run(day: date, scope: str) -> DayPlanRun | None:
    return db.session.execute(
        select(DayPlanRun).where(DayPlanRun.day == day, DayPlanRun.scope == scope)
        .order_by(DayPlanRun.id.desc())).scalars().first()


def in_progress(run: DayPlanRun | None) -> bool:
    """Queued or running, and not lost (see STALE_AFTER_S)."""
    if run is None or run.status not in ("queued", "running"):
        return False
    started = aware_utc(run.started_at or run.created_at)
    return started is not None and (utcnow() - started).total_seconds() < STALE_AFTER_S


def is_current(run: DayPlanRun) -> bool:
    """The stored plan still matches the day's data."""
    return run.status == "done" and run.fingerprint == day_fingerprint(run.day)


def request_plan(day: date, user: User) -> DayPlanRun:
    """Queue the day's plan for the user's scope (one at a time per day and scope)."""
    scope = scope_of(user)
    current = latest_run(day, scope)
    if in_progress(current):
        assert current is not None
        return current
    run = DayPlanRun(day=day, scope=scope, status="queued", requested_by_id=user.id)
    db.session.add(run)
    db.session.commit()
    from ..tasks import app_tasks

    app_tasks().plan_day(run.id)
    return run


def run_plan(run_id: int) -> None:
    """The queue's task: compute and store a requested plan (never raises for a solver error)."""
    from .matching import plan_day

    run = db.session.get(DayPlanRun, run_id)
    if run is None or run.status not in ("queued", "running"):
        return
    run.status, run.started_at = "running", utcnow()
    db.session.commit()
    user = run.requested_by
    structure_ids = access.dashboard_structure_ids(user) if user is not None else None
    visible = access.driver_filter(user) if user is not None else None
    fingerprint = day_fingerprint(run.day)  # before: a change during the run makes it stale
    try:
        plan = plan_day(run.day, structure_ids, visible_drivers=visible,
                        time_limit_s=float(current_app.config.get("PLAN_TIME_LIMIT_S", 5.0)))
        result = serialise(plan)
    except TerritoryNotBuilt:
        db.session.rollback()
        _fail(run_id, NO_TERRITORY_FR)
        return
    except Exception:
        db.session.rollback()
        log.exception("day plan %s failed", run_id)
        _fail(run_id, FAILED_FR)
        return
    run = db.session.get(DayPlanRun, run_id)
    assert run is not None
    run.result, run.fingerprint, run.status = result, fingerprint, "done"
    run.seconds, run.proven_optimal, run.finished_at = plan.seconds, plan.proven_optimal, utcnow()
    db.session.commit()


def _fail(run_id: int, message: str) -> None:
    run = db.session.get(DayPlanRun, run_id)
    if run is not None:
        run.status, run.error, run.finished_at = "failed", message[:500], utcnow()
        db.session.commit()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def serialise(plan: Any) -> dict[str, Any]:
    """A DayPlan as plain JSON: ids, times and figures (names are read again when shown)."""
    committed = set(plan.committed)
    routes = []
    for route in plan.routes:
        needs = {stop.need.id for stop in route.stops}
        routes.append({
            "driver": route.driver.id, "offer": route.offer.id if route.offer is not None else None,
            "kind": route.kind, "start": _iso(route.start_at), "end": _iso(route.end_at),
            "distance_m": round(route.distance_m), "added_distance_m": round(route.added_distance_m),
            "riders": route.riders, "max_on_board": route.max_on_board,
            "stops": [{"need": s.need.id, "kind": s.kind, "leg": s.leg, "at": _iso(s.at), "on_board": s.on_board}
                      for s in route.stops],
            "committed": sorted(n for n in needs if n in committed),
        })
    rides = [{"need": need.id, "driver": c.driver.id, "kind": c.kind, "pickup": _iso(c.pickup_at),
              "dropoff": _iso(c.dropoff_at), "return_pickup": _iso(c.return_pickup_at),
              "added_distance_m": round(c.added_distance_m), "committed": need.id in committed}
             for need, c in plan.rides]
    unserved = [{"need": need.id, "reasons": [{"code": r.code, "count": r.count, "message": r.message_fr}
                                               for r in reasons]}
                for need, reasons in plan.unserved]
    return {"routes": routes, "rides": rides, "unserved": unserved,
            "figures": {"served": len(plan.rides), "priority_served": plan.priority_served,
                        "distance_m": round(plan.distance_m), "added_distance_m": round(plan.added_distance_m),
                        "riders_per_drive": round(plan.riders_per_drive, 2), "seconds": round(plan.seconds, 2),
                        "proven_optimal": bool(plan.proven_optimal)},
            "moved": {str(k): v for k, v in plan.moved.items()},
            "broken": {str(k): v for k, v in plan.broken.items()},
            "proposed": []}


def shown(run: DayPlanRun) -> dict[str, Any]:
    """The stored plan with the records it names (needs, drivers), for the page."""
    result = run.result or {}
    need_ids = {s["need"] for r in result.get("routes", []) for s in r["stops"]}
    need_ids |= {u["need"] for u in result.get("unserved", [])}
    driver_ids = {r["driver"] for r in result.get("routes", [])}
    needs = {n.id: n for n in db.session.execute(select(RideNeed).where(RideNeed.id.in_(need_ids))).scalars()} \
        if need_ids else {}
    drivers = {d.id: d for d in db.session.execute(select(Driver).where(Driver.id.in_(driver_ids))).scalars()} \
        if driver_ids else {}
    return {"result": result, "needs": needs, "drivers": drivers}


def route_plan(run: DayPlanRun, index: int) -> Any:
    """The stored route ``index`` as a RoutePlan to propose (app.services.rides.propose_route)."""
    from .rides import RoutePlan, riders_from_stops

    routes = (run.result or {}).get("routes", [])
    if not 0 <= index < len(routes):
        raise IndexError(index)
    route = routes[index]
    committed = set(route.get("committed", []))
    riders = riders_from_stops(route["stops"])
    if committed:
        from ..models import Proposal

        booked = {p.need_id: p.id for p in db.session.execute(select(Proposal).where(
            Proposal.need_id.in_(committed), Proposal.driver_id == route["driver"],
            Proposal.status.in_(("pending", "accepted")))).scalars()}
        for need_id in committed:
            if need_id in riders:
                riders[need_id].committed_proposal_id = booked.get(need_id)
    return RoutePlan(driver_id=route["driver"], offer_id=route.get("offer"), kind=route["kind"],
                     start_at=datetime.fromisoformat(route["start"]), end_at=datetime.fromisoformat(route["end"]),
                     distance_m=float(route.get("distance_m") or 0), stops=route["stops"],
                     riders=list(riders.values()), plan_id=run.id)


def mark_proposed(run: DayPlanRun, indexes: list[int], route_ids: list[int]) -> None:
    """Remember which routes of the plan were proposed; the plan stays current (the change
    is the plan's own)."""
    result = dict(run.result or {})
    result["proposed"] = sorted(set(result.get("proposed", [])) | set(indexes))
    result["route_ids"] = {**result.get("route_ids", {}), **{str(i): r for i, r in zip(indexes, route_ids, strict=False)}}
    run.result = result
    run.fingerprint = day_fingerprint(run.day)
    db.session.commit()
