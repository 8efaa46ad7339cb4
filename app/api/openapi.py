"""The OpenAPI 3 description of the public APIs (journey search, GTFS, carpooling standard).

Descriptions are in English; ``x-fr`` extensions carry the French text shown by the docs page.
Tests check the API against this document with schemathesis, so it must stay exact.
"""

from __future__ import annotations

from typing import Any

API = "/api/v1"
STANDARD = "/api/covoiturage/v1"


def _p(
    name: str,
    schema: dict[str, Any],
    en: str,
    fr: str,
    *,
    required: bool = False,
    example: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    param: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": en,
        "x-fr": fr,
        **extra,
    }
    if example is not None:
        param["example"] = example
    return param


def _json(
    schema: dict[str, Any], en: str, fr: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": en,
        "x-fr": fr,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        out["headers"] = headers
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_RATE_HEADERS = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
}
_CACHE_HEADERS = {
    "Cache-Control": {
        "description": "Caching policy (public, max-age in seconds).",
        "schema": {"type": "string"},
    },
    "ETag": {"description": "Entity tag, for If-None-Match.", "schema": {"type": "string"}},
}

_ERRORS_API = {
    "400": _json(
        _ref("ApiError"),
        "Malformed parameter (named in `parameter`).",
        "Paramètre mal formé (nommé dans `parameter`).",
    ),
    "429": _json(
        _ref("ApiError"),
        "Too many requests; retry after `Retry-After` seconds.",
        "Trop de requêtes ; réessayer après `Retry-After` secondes.",
        _RATE_HEADERS,
    ),
}
_ERRORS_STANDARD = {
    "400": _json(
        _ref("StandardError"),
        "Bad request: a parameter is missing or malformed.",
        "Requête invalide : un paramètre manque ou est mal formé.",
    ),
    "429": _json(
        _ref("StandardError"),
        "Too many requests; retry after `Retry-After` seconds.",
        "Trop de requêtes ; réessayer après `Retry-After` secondes.",
        _RATE_HEADERS,
    ),
}

