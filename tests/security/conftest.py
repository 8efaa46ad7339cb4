"""The attacker's playground: two structures with a full set of records each, on both back-ends.

The suite plays an attacker against the platform. Its application is a sibling of the session's
``app_both`` (same database and territory, no rebuild) with CSRF protection ON, as in production,
so every POST carries the token a real browser would have. Each module seeds its world once
(``world``) and empties the tables when it is done.

Structure A covers every current commune but B's own one; structure B covers its own commune and
one commune both cover (the *overlap*). Each side has, in this order of visibility to the other
side under the documented rule (``app/services/access.py``):

- people: one living in its own commune (consent to sharing: not visible to the other side, it
  does not cover the commune), one in the overlap without consent (not visible) and one in the
  overlap with consent (visible: shared);
- ride needs of the first person in every status, and one need of each of the two others;
- proposals in every useful state, volunteer drivers at home in their own commune (not visible)
  and in the overlap (visible), their trips (one-off, regular, cancelled) and absences;
- a recurring series for the first and the last person, call notes on a need and a volunteer;
- an aidant and a coordinator; SMS to and from its people (linked to them).
An administrator (no structure) completes the accounts. ``World.visible_under_rule`` writes the
rule down independently of the code under test; the sweeps skip exactly what it shares.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from werkzeug.routing import AnyConverter, IntegerConverter, Rule
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    Beneficiary,
    CallNote,
    Commune,
    Driver,
    DriverAbsence,
    DriverAvailability,
    DriverOffer,
    NeedEvent,
    Place,
    Proposal,
    RideNeed,
    SmsMessage,
    Structure,
    User,
    lat_lon,
    utcnow,
)
from app.models.rides import NEED_STATUSES
from app.services.accounts import create_user
from app.services.rides import Endpoint, NeedData
from app.services.series import Schedule, create_series
from tests.app_fixtures import TERRITORY_TABLES, _empty_tables
from tests.web.conftest import sibling_app

PASSWORD = "attaque-mot-de-passe-46"
PARIS = ZoneInfo("Europe/Paris")
OWN_COMMUNE = {"A": "Valbourg", "B": "Combelongue"}
OVERLAP_COMMUNE = "Salvetat"
ID_KINDS = ("beneficiary", "need", "proposal", "driver", "offer", "user", "series", "absence")


@dataclass(frozen=True)
class Record:
    """One seeded row, with what the documented access rule needs to know about it."""

    kind: str
    id: int
    structure: str  # "A" or "B"
    home_insee: str | None = None  # people and drivers
    consent_sharing: bool = False  # people
    owner_person: int | None = None  # needs: their beneficiary
    owner_need: int | None = None  # proposals: their need
    owner_driver: int | None = None  # offers and absences: their driver
    version: int | None = None  # needs: the optimistic-locking version
    label: str = ""


@dataclass
class World:
    """Both structures' records and the application the attacker talks to."""

    base: Flask  # the session's app (seeding, table dumps)
    site: Flask  # the attacked app: same database, CSRF on
    covered: dict[str, frozenset[str]]  # INSEE codes covered by each structure
    structure_ids: dict[str, int]
    accounts: dict[tuple[str, str], str]  # (side, role) -> e-mail
    records: list[Record] = field(default_factory=list)

    def of(self, side: str, kind: str) -> list[Record]:
        return [r for r in self.records if r.structure == side and r.kind == kind]

    def get(self, kind: str, record_id: int) -> Record:
        return next(r for r in self.records if r.kind == kind and r.id == record_id)

    def label(self, side: str, kind: str, label: str) -> Record:
        return next(r for r in self.of(side, kind) if r.label == label)

    def visible_under_rule(self, viewer: str, record: Record) -> bool:
        """What the documented rule (app/services/access.py, module docstring) lets ``viewer`` see.

        Written here from the rule's text, independently of the code under test: people and
        needs of the viewer's structure, and those of people living in a covered commune who
        consented to sharing; volunteers of the structure and those living in a covered commune.
        Proposals follow their need, trips their volunteer; accounts are never shared.
        """
        if record.structure == viewer:
            return True
        covered = self.covered[viewer]
        if record.kind == "beneficiary":
            return record.consent_sharing and record.home_insee in covered
        if record.kind in ("need", "series"):
            return self.visible_under_rule(viewer, self.get("beneficiary", record.owner_person))
        if record.kind == "proposal":
            return self.visible_under_rule(viewer, self.get("need", record.owner_need))
        if record.kind == "driver":
            return record.home_insee in covered
        if record.kind in ("offer", "absence"):
            return self.visible_under_rule(viewer, self.get("driver", record.owner_driver))
        return False


