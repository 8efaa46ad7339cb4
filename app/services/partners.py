"""Partner operators of the carpooling standard: API keys, and bookings made through the API.

Keys
    A key is a random token shown once to the administrator who creates the partner; only its
    SHA-256 is stored, so a stolen database gives no usable key. A key carries scopes
    ("search", "booking"); a revoked key authenticates nothing.

Bookings become the platform's own workflow
    A booking names a driver journey we returned (its id is resolvable with the HMAC key, see
    :func:`resolve_journey`). It becomes a ride need of a beneficiary standing for the partner's
    passenger, proposed by SMS to that journey's volunteer (``rides.propose_ride`` with the
    engine's candidate for her). The booking's status is read from the need and the proposal
    (:func:`booking_status`, the one place where our statuses meet the standard's).

Personal data (GDPR)
    Of the partner's passenger we keep only what the standard sends: the partner's id and alias
    (a first name at most), the pickup and drop-off points and time. The beneficiary created
    for them has the alias as first name, no last name, no phone, no address, and belongs to
    the partner's structure ("Partenaires" unless the partner has one): the partner is the
    controller of its passenger's data and we process it to serve the ride. These records fall
    under the platform's retention and erasure like any beneficiary; the passenger's rights go
    through the partner, who knows who they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from ..errors import PlatformError
from ..extensions import db
from ..models import (
    PARTNER_SCOPES,
    Beneficiary,
    Driver,
    DriverOffer,
    PartnerBooking,
    PartnerMessage,
    PartnerOperator,
    Proposal,
    RideNeed,
    Structure,
    User,
    utcnow,
)
from . import notifications, rides
from .audit import record_audit
from .publication import journey_id_matches, public_journey_id

PARTNERS_STRUCTURE = "Partenaires"
BOOKING_STATUSES = (
    "WAITING_CONFIRMATION",
    "CONFIRMED",
    "CANCELLED",
    "COMPLETED_PENDING_VALIDATION",
    "VALIDATED",
)
#: How far from a one-off trip's departure window a booked pickup may be (seconds).
_OFFER_SLACK_S = 6 * 3600
#: How far the volunteer's pickup may be from the booked one (published times are rounded).
_PICKUP_TOLERANCE = dt.timedelta(minutes=15)
#: How precisely a key's last use is kept (the administration page shows it).
_LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


class PartnerError(PlatformError):
    """A partner's request that cannot be served; ``status`` is the HTTP answer, ``message`` English."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- Operators and keys ---------------------------------------------------------------------


def hash_key(key: str) -> str:
    """The stored form of a key (hex SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_operator(
    name: str,
    domain: str,
    contact: str,
    scopes: list[str],
    by_user: User,
    structure: Structure | None = None,
) -> tuple[PartnerOperator, str]:
    """A new partner and its key (returned once, never stored); committed."""
    unknown = set(scopes) - set(PARTNER_SCOPES)
    if unknown or not scopes:
        raise ValueError(f"unknown scopes {sorted(unknown)!r}")
    key = "msl_" + secrets.token_urlsafe(32)
    account = User(
        email=f"partenaire-{secrets.token_hex(6)}@partenaires.invalid",
        name=f"Partenaire {name}"[:200],
        role="aidant",
        structure=structure,
        # Nobody signs in with it: an inactive account with a password nobody knows.
        password_hash=generate_password_hash(secrets.token_urlsafe(32)),
        is_active_account=False,
    )
    operator = PartnerOperator(
        name=name.strip()[:200],
        domain=domain.strip().lower()[:253],
        contact=contact.strip()[:300],
        key_hash=hash_key(key),
        key_prefix=key[:12],
        scopes=",".join(s for s in PARTNER_SCOPES if s in scopes),
        structure=structure,
        account=account,
        created_by_id=by_user.id,
    )
    db.session.add_all([account, operator])
    db.session.flush()
    record_audit(
        "create",
        "partner_operator",
        operator.id,
        user=by_user,
        detail={"domain": operator.domain, "scopes": operator.scopes},
    )
    db.session.commit()
    return operator, key


def revoke_operator(operator: PartnerOperator, by_user: User) -> bool:
    """Revoke a partner's key (its bookings stay); False when it was already revoked."""
    if operator.revoked_at is not None:
        return False
    operator.revoked_at = utcnow()
    record_audit("revoke", "partner_operator", operator.id, user=by_user)
    db.session.commit()
    return True


