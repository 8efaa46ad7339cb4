"""A pooled day in Chromium: the coordinator plans the day on the queue and proposes a shared
route, the volunteer accepts it by SMS in the simulator, one rider cancels by SMS and the
volunteer receives the updated route. Every status and every SMS is checked."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Beneficiary,
    Commune,
    Place,
    Proposal,
    RideNeed,
    RideRoute,
    SmsMessage,
    utcnow,
)
from tests.web.conftest import ADMIN, COORDINATOR, paris_today
from tests.web.test_browser import _check_accessibility, page  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.browser
PARIS = ZoneInfo("Europe/Paris")


def _two_neighbours(demo, day: date) -> tuple[RideNeed, RideNeed]:
    """Two riders of the same village going to the same place at the same time."""
    village = db.session.execute(select(Commune).filter_by(name="Montbrun-les-Pins")).scalar_one()
    target = db.session.execute(select(Place).filter_by(name="Maison de santé du Foirail")).scalar_one()
    when = datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)
    needs = []
    for first, phone in (("Odette", "+33677000001"), ("Lucien", "+33677000002")):
        rider = Beneficiary(structure_id=demo.valbourg.id, first_name=first, last_name="Voisin",
                            phone_e164=phone, home_commune_insee=village.insee, consent_sms_at=utcnow())
        db.session.add(rider)
        db.session.flush()
        needs.append(RideNeed(beneficiary_id=rider.id, structure_id=demo.valbourg.id,
                              pickup_label="Domicile, Montbrun-les-Pins", pickup_geom=village.geom,
                              dropoff_label=target.name, dropoff_place_id=target.id, dropoff_geom=target.geom,
                              requested_at=when, purpose="medical", status="new"))
    db.session.add_all(needs)
    db.session.commit()
    return needs[0], needs[1]


def _sms(phone: str, kind: str | None = None) -> list[SmsMessage]:
    db.session.expire_all()
    query = select(SmsMessage).where(SmsMessage.phone_e164 == phone, SmsMessage.direction == "out")
    if kind:
        query = query.where(SmsMessage.kind == kind)
    return list(db.session.execute(query.order_by(SmsMessage.id)).scalars())


def _sign_in(page, account: tuple[str, str]) -> None:  # noqa: F811
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(account[0])
    page.get_by_label("Mot de passe").fill(account[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")


def _simulate(page, phone: str, body: str) -> str:  # noqa: F811
    page.goto(f"/sms/simulateur?tel={phone.replace('+', '%2B')}")
    page.locator("#message").fill(body)
    page.get_by_role("button", name="Envoyer le SMS").click()
    page.wait_for_load_state()
    return page.locator("#fil").inner_text()


def test_a_pooled_route_planned_accepted_by_sms_and_updated_on_cancel(page, demo, app):  # noqa: F811
    app.config["SMS_QUIET_HOURS"] = ""  # whatever the hour the suite runs at
    day = paris_today() + timedelta(days=6)
    odette, lucien = _two_neighbours(demo, day)

    _sign_in(page, COORDINATOR)

    # The coordinator plans the day: the queue computes it, the page shows the stored plan.
    page.goto(f"/planification?jour={day.isoformat()}")
    assert "Aucun plan n'a encore été calculé" in page.content()
    page.get_by_role("button", name="Planifier la journée").click()
    page.wait_for_load_state()
    page.wait_for_selector("#plan-summary", timeout=60_000)
    _check_accessibility(page, "20-plan-du-jour")
    shared = page.locator("section.route", has_text="Odette").filter(has_text="Lucien")
    assert shared.count() == 1, page.locator("main").inner_text()[:2000]
    assert "2 personne(s)" in shared.inner_text()
    shared.locator("input[type=checkbox]").check()
    page.get_by_role("button", name="Proposer les tournées cochées").click()
    page.wait_for_load_state()
    assert "1 tournée(s) proposée(s)" in page.content()
    assert "proposée par sms" in shared.inner_text().lower()

    db.session.expire_all()
    route = db.session.execute(select(RideRoute)).scalar_one()
    assert route.status == "pending"
    assert {p.need_id for p in route.proposals} == {odette.id, lucien.id}
    assert all(p.status == "pending" for p in route.proposals)
    for need in (odette, lucien):
        db.session.refresh(need)
        assert need.status == "proposed"
    driver_phone = route.driver.phone_e164
    [proposal_sms] = _sms(driver_phone, "proposal")
    assert f"OUI {route.code}" in proposal_sms.body and "Odette V." in proposal_sms.body
    assert "Lucien V." in proposal_sms.body

    # The aidant's page of one rider shows the shared route, the other rider by first name.
    page.goto(f"/besoins/{odette.id}")
    stops = page.locator("#route-stops").inner_text()
    assert "Lucien" in stops and "Voisin" not in stops.replace("Odette Voisin", "")
    _check_accessibility(page, "21-besoin-tournee")

    # The volunteer accepts the whole route by SMS, played in the simulator (administrators).
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_load_state()
    _sign_in(page, ADMIN)
    thread = _simulate(page, driver_phone, f"OUI {route.code}")
    assert "tournée confirmée" in thread
    db.session.expire_all()
    assert db.session.get(RideRoute, route.id).status == "accepted"
    for need in (odette, lucien):
        assert db.session.get(RideNeed, need.id).status == "confirmed"
        [confirmation] = _sms(db.session.get(RideNeed, need.id).beneficiary.phone_e164, "confirmation")
        assert re.search(r"\d+h\d*", confirmation.body)

    # Lucien cancels by SMS: Odette keeps her ride, the volunteer gets the updated route.
    thread = _simulate(page, "+33677000002", f"ANNULER {lucien.id}")
    db.session.expire_all()
    assert db.session.get(RideNeed, lucien.id).status == "cancelled"
    assert db.session.get(RideNeed, odette.id).status == "confirmed"
    assert db.session.get(RideRoute, route.id).status == "accepted"
    lucien_proposal = db.session.execute(select(Proposal).filter_by(need_id=lucien.id)).scalar_one()
    assert lucien_proposal.status == "withdrawn"
    [update] = _sms(driver_phone, "route_update")
    assert "Lucien V. ne voyage plus" in update.body and "Odette V." in update.body
    assert [s["need"] for s in db.session.get(RideRoute, route.id).stops] == [odette.id, odette.id]
    page.goto(f"/sms/simulateur?tel={driver_phone.replace('+', '%2B')}")
    assert "ne voyage plus" in page.locator("#fil").inner_text()
    _check_accessibility(page, "22-simulateur-tournee")
