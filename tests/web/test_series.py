"""Recurring needs (series): schedule, creation, change, detached occurrence, end; copy of a need."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import NeedEvent, RideNeed, RideNeedSeries, utcnow
from app.services import rides as rides_service
from app.services.series import MAX_OCCURRENCES, Schedule, SeriesError, occurrence_dates
from tests.web.conftest import AIDANT, CCAS, OwnContextClient, login, paris_today

PARIS = ZoneInfo("Europe/Paris")


def _next_monday() -> date:
    today = paris_today()
    return today + timedelta(days=7 - today.weekday())


# --- The schedule (pure) ----------------------------------------------------------------------

def test_weekly_on_two_days_with_an_exception():
    start = date(2027, 1, 4)  # a Monday
    days = occurrence_dates(Schedule((0, 3), 1, start, start + timedelta(days=17),
                                     exceptions=(date(2027, 1, 11),)))
    assert days == [date(2027, 1, 4), date(2027, 1, 7), date(2027, 1, 14), date(2027, 1, 18),
                    date(2027, 1, 21)]


def test_every_two_weeks_counts_from_the_week_of_the_first_day():
    start = date(2027, 1, 6)  # a Wednesday: Monday of its week is not in the series
    days = occurrence_dates(Schedule((0, 2), 2, start, date(2027, 2, 1)))
    assert days == [date(2027, 1, 6), date(2027, 1, 18), date(2027, 1, 20), date(2027, 2, 1)]


@pytest.mark.parametrize(("schedule", "message"), [
    (Schedule((0, 1, 2, 3, 4), 1, date(2027, 1, 4), date(2027, 6, 30)), "au plus 60 trajets"),
    (Schedule((0,), 1, date(2027, 1, 4), date(2028, 3, 1)), "au plus un an"),
    (Schedule((), 1, date(2027, 1, 4), date(2027, 3, 1)), "au moins un jour"),
    (Schedule((6,), 1, date(2027, 1, 4), date(2027, 1, 8)), "Aucun trajet"),
    (Schedule((0,), 1, date(2027, 1, 4), date(2027, 1, 1)), "après le premier"),
])
def test_a_schedule_out_of_bounds_is_refused_in_french(schedule, message):
    with pytest.raises(SeriesError, match=message):
        occurrence_dates(schedule)


@settings(max_examples=150, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2030, 12, 31)), span=st.integers(0, 366),
       weekdays=st.sets(st.integers(0, 6), min_size=1), interval=st.integers(1, 4))
def test_occurrences_fall_on_the_chosen_days_and_weeks(start, span, weekdays, interval):
    schedule = Schedule(tuple(weekdays), interval, start, start + timedelta(days=span))
    try:
        days = occurrence_dates(schedule)
    except SeriesError as exc:
        assert "au plus" in str(exc) or "Aucun trajet" in str(exc)
        return
    assert 1 <= len(days) <= MAX_OCCURRENCES and days == sorted(set(days))
    monday = start - timedelta(days=start.weekday())
    for day in days:
        assert start <= day <= schedule.until and day.weekday() in weekdays
        assert ((day - monday).days // 7) % interval == 0


# --- The web pages ----------------------------------------------------------------------------

def _create(client, person, **changes):  # type: ignore[no-untyped-def]
    start = _next_monday()
    data = {"pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by",
            "day": start.isoformat(), "at": "08:30", "return_choice": "120", "purpose": "medical",
            "passengers": "1", "weekdays": ["0", "3"], "interval_weeks": "1",
            "until": (start + timedelta(days=17)).isoformat(), "exceptions": ""}
    data.update(changes)
    return client.post(f"/personnes/{person.id}/series/nouvelle", data=data)


def _occurrences(series_id: int) -> list[RideNeed]:
    db.session.expire_all()
    return list(db.session.execute(db.select(RideNeed).filter_by(series_id=series_id)
                                    .order_by(RideNeed.requested_at)).scalars())


def test_creating_a_weekly_series_makes_one_ordinary_need_per_day(client, demo):
    login(client, AIDANT)
    assert "Créer une série de trajets" in client.get(
        f"/personnes/{demo.roseline.id}/besoins/nouveau").get_data(as_text=True)
    assert client.get(f"/personnes/{demo.roseline.id}/series/nouvelle").status_code == 200
    start = _next_monday()
    response = _create(client, demo.roseline, exceptions=(start + timedelta(days=7)).strftime("%d/%m/%Y"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    series = db.session.execute(db.select(RideNeedSeries)).scalar_one()
    assert response.headers["Location"].endswith(f"/series/{series.id}")
    needs = _occurrences(series.id)
    local = [n.requested_at.astimezone(PARIS) for n in needs]
    assert [d.date() for d in local] == [start, start + timedelta(days=3), start + timedelta(days=10),
                                         start + timedelta(days=14), start + timedelta(days=17)]
    assert {d.time() for d in local} == {time(8, 30)}
    assert {n.status for n in needs} == {"new"} and {n.return_wait_min for n in needs} == {120}
    assert {n.beneficiary_id for n in needs} == {demo.roseline.id}
    page = client.get(f"/series/{series.id}").get_data(as_text=True)
    assert "Chaque semaine, le lundi et le jeudi à 08 h 30" in page
    assert all(f"/besoins/{n.id}\"" in page for n in needs)
    # Each occurrence is a need like any other: its page looks for drivers and links to the series.
    page = client.get(f"/besoins/{needs[0].id}").get_data(as_text=True)
    assert f"/series/{series.id}\"" in page and 'id="solutions"' in page
    assert db.session.get(RideNeed, needs[0].id).status == "searching"


def test_a_series_too_long_is_refused_with_a_clear_message(client, demo):
    login(client, AIDANT)
    start = _next_monday()
    response = _create(client, demo.roseline, weekdays=["0", "1", "2", "3", "4"],
                       until=(start + timedelta(days=300)).isoformat())
    assert response.status_code == 400
    assert "au plus 60 trajets" in response.get_data(as_text=True)
    response = _create(client, demo.roseline, until=(start + timedelta(days=400)).isoformat())
    assert "au plus un an" in response.get_data(as_text=True)
    response = _create(client, demo.roseline, exceptions="31/02/2027")
    assert "Date non reconnue" in response.get_data(as_text=True)
    assert db.session.query(RideNeedSeries).count() == 0 and db.session.query(RideNeed).filter(
        RideNeed.series_id.is_not(None)).count() == 0


def test_changing_a_series_changes_only_coming_occurrences_nobody_was_asked_for(client, demo):
    login(client, AIDANT)
    assert _create(client, demo.roseline).status_code == 302
    series = db.session.execute(db.select(RideNeedSeries)).scalar_one()
    needs = _occurrences(series.id)
    assert len(needs) == 6
    # One occurrence is already confirmed by a volunteer, one is in the past (done).
    confirmed, past = needs[1], needs[0]
    proposal = rides_service.propose_ride(confirmed, demo.jeanne, by_user=demo.aidant)
    assert rides_service.accept_proposal(proposal, via="phone", by_user=demo.aidant)
    past.requested_at = utcnow() - timedelta(days=2)
    db.session.commit()
    past_at = db.session.get(RideNeed, past.id).requested_at
    page = client.get(f"/series/{series.id}/modifier").get_data(as_text=True)
    assert 'value="08:30"' in page and "Modifier la série" in page
    start = _next_monday()
    response = client.post(f"/series/{series.id}/modifier", data={
        "pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by",
        "day": start.isoformat(), "at": "09:15", "return_choice": "none", "purpose": "medical",
        "passengers": "1", "weekdays": ["0"], "interval_weeks": "1",
        "until": (start + timedelta(days=17)).isoformat(), "exceptions": ""}, follow_redirects=True)
    html = response.get_data(as_text=True)
    # The first Monday's need was moved to the past above: the series makes a new one on that day.
    assert "Série modifiée : 2 trajets à venir modifiés, 1 ajouté, 2 annulés" in html, html[html.find("Série"):][:300]
    assert "1 trajet déjà proposé à un bénévole ou confirmé ne change pas" in html
    db.session.expire_all()
    by_id = {n.id: n for n in _occurrences(series.id)}
    assert by_id[past.id].requested_at == past_at  # the past stays
    assert by_id[confirmed.id].status == "confirmed"
    assert by_id[confirmed.id].requested_at.astimezone(PARIS).time() == time(8, 30)
    mondays = [n for n in by_id.values() if n.id not in (past.id, confirmed.id)
               and n.requested_at.astimezone(PARIS).weekday() == 0]
    assert len(mondays) == 3
    assert all(n.requested_at.astimezone(PARIS).time() == time(9, 15) and n.return_mode == "none"
               for n in mondays)
    thursdays = [n for n in by_id.values() if n.id not in (past.id, confirmed.id)
                 and n.requested_at.astimezone(PARIS).weekday() == 3]
    assert [n.status for n in thursdays] == ["cancelled", "cancelled"]


def test_changing_one_occurrence_detaches_it_from_its_series(client, demo):
    login(client, AIDANT)
    assert _create(client, demo.roseline).status_code == 302
    series = db.session.execute(db.select(RideNeedSeries)).scalar_one()
    one = _occurrences(series.id)[2]
    day = one.requested_at.astimezone(PARIS).date()
    response = client.post(f"/besoins/{one.id}/modifier", data={
        "pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by", "day": day.isoformat(),
        "at": "14:00", "return_choice": "120", "purpose": "medical", "passengers": "1",
        "version": str(one.version)})
    assert response.status_code == 302
    db.session.expire_all()
    detached = db.session.get(RideNeed, one.id)
    assert detached.series_id is None
    assert db.session.query(NeedEvent).filter(NeedEvent.need_id == one.id,
                                              NeedEvent.note.like("%ne suit plus sa série%")).count() == 1
    # Its day is now an exception of the series, shown in the series' form…
    assert f"{day:%d/%m/%Y}</textarea>" in client.get(f"/series/{series.id}/modifier").get_data(as_text=True)
    # …so a change of the series no longer touches it, and no second need is made on its day.
    start = _next_monday()
    response = client.post(f"/series/{series.id}/modifier", data={
        "pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by", "day": start.isoformat(),
        "at": "11:00", "return_choice": "120", "purpose": "medical", "passengers": "1",
        "weekdays": ["0", "3"], "interval_weeks": "1", "until": (start + timedelta(days=17)).isoformat(),
        "exceptions": f"{day:%d/%m/%Y}"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(RideNeed, one.id).requested_at.astimezone(PARIS).time() == time(14, 0)
    # Its day became an exception of the series: no second need is made on it.
    assert db.session.get(RideNeedSeries, series.id).exception_dates == [day.isoformat()]
    assert len(_occurrences(series.id)) == 5
    on_that_day = [n for n in db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id))
                   .scalars() if n.requested_at.astimezone(PARIS).date() == day]
    assert [n.id for n in on_that_day] == [one.id]


def test_cancelling_the_rest_of_a_series_keeps_the_past(client, demo):
    login(client, AIDANT)
    assert _create(client, demo.roseline).status_code == 302
    series = db.session.execute(db.select(RideNeedSeries)).scalar_one()
    needs = _occurrences(series.id)
    past = needs[0]
    past.requested_at = utcnow() - timedelta(days=1)
    db.session.commit()
    proposal = rides_service.propose_ride(needs[1], demo.jeanne, by_user=demo.aidant)
    assert rides_service.accept_proposal(proposal, via="phone", by_user=demo.aidant)
    response = client.post(f"/series/{series.id}/annuler", data={"reason": "fin des séances"},
                           follow_redirects=True)
    assert "5 trajets à venir annulés" in response.get_data(as_text=True)
    db.session.expire_all()
    statuses = {n.id: n.status for n in _occurrences(series.id)}
    assert statuses.pop(past.id) == "new"
    assert set(statuses.values()) == {"cancelled"}
    assert db.session.get(RideNeedSeries, series.id).status == "cancelled"
    assert client.get(f"/series/{series.id}/modifier").status_code == 302  # closed: no more changes


def test_a_series_is_private_to_those_who_see_the_person(app, demo):
    ccas, aidant = OwnContextClient(app), OwnContextClient(app)
    login(ccas, CCAS)
    login(aidant, AIDANT)
    assert _create(ccas, demo.sarah).status_code == 302  # Sarah shares nothing with partners
    series = db.session.execute(db.select(RideNeedSeries)).scalar_one()
    assert ccas.get(f"/series/{series.id}").status_code == 200
    assert aidant.get(f"/series/{series.id}").status_code == 404
    assert aidant.get(f"/series/{series.id}/modifier").status_code == 404
    assert aidant.post(f"/series/{series.id}/annuler").status_code == 404
    assert aidant.get(f"/personnes/{demo.sarah.id}/series/nouvelle").status_code == 404


def test_the_series_is_exported_and_erased_with_the_person(client, demo):
    login(client, AIDANT)
    assert _create(client, demo.roseline).status_code == 302
    data = json.loads(client.get(f"/personnes/{demo.roseline.id}/export.json").get_data(as_text=True))
    [series] = data["ride_need_series"]
    assert series["weekdays"] == [0, 3] and series["time"] == "08:30" and series["status"] == "active"
    assert sum(1 for n in data["ride_needs"] if n["series"] == series["id"]) == 6
    assert client.post(f"/personnes/{demo.roseline.id}/effacer").status_code == 302
    db.session.expire_all()
    assert db.session.query(RideNeedSeries).count() == 0


def test_copying_a_need_prefills_the_form_for_another_date(client, demo):
    login(client, AIDANT)
    need = db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id, status="new")
                              ).scalars().first()
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert f"/besoins/{need.id}/copier\"" in page
    form = client.get(f"/besoins/{need.id}/copier")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and 'id="copie"' in html
    assert f'action="/personnes/{demo.roseline.id}/besoins/nouveau"' in html
    assert f'<option selected value="{rides_service.endpoint_value(need.dropoff_label, need.dropoff_place_id, demo.roseline)}"' in html
    assert 'name="day" required type="date" value=""' in html and 'value="10:00"' in html
    new_day = paris_today() + timedelta(days=9)
    local = need.requested_at.astimezone(PARIS)
    response = client.post(f"/personnes/{demo.roseline.id}/besoins/nouveau", data={
        "pickup": "home", "dropoff": rides_service.endpoint_value(need.dropoff_label, need.dropoff_place_id, demo.roseline),
        "time_mode": need.time_mode, "day": new_day.isoformat(), "at": f"{local:%H:%M}",
        "return_choice": str(need.return_wait_min) if need.return_wait_min else "none",
        "purpose": need.purpose, "passengers": str(need.passengers)})
    assert response.status_code == 302
    copy = db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.roseline.id)
                              .order_by(RideNeed.id.desc())).scalars().first()
    assert copy.id != need.id and copy.dropoff_label == need.dropoff_label
    assert copy.requested_at.astimezone(PARIS).date() == new_day
