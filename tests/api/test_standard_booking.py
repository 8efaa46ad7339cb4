"""The carpooling standard's booking API: partner keys, bookings that become proposals to the
volunteer by SMS, their status, cancellation, booking events and messages.

Every request we send and every answer we get is validated against the upstream OpenAPI
document of the standard (../shared/design/standard-covoiturage), not against our own.
"""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from sqlalchemy import select

import app.web.partners  # noqa: F401  (the admin and deep-link pages; registered before any app)
from app.extensions import db
from app.models import (
    Beneficiary,
    NeedEvent,
    PartnerBooking,
    PartnerMessage,
    PartnerOperator,
    Proposal,
    RideNeed,
    SmsMessage,
)
from app.services import partners
from app.services.accounts import create_user
from app.services.conversations import handle_inbound
from tests.api import seed
from tests.api.seed import DAY, MONTBRUN, VALBOURG_HOSPITAL, local
from tests.conftest import ROOT

BASE = "/api/covoiturage/v1"
UPSTREAM = (
    ROOT.parent / "shared" / "design" / "standard-covoiturage" / "standard-covoiturage_openapi.yaml"
)
ADMIN_PASSWORD = "une phrase assez longue pour le test"
_sid = itertools.count(910_000)


# --- The upstream schemas ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    """The standard's OpenAPI document (the reference for every body checked here)."""
    if not Path(UPSTREAM).exists():
        pytest.skip(f"upstream OpenAPI document absent: {UPSTREAM}")
    return yaml.safe_load(UPSTREAM.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _check(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Validate ``instance`` against an upstream schema (refs resolved in the document)."""
    validator = jsonschema_rs.Draft202012Validator(
        {**schema, "components": {"schemas": doc["components"]["schemas"]}},
        validate_formats=True,
    )
    errors = [e.message for e in validator.iter_errors(instance)]
    assert not errors, errors


def _schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body_schema(doc: dict[str, Any], path: str) -> dict[str, Any]:
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def test_the_checker_rejects_what_the_standard_rejects(upstream):
    """The validator used below can fail: a Booking without its status, or with a bad id."""
    good = {
        "id": str(uuid.uuid4()),
        "driver": {"id": "d", "operator": "a.fr", "alias": "A"},
        "passenger": {"id": "p", "operator": "b.fr", "alias": "B"},
        "status": "WAITING_CONFIRMATION",
        "price": {"type": "FREE"},
        "passengerPickupDate": 1,
        "passengerPickupLat": 44.0,
        "passengerPickupLng": 1.0,
        "passengerDropLat": 44.0,
        "passengerDropLng": 1.0,
    }
    _check(upstream, _schema("Booking"), good)
    for broken in (
        {k: v for k, v in good.items() if k != "status"},
        {**good, "id": "not-a-uuid"},
        {**good, "status": "BOOKED"},
    ):
        with pytest.raises(AssertionError):
            _check(upstream, _schema("Booking"), broken)


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def sms_ready(app, monkeypatch):  # type: ignore[no-untyped-def]
    """No quiet hours whatever the hour the tests run at (proposals go out at once)."""
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "")


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    user = create_user("admin-partenaires@example.fr", "Alice Admin", ADMIN_PASSWORD, "admin", None)
    db.session.commit()
    return user


@pytest.fixture
def partner(app, admin) -> tuple[PartnerOperator, str]:  # type: ignore[no-untyped-def]
    return partners.create_operator(
        "Appli Mobilité", "maas.example.fr", "tech@maas.example.fr", ["search", "booking"], admin
    )


@pytest.fixture
def jeanne(app):  # type: ignore[no-untyped-def]
    """A volunteer with a trip from Montbrun to Valbourg at 8:00 on DAY."""
    driver = seed.driver()
    seed.one_off(driver, local(DAY, "08:00"))
    db.session.commit()
    return driver


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _journey(client, upstream) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The first driver journey found for a rider near Montbrun going to the hospital at 8:10."""
    query = {
        "departureLat": MONTBRUN[0] + 0.002,
        "departureLng": MONTBRUN[1],
        "arrivalLat": VALBOURG_HOSPITAL[0],
        "arrivalLng": VALBOURG_HOSPITAL[1],
        "departureDate": int(local(DAY, "08:10").timestamp()),
    }
    items = client.get(f"{BASE}/driver_journeys", query_string=query).get_json()
    assert items, "the volunteer's trip should be found"
    _check(upstream, {"type": "array", "items": _schema("DriverJourney")}, items)
    return items[0]  # type: ignore[no-any-return]


def _booking_of(journey: dict[str, Any], domain: str, **extra: Any) -> dict[str, Any]:
    """The Booking a partner posts for its passenger (copied from the journey, as the standard says)."""
    body = {
        "id": str(uuid.uuid4()),
        "driver": journey["driver"],
        "passenger": {"id": "passager-42", "operator": domain, "alias": "Camille"},
        "status": "WAITING_CONFIRMATION",
        "price": journey["price"],
        "passengerPickupDate": journey["passengerPickupDate"],
        "passengerPickupLat": journey["passengerPickupLat"],
        "passengerPickupLng": journey["passengerPickupLng"],
        "passengerDropLat": journey["passengerDropLat"],
        "passengerDropLng": journey["passengerDropLng"],
        "driverJourneyId": journey["id"],
    }
    body.update(extra)
    return body


def _post_booking(client, upstream, key: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    _check(upstream, _schema("Booking"), body)
    return client.post(f"{BASE}/bookings", json=body, headers=_auth(key))


def _get_booking(client, upstream, key: str, booking_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get(f"{BASE}/bookings/{booking_id}", headers=_auth(key))
    assert r.status_code == 200, r.get_json()
    _check(upstream, _schema("Booking"), r.get_json())
    return r.get_json()  # type: ignore[no-any-return]


def _proposal(booking_id: str) -> Proposal:
    db.session.expire_all()
    booking = db.session.execute(
        select(PartnerBooking).where(PartnerBooking.booking_uuid == booking_id)
    ).scalar_one()
    return db.session.execute(
        select(Proposal).where(Proposal.need_id == booking.need_id)
    ).scalar_one()


def _texts(phone: str, kind: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(SmsMessage.body)
            .where(
                SmsMessage.direction == "out",
                SmsMessage.phone_e164 == phone,
                SmsMessage.kind == kind,
            )
            .order_by(SmsMessage.id)
        ).scalars()
    )


# --- The full path -------------------------------------------------------------------------------


def test_search_book_confirm_by_sms_then_cancel(client, app, upstream, partner, jeanne, sms_ready):
    operator, key = partner
    journey = _journey(client, upstream)
    body = _booking_of(journey, operator.domain)
    r = _post_booking(client, upstream, key, body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    _check(upstream, _schema("Booking"), created)
    assert created["id"] == body["id"] and created["status"] == "WAITING_CONFIRMATION"
    assert created["driverJourneyId"] == journey["id"]
    assert created["passenger"] == body["passenger"]
    assert created["driver"]["alias"] == "Bénévole"
    assert created["webUrl"].split("?")[0].endswith(f"/trajet/{journey['id']}")

    # The platform's own workflow: a need of a pseudonymous beneficiary, proposed by SMS.
    proposal = _proposal(body["id"])
    need = proposal.need
    assert need.status == "proposed" and proposal.driver_id == jeanne.id
    rider = db.session.get(Beneficiary, need.beneficiary_id)
    assert (rider.first_name, rider.last_name, rider.phone_e164, rider.home_address) == (
        "Camille",
        "",
        None,
        None,
    )
    assert rider.structure.name == partners.PARTNERS_STRUCTURE
    (offer_text,) = _texts(jeanne.phone_e164, "proposal")
    assert f"OUI {proposal.code}" in offer_text
    assert _get_booking(client, upstream, key, body["id"])["status"] == "WAITING_CONFIRMATION"

    # She says yes by SMS: the partner reads CONFIRMED.
    answer = handle_inbound(
        jeanne.phone_e164, f"OUI {proposal.code}", message_sid=f"SM{next(_sid)}"
    )
    assert answer.action != "error", answer.replies
    assert _get_booking(client, upstream, key, body["id"])["status"] == "CONFIRMED"

    # The partner cancels: the need is cancelled and the volunteer told by SMS.
    r = client.patch(
        f"{BASE}/bookings/{body['id']}",
        query_string={"status": "CANCELLED", "message": "Rendez-vous reporté"},
        headers=_auth(key),
    )
    assert r.status_code == 200, r.get_json()
    _check(upstream, _schema("Booking"), r.get_json())
    assert r.get_json()["status"] == "CANCELLED"
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "cancelled"
    (told,) = _texts(jeanne.phone_e164, "cancellation")
    assert "Camille" in told
    notes = (
        db.session.execute(select(NeedEvent.note).where(NeedEvent.need_id == need.id))
        .scalars()
        .all()
    )
    assert any("Appli Mobilité" in (n or "") and "Rendez-vous reporté" in (n or "") for n in notes)
    assert _get_booking(client, upstream, key, body["id"])["status"] == "CANCELLED"
    again = client.patch(
        f"{BASE}/bookings/{body['id']}", query_string={"status": "CANCELLED"}, headers=_auth(key)
    )
    assert again.status_code == 409 and again.get_json() == {"error": "status_already_set"}


def test_a_declined_proposal_is_a_cancelled_booking(client, upstream, partner, jeanne, sms_ready):
    operator, key = partner
    body = _booking_of(_journey(client, upstream), operator.domain)
    assert _post_booking(client, upstream, key, body).status_code == 201
    proposal = _proposal(body["id"])
    handle_inbound(jeanne.phone_e164, f"NON {proposal.code}", message_sid=f"SM{next(_sid)}")
    assert _get_booking(client, upstream, key, body["id"])["status"] == "CANCELLED"


def test_cancelling_before_the_answer_withdraws_the_proposal(
    client, upstream, partner, jeanne, sms_ready
):
    operator, key = partner
    body = _booking_of(_journey(client, upstream), operator.domain)
    assert _post_booking(client, upstream, key, body).status_code == 201
    r = client.patch(
        f"{BASE}/bookings/{body['id']}", query_string={"status": "CANCELLED"}, headers=_auth(key)
    )
    assert r.status_code == 200 and r.get_json()["status"] == "CANCELLED"
    assert _proposal(body["id"]).status == "withdrawn"
    assert len(_texts(jeanne.phone_e164, "withdrawn")) == 1  # she is told it is off


def test_a_partner_cannot_confirm_for_the_volunteer(client, upstream, partner, jeanne, sms_ready):
    operator, key = partner
    body = _booking_of(_journey(client, upstream), operator.domain)
    assert _post_booking(client, upstream, key, body).status_code == 201
    r = client.patch(
        f"{BASE}/bookings/{body['id']}", query_string={"status": "CONFIRMED"}, headers=_auth(key)
    )
    assert r.status_code == 400
    assert _get_booking(client, upstream, key, body["id"])["status"] == "WAITING_CONFIRMATION"


def test_booking_events_and_messages(client, upstream, partner, jeanne, sms_ready):
    operator, key = partner
    journey = _journey(client, upstream)
    body = _booking_of(journey, operator.domain)
    assert _post_booking(client, upstream, key, body).status_code == 201

    message = {
        "from": body["passenger"],
        "to": journey["driver"],
        "message": "Bonjour, je serai devant la mairie avec une valise.",
        "recipientCarpoolerType": "DRIVER",
        "bookingId": body["id"],
    }
    _check(upstream, _body_schema(upstream, "/messages"), message)
    r = client.post(f"{BASE}/messages", json=message, headers={"X-API-KEY": key})
    assert r.status_code == 201, r.get_json()
    (relayed,) = _texts(jeanne.phone_e164, "partner_message")
    assert "devant la mairie" in relayed and "Camille" in relayed
    stored = db.session.execute(select(PartnerMessage)).scalar_one()
    assert stored.driver_id == jeanne.id and stored.sms_id is not None

    # Without a booking, the journey id names the volunteer.
    by_journey = {k: v for k, v in message.items() if k != "bookingId"} | {
        "driverJourneyId": journey["id"]
    }
    _check(upstream, _body_schema(upstream, "/messages"), by_journey)
    assert client.post(f"{BASE}/messages", json=by_journey, headers=_auth(key)).status_code == 201
    unknown = {**by_journey, "driverJourneyId": "j-00t1796109000-0123456789abcdef0123"}
    assert client.post(f"{BASE}/messages", json=unknown, headers=_auth(key)).status_code == 404

    event = {
        "id": str(uuid.uuid4()),
        "idToken": "eyJ.partner.token",
        "data": {
            **{
                k: body[k]
                for k in (
                    "id",
                    "passengerPickupDate",
                    "passengerPickupLat",
                    "passengerPickupLng",
                    "passengerDropLat",
                    "passengerDropLng",
                    "passenger",
                )
            },
            "status": "CANCELLED",
            "webUrl": "https://maas.example.fr/reservations/1",
        },
    }
    _check(upstream, _schema("CarpoolBookingEvent"), event)
    r = client.post(f"{BASE}/booking_events", json=event, headers=_auth(key))
    assert r.status_code == 200, r.get_json()
    assert _get_booking(client, upstream, key, body["id"])["status"] == "CANCELLED"


# --- Authentication and refusals ------------------------------------------------------------------


def test_keys_scopes_and_revocation(client, upstream, admin, partner, jeanne, sms_ready):
    operator, key = partner
    body = _booking_of(_journey(client, upstream), operator.domain)
    path = f"{BASE}/bookings/{body['id']}"
    # Only the SHA-256 of the key is stored.
    db.session.expire_all()
    row = db.session.get(PartnerOperator, operator.id)
    assert row.key_hash == partners.hash_key(key) and key not in (row.key_hash, row.key_prefix)

    missing = client.post(f"{BASE}/bookings", json=body)
    assert missing.status_code == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    assert list(missing.get_json()) == ["error"]
    assert client.post(f"{BASE}/bookings", json=body, headers=_auth(key + "x")).status_code == 401
    assert client.get(path, headers={"Authorization": "Basic " + key}).status_code == 401

    _, search_only = partners.create_operator(
        "Cherche", "cherche.example.fr", "", ["search"], admin
    )
    assert client.post(f"{BASE}/bookings", json=body, headers=_auth(search_only)).status_code == 403
    assert client.get(path, headers={"X-API-KEY": search_only}).status_code == 403

    assert client.post(f"{BASE}/bookings", json=body, headers={"X-API-KEY": key}).status_code == 201
    # Another partner never sees this booking.
    _, other = partners.create_operator("Autre", "autre.example.fr", "", ["booking"], admin)
    assert client.get(path, headers=_auth(other)).status_code == 404
    # Search routes stay public.
    assert client.get(f"{BASE}/status").status_code == 200

    assert partners.revoke_operator(db.session.get(PartnerOperator, operator.id), admin)
    assert client.get(path, headers=_auth(key)).status_code == 401


@pytest.mark.parametrize(
    "change,status,word",
    [
        ({"status": "CONFIRMED"}, 400, "WAITING_CONFIRMATION"),
        ({"id": "42"}, 400, "UUID"),
        ({"passengerPickupLat": "north"}, 400, "passengerPickupLat"),
        ({"passenger": {"id": "p", "operator": "someone-else.fr", "alias": "X"}}, 400, "domain"),
        ({"driverJourneyId": "j-0123t1796109000-0123456789abcdef0123"}, 404, "missing_journey"),
    ],
)
def test_bad_bookings_are_refused(
    client, upstream, partner, jeanne, sms_ready, change, status, word
):
    operator, key = partner
    body = _booking_of(_journey(client, upstream), operator.domain, **change)
    r = client.post(f"{BASE}/bookings", json=body, headers=_auth(key))
    assert r.status_code == status and word in r.get_json()["error"]
    assert db.session.execute(select(RideNeed)).first() is None  # nothing left behind


def test_a_booking_id_is_used_once(client, upstream, partner, jeanne, sms_ready):
    operator, key = partner
    body = _booking_of(_journey(client, upstream), operator.domain)
    assert _post_booking(client, upstream, key, body).status_code == 201
    r = client.post(f"{BASE}/bookings", json=body, headers=_auth(key))
    assert r.status_code == 409
    assert len(db.session.execute(select(RideNeed)).all()) == 1


# --- The administration page ----------------------------------------------------------------------


def test_admin_creates_lists_and_revokes_a_partner(client, admin, jeanne, upstream, sms_ready):
    r = client.post("/connexion", data={"email": admin.email, "password": ADMIN_PASSWORD})
    assert r.status_code in (302, 303)
    page = client.post(
        "/administration/partenaires",
        data={
            "partner-name": "Covoit Quercy",
            "partner-domain": "covoit.example.fr",
            "partner-contact": "tech@covoit.example.fr",
            "partner-scopes": ["search", "booking"],
            "partner-structure": "",
        },
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    operator = db.session.execute(select(PartnerOperator)).scalar_one()
    key = html.split('<code class="lot-api-key">')[1].split("</code>")[0]
    assert partners.hash_key(key) == operator.key_hash  # the key shown is the one stored hashed
    listing = client.get("/administration/partenaires").get_data(as_text=True)
    assert "Covoit Quercy" in listing and operator.key_prefix in listing and key not in listing

    body = _booking_of(_journey(client, upstream), operator.domain)
    assert _post_booking(client, upstream, key, body).status_code == 201
    r = client.post("/administration/partenaires/revoquer", data={"partner_id": operator.id})
    assert r.status_code in (302, 303)
    assert client.get(f"{BASE}/bookings/{body['id']}", headers=_auth(key)).status_code == 401
    assert "Révoquée" in client.get("/administration/partenaires").get_data(as_text=True)


def test_the_partner_page_is_for_administrators_only(client, app):
    assert client.get("/administration/partenaires").status_code in (302, 404)


# --- Fuzzing with a valid key ------------------------------------------------------------------


def _fuzz(operation, generation, checks, key: str) -> set[int]:  # type: ignore[no-untyped-def]
    """Send a bounded number of generated requests, with the key, to one operation."""
    from hypothesis import HealthCheck, given, settings

    codes: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=generation))
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):  # type: ignore[no-untyped-def]
        codes.add(case.call_and_validate(checks=checks, headers=_auth(key)).status_code)

    check()
    return codes


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_booking_routes_answer_as_documented_under_fuzzing(app, partner, jeanne, sms_ready, mode):
    """Generated requests with a valid key (our OpenAPI document): documented answers only,
    never a server error; malformed ones refused with a 4xx."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    _, key = partner
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    seen = {
        operation.label: _fuzz(operation, generation, checks, key)
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.label.split(" ", 1)[1].startswith(
            (f"{BASE}/bookings", f"{BASE}/booking_events", f"{BASE}/messages")
        )
    }
    assert len(seen) == 5
    assert all(code < 500 and code not in (401, 403) for codes in seen.values() for code in codes)


def test_a_journey_whose_volunteer_is_taken_cannot_be_booked_twice(
    client, upstream, partner, jeanne, sms_ready
):
    """Her time is held by the first booking's proposal: a second passenger on the same journey
    is refused, and no second open need nor booking is left behind."""
    operator, key = partner
    journey = _journey(client, upstream)
    first = _booking_of(journey, operator.domain)
    assert _post_booking(client, upstream, key, first).status_code == 201
    second = _booking_of(
        journey,
        operator.domain,
        passenger={"id": "p-7", "operator": operator.domain, "alias": "Lou"},
    )
    r = _post_booking(client, upstream, key, second)
    assert r.status_code == 400 and "no longer available" in r.get_json()["error"]
    db.session.expire_all()
    assert [b.booking_uuid for b in db.session.execute(select(PartnerBooking)).scalars()] == [
        first["id"]
    ]
    open_needs = (
        db.session.execute(
            select(RideNeed).where(RideNeed.status.in_(("new", "searching", "proposed")))
        )
        .scalars()
        .all()
    )
    assert len(open_needs) == 1


# --- Request parsing and the document ------------------------------------------------------------


def test_malformed_bodies_are_a_400_in_the_standard_format(client, partner):
    """Bodies are parsed by the typed schemas: a 400 with the standard's body, never a 422;
    the key is checked first."""
    _, key = partner
    for data, kind in (
        ("not json", "text/plain"),
        ("{broken", "application/json"),
        ("[1, 2]", "application/json"),
    ):
        r = client.post(f"{BASE}/bookings", data=data, content_type=kind, headers=_auth(key))
        assert r.status_code == 400, (data, r.get_json())
        assert list(r.get_json()) == ["error"] and "JSON object" in r.get_json()["error"]
    r = client.post(f"{BASE}/bookings", json={"id": str(uuid.uuid4())}, headers=_auth(key))
    assert r.status_code == 400 and r.get_json()["error"].endswith("is required")
    r = client.post(f"{BASE}/booking_events", json={"id": "x"}, headers=_auth(key))
    assert r.status_code == 400 and r.get_json()["error"] == "'id' must be a UUID"
    r = client.patch(
        f"{BASE}/bookings/not-a-uuid", query_string={"status": "CANCELLED"}, headers=_auth(key)
    )
    assert r.status_code == 400 and "bookingId" in r.get_json()["error"]
    assert client.post(f"{BASE}/bookings", data="not json").status_code == 401


def test_the_document_declares_the_partner_key_on_the_booking_routes(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["partnerBearer"] == {
        **schemes["partnerBearer"],
        "type": "http",
        "scheme": "bearer",
    }
    assert (schemes["partnerApiKey"]["in"], schemes["partnerApiKey"]["name"]) == (
        "header",
        "X-API-KEY",
    )
    booking_ops = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            booking = path.startswith((f"{BASE}/booking", f"{BASE}/messages"))
            assert bool(op.get("security")) == booking, (method, path)
            if booking:
                booking_ops += 1
                assert {"partnerBearer", "partnerApiKey"} == {n for s in op["security"] for n in s}
                assert {"401", "403"} <= set(op["responses"])
    assert booking_ops == 5
