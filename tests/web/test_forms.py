"""Forms reject bad input with messages next to the fields and keep what was typed; CSRF and
the sign-in rate limit are on."""

from __future__ import annotations

import html as html_module
import re
from datetime import timedelta

from app.extensions import db
from app.models import Beneficiary, Driver, RideNeed
from tests.web.conftest import AIDANT, login, paris_today, sibling_app


def _messages(html: str, field_id: str) -> str:
    """The error block rendered right after a field."""
    match = re.search(rf'<div class="fr-messages-group" id="{field_id}-messages"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no message block for {field_id}"
    return html_module.unescape(match.group(1))


def test_beneficiary_form_rejects_bad_input_next_to_fields_and_keeps_values(client, demo):
    login(client, AIDANT)
    before = db.session.query(Beneficiary).count()
    response = client.post("/personnes/nouvelle", data={
        "first_name": "Odette", "last_name": "", "phone": "06 12", "home_commune": "99999",
        "home_address": "3 chemin des Vignes", "home_lat": "44.45", "needs_accompaniment": "y",
    })
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Indiquez le nom." in _messages(html, "last_name")
    assert "Numéro de téléphone invalide" in _messages(html, "phone")
    assert "pas un choix valide" in _messages(html, "home_commune")
    assert "latitude et la longitude" in _messages(html, "home_lon")
    assert 'aria-invalid="true"' in html and 'id="erreurs"' in html
    # What was typed is still there.
    assert 'value="Odette"' in html and 'value="06 12"' in html and 'value="3 chemin des Vignes"' in html
    assert re.search(r'id="needs_accompaniment"[^>]*checked|checked[^>]*id="needs_accompaniment"', html)
    assert db.session.query(Beneficiary).count() == before


def test_beneficiary_phone_is_stored_in_e164_and_consent_recorded(client, demo):
    login(client, AIDANT)
    response = client.post("/personnes/nouvelle", data={
        "first_name": "Odette", "last_name": "Vidal", "phone": "05 65 12 34 56", "home_commune": "99003",
        "consent_sms": "y", "home_lat": "44,5", "home_lon": "1,5"})
    assert response.status_code == 302
    person = db.session.execute(db.select(Beneficiary).filter_by(last_name="Vidal")).scalar_one()
    assert person.phone_e164 == "+33565123456"
    assert person.consent_sms_at is not None and person.consent_sharing_at is None
    assert person.consent_recorded_by_id == demo.aidant.id
    assert person.eligibility_basis == "rural_commune"
    assert person.home_lat_lon == (44.5, 1.5)
    assert person.structure_id == demo.valbourg.id


def test_driver_form_needs_a_mobile_and_an_unused_number(client, demo):
    login(client, AIDANT)
    data = {"first_name": "Paul", "last_name": "Rey", "phone": "05 65 12 34 56", "home_commune": "99001",
            "vehicle_seats": "3", "max_distance_km": "20", "max_rides_per_day": "2",
            "availability": ["0-morning", "2-afternoon"]}
    html = client.post("/benevoles/nouveau", data=data).get_data(as_text=True)
    assert "numéro de portable" in _messages(html, "phone")
    assert re.search(r'value="0-morning"\s+checked', html) and re.search(r'value="2-afternoon"\s+checked', html)
    html = client.post("/benevoles/nouveau", data={**data, "phone": demo.jeanne.phone_e164}).get_data(as_text=True)
    assert "déjà celui d'un autre bénévole" in _messages(html, "phone")
    html = client.post("/benevoles/nouveau", data={**data, "phone": "0611223344", "vehicle_seats": "12"}).get_data(as_text=True)
    assert "Entre 1 et 8 places." in _messages(html, "vehicle_seats")
    response = client.post("/benevoles/nouveau", data={**data, "phone": "0611223344",
                                                       "licence_valid_until": "2030-01-01"})
    assert response.status_code == 302
    driver = db.session.execute(db.select(Driver).filter_by(phone_e164="+33611223344")).scalar_one()
    assert {(a.weekday, a.slot) for a in driver.availability} == {(0, "morning"), (2, "afternoon")}
    # Without insurance the volunteer is not available.
    assert not driver.is_cleared_on(paris_today())
    assert "assurance non attestée" in client.get(f"/benevoles/{driver.id}").get_data(as_text=True)


def test_need_form_rejects_past_dates_and_identical_ends(client, demo):
    login(client, AIDANT)
    person = demo.roseline
    yesterday = (paris_today() - timedelta(days=1)).isoformat()
    response = client.post(f"/personnes/{person.id}/besoins/nouveau", data={
        "pickup": "home", "dropoff": "home", "time_mode": "arrive_by", "day": yesterday, "at": "10:00",
        "return_choice": "at_time", "purpose": "medical", "passengers": "9", "notes": "Rampe d'accès"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "différente du départ" in _messages(html, "dropoff")
    assert "date est passée" in _messages(html, "day")
    assert "heure du retour" in _messages(html, "return_time")
    assert "Entre 1 et 4 passagers." in _messages(html, "passengers")
    assert f'value="{yesterday}"' in html and "Rampe d&#39;accès" in html
    assert db.session.query(RideNeed).filter_by(beneficiary_id=person.id).count() == 2  # the seeded ones


def test_forms_refuse_posts_without_csrf_token(app, demo):
    csrf_app = sibling_app(app, WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    response = client.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1]})
    assert response.status_code == 400
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1], "csrf_token": token})
    assert response.status_code == 302
    assert client.post("/personnes/nouvelle", data={"first_name": "A", "last_name": "B",
                                                    "home_commune": "99001"}).status_code == 400



