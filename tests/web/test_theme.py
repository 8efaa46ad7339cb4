"""The operator's identity and the two themes.

The State design system (DSFR, its Marianne block) is reserved to State services: it is used only
when OPERATOR_IS_STATE is on. Every other operator gets the platform's own neutral theme, with the
same page structure, and both pass the accessibility check in Chromium.
"""

from __future__ import annotations

import base64
from contextlib import contextmanager

import pytest

from tests.web.conftest import COORDINATOR, login
from tests.web.test_browser import _check_accessibility, page  # noqa: F401  (fixture)

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@contextmanager
def configured(app, **values):  # type: ignore[no-untyped-def]
    previous = {key: app.config.get(key) for key in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(previous)


def test_default_operator_gets_the_neutral_theme_without_marianne(client, app):
    with configured(app, OPERATOR_IS_STATE=False, OPERATOR_NAME="Association Lot Solidaire",
                    OPERATOR_CONTACT="contact@lot-solidaire.example", SERVICE_PHONE="+33565112233"):
        html = client.get("/connexion").get_data(as_text=True)
    assert "theme-neutral.css" in html
    assert "dsfr.min.css" not in html and "dsfr.module.min.js" not in html
    assert "République" not in html and "fr-logo" not in html
    assert "Association Lot Solidaire" in html
    assert "05 65 11 22 33" in html and "contact@lot-solidaire.example" in html
    assert "<title>" in html and "Association Lot Solidaire</title>" in html


def test_state_operator_gets_the_dsfr_and_its_marianne_block(client, app):
    with configured(app, OPERATOR_IS_STATE=True, OPERATOR_NAME="Préfecture du Lot"):
        html = client.get("/connexion").get_data(as_text=True)
    assert "vendor/dsfr/dsfr.min.css" in html and "dsfr.module.min.js" in html
    assert "République<br>Française" in html
    assert "theme-neutral.css" not in html
    assert "Préfecture du Lot" in html


def test_operator_logo_is_served_and_shown(client, app, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    with configured(app, OPERATOR_LOGO=str(logo), OPERATOR_IS_STATE=False):
        html = client.get("/connexion").get_data(as_text=True)
        response = client.get("/operateur/logo")
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.data == PNG
    assert 'class="lot-brand-logo" src="/operateur/logo"' in html


def test_operator_logo_refuses_what_is_not_an_image(client, app, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not a logo")
    with configured(app, OPERATOR_LOGO=str(secret)):
        assert client.get("/operateur/logo").status_code == 404
        assert "lot-brand-logo" not in client.get("/connexion").get_data(as_text=True)
    with configured(app, OPERATOR_LOGO=""):
        assert client.get("/operateur/logo").status_code == 404


def test_operator_name_is_escaped(client, app):
    with configured(app, OPERATOR_NAME='<script>alert(1)</script>'):
        html = client.get("/connexion").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.browser
@pytest.mark.parametrize("is_state", [False, True], ids=["neutral", "state"])
def test_both_themes_pass_the_accessibility_check(page, app, demo, is_state):  # noqa: F811
    with configured(app, OPERATOR_IS_STATE=is_state):
        theme = "etat" if is_state else "neutre"
        page.goto("/connexion")
        _check_accessibility(page, f"theme-{theme}-01-connexion")
        page.get_by_label("Adresse électronique").fill(COORDINATOR[0])
        page.get_by_label("Mot de passe").fill(COORDINATOR[1])
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/")
        _check_accessibility(page, f"theme-{theme}-02-accueil")
        for path, name in [("/besoins", "03-besoins"), ("/personnes", "04-personnes"),
                           (f"/personnes/{demo.roseline.id}", "05-personne"),
                           ("/benevoles", "06-benevoles"), ("/tableau-de-bord", "07-tableau-de-bord")]:
            page.goto(path)
            _check_accessibility(page, f"theme-{theme}-{name}")
        stylesheet = "dsfr.min.css" if is_state else "theme-neutral.css"
        assert page.locator(f"link[href*='{stylesheet}']").count() == 1


def test_login_helper_still_works_on_neutral_theme(client, app, demo):
    login(client, COORDINATOR)
    assert "theme-neutral.css" in client.get("/").get_data(as_text=True)


def test_sms_simulator_is_in_the_menu_for_administrators_only(client, app, demo):
    from tests.web.conftest import ADMIN

    login(client, COORDINATOR)
    assert "/sms/simulateur" not in client.get("/").get_data(as_text=True)
    client.post("/deconnexion")
    login(client, ADMIN)
    assert "/sms/simulateur" in client.get("/").get_data(as_text=True)
    with configured(app, SMS_PROVIDER="twilio"):
        assert "/sms/simulateur" not in client.get("/").get_data(as_text=True)


def test_simulator_shows_local_times(client, app, demo):
    from datetime import UTC, datetime

    from app.models import SmsMessage
    from tests.web.conftest import ADMIN

    sent = datetime(2026, 7, 14, 8, 5, tzinfo=UTC)  # 10:05 in Paris (summer time)
    db_message = SmsMessage(direction="out", phone_e164=demo.jeanne.phone_e164, body="Bonjour", kind="other",
                            status="sent", created_at=sent, segments=1)
    from app.extensions import db

    db.session.add(db_message)
    db.session.commit()
    login(client, ADMIN)
    html = client.get(f"/sms/simulateur?tel={demo.jeanne.phone_e164.replace('+', '%2B')}").get_data(as_text=True)
    assert "14/07/2026 10:05" in html and "UTC" not in html
