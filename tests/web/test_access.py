"""Who sees what: an aidant never reads nor changes another structure's people, URLs included."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditLog, Beneficiary, RideNeed
from tests.web.conftest import ADMIN, AIDANT, CCAS, COORDINATOR, login


def _need_of(person: Beneficiary) -> RideNeed:
    return db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=person.id)).scalars().first()


def test_pages_need_sign_in(client, demo):
    for url in ("/personnes", f"/personnes/{demo.roseline.id}", "/besoins", "/benevoles", "/tableau-de-bord"):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"], url


def test_aidant_cannot_read_another_structures_person_by_url(client, demo):
    login(client, AIDANT)
    sarah, need = demo.sarah, _need_of(demo.sarah)
    listing = client.get("/personnes").get_data(as_text=True)
    assert "Roseline" in listing and "Garcia" not in listing
    assert "Garcia" not in client.get("/besoins?statut=tous").get_data(as_text=True)
    for url in (f"/personnes/{sarah.id}", f"/personnes/{sarah.id}/modifier", f"/personnes/{sarah.id}/export.json",
                f"/personnes/{sarah.id}/effacer", f"/personnes/{sarah.id}/besoins/nouveau", f"/besoins/{need.id}",
                f"/besoins/{need.id}/modifier", "/besoins/999999/modifier", "/personnes/999999"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Garcia" not in response.get_data(as_text=True)


def test_aidant_cannot_change_another_structures_person(client, demo):
    login(client, AIDANT)
    sarah, need = demo.sarah, _need_of(demo.sarah)
    version, status = need.version, need.status
    attempts = [
        (f"/personnes/{sarah.id}/modifier", {"first_name": "Pirate", "last_name": "X", "home_commune": "99001"}),
        (f"/personnes/{sarah.id}/effacer", {}),
        (f"/personnes/{sarah.id}/besoins/nouveau", {"pickup": "commune:99001", "dropoff": "commune:99002"}),
        (f"/besoins/{need.id}/annuler", {"version": str(version)}),
        (f"/besoins/{need.id}/sans-solution", {"version": str(version), "reason": "x"}),
        (f"/besoins/{need.id}/proposer", {"version": str(version), "driver_id": str(demo.jeanne.id)}),
        (f"/besoins/{need.id}/retirer", {"version": str(version)}),
        (f"/besoins/{need.id}/modifier", {"version": str(version), "pickup": "commune:99001",
                                          "dropoff": "commune:99002", "time_mode": "arrive_by", "day": "2099-01-01",
                                          "at": "10:00", "return_choice": "none", "purpose": "other",
                                          "passengers": "1"}),
    ]
    for proposal in need.proposals:
        attempts.append((f"/propositions/{proposal.id}/reponse", {"answer": "accept"}))
    for url, data in attempts:
        assert client.post(url, data=data).status_code == 404, url
    db.session.expire_all()
    assert db.session.get(Beneficiary, sarah.id).first_name == "Sarah"
    assert db.session.get(RideNeed, need.id).status == status
    assert db.session.get(RideNeed, need.id).version == version


def test_the_ccas_sees_its_own_people_and_partners_who_consented(client, demo):
    login(client, CCAS)
    assert client.get(f"/personnes/{demo.sarah.id}").status_code == 200
    # Roseline lives in a commune the CCAS does not cover: hidden despite her consent.
    assert client.get(f"/personnes/{demo.roseline.id}").status_code == 404


def test_sharing_consent_opens_the_record_to_the_structure_covering_the_commune(client, demo):
    # Sarah (CCAS) moves to Le Mas-Vieux, covered by both structures; sharing needs her consent.
    sarah = demo.sarah
    sarah.home_commune_insee = "99050"
    db.session.commit()
    login(client, AIDANT)
    assert client.get(f"/personnes/{sarah.id}").status_code == 404
    sarah.consent_sharing_at = db.func.now()
    db.session.commit()
    assert client.get(f"/personnes/{sarah.id}").status_code == 200
    # Seeing is not owning: only her own structure may erase her record.
    assert client.get(f"/personnes/{sarah.id}/effacer").status_code == 404


def test_every_access_to_a_record_is_audited(client, demo):
    login(client, AIDANT)
    person = demo.roseline
    client.get(f"/personnes/{person.id}")
    client.get(f"/personnes/{person.id}/export.json")
    client.get(f"/besoins/{_need_of(person).id}")
    actions = db.session.execute(
        db.select(AuditLog.action, AuditLog.object_type).where(AuditLog.user_id == demo.aidant.id)
    ).all()
    assert ("view", "beneficiary") in actions
    assert ("export", "beneficiary") in actions
    assert ("view", "ride_need") in actions


@pytest.mark.parametrize("account,status", [(AIDANT, 404), (COORDINATOR, 200), (ADMIN, 200)])
def test_dashboard_is_for_coordinators(client, demo, account, status):
    login(client, account)
    assert client.get("/tableau-de-bord").status_code == status
    assert client.get("/administration").status_code == status


def test_admin_sees_every_structure(client, demo):
    login(client, ADMIN)
    listing = client.get("/personnes").get_data(as_text=True)
    assert "Roseline" in listing and "Garcia" in listing


def test_a_partner_structure_follows_the_same_history(client, demo):
    from app.services import rides

    sarah = demo.sarah
    sarah.home_commune_insee = "99050"  # Le Mas-Vieux: covered by both structures
    sarah.consent_sharing_at = db.func.now()
    db.session.commit()
    need = _need_of(sarah)
    rides.record_event(need, by_user=demo.ccas_aidant, note="Appel à la famille")
    db.session.commit()
    login(client, AIDANT)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Bruno du CCAS" in page and "Appel à la famille" in page


def test_admin_creates_a_structure_and_a_coordinator_creates_an_aidant(client, demo):
    from app.models import Structure, User

    login(client, ADMIN)
    response = client.post("/administration/structures/nouvelle",
                           data={"name": "Mairie de Salvetat", "kind": "mairie", "communes": ["99012"]})
    assert response.status_code == 302
    structure = db.session.execute(db.select(Structure).filter_by(name="Mairie de Salvetat")).scalar_one()
    assert [c.insee for c in structure.communes] == ["99012"]
    client.post("/deconnexion")
    login(client, COORDINATOR)
    # A coordinator creates accounts in her own structure only, and no administrator.
    base = {"user-name": "Nina", "user-email": "nina@example.fr", "user-password": "un-mot-de-passe-long"}
    bad = client.post("/administration", data={**base, "user-role": "aidant", "user-structure": str(structure.id)})
    assert bad.status_code == 400
    bad = client.post("/administration", data={**base, "user-role": "admin", "user-structure": str(demo.valbourg.id)})
    assert bad.status_code == 400
    ok = client.post("/administration", data={**base, "user-role": "aidant", "user-structure": str(demo.valbourg.id)})
    assert ok.status_code == 302
    nina = db.session.execute(db.select(User).filter_by(email="nina@example.fr")).scalar_one()
    assert nina.role == "aidant" and nina.structure_id == demo.valbourg.id and nina.password_hash != base["user-password"]


# --- Deactivating and reactivating accounts ---------------------------------------------------

def _user(email: str):  # type: ignore[no-untyped-def]
    from app.models import User

    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def test_a_deactivated_aidant_cannot_sign_in_and_her_open_session_stops(app, demo):
    from tests.web.conftest import OwnContextClient

    aidant_client, client = OwnContextClient(app), OwnContextClient(app)
    login(aidant_client, AIDANT)
    assert aidant_client.get("/personnes").status_code == 200
    login(client, COORDINATOR)
    page = client.get("/administration").get_data(as_text=True)
    assert f'action="/administration/comptes/{demo.aidant.id}/desactiver"' in page
    response = client.post(f"/administration/comptes/{demo.aidant.id}/desactiver", follow_redirects=True)
    assert response.status_code == 200 and "est désactivé" in response.get_data(as_text=True)
    assert _user(AIDANT[0]).is_active_account is False
    # The session she already had stops working on her next request.
    response = aidant_client.get("/personnes")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert aidant_client.get(f"/personnes/{demo.roseline.id}").status_code == 302
    # And she cannot sign in again, even with the right password.
    fresh = OwnContextClient(app)
    refused = fresh.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1]})
    assert refused.status_code == 200 and "incorrect" in refused.get_data(as_text=True)
    assert fresh.get("/personnes").status_code == 302
    actions = db.session.execute(db.select(AuditLog.action).where(AuditLog.object_type == "user",
                                                                  AuditLog.object_id == str(demo.aidant.id))).scalars().all()
    assert "deactivate" in actions and "login_failed" in actions
    assert f'action="/administration/comptes/{demo.aidant.id}/reactiver"' in client.get("/administration").get_data(as_text=True)
    client.post(f"/administration/comptes/{demo.aidant.id}/reactiver")
    assert _user(AIDANT[0]).is_active_account is True
    login(fresh, AIDANT)
    assert fresh.get("/personnes").status_code == 200


def test_a_coordinator_manages_her_structures_accounts_only_and_nobody_deactivates_herself(client, demo):
    coordinator = _user(COORDINATOR[0])
    admin = _user(ADMIN[0])
    login(client, COORDINATOR)
    page = client.get("/administration").get_data(as_text=True)
    assert f"/administration/comptes/{coordinator.id}/desactiver" not in page and "Votre compte" in page
    # Another structure's aidant and the administrator are out of reach (not even listed).
    for account in (demo.ccas_aidant, admin):
        assert client.post(f"/administration/comptes/{account.id}/desactiver").status_code == 404
    assert client.post("/administration/comptes/999999/desactiver").status_code == 404
    refused = client.post(f"/administration/comptes/{coordinator.id}/desactiver", follow_redirects=True)
    assert "propre compte" in refused.get_data(as_text=True)
    assert _user(COORDINATOR[0]).is_active_account and _user(CCAS[0]).is_active_account and _user(ADMIN[0]).is_active_account
    client.post("/deconnexion")
    # An aidant manages no account at all.
    login(client, CCAS)
    assert client.post(f"/administration/comptes/{demo.aidant.id}/desactiver").status_code == 404
    client.post("/deconnexion")
    # The administrator manages every structure's accounts, but not her own either.
    login(client, ADMIN)
    assert client.post(f"/administration/comptes/{demo.ccas_aidant.id}/desactiver").status_code == 302
    assert _user(CCAS[0]).is_active_account is False
    assert client.post(f"/administration/comptes/{admin.id}/desactiver").status_code == 302
    assert _user(ADMIN[0]).is_active_account is True
    assert client.get("/administration").status_code == 200


def test_the_account_service_refuses_what_the_page_does_not_offer(app, demo):
    from app.services.accounts import AccountError, set_account_active

    coordinator = _user(COORDINATOR[0])
    with pytest.raises(AccountError):
        set_account_active(coordinator, False, coordinator)
    with pytest.raises(AccountError):
        set_account_active(demo.ccas_aidant, False, coordinator)
    assert set_account_active(demo.aidant, False, coordinator) is True
    assert set_account_active(demo.aidant, False, coordinator) is False
    assert _user(AIDANT[0]).is_active_account is False
