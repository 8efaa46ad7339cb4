"""What the OpenAPI document says of each operation beyond its typed schemas.

Ids, summaries and descriptions in English with their French text (``x-fr``), and the answers
each operation may give. Parameters, bodies, limits and response fields come from the
schemas (:mod:`app.api.schemas`); views apply these with ``@bp.doc(**OPERATION)``.
"""

from __future__ import annotations

from typing import Any

from .schemas.booking import Booking
from .schemas.journeys import ApiError, JourneysResponse
from .schemas.standard import DriverJourney, DriverRegularTrip, StandardError, Status

JSON = "application/json"
STANDARD_TAG = "standard covoiturage"


def answer(
    en: str,
    fr: str,
    schema: Any = None,
    *,
    headers: dict[str, Any] | None = None,
    content_type: str = JSON,
) -> dict[str, Any]:
    """A documented response: description, French text, body schema, headers."""
    out: dict[str, Any] = {"description": en, "x-fr": fr}
    if schema is not None:
        out["content"] = {content_type: {"schema": schema}}
    if headers:
        out["headers"] = headers
    return out


RATE_HEADERS = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
}
CACHE_HEADERS = {
    "Cache-Control": {
        "description": "Caching policy (public, max-age in seconds).",
        "schema": {"type": "string"},
    },
    "ETag": {"description": "Entity tag, for If-None-Match.", "schema": {"type": "string"}},
}
NOT_MODIFIED = {"description": "Not modified (If-None-Match).", "x-fr": "Non modifié."}

API_ERRORS = {
    400: answer(
        "Malformed parameter (named in `parameter`).",
        "Paramètre mal formé (nommé dans `parameter`).",
        ApiError,
    ),
    429: answer(
        "Too many requests; retry after `Retry-After` seconds.",
        "Trop de requêtes ; réessayer après `Retry-After` secondes.",
        ApiError,
        headers=RATE_HEADERS,
    ),
}
STANDARD_ERRORS = {
    400: answer(
        "Bad request: a parameter is missing or malformed.",
        "Requête invalide : un paramètre manque ou est mal formé.",
        StandardError,
    ),
    429: answer(
        "Too many requests; retry after `Retry-After` seconds.",
        "Trop de requêtes ; réessayer après `Retry-After` secondes.",
        StandardError,
        headers=RATE_HEADERS,
    ),
}

# --- /api/v1 ------------------------------------------------------------------------------------

JOURNEYS = {
    "operationId": "searchJourneys",
    "summary": "Search itineraries: public transport, volunteer rides, and both combined.",
    "x-fr": "Chercher des itinéraires : transports en commun, trajets solidaires, et les deux "
    "combinés.",
    "description": (
        "Itineraries from `from` to `to`, leaving after `datetime` (or arriving before it with "
        "`arrive_by=true`). `transit` itineraries walk to a stop and ride the territory's lines; "
        "`solidarity` ones are volunteer rides booked by phone with the solidarity service, and "
        "`carpool` ones volunteers' planned trips with room for a passenger; `combined` ones "
        "have a volunteer drive the rider to or from a station. Volunteers are never named; "
        "pick-up points are generalised to a public place (town hall, station, commune). Only "
        "volunteers who agreed to publication appear; their trips are computed from the centre "
        "of their commune, never from their home, and their times rounded (to 5 minutes by "
        "default). A volunteer leg is offered only when a volunteer is on call at the leg's own "
        "time, lives within her distance of both its ends, has no booking then, and drives with "
        "the rider at most a bound per journey set by the operator (45 minutes by default); "
        "stations are tried by importance (departures per day)."
    ),
    "responses": {
        200: answer(
            "Itineraries, best first.",
            "Itinéraires, les meilleurs d'abord.",
            JourneysResponse,
            headers=CACHE_HEADERS,
        ),
        304: NOT_MODIFIED,
        **API_ERRORS,
    },
}

GTFS = {
    "operationId": "getGtfs",
    "summary": "Volunteers' regular trips and the solidarity service as GTFS.",
    "x-fr": "Trajets réguliers des bénévoles et service solidaire au format GTFS.",
    "description": (
        "Carpooling routes have route_type 1551; rides are booked by phone (pickup_type 2, "
        "GTFS-Flex booking_rules.txt). Places are generalised to communes (a commune under the "
        "minimum population, 1,000 by default, to the nearest commune above it), times rounded: "
        "no names, phones or homes. Only volunteers who agreed to publication appear."
    ),
    "responses": {
        200: answer(
            "A GTFS zip archive.",
            "Une archive GTFS.",
            {"type": "string", "format": "binary"},
            headers=CACHE_HEADERS,
            content_type="application/zip",
        ),
        304: NOT_MODIFIED,
        404: answer(
            "No volunteer trip is published yet (a GTFS feed needs a trip).",
            "Aucun trajet de bénévole n'est encore publié.",
            ApiError,
        ),
        429: API_ERRORS[429],
    },
}

OPENAPI = {
    "operationId": "getOpenApi",
    "summary": "This document.",
    "x-fr": "Ce document.",
    "responses": {
        200: answer("OpenAPI 3 document.", "Document OpenAPI 3.", {"type": "object"}),
        304: NOT_MODIFIED,
        429: API_ERRORS[429],
    },
}

DOCS = {
    "operationId": "getDocs",
    "summary": "This document, as a web page.",
    "x-fr": "Ce document, en page web.",
    "responses": {
        200: answer(
            "The documentation page.",
            "La page de documentation.",
            {"type": "string"},
            content_type="text/html",
        ),
        304: NOT_MODIFIED,
        **API_ERRORS,
    },
}