# --------------------------------------------------------------------------------------------
# Seeding


def _commune(name: str) -> Commune:
    return db.session.execute(db.select(Commune).filter_by(name=name)).scalar_one()


def _moment(days: int, at: time) -> datetime:
    return datetime.combine(date.today() + timedelta(days=days), at, PARIS).astimezone(UTC)


def seed_side(side: str, structure: Structure, *, text: dict[str, str] | None = None,
              phone_prefix: str) -> list[Record]:
    """A full set of records for ``structure`` (see the module docstring); ``text`` overrides the
    free-text values (the XSS tests put their payloads there)."""
    t = {"first": f"Prénom{side}", "last": f"Nom{side}", "address": f"1 rue {side}", "notes": f"Notes {side}",
         "need_notes": f"Besoin {side}", "reason": f"Raison {side}", "event": f"Étape {side}",
         "driver_first": f"Bénévole{side}", "driver_last": f"Conducteur{side}", "place_label": "",
         "sms": f"Message {side}", **(text or {})}
    own, overlap = _commune(OWN_COMMUNE[side]), _commune(OVERLAP_COMMUNE)
    hospital = db.session.execute(db.select(Place).filter_by(kind="hospital")).scalars().first()
    aidant = create_user(f"aidant.{side.lower()}@attaque.test", f"Aidant {side}", PASSWORD, "aidant", structure)
    coordinator = create_user(f"coordination.{side.lower()}@attaque.test", t.get("user_name", f"Coordination {side}"),
                              PASSWORD, "coordinator", structure)
    db.session.flush()
    records = [Record("user", aidant.id, side, label="aidant"), Record("user", coordinator.id, side, label="coordinator")]

    people: dict[str, Beneficiary] = {}
    for n, (label, home, consent) in enumerate((("private", own, True), ("no_consent", overlap, False),
                                                 ("shared", overlap, True))):
        people[label] = Beneficiary(
            structure=structure, first_name=t["first"], last_name=f"{t['last']} {label}",
            phone_e164=f"{phone_prefix}1{n}", home_commune_insee=home.insee, home_address=t["address"],
            home_geom=home.geom, notes=t["notes"], consent_sms_at=utcnow(),
            consent_sharing_at=utcnow() if consent else None, created_by_id=aidant.id)
    drivers: dict[str, Driver] = {}
    for n, (label, home) in enumerate((("private", own), ("shared", overlap))):
        drivers[label] = Driver(
            structure=structure, first_name=t["driver_first"], last_name=f"{t['driver_last']} {label}",
            phone_e164=f"{phone_prefix}2{n}", home_commune_insee=home.insee, home_address=t["address"],
            home_geom=home.geom, notes=t["notes"], vehicle_seats=3, max_distance_km=60,
            licence_valid_until=date.today() + timedelta(days=400),
            insurance_valid_until=date.today() + timedelta(days=400),
            availability=[DriverAvailability(weekday=d, slot=s) for d in range(7)
                          for s in ("morning", "afternoon", "evening")])
    db.session.add_all([*people.values(), *drivers.values()])
    db.session.flush()
    for label, person in people.items():
        records.append(Record("beneficiary", person.id, side, home_insee=person.home_commune_insee,
                              consent_sharing=person.consent_sharing_at is not None, label=label))
    for label, driver in drivers.items():
        records.append(Record("driver", driver.id, side, home_insee=driver.home_commune_insee, label=label))

    for label, driver in drivers.items():
        home = driver.home_commune
        for kind, status in (("one_off", "active"), ("regular", "active"), ("one_off", "cancelled")):
            departure = _moment(2, time(9, 0))
            offer = DriverOffer(
                driver=driver, kind=kind, origin_label=t["place_label"] or home.name, origin_geom=home.geom,
                destination_label=hospital.name, destination_geom=hospital.geom,
                departure_earliest=departure if kind == "one_off" else None,
                departure_latest=departure + timedelta(minutes=30) if kind == "one_off" else None,
                weekdays="0,1,2,3,4" if kind == "regular" else None,
                time_of_day="08:00" if kind == "regular" else None, seats=2, status=status)
            db.session.add(offer)
            db.session.flush()
            records.append(Record("offer", offer.id, side, owner_driver=driver.id, label=f"{label}-{kind}-{status}"))

    def need(person: Beneficiary, status: str, days: int) -> RideNeed:
        ride = RideNeed(
            beneficiary=person, structure_id=structure.id, created_by_id=aidant.id,
            pickup_label=f"Domicile ({t['address']})", pickup_geom=person.home_geom,
            dropoff_label=t["place_label"] or hospital.name, dropoff_place_id=hospital.id,
            dropoff_geom=hospital.geom, requested_at=_moment(days, time(10, 0)), purpose="medical",
            status=status, notes=t["need_notes"],
            unserved_reason=t["reason"] if status == "unserved" else None)
        db.session.add(ride)
        db.session.flush()
        db.session.add(NeedEvent(need_id=ride.id, user_id=aidant.id, actor=aidant.name, to_status=status,
                                 note=t["event"]))
        return ride

    private_driver = drivers["private"]
    for status in NEED_STATUSES:
        ride = need(people["private"], status, -5 if status == "done" else 3)
        proposal_states = {"searching": ["declined"], "proposed": ["pending"], "confirmed": ["accepted"],
                           "done": ["accepted"], "cancelled": ["withdrawn"]}.get(status, [])
        for state in proposal_states:
            proposal = Proposal(
                need_id=ride.id, driver_id=private_driver.id, code=f"{side}{ride.id % 1000:03d}"[-6:],
                status=state, pickup_at=ride.requested_at - timedelta(minutes=40),
                dropoff_at=ride.requested_at - timedelta(minutes=10), distance_m=12_000, added_distance_m=9_000,
                added_time_s=900, contribution_eur=3.84, allowance_eur=3.84, created_by_id=aidant.id,
                answered_at=utcnow() if state in ("accepted", "declined") else None)
            db.session.add(proposal)
            db.session.flush()
            records.append(Record("proposal", proposal.id, side, owner_need=ride.id, label=f"{status}-{state}"))
        records.append(Record("need", ride.id, side, owner_person=people["private"].id, version=ride.version,
                              label=f"private-{status}"))
    for label in ("no_consent", "shared"):
        ride = need(people[label], "searching", 4)
        records.append(Record("need", ride.id, side, owner_person=people[label].id, version=ride.version,
                              label=f"{label}-searching"))

    for label, driver in drivers.items():
        absence = DriverAbsence(driver_id=driver.id, first_day=date.today() + timedelta(days=20),
                                last_day=date.today() + timedelta(days=27), reason=t["reason"])
        db.session.add(absence)
        db.session.flush()
        records.append(Record("absence", absence.id, side, owner_driver=driver.id, label=label))
    for label in ("private", "shared"):
        person = people[label]
        day = date.today() + timedelta(days=9)
        data = NeedData(beneficiary=person, pickup=Endpoint(f"Domicile ({t['address']})", *lat_lon(person.home_geom)),
                        dropoff=Endpoint(hospital.name, *hospital.lat_lon, hospital.id), time_mode="arrive_by",
                        requested_at=datetime.combine(day, time(10, 0), PARIS), purpose="medical",
                        notes=t["need_notes"])
        series = create_series(data, Schedule(weekdays=(day.weekday(),), interval_weeks=1, start=day, until=day,
                                              local_time=time(10, 0)), aidant)
        records.append(Record("series", series.id, side, owner_person=person.id, label=label))
    searching = next(r for r in records if r.kind == "need" and r.label == "private-searching")
    db.session.add_all([
        CallNote(need_id=searching.id, party="rider", body=t["notes"], author_id=aidant.id, author_name=aidant.name),
        CallNote(driver_id=drivers["private"].id, party="driver", body=t["notes"], author_id=aidant.id,
                 author_name=aidant.name),
    ])
    for person in (*people.values(), *drivers.values()):
        owner = {"driver_id" if isinstance(person, Driver) else "beneficiary_id": person.id}
        db.session.add_all([
            SmsMessage(direction="in", phone_e164=person.phone_e164, body=t["sms"], status="processed", **owner),
            SmsMessage(direction="out", phone_e164=person.phone_e164, body=t["sms"], status="delivered", **owner),
        ])
    db.session.commit()
    return records


