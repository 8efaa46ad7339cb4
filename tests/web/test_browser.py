"""The aidant's whole path in Chromium: sign in, register a person, post a need, see candidates,
propose the ride, record the driver's acceptance, see it confirmed. axe-core checks every page;
screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web.conftest import AIDANT, COORDINATOR, ROOT, SCREENSHOTS, paris_today

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _check_accessibility(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Run axe-core (served by the app itself) and fail on serious or critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}" for v in bad)


@pytest.fixture
def page(live_server):  # type: ignore[no-untyped-def]
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not (ROOT / "app" / "static" / "vendor" / "axe.min.js").exists():
        pytest.skip("front-end packages not installed: run `make front`")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server, locale="fr-FR", viewport={"width": 1280, "height": 900})
        # Loopback only: map tiles and anything else outside the app are refused.
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server)
                      else route.abort())
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_aidant_registers_a_person_and_gets_a_ride_confirmed(page, demo):
    # Sign in.
    page.goto("/connexion")
    _check_accessibility(page, "01-connexion")
    page.get_by_label("Adresse électronique").fill(AIDANT[0])
    page.get_by_label("Mot de passe").fill(AIDANT[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")
    assert "Amélie Aidante" in page.content()
    _check_accessibility(page, "02-accueil")

    # Register a beneficiary; a first try with a bad phone shows the error next to the field.
    page.goto("/personnes/nouvelle")
    page.locator("#first_name").fill("Germaine")
    page.locator("#last_name").fill("Lacoste")
    page.locator("#phone").fill("06 12")
    page.locator("#home_commune").select_option(label="Montbrun-les-Pins")
    page.locator("label[for=needs_accompaniment]").click()
    page.locator("label[for=consent_sms]").click()
    _check_accessibility(page, "03-inscription")
    page.get_by_role("button", name="Enregistrer").click()
    assert "Numéro de téléphone invalide" in page.locator("#phone-messages").inner_text()
    assert page.locator("#first_name").input_value() == "Germaine"
    _check_accessibility(page, "04-inscription-erreurs")
    page.locator("#phone").fill("06 12 34 56 78")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/personnes/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Germaine Lacoste"
    _check_accessibility(page, "05-fiche-personne")

    # Post a need for an appointment in town.
    page.get_by_role("link", name="Déposer un besoin de trajet").click()
    page.locator("#pickup").select_option("home")
    page.locator("#dropoff").select_option(label="Maison de santé du Foirail")
    page.locator("label[for=time_mode-0]").click()
    page.locator("#day").fill((paris_today() + timedelta(days=1)).isoformat())
    page.locator("#at").fill("10:00")
    page.locator("#return_choice").select_option("60")
    page.locator("#purpose").select_option("medical")
    _check_accessibility(page, "06-besoin")
    page.get_by_role("button", name="Enregistrer et chercher un conducteur").click()
    page.wait_for_url("**/besoins/*")

    # Candidates appear at once.
    candidates = page.locator("#candidats tbody tr")
    assert candidates.count() >= 1
    assert "Jeanne" in page.locator("#candidats").inner_text()
    _check_accessibility(page, "07-candidats")

    # Propose the ride to Jeanne, then record her acceptance given over the phone.
    page.get_by_role("button", name="Proposer à Jeanne").click()
    page.wait_for_load_state()
    assert "Proposé à un bénévole" in page.locator("#statut-besoin").text_content()
    _check_accessibility(page, "08-propose")
    page.get_by_role("button", name="Jeanne accepte").click()
    page.wait_for_load_state()
    assert page.locator("#statut-besoin").text_content().strip() == "Confirmé"
    assert "Conducteur confirmé : Jeanne Martin" in page.locator("#confirmation").inner_text()
    assert "a accepté par téléphone" in page.locator("#historique + ol").inner_text()
    _check_accessibility(page, "09-confirme")


def test_coordinator_pages_are_accessible(page, demo):
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(COORDINATOR[0])
    page.get_by_label("Mot de passe").fill(COORDINATOR[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")
    for name, url in (("10-tableau-de-bord", "/tableau-de-bord"), ("11-benevoles", "/benevoles"),
                      ("12-benevole", f"/benevoles/{demo.jeanne.id}"), ("13-benevole-modifier", f"/benevoles/{demo.jeanne.id}/modifier"),
                      ("14-trajet-benevole", f"/benevoles/{demo.jeanne.id}/trajets/nouveau"),
                      ("15-besoins", "/besoins"), ("16-personnes", "/personnes"), ("17-comptes", "/administration"),
                      ("18-planification", f"/planification?jour={(paris_today() + timedelta(days=3)).isoformat()}")):
        page.goto(url)
        _check_accessibility(page, name)
    # The dashboard map is drawn by Leaflet from the page's JSON (no inline script).
    page.goto("/tableau-de-bord")
    assert page.locator("#dashboard-map .leaflet-interactive").count() >= 1


def test_aidant_edits_a_need_and_cancels_a_volunteer_trip_without_javascript_tricks(page, demo):
    from app.extensions import db
    from app.models import Driver, DriverOffer, RideNeed

    need = db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id, status="new")).scalar_one()
    confirmed = db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.sebastien.id,
                                                                 status="confirmed")).scalar_one()
    pierre = db.session.execute(db.select(Driver).filter_by(first_name="Pierre")).scalar_one()
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(AIDANT[0])
    page.get_by_label("Mot de passe").fill(AIDANT[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")

    # "Modifier" opens the creation form, prefilled; the new time is saved and the search resumes.
    page.goto(f"/besoins/{need.id}")
    page.get_by_role("link", name="Modifier").click()
    page.wait_for_url(f"**/besoins/{need.id}/modifier")
    assert page.locator("#at").input_value() == "10:00"
    assert page.locator("#return_choice").input_value() == "120"
    _check_accessibility(page, "18-besoin-modifier")
    page.locator("#at").fill("11:15")
    page.get_by_role("button", name="Enregistrer les modifications").click()
    page.wait_for_url(f"**/besoins/{need.id}")
    assert "Besoin modifié : date et heure" in page.locator("#historique + ol").inner_text()
    assert page.locator("#statut-besoin").text_content().strip() == "Recherche en cours"

    # A confirmed ride is not edited: the page says to cancel it first.
    page.goto(f"/besoins/{confirmed.id}")
    assert "annulez d'abord le besoin" in page.locator("#modifier").inner_text()
    assert page.get_by_role("link", name="Modifier").count() == 0
    _check_accessibility(page, "19-besoin-confirme")

    # Cancel Pierre's regular trip from his page.
    page.goto(f"/benevoles/{pierre.id}")
    _check_accessibility(page, "20-benevole-trajets")
    page.get_by_role("button", name="Annuler ce trajet").click()
    page.wait_for_load_state()
    assert "est annulé" in page.content()
    assert page.get_by_role("button", name="Annuler ce trajet").count() == 0
    db.session.expire_all()
    assert db.session.execute(db.select(DriverOffer.status).filter_by(driver_id=pierre.id)).scalar_one() == "cancelled"