# --- /api/covoiturage/v1: search ------------------------------------------------------------------

_STD_200 = "Ok. Request processed successfully."

DRIVER_JOURNEYS = {
    "operationId": "getDriverJourneys",
    "summary": "One-off volunteer trips matching a passenger's trip.",
    "x-fr": "Trajets ponctuels de bénévoles correspondant au trajet d'un passager.",
    "description": (
        "Pickup and drop-off are the searched points (the volunteer makes the detour, checked "
        "on the road network) or, when her trip does not allow that detour, the ends of her trip "
        "if they lie within departureRadius / arrivalRadius; every result is within the radii; "
        "|passengerPickupDate − departureDate| ≤ timeDelta. webUrl is the journey's public page "
        "(how to book it)."
    ),
    "responses": {
        200: answer(
            _STD_200,
            "Requête traitée.",
            {"type": "array", "items": DriverJourney},
            headers=CACHE_HEADERS,
        ),
        304: NOT_MODIFIED,
        **STANDARD_ERRORS,
    },
}

DRIVER_REGULAR_TRIPS = {
    "operationId": "getDriverRegularTrips",
    "summary": "Regular volunteer trips matching a passenger's regular trip.",
    "x-fr": "Trajets réguliers de bénévoles correspondant au trajet régulier d'un passager.",
    "description": "Schedules list the next journeys (at most four per weekday) within the date "
    "window.",
    "responses": {
        200: answer(
            _STD_200,
            "Requête traitée.",
            {"type": "array", "items": DriverRegularTrip},
            headers=CACHE_HEADERS,
        ),
        304: NOT_MODIFIED,
        **STANDARD_ERRORS,
    },
}

STATUS = {
    "operationId": "getStatus",
    "summary": "Health of the API.",
    "x-fr": "État du service.",
    "responses": {
        200: answer("Webservice is available.", "Le service fonctionne.", Status),
        429: STANDARD_ERRORS[429],
    },
}

# --- /api/covoiturage/v1: booking (partner API keys) -----------------------------------------------

#: The security schemes of the booking routes (declared in the document's components).
PARTNER_SECURITY = [{"partnerBearer": []}, {"partnerApiKey": []}]
SECURITY_SCHEMES = {
    "partnerBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A partner operator's API key (booking routes).",
    },
    "partnerApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-KEY",
        "description": "The same key, in a header.",
    },
}
_AUTH_EN = (
    "Needs a partner API key with the 'booking' scope, sent as `Authorization: Bearer <key>` "
    "or `X-API-KEY: <key>` (keys are created by an administrator of the platform)."
)
_AUTH_FR = (
    "Demande une clé de partenaire avec le droit « réservation », en `Authorization: Bearer "
    "<clé>` ou `X-API-KEY: <clé>` (clés créées par un administrateur de la plateforme)."
)
_AUTH_ERRORS = {
    401: answer(
        "Missing, unknown or revoked API key.", "Clé absente, inconnue ou révoquée.", StandardError
    ),
    403: answer(
        "The API key lacks the 'booking' scope.",
        "La clé n'a pas le droit « réservation ».",
        StandardError,
    ),
    **STANDARD_ERRORS,
}
_MISSING = answer(
    "Unknown booking or journey (missing_booking, missing_journey).",
    "Réservation ou trajet inconnu.",
    StandardError,
)
_CONFLICT = answer(
    "Conflict: the booking exists already, or has this status already (status_already_set).",
    "Conflit : réservation déjà connue, ou statut déjà en place.",
    StandardError,
)
_BOOKING = answer("The booking.", "La réservation.", Booking)


def _booking_op(operation_id: str, en: str, fr: str, responses: dict[int, Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": en,
        "x-fr": fr,
        "description": _AUTH_EN,
        "x-fr-auth": _AUTH_FR,
        "security": PARTNER_SECURITY,
        "responses": {**responses, **_AUTH_ERRORS},
    }


POST_BOOKING = _booking_op(
    "postBookings",
    "Book a driver journey returned by /driver_journeys (status WAITING_CONFIRMATION); the "
    "volunteer is asked by SMS.",
    "Réserver un trajet de bénévole ; le bénévole est sollicité par SMS.",
    {
        201: answer("Booking created.", "Réservation créée.", Booking),
        404: _MISSING,
        409: _CONFLICT,
    },
)
GET_BOOKING = _booking_op(
    "getBookings",
    "A booking of the calling partner, with its current status.",
    "Une réservation du partenaire, avec son état.",
    {200: _BOOKING, 404: _MISSING},
)
PATCH_BOOKING = _booking_op(
    "patchBookings",
    "Change a booking's status: CANCELLED (the volunteer is told), or VALIDATED after the ride.",
    "Changer l'état d'une réservation : annulation (le bénévole est prévenu) ou validation.",
    {200: _BOOKING, 404: _MISSING, 409: _CONFLICT},
)
POST_BOOKING_EVENT = _booking_op(
    "postBookingEvents",
    "A booking changed on the partner's side (CANCELLED and VALIDATED are applied).",
    "Une réservation a changé chez le partenaire.",
    {
        200: answer(_STD_200, "Requête traitée.", Status),
        404: _MISSING,
        409: _CONFLICT,
    },
)
POST_MESSAGE = _booking_op(
    "postConnections",
    "A message from the partner's passenger to the volunteer of a journey or booking, relayed "
    "by SMS.",
    "Message d'un passager du partenaire au bénévole, transmis par SMS.",
    {201: answer("Message relayed.", "Message transmis.", Status), 404: _MISSING},
)
