"""Volunteers say they are away (ABSENT) or available (DISPO) by SMS; matching respects it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import DriverAbsence, DriverAvailability, DriverExtraSlot, NeedEvent
from app.services import rides
from app.services.matching import offers_for_day
from app.services.sms_grammar import (
    ABSENT,
    AVAILABLE,
    NO,
    WEEKDAYS_FR,
    AbsenceParseError,
    parse_absence,
    parse_availability,
    parse_command,
)
from tests.sms.conftest import PARIS, RIDER_PHONE, make_need, make_people
from tests.sms.test_conversations import text

TODAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(today=TODAYS, start=st.integers(0, 60), length=st.integers(0, 30),
       word=st.sampled_from(["ABSENT", "absent", "Absente", "absence", "ABSENTE", "Congés", "vacances"]),
       sep=st.sampled_from(["/", ".", "-", " / "]), joiner=st.sampled_from([" au ", " - ", " jusqu'au ", " a "]))
def test_absence_ranges_in_usual_writings(today, start, length, word, sep, joiner):
    first = today + timedelta(days=start)
    last = first + timedelta(days=length)
    body = f"{word} du {first.day:02d}{sep}{first.month:02d}{joiner}{last.day}{sep}{last.month}"
    command = parse_command(body)
    assert command.keyword == ABSENT
    wanted = parse_absence(command.rest, today)
    assert (wanted.first_day, wanted.last_day) == (first, last)


@settings(max_examples=100, deadline=None)
@given(today=TODAYS, weekday=st.integers(0, 6),
       slot=st.sampled_from([("matin", ("morning",)), ("après-midi", ("afternoon",)), ("aprem", ("afternoon",)),
                             ("soir", ("evening",)), ("", ("morning", "afternoon"))]),
       word=st.sampled_from(["DISPO", "dispo", "Disponible", "dispos"]))
def test_dispo_weekday_and_slot(today, weekday, slot, word):
    command = parse_command(f"{word} {WEEKDAYS_FR[weekday]} {slot[0]}".strip())
    assert command.keyword == AVAILABLE
    wanted = parse_availability(command.rest, today)
    assert wanted.day is not None and wanted.day.weekday() == weekday
    assert 0 <= (wanted.day - today).days < 7
    assert wanted.slots == slot[1]


def test_relative_days_and_open_ranges():
    today = date(2026, 11, 27)
    assert parse_absence("demain", today).first_day == date(2026, 11, 28)
    until = parse_absence("jusqu'au 20/12", today)
    assert (until.first_day, until.last_day) == (today, date(2026, 12, 20))
    over_new_year = parse_absence("du 28/12 au 03/01", today)
    assert over_new_year.last_day == date(2027, 1, 3)
    assert parse_absence("du 12 au 20 décembre", today).last_day == date(2026, 12, 20)
    assert parse_availability("", today).day is None  # a bare DISPO: back from an absence
    assert parse_command("pas dispo").keyword == NO and parse_command("indispo").keyword == NO


@pytest.mark.parametrize("body, message", [
    ("", "Indiquez les dates"), ("du 20/12 au 12/12", "avant"), ("du 01/01/2025 au 02/01/2025", "passées"),
    ("du 01/12/2026 au 01/06/2028", "un an"),
])
def test_absence_errors_are_french_and_helpful(body, message):
    with pytest.raises(AbsenceParseError, match=message):
        parse_absence(body, date(2026, 11, 27))


def _available_every_day(driver):  # type: ignore[no-untyped-def]
    for weekday in range(7):
        db.session.add(DriverAvailability(driver_id=driver.id, weekday=weekday, slot="morning"))
    db.session.commit()


def _offered(driver, day: date) -> bool:  # type: ignore[no-untyped-def]
    _trips, volunteers, _index = offers_for_day(day)
    return any(v.driver_id == f"v{driver.id}" for v in volunteers)


def test_absent_by_sms_then_back_then_one_extra_slot(app, client, twilio_token, daytime):
    _s, (marc,), _rider = make_people(1)
    _available_every_day(marc)
    today = datetime.now(PARIS).date()
    first, last = today + timedelta(days=3), today + timedelta(days=6)
    assert _offered(marc, first + timedelta(days=1))

    reply = text(client, marc.phone_e164, f"ABSENT du {first:%d/%m} au {last:%d/%m}")
    assert "noté" in reply and f"{first:%d/%m}" in reply and f"{last:%d/%m}" in reply
    [absence] = db.session.execute(db.select(DriverAbsence)).scalars().all()
    assert (absence.first_day, absence.last_day, absence.source) == (first, last, "sms")
    assert not _offered(marc, first + timedelta(days=1))
    assert _offered(marc, last + timedelta(days=1))

    # One evening of that week after all: only that slot is offered that day.
    day = first + timedelta(days=1)
    reply = text(client, marc.phone_e164, f"DISPO le {day:%d/%m} soir")
    assert "disponible" in reply and "soir" in reply
    assert db.session.execute(db.select(DriverExtraSlot)).scalar_one().slot == "evening"
    _trips, volunteers, _index = offers_for_day(day)
    [volunteer] = [v for v in volunteers if v.driver_id == f"v{marc.id}"]
    evening_start = datetime.combine(day, datetime.min.time(), PARIS) + timedelta(hours=18)
    assert min(w[0] for w in volunteer.windows) >= int(evening_start.timestamp())


def test_bare_dispo_ends_the_current_absence(app, client, twilio_token, daytime):
    _s, (marc,), _rider = make_people(1)
    _available_every_day(marc)
    today = datetime.now(PARIS).date()
    text(client, marc.phone_e164, f"ABSENT jusqu'au {today + timedelta(days=10):%d/%m}")
    assert not _offered(marc, today + timedelta(days=2))
    reply = text(client, marc.phone_e164, "DISPO")
    assert "Bon retour" in reply
    assert _offered(marc, today + timedelta(days=2))
    assert "Aucune absence" in text(client, marc.phone_e164, "dispo")


def test_absence_over_a_planned_ride_is_flagged_on_the_need(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    text(client, marc.phone_e164, f"OUI {proposal.code}")
    day = need.requested_at.astimezone(PARIS).date()
    reply = text(client, marc.phone_e164, f"ABSENT le {day:%d/%m}")
    assert "1 trajet déjà prévu" in reply
    notes = [e.note for e in db.session.execute(db.select(NeedEvent).filter_by(need_id=need.id)).scalars()]
    assert any("absence" in (n or "") and "autre bénévole" in (n or "") for n in notes)


def test_a_rider_sending_absent_is_told_what_it_is_for(app, client, twilio_token, daytime):
    make_people(1)
    reply = text(client, RIDER_PHONE, "absent demain")
    assert "conducteurs bénévoles" in reply and "ANNULER" in reply
    assert db.session.execute(db.select(DriverAbsence)).scalars().all() == []


def test_wrong_absence_text_gets_an_example(app, client, twilio_token, daytime):
    _s, (marc,), _rider = make_people(1)
    reply = text(client, marc.phone_e164, "ABSENT bientôt")
    assert "Indiquez les dates" in reply and "ABSENT du 12/12 au 20/12" in reply
