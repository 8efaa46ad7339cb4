"""Inbound SMS: who wrote, what they asked for, what happens, what we answer.

:func:`handle_inbound` is the one entry point, used by the Twilio webhook and by the SMS
simulator alike. Each provider message id is processed once: the inbound row is inserted with
its unique ``provider_sid`` before anything else, so a retried webhook finds it and gets the same
answer again without acting twice. Status changes go through :mod:`app.services.rides`
(first come, first served on OUI); answers are returned for the webhook's TwiML and stored as
outbound rows (``kind='reply'``) linked to the inbound row.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Beneficiary,
    Commune,
    Driver,
    DriverOffer,
    NeedEvent,
    Place,
    Proposal,
    RideNeed,
    SmsMessage,
    Structure,
    point,
    utcnow,
)
from ..models.messaging import SmsTripCode
from . import notifications as notif
from . import sms_grammar as grammar
from .notifications import aware, fr_day, fr_hour, fr_phone, local

log = logging.getLogger(__name__)

STALE_PROCESSING = timedelta(seconds=60)
ACTIVE_NEED_STATUSES = ("new", "searching", "proposed", "confirmed")


@dataclass
class InboundResult:
    """The answer to one inbound text."""

    message: SmsMessage
    replies: list[str] = field(default_factory=list)
    replayed: bool = False
    action: str = ""


def _render(template: str, **context: Any) -> str:
    return notif._render(template, **context)  # noqa: SLF001 - same package, shared renderer


def _service_phone() -> str:
    return fr_phone(current_app.config.get("SERVICE_PHONE", ""))


# --- Entry point -----------------------------------------------------------------------------

def handle_inbound(phone_e164: str, body: str, *, message_sid: str) -> InboundResult:
    """Process one inbound SMS once; return the answers to send back (TwiML)."""
    phone_e164 = (phone_e164 or "").strip()
    body = (body or "")[:1600]
    inbound = SmsMessage(direction="in", phone_e164=phone_e164, body=body, segments=1, status="processing",
                         provider_sid=message_sid, attempts=1)
    db.session.add(inbound)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _replay(message_sid)
    return _process(inbound)


def accept_inbound(phone_e164: str, body: str, *, message_sid: str) -> SmsMessage | None:
    """Store an inbound text for the queue worker (``SMS_INBOUND_QUEUED``) and queue it.

    The row is committed before the webhook answers, so a text Twilio handed over is never
    lost: if its task is lost too, :func:`requeue_inbound` finds it. None when this
    ``message_sid`` was stored before (a retried webhook): nothing more to do.
    """
    from ..tasks import enqueue_inbound

    inbound = SmsMessage(direction="in", phone_e164=(phone_e164 or "").strip(), body=(body or "")[:1600],
                         segments=1, status="received", provider_sid=message_sid, attempts=0)
    db.session.add(inbound)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    enqueue_inbound(inbound.id)
    return inbound


def process_received(row_id: int) -> str:
    """Handle a stored inbound text once (the queue's task); its answers go through the outbox.

    The row is claimed by a compare-and-set (received, or processing for longer than
    ``STALE_PROCESSING`` by a worker that died), so two workers never handle it twice.
    Returns the action taken, or "done" / "busy" when there was nothing to do.
    """
    db.session.expire_all()
    row = db.session.get(SmsMessage, row_id)
    if row is None or row.direction != "in" or row.status not in ("received", "processing"):
        return "done"
    now = utcnow()
    if row.status == "processing" and now - (aware(row.updated_at) or now) <= STALE_PROCESSING:
        return "busy"
    claimed = db.session.execute(
        update(SmsMessage).where(SmsMessage.id == row_id, SmsMessage.status == row.status,
                                 SmsMessage.updated_at == row.updated_at)
        .values(status="processing", updated_at=now, attempts=SmsMessage.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    if int(claimed.rowcount) != 1:  # type: ignore[attr-defined]
        return "busy"
    row = db.session.get(SmsMessage, row_id)
    db.session.refresh(row)
    return _process(row, inline=False).action


def requeue_inbound(grace_s: float | None = None) -> int:
    """Queue again the stored inbound texts whose task was lost, or whose worker died."""
    from ..tasks import enqueue_inbound

    now = utcnow()
    grace = timedelta(seconds=float(current_app.config.get("SMS_SWEEP_GRACE_S", 30)) if grace_s is None else grace_s)
    ids = db.session.execute(
        select(SmsMessage.id).where(
            SmsMessage.direction == "in",
            ((SmsMessage.status == "received") & (SmsMessage.created_at <= now - grace))
            | ((SmsMessage.status == "processing") & (SmsMessage.updated_at <= now - STALE_PROCESSING)),
        ).order_by(SmsMessage.id).limit(500)).scalars().all()
    db.session.commit()
    for row_id in ids:
        enqueue_inbound(row_id)
    if ids:
        log.info("inbound sweep: %d text(s) re-queued", len(ids))
    return len(ids)


def _replay(message_sid: str) -> InboundResult:
    """A message seen before: its stored answers, or nothing while it is being handled."""
    existing = db.session.execute(select(SmsMessage).where(SmsMessage.provider_sid == message_sid)).scalar_one()
    if existing.status == "processing" and utcnow() - (aware(existing.updated_at) or utcnow()) > STALE_PROCESSING:
        # Its first handling died half-way: take it over (handlers are safe to repeat).
        existing.updated_at = utcnow()
        db.session.commit()
        return _process(existing)
    replies = db.session.execute(select(SmsMessage.body).where(SmsMessage.in_reply_to_id == existing.id)
                                 .order_by(SmsMessage.id)).scalars().all()
    return InboundResult(existing, list(replies), replayed=True, action="replay")


def _process(inbound: SmsMessage, *, inline: bool = True) -> InboundResult:
    phone = inbound.phone_e164
    command = grammar.parse_command(inbound.body)
    inbound.kind = command.keyword
    db.session.commit()
    error = None
    owner = _Owner()
    try:
        with notif.answering_inline(phone):
            action, replies = _dispatch(phone, command, owner)
    except Exception as exc:  # noqa: BLE001 - logged and stored on the row; the sender gets an answer
        log.exception("inbound SMS %s could not be handled", inbound.id)
        db.session.rollback()
        error = f"{type(exc).__name__}: {exc}"[:2000]
        action, replies = "error", [_render("error", service_phone=_service_phone())]
    inbound = db.session.get(SmsMessage, inbound.id)  # type: ignore[assignment]
    inbound.last_error = error
    # The person the message belongs to (GDPR export and erasure); its replies follow it.
    inbound.driver_id, inbound.beneficiary_id = owner.driver_id, owner.beneficiary_id
    kind = "stop_ack" if action == "stop" else "reply"
    for text in replies:
        if inline:  # in the webhook's TwiML: Twilio sends it
            notif.record_inline_reply(inbound, text, kind=kind)
        else:  # from the queue: through the outbox
            notif.stage_sms(inbound.phone_e164, text, kind=kind, beneficiary_id=owner.beneficiary_id,
                            driver_id=owner.driver_id, in_reply_to_id=inbound.id)
    inbound.status = "processed"
    db.session.commit()
    if not inline:
        notif.enqueue_committed()
    log.info("inbound SMS %s from %s: %s", inbound.id, phone[:6] + "…", action)
    return InboundResult(inbound, replies, action=action)


@dataclass
class _Owner:
    """Who an inbound message is matched to: a driver, a rider, or nobody (unknown or shared
    number that no command tied to one person)."""

    driver_id: int | None = None
    beneficiary_id: int | None = None


def _dispatch(phone: str, command: grammar.Command, owner: _Owner) -> tuple[str, list[str]]:
    driver = db.session.execute(select(Driver).where(Driver.phone_e164 == phone)).scalar_one_or_none()
    riders = list(db.session.execute(select(Beneficiary).where(Beneficiary.phone_e164 == phone)).scalars())
    if driver is not None and not riders:
        owner.driver_id = driver.id
    elif driver is None and len(riders) == 1:
        owner.beneficiary_id = riders[0].id
    if command.keyword == grammar.STOP:
        notif.set_opt_out(phone, True, keyword=command.raw.strip()[:40])
        return "stop", [_render("stop_ack")]
    if command.keyword == grammar.START:
        notif.set_opt_out(phone, False)
        return "start", [_render("start_ack")]
    if driver is not None and (command.keyword in (grammar.YES, grammar.NO, grammar.TRIP, grammar.ABSENT,
                                                   grammar.AVAILABLE) or not riders):
        owner.driver_id, owner.beneficiary_id = driver.id, None
        return _driver_command(driver, command)
    if command.keyword == grammar.TRIP:
        return "trip_not_driver", [_render("trip_not_driver", service_phone=_service_phone())]
    if command.keyword in (grammar.ABSENT, grammar.AVAILABLE):
        return "absence_not_driver", [_render("absence_not_driver", service_phone=_service_phone())]
    if riders:
        owner.driver_id = None
        owner.beneficiary_id = riders[0].id if len(riders) == 1 else None
        return _rider_command(riders, command, owner)
    return "unknown_number", [_unknown_number_text(command.raw)]


# --- Drivers ---------------------------------------------------------------------------------

def _open_items(driver: Driver) -> list[tuple[Any, str, Any]]:
    """Open questions to this driver, newest first: (time asked, code, proposal or trip code)."""
    items: list[tuple[Any, str, Any]] = []
    rows = db.session.execute(
        select(Proposal, SmsMessage.sent_at).join(SmsMessage, SmsMessage.proposal_id == Proposal.id).where(
            Proposal.driver_id == driver.id, Proposal.status == "pending", SmsMessage.kind == "proposal",
            SmsMessage.status.in_(("sending", "sent", "delivered")))
    ).all()
    seen: set[int] = set()
    for proposal, sent_at in rows:
        if proposal.id not in seen:
            seen.add(proposal.id)
            items.append((aware(sent_at) or aware(proposal.created_at), proposal.code, proposal))
    drafts = db.session.execute(
        select(SmsTripCode).join(DriverOffer, DriverOffer.id == SmsTripCode.offer_id).where(
            SmsTripCode.driver_id == driver.id, DriverOffer.status == "pending_confirmation")
    ).scalars().all()
    for draft in drafts:
        items.append((aware(draft.created_at), draft.code, draft))
    items.sort(key=lambda item: item[0], reverse=True)
    return items


def _find_by_code(driver: Driver, code: str) -> Any:
    """The proposal (any status) or trip code of this driver with this code, newest first."""
    proposal = db.session.execute(
        select(Proposal).where(Proposal.driver_id == driver.id, Proposal.code == code)
        .order_by(Proposal.status != "pending", Proposal.id.desc())).scalars().first()
    draft = db.session.execute(
        select(SmsTripCode).where(SmsTripCode.driver_id == driver.id, SmsTripCode.code == code)
        .order_by(SmsTripCode.created_at.desc())).scalars().first()
    if proposal is not None and draft is not None:
        # Both carry the code: the one still open, else the newest.
        if proposal.status == "pending":
            return proposal
        if draft.offer and draft.offer.status == "pending_confirmation":
            return draft
        return proposal if aware(proposal.created_at) >= aware(draft.created_at) else draft  # type: ignore[operator]
    return proposal or draft


def _driver_command(driver: Driver, command: grammar.Command) -> tuple[str, list[str]]:
    kw = command.keyword
    if kw == grammar.TRIP:
        return _announce_trip(driver, command.rest)
    if kw == grammar.HELP:
        return "help", [_render("help_driver")]
    if kw == grammar.ABSENT:
        return _record_absence(driver, command.rest)
    if kw == grammar.AVAILABLE:
        return _record_availability(driver, command.rest)
    if kw in (grammar.YES, grammar.NO, grammar.CANCEL):
        if command.code:
            target = _find_by_code(driver, command.code)
            if target is None:
                codes = ", ".join(code for _, code, _ in _open_items(driver)[:4])
                return "unknown_code", [_render("unknown_code", code=command.code, open_codes=codes)]
        elif kw == grammar.CANCEL:
            return _driver_cancel_without_code(driver)
        else:
            items = _open_items(driver)
            if not items:
                return "no_open", [_render("no_open")]
            target = items[0][2]
        if isinstance(target, SmsTripCode):
            return _answer_trip(driver, target, kw)
        if kw == grammar.CANCEL:
            return _driver_cancel_without_code(driver)
        return _answer_proposal(driver, target, yes=kw == grammar.YES)
    items = _open_items(driver)
    return "not_understood", [_render("not_understood", code=items[0][1] if items else None)]


_SLOTS_FR = {"morning": "matin", "afternoon": "après-midi", "evening": "soir"}


def _record_absence(driver: Driver, text: str) -> tuple[str, list[str]]:
    """ABSENT du 12/12 au 20/12: no proposal those days; the needs already planned are flagged."""
    from . import absences

    try:
        wanted = grammar.parse_absence(text, local(utcnow()).date())
        absence, planned = absences.record_absence(driver, wanted.first_day, wanted.last_day, source="sms")
    except (grammar.AbsenceParseError, absences.AbsenceError) as exc:
        db.session.rollback()
        return "absence_error", [_render("absence_error", error=str(exc))]
    for proposal in planned:
        # The aidant following each planned ride sees it on the need's page.
        db.session.add(NeedEvent(need_id=proposal.need_id, actor=f"{driver.first_name} (SMS)",
                                 note=f"{driver.first_name} a signalé par SMS une absence du "
                                      f"{absence.first_day:%d/%m} au {absence.last_day:%d/%m} : "
                                      "trajet à confier à un autre bénévole."))
    db.session.commit()
    return "absence", [_render("absence_recorded", first=f"{absence.first_day:%d/%m}",
                               last=f"{absence.last_day:%d/%m}", planned=len(planned))]


def _record_availability(driver: Driver, text: str) -> tuple[str, list[str]]:
    """DISPO lundi matin: one slot more that day; a bare DISPO ends the current absence."""
    from . import absences

    try:
        wanted = grammar.parse_availability(text, local(utcnow()).date())
        if wanted.day is None:
            ended = absences.end_current_absence(driver)
            db.session.commit()
            return "available", [_render("back_recorded", ended=ended)]
        for slot in wanted.slots:
            absences.record_extra_slot(driver, wanted.day, slot, source="sms")
    except (grammar.AbsenceParseError, absences.AbsenceError) as exc:
        db.session.rollback()
        return "absence_error", [_render("absence_error", error=str(exc))]
    db.session.commit()
    return "available", [_render("available_recorded", day=f"{notif.WEEKDAYS_SHORT[wanted.day.weekday()]} {wanted.day:%d/%m}",
                                 slots=", ".join(_SLOTS_FR[s] for s in wanted.slots))]


def _answer_proposal(driver: Driver, proposal: Proposal, *, yes: bool) -> tuple[str, list[str]]:
    """OUI / NON to a proposal, or to a pooled route (its proposals share the route's code)."""
    from ..models import RideRoute
    from . import rides

    pickup = aware(proposal.pickup_at or proposal.need.requested_at) or utcnow()
    route = db.session.get(RideRoute, proposal.route_id) if proposal.route_id is not None else None
    refusal = rides.route_refusal(route) if route is not None else rides.answer_refusal(proposal)
    if refusal == "accepted":
        return "already_yours", [_render("already_yours", driver=driver, day=fr_day(pickup), hour=fr_hour(pickup))]
    if refusal == "taken":
        return "taken", [_render("already_taken", driver=driver)]
    if refusal == "expired":
        return "expired", [_render("answer_expired", driver=driver, code=proposal.code)]
    if refusal == "past":
        return "past", [_render("answer_past", driver=driver, code=proposal.code, day=fr_day(pickup))]
    if refusal is not None:
        return "closed", [_render("closed", driver=driver)]
    if route is not None:
        if not yes:
            rides.decline_route(route, via="sms")
            return "declined", [_render("declined", driver=driver)]
        if rides.accept_route(route, via="sms"):
            db.session.refresh(route)
            return "accepted", [notif.route_confirmation_text(route)]
        return "closed", [_render("closed", driver=driver)]
    if not yes:
        rides.decline_proposal(proposal, via="sms")
        return "declined", [_render("declined", driver=driver)]
    if rides.accept_proposal(proposal, via="sms"):
        db.session.refresh(proposal)
        return "accepted", [notif.driver_confirmation_text(proposal)]
    db.session.refresh(proposal)
    busy = rides.own_overlap(proposal) if proposal.status == "pending" else None
    if busy is not None:  # still open, but her time went to another ride
        return "busy", [_render("busy_elsewhere", driver=driver, start=fr_hour(busy.busy_from),
                                end=fr_hour(busy.busy_until), code=proposal.code, service_phone=_service_phone())]
    return "taken", [_render("already_taken", driver=driver)]


def _driver_cancel_without_code(driver: Driver) -> tuple[str, list[str]]:
    from . import rides

    upcoming = db.session.execute(
        select(Proposal).join(RideNeed, RideNeed.id == Proposal.need_id).where(
            Proposal.driver_id == driver.id, Proposal.status == "accepted", RideNeed.status == "confirmed",
            RideNeed.requested_at >= utcnow() - timedelta(hours=6)).order_by(RideNeed.requested_at)
    ).scalars().first()
    if upcoming is not None:
        rides.record_event(upcoming.need, actor=f"{driver.first_name} {driver.last_name[:1]}. (SMS)",
                           note="Le conducteur a répondu ANNULER par SMS : l'appeler et chercher un remplaçant.")
        db.session.commit()
        return "driver_cancel_accepted", [_render("driver_cancel_accepted", service_phone=_service_phone())]
    items = _open_items(driver)
    if items and isinstance(items[0][2], SmsTripCode):
        return _answer_trip(driver, items[0][2], grammar.NO)
    return "no_open", [_render("no_open")]


# --- Trips announced by SMS -----------------------------------------------------------------

def commune_index() -> grammar.CommuneIndex:
    """The communes of the active territory (with old names of merged communes), cached."""
    from ..errors import TerritoryNotBuilt
    from .runtime import loaded_territory

    try:
        territory: str | None = loaded_territory().name
    except TerritoryNotBuilt:
        territory = None
    key = f"sms_commune_index:{territory}"
    cached = current_app.extensions.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    query = select(Commune)
    if territory is not None:
        query = query.where(Commune.territory == territory)
    communes = db.session.execute(query).scalars().all()
    index = grammar.CommuneIndex.build(communes)
    current_app.extensions[key] = index
    return index


def _new_trip_code(driver: Driver) -> str:
    used = {code for _, code, _ in _open_items(driver)}
    used |= set(db.session.execute(select(Proposal.code).where(Proposal.status == "pending")).scalars())
    free = [f"{n}" for n in range(100, 1000) if f"{n}" not in used]
    return free[secrets.randbelow(len(free))]


def _announce_trip(driver: Driver, text: str) -> tuple[str, list[str]]:
    now_local = local(utcnow())
    try:
        trip = grammar.parse_trip(text, commune_index(), now_local)
    except grammar.TripParseError as exc:
        return "trip_error", [_render("trip_error", error=str(exc))]
    departure = trip.departure
    offer = DriverOffer(
        driver_id=driver.id, kind="one_off", origin_label=trip.origin.label,
        origin_geom=point(trip.origin.lat, trip.origin.lon), destination_label=trip.destination.label,
        destination_geom=point(trip.destination.lat, trip.destination.lon),
        departure_earliest=(departure - timedelta(minutes=15)).astimezone(UTC),
        departure_latest=(departure + timedelta(minutes=15)).astimezone(UTC),
        flexibility_min=15, seats=trip.seats, status="pending_confirmation", source="sms",
    )
    db.session.add(offer)
    db.session.flush()
    code = _new_trip_code(driver)
    db.session.add(SmsTripCode(offer_id=offer.id, driver_id=driver.id, code=code, text=text[:500]))
    db.session.commit()
    return "trip_understood", [_render("trip_understood", origin=trip.origin.label, destination=trip.destination.label,
                                       day=fr_day(departure), hour=fr_hour(departure), seats=trip.seats, code=code)]


def _answer_trip(driver: Driver, draft: SmsTripCode, keyword: str) -> tuple[str, list[str]]:
    offer = db.session.get(DriverOffer, draft.offer_id)
    if offer is None:
        return "closed", [_render("closed", driver=driver)]
    earliest = aware(offer.departure_earliest) or utcnow()
    when = earliest + timedelta(minutes=offer.flexibility_min or 0)
    context = {"origin": offer.origin_label, "destination": offer.destination_label, "day": fr_day(when),
               "hour": fr_hour(when), "code": draft.code}
    if keyword == grammar.YES:
        if offer.status == "pending_confirmation":
            offer.status = "active"
            db.session.commit()
        if offer.status != "active":
            return "closed", [_render("closed", driver=driver)]
        return "trip_confirmed", [_render("trip_confirmed", **context)]
    if offer.status == "pending_confirmation":
        offer.status = "cancelled"
        db.session.commit()
        return "trip_dropped", [_render("trip_dropped", **context)]
    if offer.status == "active" and keyword == grammar.CANCEL:
        offer.status = "cancelled"
        db.session.commit()
        return "trip_cancelled", [_render("trip_cancelled", **context)]
    return "closed", [_render("closed", driver=driver)]


# --- Riders (or their aidants) ---------------------------------------------------------------

def _rider_command(riders: list[Beneficiary], command: grammar.Command, owner: _Owner) -> tuple[str, list[str]]:
    if command.keyword != grammar.CANCEL:
        return "help", [_render("help_rider", service_phone=_service_phone())]
    from . import rides

    needs = list(db.session.execute(
        select(RideNeed).where(RideNeed.beneficiary_id.in_([b.id for b in riders]),
                               RideNeed.status.in_(ACTIVE_NEED_STATUSES),
                               RideNeed.requested_at >= utcnow() - timedelta(hours=2))
        .order_by(RideNeed.requested_at)).scalars())
    if command.code:
        needs = [n for n in needs if str(n.id) == command.code]
    if not needs:
        return "rider_nothing", [_render("rider_nothing", service_phone=_service_phone())]
    if len(needs) > 1:
        options = " ; ".join(f"{n.id} : {fr_day(aware(n.requested_at))} {fr_hour(aware(n.requested_at))} "  # type: ignore[arg-type]
                             f"{n.dropoff_label[:20]}" for n in needs[:4])
        return "rider_which", [_render("rider_which", options=options)]
    need = needs[0]
    owner.beneficiary_id = need.beneficiary_id  # a number shared by several riders: the one concerned
    when = aware(need.requested_at)
    try:
        rides.cancel_need(need, via="sms", reason="demandé par SMS")
    except rides.RideError:
        db.session.rollback()
        return "rider_nothing", [_render("rider_nothing", service_phone=_service_phone())]
    return "rider_cancelled", [_render("rider_cancelled", day=fr_day(when), hour=fr_hour(when),  # type: ignore[arg-type]
                                       dropoff=need.dropoff_label)]


# --- Unknown numbers -------------------------------------------------------------------------

@dataclass(frozen=True)
class Counter:
    """A France Services counter, as quoted in an SMS."""

    name: str
    address: str
    phone: str
    lat: float
    lon: float


def _counters() -> list[Counter]:
    places = db.session.execute(select(Place).where(Place.kind == "france_services")).scalars().all()
    phones = {s.name: s.phone for s in db.session.execute(
        select(Structure).where(Structure.kind.in_(("france_services", "msap")))).scalars()}
    out = []
    for p in places:
        lat_lon = p.lat_lon
        if lat_lon is None:
            continue
        details = p.details or {}
        phone = details.get("phone") or phones.get(p.name) or current_app.config.get("SERVICE_PHONE", "")
        out.append(Counter(p.name, p.address or (p.commune.name if p.commune else ""), fr_phone(phone), *lat_lon))
    return out


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(h))


def commune_in_text(text: str) -> grammar.CommuneEntry | None:
    """A commune named somewhere in a free text ("Bonjour, j'habite à Lalbenque")."""
    words = grammar.fold_text(text).split()
    index = commune_index()
    for size in range(min(5, len(words)), 0, -1):
        for start in range(0, len(words) - size + 1):
            entry, distance = index.lookup(words[start:start + size])
            if entry is not None and distance == 0:
                return entry
    return None


def _unknown_number_text(text: str) -> str:
    counters = _counters()
    if not counters:
        return _render("unknown_number", counter=Counter("votre mairie", "", _service_phone(), 0, 0), invite=False)
    commune = commune_in_text(text)
    if commune is not None:
        nearest = min(counters, key=lambda c: _distance_km((c.lat, c.lon), (commune.lat, commune.lon)))
        return _render("unknown_number", counter=nearest, invite=False)
    return _render("unknown_number", counter=counters[0], invite=len(counters) > 1)
