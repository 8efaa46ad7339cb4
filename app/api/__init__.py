"""Blueprints ``api`` (open-data journey search, JSON) and ``standard`` (French carpooling standard).

Both parse their requests through typed schemas (:mod:`app.api.schemas`), which also write
the OpenAPI document (:mod:`app.api.openapi`).
"""

from .validation import ApiBlueprint

bp = ApiBlueprint("api", __name__, description="Open data API")
standard_bp = ApiBlueprint("standard", __name__, description="Standard covoiturage")

from . import errors, standard, views  # noqa: E402,F401  (routes and handlers register on the blueprints)
