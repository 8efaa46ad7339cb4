"""Day planning for coordinators: the exact assignment shown, and a proposal made from it."""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.extensions import db
from app.models import RideNeed
from tests.web.conftest import AIDANT, COORDINATOR, login


def test_coordinator_plans_a_day_and_proposes_from_the_plan(client, demo):
    login(client, COORDINATOR)
    day = date.today() + timedelta(days=3)  # Roseline's medical appointment (status new)
    page = client.get(f"/planification?jour={day.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Roseline" in html and "Proposer à" in html
    need = db.session.execute(
        db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id, status="new")
    ).scalar_one()
    driver_id = re.search(r'name="driver_id" type="hidden" value="(\d+)"', html).group(1)
    response = client.post(f"/besoins/{need.id}/proposer",
                           data={"version": need.version, "driver_id": driver_id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "proposed"
    # Once proposed, the need is left to its proposal: the plan no longer offers it.
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert f"/besoins/{need.id}/proposer" not in html


def test_planning_rejects_a_bad_date_and_is_for_coordinators(client, demo):
    login(client, COORDINATOR)
    page = client.get("/planification?jour=demain")
    assert page.status_code == 200
    assert "Date invalide" in page.get_data(as_text=True)
    client.post("/deconnexion")
    login(client, AIDANT)
    assert client.get("/planification").status_code in (403, 404)


def test_planning_page_shows_the_drives_with_their_stops(client, demo):
    login(client, COORDINATOR)
    day = date.today() + timedelta(days=3)
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "Tournées (" in html
    # Roseline is picked up, then dropped, in a drive of the plan.
    start = html.index("Tournées (")
    drives = " ".join(html[start:].split())
    assert "prise en charge de Roseline" in drives
    assert drives.index("prise en charge de Roseline") < drives.index("dépose de Roseline")
