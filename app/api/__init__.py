"""Blueprints ``api`` (open-data journey search, JSON) and ``standard`` (French carpooling standard)."""

from flask import Blueprint

bp = Blueprint("api", __name__)
standard_bp = Blueprint("standard", __name__)

from . import errors, standard, views  # noqa: E402,F401  (routes and handlers register on the blueprints)