_LATLON = {"type": "string", "pattern": r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$"}


#: Accessibility of a leg or an itinerary, given when the query asked for ``wheelchair``.
_WHEELCHAIR = {
    "type": "string",
    "enum": ["yes", "no", "unknown"],
    "description": "Accessible in a wheelchair according to the timetable (only with "
    "`wheelchair=true`); `unknown` where the timetable does not say.",
}


def _journeys_path() -> dict[str, Any]:
    from ..services.journeys import MAX_WALK_LIMIT_M, MAX_WALK_M

    return {
        "get": {
            "operationId": "searchJourneys",
            "tags": ["journeys"],
            "summary": "Search itineraries: public transport, volunteer rides, and both combined.",
            "x-fr": "Chercher des itinéraires : transports en commun, trajets solidaires, et les deux combinés.",
            "description": (
                "Itineraries from `from` to `to`, leaving after `datetime` (or arriving before it with "
                "`arrive_by=true`). `transit` itineraries walk to a stop and ride the territory's lines; "
                "`solidarity` ones are volunteer rides booked by phone with the solidarity service, and "
                "`carpool` ones volunteers' planned trips with room for a passenger; `combined` ones have a "
                "volunteer drive the rider to or from a station. Volunteers are never named; pick-up points "
                "are generalised to a public place (town hall, station, commune). Only volunteers who "
                "agreed to publication appear; their trips are computed from the centre of their commune, "
                "never from their home, and their times rounded (to 5 minutes by default). A volunteer "
                "leg is offered only when a volunteer is on call at the leg's own time, lives within "
                "her distance of both its ends, has no booking then, and drives with the rider at most "
                "a bound per journey set by the operator (45 minutes by default); stations are tried by "
                "importance (departures per day)."
            ),
            "parameters": [
                _p(
                    "from",
                    _LATLON,
                    "Origin as `lat,lon` (WGS84).",
                    "Départ, `lat,lon` (WGS84).",
                    required=True,
                    example="44.3333,1.5652",
                ),
                _p(
                    "to",
                    _LATLON,
                    "Destination as `lat,lon` (WGS84).",
                    "Arrivée, `lat,lon` (WGS84).",
                    required=True,
                    example="43.6114,1.4536",
                ),
                _p(
                    "datetime",
                    {"type": "string", "format": "date-time"},
                    "ISO 8601 datetime (local time of the territory when no offset); now when absent. "
                    "Between 1970 and 2099.",
                    "Date et heure ISO 8601 (heure locale sans décalage) ; maintenant par défaut.",
                    example="2025-01-24T07:00:00+01:00",
                ),
                _p(
                    "arrive_by",
                    {"type": "boolean", "default": False},
                    "When true, `datetime` is the latest arrival.",
                    "Si vrai, `datetime` est l'heure d'arrivée au plus tard.",
                ),
                _p(
                    "max_transfers",
                    {"type": "integer", "minimum": 0, "maximum": 8, "default": 4},
                    "Most changes between vehicles.",
                    "Nombre maximal de correspondances.",
                ),
                _p(
                    "modes",
                    {
                        "type": "array",
                        "items": {"type": "string", "enum": ["transit", "solidarity", "combined"]},
                        "minItems": 1,
                    },
                    "Kinds of itineraries, comma-separated (default: all).",
                    "Types d'itinéraires, séparés par des virgules (par défaut : tous).",
                    style="form",
                    explode=False,
                    example=["transit", "combined"],
                ),
                _p(
                    "max_walk_m",
                    {
                        "type": "number",
                        "minimum": 0,
                        "maximum": MAX_WALK_LIMIT_M,
                        "default": MAX_WALK_M,
                    },
                    "Longest walk to or from a stop, metres in a straight line (the walking time "
                    "allows for detours). Beyond it, a volunteer's drive to the station is offered.",
                    "Marche la plus longue jusqu'à un arrêt ou depuis un arrêt, en mètres à vol "
                    "d'oiseau. Au-delà, un trajet solidaire jusqu'à la gare est proposé.",
                    example=800,
                ),
                _p(
                    "wheelchair",
                    {"type": "boolean", "default": False},
                    "When true, only stops and trips the timetable says are accessible in a "
                    "wheelchair (GTFS `wheelchair_boarding`, `wheelchair_accessible`) and volunteers "
                    "with an accessible vehicle; where the timetable does not say, the itinerary is "
                    "kept and its legs are flagged `wheelchair: unknown`.",
                    "Si vrai, seulement les arrêts et les trajets accessibles en fauteuil roulant "
                    "selon les horaires, et les bénévoles au véhicule adapté ; si les horaires ne "
                    "le disent pas, l'itinéraire est gardé et marqué `wheelchair: unknown`.",
                ),
            ],
            "responses": {
                "200": _json(
                    _ref("JourneysResponse"),
                    "Itineraries, best first.",
                    "Itinéraires, les meilleurs d'abord.",
                    _CACHE_HEADERS,
                ),
                "304": {"description": "Not modified (If-None-Match).", "x-fr": "Non modifié."},
                **_ERRORS_API,
            },
        }
    }


def _place() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name", "lat", "lon", "kind"],
        "properties": {
            "name": {"type": "string"},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "kind": {
                "type": "string",
                "description": "stop, origin, destination, or the kind of a generalised place",
            },
            "stop_id": {"type": "string"},
            "generalised": {
                "type": "boolean",
                "description": "A public place standing for a precise point.",
            },
        },
    }


