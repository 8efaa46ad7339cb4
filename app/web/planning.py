"""Day planning for coordinators: the day's plan computed on the queue, then proposed.

The page never runs the solver: "Planifier la journée" queues the computation
(app.services.day_plans); the page shows its progress, then the stored plan — routes, each
rider's times, riders per car, kilometres, whether it is proven optimal — which stays until a
need or an offer of the day changes. The coordinator proposes the whole plan, or the routes
she selects, in one action: each route goes to its driver as one SMS.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..services import access, day_plans
from ..services.rides import RideError, propose_route
from . import bp
from .forms import PlanForm


def _day_from(raw: str) -> tuple[date, str | None]:
    """The day asked for (YYYY-MM-DD), tomorrow by default; an error message if malformed."""
    tomorrow = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date() + timedelta(days=1)
    raw = (raw or "").strip()
    if not raw:
        return tomorrow, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return tomorrow, "Date invalide : indiquez-la sous la forme AAAA-MM-JJ."


@bp.get("/planification")
@login_required
@access.roles_required("coordinator", "admin")
def planning() -> str:
    day, error = _day_from(request.args.get("jour", ""))
    run = day_plans.latest_run(day, day_plans.scope_of(current_user))
    running = day_plans.in_progress(run)
    current = run is not None and run.status == "done" and day_plans.is_current(run)
    shown = day_plans.shown(run) if run is not None and run.status == "done" else None
    return render_template("web/planning.html", day=day, error=error, run=run, running=running,
                           current=current, shown=shown, form=PlanForm(formdata=None, jour=day.isoformat()),
                           previous=day - timedelta(days=1), following=day + timedelta(days=1))


@bp.post("/planification/lancer")
@login_required
@access.roles_required("coordinator", "admin")
def planning_start() -> Response:
    form = PlanForm()
    day, error = _day_from(form.jour.data or "")
    if error or not form.validate_on_submit():
        flash(error or "La demande a expiré : relancez la planification.", "error")
        return redirect(url_for("web.planning"))
    day_plans.request_plan(day, current_user)
    return redirect(url_for("web.planning", jour=day.isoformat()))


@bp.post("/planification/proposer")
@login_required
@access.roles_required("coordinator", "admin")
def planning_propose() -> Response:
    form = PlanForm()
    day, error = _day_from(form.jour.data or "")
    back = redirect(url_for("web.planning", jour=day.isoformat()))
    if error or not form.validate_on_submit():
        flash(error or "La demande a expiré : recommencez.", "error")
        return back
    run = day_plans.latest_run(day, day_plans.scope_of(current_user))
    if run is None or run.status != "done" or str(run.id) != (form.run_id.data or ""):
        flash("Ce plan n'est plus le dernier calculé : voici le plan actuel.", "error")
        return back
    if not day_plans.is_current(run):
        flash("Le plan n'est plus à jour (un besoin, une disponibilité ou une réponse a changé depuis) : "
              "relancez « Planifier la journée » avant de proposer.", "error")
        return back
    routes = (run.result or {}).get("routes", [])
    done_before = set((run.result or {}).get("proposed", []))
    wanted = range(len(routes)) if request.form.get("tout") else \
        sorted({int(v) for v in request.form.getlist("route") if v.isdigit()})
    wanted = [i for i in wanted if 0 <= i < len(routes) and i not in done_before]
    if not wanted:
        flash("Choisissez au moins une tournée à proposer.", "error")
        return back
    proposed: list[tuple[int, int]] = []
    for index in wanted:
        plan = day_plans.route_plan(run, index)
        if not any(r.committed_proposal_id is None for r in plan.riders):
            continue
        try:
            route = propose_route(plan, by_user=current_user)
        except RideError as exc:
            flash(f"Tournée {index + 1} non proposée : {exc}", "error")
            continue
        proposed.append((index, route.id))
    if proposed:
        day_plans.mark_proposed(run, [i for i, _ in proposed], [r for _, r in proposed])
        flash(f"{len(proposed)} tournée(s) proposée(s) par SMS à leur conducteur.", "success")
    return back
