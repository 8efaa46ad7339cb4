"""Demo structures, accounts and a realistic week of rides, for `make run` on the demo territory.

Only on the demo territory: a real deployment must never get accounts whose passwords are
published in the README, nor a demo structure covering every commune (``seed_demo`` refuses).
Everything is created only if missing (idempotent): running the seed twice changes nothing.
A person's needs and a driver's trips are created with the person or the driver, so a need
an aidant cancelled or a trip she edited stays as she left it on the next run.

The week, dated from today in the platform's time zone, is what a newcomer should see:

* about 30 needs, mostly tomorrow and the day after (the planning page has content), medical
  and employment first, some with a return, some needing a wheelchair or a companion, and
  riders of a same village going to the same part of town at close times (pooling pays);
* 8 volunteers with valid documents and weekly availability in both structures (and Henri,
  whose insurance has expired, to show why someone is not offered);
* commuters' regular weekday trips (a nurse driving to the hospital every morning), which
  serve the working days of people without a car;
* needs already in every state (a confirmed one with its accepted proposal, rides done last
  week, an unserved one with its reason) so the dashboard has content.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple
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
EVERY_DAYTIME = [(d, s) for d in range(7) for s in ("morning", "afternoon")]

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


class WeekDriver(NamedTuple):
    """A volunteer (weekly availability) or a commuter (regular trips only) of the demo week."""

    first: str
    last: str
    phone: str
    commune: str
    structure: str
    seats: int
    max_km: int
    slots: list[tuple[int, str]]
    home: tuple[float, float]  # bearing (degrees), metres from the commune's centre
    note: str
    can_accompany: bool = True


class WeekPerson(NamedTuple):
    """A rider of the demo week; her home is a few hundred metres from her commune's centre."""

    first: str
    last: str
    phone: str
    commune: str
    structure: str
    home: tuple[float, float]  # bearing (degrees), metres
    accompaniment: bool = False
    wheelchair: bool = False
    benefits: bool = False


class WeekNeed(NamedTuple):
    """A need of the demo week: who, where to, which day from today, when, and its state."""

    person: str  # first name of a WeekPerson
    place: str
    days: int
    at: time
    purpose: str
    status: str = "new"
    return_wait_min: int | None = None
    return_at: time | None = None
    driver: str | None = None  # first name of the driver of a confirmed or done ride
    reason: str | None = None
    distance_m: int | None = None


class WeekTrip(NamedTuple):
    """A commuter's regular trip: from home to a place (or back), on weekdays at a time."""

    driver: str
    place: str
    weekdays: str
    at: str
    to_place: bool = True
    seats: int = 2