def authenticate(key: str | None) -> PartnerOperator | None:
    """The partner holding ``key``, or None (unknown or revoked key)."""
    if not key:
        return None
    operator = db.session.execute(
        select(PartnerOperator).where(PartnerOperator.key_hash == hash_key(key))
    ).scalar_one_or_none()
    if operator is None or operator.revoked_at is not None:
        return None
    now = utcnow()
    last = notifications.aware(operator.last_used_at)
    if last is None or now - last > _LAST_USED_RESOLUTION:  # not one write per request
        operator.last_used_at = now
        db.session.commit()
    return operator


def partner_structure(operator: PartnerOperator) -> Structure:
    """The structure that follows the partner's passengers ("Partenaires", made on demand)."""
    if operator.structure is not None:
        return operator.structure
    found = db.session.execute(
        select(Structure).where(Structure.name == PARTNERS_STRUCTURE)
    ).scalar_one_or_none()
    if found is None:
        found = Structure(name=PARTNERS_STRUCTURE, kind="other")
        db.session.add(found)
        db.session.flush()
    return found


# --- Journey ids ----------------------------------------------------------------------------


def journey_id(offer_id: int, pickup_ts: int, *, secret: str, day: dt.date) -> str:
    """A published journey id that we can resolve later: its nonce carries the pickup time.

    The pickup time is public already (``passengerPickupDate`` of the same result) and is
    covered by the MAC with the nonce; with it, the offer is found by checking the MAC of each
    active offer (:func:`resolve_journey`), so the id names no database row and no table of
    issued ids is kept. The id keeps the shape of ``publication.public_journey_id``.
    """
    nonce = f"{secrets.token_hex(8)}t{int(pickup_ts)}"
    return public_journey_id(offer_id, pickup_ts, secret=secret, day=day, nonce=nonce)


def split_journey_id(public_id: str) -> int | None:
    """The pickup time carried by an id made by :func:`journey_id`, or None."""
    prefix, _, rest = public_id.partition("-")
    nonce, _, mac = rest.partition("-")
    ts = nonce.rpartition("t")[2]
    if prefix != "j" or not mac or not ts.isdigit() or len(ts) > 12:
        return None
    return int(ts)


def resolve_journey(
    public_id: str, *, secret: str, today: dt.date
) -> tuple[DriverOffer, int] | None:
    """The offer and pickup time a journey id was issued for (today or yesterday), or None."""
    pickup_ts = split_journey_id(public_id)
    if pickup_ts is None:
        return None
    pickup = dt.datetime.fromtimestamp(pickup_ts, dt.UTC)
    slack = dt.timedelta(seconds=_OFFER_SLACK_S)
    offers = db.session.execute(
        select(DriverOffer).where(
            DriverOffer.status == "active",
            or_(
                DriverOffer.kind == "regular",
                DriverOffer.departure_earliest.between(pickup - 2 * slack, pickup + slack),
            ),
        )
    ).scalars()
    for offer in offers:
        if journey_id_matches(public_id, offer.id, pickup_ts, secret=secret, today=today):
            return offer, pickup_ts
    return None


# --- Bookings -------------------------------------------------------------------------------


def booking_status(need_status: str | None, proposal_status: str | None, validated: bool) -> str:
    """The standard's BookingStatus of a booking, from our need and its proposal.

    The one mapping between the two vocabularies: a need proposed to the volunteer waits for
    her answer; her OUI confirms; a need cancelled or left unserved, or a proposal she declined
    (or let lapse, or that was withdrawn) while the need waits for someone else, is a cancelled
    booking for the partner (the journey they booked will not happen); a ride done waits for
    the partner's validation.
    """
    if need_status is None or need_status in ("cancelled", "unserved"):
        return "CANCELLED"
    if need_status == "done":
        return "VALIDATED" if validated else "COMPLETED_PENDING_VALIDATION"
    if need_status == "confirmed":
        return "CONFIRMED"
    if proposal_status in ("declined", "expired", "withdrawn", "taken"):
        return "CANCELLED"
    return "WAITING_CONFIRMATION"


