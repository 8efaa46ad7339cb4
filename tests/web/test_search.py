"""Search that forgives (people and volunteers) and possible duplicates at registration."""

from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import Beneficiary, Commune, CommuneAlias, Driver
from app.services.people import search_beneficiaries_clause, search_drivers_clause
from app.services.search import backfill_search_keys
from tests.web.conftest import AIDANT, CCAS, login


def _found(client, q: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/personnes", query_string={"q": q})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _ids(model, text: str) -> set[int]:  # type: ignore[no-untyped-def]
    clause = search_beneficiaries_clause(text) if model is Beneficiary else search_drivers_clause(text)
    return set(db.session.execute(db.select(model.id).where(clause)).scalars())


FOUND_WAYS = ("06 00 00 02 02", "06.00.00.02.02", "+33 6 00 00 02 02", "0033600000202", "0600000202",
              "00 02 02", "Sebastien", "SÉBASTIEN", "sébastien roux", "ROUX Sébastien", "seb", "Valbourg",
              "roux VALBOURG", "Sebastien 06 00 00 02 02")


def test_the_list_finds_a_person_typed_any_usual_way(client, demo):
    login(client, AIDANT)
    for typed in FOUND_WAYS:
        html = _found(client, typed)
        assert f"/personnes/{demo.sebastien.id}\"" in html, typed
        assert f"/personnes/{demo.sarah.id}\"" not in html  # another structure's, not shared


def test_a_search_that_matches_nobody_says_so(client, demo):
    login(client, AIDANT)
    for typed in ("Sebastien Fabre", "06 00 00 02 03", "Dupont", "roux Lacombe"):
        html = _found(client, typed)
        assert f"/personnes/{demo.sebastien.id}\"" not in html, typed
        assert "ne correspond à cette recherche" in html


def test_old_name_of_a_merged_commune_finds_its_people(client, demo):
    combelongue = db.session.execute(db.select(Commune).filter_by(name="Combelongue")).scalar_one()
    # The demo territory stores the old commune itself, merged into Combelongue…
    old = db.session.execute(db.select(Commune).filter_by(name="Le Mas-Vieux")).scalar_one()
    assert old.merged_into_insee == combelongue.insee
    # …and a name people still use, as the commune_aliases table holds them.
    db.session.add(CommuneAlias(name="Saint-Géry-le-Vieux", commune_insee=combelongue.insee, old_insee=None))
    db.session.commit()
    login(client, CCAS)
    for typed in ("le mas vieux", "MAS-VIEUX", "Combelongue", "garcia mas vieux", "saint gery le vieux",
                  "GERY"):
        assert f"/personnes/{demo.sarah.id}\"" in _found(client, typed), typed
    assert f"/personnes/{demo.sarah.id}\"" not in _found(client, "Valbourg")
    # A person registered in the old commune is found by the new commune's name.
    demo.sarah.home_commune_insee = old.insee
    db.session.commit()
    assert f"/personnes/{demo.sarah.id}\"" in _found(client, "combelongue")


def test_accents_and_case_for_a_new_person_and_after_a_rename(client, demo):
    login(client, AIDANT)
    response = client.post("/personnes/nouvelle", data={
        "first_name": "Hélène", "last_name": "Lefèvre", "phone": "05 65 11 22 33", "home_commune": "99003"})
    assert response.status_code == 302
    person = db.session.execute(db.select(Beneficiary).filter_by(last_name="Lefèvre")).scalar_one()
    assert person.search_key == "helene lefevre"
    assert f"/personnes/{person.id}\"" in _found(client, "LEFEVRE helene")
    assert f"/personnes/{person.id}\"" in _found(client, "05 65 11")
    response = client.post(f"/personnes/{person.id}/modifier", data={
        "first_name": "Hélène", "last_name": "Séguéla", "phone": "05 65 11 22 33", "home_commune": "99003"})
    assert response.status_code == 302
    assert f"/personnes/{person.id}\"" in _found(client, "SEGUELA")
    assert f"/personnes/{person.id}\"" not in _found(client, "lefevre")


def test_backfill_computes_the_keys_of_existing_rows(app, demo):
    db.session.execute(update(Beneficiary).values(search_key=""))
    db.session.execute(update(Driver).values(search_key=""))
    db.session.commit()
    assert _ids(Beneficiary, "sebastien") == set()
    count = backfill_search_keys(db.session.connection())
    db.session.commit()
    people = db.session.query(Beneficiary).count() + db.session.query(Driver).count()
    assert count == people
    assert _ids(Beneficiary, "sebastien") == {demo.sebastien.id}
    assert _ids(Driver, "JEANNE martin") == {demo.jeanne.id}


def test_volunteers_are_searched_the_same_way(app, demo):
    assert _ids(Driver, "06 00 00 01 01") == {demo.jeanne.id}
    assert _ids(Driver, "+33 6 00 00 01 01") == {demo.jeanne.id}
    assert _ids(Driver, "jeanne") == {demo.jeanne.id}
    assert demo.jeanne.id in _ids(Driver, "VALBOURG")
    assert _ids(Driver, "personne inconnue") == set()


def test_registering_a_close_name_in_the_same_commune_warns_then_saves_on_purpose(client, demo):
    login(client, AIDANT)
    form = {"first_name": "Sebastien", "last_name": "ROUX", "home_commune": demo.sebastien.home_commune_insee}
    response = client.post("/personnes/nouvelle", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "déjà inscrite" in html and f"/personnes/{demo.sebastien.id}\"" in html
    assert "nom proche, même commune" in html and "Enregistrer quand même" in html
    assert db.session.query(Beneficiary).filter_by(last_name="ROUX").count() == 0
    response = client.post("/personnes/nouvelle", data={**form, "enregistrer_quand_meme": "1"})
    assert response.status_code == 302
    assert db.session.query(Beneficiary).filter_by(last_name="ROUX").count() == 1


def test_same_name_in_another_commune_is_no_duplicate(client, demo):
    login(client, AIDANT)
    response = client.post("/personnes/nouvelle", data={
        "first_name": "Sébastien", "last_name": "Roux", "home_commune": demo.roseline.home_commune_insee})
    assert response.status_code == 302


def test_same_phone_is_a_possible_duplicate_whatever_the_name(client, demo):
    login(client, AIDANT)
    response = client.post("/personnes/nouvelle", data={
        "first_name": "Paulette", "last_name": "Vidal", "phone": "05.65.00.02.01", "home_commune": "99003"})
    html = response.get_data(as_text=True)
    assert "même numéro de téléphone" in html and f"/personnes/{demo.roseline.id}\"" in html
    assert db.session.query(Beneficiary).filter_by(last_name="Vidal").count() == 0


def test_a_duplicate_in_a_structure_not_shared_is_mentioned_but_never_named(client, demo):
    login(client, AIDANT)
    response = client.post("/personnes/nouvelle", data={
        "first_name": "Paulette", "last_name": "Vidal", "phone": "06 00 00 02 03", "home_commune": "99003"})
    html = response.get_data(as_text=True)
    assert "suivie par une autre structure" in html
    assert "Garcia" not in html and f"/personnes/{demo.sarah.id}\"" not in html


def test_the_volunteers_list_searches_the_same_way(client, demo):
    login(client, AIDANT)
    for typed in ("06.00.00.01.01", "JEANNE", "martin valbourg"):
        html = client.get("/benevoles", query_string={"q": typed}).get_data(as_text=True)
        assert f"/benevoles/{demo.jeanne.id}\"" in html, typed
        assert "Delmas" not in html, typed
    html = client.get("/benevoles", query_string={"q": "personne inconnue"}).get_data(as_text=True)
    assert "Aucun bénévole ne correspond à cette recherche" in html
