"""The OpenAPI 3 document of the public APIs, generated from the typed schemas.

flask-smorest collects what each view declares (its query, path and body schemas through
``@bp.arguments``, its answers through ``@bp.doc``) and apispec turns the marshmallow schemas
into parameters and components, so that what is validated is what is documented. Only the
document's head is written here: info, tags, security schemes.

Descriptions are in English; ``x-fr`` extensions carry the French text shown by the docs page.
Tests check the API against this document with schemathesis.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask, current_app
from flask_smorest import Api
from marshmallow import fields

from .operations import SECURITY_SCHEMES

API = "/api/v1"
STANDARD = "/api/covoiturage/v1"
OPENAPI_VERSION = "3.0.3"
_EXTENSION = "lot-openapi"

_INFO = {
    "x-title-fr": "Mobilité solidaire du Lot — API de données ouvertes",
    "description": (
        "Public API of the solidarity mobility platform of the Lot: journey search combining "
        "trains, buses and volunteer drivers; the volunteers' regular trips and the solidarity "
        "service as GTFS and GTFS-Flex; and the French carpooling standard (Standard "
        "covoiturage): public search routes, and booking routes for partner operators, who "
        "authenticate with an API key (Authorization: Bearer, or X-API-KEY) created by an "
        "administrator. CORS open; rate-limited per client (429 with Retry-After). No rider, "
        "need or personal data is ever published."
    ),
    "x-fr": (
        "API publique de la plateforme de mobilité solidaire du Lot : recherche d'itinéraires "
        "combinant trains, cars et conducteurs bénévoles ; trajets réguliers des bénévoles et "
        "service solidaire en GTFS et GTFS-Flex ; Standard covoiturage : routes de recherche "
        "publiques, et routes de réservation pour les opérateurs partenaires, authentifiés par "
        "une clé d'API (Authorization: Bearer, ou X-API-KEY) créée par un administrateur. CORS "
        "ouvert ; débit limité par client (429 avec Retry-After). Aucune donnée personnelle, "
        "aucun passager ni besoin n'est publié."
    ),
    "license": {"name": "Licence Ouverte 2.0 (data), ODbL (OpenStreetMap, SNCF)"},
}
_TAGS = [
    {"name": "journeys", "description": "Journey search", "x-fr": "Recherche d'itinéraires"},
    {"name": "open data", "description": "Open data exports", "x-fr": "Données ouvertes"},
    {
        "name": "standard covoiturage",
        "description": "French carpooling standard, base path " + STANDARD,
        "x-fr": "Standard covoiturage, chemin de base " + STANDARD,
    },
]


class _DocumentApi(Api):
    """flask-smorest's Api, used only to build the document.

    Our blueprints keep their own JSON errors (app.api.errors) and serve the document
    themselves (cache headers, rate limit), so the Api adds no error handler to the app and
    no route: without ``OPENAPI_URL_PREFIX`` it registers none.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """None: an app-wide JSON handler would also answer the HTML pages' errors."""


def _parameter_extras(
    converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """The French text and the example of a parameter moved beside its schema, where OpenAPI
    places a parameter's description and example (apispec binds this to its converter)."""
    return {key: ret["schema"].pop(key) for key in ("x-fr", "example") if key in ret["schema"]}


def _build(app: Flask) -> dict[str, Any]:
    from . import bp, standard_bp

    api = _DocumentApi(
        app,
        spec_kwargs={
            "title": "Mobilité solidaire du Lot — open data API",
            "version": "1.0.0",
            "openapi_version": OPENAPI_VERSION,
            "info": _INFO,
        },
    )
    api.ma_plugin.converter.add_parameter_attribute_function(_parameter_extras)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for blueprint in (bp, standard_bp):
        blueprint.register_views_in_doc(api, app, api.spec, name=blueprint.name, parameters=None)
    doc = api.spec.to_dict()
    # flask-smorest declares its own error and pagination schemas; our views use neither.
    for unused in ("Error", "PaginationMetadata"):
        doc["components"]["schemas"].pop(unused, None)
    doc["tags"] = _TAGS
    # Our open-data API first, then the standard's routes (the docs page follows this order).
    doc["paths"] = dict(
        sorted(doc["paths"].items(), key=lambda item: (not item[0].startswith(API), item[0]))
    )
    return doc


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.0 document; ``server_url`` is the site's root (paths carry their prefix).

    Built once per application, from the views' schemas.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    built = app.extensions.get(_EXTENSION)
    if built is None:
        built = app.extensions[_EXTENSION] = _build(app)
    doc = copy.deepcopy(built)
    doc["servers"] = [{"url": server_url or "/"}]
    return doc  # type: ignore[no-any-return]
