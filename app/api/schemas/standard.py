"""Schemas of the Standard covoiturage search routes (driver journeys and regular trips).

Names, types and bounds follow the upstream OpenAPI document of the standard
(``components/parameters`` and ``components/schemas``); tests check that ours is a subset.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from . import Body
from .fields import (
    MAX_UNIX_S,
    MIN_UNIX_S,
    WEEKDAYS,
    Integer,
    JsonNumber,
    Number,
    TimeOfDay,
    between,
    choice_list,
    doc,
)

MAX_TIME_DELTA_S = 7 * 86_400
MAX_RADIUS_KM = 100.0
MAX_COUNT = 1000


def _timestamp(en: str, fr: str, example: int | None = None, **kwargs: Any) -> Integer:
    return Integer(
        validate=between(MIN_UNIX_S, MAX_UNIX_S), metadata=doc(en, fr, example), **kwargs
    )


class _Search(Schema):
    """Parameters common to the search routes."""

    departureLat = Number(
        required=True,
        validate=between(-90, 90),
        metadata=doc("Latitude of the searched departure.", "Latitude du départ cherché.", 44.4473),
    )
    departureLng = Number(
        required=True,
        validate=between(-180, 180),
        metadata=doc(
            "Longitude of the searched departure.", "Longitude du départ cherché.", 1.4330
        ),
    )
    arrivalLat = Number(
        required=True,
        validate=between(-90, 90),
        metadata=doc(
            "Latitude of the searched arrival.", "Latitude de l'arrivée cherchée.", 44.3333
        ),
    )
    arrivalLng = Number(
        required=True,
        validate=between(-180, 180),
        metadata=doc(
            "Longitude of the searched arrival.", "Longitude de l'arrivée cherchée.", 1.5652
        ),
    )
    timeDelta = Integer(
        load_default=900,
        validate=between(0, MAX_TIME_DELTA_S),
        metadata=doc("Time margin in seconds (±).", "Marge de temps en secondes (±)."),
    )
    departureRadius = Number(
        load_default=1.0,
        validate=between(0, MAX_RADIUS_KM),
        metadata=doc(
            "Search radius in km around the departure.",
            "Rayon de recherche en km autour du départ.",
        ),
    )
    arrivalRadius = Number(
        load_default=1.0,
        validate=between(0, MAX_RADIUS_KM),
        metadata=doc(
            "Search radius in km around the arrival.",
            "Rayon de recherche en km autour de l'arrivée.",
        ),
    )
    count = Integer(
        validate=between(0, MAX_COUNT),
        metadata=doc(
            "Maximum number of results (all when absent).",
            "Nombre maximal de résultats (tous par défaut).",
        ),
    )


class DriverJourneysQuery(_Search):
    """``GET /driver_journeys``."""

    departureDate = _timestamp(
        "Departure as a UNIX UTC timestamp in seconds.",
        "Départ, horodatage UNIX UTC en secondes.",
        1737702000,
        required=True,
    )


class DriverRegularTripsQuery(_Search):
    """``GET /driver_regular_trips``."""

    departureTimeOfDay = TimeOfDay(
        required=True,
        metadata=doc("Departure time of day, HH:MM:SS.", "Heure de départ, HH:MM:SS.", "07:30:00"),
    )
    departureWeekdays = choice_list(
        WEEKDAYS,
        upper=True,
        metadata=doc(
            "Weekdays, comma-separated (default: all).", "Jours, séparés par des virgules."
        ),
    )
    minDepartureDate = _timestamp(
        "Earliest departure (UNIX UTC seconds).", "Départ au plus tôt (UNIX UTC, s)."
    )
    maxDepartureDate = _timestamp(
        "Latest departure (UNIX UTC seconds); at least minDepartureDate.",
        "Départ au plus tard (UNIX UTC, s).",
    )

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        low, high = data.get("minDepartureDate"), data.get("maxDepartureDate")
        if low is not None and high is not None and low > high:
            raise ValidationError("is after 'maxDepartureDate'", "minDepartureDate")


# --- Responses ----------------------------------------------------------------------------------


class User(Body):
    id = fields.String(
        required=True,
        metadata={"description": "Random in every answer: it does not identify the volunteer."},
    )
    operator = fields.String(required=True)
    alias = fields.String(
        required=True,
        metadata={
            "description": 'The same for every volunteer ("Bénévole"): no name is published.'
        },
    )


class Price(Body):
    type = fields.String(validate=validate.OneOf(["FREE", "PAYING", "UNKNOWN"]))
    amount = JsonNumber()
    currency = fields.String()


class _Trip(Body):
    operator = fields.String(required=True)
    passengerPickupLat = fields.Float(required=True)
    passengerPickupLng = fields.Float(required=True)
    passengerDropLat = fields.Float(required=True)
    passengerDropLng = fields.Float(required=True)
    duration = fields.Integer(required=True)
    distance = fields.Integer()
    driver = fields.Nested(User, required=True)
    webUrl = fields.String()
    price = fields.Nested(Price)
    availableSeats = fields.Integer()


def _schedule_fields(required: bool) -> dict[str, fields.Field]:
    return {
        "id": fields.String(
            required=required,
            validate=validate.Length(1, 255),
            metadata={"description": "Fresh in every answer: it links no two answers."},
        ),
        "passengerPickupDate": fields.Integer(
            required=True,
            metadata={"format": "int64", "description": "Rounded (5 minutes by default)."},
        ),
        "driverDepartureDate": fields.Integer(
            metadata={
                "format": "int64",
                "description": "From the centre of the volunteer's commune, rounded.",
            }
        ),
        "webUrl": fields.String(),
        "type": fields.String(
            required=True, validate=validate.OneOf(["PLANNED", "DYNAMIC", "LINE"])
        ),
    }


JourneySchedule = Body.from_dict(_schedule_fields(required=False), name="JourneySchedule")
DriverJourney = _Trip.from_dict(_schedule_fields(required=True), name="DriverJourney")


class Schedule(Body):
    passengerPickupDay = fields.String(validate=validate.OneOf(WEEKDAYS))
    passengerPickupTimeOfDay = fields.String(validate=validate.Regexp(r"^\d\d:\d\d:\d\d$"))
    journeySchedules = fields.List(fields.Nested(JourneySchedule))


class DriverRegularTrip(_Trip):
    id = fields.String()
    schedules = fields.List(fields.Nested(Schedule))


class StandardError(Body):
    """The standard's error body."""

    error = fields.String(required=True)


class Status(Body):
    status = fields.String()
