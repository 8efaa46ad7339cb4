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


def _journeys_path() -> dict[str, Any]:
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
                "never from their home, and their times rounded (to 5 minutes by default)."
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
            "intermediate_stops": {"type": "array", "items": _ref("Place")},
            "operator": {
                "type": "string",
                "enum": ["volunteer", "volunteer_trip", "solidarity_service"],
            },
            "seats": {"type": "integer", "minimum": 1},
            "booking": _ref("Booking"),
            "geometry": _ref("LineString"),
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
                    "checked on the road network), so every result is within the radii; "
                    "|passengerPickupDate − departureDate| ≤ timeDelta."
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
                "Public, read-only API of the solidarity mobility platform of the Lot: journey search "
                "combining trains, buses and volunteer drivers; the volunteers' regular trips and the "
                "solidarity service as GTFS; and the French carpooling standard (Standard covoiturage) "
                "search routes. No authentication; CORS open; rate-limited per client (429 with "
                "Retry-After). No rider, need or personal data is ever published."
            ),
            "x-fr": (
                "API publique en lecture seule de la plateforme de mobilité solidaire du Lot : recherche "
                "d'itinéraires combinant trains, cars et conducteurs bénévoles ; trajets réguliers des "
                "bénévoles et service solidaire en GTFS ; routes de recherche du Standard covoiturage. "
                "Sans authentification ; CORS ouvert ; débit limité par client (429 avec Retry-After). "
                "Aucune donnée personnelle, aucun passager ni besoin n'est publié."
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
        "components": {"schemas": _schemas()},
    }
