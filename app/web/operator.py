"""Who runs the service: name, tagline, logo and contact in every page, and the theme.

The State design system (DSFR, the Marianne block) may only be used by State services; any other
operator (a département, an intercommunality, an association) gets the platform's own neutral
theme with the same page structure (``app/static/theme-neutral.css``).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, send_file, url_for
from werkzeug.wrappers import Response

from ..extensions import limiter
from ..services.people import format_phone
from . import bp

_LOGO_TYPES = {"image/png", "image/svg+xml", "image/jpeg", "image/webp", "image/gif"}


@dataclass(frozen=True)
class Operator:
    name: str
    tagline: str
    logo_url: str | None
    contact: str
    phone: str
    is_state: bool


def _logo_path() -> Path | None:
    configured = current_app.config.get("OPERATOR_LOGO") or ""
    if not configured:
        return None
    path = Path(configured)
    if not path.is_absolute():
        path = Path(current_app.root_path) / "static" / configured
    if not path.is_file() or mimetypes.guess_type(path.name)[0] not in _LOGO_TYPES:
        return None
    return path


def current_operator() -> Operator:
    """The operator as configured (OPERATOR_NAME, OPERATOR_LOGO, OPERATOR_IS_STATE...)."""
    cfg = current_app.config
    return Operator(
        name=cfg.get("OPERATOR_NAME") or "Mobilité solidaire",
        tagline=cfg.get("OPERATOR_TAGLINE") or "",
        logo_url=url_for("web.operator_logo") if _logo_path() else None,
        contact=cfg.get("OPERATOR_CONTACT") or "",
        phone=format_phone(cfg.get("SERVICE_PHONE") or ""),
        is_state=bool(cfg.get("OPERATOR_IS_STATE")),
    )


@bp.app_context_processor
def _operator() -> dict[str, object]:
    return {"operator": current_operator()}


@bp.get("/operateur/logo")
@limiter.exempt
def operator_logo() -> Response:
    """The operator's logo file (OPERATOR_LOGO: a path, absolute or under app/static/)."""
    path = _logo_path()
    if path is None:
        abort(404)
    return send_file(path, mimetype=mimetypes.guess_type(path.name)[0], max_age=3600)
