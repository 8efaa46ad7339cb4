"""The volunteer form records her consent to publication in the open data: who, when, withdrawn."""

from __future__ import annotations

from app.extensions import db
from app.models import Driver
from tests.web.conftest import AIDANT, login

FORM = {
    "first_name": "Paul",
    "last_name": "Rey",
    "phone": "06 11 22 33 44",
    "home_commune": "99001",
    "vehicle_seats": "3",
    "max_distance_km": "20",
    "max_rides_per_day": "2",
    "active": "y",
}


def _paul() -> Driver:
    db.session.expire_all()
    return db.session.execute(db.select(Driver).filter_by(phone_e164="+33611223344")).scalar_one()


def test_consent_is_off_by_default_then_recorded_then_withdrawn(client, demo):
    login(client, AIDANT)
    page = client.get("/benevoles/nouveau").get_data(as_text=True)
    assert 'name="publish_consent"' in page and "données ouvertes" in page
    assert "horaires arrondis à 5 minutes" in page
    assert client.post("/benevoles/nouveau", data=FORM).status_code == 302
    paul = _paul()
    assert paul.publish_consent_at is None and paul.publish_consent_by_id is None
    edit = f"/benevoles/{paul.id}/modifier"
    assert client.post(edit, data={**FORM, "publish_consent": "y"}).status_code == 302
    paul = _paul()
    assert paul.publish_consent_at is not None and paul.publish_consent_by_id == demo.aidant.id
    recorded = paul.publish_consent_at
    page = client.get(edit).get_data(as_text=True)
    assert "Accord enregistré le" in page and demo.aidant.name in page
    # Saving again keeps the date of the consent; unchecking withdraws it.
    assert client.post(edit, data={**FORM, "publish_consent": "y"}).status_code == 302
    assert _paul().publish_consent_at == recorded
    assert client.post(edit, data=FORM).status_code == 302
    paul = _paul()
    assert paul.publish_consent_at is None and paul.publish_consent_by_id is None
