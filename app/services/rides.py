"""Ride needs and their status workflow: the ONLY module that changes a need's or a proposal's status.

    new → searching → proposed → confirmed → done
    (new | searching | proposed) → unserved (with a reason)
    (new | searching | proposed | confirmed) → cancelled

Every change is a conditional UPDATE on the need's status and version (the need row is
optimistically locked), so two aidants — or an aidant and an SMS answer — acting on the same
need at once cannot both win: the second sees what the first did. Every change writes a
``NeedEvent`` (who, when, from which status to which), shown to the structures concerned.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..errors import PlatformError
from ..extensions import db
from ..models import (
    Beneficiary,
    Driver,
    NeedEvent,
    Proposal,
    RideNeed,
    RideRoute,
    User,
    aware_utc,
    point,
    utcnow,
)
from .audit import record_audit
from .matching import local_day_of
from .notifications import fr_hour as _fr_hour

log = logging.getLogger(__name__)

OPEN_STATUSES = ("new", "searching", "proposed")
ACTIVE_STATUSES = (*OPEN_STATUSES, "confirmed")
STATUS_FR = {
    "new": "Nouveau",
    "searching": "Recherche en cours",
    "proposed": "Proposé à un bénévole",
    "confirmed": "Confirmé",
    "done": "Effectué",
    "cancelled": "Annulé",
    "unserved": "Sans solution",
}
PROPOSAL_STATUS_FR = {
    "pending": "En attente de réponse",
    "accepted": "Acceptée",
    "declined": "Refusée",
    "taken": "Déjà pourvue",
    "expired": "Expirée",
    "withdrawn": "Retirée",
}
PURPOSE_FR = {
    "medical": "Rendez-vous médical",
    "employment": "Emploi, formation",
    "administrative": "Démarche administrative",
    "shopping": "Courses",
    "family": "Visite familiale",
    "other": "Autre",
}
VIA_FR = {"sms": "par SMS", "phone": "par téléphone", "web": "sur la plateforme"}


class RideError(PlatformError):
    """A workflow step that cannot be done; the message is French, for the aidant."""


class NeedChanged(RideError):
    """The need was changed by someone else meanwhile (its status or version moved)."""


@dataclass
class Endpoint:
    """One end of a trip: what the aidant chose, and where it is."""

    label: str
    lat: float
    lon: float
    place_id: int | None = None


@dataclass
class NeedData:
    beneficiary: Beneficiary
    pickup: Endpoint
    dropoff: Endpoint
    time_mode: str
    requested_at: datetime  # aware
    purpose: str
    return_mode: str = "none"
    return_wait_min: int | None = None
    return_at: datetime | None = None
    passengers: int = 1
    needs_accompaniment: bool = False
    needs_wheelchair: bool = False
    no_front_seat: bool = False
    notes: str | None = None


def _actor(by_user: User | None, via: str | None = None, driver: Driver | None = None) -> str:
    if by_user is not None:
        return by_user.name
    if via == "sms" and driver is not None:
        return f"{driver.first_name} (SMS)"
    return "système"


def record_event(need: RideNeed, *, by_user: User | None = None, actor: str | None = None,
                 from_status: str | None = None, to_status: str | None = None,
                 note: str | None = None, data: dict[str, Any] | None = None) -> NeedEvent:
    """Add one step to a need's history (not committed)."""
    event = NeedEvent(need_id=need.id, user_id=by_user.id if by_user else None,
                      actor=(actor or _actor(by_user))[:200], from_status=from_status,
                      to_status=to_status, note=note, data=data, at=utcnow())
    db.session.add(event)
    return event


def create_need(data: NeedData, by_user: User) -> RideNeed:
    """Post a ride need for a beneficiary (status 'new'); commit."""
    need = add_need(data, by_user)
    db.session.commit()
    return need


def add_need(data: NeedData, by_user: User, *, series_id: int | None = None,
             note: str = "Besoin enregistré") -> RideNeed:
    """A new ride need with its first history step and audit entry (not committed).

    ``series_id``: the recurring series it is an occurrence of (app.services.series).
    """
    need = RideNeed(series_id=series_id,
        beneficiary_id=data.beneficiary.id, structure_id=data.beneficiary.structure_id,
        created_by_id=by_user.id,
        pickup_label=data.pickup.label[:300], pickup_place_id=data.pickup.place_id,
        pickup_geom=point(data.pickup.lat, data.pickup.lon),
        dropoff_label=data.dropoff.label[:300], dropoff_place_id=data.dropoff.place_id,
        dropoff_geom=point(data.dropoff.lat, data.dropoff.lon),
        time_mode=data.time_mode, requested_at=data.requested_at, purpose=data.purpose,
        return_mode=data.return_mode, return_wait_min=data.return_wait_min, return_at=data.return_at,
        passengers=data.passengers, needs_accompaniment=data.needs_accompaniment,
        needs_wheelchair=data.needs_wheelchair, no_front_seat=data.no_front_seat,
        notes=(data.notes or "").strip() or None, status="new",
    )
    db.session.add(need)
    data.beneficiary.last_activity_at = utcnow()
    db.session.flush()
    record_event(need, by_user=by_user, to_status="new", note=note)
    record_audit("create", "ride_need", need.id, user=by_user, detail={"beneficiary": data.beneficiary.id})
    return need


def _fresh_state(need_id: int) -> tuple[str, int] | None:
    row = db.session.execute(
        select(RideNeed.status, RideNeed.version).where(RideNeed.id == need_id)
        .execution_options(populate_existing=True)
    ).first()
    return (row[0], row[1]) if row else None


