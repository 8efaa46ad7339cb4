"""The carpooling standard's booking routes: bookings, booking events and messages.

Partners authenticate with their API key, as ``Authorization: Bearer <key>`` or
``X-API-KEY: <key>`` (the upstream document declares no security scheme; both are the usual
forms). These routes need the "booking" scope: no key or a revoked one is 401, a key without
the scope 403. Bodies follow the upstream schemas (Booking, CarpoolBookingEvent, the /messages
body); the work is done by :mod:`app.services.partners`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, jsonify, request

from ..models import PartnerBooking, PartnerOperator
from ..services import partners
from ..services.partners import PartnerError
from . import operations, standard_bp
from .schemas.booking import Booking, BookingPath, CarpoolBookingEvent, Message, StatusChange
from .standard import deep_link

F = TypeVar("F", bound=Callable[..., Any])


def _error(status: int, message: str) -> tuple[Response, int]:
    response = jsonify({"error": message})
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="standard-covoiturage"'
    return response, status


@standard_bp.errorhandler(PartnerError)
def _partner_error(exc: PartnerError) -> tuple[Response, int]:
    return _error(exc.status, str(exc))


def _presented_key() -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-KEY", "").strip() or None


def require_scope(scope: str) -> Callable[[F], F]:
    """View decorator: a partner key with ``scope`` (401 without a valid key, 403 without scope)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            operator = partners.authenticate(_presented_key())
            if operator is None:
                return _error(401, "a valid API key is required (Authorization: Bearer <key>)")
            if scope not in operator.scope_list:
                return _error(403, f"this API key has no '{scope}' scope")
            g.partner = operator
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# --- Reading bodies ---------------------------------------------------------------------------


def _booking_request(data: dict[str, Any], operator: PartnerOperator) -> partners.BookingRequest:
    """A standard Booking posted by a partner (its schema already checked), for this caller."""
    passenger = data["passenger"]
    if passenger["operator"].lower() != operator.domain:
        raise PartnerError(400, f"'passenger.operator' must be your domain ({operator.domain})")
    if data["status"] != "WAITING_CONFIRMATION":
        raise PartnerError(400, "a new booking's 'status' must be WAITING_CONFIRMATION")
    if data.get("driverJourneyId") is None:
        raise PartnerError(400, "'driverJourneyId' is required")
    return partners.BookingRequest(
        booking_uuid=str(data["id"]),
        driver_journey_id=data["driverJourneyId"],
        passenger_id=passenger["id"][:255],
        passenger_alias=passenger["alias"][:100],
        pickup_at=dt.datetime.fromtimestamp(data["passengerPickupDate"], dt.UTC),
        pickup=(data["passengerPickupLat"], data["passengerPickupLng"]),
        drop=(data["passengerDropLat"], data["passengerDropLng"]),
        pickup_address=data.get("passengerPickupAddress"),
        drop_address=data.get("passengerDropAddress"),
    )


def _booking_out(booking: PartnerBooking) -> dict[str, Any]:
    link = deep_link(
        booking.driver_journey_id,
        (booking.pickup_lat, booking.pickup_lng),
        (booking.drop_lat, booking.drop_lng),
    )
    return partners.booking_json(booking, web_url=link)


# --- Routes -----------------------------------------------------------------------------------
# The key is checked before the request is parsed: without one, the answer is 401 whatever
# the body.


@standard_bp.post("/bookings", tags=[operations.STANDARD_TAG])
@require_scope("booking")
@standard_bp.arguments(Booking)
@standard_bp.doc(**operations.POST_BOOKING)
def post_booking(body: dict[str, Any]) -> tuple[Response, int]:
    """A partner's passenger books one of the driver journeys we returned."""
    booking = partners.create_booking(g.partner, _booking_request(body, g.partner))
    return jsonify(_booking_out(booking)), 201


@standard_bp.get("/bookings/<bookingId>", tags=[operations.STANDARD_TAG])
@require_scope("booking")
@standard_bp.arguments(BookingPath, location="path")
@standard_bp.doc(**operations.GET_BOOKING)
def get_booking(path: dict[str, Any], **_: str) -> Response:
    """A booking of the calling partner, with its current status."""
    booking = partners.find_booking(g.partner, str(path["bookingId"]))
    response = jsonify(_booking_out(booking))
    response.headers["Cache-Control"] = "no-store"
    return response


@standard_bp.patch("/bookings/<bookingId>", tags=[operations.STANDARD_TAG])
@require_scope("booking")
@standard_bp.arguments(BookingPath, location="path")
@standard_bp.arguments(StatusChange, location="query")
@standard_bp.doc(**operations.PATCH_BOOKING)
def patch_booking(path: dict[str, Any], change: dict[str, Any], **_: str) -> Response:
    """The partner changes a booking's status (CANCELLED, or VALIDATED after the ride)."""
    booking = partners.find_booking(g.partner, str(path["bookingId"]))
    partners.change_status(g.partner, booking, change["status"], change.get("message"))
    return jsonify(_booking_out(booking))


@standard_bp.post("/booking_events", tags=[operations.STANDARD_TAG])
@require_scope("booking")
@standard_bp.arguments(CarpoolBookingEvent)
@standard_bp.doc(**operations.POST_BOOKING_EVENT)
def post_booking_event(event: dict[str, Any]) -> Response:
    """The partner tells us a booking changed on its side (CarpoolBookingEvent)."""
    change = event["data"]
    partners.apply_event(g.partner, {"id": str(change["id"]), "status": change["status"]})
    return jsonify({"status": "ok"})


@standard_bp.post("/messages", tags=[operations.STANDARD_TAG])
@require_scope("booking")
@standard_bp.arguments(Message)
@standard_bp.doc(**operations.POST_MESSAGE)
def post_message(data: dict[str, Any]) -> tuple[Response, int]:
    """A partner's passenger writes to the volunteer of a journey or booking (relayed by SMS)."""
    sender = data["from_"]
    if not data["message"].strip():
        raise PartnerError(400, "'message' must be 1 to 500 characters")
    if data["recipientCarpoolerType"] != "DRIVER":
        raise PartnerError(400, "only messages to a DRIVER are relayed: we publish no passenger")
    booking_id = data.get("bookingId")
    journey = data.get("driverJourneyId")
    if booking_id is None and journey is None:
        raise PartnerError(400, "'bookingId' or 'driverJourneyId' is required")
    partners.relay_message(
        g.partner,
        sender_id=sender["id"],
        sender_alias=sender["alias"],
        text=data["message"],
        booking_uuid=str(booking_id) if booking_id is not None else None,
        driver_journey_id=journey,
    )
    return jsonify({"status": "sent"}), 201
