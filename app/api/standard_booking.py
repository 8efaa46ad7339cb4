"""The carpooling standard's booking routes: bookings, booking events and messages.

Partners authenticate with their API key, as ``Authorization: Bearer <key>`` or
``X-API-KEY: <key>`` (the upstream document declares no security scheme; both are the usual
forms). These routes need the "booking" scope: no key or a revoked one is 401, a key without
the scope 403. Bodies follow the upstream schemas (Booking, CarpoolBookingEvent, the /messages
body); the work is done by :mod:`app.services.partners`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, jsonify, request

from ..models import PartnerBooking, PartnerOperator
from ..services import partners
from ..services.partners import PartnerError
from . import standard_bp
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


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise PartnerError(400, "the body must be a JSON object")
    return data


def _get(
    data: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True
) -> Any:
    """One field of a body, of the given JSON type (booleans are not numbers)."""
    value = data.get(name)
    if value is None:
        if required:
            raise PartnerError(400, f"'{name}' is required")
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise PartnerError(400, f"'{name}' has the wrong type")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _uuid(value: Any, name: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as exc:
        raise PartnerError(400, f"'{name}' must be a UUID") from exc


def _user(data: dict[str, Any], name: str) -> dict[str, Any]:
    user = _get(data, name, dict)
    for field in ("id", "operator", "alias"):
        _get(user, field, str)
    return user  # type: ignore[no-any-return]


def _point(data: dict[str, Any], prefix: str) -> tuple[float, float]:
    lat = float(_get(data, f"{prefix}Lat", (int, float)))
    lng = float(_get(data, f"{prefix}Lng", (int, float)))
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise PartnerError(400, f"'{prefix}Lat/Lng' out of range")
    return lat, lng


def _booking_request(data: dict[str, Any], operator: PartnerOperator) -> partners.BookingRequest:
    """A standard Booking posted by a partner, checked."""
    booking_id = _uuid(_get(data, "id", str), "id")
    _user(data, "driver")
    passenger = _user(data, "passenger")
    if passenger["operator"].lower() != operator.domain:
        raise PartnerError(400, f"'passenger.operator' must be your domain ({operator.domain})")
    if _get(data, "status", str) != "WAITING_CONFIRMATION":
        raise PartnerError(400, "a new booking's 'status' must be WAITING_CONFIRMATION")
    _get(data, "price", dict)
    journey = _get(data, "driverJourneyId", str)
    if not 1 <= len(journey) <= 255:
        raise PartnerError(400, "'driverJourneyId' must be 1 to 255 characters")
    pickup_ts = _get(data, "passengerPickupDate", (int, float))
    if not 0 <= pickup_ts <= 4_102_444_800:
        raise PartnerError(400, "'passengerPickupDate' out of range")
    return partners.BookingRequest(
        booking_uuid=booking_id,
        driver_journey_id=journey,
        passenger_id=passenger["id"][:255],
        passenger_alias=passenger["alias"][:100],
        pickup_at=dt.datetime.fromtimestamp(int(pickup_ts), dt.UTC),
        pickup=_point(data, "passengerPickup"),
        drop=_point(data, "passengerDrop"),
        pickup_address=_get(data, "passengerPickupAddress", str, required=False),
        drop_address=_get(data, "passengerDropAddress", str, required=False),
    )


def _booking_out(booking: PartnerBooking) -> dict[str, Any]:
    link = deep_link(
        booking.driver_journey_id,
        (booking.pickup_lat, booking.pickup_lng),
        (booking.drop_lat, booking.drop_lng),
    )
    return partners.booking_json(booking, web_url=link)


# --- Routes -----------------------------------------------------------------------------------


@standard_bp.post("/bookings")
@require_scope("booking")
def post_booking() -> tuple[Response, int]:
    """A partner's passenger books one of the driver journeys we returned."""
    booking = partners.create_booking(g.partner, _booking_request(_body(), g.partner))
    return jsonify(_booking_out(booking)), 201


@standard_bp.get("/bookings/<booking_id>")
@require_scope("booking")
def get_booking(booking_id: str) -> Response:
    """A booking of the calling partner, with its current status."""
    booking = partners.find_booking(g.partner, _uuid(booking_id, "bookingId"))
    response = jsonify(_booking_out(booking))
    response.headers["Cache-Control"] = "no-store"
    return response


@standard_bp.patch("/bookings/<booking_id>")
@require_scope("booking")
def patch_booking(booking_id: str) -> Response:
    """The partner changes a booking's status (CANCELLED, or VALIDATED after the ride)."""
    booking = partners.find_booking(g.partner, _uuid(booking_id, "bookingId"))
    status = request.args.get("status", "")
    if status not in partners.BOOKING_STATUSES:
        raise PartnerError(400, "'status' must be a BookingStatus")
    message = request.args.get("message")
    if message is not None and len(message) > 500:
        raise PartnerError(400, "'message' is longer than 500 characters")
    partners.change_status(g.partner, booking, status, message)
    return jsonify(_booking_out(booking))


@standard_bp.post("/booking_events")
@require_scope("booking")
def post_booking_event() -> Response:
    """The partner tells us a booking changed on its side (CarpoolBookingEvent)."""
    data = _body()
    _uuid(_get(data, "id", str), "id")
    _get(data, "idToken", str)
    booking = _get(data, "data", dict)
    _uuid(_get(booking, "id", str), "data.id")
    if _get(booking, "status", str) not in partners.BOOKING_STATUSES:
        raise PartnerError(400, "'data.status' must be a BookingStatus")
    partners.apply_event(g.partner, booking)
    return jsonify({"status": "ok"})


@standard_bp.post("/messages")
@require_scope("booking")
def post_message() -> tuple[Response, int]:
    """A partner's passenger writes to the volunteer of a journey or booking (relayed by SMS)."""
    data = _body()
    sender = _user(data, "from")
    _user(data, "to")
    text = _get(data, "message", str)
    if not text.strip() or len(text) > 500:
        raise PartnerError(400, "'message' must be 1 to 500 characters")
    if _get(data, "recipientCarpoolerType", str) != "DRIVER":
        raise PartnerError(400, "only messages to a DRIVER are relayed: we publish no passenger")
    booking_id = data.get("bookingId")
    journey = _get(data, "driverJourneyId", str, required=False)
    if booking_id is None and journey is None:
        raise PartnerError(400, "'bookingId' or 'driverJourneyId' is required")
    partners.relay_message(
        g.partner,
        sender_id=sender["id"],
        sender_alias=sender["alias"],
        text=text,
        booking_uuid=_uuid(booking_id, "bookingId") if booking_id is not None else None,
        driver_journey_id=journey,
    )
    return jsonify({"status": "sent"}), 201
