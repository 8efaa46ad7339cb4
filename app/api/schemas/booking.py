"""Schemas of the Standard covoiturage booking routes: Booking, booking events, messages.

They follow the upstream schemas (Booking, CarpoolBookingEvent, the /messages body); the
rules that depend on the caller (the passenger's operator is the caller's domain, a new
booking waits for confirmation) stay in the views.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ...services.partners import BOOKING_STATUSES
from . import Body
from .fields import MAX_UNIX_S, MIN_UNIX_S, JsonInteger, JsonNumber, between, doc
from .standard import Price

MAX_MESSAGE_CHARS = 500
MAX_JOURNEY_ID_CHARS = 255


class Carpooler(Body):
    """A standard User: the caller's passenger, or the volunteer as we published her."""

    id = fields.String(required=True)
    operator = fields.String(required=True)
    alias = fields.String(required=True)


def _status(**kwargs: object) -> fields.String:
    return fields.String(
        validate=validate.OneOf(BOOKING_STATUSES, error="must be a BookingStatus"),
        **kwargs,  # type: ignore[arg-type]
    )


def _journey_id(**kwargs: object) -> fields.String:
    return fields.String(
        validate=validate.Length(1, MAX_JOURNEY_ID_CHARS, error="must be 1 to 255 characters"),
        **kwargs,  # type: ignore[arg-type]
    )


def _lat() -> JsonNumber:
    return JsonNumber(required=True, validate=between(-90, 90))


def _lng() -> JsonNumber:
    return JsonNumber(required=True, validate=between(-180, 180))


class Booking(Body):
    """A standard Booking (posted by a partner, and answered by us)."""

    id = fields.UUID(required=True)
    driver = fields.Nested(Carpooler, required=True)
    passenger = fields.Nested(Carpooler, required=True)
    passengerPickupDate = JsonInteger(required=True, validate=between(MIN_UNIX_S, MAX_UNIX_S))
    passengerPickupLat = _lat()
    passengerPickupLng = _lng()
    passengerDropLat = _lat()
    passengerDropLng = _lng()
    passengerPickupAddress = fields.String()
    passengerDropAddress = fields.String()
    status = _status(required=True)
    duration = JsonInteger()
    distance = JsonInteger()
    webUrl = fields.String()
    price = fields.Nested(Price, required=True)
    driverJourneyId = _journey_id()


class BookingChange(Body):
    """The booking carried by an event: its id and new status."""

    id = fields.UUID(required=True)
    status = _status(required=True)


class CarpoolBookingEvent(Body):
    id = fields.UUID(required=True)
    idToken = fields.String(required=True)
    data = fields.Nested(BookingChange, required=True)


class Message(Body):
    """The body of ``POST /messages``."""

    from_ = fields.Nested(Carpooler, data_key="from", required=True)
    to = fields.Nested(Carpooler, required=True)
    message = fields.String(
        required=True,
        validate=validate.Length(1, MAX_MESSAGE_CHARS, error="must be 1 to 500 characters"),
    )
    recipientCarpoolerType = fields.String(
        required=True, validate=validate.OneOf(["DRIVER", "PASSENGER"])
    )
    driverJourneyId = _journey_id()
    bookingId = fields.UUID()


class BookingPath(Schema):
    bookingId = fields.UUID(
        required=True,
        error_messages={"invalid_uuid": "must be a UUID"},
        metadata=doc(
            "The booking's UUID, chosen by the partner.",
            "UUID de la réservation, choisi par le partenaire.",
        ),
    )


class StatusChange(Schema):
    """The query string of ``PATCH /bookings/{bookingId}``."""

    status = _status(required=True, metadata=doc("New status.", "Nouvel état."))
    message = fields.String(
        validate=validate.Length(max=MAX_MESSAGE_CHARS),
        metadata=doc(
            "Why (kept in the ride's history).", "Motif (gardé dans l'historique du trajet)."
        ),
    )