WEEK_DRIVERS = (
    WeekDriver("Colette", "Lacoste", "+33600000106", "Vielmur-sur-Lot", FS, 3, 30, EVERY_DAYTIME, (40, 150),
               "Bénévole de démonstration, disponible tous les jours en journée"),
    WeekDriver("Raymond", "Couderc", "+33600000107", "Montbrun-les-Pins", FS, 4, 30,
               [(d, s) for d in range(6) for s in ("morning", "afternoon")], (200, 250),
               "Bénévole de démonstration, retraité, du lundi au samedi"),
    WeekDriver("Gisèle", "Pélaprat", "+33600000108", "Castelnau-Rivière", FS, 3, 35,
               [(d, "afternoon") for d in range(5)] + [(5, "morning"), (6, "morning")], (300, 200),
               "Bénévole de démonstration, les après-midi en semaine"),
    WeekDriver("Gérard", "Cassagnes", "+33600000109", "Combelongue", CCAS, 3, 25, EVERY_DAYTIME, (120, 180),
               "Bénévole de démonstration du CCAS"),
    # Commuters: no availability grid, their own trips to work (see WEEK_TRIPS).
    WeekDriver("Hélène", "Salgues", "+33600000110", "Castelnau-Rivière", FS, 4, 30, [], (80, 220),
               "Infirmière au centre hospitalier : trajet domicile-travail chaque jour de semaine", False),
    WeekDriver("Fernand", "Calmels", "+33600000111", "Puech-Sainte-Foy", FS, 4, 30, [], (160, 150),
               "Agent de la mairie de Valbourg : trajet domicile-travail", False),
    WeekDriver("Josette", "Rouquié", "+33600000112", "Fontverte", FS, 3, 25, [], (250, 120),
               "Employée du supermarché, le matin : trajet domicile-travail", False),
)
WEEK_TRIPS = (
    WeekTrip("Hélène", "Centre hospitalier de Valbourg", "0,1,2,3,4", "07:30", seats=3),
    WeekTrip("Hélène", "Centre hospitalier de Valbourg", "0,1,2,3,4", "17:50", to_place=False, seats=3),
    WeekTrip("Fernand", "Mairie de Valbourg", "0,1,2,3,4", "07:50"),
    WeekTrip("Fernand", "Mairie de Valbourg", "0,1,2,3,4", "17:40", to_place=False),
    WeekTrip("Josette", "Supermarché de la Route de Toulouse", "0,1,3,4,5", "08:10"),
)
WEEK_PEOPLE = (
    WeekPerson("Odette", "Cayrou", "+33600000301", "Montbrun-les-Pins", FS, (0, 150)),
    WeekPerson("Germaine", "Bessières", "+33600000302", "Montbrun-les-Pins", FS, (120, 200)),
    WeekPerson("Kévin", "Marty", "+33600000303", "Les Granges", FS, (45, 150), benefits=True),
    WeekPerson("Yasmine", "Couderc", "+33600000304", "Les Granges", FS, (200, 180), benefits=True),
    WeekPerson("Lucienne", "Vayssière", "+33600000305", "Vielmur-sur-Lot", FS, (90, 120)),
    WeekPerson("Marcel", "Lagarrigue", "+33600000306", "Puech-Sainte-Foy", FS, (300, 150), wheelchair=True),
    WeekPerson("Paulette", "Gineste", "+33600000307", "Fontverte", FS, (10, 200), accompaniment=True),
    WeekPerson("Mehdi", "Bouscarel", "+33600000308", "Castelnau-Rivière", FS, (250, 150), benefits=True),
    WeekPerson("Simone", "Laborie", "+33600000309", "Roquefixe", FS, (30, 100)),
    WeekPerson("Yvette", "Fournié", "+33600000310", "Roquefixe", FS, (80, 180), accompaniment=True),
    WeekPerson("André", "Cambou", "+33600000311", "Combelongue", CCAS, (60, 200)),
    WeekPerson("Nathalie", "Térrieux", "+33600000312", "Combelongue", CCAS, (150, 150), benefits=True),
    WeekPerson("Émile", "Lavergne", "+33600000313", "Lacombe-Haute", FS, (0, 100)),
    WeekPerson("Raymonde", "Austruy", "+33600000314", "Lacombe-Haute", FS, (180, 150), accompaniment=True),
    WeekPerson("Julien", "Périé", "+33600000315", "Salvetat", FS, (90, 100), benefits=True),
    WeekPerson("Rose", "Lapeyre", "+33600000316", "Bellaygue", FS, (270, 120)),
)
HOSPITAL, HEALTH_CENTRE, PHYSIO = ("Centre hospitalier de Valbourg", "Maison de santé du Foirail",
                                   "Cabinet de kinésithérapie des Quais")