def seed_world(base: Flask, text: dict[str, dict[str, str]] | None = None) -> World:
    """Structures A and B with their records (committed), on ``base``'s database."""
    with base.app_context():
        communes = db.session.execute(
            db.select(Commune).where(Commune.merged_into_insee.is_(None))).scalars().all()
        b_only = {OWN_COMMUNE["B"], OVERLAP_COMMUNE}
        covered_a = [c for c in communes if c.name != OWN_COMMUNE["B"]]
        covered_b = [c for c in communes if c.name in b_only]
        structures = {
            "A": Structure(name=(text or {}).get("A", {}).get("structure", "France Services A"),
                           kind="france_services", communes=covered_a),
            "B": Structure(name="CCAS B", kind="ccas", communes=covered_b),
        }
        db.session.add_all(structures.values())
        db.session.flush()
        admin = create_user("admin@attaque.test", "Administration", PASSWORD, "admin", None)
        db.session.flush()
        records = [Record("user", admin.id, "admin", label="admin")]
        for side, prefix in (("A", "+336110000"), ("B", "+336220000")):
            records += seed_side(side, structures[side], text=(text or {}).get(side), phone_prefix=prefix)
        # A cheap hash for the seeded accounts: the suite signs in a few hundred times and the
        # cost of scrypt is not what it tests (the accounts service still checks the password).
        for user in db.session.execute(db.select(User)).scalars():
            user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.commit()
        world = World(
            base=base, site=base,
            covered={"A": frozenset(c.insee for c in covered_a), "B": frozenset(c.insee for c in covered_b)},
            structure_ids={side: s.id for side, s in structures.items()},
            accounts={("A", "aidant"): "aidant.a@attaque.test", ("A", "coordinator"): "coordination.a@attaque.test",
                      ("B", "aidant"): "aidant.b@attaque.test", ("B", "coordinator"): "coordination.b@attaque.test",
                      ("admin", "admin"): "admin@attaque.test"},
            records=records)
        db.session.remove()
    return world