def _schemas() -> dict[str, Any]:
    line = {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["LineString"]},
            "coordinates": {
                "type": "array",
                "minItems": 2,
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 2,
                    "items": {"type": "number"},
                },
            },
        },
    }
    booking = {
        "type": "object",
        "required": ["method", "phone"],
        "properties": {
            "method": {"type": "string", "enum": ["phone"]},
            "phone": {"type": "string", "description": "The solidarity service's phone (E.164)."},
            "url": {"type": "string"},
            "conditions": {
                "type": "string",
                "description": "Who may book and what it costs (in French).",
            },
        },
    }
    route = {
        "type": "object",
        "required": ["id", "type"],
        "properties": {
            "id": {"type": "string"},
            "short_name": {"type": "string", "nullable": True},
            "long_name": {"type": "string", "nullable": True},
            "type": {"type": "integer", "description": "GTFS route type"},
            "agency": {"type": "string", "nullable": True},
        },
    }
    leg = {
        "type": "object",
        "required": [
            "mode",
            "from",
            "to",
            "departure",
            "arrival",
            "duration_s",
            "distance_m",
            "geometry",
        ],
        "properties": {
            "mode": {
                "type": "string",
                "enum": [
                    "walk",
                    "car",
                    "rail",
                    "coach",
                    "bus",
                    "tram",
                    "subway",
                    "ferry",
                    "cable_car",
                    "aerial_lift",
                    "funicular",
                    "trolleybus",
                    "monorail",
                    "carpool",
                    "taxi",
                    "other",
                ],
            },
            "from": _ref("Place"),
            "to": _ref("Place"),
            "departure": {"type": "string", "format": "date-time"},
            "arrival": {"type": "string", "format": "date-time"},
            "duration_s": {"type": "integer", "minimum": 0},
            "distance_m": {"type": "integer", "minimum": 0},
            "route": _ref("Route"),
            "trip_id": {"type": "string"},
            "headsign": {"type": "string", "nullable": True},
            "frequency_based": {
                "type": "boolean",
                "description": "The line runs at a headway (GTFS frequencies, exact_times 0): "
                "departure and arrival are estimates, it leaves every headway_s seconds.",
                "x-fr": "Ligne à fréquence : horaires estimés, un départ toutes les headway_s secondes.",
            },
            "headway_s": {"type": "integer", "minimum": 1},
            "intermediate_stops": {"type": "array", "items": _ref("Place")},
            "operator": {
                "type": "string",
                "enum": ["volunteer", "volunteer_trip", "solidarity_service"],
            },
            "seats": {"type": "integer", "minimum": 1},
            "booking": _ref("Booking"),
            "geometry": _ref("LineString"),
            "wheelchair": _WHEELCHAIR,
        },
    }
    itinerary = {
        "type": "object",
        "required": [
            "type",
            "departure",
            "arrival",
            "duration_s",
            "transfers",
            "walking_m",
            "walking_s",
            "legs",
            "geometry",
        ],
        "properties": {
            "type": {"type": "string", "enum": ["transit", "combined", "solidarity", "carpool"]},
            "departure": {"type": "string", "format": "date-time"},
            "arrival": {"type": "string", "format": "date-time"},
            "duration_s": {"type": "integer", "minimum": 0},
            "transfers": {"type": "integer", "minimum": 0},
            "walking_m": {"type": "integer", "minimum": 0},
            "walking_s": {"type": "integer", "minimum": 0},
            "legs": {"type": "array", "minItems": 1, "items": _ref("Leg")},
            "geometry": _ref("LineString"),
            "wheelchair": _WHEELCHAIR,
        },
    }
    point = {
        "type": "object",
        "required": ["lat", "lon"],
        "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
    }
    response = {
        "type": "object",
        "required": ["query", "itineraries", "notices"],
        "properties": {
            "query": {
                "type": "object",
                "required": ["from", "to", "datetime", "arrive_by", "max_transfers", "modes"],
                "properties": {
                    "from": point,
                    "to": point,
                    "datetime": {"type": "string", "format": "date-time"},
                    "arrive_by": {"type": "boolean"},
                    "max_transfers": {"type": "integer"},
                    "modes": {"type": "array", "items": {"type": "string"}},
                    "max_walk_m": {"type": "number", "minimum": 0},
                    "wheelchair": {"type": "boolean"},
                },
            },
            "itineraries": {"type": "array", "items": _ref("Itinerary")},
            "notices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "attribution": {"type": "string"},
        },
    }
    api_error = {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer"},
            "parameter": {"type": "string"},
        },
    }
    std_error = {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    }
    user = {
        "type": "object",
        "required": ["id", "operator", "alias"],
        "properties": {
            "id": {
                "type": "string",
                "description": "Random in every answer: it does not identify the volunteer.",
            },
            "operator": {"type": "string"},
            "alias": {
                "type": "string",
                "description": 'The same for every volunteer ("Bénévole"): no name is published.',
            },
        },
    }
    price = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["FREE", "PAYING", "UNKNOWN"]},
            "amount": {"type": "number"},
            "currency": {"type": "string"},
        },
    }
    trip_props = {
        "operator": {"type": "string"},
        "passengerPickupLat": {"type": "number"},
        "passengerPickupLng": {"type": "number"},
        "passengerDropLat": {"type": "number"},
        "passengerDropLng": {"type": "number"},
        "duration": {"type": "integer"},
        "distance": {"type": "integer"},
        "driver": _ref("User"),
        "webUrl": {"type": "string"},
        "price": _ref("Price"),
        "availableSeats": {"type": "integer"},
    }
    trip_required = [
        "duration",
        "operator",
        "passengerPickupLat",
        "passengerPickupLng",
        "passengerDropLat",
        "passengerDropLng",
        "driver",
    ]
    journey_schedule = {
        "type": "object",
        "required": ["passengerPickupDate", "type"],
        "properties": {
            "id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": "Fresh in every answer: it links no two answers.",
            },
            "passengerPickupDate": {
                "type": "integer",
                "format": "int64",
                "description": "Rounded (5 minutes by default).",
            },
            "driverDepartureDate": {
                "type": "integer",
                "format": "int64",
                "description": "From the centre of the volunteer's commune, rounded.",
            },
            "webUrl": {"type": "string"},
            "type": {"type": "string", "enum": ["PLANNED", "DYNAMIC", "LINE"]},
        },
    }
    driver_journey = {
        "type": "object",
        "required": [*trip_required, "id", "passengerPickupDate", "type"],
        "properties": {**trip_props, **journey_schedule["properties"]},
    }
    schedule = {
        "type": "object",
        "properties": {
            "passengerPickupDay": {
                "type": "string",
                "enum": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
            },
            "passengerPickupTimeOfDay": {"type": "string", "pattern": r"^\d\d:\d\d:\d\d$"},
            "journeySchedules": {"type": "array", "items": _ref("JourneySchedule")},
        },
    }
    driver_trip = {
        "type": "object",
        "required": trip_required,
        "properties": {
            **trip_props,
            "id": {"type": "string"},
            "schedules": {"type": "array", "items": _ref("Schedule")},
        },
    }
    return {
        "Place": _place(),
        "LineString": line,
        "Booking": booking,
        "Route": route,
        "Leg": leg,
        "Itinerary": itinerary,
        "JourneysResponse": response,
        "ApiError": api_error,
        "StandardError": std_error,
        "User": user,
        "Price": price,
        "JourneySchedule": journey_schedule,
        "DriverJourney": driver_journey,
        "Schedule": schedule,
        "DriverRegularTrip": driver_trip,
    }


