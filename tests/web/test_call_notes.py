"""Call notes on a ride need and on a volunteer: written, shown, exported, erased."""

from __future__ import annotations

import json

from app.extensions import db
from app.models import CallNote, RideNeed
from tests.web.conftest import AIDANT, CCAS, login


def _need_of(person) -> RideNeed:  # type: ignore[no-untyped-def]
    return db.session.execute(
        db.select(RideNeed).filter_by(beneficiary_id=person.id).order_by(RideNeed.id)).scalars().first()


def test_a_call_about_a_need_is_noted_shown_exported_and_erased(client, demo):
    login(client, AIDANT)
    need = _need_of(demo.roseline)
    response = client.post(f"/besoins/{need.id}/appels", data={
        "party": "family", "body": "Sa fille confirme le rendez-vous, elle attendra devant la maison."})
    assert response.status_code == 302 and response.headers["Location"].endswith("#appels")
    note = db.session.execute(db.select(CallNote).filter_by(need_id=need.id)).scalar_one()
    assert note.author_id == demo.aidant.id and note.author_name == demo.aidant.name and note.party == "family"
    html = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Sa fille confirme le rendez-vous" in html
    assert f"{demo.aidant.name}, appel avec la famille ou un proche" in html
    data = json.loads(client.get(f"/personnes/{demo.roseline.id}/export.json").get_data(as_text=True))
    exported = next(n for n in data["ride_needs"] if n["id"] == need.id)["call_notes"]
    assert exported == [{"at": note.at.isoformat(), "by": demo.aidant.name, "with": "family",
                         "note": "Sa fille confirme le rendez-vous, elle attendra devant la maison."}]
    assert client.post(f"/personnes/{demo.roseline.id}/effacer").status_code == 302
    db.session.expire_all()
    assert db.session.query(CallNote).count() == 0


def test_an_empty_note_or_an_unknown_party_is_refused_with_a_message(client, demo):
    login(client, AIDANT)
    need = _need_of(demo.roseline)
    response = client.post(f"/besoins/{need.id}/appels", data={"party": "rider", "body": "   "},
                           follow_redirects=True)
    assert "Écrivez ce qui a été dit pendant l&#39;appel." in response.get_data(as_text=True)
    response = client.post(f"/besoins/{need.id}/appels", data={"party": "boss", "body": "Appel"},
                           follow_redirects=True)
    assert "pas un choix valide" in response.get_data(as_text=True).lower()
    assert db.session.query(CallNote).count() == 0


def test_nobody_notes_a_call_on_a_need_she_cannot_see(client, demo):
    login(client, CCAS)
    need = _need_of(demo.sebastien)
    assert client.post(f"/besoins/{need.id}/appels", data={"party": "rider", "body": "x"}).status_code == 404
    assert db.session.query(CallNote).count() == 0


def test_a_call_with_a_volunteer_is_on_her_page_in_her_export_and_erased_with_her(client, demo):
    login(client, AIDANT)
    jeanne = demo.jeanne
    page = client.get(f"/benevoles/{jeanne.id}").get_data(as_text=True)
    assert "Aucun appel noté" in page and 'value="rider"' not in page  # no rider on a volunteer's page
    response = client.post(f"/benevoles/{jeanne.id}/appels", data={
        "party": "driver", "body": "Absente la semaine du 14, rappeler après."})
    assert response.status_code == 302
    page = client.get(f"/benevoles/{jeanne.id}").get_data(as_text=True)
    assert "Absente la semaine du 14, rappeler après." in page
    assert "appel avec le ou la bénévole" in page
    data = json.loads(client.get(f"/benevoles/{jeanne.id}/export.json").get_data(as_text=True))
    assert [n["note"] for n in data["call_notes"]] == ["Absente la semaine du 14, rappeler après."]
    assert client.post(f"/benevoles/{jeanne.id}/effacer").status_code == 302
    db.session.expire_all()
    assert db.session.query(CallNote).count() == 0


def test_notes_are_listed_newest_first(client, demo):
    login(client, AIDANT)
    need = _need_of(demo.roseline)
    for text in ("Premier appel", "Deuxième appel"):
        assert client.post(f"/besoins/{need.id}/appels", data={"party": "rider", "body": text}).status_code == 302
    html = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert html.index("Deuxième appel") < html.index("Premier appel")