def attacked_app(base: Flask, **overrides: Any) -> Flask:
    """The application the attacker talks to: the session's database, CSRF protection on."""
    return sibling_app(base, WTF_CSRF_ENABLED=True, **overrides)


def dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def world(app_both: Flask) -> Iterator[World]:
    """Structures A and B, seeded once for the module, on each back-end."""
    _empty_tables(app_both)
    built = seed_world(app_both)
    built.site = attacked_app(app_both)
    try:
        yield built
    finally:
        dispose(built.site)
        _empty_tables(app_both)


# --------------------------------------------------------------------------------------------
# The URL map, read as an attacker reads it

# What each route argument designates. An <int:> argument must be here; so must every other
# argument, in NOT_AN_ID, so that a new one is looked at by someone.
ARGUMENT_KINDS = {
    "beneficiary_id": "beneficiary",
    "need_id": "need",
    "proposal_id": "proposal",
    "driver_id": "driver",
    "offer_id": "offer",
    "user_id": "user",
    "account_id": "user",
    "series_id": "series",
    "absence_id": "absence",
    # The audit trail of a person: what the id designates depends on the <any()> before it.
    "person_id": {"kind": {"personnes": "beneficiary", "benevoles": "driver"}},
}
NOT_AN_ID = {
    "filename": "static files",
    "token": "a password-reset link: a secret, not an identifier (see tests/web)",
    "bookingId": "a partner's booking UUID: a partner reads only its own (tests/api/test_standard_booking.py)",
    "journey_id": "the MAC'd id of a published journey, for the public /trajet page",
}  # <any(...)> arguments need no entry: every value is tried.


def kind_of(name: str, values: dict[str, object]) -> str:
    """The kind of record the route argument ``name`` designates, given the other arguments."""
    kind = ARGUMENT_KINDS[name]
    if isinstance(kind, str):
        return kind
    [(selector, table)] = kind.items()
    return table[str(values[selector])]


def any_assignments(rule: Rule) -> list[dict[str, object]]:
    """Every combination of the values of the rule's <any()> arguments ([{}] when it has none)."""
    options = {name: sorted(conv.items) for name, conv in rule._converters.items() if isinstance(conv, AnyConverter)}
    return [dict(zip(options, values, strict=True)) for values in itertools.product(*options.values())]


def id_rules(app) -> list[tuple[Rule, list[str]]]:  # type: ignore[no-untyped-def]
    """Rules of the URL map with at least one integer argument, and those arguments."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if ints:
            out.append((rule, ints))
    return out


def own_label(kind: str) -> str:
    """The label of the record of ``kind`` that stands for a side's own, ordinary record."""
    return {"beneficiary": "private", "need": "private-searching", "proposal": "proposed-pending",
            "driver": "private", "offer": "private-one_off-active", "user": "aidant", "series": "private",
            "absence": "private"}[kind]


def own_url(world: World, rule: Rule, fixed: dict[str, object]) -> str:
    """The URL of ``rule`` built with structure A's own ordinary records (and ``fixed`` <any()> values)."""
    values: dict[str, object] = dict(fixed)
    for name, conv in rule._converters.items():
        if isinstance(conv, IntegerConverter):
            kind = kind_of(name, fixed) if name in ARGUMENT_KINDS else "need"
            values[name] = world.label("A", kind, own_label(kind)).id
        elif not isinstance(conv, AnyConverter):
            values[name] = "valeur-inconnue"
    method = "GET" if "GET" in rule.methods else "POST"
    return world.site.url_map.bind("localhost").build(rule.endpoint, values, method=method)