def test_the_new_forms_refuse_posts_without_csrf_token_and_carry_one(app, demo):
    from app.models import DriverOffer, User

    csrf_app = sibling_app(app, WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1], "csrf_token": token}).status_code == 302
    need = db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id, status="new")).scalar_one()
    pierre = db.session.execute(db.select(Driver).filter_by(first_name="Pierre")).scalar_one()
    trip = db.session.execute(db.select(DriverOffer).filter_by(driver_id=pierre.id)).scalar_one()
    edit = {"pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by", "at": "10:00",
            "day": (paris_today() + timedelta(days=3)).isoformat(), "return_choice": "none", "purpose": "other",
            "passengers": "1", "version": str(need.version)}
    for url, data in ((f"/besoins/{need.id}/modifier", edit), (f"/benevoles/{pierre.id}/trajets/{trip.id}/annuler", {}),
                      (f"/administration/comptes/{demo.aidant.id}/desactiver", {}),
                      (f"/besoins/{need.id}/retirer", {"version": str(need.version)})):
        assert client.post(url, data=data).status_code == 400, url
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).version == need.version
    assert db.session.get(DriverOffer, trip.id).status == "active"
    assert db.session.get(User, demo.aidant.id).is_active_account
    # The pages' own forms carry the token, and then the post goes through.
    form_page = client.get(f"/besoins/{need.id}/modifier").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_page).group(1)
    assert client.post(f"/besoins/{need.id}/modifier", data={**edit, "csrf_token": token}).status_code == 302
    driver_page = client.get(f"/benevoles/{pierre.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', driver_page).group(1)
    assert client.post(f"/benevoles/{pierre.id}/trajets/{trip.id}/annuler", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).dropoff_label == "Valbourg"
    assert db.session.get(DriverOffer, trip.id).status == "cancelled"


def test_sign_in_is_rate_limited(app, demo):
    from app.extensions import limiter

    # The limiter is one object shared by every app of the process: restore it afterwards.
    was_enabled = limiter.enabled
    try:
        limited = sibling_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
        client = limited.test_client()
        codes = [client.post("/connexion", data={"email": AIDANT[0], "password": "mauvais-mot"}).status_code
                 for _ in range(11)]
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
    assert codes[:10] == [200] * 10
    assert codes[10] == 429


def test_session_cookie_is_http_only_and_pages_send_security_headers(client, demo):
    response = client.post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1]})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/personnes")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.get_data(as_text=True)  # no inline script anywhere
