"""Day planning for coordinators: the best assignment of a day's open needs to drivers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from ..errors import TerritoryNotBuilt
from ..services import access
from ..services.matching import plan_day
from . import bp
from .forms import ProposeForm


def _day_from_query() -> tuple[date, str | None]:
    """The day asked for (?jour=YYYY-MM-DD), tomorrow by default; an error message if malformed."""
    tomorrow = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date() + timedelta(days=1)
    raw = request.args.get("jour", "").strip()
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
    day, error = _day_from_query()
    try:
        # The structure's own needs, and every driver the coordinator may see (access rule).
        plan = plan_day(day, access.dashboard_structure_ids(current_user),
                        visible_drivers=access.driver_filter(current_user))
    except TerritoryNotBuilt:
        plan = None
    forms = {
        need.id: ProposeForm(formdata=None, version=need.version, driver_id=candidate.driver.id)
        for need, candidate in (plan.rides if plan else [])
    }
    return render_template("web/planning.html", plan=plan, day=day, error=error, forms=forms,
                           previous=day - timedelta(days=1), following=day + timedelta(days=1))
