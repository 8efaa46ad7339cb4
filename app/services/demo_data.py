"""Demo structures, accounts and sample data, for `make run` on the demo territory.

Only on the demo territory: a real deployment must never get accounts whose passwords are
published in the README, nor a demo structure covering every commune (``seed_demo`` refuses).
Everything is created only if missing (idempotent): running the seed twice changes nothing.
Volunteers have valid documents and a wide availability so that a new need in town always
finds candidates; sample needs show every step of the follow-up.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app

from ..errors import PlatformError, TerritoryNotBuilt
from ..extensions import db
from ..models import (
    Beneficiary,
    Commune,
    Driver,
    DriverAvailability,
    DriverOffer,
    NeedEvent,
    Place,
    Proposal,
    RideNeed,
    Structure,
    User,
    point,
    utcnow,
)
from .accounts import create_user

DEMO_ACCOUNTS = (
    ("admin", "admin@demo.mobilite-lot.fr", "admin-demo-46", "Alice Administratrice", None),
    ("coordinator", "coordination@demo.mobilite-lot.fr", "coord-demo-46", "Claude Coordinatrice", "France Services de Valbourg"),
    ("aidant", "aidant@demo.mobilite-lot.fr", "aidant-demo-46", "Amélie Aidante", "France Services de Valbourg"),
    ("aidant", "ccas@demo.mobilite-lot.fr", "ccas-demo-46", "Bruno du CCAS", "CCAS de Combelongue"),
)
FS, CCAS = "France Services de Valbourg", "CCAS de Combelongue"
ALL_SLOTS = [(d, s) for d in range(7) for s in ("morning", "afternoon", "evening")]
WEEKDAY_DAYTIME = [(d, s) for d in range(5) for s in ("morning", "afternoon")]

# first, last, phone, commune, structure, seats, wheelchair, max km, availability, documents ok
DEMO_DRIVERS = (
    ("Jeanne", "Martin", "+33600000101", "Valbourg", FS, 3, False, 30, ALL_SLOTS, True),
    ("Pierre", "Delmas", "+33600000102", "Montbrun-les-Pins", FS, 3, False, 25, WEEKDAY_DAYTIME, True),
    ("Marie", "Castel", "+33600000103", "Les Granges", FS, 2, True, 25,
     [(d, s) for d in (1, 3, 5) for s in ("morning", "afternoon")], True),
    ("Louis", "Bonnet", "+33600000104", "Combelongue", CCAS, 4, False, 20,
     [(d, s) for d in range(7) for s in ("afternoon", "evening")], True),
    ("Henri", "Lafon", "+33600000105", "Valbourg", FS, 3, False, 20, ALL_SLOTS, False),
)
# first, last, phone, commune, structure, accompaniment, wheelchair, benefits, sharing consent
DEMO_BENEFICIARIES = (
    ("Roseline", "Fabre", "+33565000201", "Lacombe-Haute", FS, True, False, False, True),
    ("Sébastien", "Roux", "+33600000202", "Valbourg", FS, False, False, True, True),
    ("Sarah", "Garcia", "+33600000203", "Combelongue", CCAS, False, False, False, False),
)


class NotDemoTerritory(PlatformError):
    """The active territory is a real one (or none is built): no demo data may be created."""


def active_territory_is_demo() -> bool:
    """True when the active territory is the generated demo one (False when none is built)."""
    from .territory import current_territory_path, read_manifest

    try:
        path = current_territory_path(Path(current_app.config["TERRITORY_DIR"]))
    except TerritoryNotBuilt:
        return False
    return bool(read_manifest(path).get("is_demo"))


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing of the demo data; return (role, e-mail, password) of the accounts.

    Raises NotDemoTerritory on a real territory: nothing is created there.
    """
    if not active_territory_is_demo():
        raise NotDemoTerritory("the active territory is not the demo one: no demo accounts or data")
    communes = db.session.execute(db.select(Commune).order_by(Commune.insee)).scalars().all()
    structures = {}
    for name, kind, covered in (
        (FS, "france_services", [c for c in communes if c.name != "Combelongue"]),
        (CCAS, "ccas", [c for c in communes if c.name in ("Combelongue", "Le Mas-Vieux")]),
    ):
        structure = db.session.execute(db.select(Structure).filter_by(name=name)).scalar_one_or_none()
        if structure is None:
            structure = Structure(name=name, kind=kind, communes=covered)
            db.session.add(structure)
        structures[name] = structure
    db.session.flush()
    for role, email, password, name, structure_name in DEMO_ACCOUNTS:
        if db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none() is None:
            create_user(email, name, password, role, structures.get(structure_name) if structure_name else None)
    db.session.flush()
    if communes:
        _seed_people(structures, {c.name: c for c in communes})
    db.session.commit()
    return [(role, email, password) for role, email, password, _n, _s in DEMO_ACCOUNTS]


