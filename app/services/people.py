"""Beneficiaries and volunteer drivers: records, consent, export, erasure and purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import delete, select, update

from ..errors import PlatformError
from ..extensions import db
from ..models import (
    SLOTS,
    AuditLog,
    Beneficiary,
    Commune,
    Driver,
    DriverAvailability,
    DriverOffer,
    NeedEvent,
    Proposal,
    RideNeed,
    SmsMessage,
    User,
    lat_lon,
    point,
    utcnow,
)
from ..models.messaging import SmsTripCode
from ..models.rides import RideNeedSeries
from .audit import record_audit
from .call_notes import delete_notes, driver_notes, export_notes, need_notes

WEEKDAYS_FR = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")
SLOTS_FR = {"morning": "Matin", "afternoon": "Après-midi", "evening": "Soir"}
ELIGIBILITY_FR = {
    "rural_commune": "Éligible : habite une commune de moins de 12 000 habitants",
    "social_benefits": "Éligible : bénéficiaire de minima sociaux",
    "not_eligible": "Non éligible au transport d'utilité sociale",
    "unknown": "Éligibilité à vérifier (commune non renseignée)",
}
OPEN_NEED_STATUSES = ("new", "searching", "proposed", "confirmed")


class InvalidPhone(PlatformError, ValueError):
    """A phone number that is not a valid French number (message in French, for the form)."""


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime (SQLite gives back naive UTC values)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_phone(raw: str, *, mobile_only: bool = False) -> str:
    """A French phone number in E.164 (+33…); InvalidPhone with a French message otherwise."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("Numéro de téléphone invalide : 10 chiffres, par exemple 06 12 34 56 78.") from exc
    if not phonenumbers.is_valid_number(number) or number.country_code != 33:
        raise InvalidPhone("Numéro de téléphone invalide : 10 chiffres, par exemple 06 12 34 56 78.")
    if mobile_only and phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
    ):
        raise InvalidPhone("Il faut un numéro de portable (06 ou 07) pour recevoir les SMS.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str | None) -> str:
    """+33612345678 -> 06 12 34 56 78."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, "FR"), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def eligibility_basis(commune: Commune | None, receives_social_benefits: bool) -> str:
    """Ground for "transport d'utilité sociale" (décret 2019-850): rural commune or benefits."""
    if commune is not None and commune.is_rural_for_tus:
        return "rural_commune"
    if receives_social_benefits:
        return "social_benefits"
    return "not_eligible" if commune is not None else "unknown"


@dataclass
class BeneficiaryData:
    """What a form gives to create or update a beneficiary."""

    first_name: str
    last_name: str
    phone: str | None = None  # E.164, already normalised
    home_commune_insee: str | None = None
    home_address: str | None = None
    home_lat: float | None = None
    home_lon: float | None = None
    needs_accompaniment: bool = False
    needs_wheelchair: bool = False
    needs_shopping_help: bool = False
    no_front_seat: bool = False
    receives_social_benefits: bool = False
    consent_sms: bool = False
    consent_sharing: bool = False
    notes: str | None = None


def save_beneficiary(beneficiary: Beneficiary | None, data: BeneficiaryData, user: User,
                     structure_id: int | None = None) -> Beneficiary:
    """Create (``beneficiary`` None) or update a beneficiary; record consent changes; commit."""
    commune = db.session.get(Commune, data.home_commune_insee) if data.home_commune_insee else None
    creating = beneficiary is None
    if beneficiary is None:
        beneficiary = Beneficiary(structure_id=structure_id or user.structure_id, created_by_id=user.id)
        db.session.add(beneficiary)
    beneficiary.first_name = data.first_name.strip()
    beneficiary.last_name = data.last_name.strip()
    beneficiary.phone_e164 = data.phone or None
    beneficiary.home_commune_insee = commune.insee if commune else None
    beneficiary.home_address = (data.home_address or "").strip() or None
    beneficiary.home_geom = (point(data.home_lat, data.home_lon)
                             if data.home_lat is not None and data.home_lon is not None else None)
    beneficiary.needs_accompaniment = data.needs_accompaniment
    beneficiary.needs_wheelchair = data.needs_wheelchair
    beneficiary.needs_shopping_help = data.needs_shopping_help
    beneficiary.no_front_seat = data.no_front_seat
    beneficiary.receives_social_benefits = data.receives_social_benefits
    beneficiary.eligibility_basis = eligibility_basis(commune, data.receives_social_benefits)
    beneficiary.eligibility_checked_at = utcnow()
    beneficiary.notes = (data.notes or "").strip() or None
    beneficiary.last_activity_at = utcnow()
    consent_changes = _apply_consent(beneficiary, data.consent_sms, data.consent_sharing, user)
    db.session.flush()
    record_audit("create" if creating else "update", "beneficiary", beneficiary.id, user=user)
    if consent_changes:
        record_audit("consent", "beneficiary", beneficiary.id, user=user, detail=consent_changes)
    db.session.commit()
    return beneficiary


def _apply_consent(beneficiary: Beneficiary, sms: bool, sharing: bool, user: User) -> dict[str, str]:
    """Stamp newly given consents with the date and the user; clear withdrawn ones."""
    changes: dict[str, str] = {}
    now = utcnow()
    for attr, given, name in (("consent_sms_at", sms, "sms"), ("consent_sharing_at", sharing, "sharing")):
        current = getattr(beneficiary, attr)
        if given and current is None:
            setattr(beneficiary, attr, now)
            changes[name] = "given"
        elif not given and current is not None:
            setattr(beneficiary, attr, None)
            changes[name] = "withdrawn"
    if changes:
        beneficiary.consent_recorded_by_id = user.id
    return changes


# --- Drivers -------------------------------------------------------------------------------

@dataclass
class DriverData:
    """What a form gives to create or update a volunteer driver."""

    first_name: str
    last_name: str
    phone: str  # E.164
    home_commune_insee: str | None = None
    home_address: str | None = None
    home_lat: float | None = None
    home_lon: float | None = None
    vehicle_seats: int = 3
    wheelchair_accessible: bool = False
    can_accompany: bool = True
    max_distance_km: int = 20
    max_rides_per_day: int = 2
    licence_valid_until: date | None = None
    insurance_valid_until: date | None = None
    availability: tuple[tuple[int, str], ...] = ()
    active: bool = True
    notes: str | None = None
    # Consent to publication in the open data: True records it, False withdraws it, None keeps it.
    publish_consent: bool | None = None


class DuplicatePhone(PlatformError, ValueError):
    """Another driver already uses this phone number (SMS answers are matched on it)."""


def save_driver(driver: Driver | None, data: DriverData, user: User, structure_id: int | None = None) -> Driver:
    """Create or update a volunteer; replace the availability grid; commit."""
    clash = db.session.execute(select(Driver.id).where(Driver.phone_e164 == data.phone)).scalar_one_or_none()
    if clash is not None and (driver is None or clash != driver.id):
        raise DuplicatePhone("Ce numéro est déjà celui d'un autre bénévole.")
    creating = driver is None
    if driver is None:
        driver = Driver(structure_id=structure_id or user.structure_id)
        db.session.add(driver)
    documents_changed = (driver.licence_valid_until != data.licence_valid_until
                         or driver.insurance_valid_until != data.insurance_valid_until)
    driver.first_name = data.first_name.strip()
    driver.last_name = data.last_name.strip()
    driver.phone_e164 = data.phone
    driver.home_commune_insee = data.home_commune_insee or None
    driver.home_address = (data.home_address or "").strip() or None
    driver.home_geom = (point(data.home_lat, data.home_lon)
                        if data.home_lat is not None and data.home_lon is not None else None)
    driver.vehicle_seats = data.vehicle_seats
    driver.wheelchair_accessible = data.wheelchair_accessible
    driver.can_accompany = data.can_accompany
    driver.max_distance_km = data.max_distance_km
    driver.max_rides_per_day = data.max_rides_per_day
    driver.licence_valid_until = data.licence_valid_until
    driver.insurance_valid_until = data.insurance_valid_until
    if documents_changed and (data.licence_valid_until or data.insurance_valid_until):
        driver.documents_checked_at = utcnow()
        driver.documents_checked_by_id = user.id
    driver.active = data.active
    driver.notes = (data.notes or "").strip() or None
    if data.publish_consent and driver.publish_consent_at is None:
        driver.publish_consent_at = utcnow()
        driver.publish_consent_by_id = user.id
    elif data.publish_consent is False:
        driver.publish_consent_at = None
        driver.publish_consent_by_id = None
    driver.last_activity_at = utcnow()
    wanted = {(d, s) for d, s in data.availability if 0 <= d <= 6 and s in SLOTS}
    for cell in list(driver.availability):
        if (cell.weekday, cell.slot) not in wanted:
            driver.availability.remove(cell)
    have = {(c.weekday, c.slot) for c in driver.availability}
    for weekday, slot in sorted(wanted - have):
        driver.availability.append(DriverAvailability(weekday=weekday, slot=slot))
    db.session.flush()
    record_audit("create" if creating else "update", "driver", driver.id, user=user)
    db.session.commit()
    return driver


def driver_unavailability(driver: Driver, day: date) -> list[str]:
    """Why a driver cannot be asked on ``day`` (French, empty when available)."""
    reasons = []
    if not driver.active:
        reasons.append("bénévole en pause")
    if driver.licence_valid_until is None:
        reasons.append("permis non attesté")
    elif driver.licence_valid_until < day:
        reasons.append(f"permis expiré le {driver.licence_valid_until:%d/%m/%Y}")
    if driver.insurance_valid_until is None:
        reasons.append("assurance non attestée")
    elif driver.insurance_valid_until < day:
        reasons.append(f"assurance expirée le {driver.insurance_valid_until:%d/%m/%Y}")
    return reasons


def add_offer(driver: Driver, user: User, *, kind: str, origin_label: str, origin: tuple[float, float],
              destination_label: str, destination: tuple[float, float],
              departure: datetime | None = None, weekdays: str | None = None,
              time_of_day: str | None = None, seats: int = 1, max_detour_min: int = 15,
              flexibility_min: int = 15) -> DriverOffer:
    """Record a trip the volunteer drives anyway (one-off with a departure, or regular)."""
    offer = DriverOffer(driver=driver, kind=kind, origin_label=origin_label, origin_geom=point(*origin),
                        destination_label=destination_label, destination_geom=point(*destination),
                        seats=seats, max_detour_min=max_detour_min, flexibility_min=flexibility_min,
                        source="web", status="active")
    if kind == "one_off":
        assert departure is not None
        offer.departure_earliest = departure - timedelta(minutes=flexibility_min)
        offer.departure_latest = departure + timedelta(minutes=flexibility_min)
    else:
        offer.weekdays = weekdays
        offer.time_of_day = time_of_day
        offer.valid_from = utcnow()
    db.session.add(offer)
    db.session.flush()
    record_audit("create", "driver_offer", offer.id, user=user, detail={"driver": driver.id})
    db.session.commit()
    return offer


def cancel_offer(offer: DriverOffer, user: User) -> bool:
    """Cancel a volunteer's trip (kept for the history, never deleted); False if already cancelled.

    A cancelled trip is no longer offered by the matching, which only uses active trips.
    """
    result = db.session.execute(
        update(DriverOffer).where(DriverOffer.id == offer.id, DriverOffer.status != "cancelled")
        .values(status="cancelled").execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        return False
    record_audit("cancel", "driver_offer", offer.id, user=user, detail={"driver": offer.driver_id})
    db.session.commit()
    db.session.refresh(offer)
    return True


def rides_on_offer(offer: DriverOffer) -> list[Proposal]:
    """Proposals still pending or accepted for active needs that rely on this trip."""
    return list(db.session.execute(
        select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(Proposal.offer_id == offer.id, Proposal.status.in_(("pending", "accepted")),
               RideNeed.status.in_(("new", "searching", "proposed", "confirmed")))
        .order_by(Proposal.id)).scalars())


# --- Export, erasure, purge ----------------------------------------------------------------

def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    return value


def export_beneficiary(beneficiary: Beneficiary, user: User) -> dict[str, Any]:
    """Everything the platform holds about a person (GDPR access/portability); audited."""
    home = lat_lon(beneficiary.home_geom)
    needs = db.session.execute(
        select(RideNeed).where(RideNeed.beneficiary_id == beneficiary.id).order_by(RideNeed.id)
    ).scalars().all()
    sms = _messages_of(SmsMessage.beneficiary_id, beneficiary.id)
    payload = {
        "format": "mobilite-solidaire-lot/beneficiary/1",
        "exported_at": utcnow().isoformat(),
        "person": {
            "id": beneficiary.id,
            "first_name": beneficiary.first_name,
            "last_name": beneficiary.last_name,
            "phone": beneficiary.phone_e164,
            "home_commune_insee": beneficiary.home_commune_insee,
            "home_commune": beneficiary.home_commune.name if beneficiary.home_commune else None,
            "home_address": beneficiary.home_address,
            "home_point": {"lat": home[0], "lon": home[1]} if home else None,
            "needs": {
                "accompaniment": beneficiary.needs_accompaniment,
                "wheelchair": beneficiary.needs_wheelchair,
                "shopping_help": beneficiary.needs_shopping_help,
                "no_front_seat": beneficiary.no_front_seat,
            },
            "receives_social_benefits": beneficiary.receives_social_benefits,
            "eligibility_basis": beneficiary.eligibility_basis,
            "notes": beneficiary.notes,
            "structure": beneficiary.structure.name,
            "created_at": _iso(beneficiary.created_at),
            "last_activity_at": _iso(beneficiary.last_activity_at),
        },
        "consent": {
            "sms_contact_at": _iso(beneficiary.consent_sms_at),
            "sharing_with_partners_at": _iso(beneficiary.consent_sharing_at),
            "recorded_by": beneficiary.consent_recorded_by.name if beneficiary.consent_recorded_by else None,
            "sms_opt_out": beneficiary.sms_opt_out,
        },
        "ride_need_series": [
            {"id": r.id, "weekdays": r.weekday_numbers, "every_weeks": r.interval_weeks,
             "from": _iso(r.start_date), "until": _iso(r.until_date), "except": r.exception_dates,
             "time": r.local_time, "trip": r.template, "status": r.status, "created_at": _iso(r.created_at)}
            for r in db.session.execute(select(RideNeedSeries).where(
                RideNeedSeries.beneficiary_id == beneficiary.id).order_by(RideNeedSeries.id)).scalars()
        ],
        "ride_needs": [
            {
                "id": n.id, "status": n.status, "purpose": n.purpose,
                "from": n.pickup_label, "to": n.dropoff_label, "time_mode": n.time_mode,
                "requested_at": _iso(n.requested_at), "return_mode": n.return_mode,
                "return_wait_min": n.return_wait_min, "return_at": _iso(n.return_at),
                "passengers": n.passengers, "notes": n.notes, "unserved_reason": n.unserved_reason,
                "created_at": _iso(n.created_at),
                "proposals": [
                    {"status": p.status, "driver": p.driver.first_name, "pickup_at": _iso(p.pickup_at),
                     "distance_m": p.distance_m, "contribution_eur": p.contribution_eur,
                     "answered_via": p.answered_via}
                    for p in n.proposals
                ],
                "history": [
                    {"at": _iso(e.at), "by": e.actor, "from": e.from_status, "to": e.to_status, "note": e.note}
                    for e in n.events
                ],
                "call_notes": export_notes(need_notes(n.id)),
                "series": n.series_id,
            }
            for n in needs
        ],
        "sms": [
            {"direction": m.direction, "at": _iso(m.created_at), "body": m.body, "status": m.status}
            for m in sms
        ],
    }
    record_audit("export", "beneficiary", beneficiary.id, user=user)
    db.session.commit()
    return payload


def export_driver(driver: Driver, user: User) -> dict[str, Any]:
    """Everything held about a volunteer; audited."""
    offers = db.session.execute(select(DriverOffer).where(DriverOffer.driver_id == driver.id)).scalars().all()
    proposals = db.session.execute(select(Proposal).where(Proposal.driver_id == driver.id)).scalars().all()
    sms = _messages_of(SmsMessage.driver_id, driver.id)
    home = lat_lon(driver.home_geom)
    payload = {
        "format": "mobilite-solidaire-lot/driver/1",
        "exported_at": utcnow().isoformat(),
        "person": {
            "id": driver.id, "first_name": driver.first_name, "last_name": driver.last_name,
            "phone": driver.phone_e164, "home_commune_insee": driver.home_commune_insee,
            "home_address": driver.home_address,
            "home_point": {"lat": home[0], "lon": home[1]} if home else None,
            "vehicle_seats": driver.vehicle_seats, "wheelchair_accessible": driver.wheelchair_accessible,
            "max_distance_km": driver.max_distance_km,
            "licence_valid_until": _iso(driver.licence_valid_until),
            "insurance_valid_until": _iso(driver.insurance_valid_until),
            "availability": [{"weekday": a.weekday, "slot": a.slot} for a in driver.availability],
            "structure": driver.structure.name, "notes": driver.notes,
        },
        "trips": [
            {"kind": o.kind, "from": o.origin_label, "to": o.destination_label,
             "departure_earliest": _iso(o.departure_earliest), "weekdays": o.weekdays,
             "time_of_day": o.time_of_day, "status": o.status}
            for o in offers
        ],
        "proposals": [
            {"need": p.need_id, "status": p.status, "pickup_at": _iso(p.pickup_at),
             "distance_m": p.distance_m, "answered_via": p.answered_via}
            for p in proposals
        ],
        "call_notes": export_notes(driver_notes(driver.id)),
        "sms": [
            {"direction": m.direction, "at": _iso(m.created_at), "body": m.body, "status": m.status}
            for m in sms
        ],
    }
    record_audit("export", "driver", driver.id, user=user)
    db.session.commit()
    return payload


def _messages_of(column: Any, person_id: int) -> list[SmsMessage]:
    """The SMS linked to one person (never selected by phone number: a number on a record may
    be an aidant's or a relative's, whose own messages are not this person's)."""
    return list(db.session.execute(select(SmsMessage).where(column == person_id).order_by(SmsMessage.id)).scalars())


def _erase_messages(column: Any, person_id: int) -> int:
    """Delete the SMS linked to one person; their count."""
    ids = list(db.session.execute(select(SmsMessage.id).where(column == person_id)).scalars())
    if not ids:
        return 0
    # Replies stored for another person's inbound message keep their text, not the link.
    db.session.execute(update(SmsMessage).where(SmsMessage.in_reply_to_id.in_(ids))
                       .values(in_reply_to_id=None).execution_options(synchronize_session=False))
    return db.session.execute(delete(SmsMessage).where(SmsMessage.id.in_(ids))).rowcount or 0


def _delete_needs(need_ids: list[int]) -> None:
    if not need_ids:
        return
    db.session.execute(delete(SmsMessage).where(SmsMessage.need_id.in_(need_ids)))
    db.session.execute(delete(NeedEvent).where(NeedEvent.need_id.in_(need_ids)))
    db.session.execute(delete(Proposal).where(Proposal.need_id.in_(need_ids)))
    delete_notes(need_ids=need_ids)
    db.session.execute(delete(RideNeed).where(RideNeed.id.in_(need_ids)))


def erase_beneficiary(beneficiary: Beneficiary, user: User | None, *, reason: str = "request") -> None:
    """Delete a person, her ride needs with their history and proposals, and her SMS; commit.

    The audit log keeps that the record existed and who erased it, not what it held.
    """
    beneficiary_id = beneficiary.id
    need_ids = list(db.session.execute(
        select(RideNeed.id).where(RideNeed.beneficiary_id == beneficiary_id)).scalars())
    messages = _erase_messages(SmsMessage.beneficiary_id, beneficiary_id)
    _delete_needs(need_ids)
    db.session.execute(delete(RideNeedSeries).where(RideNeedSeries.beneficiary_id == beneficiary_id))
    db.session.delete(beneficiary)
    db.session.flush()
    record_audit("erase", "beneficiary", beneficiary_id, user=user,
                 detail={"reason": reason, "ride_needs": len(need_ids), "sms": messages})
    db.session.commit()


ERASE_REASON_FR = {"request": "données effacées à sa demande", "retention": "durée de conservation dépassée"}


def erase_driver(driver: Driver, user: User | None, *, reason: str = "request") -> list[RideNeed]:
    """Delete a volunteer, her trips, proposals and SMS; commit. Returns the needs reopened.

    Her open rides are first handed back explicitly (:func:`app.services.rides.release_driver`):
    confirmed rides go back to searching with a history entry for the aidants and an SMS to
    the rider, pending proposals are withdrawn.
    """
    from .rides import release_driver

    driver_id = driver.id
    reopened = release_driver(driver, by_user=user, reason=ERASE_REASON_FR.get(reason, reason))
    messages = _erase_messages(SmsMessage.driver_id, driver_id)
    db.session.execute(delete(Proposal).where(Proposal.driver_id == driver_id))
    db.session.execute(delete(SmsTripCode).where(SmsTripCode.driver_id == driver_id))
    db.session.execute(delete(DriverOffer).where(DriverOffer.driver_id == driver_id))
    delete_notes(driver_id=driver_id)
    db.session.delete(driver)
    db.session.flush()
    record_audit("erase", "driver", driver_id, user=user,
                 detail={"reason": reason, "sms": messages, "reopened": [n.id for n in reopened]})
    db.session.commit()
    return reopened


@dataclass
class PurgeReport:
    beneficiaries: int = 0
    drivers: int = 0
    ride_needs: int = 0
    sms: int = 0


def purge_old_data(retention_days: int, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Erase what is older than the retention period (GDPR storage limitation).

    - beneficiaries and drivers without activity since the cut-off, and nothing open ahead;
    - ride needs that ended (done, cancelled, unserved) and whose date is before the cut-off;
    - SMS messages older than the cut-off.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport()
    open_needs = select(RideNeed.beneficiary_id).where(
        RideNeed.status.in_(OPEN_NEED_STATUSES), RideNeed.requested_at >= cutoff)
    stale_people = db.session.execute(
        select(Beneficiary).where(Beneficiary.last_activity_at < cutoff, Beneficiary.id.not_in(open_needs))
    ).scalars().all()
    busy_drivers = select(Proposal.driver_id).join(RideNeed, Proposal.need_id == RideNeed.id).where(
        Proposal.status.in_(("pending", "accepted")), RideNeed.requested_at >= cutoff)
    stale_drivers = db.session.execute(
        select(Driver).where(Driver.last_activity_at < cutoff, Driver.id.not_in(busy_drivers))
    ).scalars().all()
    old_needs = list(db.session.execute(
        select(RideNeed.id).where(RideNeed.status.in_(("done", "cancelled", "unserved")),
                                  RideNeed.requested_at < cutoff)).scalars())
    report.beneficiaries, report.drivers = len(stale_people), len(stale_drivers)
    if dry_run:
        report.ride_needs = len(old_needs)
        report.sms = db.session.query(SmsMessage).filter(SmsMessage.created_at < cutoff).count()
        return report
    for person in stale_people:
        erase_beneficiary(person, None, reason="retention")
    for volunteer in stale_drivers:
        erase_driver(volunteer, None, reason="retention")
    still_there = list(db.session.execute(select(RideNeed.id).where(RideNeed.id.in_(old_needs))).scalars())
    _delete_needs(still_there)
    report.ride_needs = len(still_there)
    report.sms = db.session.execute(delete(SmsMessage).where(SmsMessage.created_at < cutoff)).rowcount or 0
    db.session.add(AuditLog(actor="system", action="purge", object_type="retention",
                            detail={"cutoff": cutoff.isoformat(), "beneficiaries": report.beneficiaries,
                                    "drivers": report.drivers, "ride_needs": report.ride_needs,
                                    "sms": report.sms}))
    db.session.commit()
    return report


def search_beneficiaries_clause(text: str):  # type: ignore[no-untyped-def]
    """SQL condition for a forgiving search of people: name, phone, commune (see services.search)."""
    from .search import person_search_clause

    return person_search_clause(Beneficiary, text)


def search_drivers_clause(text: str):  # type: ignore[no-untyped-def]
    """The same forgiving search for volunteer drivers."""
    from .search import person_search_clause

    return person_search_clause(Driver, text)
