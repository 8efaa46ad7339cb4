"""Blueprint ``web``: the aidants' pages (HTML, French)."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import (  # noqa: E402,F401  (routes register on bp)
    absences,
    admin,
    audit,
    auth,
    call_notes,
    cli,
    confirmation,
    dashboard,
    drivers,
    filters,
    needs,
    operator,
    partners,
    people,
    planning,
    series,
    views,
)
