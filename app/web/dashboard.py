"""The coordinators' dashboard and its CSV export."""

from __future__ import annotations

from flask import Response, current_app, render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..services import access
from ..services import dashboard as stats
from ..services.audit import record_audit
from . import bp


def _months() -> list[stats.MonthRow]:
    """The monthly km table of the user's scope; drivers she may not see by first name only."""
    return stats.monthly_kilometres(
        access.dashboard_structure_ids(current_user), current_app.config.get("TIMEZONE", "Europe/Paris"),
        float(current_app.config.get("COST_SHARE_EUR_PER_KM", 0.32)),
        visible_drivers=access.driver_filter(current_user))


@bp.get("/tableau-de-bord")
@login_required
@access.roles_required("coordinator", "admin")
def dashboard() -> str:
    from datetime import timedelta

    from ..models import utcnow
    from ..services.lifecycle import recent_expiries

    scope = access.dashboard_structure_ids(current_user)
    return render_template(
        "web/dashboard.html",
        expiries=recent_expiries(scope, utcnow() - timedelta(hours=48)),
        counts=stats.status_counts(scope),
        waiting=stats.waiting_needs(scope),
        gaps=stats.unserved_gaps(scope),
        activity=stats.volunteer_activity(scope),
        months=_months(),
        map_data=stats.map_features(scope),
    )


@bp.get("/tableau-de-bord/kilometres.csv")
@login_required
@access.roles_required("coordinator", "admin")
def dashboard_csv() -> Response:
    rows = _months()
    record_audit("export", "monthly_km", None, user=current_user)
    db.session.commit()
    return Response("\ufeff" + stats.monthly_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="kilometres-indemnites.csv"'})
