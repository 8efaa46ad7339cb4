"""In Chromium, CSRF on: a form sent with an expired token comes back filled in, with the French
message, and goes through when validated again; the password change page passes axe-core."""

from __future__ import annotations

import pytest

from tests.web.conftest import AIDANT
from tests.web.test_browser import _check_accessibility, page  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.browser


def _sign_in(page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(AIDANT[0])
    page.get_by_label("Mot de passe").fill(AIDANT[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")


def test_expired_token_gives_the_form_back_filled_in(page, demo):  # noqa: F811
    _sign_in(page)
    page.goto("/personnes/nouvelle")
    page.locator("#first_name").fill("Germaine")
    page.locator("#last_name").fill("Lacoste")
    page.locator("#home_commune").select_option(label="Montbrun-les-Pins")
    page.locator("#notes").fill("Appeler sa fille avant")
    page.locator("label[for=consent_sms]").click()
    # An hour at the counter: the token the page carries is no longer the session's.
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'périmé')")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state()
    assert "Votre session a expiré, vérifiez puis validez à nouveau." in page.get_by_role("alert").first.inner_text()
    assert page.locator("#first_name").input_value() == "Germaine"
    assert page.locator("#last_name").input_value() == "Lacoste"
    assert page.locator("#notes").input_value() == "Appeler sa fille avant"
    assert page.locator("#consent_sms").is_checked()
    assert page.locator("#home_commune option:checked").inner_text().startswith("Montbrun-les-Pins")
    _check_accessibility(page, "auth-01-formulaire-expire")
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url("**/personnes/*")
    assert "Germaine" in page.content() and "Votre session a expiré" not in page.content()


def test_password_change_page_is_accessible(page, demo):  # noqa: F811
    _sign_in(page)
    page.get_by_role("link", name="Mot de passe").click()
    page.wait_for_url("**/mot-de-passe")
    _check_accessibility(page, "auth-02-mot-de-passe")
    page.get_by_label("Mot de passe actuel").fill(AIDANT[1])
    page.get_by_label("Nouveau mot de passe", exact=False).first.fill("court")
    page.get_by_label("Confirmez le nouveau mot de passe").fill("court")
    page.get_by_role("button", name="Enregistrer le nouveau mot de passe").click()
    assert "trop court" in page.content()
    _check_accessibility(page, "auth-03-mot-de-passe-erreur")