def _proposal_of(booking: PartnerBooking) -> Proposal | None:
    if booking.need_id is None:
        return None
    return (
        db.session.execute(
            select(Proposal)
            .where(Proposal.need_id == booking.need_id, Proposal.driver_id == booking.driver_id)
            .order_by(Proposal.id.desc())
        )
        .scalars()
        .first()
    )


def status_of(booking: PartnerBooking) -> str:
    """The booking's current status (see :func:`booking_status`)."""
    need = db.session.get(RideNeed, booking.need_id) if booking.need_id else None
    proposal = _proposal_of(booking)
    return booking_status(
        need.status if need else None,
        proposal.status if proposal else None,
        booking.validated_at is not None,
    )


@dataclass(frozen=True)
class BookingRequest:
    """The fields of a standard Booking we use (already checked by the API layer)."""

    booking_uuid: str
    driver_journey_id: str
    passenger_id: str
    passenger_alias: str
    pickup_at: dt.datetime
    pickup: tuple[float, float]
    drop: tuple[float, float]
    pickup_address: str | None = None
    drop_address: str | None = None


def _beneficiary_for(operator: PartnerOperator, passenger_id: str, alias: str) -> Beneficiary:
    """The beneficiary standing for a partner's passenger: made once, an alias and ids only."""
    known = (
        db.session.execute(
            select(Beneficiary)
            .join(PartnerBooking, PartnerBooking.beneficiary_id == Beneficiary.id)
            .where(
                PartnerBooking.operator_id == operator.id,
                PartnerBooking.passenger_id == passenger_id,
            )
        )
        .scalars()
        .first()
    )
    if known is not None:
        return known
    person = Beneficiary(
        structure_id=partner_structure(operator).id,
        first_name=(alias.strip() or "Passager")[:100],
        last_name="",
        notes=f"Passager de {operator.name} ({operator.domain}), identifiant partenaire {passenger_id}",
    )
    db.session.add(person)
    db.session.flush()
    return person


def _label(address: str | None, point: tuple[float, float], what: str) -> str:
    if address:
        return address[:300]
    from .publication import cached_communes, commune_of

    return f"{what}, {commune_of(cached_communes(), point).name}"


def create_booking(operator: PartnerOperator, request: BookingRequest) -> PartnerBooking:
    """Turn a partner's booking into a need proposed to the journey's volunteer; committed.

    Raises :class:`PartnerError`: 409 when the booking id is known, 404 when the journey id is
    unknown or expired, 400 when the volunteer can no longer take this ride.
    """
    exists = db.session.execute(
        select(PartnerBooking.id).where(
            PartnerBooking.operator_id == operator.id,
            PartnerBooking.booking_uuid == request.booking_uuid,
        )
    ).first()
    if exists is not None:
        raise PartnerError(409, "booking_already_exists")
    today = dt.datetime.now(dt.UTC).date()
    found = resolve_journey(
        request.driver_journey_id, secret=str(current_app.config["SECRET_KEY"]), today=today
    )
    if found is None:
        raise PartnerError(404, "missing_journey")
    offer, _ = found
    account = operator.account
    assert account is not None
    person = _beneficiary_for(operator, request.passenger_id, request.passenger_alias)
    data = rides.NeedData(
        beneficiary=person,
        pickup=rides.Endpoint(
            _label(request.pickup_address, request.pickup, "Prise en charge"), *request.pickup
        ),
        dropoff=rides.Endpoint(_label(request.drop_address, request.drop, "Dépose"), *request.drop),
        time_mode="depart_after",
        requested_at=request.pickup_at,
        purpose="other",
        notes=f"Réservation {operator.name} {request.booking_uuid}",
    )
    need = rides.add_need(data, account, note=f"Réservation reçue de {operator.name}")
    candidate = _candidate_for(need, offer)
    if candidate is None:
        db.session.rollback()
        raise PartnerError(400, "driver journey no longer available")
    booking = PartnerBooking(
        booking_uuid=request.booking_uuid,
        operator_id=operator.id,
        need_id=need.id,
        beneficiary_id=person.id,
        driver_id=offer.driver_id,
        offer_id=offer.id,
        driver_journey_id=request.driver_journey_id,
        passenger_id=request.passenger_id,
        passenger_alias=request.passenger_alias[:100],
        pickup_at=request.pickup_at,
        pickup_lat=request.pickup[0],
        pickup_lng=request.pickup[1],
        drop_lat=request.drop[0],
        drop_lng=request.drop[1],
        pickup_address=request.pickup_address,
        drop_address=request.drop_address,
        distance_m=int(candidate.distance_m) if candidate.distance_m else None,
        duration_s=int((candidate.dropoff_at - candidate.pickup_at).total_seconds()),
        price_amount_eur=round(float(candidate.contribution_eur), 2),
    )
    db.session.add(booking)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same booking posted twice at once
        db.session.rollback()
        raise PartnerError(409, "booking_already_exists") from exc
    booking_id = booking.id
    try:
        rides.propose_ride(need, candidate.driver, by_user=account, candidate=candidate)
    except rides.RideError as exc:  # her time was booked meanwhile
        # The need stays, cancelled, in the history the coordinators read; the booking goes,
        # so that the partner may post it again for another journey.
        need = db.session.get(RideNeed, need.id)  # type: ignore[assignment]
        rides.cancel_need(need, by_user=account, via="api", reason=str(exc))
        db.session.execute(delete(PartnerBooking).where(PartnerBooking.id == booking_id))
        db.session.commit()
        raise PartnerError(400, "driver journey no longer available") from exc
    return db.session.get(PartnerBooking, booking_id)  # type: ignore[return-value]


