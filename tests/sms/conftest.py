"""Factories for the SMS tests: a structure, drivers, a rider and a need on the demo territory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.models import Beneficiary, Commune, Driver, Place, RideNeed, SmsMessage, Structure, utcnow

PARIS = ZoneInfo("Europe/Paris")
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
RIDER_PHONE = "+33611111111"
DRIVER_PHONES = ("+33622222221", "+33622222222", "+33622222223")


def commune(name: str) -> Commune:
    return db.session.execute(db.select(Commune).filter_by(name=name)).scalar_one()


def make_people(n_drivers: int = 2, *, consent_sms: bool = True) -> tuple[Structure, list[Driver], Beneficiary]:
    structure = Structure(name="France Services de Valbourg", kind="france_services", phone="+33565111111")
    village = commune("Montbrun-les-Pins")
    drivers = []
    for k in range(n_drivers):
        drivers.append(Driver(
            structure=structure, first_name=("Marc", "Julie", "Paul")[k], last_name="Volontaire",
            phone_e164=DRIVER_PHONES[k], home_commune_insee=village.insee, home_geom=village.geom,
            licence_valid_until=date.today() + timedelta(days=400),
            insurance_valid_until=date.today() + timedelta(days=400),
        ))
    home = commune("Les Granges")
    rider = Beneficiary(structure=structure, first_name="Roseline", last_name="Delmas", phone_e164=RIDER_PHONE,
                        home_commune_insee=home.insee, consent_sms_at=utcnow() if consent_sms else None)
    db.session.add_all([structure, *drivers, rider])
    db.session.commit()
    return structure, drivers, rider


_DEFAULT_NEEDS = {"count": 0}


def make_need(rider: Beneficiary, when: datetime | None = None) -> RideNeed:
    """A need for a ride from home to the hospital at 10:00 (local), in two days for the
    first one of a test and a day later for each next one: a driver's time is booked by a
    proposal, so two rides proposed to the same volunteer must not overlap."""
    if when is None:
        day = datetime.now(PARIS).date() + timedelta(days=2 + _DEFAULT_NEEDS["count"])
        _DEFAULT_NEEDS["count"] += 1
        when = datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)
    home = rider.home_commune
    hospital = db.session.execute(db.select(Place).filter_by(kind="hospital")).scalars().first()
    need = RideNeed(beneficiary=rider, structure=rider.structure, pickup_label="Domicile, Les Granges",
                    pickup_geom=home.geom, dropoff_label=hospital.name, dropoff_place_id=hospital.id,
                    dropoff_geom=hospital.geom, requested_at=when.astimezone(UTC), purpose="medical",
                    status="searching")
    db.session.add(need)
    db.session.commit()
    return need


def outbox(phone: str | None = None, kind: str | None = None) -> list[SmsMessage]:
    query = db.select(SmsMessage).where(SmsMessage.direction == "out").order_by(SmsMessage.id)
    if phone:
        query = query.where(SmsMessage.phone_e164 == phone)
    if kind:
        query = query.where(SmsMessage.kind == kind)
    db.session.expire_all()
    return list(db.session.execute(query).scalars())


def signed_post(client, path: str, params: dict[str, str], *, base: str = "http://localhost",
                token: str = AUTH_TOKEN, query: str = ""):  # type: ignore[no-untyped-def]
    """POST ``params`` to ``path`` with the signature Twilio would compute for ``base`` + path."""
    url = f"{base}{path}" + (f"?{query}" if query else "")
    signature = RequestValidator(token).compute_signature(url, params)
    target = path + (f"?{query}" if query else "")
    return client.post(target, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def twilio_token(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    return AUTH_TOKEN


@pytest.fixture
def daytime(app, monkeypatch):  # type: ignore[no-untyped-def]
    """No quiet hours, whatever the hour the tests run at."""
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "")



@pytest.fixture(autouse=True)
def _fresh_need_days():
    """Each test's first default need is in two days."""
    _DEFAULT_NEEDS["count"] = 0
    yield