JOBS, STATION, TOWN_HALL = "Agence France Travail de Valbourg", "Gare routière de Valbourg", "Mairie de Valbourg"
# No open need three days ahead: that day shows Roseline's appointment alone (the planning tests).
WEEK_NEEDS = (
    # Tomorrow: riders of a same village at close times (Montbrun, Les Granges, Roquefixe).
    WeekNeed("Lucienne", HEALTH_CENTRE, 1, time(8, 45), "medical"),
    WeekNeed("Mehdi", STATION, 1, time(8, 30), "employment", "searching", return_at=time(17, 45)),
    WeekNeed("Kévin", JOBS, 1, time(9, 0), "employment", return_at=time(11, 30)),
    WeekNeed("Yasmine", JOBS, 1, time(9, 15), "employment"),
    WeekNeed("Odette", HOSPITAL, 1, time(9, 30), "medical", return_wait_min=90),
    WeekNeed("Germaine", HOSPITAL, 1, time(9, 45), "medical"),
    WeekNeed("Nathalie", JOBS, 1, time(10, 0), "employment", "confirmed", driver="Gérard"),
    WeekNeed("Marcel", HOSPITAL, 1, time(10, 30), "medical", return_wait_min=60),
    WeekNeed("Paulette", PHYSIO, 1, time(14, 0), "medical", return_wait_min=45),
    WeekNeed("Simone", HEALTH_CENTRE, 1, time(14, 30), "medical"),
    WeekNeed("Yvette", HEALTH_CENTRE, 1, time(14, 45), "medical"),
    WeekNeed("André", HOSPITAL, 1, time(15, 0), "medical", return_wait_min=60),
    # The day after.
    WeekNeed("Mehdi", STATION, 2, time(8, 30), "employment", return_at=time(17, 45)),
    WeekNeed("Julien", JOBS, 2, time(9, 30), "employment", return_at=time(12, 0)),
    WeekNeed("Émile", HOSPITAL, 2, time(10, 0), "medical", return_wait_min=60),
    WeekNeed("Raymonde", HOSPITAL, 2, time(10, 15), "medical"),
    WeekNeed("André", "Pharmacie du Pont", 2, time(10, 30), "medical"),
    WeekNeed("Odette", "Pharmacie du Pont", 2, time(11, 0), "medical"),
    WeekNeed("Rose", HEALTH_CENTRE, 2, time(14, 0), "medical"),
    WeekNeed("Kévin", TOWN_HALL, 2, time(14, 30), "employment"),
    WeekNeed("Germaine", PHYSIO, 2, time(15, 30), "medical", return_wait_min=45),
    # Later in the week.
    WeekNeed("Paulette", HOSPITAL, 4, time(9, 30), "medical", return_wait_min=120),
    WeekNeed("Yasmine", JOBS, 4, time(10, 0), "employment"),
    WeekNeed("Marcel", HOSPITAL, 5, time(14, 0), "medical"),
    WeekNeed("Simone", HEALTH_CENTRE, 6, time(9, 0), "medical"),
    # Last week, in the CCAS (the France Services figures stay those of the first sample).
    WeekNeed("André", HOSPITAL, -5, time(10, 0), "medical", "done", driver="Gérard", distance_m=7200),
    WeekNeed("Nathalie", JOBS, -4, time(8, 0), "employment", "unserved",
             reason="Aucun bénévole du CCAS disponible avant 9 h"),
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


def demo_today() -> date:
    """Today in the platform's time zone: the demo week is dated from it."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


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
        by_name = {c.name: c for c in communes}
        drivers = _seed_people(structures, by_name)
        _seed_week(structures, by_name, drivers)
    db.session.commit()
    return [(role, email, password) for role, email, password, _n, _s in DEMO_ACCOUNTS]


def _seed_people(structures: dict[str, Structure], communes: dict[str, Commune]) -> dict[str, Driver]:
    """The first sample: five volunteers, three people and their needs in every state."""
    today = demo_today()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
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
            person = _beneficiary(structures[structure], communes[commune], aidant, first, last, phone,
                                  accompaniment=accompany, wheelchair=wheelchair, benefits=benefits,
                                  sharing=sharing)
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
    return drivers


def _seed_week(structures: dict[str, Structure], communes: dict[str, Commune], drivers: dict[str, Driver]) -> None:
    """The realistic week: more volunteers, commuters and their trips, riders and their needs."""
    today = demo_today()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    aidants = {s: db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
               for s, email in ((FS, DEMO_ACCOUNTS[2][1]), (CCAS, DEMO_ACCOUNTS[3][1]))}
    places = {p.name: p for p in db.session.execute(db.select(Place)).scalars()}
    for spec in WEEK_DRIVERS:
        driver = db.session.execute(db.select(Driver).filter_by(phone_e164=spec.phone)).scalar_one_or_none()
        if driver is None and spec.commune in communes:
            driver = _week_driver(spec, structures[spec.structure], communes[spec.commune], aidants[FS], today)
            for trip in (t for t in WEEK_TRIPS if t.driver == spec.first):
                _regular_trip(driver, trip, places.get(trip.place))
        if driver is not None:
            drivers[spec.first] = driver
    people: dict[str, tuple[Beneficiary, bool]] = {}
    for p in WEEK_PEOPLE:
        person = db.session.execute(
            db.select(Beneficiary).filter_by(phone_e164=p.phone)).scalar_one_or_none()
        created = person is None and p.commune in communes
        if created:
            person = _beneficiary(structures[p.structure], communes[p.commune], aidants[p.structure], p.first,
                                  p.last, p.phone, accompaniment=p.accompaniment, wheelchair=p.wheelchair,
                                  benefits=p.benefits, sharing=True, home_offset=p.home)
        if person is not None:
            people[p.first] = (person, created)
    for n in WEEK_NEEDS:
        person, created = people.get(n.person, (None, False))
        if person is None or not created:  # a person's needs come with her, once
            continue
        _need(person, _aidant_of(person, aidants, structures),
              places.get(n.place), today + timedelta(days=n.days), n.at, tz, n.purpose, n.status,
              driver=drivers.get(n.driver) if n.driver else None, return_wait=n.return_wait_min,
              return_at=n.return_at, reason=n.reason, distance_m=n.distance_m)


def _aidant_of(person: Beneficiary, aidants: dict[str, User], structures: dict[str, Structure]) -> User:
    """The demo aidant of the person's structure (who records her needs)."""
    return aidants[CCAS] if person.structure_id == structures[CCAS].id else aidants[FS]


def _near(centre: tuple[float, float], bearing_deg: float, metres: float) -> tuple[float, float]:
    """A point ``metres`` from ``centre`` towards ``bearing_deg`` (a home in the village)."""
    b = math.radians(bearing_deg)
    lat = centre[0] + metres * math.cos(b) / 111_195
    lon = centre[1] + metres * math.sin(b) / (111_195 * math.cos(math.radians(centre[0])))
    return round(lat, 6), round(lon, 6)


def _beneficiary(structure: Structure, home: Commune, aidant: User, first: str, last: str, phone: str, *,
                 accompaniment: bool, wheelchair: bool, benefits: bool, sharing: bool,
                 home_offset: tuple[float, float] | None = None) -> Beneficiary:
    """A person with her consents recorded by the demo aidant (at her commune's centre unless placed)."""
    geom = None
    if home_offset is not None and home.lat_lon is not None:
        geom = point(*_near(home.lat_lon, *home_offset))
    person = Beneficiary(
        structure=structure, first_name=first, last_name=last, phone_e164=phone,
        home_commune_insee=home.insee, home_geom=geom, needs_accompaniment=accompaniment,
        needs_wheelchair=wheelchair, receives_social_benefits=benefits,
        eligibility_basis="rural_commune" if home.is_rural_for_tus else ("social_benefits" if benefits else "not_eligible"),
        consent_sms_at=utcnow(), consent_sharing_at=utcnow() if sharing else None,
        consent_recorded_by_id=aidant.id, created_by_id=aidant.id)
    db.session.add(person)
    db.session.flush()
    return person


def _week_driver(spec: WeekDriver, structure: Structure, home: Commune, aidant: User, today: date) -> Driver:
    """A volunteer or commuter of the week, documents checked and valid for a year."""
    geom = point(*_near(home.lat_lon, *spec.home)) if home.lat_lon is not None else None
    driver = Driver(
        structure=structure, first_name=spec.first, last_name=spec.last, phone_e164=spec.phone,
        home_commune_insee=home.insee, home_geom=geom, vehicle_seats=spec.seats,
        max_distance_km=spec.max_km, can_accompany=spec.can_accompany,
        licence_valid_until=today + timedelta(days=2000), insurance_valid_until=today + timedelta(days=365),
        documents_checked_at=utcnow(), documents_checked_by_id=aidant.id,
        publish_consent_at=utcnow(), publish_consent_by_id=aidant.id, notes=spec.note,
        availability=[DriverAvailability(weekday=d, slot=s) for d, s in spec.slots])
    db.session.add(driver)
    db.session.flush()
    return driver


def _regular_trip(driver: Driver, trip: WeekTrip, place: Place | None) -> None:
    """A commuter's regular trip between home and her workplace."""
    home = driver.home_lat_lon
    if place is None or place.lat_lon is None or home is None:
        return
    ends = [("Domicile", point(*home)), (place.name, point(*place.lat_lon))]
    (origin_label, origin), (destination_label, destination) = ends if trip.to_place else ends[::-1]
    db.session.add(DriverOffer(driver=driver, kind="regular", origin_label=origin_label, origin_geom=origin,
                               destination_label=destination_label, destination_geom=destination,
                               weekdays=trip.weekdays, time_of_day=trip.at, flexibility_min=10, seats=trip.seats,
                               max_detour_min=15, valid_from=utcnow() - timedelta(days=1), status="active"))


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
          return_at: time | None = None, reason: str | None = None, distance_m: int | None = None) -> None:
    """A sample need with its history, written directly (no SMS is sent by the seed)."""
    home = person.home_lat_lon
    if place is None or home is None or place.lat_lon is None:
        return
    requested = datetime.combine(day, at, tz)
    return_mode = "after_wait" if return_wait else ("at_time" if return_at else "none")
    need = RideNeed(
        beneficiary=person, structure_id=person.structure_id, created_by_id=aidant.id,
        pickup_label=f"Domicile ({person.home_commune.name if person.home_commune else ''})",
        pickup_geom=point(*home), dropoff_label=place.name, dropoff_place_id=place.id,
        dropoff_geom=point(*place.lat_lon), time_mode="arrive_by", requested_at=requested,
        return_mode=return_mode, return_wait_min=return_wait,
        return_at=datetime.combine(day, return_at, tz) if return_at else None,
        purpose=purpose, passengers=1, needs_accompaniment=person.needs_accompaniment,
        needs_wheelchair=person.needs_wheelchair, status=status, unserved_reason=reason,
        notes="Besoin de démonstration")
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
    elif status == "searching":
        db.session.add(NeedEvent(need_id=need.id, at=created_at + timedelta(minutes=10), user_id=aidant.id,
                                 actor=aidant.name, from_status="new", to_status="searching",
                                 note="Recherche d'un conducteur en cours"))
    elif status in ("unserved", "cancelled"):
        db.session.add(NeedEvent(need_id=need.id, at=created_at + timedelta(days=1), user_id=aidant.id,
                                 actor=aidant.name, from_status="new", to_status=status,
                                 note=reason or "Annulé : rendez-vous reporté"))