def _candidate_for(need: RideNeed, offer: DriverOffer) -> Any:
    """The engine's way for this offer's volunteer to serve the need at the booked time (her
    trip first), or None. Another time of hers (the engine may find her free later that
    morning) is not what the passenger booked."""
    from .matching import candidates_for_need

    outcome = candidates_for_need(need, limit=100)
    booked = notifications.aware(need.requested_at)
    assert booked is not None
    mine = [
        c
        for c in outcome.candidates
        if c.driver.id == offer.driver_id
        and not c.joins
        and abs(notifications.aware(c.pickup_at) - booked) <= _PICKUP_TOLERANCE  # type: ignore[operator]
    ]
    mine.sort(key=lambda c: (c.offer is None or c.offer.id != offer.id, c.added_distance_m))
    return mine[0] if mine else None


def find_booking(operator: PartnerOperator, booking_uuid: str) -> PartnerBooking:
    """The partner's booking, or PartnerError 404 (a partner never sees another's bookings)."""
    booking = db.session.execute(
        select(PartnerBooking).where(
            PartnerBooking.operator_id == operator.id, PartnerBooking.booking_uuid == booking_uuid
        )
    ).scalar_one_or_none()
    if booking is None:
        raise PartnerError(404, "missing_booking")
    return booking


def change_status(
    operator: PartnerOperator, booking: PartnerBooking, status: str, message: str | None = None
) -> str:
    """Apply a status the partner may set: CANCELLED (the need is cancelled, the volunteer told
    by SMS) or VALIDATED (after the ride). The new status; PartnerError 409 when already set,
    400 when the standard lets only the driver's side set it."""
    current = status_of(booking)
    if status == current:
        raise PartnerError(409, "status_already_set")
    if status == "CANCELLED" and current in ("WAITING_CONFIRMATION", "CONFIRMED"):
        need = db.session.get(RideNeed, booking.need_id)
        assert need is not None
        reason = f"demandé par {operator.name}" + (f" ({message.strip()[:200]})" if message else "")
        try:
            rides.cancel_need(need, by_user=operator.account, via="api", reason=reason)
        except rides.NeedChanged as exc:
            raise PartnerError(409, "status changed meanwhile") from exc
    elif status == "VALIDATED" and current == "COMPLETED_PENDING_VALIDATION":
        booking.validated_at = utcnow()
        db.session.commit()
    else:
        raise PartnerError(400, f"a partner cannot move a booking from {current} to {status}")
    return status_of(booking)