def _move(need: RideNeed, to_status: str, allowed_from: tuple[str, ...], *,
          expected_version: int | None = None, **values: Any) -> str:
    """Conditionally move the need to ``to_status``; return the status it had.

    Raises NeedChanged when the need is not (or no longer) in ``allowed_from`` or when its
    version is not ``expected_version`` (someone else acted since the page was shown).
    """
    db.session.commit()  # start the attempt on a fresh transaction (SQLite snapshots)
    for _attempt in range(5):
        state = _fresh_state(need.id)
        if state is None:
            raise NeedChanged("Ce besoin n'existe plus.")
        status, version = state
        if expected_version is not None and version != expected_version:
            db.session.refresh(need)
            raise NeedChanged("Ce besoin a été modifié par quelqu'un d'autre entre-temps : "
                              "voici son état actuel.")
        if status not in allowed_from:
            db.session.refresh(need)
            raise NeedChanged(f"Impossible : ce besoin est maintenant « {STATUS_FR.get(status, status)} ».")
        result = db.session.execute(
            update(RideNeed)
            .where(RideNeed.id == need.id, RideNeed.version == version, RideNeed.status == status)
            .values(status=to_status, version=version + 1, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            db.session.refresh(need)
            return status
        db.session.rollback()
    raise NeedChanged("Ce besoin change trop vite ; réessayez.")


EDITABLE_STATUSES = ("new", "searching", "unserved")
_EDITABLE_FIELDS = ("pickup_label", "dropoff_label", "time_mode", "requested_at", "return_mode",
                    "return_wait_min", "return_at", "purpose", "passengers", "needs_accompaniment",
                    "needs_wheelchair", "no_front_seat", "notes")
FIELD_FR = {
    "pickup_label": "départ", "dropoff_label": "destination", "time_mode": "type d'horaire",
    "requested_at": "date et heure", "return_mode": "retour", "return_wait_min": "attente avant le retour",
    "return_at": "heure du retour", "purpose": "motif", "passengers": "passagers",
    "needs_accompaniment": "accompagnement", "needs_wheelchair": "fauteuil roulant",
    "no_front_seat": "place à l'avant", "notes": "remarques",
    "pickup_point": "lieu de départ (position)", "dropoff_point": "destination (position)",
}


def edit_blocked_reason(need: RideNeed) -> str | None:
    """Why the need cannot be edited now (French), or None when it can."""
    if need.status in EDITABLE_STATUSES:
        return None
    if need.status == "proposed":
        return ("Ce trajet est proposé à un bénévole qui n'a pas encore répondu : pour le modifier, "
                "retirez d'abord la proposition en attente (ou notez son refus), ou annulez le besoin.")
    if need.status == "confirmed":
        return ("Un bénévole a confirmé ce trajet : pour changer l'horaire ou le lieu, annulez d'abord "
                "le besoin (le bénévole est prévenu par SMS), puis déposez un nouveau besoin.")
    return f"Un besoin « {STATUS_FR.get(need.status, need.status)} » ne peut plus être modifié."


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return value.strip() or None
    return value


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _near(a: tuple[float, float] | None, b: tuple[float, float]) -> bool:
    return a is not None and abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


def update_need(need: RideNeed, data: NeedData, by_user: User, *,
                expected_version: int | None, keep_series: bool = False) -> dict[str, list[Any]]:
    """Change a posted need (new, searching or unserved); it goes back to 'searching'; commit.

    Returns what changed ({field: [before, after]}); nothing is written when nothing changed.
    Raises NeedChanged when someone else changed the need since ``expected_version`` was read,
    or when it is no longer editable (proposed, confirmed, closed).
    """
    reason = edit_blocked_reason(need)
    if reason is not None:
        raise NeedChanged(reason)
    values: dict[str, Any] = {
        "pickup_label": data.pickup.label[:300], "dropoff_label": data.dropoff.label[:300],
        "time_mode": data.time_mode, "requested_at": data.requested_at, "return_mode": data.return_mode,
        "return_wait_min": data.return_wait_min, "return_at": data.return_at, "purpose": data.purpose,
        "passengers": data.passengers, "needs_accompaniment": data.needs_accompaniment,
        "needs_wheelchair": data.needs_wheelchair, "no_front_seat": data.no_front_seat,
        "notes": (data.notes or "").strip() or None,
    }
    changes: dict[str, list[Any]] = {}
    for field in _EDITABLE_FIELDS:
        before, after = getattr(need, field), values[field]
        if _comparable(before) != _comparable(after):
            changes[field] = [_jsonable(before), _jsonable(after)]
    if not _near(need.pickup_lat_lon, (data.pickup.lat, data.pickup.lon)):
        changes["pickup_point"] = [need.pickup_lat_lon, [data.pickup.lat, data.pickup.lon]]
    if not _near(need.dropoff_lat_lon, (data.dropoff.lat, data.dropoff.lon)):
        changes["dropoff_point"] = [need.dropoff_lat_lon, [data.dropoff.lat, data.dropoff.lon]]
    if not changes:
        if expected_version is not None and need.version != expected_version:
            raise NeedChanged("Ce besoin a été modifié par quelqu'un d'autre entre-temps : "
                              "voici son état actuel.")
        return {}
    # An occurrence of a series changed on its own leaves the series (a later change of the
    # series no longer touches it); the series itself changes its occurrences with keep_series.
    detach = need.series_id is not None and not keep_series
    detached_from = (need.series_id, need.requested_at)
    if detach:
        values["series_id"] = None
    previous = _move(need, "searching", EDITABLE_STATUSES, expected_version=expected_version,
                     pickup_place_id=data.pickup.place_id, pickup_geom=point(data.pickup.lat, data.pickup.lon),
                     dropoff_place_id=data.dropoff.place_id,
                     dropoff_geom=point(data.dropoff.lat, data.dropoff.lon), unserved_reason=None, **values)
    labels = ", ".join(FIELD_FR.get(field, field) for field in changes)
    record_event(need, by_user=by_user, from_status=previous, to_status="searching",
                 note=f"Besoin modifié : {labels}" + (" (ce trajet ne suit plus sa série)" if detach else ""),
                 data={"changes": changes})
    if detach:
        from .series import exclude_occurrence_day

        exclude_occurrence_day(*detached_from)
    record_audit("update", "ride_need", need.id, user=by_user,
                 detail={"beneficiary": need.beneficiary_id, "fields": sorted(changes)})
    _bump_activity(need)
    db.session.commit()
    return changes


def endpoint_value(label: str, place_id: int | None, beneficiary: Beneficiary | None) -> str:
    """The catalogue choice ('home', 'place:<id>', 'commune:<insee>') a stored end came from, or ''."""
    from ..models import Commune

    if place_id is not None:
        return f"place:{place_id}"
    if label.startswith("Domicile") and beneficiary is not None and beneficiary.home_lat_lon is not None:
        return "home"
    query = select(Commune.insee).where(Commune.name == label)
    territory = _territory_name()
    if territory:
        query = query.where(Commune.territory == territory)
    insee = db.session.execute(query.order_by(Commune.insee)).scalars().first()
    return f"commune:{insee}" if insee else ""


def _bump_activity(need: RideNeed, driver: Driver | None = None) -> None:
    now = utcnow()
    db.session.execute(update(Beneficiary).where(Beneficiary.id == need.beneficiary_id)
                       .values(last_activity_at=now).execution_options(synchronize_session=False))
    if driver is not None:
        db.session.execute(update(Driver).where(Driver.id == driver.id)
                           .values(last_activity_at=now).execution_options(synchronize_session=False))


class NotificationFailed(RideError):
    """Writing the SMS of a status change failed: the change was rolled back with it."""


def _notify(function: str, *args: Any) -> Any:
    """Stage the SMS of a status change in the change's own transaction (the outbox).

    Calls app.services.notifications.<function> before the caller commits. A rule that blocks
    the SMS (night, cap, opt-out) is written in the need's history and the change goes on
    without it. Any other failure rolls back the whole transaction — the status change with
    its SMS — and raises NotificationFailed: never a change without its SMS, nor an SMS
    without its change.
    """
    from . import notifications

    need = args[0].need if isinstance(args[0], Proposal) else args[0]
    try:
        return getattr(notifications, function)(*args)
    except notifications.SmsRuleError as exc:  # a rule (night, cap, opt-out): say which
        record_event(need, actor="système", note=f"SMS non envoyé : {exc}")
        return None
    except Exception as exc:  # the caller's transaction is undone, and the failure raised
        db.session.rollback()
        log.exception("notification %s failed: status change rolled back", function)
        raise NotificationFailed("L'envoi du SMS n'a pas pu être préparé : rien n'a été modifié. "
                                 "Réessayez dans un instant.") from exc


def _commit_and_queue() -> None:
    """Commit the status change with its outbox rows, then queue their sending."""
    from .notifications import enqueue_committed

    db.session.commit()
    enqueue_committed()


def start_search(need: RideNeed, by_user: User | None = None) -> bool:
    """Mark a new need as being searched (when candidates are first looked up)."""
    if need.status != "new":
        return False
    try:
        _move(need, "searching", ("new",))
    except NeedChanged:
        return False
    record_event(need, by_user=by_user, from_status="new", to_status="searching",
                 note="Recherche de conducteurs lancée")
    db.session.commit()
    return True


def _new_code() -> str:
    """A 3-digit code not used by any pending proposal or route (quoted in SMS answers)."""
    used = set(db.session.execute(select(Proposal.code).where(Proposal.status == "pending")).scalars())
    used |= set(db.session.execute(select(RideRoute.code).where(RideRoute.status == "pending")).scalars())
    free = [f"{n}" for n in range(100, 1000) if f"{n}" not in used]
    if not free:
        raise RideError("Trop de propositions en attente : aucun code libre.")
    return free[secrets.randbelow(len(free))]


# --- Bookings that hold --------------------------------------------------------------------
#
# A pending or accepted proposal takes the driver's time (busy_from..busy_until: from leaving
# home, or her trip's start, to being back). Two of a driver's bookings may overlap only when
# they are riders of the same route (one car, planned together). Every booking step first
# locks the driver's row (an UPDATE: a row lock on PostgreSQL, the write lock on SQLite), so
# two aidants — or an aidant and an SMS — cannot both book the same hour.


def _lock_driver(driver_id: int) -> None:
    db.session.execute(update(Driver).where(Driver.id == driver_id).values(updated_at=utcnow())
                       .execution_options(synchronize_session=False))


def proposal_expiry(pickup_at: datetime | None, now: datetime | None = None) -> datetime:
    """When a proposal sent now lapses without an answer: after PROPOSAL_EXPIRY_MINUTES, and
    never later than an hour before the pickup (but at least 15 minutes from now)."""
    from flask import current_app

    now = now or utcnow()
    expires = now + timedelta(minutes=int(current_app.config.get("PROPOSAL_EXPIRY_MINUTES", 720)))
    pickup = aware_utc(pickup_at)
    if pickup is not None:
        expires = min(expires, pickup - timedelta(hours=1))
    return max(expires, now + timedelta(minutes=15))


def _expiry_from_sending(proposal: Proposal) -> None:
    """Count the answer delay from when the SMS leaves (a night proposal leaves at 8 h)."""
    db.session.flush()
    sent = db.session.execute(select(Proposal.sent_at).where(Proposal.id == proposal.id)).scalar()
    start = max(utcnow(), aware_utc(sent) or utcnow())
    proposal.expires_at = proposal_expiry(proposal.pickup_at or proposal.need.requested_at, start)


def overlapping_booking(driver_id: int, day: Any, busy_from: datetime, busy_until: datetime, *,
                        route_ids: set[int] | frozenset[int] = frozenset(),
                        ignore_proposals: set[int] | frozenset[int] = frozenset()) -> Any:
    """The driver's booking of ``day`` (a ``matching.Booking``) that overlaps this time, if any.

    Bookings of the routes in ``route_ids`` (the route being booked, or the one it replaces)
    and the proposals in ``ignore_proposals`` do not count.
    """
    from .matching import bookings_on

    for booking in bookings_on(day, [driver_id]):
        if booking.proposal_id in ignore_proposals or (booking.route_id is not None and booking.route_id in route_ids):
            continue
        if booking.busy_from < busy_until and busy_from < booking.busy_until:
            return booking
    return None


def booking_conflict(driver: Driver, day: Any, busy_from: datetime, busy_until: datetime, *,
                     route_ids: set[int] | frozenset[int] = frozenset(),
                     ignore_proposals: set[int] | frozenset[int] = frozenset()) -> str | None:
    """Why the driver cannot take this time (French), or None when she is free then
    (see :func:`overlapping_booking`)."""
    booking = overlapping_booking(driver.id, day, busy_from, busy_until, route_ids=route_ids,
                                  ignore_proposals=ignore_proposals)
    if booking is None:
        return None
    what = "accepté" if booking.status == "accepted" else "proposé"
    return (f"{driver.first_name} {driver.last_name[:1]}. a déjà un trajet {what} de "
            f"{_fr_hour(booking.busy_from)} à {_fr_hour(booking.busy_until)} ce jour-là : "
            "choisissez un autre bénévole ou une autre heure.")


def own_overlap(proposal: Proposal) -> Any:
    """The driver's other booking that overlaps this proposal's time (a ``Booking``), if any."""
    need = proposal.need
    busy_from = aware_utc(proposal.busy_from) or _busy_of(proposal, need)[0]
    busy_until = aware_utc(proposal.busy_until) or _busy_of(proposal, need)[1]
    return overlapping_booking(
        proposal.driver_id, local_day_of(need.requested_at), busy_from, busy_until,
        route_ids={proposal.route_id} if proposal.route_id is not None else frozenset(),
        ignore_proposals={proposal.id})


def _busy_of(candidate: Any, need: RideNeed) -> tuple[datetime, datetime]:
    """The driver's time a candidate takes (an hour around the ride when it is not known)."""
    start = aware_utc(getattr(candidate, "leave_at", None)) if candidate is not None else None
    end = aware_utc(getattr(candidate, "end_at", None)) if candidate is not None else None
    pickup = aware_utc(getattr(candidate, "pickup_at", None)) if candidate is not None else None
    dropoff = aware_utc(getattr(candidate, "dropoff_at", None)) if candidate is not None else None
    back = aware_utc(getattr(candidate, "return_pickup_at", None)) if candidate is not None else None
    requested = aware_utc(need.requested_at)
    assert requested is not None
    start = start or (pickup or requested) - timedelta(hours=1)
    end = end or (back or dropoff or requested) + timedelta(hours=1)
    return start, max(end, start + timedelta(minutes=1))


def propose_ride(need: RideNeed, driver: Driver, *, by_user: User | None = None, candidate: Any = None,
                 expected_version: int | None = None) -> Proposal:
    """Propose the need to a driver: proposal with a code, need → 'proposed', SMS to the driver."""
    if not driver.is_cleared_on(local_day_of(need.requested_at)):
        raise RideError("Ce bénévole n'a pas de permis ou d'assurance valides à cette date.")
    already = db.session.execute(
        select(Proposal.id).where(Proposal.need_id == need.id, Proposal.driver_id == driver.id,
                                  Proposal.status == "pending")
    ).first()
    if already is not None:
        raise RideError("Ce trajet est déjà proposé à ce bénévole : attendez sa réponse.")
    previous = _move(need, "proposed", OPEN_STATUSES, expected_version=expected_version)
    _lock_driver(driver.id)
    busy_from, busy_until = _busy_of(candidate, need)
    conflict = booking_conflict(driver, local_day_of(need.requested_at), busy_from, busy_until)
    if conflict is not None:
        db.session.rollback()
        db.session.refresh(need)
        raise RideError(conflict)
    proposal = Proposal(need_id=need.id, driver_id=driver.id, code=_new_code(), status="pending",
                        created_by_id=by_user.id if by_user else None,
                        busy_from=busy_from, busy_until=busy_until, leg="both")
    if candidate is not None:
        proposal.kind = getattr(candidate, "kind", "volunteer") or "volunteer"
        offer = getattr(candidate, "offer", None)
        proposal.offer_id = offer.id if offer is not None else None
        for field in ("pickup_at", "dropoff_at", "return_pickup_at", "added_time_s", "added_distance_m",
                      "distance_m", "contribution_eur", "allowance_eur"):
            value = getattr(candidate, field, None)
            if field.endswith(("_s", "_m")) and value is not None:
                value = int(round(value))
            setattr(proposal, field, value)
    proposal.expires_at = proposal_expiry(proposal.pickup_at or need.requested_at)
    db.session.add(proposal)
    db.session.flush()
    record_event(need, by_user=by_user, from_status=previous, to_status="proposed",
                 note=f"Trajet proposé à {driver.first_name} {driver.last_name[:1]}. (code {proposal.code})",
                 data={"proposal": proposal.id, "driver": driver.id})
    record_audit("propose", "ride_need", need.id, user=by_user, detail={"driver": driver.id})
    _bump_activity(need)
    _notify("notify_proposal", proposal)
    _expiry_from_sending(proposal)
    _commit_and_queue()
    return proposal


def _set_proposal(proposal: Proposal, to_status: str, from_statuses: tuple[str, ...], via: str | None) -> bool:
    result = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status.in_(from_statuses))
        .values(status=to_status, answered_at=utcnow(), answered_via=via)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def answer_refusal(proposal: Proposal, now: datetime | None = None) -> str | None:
    """Why an answer to this proposal can no longer be taken, or None when it can.

    'accepted' (already hers), 'taken' (someone else's), 'expired', 'withdrawn', 'declined',
    'past' (the ride's day is over), 'closed' (the need is closed).
    """
    from zoneinfo import ZoneInfo

    from flask import current_app

    if proposal.status != "pending":
        return proposal.status
    expires = aware_utc(proposal.expires_at)
    if expires is not None and expires <= (now or utcnow()):
        return "expired"  # lapsed, even if the expiry task has not run yet
    need = proposal.need
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    today = (now or utcnow()).astimezone(tz).date()
    if local_day_of(need.requested_at) < today:
        return "past"
    if need.status not in OPEN_STATUSES:
        return "closed"
    return None


def accept_proposal(proposal: Proposal, *, via: str, by_user: User | None = None) -> bool:
    """The driver says yes. First come, first served: True only for the one who gets the ride."""
    if proposal.route_id is not None:
        route = db.session.get(RideRoute, proposal.route_id)
        assert route is not None
        return accept_route(route, via=via, by_user=by_user)
    need = proposal.need
    driver = proposal.driver
    actor = _actor(by_user, via, driver)
    db.session.refresh(proposal)
    if answer_refusal(proposal) is not None:
        return False
    try:
        previous = _move(need, "confirmed", OPEN_STATUSES)
    except NeedChanged:
        # Someone else got it first (or the need was cancelled): this answer comes too late.
        if _set_proposal(proposal, "taken", ("pending", "expired"), via):
            record_event(need, by_user=by_user, actor=actor,
                         note=f"{driver.first_name} a accepté {VIA_FR.get(via, via)}, mais le trajet était déjà pourvu ou clos.",
                         data={"proposal": proposal.id})
        db.session.commit()
        db.session.refresh(proposal)
        return False
    _lock_driver(driver.id)
    busy_from = aware_utc(proposal.busy_from) or _busy_of(proposal, need)[0]
    busy_until = aware_utc(proposal.busy_until) or _busy_of(proposal, need)[1]
    conflict = booking_conflict(driver, local_day_of(need.requested_at), busy_from, busy_until,
                                ignore_proposals={proposal.id})
    if conflict is not None or not _set_proposal(proposal, "accepted", ("pending",), via):
        # Withdrawn (or answered) between the check above and now, or her time was given
        # meanwhile: the need is not hers.
        db.session.rollback()
        db.session.refresh(need)
        db.session.refresh(proposal)
        return False
    others = list(db.session.execute(
        select(Proposal).where(Proposal.need_id == need.id, Proposal.id != proposal.id,
                               Proposal.status == "pending")
    ).scalars())
    for other in others:
        _set_proposal(other, "taken", ("pending",), None)
    record_event(need, by_user=by_user, actor=actor, from_status=previous, to_status="confirmed",
                 note=f"{driver.first_name} {driver.last_name[:1]}. a accepté {VIA_FR.get(via, via)}.",
                 data={"proposal": proposal.id, "driver": driver.id, "via": via})
    _bump_activity(need, driver)
    db.session.flush()
    for other in others:
        db.session.refresh(other)
        _notify("notify_taken", other)
    db.session.refresh(proposal)
    _notify("notify_confirmation", need)
    _commit_and_queue()
    db.session.refresh(proposal)
    return True


def decline_proposal(proposal: Proposal, *, via: str, by_user: User | None = None) -> bool:
    """The driver says no; the need goes back to 'searching' when nobody else is asked."""
    need = proposal.need
    driver = proposal.driver
    if proposal.route_id is not None:
        route = db.session.get(RideRoute, proposal.route_id)
        assert route is not None
        return decline_route(route, via=via, by_user=by_user)
    db.session.commit()
    if not _set_proposal(proposal, "declined", ("pending",), via):
        db.session.rollback()
        return False
    record_event(need, by_user=by_user, actor=_actor(by_user, via, driver),
                 note=f"{driver.first_name} {driver.last_name[:1]}. a refusé {VIA_FR.get(via, via)}.",
                 data={"proposal": proposal.id, "via": via})
    _bump_activity(need, driver)
    db.session.commit()
    db.session.refresh(proposal)
    pending = db.session.execute(
        select(Proposal.id).where(Proposal.need_id == need.id, Proposal.status == "pending")).first()
    if pending is None:
        try:
            _move(need, "searching", ("proposed",))
            record_event(need, actor="système", from_status="proposed", to_status="searching",
                         note="Plus aucune proposition en attente : reprendre la recherche.")
            db.session.commit()
        except NeedChanged:
            return True
        if need.auto_next:  # the aidant asked for the next volunteer without waiting for her
            from .lifecycle import propose_next

            propose_next(need)
    return True


def _withdraw_pending(need: RideNeed) -> list[Proposal]:
    pending = list(db.session.execute(
        select(Proposal).where(Proposal.need_id == need.id, Proposal.status == "pending")).scalars())
    for proposal in pending:
        _set_proposal(proposal, "withdrawn", ("pending",), None)
    return pending


def withdraw_proposals(need: RideNeed, *, by_user: User, expected_version: int | None = None) -> list[Proposal]:
    """Withdraw the pending proposals of a proposed need, which goes back to 'searching'; commit.

    The drivers who received the proposal by SMS are told it is withdrawn; a late SMS answer is
    told the proposal is no longer current. The need can then be edited or proposed to someone
    else.
    """
    previous = _move(need, "searching", ("proposed",), expected_version=expected_version)
    withdrawn = _withdraw_pending(need)
    names = ", ".join(f"{p.driver.first_name} {p.driver.last_name[:1]}." for p in withdrawn)
    record_event(need, by_user=by_user, from_status=previous, to_status="searching",
                 note=f"Proposition retirée{' (' + names + ')' if names else ''}",
                 data={"withdrawn": [p.id for p in withdrawn]})
    record_audit("withdraw", "ride_need", need.id, user=by_user, detail={"proposals": [p.id for p in withdrawn]})
    _bump_activity(need)
    db.session.flush()
    for proposal in withdrawn:
        db.session.refresh(proposal)
        if proposal.route_id is not None:
            _route_changed(proposal)  # the driver gets her route without this rider
        else:
            _notify("notify_withdrawn", proposal)
    _commit_and_queue()
    return withdrawn


def cancel_need(need: RideNeed, *, by_user: User | None = None, via: str = "web",
                reason: str | None = None, expected_version: int | None = None) -> None:
    """Cancel a need; pending proposals are withdrawn; a confirmed driver is told."""
    previous = _move(need, "cancelled", ACTIVE_STATUSES, expected_version=expected_version)
    in_routes = [p for p in need.proposals if p.route_id is not None and p.status in ("pending", "accepted")]
    withdrawn = _withdraw_pending(need)
    record_event(need, by_user=by_user, actor=_actor(by_user, via), from_status=previous,
                 to_status="cancelled", note=f"Annulé{' : ' + reason if reason else ''}",
                 data={"via": via, "withdrawn": [p.id for p in withdrawn]})
    _bump_activity(need)
    db.session.flush()
    for proposal in withdrawn:
        db.session.refresh(proposal)
        if proposal.route_id is None:
            _notify("notify_withdrawn", proposal)
    # A rider of a pooled route: her seat is freed, the driver receives the updated route.
    for proposal in in_routes:
        db.session.refresh(proposal)
        if proposal.status == "accepted":
            _set_proposal(proposal, "withdrawn", ("accepted",), None)
            db.session.refresh(proposal)
        _route_changed(proposal)
    if previous == "confirmed" and not in_routes:
        _notify("notify_cancellation", need)
    elif previous == "confirmed":
        _notify("notify_rider_cancellation", need)
    _commit_and_queue()


def release_driver(driver: Driver, *, by_user: User | None, reason: str) -> list[RideNeed]:
    """Take a volunteer off her open rides (before her erasure); the needs concerned, reopened.

    A confirmed ride goes back to 'searching' and a need whose only pending proposal was hers
    goes back to 'searching' too; each step is written in the need's history for the aidants
    who follow it, and a rider with SMS consent is told by SMS (same transaction, outbox).
    Her proposals end as 'withdrawn'. Never silent: the caller shows the list returned.
    """
    name = f"{driver.first_name} {driver.last_name[:1]}."
    proposals = list(db.session.execute(
        select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(Proposal.driver_id == driver.id, Proposal.status.in_(("pending", "accepted")),
               RideNeed.status.in_(ACTIVE_STATUSES)).order_by(Proposal.id)).scalars())
    reopened: list[RideNeed] = []
    for proposal in proposals:
        need = proposal.need
        confirmed = proposal.status == "accepted" and need.status == "confirmed"
        others = db.session.execute(select(Proposal.id).where(
            Proposal.need_id == need.id, Proposal.id != proposal.id, Proposal.status == "pending")).first()
        moves = confirmed or (need.status == "proposed" and others is None)
        previous = need.status
        if moves:
            try:
                previous = _move(need, "searching", ("confirmed",) if confirmed else ("proposed",))
            except NeedChanged:
                continue  # someone acted on it meanwhile: it no longer relies on her
        _set_proposal(proposal, "withdrawn", ("pending", "accepted"), None)
        if confirmed:
            sms = _notify("notify_driver_left", need)
            told = ("La personne est prévenue par SMS ; rappelez-la" if sms is not None and sms.status == "queued"
                    else "Pas de SMS possible : prévenez la personne")
            note = (f"{name} ne fait plus partie des bénévoles ({reason}) : trajet à nouveau à pourvoir. "
                    f"{told} et proposez le trajet à un autre bénévole.")
        else:
            note = f"Proposition à {name} retirée : ce bénévole ne fait plus partie de la plateforme ({reason})."
        record_event(need, by_user=by_user, actor=_actor(by_user), from_status=previous if moves else None,
                     to_status="searching" if moves else None, note=note,
                     data={"proposal": proposal.id, "driver_left": True})
        record_audit("reopen" if confirmed else "withdraw", "ride_need", need.id, user=by_user,
                     detail={"beneficiary": need.beneficiary_id, "driver": driver.id})
        _commit_and_queue()
        if moves:
            reopened.append(need)
    # Her routes go with her (their riders were reopened above).
    db.session.execute(update(RideRoute).where(RideRoute.driver_id == driver.id,
                                               RideRoute.status.in_(("pending", "accepted")))
                       .values(status="cancelled").execution_options(synchronize_session=False))
    db.session.commit()
    return reopened


def mark_done(need: RideNeed, by_user: User | None, *, expected_version: int | None = None) -> None:
    """The ride took place."""
    previous = _move(need, "done", ("confirmed",), expected_version=expected_version)
    record_event(need, by_user=by_user, from_status=previous, to_status="done", note="Trajet effectué")
    driver = confirmed_driver(need)
    _bump_activity(need, driver)
    db.session.commit()


def mark_unserved(need: RideNeed, reason: str, by_user: User | None, *,
                  expected_version: int | None = None) -> None:
    """No solution was found: keep the reason (the territory's gaps are counted from it)."""
    reason = (reason or "").strip()
    if not reason:
        raise RideError("Indiquez pourquoi aucune solution n'a été trouvée.")
    previous = _move(need, "unserved", OPEN_STATUSES, expected_version=expected_version,
                     unserved_reason=reason[:300])
    in_routes = [p for p in need.proposals if p.route_id is not None and p.status in ("pending", "accepted")]
    _withdraw_pending(need)
    # A half-booked need (one leg accepted in a pooled route) frees that seat too.
    for proposal in db.session.execute(select(Proposal).where(
            Proposal.need_id == need.id, Proposal.status == "accepted")).scalars():
        _set_proposal(proposal, "withdrawn", ("accepted",), None)
    db.session.flush()
    record_event(need, by_user=by_user, from_status=previous, to_status="unserved", note=f"Sans solution : {reason}")
    for proposal in in_routes:
        db.session.refresh(proposal)
        _route_changed(proposal)
    _bump_activity(need)
    _commit_and_queue()



# --- Pooled routes: several riders proposed to one driver as a whole --------------------------
#
# A route comes from a stored day plan (app.services.day_plans): the driver, her offer, the
# stops in order with their times, and for each rider the legs she rides in it. The driver
# answers the route with one code; each rider's ride is a Proposal of the route. A need is
# confirmed when every leg it has is covered by an accepted proposal (one driver per leg).
# Riders already booked on the driver and kept by the plan move into the new route when she
# accepts it (their promised pickups moved by at most the configured margin); the route they
# were on is then 'replaced'.


@dataclass
class RouteRider:
    """A rider of a planned route: which legs she rides in it, and her times."""

    need_id: int
    legs: tuple[str, ...]
    pickup_at: datetime
    dropoff_at: datetime
    return_pickup_at: datetime | None = None
    committed_proposal_id: int | None = None
    """Her accepted (or pending) proposal when she was already booked on this driver."""


@dataclass
class RoutePlan:
    """A planned route to propose (see app.services.day_plans)."""

    driver_id: int
    offer_id: int | None
    kind: str
    start_at: datetime
    end_at: datetime
    distance_m: float
    stops: list[dict[str, Any]]
    riders: list[RouteRider]
    plan_id: int | None = None


def riders_from_stops(stops: list[dict[str, Any]]) -> dict[int, RouteRider]:
    """Each rider of a planned route's stops, with her legs and times (need id -> rider)."""
    riders: dict[int, RouteRider] = {}
    for stop in stops:
        at = datetime.fromisoformat(stop["at"])
        rider = riders.setdefault(int(stop["need"]), RouteRider(int(stop["need"]), (), at, at))
        if stop["leg"] not in rider.legs:
            rider.legs = (*rider.legs, stop["leg"])
        outbound = stop["leg"] == "outbound"
        if stop["kind"] == "pickup" and outbound:
            rider.pickup_at = at
        elif stop["kind"] == "dropoff" and outbound:
            rider.dropoff_at = at
        elif stop["kind"] == "pickup":
            rider.return_pickup_at = at
            if "outbound" not in rider.legs:
                rider.pickup_at = at  # a rider of the return only: her pickup is the return's
        elif "outbound" not in rider.legs:
            rider.dropoff_at = at
    return riders


def route_plan_for_join(need: RideNeed, candidate: Any) -> RoutePlan:
    """The route to propose when a need joins a driver's booked car (a candidate with
    ``route_stops``, app.services.matching): her booked riders are kept, the need is new."""
    stops = list(candidate.route_stops)
    riders = riders_from_stops(stops)
    others = set(riders) - {need.id}
    if others:
        booked = {p.need_id: p.id for p in db.session.execute(select(Proposal).where(
            Proposal.need_id.in_(others), Proposal.driver_id == candidate.driver.id,
            Proposal.status.in_(("pending", "accepted")))).scalars()}
        for need_id in others:
            if need_id not in booked:
                raise RideError("La tournée de ce bénévole a changé entre-temps : rechargez la page.")
            riders[need_id].committed_proposal_id = booked[need_id]
    offer = getattr(candidate, "offer", None)
    return RoutePlan(driver_id=candidate.driver.id, offer_id=offer.id if offer is not None else None,
                     kind=candidate.kind, start_at=candidate.leave_at, end_at=candidate.end_at,
                     distance_m=float(candidate.distance_m or 0), stops=stops, riders=list(riders.values()))


def _legs_of(need: RideNeed) -> set[str]:
    return {"outbound", "return"} if need.return_mode != "none" else {"outbound"}


def _covered(proposal: Proposal, need: RideNeed) -> set[str]:
    return _legs_of(need) if proposal.leg == "both" else {proposal.leg}


def propose_route(plan: RoutePlan, *, by_user: User | None = None) -> RideRoute:
    """Propose a planned route to its driver in one SMS; every new rider's need → 'proposed'.

    Raises RideError (French) when the driver is not cleared that day, her time is taken
    meanwhile, or a rider's need is no longer open; nothing is written then.
    """
    driver = db.session.get(Driver, plan.driver_id)
    if driver is None or not driver.active:
        raise RideError("Ce bénévole ne fait plus partie de la plateforme.")
    day = local_day_of(plan.start_at)
    if not driver.is_cleared_on(day):
        raise RideError("Ce bénévole n'a pas de permis ou d'assurance valides à cette date.")
    new_riders = [r for r in plan.riders if r.committed_proposal_id is None]
    if not new_riders:
        raise RideError("Cette tournée ne contient aucun nouveau trajet à proposer.")
    db.session.commit()
    _lock_driver(driver.id)
    kept = {r.committed_proposal_id for r in plan.riders if r.committed_proposal_id is not None}
    replaced = set(db.session.execute(select(Proposal.route_id).where(
        Proposal.id.in_(kept), Proposal.route_id.is_not(None))).scalars()) if kept else set()
    conflict = booking_conflict(driver, day, aware_utc(plan.start_at), aware_utc(plan.end_at),  # type: ignore[arg-type]
                                route_ids=replaced, ignore_proposals=kept)
    if conflict is not None:
        db.session.rollback()
        raise RideError(conflict)
    route = RideRoute(day=day, driver_id=driver.id, offer_id=plan.offer_id, kind=plan.kind, code=_new_code(),
                      status="pending", start_at=plan.start_at, end_at=plan.end_at,
                      distance_m=int(round(plan.distance_m)), stops=plan.stops, plan_id=plan.plan_id,
                      created_by_id=by_user.id if by_user else None)
    route.expires_at = proposal_expiry(min(r.pickup_at for r in new_riders))
    db.session.add(route)
    db.session.flush()
    names = f"{driver.first_name} {driver.last_name[:1]}."
    for rider in new_riders:
        need = db.session.get(RideNeed, rider.need_id)
        if need is None:
            db.session.rollback()
            raise RideError("Un des trajets de la tournée n'existe plus : relancez la planification.")
        legs = set(rider.legs)
        leg = "both" if legs >= _legs_of(need) else sorted(legs)[0]
        clash = [p for p in need.proposals if p.status in ("pending", "accepted") and _covered(p, need) & legs]
        if need.status not in OPEN_STATUSES or clash:
            db.session.rollback()
            raise RideError(f"Le trajet de {need.beneficiary.first_name} a changé entre-temps "
                            f"(« {STATUS_FR.get(need.status, need.status)} ») : relancez la planification.")
        previous = need.status
        db.session.execute(update(RideNeed).where(RideNeed.id == need.id, RideNeed.version == need.version)
                           .values(status="proposed", version=need.version + 1, updated_at=utcnow())
                           .execution_options(synchronize_session=False))
        proposal = Proposal(need_id=need.id, driver_id=driver.id, offer_id=plan.offer_id, kind=plan.kind,
                            code=route.code, status="pending", pickup_at=rider.pickup_at,
                            dropoff_at=rider.dropoff_at, busy_from=plan.start_at, busy_until=plan.end_at,
                            return_pickup_at=rider.return_pickup_at if leg == "both" else None,
                            leg=leg, route_id=route.id, expires_at=route.expires_at,
                            created_by_id=by_user.id if by_user else None)
        db.session.add(proposal)
        db.session.flush()
        record_event(need, by_user=by_user, from_status=previous, to_status="proposed",
                     note=f"Proposé à {names} dans une tournée partagée (code {route.code})",
                     data={"proposal": proposal.id, "route": route.id, "driver": driver.id, "legs": sorted(legs)})
        _bump_activity(need)
    record_audit("propose_route", "ride_route", route.id, user=by_user,
                 detail={"driver": driver.id, "needs": [r.need_id for r in new_riders]})
    db.session.flush()
    db.session.refresh(route)
    _notify("notify_route", route)
    for proposal in route.proposals:
        _expiry_from_sending(proposal)
    route.expires_at = min((p.expires_at for p in route.proposals if p.expires_at), default=route.expires_at)
    _commit_and_queue()
    return route


def route_refusal(route: RideRoute, now: datetime | None = None) -> str | None:
    from zoneinfo import ZoneInfo

    from flask import current_app

    if route.status != "pending":
        return route.status
    expires = aware_utc(route.expires_at)
    if expires is not None and expires <= (now or utcnow()):
        return "expired"
    today = (now or utcnow()).astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return "past" if route.day < today else None


def _set_route(route: RideRoute, to_status: str, via: str | None) -> bool:
    result = db.session.execute(
        update(RideRoute).where(RideRoute.id == route.id, RideRoute.status == "pending")
        .values(status=to_status, answered_at=utcnow(), answered_via=via)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def accept_route(route: RideRoute, *, via: str, by_user: User | None = None) -> bool:
    """The driver accepts her route: each rider whose legs are all covered is confirmed and
    told her pickup time; riders kept from an earlier route move into this one (told by SMS
    when their pickup moved). False when the route can no longer be accepted."""
    db.session.commit()
    db.session.refresh(route)
    if route_refusal(route) is not None:
        return False
    driver = route.driver
    _lock_driver(driver.id)
    kept = _kept_proposals(route)
    replaced = {p.route_id for p in kept if p.route_id is not None}
    conflict = booking_conflict(driver, route.day, aware_utc(route.start_at), aware_utc(route.end_at),  # type: ignore[arg-type]
                                route_ids=replaced | {route.id}, ignore_proposals={p.id for p in kept})
    if conflict is not None or not _set_route(route, "accepted", via):
        db.session.rollback()
        return False
    actor = _actor(by_user, via, driver)
    confirmed: list[RideNeed] = []
    for proposal in list(route.proposals):
        if proposal.status != "pending":
            continue
        need = proposal.need
        if need.status not in OPEN_STATUSES or not _set_proposal(proposal, "accepted", ("pending",), via):
            _set_proposal(proposal, "withdrawn", ("pending",), None)
            continue
        db.session.refresh(proposal)
        covered: set[str] = set()
        for p in db.session.execute(select(Proposal).where(Proposal.need_id == need.id,
                                                           Proposal.status == "accepted")).scalars():
            covered |= _covered(p, need)
        if covered >= _legs_of(need):
            previous = need.status
            db.session.execute(update(RideNeed).where(RideNeed.id == need.id)
                               .values(status="confirmed", version=RideNeed.version + 1, updated_at=utcnow())
                               .execution_options(synchronize_session=False))
            db.session.refresh(need)
            record_event(need, by_user=by_user, actor=actor, from_status=previous, to_status="confirmed",
                         note=f"{driver.first_name} {driver.last_name[:1]}. a accepté la tournée "
                              f"{VIA_FR.get(via, via)} (code {route.code}).",
                         data={"proposal": proposal.id, "route": route.id, "driver": driver.id, "via": via})
            confirmed.append(need)
        else:
            record_event(need, by_user=by_user, actor=actor,
                         note=f"{driver.first_name} {driver.last_name[:1]}. a accepté sa part du trajet "
                              f"({proposal.leg}) {VIA_FR.get(via, via)} ; l'autre trajet attend sa réponse.",
                         data={"proposal": proposal.id, "route": route.id})
    moved = _move_kept_riders(route, kept)
    for old in replaced:
        if not db.session.execute(select(Proposal.id).where(
                Proposal.route_id == old, Proposal.status.in_(("pending", "accepted")))).first():
            db.session.execute(update(RideRoute).where(RideRoute.id == old)
                               .values(status="replaced").execution_options(synchronize_session=False))
    _bump_activity_driver(driver)
    db.session.flush()
    for need in confirmed:
        _notify("notify_confirmation", need)
    for proposal, before in moved:
        _notify("notify_pickup_moved", proposal, before)
    _commit_and_queue()
    db.session.refresh(route)
    return True


def _kept_proposals(route: RideRoute) -> list[Proposal]:
    """The driver's bookings the route keeps (riders of the stops not proposed in it)."""
    in_route = {p.need_id for p in route.proposals}
    others = {int(stop["need"]) for stop in route.stops} - in_route
    if not others:
        return []
    return list(db.session.execute(select(Proposal).where(
        Proposal.need_id.in_(others), Proposal.driver_id == route.driver_id,
        Proposal.status.in_(("pending", "accepted")))).scalars())


def _move_kept_riders(route: RideRoute, kept: list[Proposal]) -> list[tuple[Proposal, datetime | None]]:
    """Move kept riders into the route with their new pickup; those whose pickup moved."""
    pickups = {(int(s["need"]), s["leg"]): datetime.fromisoformat(s["at"])
               for s in route.stops if s["kind"] == "pickup"}
    moved = []
    for proposal in kept:
        leg = "return" if proposal.leg == "return" else "outbound"
        new = pickups.get((proposal.need_id, leg))
        before = aware_utc(proposal.pickup_at)
        values: dict[str, Any] = {"route_id": route.id, "busy_from": route.start_at, "busy_until": route.end_at}
        if new is not None:
            values["pickup_at"] = new
        back = pickups.get((proposal.need_id, "return"))
        if proposal.leg == "both" and back is not None:
            values["return_pickup_at"] = back
        db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.refresh(proposal)
        if new is not None and before is not None and abs((new - before).total_seconds()) >= 60:
            record_event(proposal.need, actor="système",
                         note=f"Heure de prise en charge déplacée de {_fr_hour(before)} à {_fr_hour(new)} "
                              "(une autre personne rejoint la voiture).",
                         data={"proposal": proposal.id, "route": route.id})
            moved.append((proposal, before))
    return moved


def _bump_activity_driver(driver: Driver) -> None:
    db.session.execute(update(Driver).where(Driver.id == driver.id).values(last_activity_at=utcnow())
                       .execution_options(synchronize_session=False))


def decline_route(route: RideRoute, *, via: str, by_user: User | None = None) -> bool:
    """The driver declines her route: its riders go back to 'searching' (a rider whose other
    leg was booked with someone else loses that booking too: one driver per leg, both or none)."""
    db.session.commit()
    db.session.refresh(route)
    if route_refusal(route) is not None or not _set_route(route, "declined", via):
        db.session.rollback()
        return False
    driver = route.driver
    actor = _actor(by_user, via, driver)
    for proposal in list(route.proposals):
        if not _set_proposal(proposal, "declined", ("pending",), via):
            continue
        need = proposal.need
        record_event(need, by_user=by_user, actor=actor,
                     note=f"{driver.first_name} {driver.last_name[:1]}. a refusé la tournée {VIA_FR.get(via, via)}.",
                     data={"proposal": proposal.id, "route": route.id, "via": via})
        _release_siblings(need, proposal, reason="l'autre trajet a été refusé")
        _back_to_search(need)
    _commit_and_queue()
    db.session.refresh(route)
    return True


def _release_siblings(need: RideNeed, proposal: Proposal, *, reason: str) -> None:
    """Withdraw the need's other leg bookings (a need is booked both ways or not at all)."""
    for other in db.session.execute(select(Proposal).where(
            Proposal.need_id == need.id, Proposal.id != proposal.id,
            Proposal.status.in_(("pending", "accepted")), Proposal.leg != "both")).scalars():
        was = other.status
        _set_proposal(other, "withdrawn", ("pending", "accepted"), None)
        db.session.refresh(other)
        record_event(need, actor="système", note=f"Trajet {other.leg} retiré à {other.driver.first_name} : {reason}.",
                     data={"proposal": other.id})
        if other.route_id is not None and was == "accepted":
            _route_changed(other)
        else:
            _notify("notify_withdrawn", other)


def _back_to_search(need: RideNeed) -> None:
    db.session.flush()
    active = db.session.execute(select(Proposal.id).where(
        Proposal.need_id == need.id, Proposal.status.in_(("pending", "accepted")))).first()
    db.session.refresh(need)
    if active is None and need.status in ("proposed", "confirmed"):
        previous = need.status
        db.session.execute(update(RideNeed).where(RideNeed.id == need.id)
                           .values(status="searching", version=RideNeed.version + 1, updated_at=utcnow())
                           .execution_options(synchronize_session=False))
        db.session.refresh(need)
        record_event(need, actor="système", from_status=previous, to_status="searching",
                     note="Plus aucune proposition en cours : reprendre la recherche.")


def _route_changed(proposal: Proposal) -> None:
    """A rider left an accepted route: drop her stops; the driver gets the updated route, or
    the route is cancelled when nobody is left."""
    route = db.session.get(RideRoute, proposal.route_id)
    if route is None:
        return
    route.stops = [s for s in route.stops if int(s["need"]) != proposal.need_id]
    left = db.session.execute(select(Proposal.id).where(
        Proposal.route_id == route.id, Proposal.status.in_(("pending", "accepted")))).first()
    if left is None and route.status in ("pending", "accepted"):
        route.status = "cancelled"
    db.session.flush()
    _notify("notify_route_update", route, proposal)


def set_auto_next(need: RideNeed, on: bool, by_user: User) -> None:
    """The aidant's choice: when a proposal lapses or is declined, propose the next candidate
    without waiting for her (app.services.lifecycle); commit."""
    if need.auto_next == on:
        return
    need.auto_next = on
    record_event(need, by_user=by_user,
                 note=("Relance automatique activée : sans réponse, le bénévole suivant sera sollicité."
                       if on else "Relance automatique désactivée."))
    db.session.commit()

def confirmed_proposal(need: RideNeed) -> Proposal | None:
    return db.session.execute(
        select(Proposal).where(Proposal.need_id == need.id, Proposal.status == "accepted")
        .order_by(Proposal.id.desc())
    ).scalars().first()


def confirmed_driver(need: RideNeed) -> Driver | None:
    proposal = confirmed_proposal(need)
    return proposal.driver if proposal else None


# --- The catalogue of places a trip can start from or go to --------------------------------

PLACE_KIND_FR = {
    "hospital": "Hôpital",
    "doctor": "Médecins et soins",
    "pharmacy": "Pharmacies",
    "france_services": "France Services",
    "france_travail": "France Travail",
    "public_services_bus": "Bus des services publics",
    "station": "Gares",
    "bus_stop": "Arrêts de bus",
    "shop": "Commerces",
    "town_hall": "Mairies",
    "other": "Autres lieux",
}
_WEEKDAY_FR = {"monday": "lundi", "tuesday": "mardi", "wednesday": "mercredi", "thursday": "jeudi",
               "friday": "vendredi", "saturday": "samedi", "sunday": "dimanche"}
_PARITY_FR = {"even": "semaines paires", "odd": "semaines impaires"}


def _territory_name() -> str | None:
    from ..errors import TerritoryNotBuilt
    from .runtime import loaded_territory

    try:
        return loaded_territory().name
    except TerritoryNotBuilt:
        return None


def place_label(place: Any) -> str:
    """A place as an aidant reads it; the itinerant bus shows its day and hours."""
    label = place.name
    details = place.details or {}
    if place.kind == "public_services_bus" and details.get("weekday"):
        day = _WEEKDAY_FR.get(str(details["weekday"]).lower(), details["weekday"])
        parity = _PARITY_FR.get(str(details.get("week_parity", "")).lower(), "")
        hours = f"{details.get('start', '')}–{details.get('end', '')}".strip("–")
        label = f"{label} ({day}{' ' + parity if parity else ''}, {hours})"
    return label


def endpoint_choices(beneficiary: Beneficiary | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a trip's start or end: home, destinations by kind, communes."""
    from ..models import Commune, Place

    territory = _territory_name()
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if beneficiary is not None and beneficiary.home_lat_lon is not None:
        where = beneficiary.home_address or (beneficiary.home_commune.name if beneficiary.home_commune else "")
        groups.append(("Domicile", [("home", f"Domicile de la personne ({where})")]))
    query = db.select(Place).order_by(Place.kind, Place.name)
    if territory:
        query = query.where(Place.territory == territory)
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for place in db.session.execute(query).scalars():
        if place.kind == "commune":
            continue
        by_kind.setdefault(place.kind, []).append((f"place:{place.id}", place_label(place)))
    for kind in PLACE_KIND_FR:
        if kind in by_kind:
            groups.append((PLACE_KIND_FR[kind], by_kind[kind]))
    commune_query = db.select(Commune).order_by(Commune.name)
    if territory:
        commune_query = commune_query.where(Commune.territory == territory)
    communes = list(db.session.execute(commune_query).scalars())
    names = {c.insee: c.name for c in communes}
    groups.append(("Communes (centre-bourg)", [
        (f"commune:{c.insee}",
         c.name + (f" (aujourd'hui {names[c.merged_into_insee]})" if c.merged_into_insee in names else ""))
        for c in communes
    ]))
    return groups


def resolve_endpoint(value: str, beneficiary: Beneficiary | None) -> Endpoint | None:
    """The Endpoint for a catalogue choice ('home', 'place:<id>', 'commune:<insee>'), or None."""
    from ..models import Commune, Place

    kind, _, key = (value or "").partition(":")
    if kind == "home" and beneficiary is not None:
        home = beneficiary.home_lat_lon
        if home is None:
            return None
        where = beneficiary.home_address or (beneficiary.home_commune.name if beneficiary.home_commune else "")
        return Endpoint(f"Domicile ({where})" if where else "Domicile", home[0], home[1])
    if kind == "place" and key.isdigit():
        place = db.session.get(Place, int(key))
        if place is None or place.lat_lon is None:
            return None
        town = f", {place.commune.name}" if place.commune and place.commune.name not in place.name else ""
        return Endpoint(place.name + town, place.lat_lon[0], place.lat_lon[1], place.id)
    if kind == "commune":
        commune = db.session.get(Commune, key)
        if commune is None or commune.lat_lon is None:
            return None
        return Endpoint(commune.name, commune.lat_lon[0], commune.lat_lon[1])
    return None


# --- Life cycle: expiry and end of day --------------------------------------------------------
#
# What app.services.lifecycle (the periodic tasks) changes: a proposal or a route that lapses
# without an answer ('expired'), each step in the need's history by "système". Written here
# because this module alone changes statuses; the same conditional UPDATEs as above, so a late
# answer racing the expiry gets one outcome or the other, never both.


@dataclass(frozen=True)
class Lapsed:
    """What one expiry changed: the proposals that lapsed, the needs back to 'searching'."""

    proposal_ids: tuple[int, ...] = ()
    reopened_need_ids: tuple[int, ...] = ()


def _driver_short(driver: Driver) -> str:
    return f"{driver.first_name} {driver.last_name[:1]}."


def _reopen_if_unasked(need: RideNeed) -> bool:
    """Back to 'searching' when no proposal of the need is pending or accepted any more (as
    decline_proposal does), in the caller's transaction; True when it moved."""
    db.session.flush()
    active = db.session.execute(select(Proposal.id).where(
        Proposal.need_id == need.id, Proposal.status.in_(("pending", "accepted")))).first()
    state = _fresh_state(need.id)
    if active is not None or state is None or state[0] != "proposed":
        return False
    moved = db.session.execute(
        update(RideNeed).where(RideNeed.id == need.id, RideNeed.version == state[1], RideNeed.status == "proposed")
        .values(status="searching", version=state[1] + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1
    if moved:
        db.session.refresh(need)
        record_event(need, actor="système", from_status="proposed", to_status="searching",
                     note="Plus aucune proposition en attente : reprendre la recherche.")
    return moved


def _lapse_proposal(proposal_id: int, now: datetime) -> bool:
    result = db.session.execute(
        update(Proposal).where(Proposal.id == proposal_id, Proposal.status == "pending")
        .values(status="expired", answered_at=now, answered_via=None)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _stage_expiry_sms(driver: Driver, proposal_ids: list[int], need: RideNeed, *, code: str,
                      when: datetime, route: bool, now: datetime) -> None:
    """Tell the driver (template sms/expired) that what she was asked lapsed, in the caller's
    transaction, only when the question reached her (an SMS of these proposals went out).

    Never at night: the expiry job runs round the clock, the notice waits for the morning.
    """
    from ..models import SmsMessage
    from . import notifications

    if not driver.phone_e164 or not proposal_ids:
        return
    texted = db.session.execute(select(SmsMessage.id).where(
        SmsMessage.direction == "out", SmsMessage.proposal_id.in_(proposal_ids),
        SmsMessage.status.in_(("sending", "sent", "delivered")))).first()
    if texted is None:
        return
    try:
        body = notifications._render("expired", driver=driver, day=notifications.fr_day(when),  # noqa: SLF001
                                     hour=notifications.fr_hour(when), code=code, route=route)
        notifications.stage_sms(driver.phone_e164, body, kind="expired", need_id=need.id,
                                proposal_id=proposal_ids[0], not_before=notifications.quiet_until(now),
                                driver_id=driver.id)
    except notifications.SmsRuleError as exc:
        record_event(need, actor="système", note=f"SMS non envoyé : {exc}")
    except Exception as exc:  # as _notify: the expiry and its SMS are undone together, and raised
        db.session.rollback()
        log.exception("expiry SMS failed: expiry rolled back")
        raise NotificationFailed("L'envoi du SMS n'a pas pu être préparé : rien n'a été modifié.") from exc


def expire_proposal(proposal: Proposal, *, now: datetime) -> Lapsed:
    """A pending proposal (not part of a route) past its ``expires_at`` lapses; commit.

    Its need goes back to 'searching' when nobody else is asked; the driver is told by SMS
    when she received it. Nothing happens (empty Lapsed) when it was answered, withdrawn or
    given a later deadline meanwhile.
    """
    db.session.commit()
    result = db.session.execute(
        update(Proposal).where(Proposal.id == proposal.id, Proposal.status == "pending",
                               Proposal.route_id.is_(None), Proposal.expires_at <= now)
        .values(status="expired", answered_at=now, answered_via=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return Lapsed()
    db.session.refresh(proposal)
    need, driver = proposal.need, proposal.driver
    record_event(need, actor="système", note=f"Proposition expirée sans réponse de {_driver_short(driver)}",
                 data={"proposal": proposal.id, "driver": driver.id, "expired": True})
    reopened = _reopen_if_unasked(need)
    pickup = aware_utc(proposal.pickup_at) or aware_utc(need.requested_at)
    assert pickup is not None
    _stage_expiry_sms(driver, [proposal.id], need, code=proposal.code, when=pickup, route=False, now=now)
    _commit_and_queue()
    return Lapsed((proposal.id,), (need.id,) if reopened else ())


def expire_route(route: RideRoute, *, now: datetime, end_of_day: bool = False) -> Lapsed:
    """A pending route past its ``expires_at`` lapses with its pending proposals; commit.

    Each rider's need goes back to 'searching' when nobody else is asked; a rider whose other
    leg was booked with someone else loses that booking too (one driver per leg, both or none,
    as decline_route does). The driver is told by one SMS. ``end_of_day``: the route's day is
    over (app.services.lifecycle.close_past_days) — it lapses whatever its deadline, silently.
    """
    from ..models import RideRoute as Route

    db.session.commit()
    due = Route.day < _local_today(now) if end_of_day else Route.expires_at <= now
    result = db.session.execute(
        update(Route).where(Route.id == route.id, Route.status == "pending", due)
        .values(status="expired", answered_at=now, answered_via=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return Lapsed()
    db.session.refresh(route)
    driver = route.driver
    lapsed: list[Proposal] = []
    reopened: list[int] = []
    pending = db.session.execute(select(Proposal).where(
        Proposal.route_id == route.id, Proposal.status == "pending").order_by(Proposal.id)).scalars().all()
    for proposal in pending:
        if not _lapse_proposal(proposal.id, now):
            continue
        db.session.refresh(proposal)
        lapsed.append(proposal)
        need = proposal.need
        why = "avant la date du trajet" if end_of_day else ""
        record_event(need, actor="système",
                     note=f"Proposition expirée sans réponse de {_driver_short(driver)} {why}".strip()
                          + f" (tournée partagée, code {route.code})",
                     data={"proposal": proposal.id, "route": route.id, "driver": driver.id, "expired": True})
        if not end_of_day:
            _release_siblings(need, proposal, reason="l'autre trajet a expiré sans réponse")
        if _reopen_if_unasked(need):
            reopened.append(need.id)
    if lapsed and not end_of_day:
        when = aware_utc(route.start_at)
        assert when is not None
        _stage_expiry_sms(driver, [p.id for p in lapsed], lapsed[0].need, code=route.code, when=when,
                          route=True, now=now)
    _commit_and_queue()
    return Lapsed(tuple(p.id for p in lapsed), tuple(reopened))




def _local_today(now: datetime) -> Any:
    from zoneinfo import ZoneInfo

    from flask import current_app

    return now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
