"""A volunteer's page: coming rides, the month's kilometres and allowance, absences by the aidant."""

from __future__ import annotations

from datetime import date, timedelta

from app.extensions import db
from app.models import DriverAbsence, Proposal
from app.services.absences import local_today
from app.services.matching import offers_for_day
from tests.web.conftest import AIDANT, CCAS, login


def _offered(driver, day: date) -> bool:  # type: ignore[no-untyped-def]
    return any(v.driver_id == f"v{driver.id}" for v in offers_for_day(day)[1])


def test_volunteer_page_shows_coming_rides_and_the_month(client, app, demo):
    login(client, AIDANT)
    html = client.get(f"/benevoles/{demo.jeanne.id}").get_data(as_text=True)
    assert "Trajets à venir" in html and "Ce mois-ci" in html
    coming = db.session.execute(db.select(Proposal).filter_by(driver_id=demo.jeanne.id, status="accepted")).scalars().all()
    assert coming, "the demo gives Jeanne a confirmed ride"
    assert "Sébastien" in html and "confirmé" in html
    assert "indemnités kilométriques" in html


def test_aidant_records_an_absence_and_matching_respects_it(client, app, demo):
    login(client, AIDANT)
    first = local_today() + timedelta(days=20)
    last = first + timedelta(days=4)
    assert _offered(demo.jeanne, first + timedelta(days=1))
    response = client.post(f"/benevoles/{demo.jeanne.id}/absences",
                           data={"first_day": first.isoformat(), "last_day": last.isoformat(), "reason": "Vacances"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Absence enregistrée" in html and "Vacances" in html
    assert not _offered(demo.jeanne, first + timedelta(days=1))
    assert _offered(demo.jeanne, last + timedelta(days=1))
    absence = db.session.execute(db.select(DriverAbsence)).scalar_one()
    client.post(f"/benevoles/{demo.jeanne.id}/absences/{absence.id}/supprimer")
    assert db.session.execute(db.select(DriverAbsence)).scalars().all() == []
    assert _offered(demo.jeanne, first + timedelta(days=1))


def test_absence_over_a_confirmed_ride_warns_the_aidant(client, app, demo):
    login(client, AIDANT)
    today = local_today()
    response = client.post(f"/benevoles/{demo.jeanne.id}/absences",
                           data={"first_day": today.isoformat(), "last_day": (today + timedelta(days=6)).isoformat()},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "à confier à un autre bénévole" in html


def test_bad_absences_are_refused_with_a_reason(client, app, demo):
    login(client, AIDANT)
    today = local_today()
    cases = [({"first_day": (today + timedelta(days=5)).isoformat(), "last_day": today.isoformat()}, "avant"),
             ({"first_day": "", "last_day": today.isoformat()}, "premier jour"),
             ({"first_day": today.isoformat(), "last_day": (today + timedelta(days=400)).isoformat()}, "un an")]
    for data, message in cases:
        html = client.post(f"/benevoles/{demo.jeanne.id}/absences", data=data,
                           follow_redirects=True).get_data(as_text=True)
        assert "Absence non enregistrée" in html and message in html, message
    assert db.session.execute(db.select(DriverAbsence)).scalars().all() == []


def test_another_structure_cannot_record_an_absence(client, app, demo):
    login(client, CCAS)
    today = local_today()
    response = client.post(f"/benevoles/{demo.jeanne.id}/absences",
                           data={"first_day": today.isoformat(), "last_day": today.isoformat()})
    assert response.status_code == 404
    assert db.session.execute(db.select(DriverAbsence)).scalars().all() == []
