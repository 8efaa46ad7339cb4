"""Open-data API views."""

from __future__ import annotations

from flask import jsonify

from ..extensions import csrf
from . import bp, standard_bp

csrf.exempt(bp)
csrf.exempt(standard_bp)


@standard_bp.get("/status")
def status():  # type: ignore[no-untyped-def]
    """Health of the carpooling-standard API (the standard asks for a plain 200)."""
    return jsonify({"status": "ok"})