def _seed_people(structures: dict[str, Structure], communes: dict[str, Commune]) -> None:
    today = date.today()
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    aidant = db.session.execute(db.select(User).filter_by(email=DEMO_ACCOUNTS[2][1])).scalar_one()
    drivers: dict[str, Driver] = {}
    for first, last, phone, commune, structure, seats, wheelchair, max_km, slots, ok in DEMO_DRIVERS:
        driver = db.session.execute(db.select(Driver).filter_by(phone_e164=phone)).scalar_one_or_none()
        if driver is None and commune in communes:
            valid = today + timedelta(days=365) if ok else today - timedelta(days=20)
            driver = Driver(
                structure=structures[structure], first_name=first, last_name=last, phone_e164=phone,
                home_commune_insee=communes[commune].insee, vehicle_seats=seats,
                wheelchair_accessible=wheelchair, max_distance_km=max_km, can_accompany=True,
                licence_valid_until=today + timedelta(days=3000), insurance_valid_until=valid,
                documents_checked_at=utcnow(), documents_checked_by_id=aidant.id,
                publish_consent_at=utcnow(), publish_consent_by_id=aidant.id,  # open data shows them
                notes="Bénévole de démonstration",
                availability=[DriverAvailability(weekday=d, slot=s) for d, s in slots])
            db.session.add(driver)
            db.session.flush()
            _seed_offers(driver, communes, today, tz)
        if driver is not None:
            drivers[first] = driver
    people: dict[str, Beneficiary] = {}
    created: set[str] = set()
    for first, last, phone, commune, structure, accompany, wheelchair, benefits, sharing in DEMO_BENEFICIARIES:
        person = db.session.execute(
            db.select(Beneficiary).filter_by(first_name=first, last_name=last)).scalar_one_or_none()
        if person is None and commune in communes:
            home = communes[commune]
            person = Beneficiary(
                structure=structures[structure], first_name=first, last_name=last, phone_e164=phone,
                home_commune_insee=home.insee, needs_accompaniment=accompany, needs_wheelchair=wheelchair,
                receives_social_benefits=benefits,
                eligibility_basis="rural_commune" if home.is_rural_for_tus else ("social_benefits" if benefits else "not_eligible"),
                consent_sms_at=utcnow(), consent_sharing_at=utcnow() if sharing else None,
                consent_recorded_by_id=aidant.id, created_by_id=aidant.id)
            db.session.add(person)
            db.session.flush()
            created.add(first)
        if person is not None:
            people[first] = person
    places = {p.name: p for p in db.session.execute(db.select(Place)).scalars()}
    if "Roseline" in created and "Roseline" in people:
        _need(people["Roseline"], aidant, places.get("Centre hospitalier de Valbourg"), today + timedelta(days=3),
              time(10, 0), tz, "medical", "new", return_wait=120)
        _need(people["Roseline"], aidant, places.get("Pharmacie de la Cathédrale"), today - timedelta(days=20),
              time(9, 30), tz, "shopping", "unserved", reason="Aucun bénévole disponible ce dimanche matin")
    if "Sébastien" in created and "Sébastien" in people:
        _need(people["Sébastien"], aidant, places.get("Agence France Travail de Valbourg"), today + timedelta(days=2),
              time(14, 0), tz, "employment", "confirmed", driver=drivers.get("Jeanne"))
        _need(people["Sébastien"], aidant, places.get("France Services de Valbourg"), today + timedelta(days=5),
              time(11, 0), tz, "administrative", "proposed", driver=drivers.get("Pierre"))
        _need(people["Sébastien"], aidant, places.get("Maison de santé du Foirail"), today - timedelta(days=9),
              time(15, 0), tz, "medical", "done", driver=drivers.get("Jeanne"), distance_m=9400)
    if "Sarah" in created and "Sarah" in people:
        _need(people["Sarah"], aidant, places.get("Supermarché de la Route de Toulouse"), today - timedelta(days=6),
              time(16, 0), tz, "shopping", "done", driver=drivers.get("Louis"), distance_m=12600)
        _need(people["Sarah"], aidant, places.get("Agence France Travail de Valbourg"), today - timedelta(days=3),
              time(9, 0), tz, "employment", "cancelled")


