"""The printable ride confirmation handed to a rider (plain French, large type, nothing more)."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Proposal, RideNeed, Structure, User
from tests.web.conftest import AIDANT, login


def _need(demo, status: str) -> RideNeed:  # type: ignore[no-untyped-def]
    return db.session.execute(db.select(RideNeed).filter_by(
        beneficiary_id=demo.sebastien.id, status=status)).scalars().first()


def test_confirmation_shows_what_the_rider_needs_and_nothing_else(client, app, demo):
    login(client, AIDANT)
    need = _need(demo, "confirmed")
    proposal = db.session.execute(db.select(Proposal).filter_by(need_id=need.id, status="accepted")).scalar_one()
    need_page = client.get(f"/besoins/{need.id}")
    assert f"/besoins/{need.id}/confirmation" in need_page.get_data(as_text=True)

    response = client.get(f"/besoins/{need.id}/confirmation")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Votre trajet solidaire" in html and "Bonjour Sébastien" in html
    assert proposal.driver.first_name in html
    assert need.dropoff_label in html and need.pickup_label.replace("(", "") in html.replace("(", "")
    assert proposal.code in html
    assert "05 65 00 00 00" in html  # the service's phone (SERVICE_PHONE)
    assert "print.css" in html
    # Nothing the rider does not need: no driver surname or phone, no other person, no notes.
    assert proposal.driver.last_name not in html
    assert "06 00 00 01 01" not in html and "+33600000101" not in html
    assert "Besoin de démonstration" not in html
    assert demo.sebastien.last_name not in html.split("<article", 1)[1]


def test_no_confirmation_before_a_driver_accepted(client, app, demo):
    login(client, AIDANT)
    for status in ("proposed", "new", "unserved", "cancelled"):
        need = db.session.execute(db.select(RideNeed).filter_by(status=status)).scalars().first()
        if need is not None:
            assert client.get(f"/besoins/{need.id}/confirmation").status_code == 404, status


def test_confirmation_is_refused_to_another_structure(client, app, demo):
    other = Structure(name="Association d'ailleurs", kind="association")
    db.session.add(other)
    db.session.flush()
    db.session.add(User(email="ailleurs@example.org", name="Alice Ailleurs", role="aidant",
                        structure_id=other.id, password_hash=generate_password_hash("un-mot-de-passe-long")))
    db.session.commit()
    login(client, ("ailleurs@example.org", "un-mot-de-passe-long"))
    need = _need(demo, "confirmed")
    assert client.get(f"/besoins/{need.id}/confirmation").status_code == 404


@pytest.mark.browser
def test_print_view_keeps_only_the_confirmation(page, app, demo):  # noqa: F811
    from tests.web.conftest import SCREENSHOTS
    from tests.web.test_browser import _check_accessibility

    need = _need(demo, "confirmed")
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(AIDANT[0])
    page.get_by_label("Mot de passe").fill(AIDANT[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")
    page.goto(f"/besoins/{need.id}/confirmation")
    _check_accessibility(page, "confirmation-ecran")
    assert page.get_by_role("button", name="Imprimer").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("header").is_visible()
    assert not page.get_by_role("button", name="Imprimer").is_visible()
    assert page.get_by_role("heading", name="Votre trajet solidaire").is_visible()
    size = page.locator(".lot-confirmation__facts dd").first.evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) >= 24  # 18 pt and more
    page.screenshot(path=str(SCREENSHOTS / "confirmation-impression.png"), full_page=True)


from tests.web.test_browser import page  # noqa: E402,F401  (fixture)
