"""The SMS simulator (development provider): an administrator plays a driver or a rider.

Nobody else may use it: reading anyone's messages and answering in her name would let an aidant
accept rides for a volunteer or read another structure's riders' messages.
"""

from __future__ import annotations

import time

import pytest

from app.extensions import db
from app.models import Proposal, RideNeed
from app.services import rides
from app.services.accounts import create_user
from tests.sms.conftest import RIDER_PHONE, make_need, make_people
from tests.web.conftest import OwnContextClient


def _login(client, structure, role: str = "admin") -> None:  # type: ignore[no-untyped-def]
    email = f"sms-{role}-{structure.id}@demo.mobilite-lot.fr"
    create_user(email, "Amélie Aidante", "mot-de-passe-46", role, structure)
    db.session.commit()
    response = client.post("/connexion", data={"email": email, "password": "mot-de-passe-46"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]


def test_a_driver_receives_a_proposal_answers_oui_and_the_need_is_confirmed(app, client, daytime):
    structure, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    _login(client, structure)
    page = client.get("/sms/simulateur")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Marc Volontaire — bénévole" in html and "Roseline Delmas — personne aidée" in html
    thread = client.get("/sms/simulateur", query_string={"tel": marc.phone_e164}).get_data(as_text=True)
    assert f"Répondez OUI {proposal.code}" in thread
    response = client.post("/sms/simulateur", data={"tel": marc.phone_e164, "message": f"oui {proposal.code}"})
    assert response.status_code == 302
    thread = client.get("/sms/simulateur", query_string={"tel": marc.phone_e164}).get_data(as_text=True)
    assert "Merci Marc ! C&#39;est confirmé" in thread
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "confirmed"
    rider_thread = client.get("/sms/simulateur", query_string={"tel": RIDER_PHONE}).get_data(as_text=True)
    assert "trajet confirmé" in rider_thread and "Marc vous prend" in rider_thread
    # From the thread, the aidant's page of the need, which shows it confirmed.
    assert f'href="/besoins/{need.id}"' in rider_thread
    need_page = client.get(f"/besoins/{need.id}")
    assert need_page.status_code == 200
    assert "Confirmé" in need_page.get_data(as_text=True)


def test_an_unknown_number_can_be_played(app, client):
    structure, _drivers, _rider = make_people(1)
    _login(client, structure)
    client.post("/sms/simulateur", data={"tel": "+33999000001", "message": "Bonjour"})
    assert "France Services" in client.get("/sms/simulateur?tel=%2B33999000001").get_data(as_text=True)


def _simulator_rules(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(path, method) of every simulator endpoint of the URL map."""
    rules = [(rule.rule, method) for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("sms.simulator") for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert {method for _path, method in rules} == {"GET", "POST"}  # the page and the send form
    return rules


@pytest.mark.parametrize("role", ["aidant", "coordinator"])
def test_the_simulator_is_for_administrators_only(app, client, role):
    from app.models import Driver, SmsMessage

    structure, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    before = db.session.execute(db.select(db.func.count()).select_from(SmsMessage)).scalar_one()
    # Even in the structure of the driver and the rider, an aidant or a coordinator gets 404
    # on every simulator endpoint, with or without a phone number.
    _login(client, structure, role)
    for path, method in _simulator_rules(app):
        for tel in ("", marc.phone_e164, RIDER_PHONE, "+33999000001"):
            if method == "GET":
                response = client.get(path, query_string={"tel": tel} if tel else {})
            else:
                response = client.post(path, data={"tel": tel, "message": f"OUI {proposal.code}"})
            assert response.status_code == 404, (path, method, tel)
            html = response.get_data(as_text=True)
            assert "Marc Volontaire" not in html and proposal.code not in html
    # Nothing was sent in anybody's name: the proposal still waits, no message was recorded.
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).status == "pending"
    assert db.session.get(Driver, marc.id).sms_opt_out is False
    assert db.session.execute(db.select(db.func.count()).select_from(SmsMessage)).scalar_one() == before


def test_the_administrator_plays_any_structures_phones(app, client):
    from app.models import Structure

    _structure, _drivers, _rider = make_people(1)
    other = Structure(name="Autre structure", kind="association")
    db.session.add(other)
    db.session.commit()
    _login(client, other)  # an administrator attached to another structure still sees everyone
    html = client.get("/sms/simulateur").get_data(as_text=True)
    assert "Marc Volontaire — bénévole" in html and "Roseline Delmas — personne aidée" in html
    assert client.get("/sms/simulateur?tel=%2B33622222221").status_code == 200
    # A number that is neither a known person's nor a test number is refused.
    assert client.get("/sms/simulateur?tel=%2B33700000000").status_code == 404
    assert client.post("/sms/simulateur", data={"tel": "+33700000000", "message": "STOP"}).status_code == 404


def test_the_simulator_needs_a_signed_in_user(app, client):
    assert client.get("/sms/simulateur").status_code == 302
    assert client.post("/sms/simulateur", data={"tel": "+33999000001", "message": "x"}).status_code == 302


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_simulator_is_off_with_twilio(app, client, monkeypatch, method):
    structure, _drivers, _rider = make_people(1)
    _login(client, structure)
    monkeypatch.setitem(app.config, "SMS_PROVIDER", "twilio")
    response = getattr(client, method)("/sms/simulateur", data={"tel": "+33999000001", "message": "x"})
    assert response.status_code == 404


def _poll(client, path: str, query: dict[str, str] | None, needle: str, timeout_s: float = 30) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        html = client.get(path, query_string=query or {}).get_data(as_text=True)
        if needle in html:
            return html
        if time.monotonic() > deadline:
            pytest.fail(f"{needle!r} never appeared on {path} {query}")
        time.sleep(0.2)


def test_the_make_run_demo(app, client, daytime, monkeypatch, tmp_path):
    """As in `make run`: demo data, a real queue with its consumer in threads of the web process,
    the aidant proposes on the web, the driver answers OUI in the simulator, the need is confirmed."""
    from app.services.demo_data import DEMO_ACCOUNTS, seed_demo
    from app.services.matching import candidates_for_need
    from app.tasks import start_consumer_in_process

    seed_demo()
    monkeypatch.setitem(app.config, "TASK_QUEUE_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "TASK_QUEUE_URL", f"sqlite:///{tmp_path / 'tasks.db'}")
    monkeypatch.setitem(app.extensions, "huey", None)
    app.extensions.pop("huey")
    consumer = start_consumer_in_process(app, workers=2, periodic=False)
    assert consumer is not None
    try:
        _role, email, password, *_rest = next(a for a in DEMO_ACCOUNTS if a[1].startswith("aidant@"))
        assert client.post("/connexion", data={"email": email, "password": password}).status_code == 302
        # The phones are played by an administrator, in her own browser.
        admin = OwnContextClient(app)
        _role, email, password, *_rest = next(a for a in DEMO_ACCOUNTS if a[0] == "admin")
        assert admin.post("/connexion", data={"email": email, "password": password}).status_code == 302
        need = db.session.execute(db.select(RideNeed).where(RideNeed.status == "new")
                                  .order_by(RideNeed.requested_at)).scalars().first()
        assert need is not None
        candidate = candidates_for_need(need).candidates[0]
        driver = candidate.driver
        response = client.post(f"/besoins/{need.id}/proposer", data={"driver_id": driver.id, "version": need.version})
        assert response.status_code == 302
        proposal = db.session.execute(db.select(Proposal).where(Proposal.need_id == need.id)).scalar_one()
        # Queued by the request, delivered by a worker thread.
        thread = _poll(admin, "/sms/simulateur", {"tel": driver.phone_e164}, "· remis")
        assert f"Répondez OUI {proposal.code}" in thread
        admin.post("/sms/simulateur", data={"tel": driver.phone_e164, "message": f"Oui {proposal.code}"})
        _poll(client, f"/besoins/{need.id}", None, "Confirmé")
        rider_phone = need.beneficiary.phone_e164
        _poll(admin, "/sms/simulateur", {"tel": rider_phone}, f"{driver.first_name} vous prend")
    finally:
        consumer.stop(graceful=True)
