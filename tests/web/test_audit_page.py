"""The audit trail of a person, for administrators: who viewed, changed, exported, erased."""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import AuditLog, Structure, User
from tests.sms.conftest import make_need, make_people

PASSWORD = "une phrase de passe assez longue"


def _account(structure: Structure, role: str, email: str, name: str) -> User:
    user = User(email=email, name=name, role=role, structure=structure,
                password_hash=generate_password_hash(PASSWORD))
    db.session.add(user)
    db.session.commit()
    return user


def _login(client, user: User, ip: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_the_trail_says_who_viewed_changed_exported_and_erased(app, client):
    structure, (marc,), rider = make_people(1)
    need = make_need(rider)
    aidant = _account(structure, "aidant", "aidante@example.org", "Nadia Aidante")
    admin = _account(structure, "admin", "admin@example.org", "Alain Admin")
    _login(client, aidant, "192.0.2.10")
    seen = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get(f"/personnes/{rider.id}", environ_base=seen).status_code == 200
    assert client.get(f"/personnes/{rider.id}/modifier", environ_base=seen).status_code == 200
    assert client.get(f"/besoins/{need.id}", environ_base=seen).status_code == 200
    assert client.get(f"/personnes/{rider.id}/export.json", environ_base=seen).status_code == 200
    assert client.get(f"/benevoles/{marc.id}", environ_base=seen).status_code == 200
    # An aidant does not see the trail, nor the link to it.
    assert client.get(f"/administration/journal/personnes/{rider.id}").status_code == 404
    assert "Journal d'accès" not in client.get(f"/personnes/{rider.id}").get_data(as_text=True)
    client.post("/deconnexion")

    _login(client, admin, "198.51.100.7")
    page = client.get(f"/personnes/{rider.id}").get_data(as_text=True)
    assert f"/administration/journal/personnes/{rider.id}" in page
    assert f"/administration/journal/benevoles/{marc.id}" in client.get(f"/benevoles/{marc.id}").get_data(as_text=True)
    response = client.get(f"/administration/journal/personnes/{rider.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = html[html.index('id="journal"'):]
    for text in ("Nadia Aidante", "Consultation", "Export des données", "192.0.2.10", "besoin de trajet"):
        assert text in table, text
    assert "Alain Admin" in table  # the admin's own view of the record is in it too
    # The volunteer's trail is separate: Marc's page view is there, the rider's export is not.
    driver_html = client.get(f"/administration/journal/benevoles/{marc.id}").get_data(as_text=True)
    driver_table = driver_html[driver_html.index('id="journal"'):]
    assert "Nadia Aidante" in driver_table and "Export des données" not in driver_table
    # Reading a trail is itself recorded.
    assert db.session.query(AuditLog).filter_by(action="view_audit", object_type="beneficiary",
                                                object_id=str(rider.id), user_id=admin.id).count() == 1

    # After the erasure the trail still says who erased, when and from where.
    erase = client.post(f"/personnes/{rider.id}/effacer", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert erase.status_code == 302
    html = client.get(f"/administration/journal/personnes/{rider.id}").get_data(as_text=True)
    table = html[html.index('id="journal"'):]
    assert f"n° {rider.id} (effacé)" in html
    assert "Effacement" in table and "198.51.100.7" in table, table[:3000]
    assert "Roseline" not in table  # the log keeps who erased, not what was erased


def test_free_text_in_the_trail_is_escaped(app, client):
    structure, _drivers, rider = make_people(1)
    admin = _account(structure, "admin", "admin@example.org", "<script>alert(1)</script>")
    _login(client, admin, "203.0.113.5")
    client.get(f"/personnes/{rider.id}")
    html = client.get(f"/administration/journal/personnes/{rider.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_id_past_the_database_integers_is_no_one(app, client):
    structure, _drivers, _rider = make_people(1)
    admin = _account(structure, "admin", "admin-big-id@example.org", "Adèle Admin")
    _login(client, admin, "127.0.0.1")
    for kind in ("personnes", "benevoles"):
        assert client.get(f"/administration/journal/{kind}/{10 ** 20}").status_code == 404