def driver_user_id(booking: PartnerBooking) -> str:
    """The volunteer's id in this booking: stable for the booking, linking to nothing else."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return "u-" + hmac.new(key, f"booking-driver:{booking.id}".encode(), "sha256").hexdigest()[:16]


def booking_json(booking: PartnerBooking, web_url: str | None = None) -> dict[str, Any]:
    """The standard's Booking object of a booking."""
    ours = str(current_app.config.get("OPERATOR_DOMAIN", "mobilite-solidaire.lot.fr"))
    from .publication import PUBLIC_ALIAS

    out: dict[str, Any] = {
        "id": booking.booking_uuid,
        "driver": {"id": driver_user_id(booking), "operator": ours, "alias": PUBLIC_ALIAS},
        "passenger": {
            "id": booking.passenger_id,
            "operator": booking.operator.domain,
            "alias": booking.passenger_alias,
        },
        "passengerPickupDate": int(notifications.aware(booking.pickup_at).timestamp()),  # type: ignore[union-attr]
        "passengerPickupLat": booking.pickup_lat,
        "passengerPickupLng": booking.pickup_lng,
        "passengerDropLat": booking.drop_lat,
        "passengerDropLng": booking.drop_lng,
        "status": status_of(booking),
        "price": (
            {"type": "PAYING", "amount": booking.price_amount_eur, "currency": "EUR"}
            if booking.price_amount_eur
            else {"type": "UNKNOWN"}
        ),
        "driverJourneyId": booking.driver_journey_id,
    }
    for key, value in (
        ("passengerPickupAddress", booking.pickup_address),
        ("passengerDropAddress", booking.drop_address),
        ("duration", booking.duration_s),
        ("distance", booking.distance_m),
        ("webUrl", web_url),
    ):
        if value is not None:
            out[key] = value
    return out


def apply_event(operator: PartnerOperator, data: Mapping[str, Any]) -> str:
    """A booking event sent by the partner (``POST /booking_events``): its status applied when
    the partner may set it, else only checked; the booking's status after it."""
    booking = find_booking(operator, str(data["id"]))
    wanted = str(data["status"])
    current = status_of(booking)
    if wanted != current and wanted in ("CANCELLED", "VALIDATED"):
        return change_status(operator, booking, wanted)
    return current


# --- Messages -------------------------------------------------------------------------------


def relay_message(
    operator: PartnerOperator,
    *,
    sender_id: str,
    sender_alias: str,
    text: str,
    booking_uuid: str | None,
    driver_journey_id: str | None,
) -> PartnerMessage:
    """Store a partner passenger's message to a volunteer and text it to her; committed.

    The volunteer is found from the booking, or else from the journey id; PartnerError 404
    when neither names one. Quiet hours delay the SMS; a volunteer who answered STOP gets
    nothing (the outbox row is stored as cancelled).
    """
    booking = find_booking(operator, booking_uuid) if booking_uuid else None
    driver: Driver | None = None
    when: dt.datetime | None = None
    if booking is not None:
        driver = db.session.get(Driver, booking.driver_id) if booking.driver_id else None
        when = notifications.aware(booking.pickup_at)
    elif driver_journey_id:
        found = resolve_journey(
            driver_journey_id,
            secret=str(current_app.config["SECRET_KEY"]),
            today=dt.datetime.now(dt.UTC).date(),
        )
        if found is not None:
            driver = found[0].driver
            when = dt.datetime.fromtimestamp(found[1], dt.UTC)
    if driver is None or not driver.phone_e164:
        raise PartnerError(404, "missing_journey")
    trip = (
        f" pour le trajet du {notifications.fr_day(when)} à {notifications.fr_hour(when)}"
        if when
        else ""
    )
    body = (
        f"Message de {sender_alias[:40]} (passager {operator.name}){trip} : {text.strip()} "
        f"— Pour répondre, appelez le {notifications.fr_phone(current_app.config.get('SERVICE_PHONE', ''))}."
    )
    sms = notifications.stage_sms(
        driver.phone_e164,
        body,
        kind="partner_message",
        need_id=booking.need_id if booking else None,
        driver_id=driver.id,
        not_before=notifications.quiet_until(utcnow()),
    )
    row = PartnerMessage(
        operator_id=operator.id,
        booking_id=booking.id if booking else None,
        driver_id=driver.id,
        sender_id=sender_id[:255],
        sender_alias=sender_alias[:100],
        body=text,
        sms_id=sms.id,
    )
    db.session.add(row)
    db.session.commit()
    notifications.enqueue_committed()
    return row
