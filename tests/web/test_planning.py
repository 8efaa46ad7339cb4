"""Day planning for coordinators: the plan computed on the queue, stored, and proposed route by
route; the page never runs the solver."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import DayPlanRun, Proposal, RideNeed, RideRoute, SmsMessage
from tests.web.conftest import AIDANT, COORDINATOR, login, paris_today


def _plan(client, day: date) -> str:
    response = client.post("/planification/lancer", data={"jour": day.isoformat()})
    assert response.status_code == 302
    return client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)


def _route_index_of(html: str, first_name: str) -> int:
    """The index of the route whose stops name ``first_name``."""
    for match in re.finditer(r'data-route="(\d+)"(.*?)</section>', html, re.S):
        if "prise en charge de" in match.group(2) and first_name in match.group(2):
            return int(match.group(1))
    raise AssertionError(f"no route with {first_name}")


def test_coordinator_plans_a_day_and_proposes_a_route(client, demo):
    login(client, COORDINATOR)
    day = paris_today() + timedelta(days=3)  # Roseline's medical appointment (status new)
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "Aucun plan n'a encore été calculé" in html and "Planifier la journée" in html
    html = _plan(client, day)  # the queue runs in the test process (immediate mode)
    run = db.session.execute(db.select(DayPlanRun).order_by(DayPlanRun.id.desc())).scalars().first()
    assert run.status == "done" and run.result["routes"]
    drives = " ".join(html.split())
    assert "prise en charge de" in drives and "Roseline" in drives
    assert drives.index("prise en charge de <a") < drives.index("dépose de <a")
    index = _route_index_of(html, "Roseline")
    response = client.post("/planification/proposer",
                           data={"jour": day.isoformat(), "run_id": run.id, "route": str(index)})
    assert response.status_code == 302
    db.session.expire_all()
    proposal = db.session.execute(
        db.select(Proposal).join(RideNeed, RideNeed.id == Proposal.need_id)
        .where(RideNeed.beneficiary_id == demo.roseline.id, Proposal.route_id.is_not(None))).scalars().one()
    assert proposal.need.status == "proposed"
    route = db.session.get(RideRoute, proposal.route_id)
    assert route.status == "pending" and route.code == proposal.code and proposal.expires_at is not None
    sms = db.session.execute(db.select(SmsMessage).filter_by(kind="proposal", driver_id=route.driver_id)
                             .order_by(SmsMessage.id.desc())).scalars().first()
    assert f"OUI {route.code}" in sms.body and "Roseline" in sms.body and "prendre" in sms.body
    # The plan stays current after its own proposals, and says which route was proposed.
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "Proposée par SMS" in html and "plan-stale" not in html


def test_a_plan_goes_out_of_date_when_the_day_changes(client, demo):
    login(client, COORDINATOR)
    day = paris_today() + timedelta(days=3)
    _plan(client, day)
    run = db.session.execute(db.select(DayPlanRun).order_by(DayPlanRun.id.desc())).scalars().first()
    need = db.session.execute(
        db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id, status="new")).scalars().first()
    from app.services import rides

    rides.cancel_need(need, reason="rendez-vous reporté")
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "Ce plan n'est plus à jour" in html
    response = client.post("/planification/proposer", data={"jour": day.isoformat(), "run_id": run.id, "tout": "1"})
    assert response.status_code == 302
    assert not db.session.execute(db.select(RideRoute)).scalars().all()
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "relancez « Planifier la journée »" in html


def test_a_solver_failure_is_a_french_message(client, demo, monkeypatch):
    import app.services.matching as matching

    def broken(*args, **kwargs):
        raise RuntimeError("the day plan breaks a rule")

    monkeypatch.setattr(matching, "plan_day", broken)
    login(client, COORDINATOR)
    day = paris_today() + timedelta(days=3)
    html = _plan(client, day)
    assert "Le plan n'a pas pu être calculé" in html and "Relancez" in html
    assert db.session.execute(db.select(DayPlanRun)).scalars().one().status == "failed"


def test_planning_rejects_a_bad_date_and_is_for_coordinators(client, demo):
    login(client, COORDINATOR)
    page = client.get("/planification?jour=demain")
    assert page.status_code == 200
    assert "Date invalide" in page.get_data(as_text=True)
    client.post("/deconnexion")
    login(client, AIDANT)
    assert client.get("/planification").status_code in (403, 404)
    assert client.post("/planification/lancer", data={"jour": "2030-01-01"}).status_code in (403, 404)


@pytest.fixture
def queued_client(tmp_path, demo, app):
    """The same app with a real SQLite queue (not immediate): the page must not wait for it."""

    app.config["TASK_QUEUE_IMMEDIATE"] = False
    app.config["TASK_QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.db'}"
    app.extensions.pop("huey", None)
    yield app.test_client()
    app.extensions.pop("huey", None)
    app.config["TASK_QUEUE_IMMEDIATE"] = True


def test_the_page_shows_progress_while_the_queue_computes(queued_client, app, demo):
    from app.tasks import app_tasks, start_consumer_in_process

    client = queued_client
    login(client, COORDINATOR)
    day = paris_today() + timedelta(days=3)
    html = _plan(client, day)
    assert "Calcul du plan en cours" in html and 'http-equiv="refresh"' in html
    assert db.session.execute(db.select(DayPlanRun)).scalars().one().status == "queued"
    assert app_tasks(app).huey.pending_count() >= 1
    consumer = start_consumer_in_process(app, workers=1, periodic=False)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.execute(db.select(DayPlanRun)).scalars().one().status in ("done", "failed"):
                break
            time.sleep(0.2)
    finally:
        consumer.stop()
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "personne(s) servie(s)" in html and "Calcul du plan en cours" not in html