def _seed_offers(driver: Driver, communes: dict[str, Commune], today: date, tz: ZoneInfo) -> None:
    """A regular commute for Pierre, a one-off trip to the hospital for Louis."""
    town = communes.get("Valbourg")
    home = driver.home_commune
    if town is None or home is None or town.lat_lon is None or home.lat_lon is None:
        return
    if driver.first_name == "Pierre":
        db.session.add(DriverOffer(driver=driver, kind="regular", origin_label=home.name, origin_geom=point(*home.lat_lon),
                                   destination_label="Valbourg", destination_geom=point(*town.lat_lon),
                                   weekdays="0,2,4", time_of_day="08:00", flexibility_min=20, seats=2,
                                   max_detour_min=15, valid_from=utcnow() - timedelta(days=1), status="active"))
    if driver.first_name == "Louis":
        departure = datetime.combine(today + timedelta(days=1), time(13, 30), tz)
        db.session.add(DriverOffer(driver=driver, kind="one_off", origin_label=home.name, origin_geom=point(*home.lat_lon),
                                   destination_label="Valbourg", destination_geom=point(*town.lat_lon),
                                   departure_earliest=departure - timedelta(minutes=15),
                                   departure_latest=departure + timedelta(minutes=15),
                                   seats=2, max_detour_min=15, status="active"))


def _need(person: Beneficiary, aidant: User, place: Place | None, day: date, at: time, tz: ZoneInfo,
          purpose: str, status: str, *, driver: Driver | None = None, return_wait: int | None = None,
          reason: str | None = None, distance_m: int | None = None) -> None:
    """A sample need with its history, written directly (no SMS is sent by the seed)."""
    home = person.home_lat_lon
    if place is None or home is None or place.lat_lon is None:
        return
    requested = datetime.combine(day, at, tz)
    need = RideNeed(
        beneficiary=person, structure_id=person.structure_id, created_by_id=aidant.id,
        pickup_label=f"Domicile ({person.home_commune.name if person.home_commune else ''})",
        pickup_geom=point(*home), dropoff_label=place.name, dropoff_place_id=place.id,
        dropoff_geom=point(*place.lat_lon), time_mode="arrive_by", requested_at=requested,
        return_mode="after_wait" if return_wait else "none", return_wait_min=return_wait,
        purpose=purpose, passengers=1, needs_accompaniment=person.needs_accompaniment,
        status=status, unserved_reason=reason, notes="Besoin de démonstration")
    db.session.add(need)
    db.session.flush()
    created_at = min(utcnow(), requested.astimezone(tz)) - timedelta(days=2)
    db.session.add(NeedEvent(need_id=need.id, at=created_at, user_id=aidant.id, actor=aidant.name,
                             to_status="new", note="Besoin enregistré"))
    if driver is not None and status in ("proposed", "confirmed", "done"):
        proposal_status = "pending" if status == "proposed" else "accepted"
        pickup = requested - timedelta(minutes=35)
        db.session.add(Proposal(need_id=need.id, driver_id=driver.id, code=f"{100 + need.id % 900}",
                                status=proposal_status, pickup_at=pickup, dropoff_at=requested - timedelta(minutes=10),
                                distance_m=distance_m or 8000, added_distance_m=distance_m or 8000,
                                added_time_s=1500, contribution_eur=round((distance_m or 8000) / 1000 * 0.32, 2),
                                allowance_eur=round((distance_m or 8000) / 1000 * 0.32, 2), created_by_id=aidant.id,
                                answered_at=created_at + timedelta(hours=2) if proposal_status == "accepted" else None,
                                answered_via="sms" if proposal_status == "accepted" else None))
        db.session.add(NeedEvent(need_id=need.id, at=created_at + timedelta(minutes=5), user_id=aidant.id,
                                 actor=aidant.name, from_status="searching", to_status="proposed",
                                 note=f"Trajet proposé à {driver.first_name} {driver.last_name[:1]}."))
        if proposal_status == "accepted":
            db.session.add(NeedEvent(need_id=need.id, at=created_at + timedelta(hours=2),
                                     actor=f"{driver.first_name} (SMS)", from_status="proposed",
                                     to_status="confirmed", note=f"{driver.first_name} a accepté par SMS."))
        if status == "done":
            db.session.add(NeedEvent(need_id=need.id, at=requested + timedelta(hours=3), user_id=aidant.id,
                                     actor=aidant.name, from_status="confirmed", to_status="done",
                                     note="Trajet effectué"))
    elif status in ("unserved", "cancelled"):
        db.session.add(NeedEvent(need_id=need.id, at=created_at + timedelta(days=1), user_id=aidant.id,
                                 actor=aidant.name, from_status="new", to_status=status,
                                 note=reason or "Annulé : rendez-vous reporté"))