def _standard_common() -> list[dict[str, Any]]:
    return [
        _p(
            "departureLat",
            {"type": "number", "minimum": -90, "maximum": 90},
            "Latitude of the searched departure.",
            "Latitude du départ cherché.",
            required=True,
            example=44.4473,
        ),
        _p(
            "departureLng",
            {"type": "number", "minimum": -180, "maximum": 180},
            "Longitude of the searched departure.",
            "Longitude du départ cherché.",
            required=True,
            example=1.4330,
        ),
        _p(
            "arrivalLat",
            {"type": "number", "minimum": -90, "maximum": 90},
            "Latitude of the searched arrival.",
            "Latitude de l'arrivée cherchée.",
            required=True,
            example=44.3333,
        ),
        _p(
            "arrivalLng",
            {"type": "number", "minimum": -180, "maximum": 180},
            "Longitude of the searched arrival.",
            "Longitude de l'arrivée cherchée.",
            required=True,
            example=1.5652,
        ),
    ]


def _standard_tail() -> list[dict[str, Any]]:
    return [
        _p(
            "timeDelta",
            {"type": "integer", "default": 900, "minimum": 0, "maximum": 604800},
            "Time margin in seconds (±).",
            "Marge de temps en secondes (±).",
        ),
        _p(
            "departureRadius",
            {"type": "number", "default": 1.0, "minimum": 0, "maximum": 100},
            "Search radius in km around the departure.",
            "Rayon de recherche en km autour du départ.",
        ),
        _p(
            "arrivalRadius",
            {"type": "number", "default": 1.0, "minimum": 0, "maximum": 100},
            "Search radius in km around the arrival.",
            "Rayon de recherche en km autour de l'arrivée.",
        ),
        _p(
            "count",
            {"type": "integer", "minimum": 0, "maximum": 1000},
            "Maximum number of results (all when absent).",
            "Nombre maximal de résultats (tous par défaut).",
        ),
    ]


