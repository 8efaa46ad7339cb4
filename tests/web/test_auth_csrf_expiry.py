"""An expired or missing CSRF token: the same form comes back with what was typed (never a
password), a new token and a French message; nothing is written; validating again works."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Beneficiary, RideNeed, User
from tests.web.conftest import paris_today

from .conftest import AIDANT, COORDINATOR, OwnContextClient, sibling_app

EXPIRED = "Votre session a expiré, vérifiez puis validez à nouveau."
TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def _page(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def _token(page: str) -> str:
    match = TOKEN.search(page)
    assert match is not None, "the page carries a CSRF token"
    return match.group(1)


@pytest.fixture
def csrf_client(app, demo):  # type: ignore[no-untyped-def]
    """A browser on the app with CSRF protection on, signed in as the Valbourg aidant."""
    client = OwnContextClient(sibling_app(app, WTF_CSRF_ENABLED=True))
    token = _token(_page(client.get("/connexion")))
    assert client.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1],
                                           "csrf_token": token}).status_code == 302
    return client


def _stale_token(app) -> str:  # type: ignore[no-untyped-def]
    """A token from another (older) session: what a form left open across sign-ins carries."""
    other = OwnContextClient(sibling_app(app, WTF_CSRF_ENABLED=True))
    return _token(_page(other.get("/connexion")))


@pytest.mark.parametrize("how", ["missing", "stale"])
def test_need_form_comes_back_with_what_was_typed(app, demo, csrf_client, how):
    person = demo.roseline
    before = db.session.execute(db.select(db.func.count()).select_from(RideNeed)).scalar_one()
    day = (paris_today() + timedelta(days=4)).isoformat()
    typed = {"pickup": "home", "dropoff": "commune:99001", "time_mode": "depart_after", "day": day,
             "at": "14:35", "return_choice": "120", "purpose": "medical", "passengers": "2",
             "needs_wheelchair": "y", "notes": "Sonner deux fois, porte bleue <b>au fond</b>"}
    if how == "stale":
        typed["csrf_token"] = _stale_token(app)
    url = f"/personnes/{person.id}/besoins/nouveau"
    response = csrf_client.post(url, data=typed)
    page = _page(response)
    assert response.status_code == 400
    assert page.count(EXPIRED) == 1
    assert "Sonner deux fois, porte bleue <b>au fond</b>" in page  # as typed (and escaped in the HTML)
    assert "&lt;b&gt;au fond&lt;/b&gt;" in response.get_data(as_text=True)
    assert f'value="{day}"' in page and 'value="14:35"' in page and 'value="2"' in page
    assert re.search(r'<option selected value="commune:99001">|<option value="commune:99001" selected', page)
    assert re.search(r'value="depart_after"[^>]*checked|checked[^>]*value="depart_after"', page)
    assert re.search(r'id="needs_wheelchair"[^>]*checked|checked[^>]*id="needs_wheelchair"', page)
    assert db.session.execute(db.select(db.func.count()).select_from(RideNeed)).scalar_one() == before

    again = csrf_client.post(url, data={**typed, "csrf_token": _token(page)})  # the new token works
    assert again.status_code == 302
    assert db.session.execute(db.select(db.func.count()).select_from(RideNeed)).scalar_one() == before + 1


def test_person_forms_come_back_with_what_was_typed(app, demo, csrf_client):
    typed = {"first_name": "Odette", "last_name": "Vidal-Périé", "phone": "05 65 12 34 56",
             "home_commune": "99003", "home_address": "3 chemin des Vignes", "consent_sms": "y",
             "notes": "Préfère être appelée le matin"}
    created = csrf_client.post("/personnes/nouvelle", data=typed)
    page = _page(created)
    assert created.status_code == 400 and EXPIRED in page
    for value in ("Odette", "Vidal-Périé", "05 65 12 34 56", "3 chemin des Vignes", "Préfère être appelée le matin"):
        assert value in page
    assert db.session.execute(db.select(Beneficiary).filter_by(last_name="Vidal-Périé")).scalar_one_or_none() is None
    assert csrf_client.post("/personnes/nouvelle", data={**typed, "csrf_token": _token(page)}).status_code == 302

    person = demo.roseline
    edit = {"first_name": "Roseline", "last_name": "Fabre-Delpech", "home_commune": person.home_commune_insee,
            "notes": "Nouvelle adresse à confirmer", "csrf_token": _stale_token(app)}
    edited = csrf_client.post(f"/personnes/{person.id}/modifier", data=edit)
    page = _page(edited)
    assert edited.status_code == 400 and EXPIRED in page
    assert "Fabre-Delpech" in page and "Nouvelle adresse à confirmer" in page  # typed, not stored
    db.session.expire_all()
    assert db.session.get(Beneficiary, person.id).last_name == "Fabre"


def test_sign_in_form_keeps_the_email_never_the_password(demo, app):
    client = OwnContextClient(sibling_app(app, WTF_CSRF_ENABLED=True))
    response = client.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1]})
    page = _page(response)
    assert response.status_code == 400 and EXPIRED in page
    assert f'value="{AIDANT[0]}"' in page and AIDANT[1] not in page
    assert client.get("/besoins").status_code == 302  # not signed in


def test_action_buttons_and_sign_out_write_nothing_and_lead_back(demo, app, csrf_client):
    need = db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.sebastien.id, status="proposed")).scalar_one()
    response = csrf_client.post(f"/besoins/{need.id}/retirer", data={"version": str(need.version)})
    page = _page(response)
    assert response.status_code == 400 and EXPIRED in page
    assert f'href="/besoins/{need.id}' in page  # a link back to the need
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "proposed"

    assert csrf_client.post("/deconnexion").status_code == 400
    assert csrf_client.get("/besoins").status_code == 200  # a forged sign-out does not sign out

    coordinator = OwnContextClient(sibling_app(app, WTF_CSRF_ENABLED=True))
    token = _token(_page(coordinator.get("/connexion")))
    coordinator.post("/connexion", data={"email": COORDINATOR[0], "password": COORDINATOR[1], "csrf_token": token})
    assert coordinator.post(f"/administration/comptes/{demo.aidant.id}/desactiver").status_code == 400
    assert coordinator.post(f"/administration/comptes/{demo.aidant.id}/lien-mot-de-passe").status_code == 400
    db.session.expire_all()
    aidant = db.session.get(User, demo.aidant.id)
    assert aidant.is_active_account and aidant.password_reset_token_hash is None


def test_nothing_can_be_committed_while_a_refused_request_is_replayed(sapp):
    """The safety net of the replay: a view that would act without validating its form cannot
    write (its commit raises, the answer is the French 500 page)."""
    from flask import g

    from app.models import AuditLog

    with sapp.test_request_context("/personnes/nouvelle", method="POST"):
        g.csrf_replay = True
        db.session.add(AuditLog(actor="replay", action="view", object_type="user"))
        with pytest.raises(RuntimeError, match="replay"):
            db.session.commit()
        db.session.rollback()
        g.csrf_replay = False
    assert db.session.execute(db.select(AuditLog).filter_by(actor="replay")).scalar_one_or_none() is None
