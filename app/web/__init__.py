"""Blueprint ``web``: the aidants' pages (HTML, French)."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import auth, views  # noqa: E402,F401  (routes register on bp)