_AUTH_EN = (
    "Needs a partner API key with the 'booking' scope, sent as `Authorization: Bearer <key>` "
    "or `X-API-KEY: <key>` (keys are created by an administrator of the platform)."
)
_AUTH_FR = (
    "Demande une clé de partenaire avec le droit « réservation », en `Authorization: Bearer "
    "<clé>` ou `X-API-KEY: <clé>` (clés créées par un administrateur de la plateforme)."
)


def _standard_auth_errors() -> dict[str, Any]:
    return {
        "401": _json(
            _ref("StandardError"),
            "Missing, unknown or revoked API key.",
            "Clé absente, inconnue ou révoquée.",
        ),
        "403": _json(
            _ref("StandardError"),
            "The API key lacks the 'booking' scope.",
            "La clé n'a pas le droit « réservation ».",
        ),
        **_ERRORS_STANDARD,
    }


def _standard_booking_schemas() -> dict[str, dict[str, Any]]:
    """The upstream Booking, booking event and message bodies (inline: their paths only)."""
    uuid = {"type": "string", "format": "uuid"}
    status = {
        "type": "string",
        "enum": [
            "WAITING_CONFIRMATION",
            "CONFIRMED",
            "CANCELLED",
            "COMPLETED_PENDING_VALIDATION",
            "VALIDATED",
        ],
    }
    user = {
        "type": "object",
        "required": ["id", "operator", "alias"],
        "properties": {
            "id": {"type": "string"},
            "operator": {"type": "string"},
            "alias": {"type": "string"},
        },
    }
    lat = {"type": "number", "minimum": -90, "maximum": 90}
    lng = {"type": "number", "minimum": -180, "maximum": 180}
    booking = {
        "type": "object",
        "required": [
            "id",
            "driver",
            "passenger",
            "status",
            "price",
            "passengerPickupDate",
            "passengerPickupLat",
            "passengerPickupLng",
            "passengerDropLat",
            "passengerDropLng",
        ],
        "properties": {
            "id": uuid,
            "driver": user,
            "passenger": user,
            "passengerPickupDate": {"type": "integer", "minimum": 0, "maximum": 4102444800},
            "passengerPickupLat": lat,
            "passengerPickupLng": lng,
            "passengerDropLat": lat,
            "passengerDropLng": lng,
            "passengerPickupAddress": {"type": "string"},
            "passengerDropAddress": {"type": "string"},
            "status": status,
            "duration": {"type": "integer"},
            "distance": {"type": "integer"},
            "webUrl": {"type": "string"},
            "price": _ref("Price"),
            "driverJourneyId": {"type": "string", "minLength": 1, "maxLength": 255},
        },
    }
    event = {
        "type": "object",
        "required": ["id", "idToken", "data"],
        "properties": {
            "id": uuid,
            "idToken": {"type": "string"},
            "data": {
                "type": "object",
                "required": ["id", "status"],
                "properties": {"id": uuid, "status": status},
            },
        },
    }
    message = {
        "type": "object",
        "required": ["from", "to", "message", "recipientCarpoolerType"],
        "properties": {
            "from": user,
            "to": user,
            "message": {"type": "string", "minLength": 1, "maxLength": 500},
            "recipientCarpoolerType": {"type": "string", "enum": ["DRIVER", "PASSENGER"]},
            "driverJourneyId": {"type": "string", "minLength": 1, "maxLength": 255},
            "bookingId": uuid,
        },
    }
    return {"Booking": booking, "CarpoolBookingEvent": event, "Message": message, "status": status}