# --------------------------------------------------------------------------------------------
# The attacker's browser and the state of the database


_TOKEN = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_VALUE = re.compile(r'value="([^"]+)"')


def csrf_token_in(html: str) -> str | None:
    """The CSRF token of the first form of a page, or None."""
    tag = _TOKEN.search(html)
    value = _VALUE.search(tag.group(0)) if tag else None
    return value.group(1) if value else None


class Browser:
    """One person's browser on the attacked app: cookies, the session's CSRF token.

    No application context is held between requests, so each request has its own, as in
    production (two signed-in browsers never share Flask-Login's cache).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.token: str | None = None

    def sign_in(self, email: str, password: str = PASSWORD, *, next_url: str | None = None,
                raw_query: str | None = None, refresh: bool = True, **kwargs: Any):  # type: ignore[no-untyped-def]
        """Post the sign-in form with the token the page gave; return the response.

        ``next_url`` is sent URL-encoded (the app reads it verbatim); ``raw_query`` is put in the
        URL as it is (the app reads it URL-decoded).
        """
        page = self.client.get("/connexion", **kwargs).get_data(as_text=True)
        token = csrf_token_in(page)
        assert token, "the sign-in page carries no CSRF token"
        url = "/connexion" + (f"?{raw_query}" if raw_query is not None else "")
        response = self.client.post(url, data={"email": email, "password": password, "csrf_token": token},
                                    query_string={"next": next_url} if next_url is not None else None, **kwargs)
        if response.status_code == 302 and refresh:
            self.refresh_token()
        return response

    def refresh_token(self) -> str:
        """The session's current CSRF token, read from a page as a browser would."""
        page = self.client.get("/", follow_redirects=True).get_data(as_text=True)
        token = csrf_token_in(page)
        assert token, "no CSRF token on the signed-in home page"
        self.token = token
        return token

    def get(self, url: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, *, with_token: bool = True,
             **kwargs: Any):  # type: ignore[no-untyped-def]
        payload = dict(data or {})
        if with_token and self.token:
            payload.setdefault("csrf_token", self.token)
        return self.client.post(url, data=payload, **kwargs)


def signed_in(world: World, side: str, role: str) -> Browser:
    browser = Browser(world.site)
    response = browser.sign_in(world.accounts[(side, role)])
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def attack_form(world: World, values: dict[str, object]) -> dict[str, str]:
    """A form that every POST route would accept if it let the attacker through."""
    with world.base.app_context():
        insee = db.session.execute(db.select(Commune.insee).where(Commune.name == "Valbourg")).scalar_one()
        other = db.session.execute(db.select(Commune.insee).where(Commune.name == "Montbrun-les-Pins")).scalar_one()
        version = 1
        if "need_id" in values:
            version = db.session.get(RideNeed, values["need_id"]).version
        elif "proposal_id" in values:
            version = db.session.get(Proposal, values["proposal_id"]).need.version
        db.session.remove()
    return {
        "version": str(version), "driver_id": str(world.label("A", "driver", "private").id), "answer": "accept",
        "reason": "Tentative d'accès", "first_name": "Pirate", "last_name": "Pirate", "home_commune": insee,
        "phone": "06 99 88 77 66", "pickup": "home", "dropoff": f"commune:{other}", "time_mode": "arrive_by",
        "day": (date.today() + timedelta(days=3)).isoformat(), "at": "10:00", "return_choice": "none",
        "purpose": "other", "passengers": "1", "vehicle_seats": "3", "max_distance_km": "20",
        "max_rides_per_day": "2", "kind": "one_off", "origin": f"commune:{insee}",
        "destination": f"commune:{other}", "seats": "1", "max_detour_min": "15", "notes": "Pirate",
    }


def table_dump(app: Flask) -> dict[str, list[str]]:
    """Every row of every non-territory table, read raw (no ORM cache), sorted."""

    def plain(value: Any) -> Any:
        return value.hex() if isinstance(value, bytes | memoryview) and not isinstance(value, str) else value

    out: dict[str, list[str]] = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in TERRITORY_TABLES:
                continue
            rows = conn.exec_driver_sql(f'SELECT * FROM "{table.name}"').all()
            out[table.name] = sorted(repr(tuple(plain(bytes(v) if isinstance(v, memoryview) else v) for v in row))
                                     for row in rows)
    return out


def dump_difference(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """Rows removed and added, per table (empty when nothing changed)."""
    diff = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            diff[name] = {"removed": sorted(old - new)[:5], "added": sorted(new - old)[:5]}
    return diff
