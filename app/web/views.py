"""Public pages: home and health check."""

from __future__ import annotations

from flask import current_app, jsonify, render_template
from flask_login import login_required
from sqlalchemy import text

from ..errors import TerritoryNotBuilt
from ..extensions import db, limiter
from ..models import Commune
from ..services.runtime import loaded_territory
from . import bp


@bp.app_context_processor
def _territory_banner() -> dict[str, object]:
    """Every page shows which territory it runs on, and says so when it is the demo."""
    try:
        territory = loaded_territory()
    except TerritoryNotBuilt:
        return {"territory": None}
    return {"territory": territory}


@bp.get("/")
def home() -> str:
    return render_template("web/home.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():  # type: ignore[no-untyped-def]
    """Liveness and configuration summary, for monitoring and the set-up check."""
    payload: dict[str, object] = {"status": "ok", "database": current_app.config["DATABASE_BACKEND"]}
    try:
        db.session.execute(text("SELECT 1"))
        payload["database_ok"] = True
    except Exception as exc:  # noqa: BLE001 - reported, not hidden: the check's whole point
        payload.update(status="error", database_ok=False, database_error=type(exc).__name__)
    try:
        territory = loaded_territory()
        payload["territory"] = {
            "name": territory.name,
            "demo": territory.is_demo,
            "label": territory.manifest.get("label"),
            "nodes": territory.graph.n_nodes,
            "edges": territory.graph.n_edges,
            "built_at": territory.manifest.get("built_at"),
        }
    except TerritoryNotBuilt as exc:
        payload.update(status="error", territory=None, territory_error=str(exc))
    return jsonify(payload), (200 if payload["status"] == "ok" else 503)


@bp.get("/readyz")
@limiter.exempt
def readyz():  # type: ignore[no-untyped-def]
    """Readiness: database, Redis where configured, queue backlog, SMS waiting, territory loaded.

    503 with the failing checks when this process should not receive traffic.
    """
    from ..services.readiness import readiness

    checks = readiness()
    ok = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if ok else "error", "checks": checks}), (200 if ok else 503)


@bp.get("/communes.json")
@login_required
def communes_json():  # type: ignore[no-untyped-def]
    """Centre of each commune, for the map that places a home (no personal data)."""
    rows = db.session.execute(db.select(Commune).order_by(Commune.name)).scalars()
    return jsonify([{"insee": c.insee, "name": c.name, "lat": c.lat_lon[0], "lon": c.lat_lon[1]}
                    for c in rows if c.lat_lon])


# The French error pages live in error_pages.py (registered by the application factory).