def _standard_booking_paths() -> dict[str, Any]:
    schemas = _standard_booking_schemas()
    booking_id = {
        "name": "bookingId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
        "description": "The booking's UUID, chosen by the partner.",
        "x-fr": "UUID de la réservation, choisi par le partenaire.",
    }
    missing = _json(
        _ref("StandardError"),
        "Unknown booking or journey (missing_booking, missing_journey).",
        "Réservation ou trajet inconnu.",
    )
    conflict = _json(
        _ref("StandardError"),
        "Conflict: the booking exists already, or has this status already (status_already_set).",
        "Conflit : réservation déjà connue, ou statut déjà en place.",
    )
    booking_answer = _json(schemas["Booking"], "The booking.", "La réservation.")

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def op(op_id: str, summary: str, fr: str, **rest: Any) -> dict[str, Any]:
        return {
            "operationId": op_id,
            "tags": ["standard covoiturage"],
            "summary": summary,
            "x-fr": fr,
            "description": _AUTH_EN,
            "x-fr-auth": _AUTH_FR,
            **rest,
        }

    return {
        f"{STANDARD}/bookings": {
            "post": op(
                "postBookings",
                "Book a driver journey returned by /driver_journeys (status WAITING_CONFIRMATION); "
                "the volunteer is asked by SMS.",
                "Réserver un trajet de bénévole ; le bénévole est sollicité par SMS.",
                requestBody=body(schemas["Booking"]),
                responses={
                    "201": _json(schemas["Booking"], "Booking created.", "Réservation créée."),
                    "404": missing,
                    "409": conflict,
                    **_standard_auth_errors(),
                },
            )
        },
        f"{STANDARD}/bookings/{{bookingId}}": {
            "get": op(
                "getBookings",
                "A booking of the calling partner, with its current status.",
                "Une réservation du partenaire, avec son état.",
                parameters=[booking_id],
                responses={"200": booking_answer, "404": missing, **_standard_auth_errors()},
            ),
            "patch": op(
                "patchBookings",
                "Change a booking's status: CANCELLED (the volunteer is told), or VALIDATED after "
                "the ride.",
                "Changer l'état d'une réservation : annulation (le bénévole est prévenu) ou validation.",
                parameters=[
                    booking_id,
                    {
                        "name": "status",
                        "in": "query",
                        "required": True,
                        "schema": schemas["status"],
                        "description": "New status.",
                        "x-fr": "Nouvel état.",
                    },
                    {
                        "name": "message",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 500},
                        "description": "Why (kept in the ride's history).",
                        "x-fr": "Motif (gardé dans l'historique du trajet).",
                    },
                ],
                responses={
                    "200": booking_answer,
                    "404": missing,
                    "409": conflict,
                    **_standard_auth_errors(),
                },
            ),
        },
        f"{STANDARD}/booking_events": {
            "post": op(
                "postBookingEvents",
                "A booking changed on the partner's side (CANCELLED and VALIDATED are applied).",
                "Une réservation a changé chez le partenaire.",
                requestBody=body(schemas["CarpoolBookingEvent"]),
                responses={
                    "200": _json(
                        {"type": "object", "properties": {"status": {"type": "string"}}},
                        "Ok. Request processed successfully.",
                        "Requête traitée.",
                    ),
                    "404": missing,
                    "409": conflict,
                    **_standard_auth_errors(),
                },
            )
        },
        f"{STANDARD}/messages": {
            "post": op(
                "postConnections",
                "A message from the partner's passenger to the volunteer of a journey or booking, "
                "relayed by SMS.",
                "Message d'un passager du partenaire au bénévole, transmis par SMS.",
                requestBody=body(schemas["Message"]),
                responses={
                    "201": _json(
                        {"type": "object", "properties": {"status": {"type": "string"}}},
                        "Message relayed.",
                        "Message transmis.",
                    ),
                    "404": missing,
                    **_standard_auth_errors(),
                },
            )
        },
    }


