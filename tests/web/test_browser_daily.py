"""An aidant's daily work in Chromium: find a person typed three ways, create a weekly series,
log a phone call, print a rider's confirmation. axe-core checks every page; the print view's
screenshot is kept in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import CallNote, RideNeed, RideNeedSeries
from tests.web.conftest import AIDANT, SCREENSHOTS, paris_today
from tests.web.test_browser import _check_accessibility, page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def _next_monday() -> date:
    today = paris_today()
    return today + timedelta(days=7 - today.weekday())


def test_aidant_daily_work(page, demo):  # noqa: F811
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(AIDANT[0])
    page.get_by_label("Mot de passe").fill(AIDANT[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")

    # Sébastien Roux (+33 6 00 00 02 02), found however the caller spells him.
    for typed in ("sebastien", "06.00.00.02.02", "ROUX Seb"):
        page.goto("/personnes")
        page.get_by_label("Rechercher par nom, téléphone ou commune").fill(typed)
        page.get_by_label("Rechercher par nom, téléphone ou commune").press("Enter")
        page.wait_for_load_state()
        assert page.get_by_role("link", name="Roux Sébastien").count() == 1, typed
    _check_accessibility(page, "quotidien-01-recherche")

    # A weekly physiotherapy course for Roseline: Mondays and Thursdays for three weeks.
    page.goto(f"/personnes/{demo.roseline.id}/besoins/nouveau")
    page.get_by_role("link", name="Créer une série de trajets").click()
    page.wait_for_url("**/series/nouvelle")
    start = _next_monday()
    page.locator("#pickup").select_option("home")
    page.locator("#dropoff").select_option(label="Maison de santé du Foirail")
    page.locator("label[for=time_mode-0]").click()
    page.locator("#day").fill(start.isoformat())
    page.locator("#at").fill("08:30")
    page.locator("#purpose").select_option("medical")
    page.locator("label[for=weekdays-0]").click()
    page.locator("label[for=weekdays-3]").click()
    page.locator("#until").fill((start + timedelta(days=17)).isoformat())
    _check_accessibility(page, "quotidien-02-serie")
    page.get_by_role("button", name="Créer la série de trajets").click()
    page.wait_for_url("**/series/*")
    series = db.session.execute(db.select(RideNeedSeries)).scalar_one()
    occurrences = db.session.execute(db.select(RideNeed).filter_by(series_id=series.id)).scalars().all()
    assert len(occurrences) == 6
    _check_accessibility(page, "quotidien-03-serie-creee")

    # A call with Sébastien's volunteer, noted on his confirmed ride.
    confirmed = db.session.execute(db.select(RideNeed).filter_by(
        beneficiary_id=demo.sebastien.id, status="confirmed")).scalar_one()
    page.goto(f"/besoins/{confirmed.id}")
    page.locator("label[for=appel-avec-driver]").click()
    page.get_by_label("Ce qui a été dit").fill("Jeanne passera 10 minutes plus tôt, elle a prévenu.")
    page.get_by_role("button", name="Noter l'appel").click()
    page.wait_for_load_state()
    assert "Jeanne passera 10 minutes plus tôt" in page.locator("#appels").inner_text()
    assert db.session.execute(db.select(CallNote).filter_by(need_id=confirmed.id)).scalar_one().party == "driver"
    _check_accessibility(page, "quotidien-04-appel")

    # The paper for Sébastien, in large type, nothing else on it.
    page.get_by_role("link", name="Confirmation à imprimer pour Sébastien").click()
    page.wait_for_url("**/confirmation")
    _check_accessibility(page, "quotidien-05-confirmation")
    page.emulate_media(media="print")
    assert not page.locator("header").is_visible()
    assert page.get_by_role("heading", name="Votre trajet solidaire").is_visible()
    assert "Jeanne" in page.locator(".lot-confirmation").inner_text()
    assert "Martin" not in page.locator(".lot-confirmation").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "quotidien-06-confirmation-impression.png"), full_page=True)
