"""Blueprint ``web``: the aidants' pages (HTML, French)."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import (  # noqa: E402,F401  (routes register on bp)
    admin,
    auth,
    cli,
    dashboard,
    drivers,
    filters,
    needs,
    people,
    planning,
    views,
)