def _standard_paths() -> dict[str, Any]:
    std_200 = "Ok. Request processed successfully."
    return {
        f"{STANDARD}/driver_journeys": {
            "get": {
                "operationId": "getDriverJourneys",
                "tags": ["standard covoiturage"],
                "summary": "One-off volunteer trips matching a passenger's trip.",
                "x-fr": "Trajets ponctuels de bénévoles correspondant au trajet d'un passager.",
                "description": (
                    "Pickup and drop-off are the searched points (the volunteer makes the detour, "
                    "checked on the road network) or, when her trip does not allow that detour, "
                    "the ends of her trip if they lie within departureRadius / arrivalRadius; "
                    "every result is within the radii; |passengerPickupDate − departureDate| ≤ "
                    "timeDelta. webUrl is the journey's public page (how to book it)."
                ),
                "parameters": [
                    *_standard_common(),
                    _p(
                        "departureDate",
                        {"type": "integer", "minimum": 0, "maximum": 4102444800},
                        "Departure as a UNIX UTC timestamp in seconds.",
                        "Départ, horodatage UNIX UTC en secondes.",
                        required=True,
                        example=1737702000,
                    ),
                    *_standard_tail(),
                ],
                "responses": {
                    "200": _json(
                        {"type": "array", "items": _ref("DriverJourney")},
                        std_200,
                        "Requête traitée.",
                        _CACHE_HEADERS,
                    ),
                    "304": {"description": "Not modified.", "x-fr": "Non modifié."},
                    **_ERRORS_STANDARD,
                },
            }
        },
        f"{STANDARD}/driver_regular_trips": {
            "get": {
                "operationId": "getDriverRegularTrips",
                "tags": ["standard covoiturage"],
                "summary": "Regular volunteer trips matching a passenger's regular trip.",
                "x-fr": "Trajets réguliers de bénévoles correspondant au trajet régulier d'un passager.",
                "description": "Schedules list the next journeys (at most four per weekday) within the date window.",
                "parameters": [
                    *_standard_common(),
                    _p(
                        "departureTimeOfDay",
                        {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"},
                        "Departure time of day, HH:MM:SS.",
                        "Heure de départ, HH:MM:SS.",
                        required=True,
                        example="07:30:00",
                    ),
                    _p(
                        "departureWeekdays",
                        {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "string",
                                "enum": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
                            },
                        },
                        "Weekdays, comma-separated (default: all).",
                        "Jours, séparés par des virgules.",
                        style="form",
                        explode=False,
                    ),
                    *_standard_tail(),
                    _p(
                        "minDepartureDate",
                        {"type": "integer", "minimum": 0, "maximum": 4102444800},
                        "Earliest departure (UNIX UTC seconds).",
                        "Départ au plus tôt (UNIX UTC, s).",
                    ),
                    _p(
                        "maxDepartureDate",
                        {"type": "integer", "minimum": 0, "maximum": 4102444800},
                        "Latest departure (UNIX UTC seconds); at least minDepartureDate.",
                        "Départ au plus tard (UNIX UTC, s).",
                    ),
                ],
                "responses": {
                    "200": _json(
                        {"type": "array", "items": _ref("DriverRegularTrip")},
                        std_200,
                        "Requête traitée.",
                        _CACHE_HEADERS,
                    ),
                    "304": {"description": "Not modified.", "x-fr": "Non modifié."},
                    **_ERRORS_STANDARD,
                },
            }
        },
        **_standard_booking_paths(),
        f"{STANDARD}/status": {
            "get": {
                "operationId": "getStatus",
                "tags": ["standard covoiturage"],
                "summary": "Health of the API.",
                "x-fr": "État du service.",
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"status": {"type": "string"}}},
                        "Webservice is available.",
                        "Le service fonctionne.",
                    ),
                    "429": _ERRORS_STANDARD["429"],
                },
            }
        },
    }


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.0 document; ``server_url`` is the site's root (paths carry their prefix)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Mobilité solidaire du Lot — open data API",
            "x-title-fr": "Mobilité solidaire du Lot — API de données ouvertes",
            "version": "1.0.0",
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
        },
        "servers": [{"url": server_url or "/"}],
        "tags": [
            {
                "name": "journeys",
                "description": "Journey search",
                "x-fr": "Recherche d'itinéraires",
            },
            {"name": "open data", "description": "Open data exports", "x-fr": "Données ouvertes"},
            {
                "name": "standard covoiturage",
                "description": "French carpooling standard, base path " + STANDARD,
                "x-fr": "Standard covoiturage, chemin de base " + STANDARD,
            },
        ],
        "paths": {
            f"{API}/journeys": _journeys_path(),
            f"{API}/gtfs.zip": {
                "get": {
                    "operationId": "getGtfs",
                    "tags": ["open data"],
                    "summary": "Volunteers' regular trips and the solidarity service as GTFS.",
                    "x-fr": "Trajets réguliers des bénévoles et service solidaire au format GTFS.",
                    "description": (
                        "Carpooling routes have route_type 1551; rides are booked by phone "
                        "(pickup_type 2, GTFS-Flex booking_rules.txt). Places are generalised to "
                        "communes (a commune under the minimum population, 1,000 by default, to the "
                        "nearest commune above it), times rounded: no names, phones or homes. Only "
                        "volunteers who agreed to publication appear."
                    ),
                    "responses": {
                        "200": {
                            "description": "A GTFS zip archive.",
                            "x-fr": "Une archive GTFS.",
                            "content": {
                                "application/zip": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                            "headers": _CACHE_HEADERS,
                        },
                        "304": {"description": "Not modified.", "x-fr": "Non modifié."},
                        "404": _json(
                            _ref("ApiError"),
                            "No volunteer trip is published yet (a GTFS feed needs a trip).",
                            "Aucun trajet de bénévole n'est encore publié.",
                        ),
                        "429": _ERRORS_API["429"],
                    },
                }
            },
            f"{API}/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "tags": ["open data"],
                    "summary": "This document.",
                    "x-fr": "Ce document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document.",
                            "x-fr": "Document OpenAPI 3.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "304": {"description": "Not modified.", "x-fr": "Non modifié."},
                        "429": _ERRORS_API["429"],
                    },
                }
            },
            **_standard_paths(),
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "partnerBearer": {"type": "http", "scheme": "bearer",
                                  "description": "A partner operator's API key (booking routes)."},
                "partnerApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                                  "description": "The same key, in a header."},
            },
        },
    }
