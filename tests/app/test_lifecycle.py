"""Life cycle of proposals and needs (app.services.lifecycle): unanswered proposals and routes
lapse, the next candidate is proposed when the aidant chose so, late SMS answers are refused,
open needs of a past day become 'unserved', and the periodic tasks do it on the real queue.

Every moment is passed explicitly (``now``); the ride days are relative to today so that the
drivers' documents (valid for 400 days from today) and the SMS rules hold whenever it runs.
"""

from __future__ import annotations

import time as time_module
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import DriverAvailability, NeedEvent, Proposal, RideNeed, RideRoute, utcnow
from app.services import lifecycle, notifications, rides
from app.services.matching import candidates_for_need
from app.sms.encoding import count_segments
from app.tasks import TaskQueueConfigError, app_tasks, clock_time, start_consumer_in_process
from tests.sms.conftest import (
    AUTH_TOKEN,
    PARIS,
    RIDER_PHONE,
    make_need,
    make_people,
    outbox,
    signed_post,
)

_sid = iter(range(500_000, 599_999))


@pytest.fixture
def sms_ready(app, monkeypatch):  # type: ignore[no-untyped-def]
    """Signed webhooks accepted, and no quiet hours whatever the hour the tests run at."""
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "")


def _text(client, phone: str, body: str) -> str:  # type: ignore[no-untyped-def]
    """Send an SMS through the signed webhook; the TwiML reply's text."""
    response = signed_post(client, "/sms/inbound", {"MessageSid": f"SM{next(_sid)}", "From": phone, "Body": body})
    assert response.status_code == 200
    return "\n".join(m.text or "" for m in ElementTree.fromstring(response.get_data()).iter("Message"))


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def _today() -> date:
    return datetime.now(PARIS).date()


def _soon() -> datetime:
    """A deadline an hour from now (whole seconds: both back-ends store it exactly)."""
    return utcnow().replace(microsecond=0) + timedelta(hours=1)


def _expires(proposal: Proposal, at: datetime) -> None:
    db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(expires_at=at))
    db.session.commit()


def _fresh(model, row_id: int):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(model, row_id)


def _notes(need: RideNeed) -> list[str]:
    db.session.expire_all()
    return list(db.session.execute(select(NeedEvent.note).where(NeedEvent.need_id == need.id)
                                   .order_by(NeedEvent.id)).scalars())


def _route(driver, needs: list[RideNeed], *, expires_at: datetime) -> tuple[RideRoute, list[Proposal]]:  # type: ignore[no-untyped-def]
    """A pooled route of ``needs`` proposed to ``driver`` (app.services.rides.propose_route, SMS
    included), answerable until ``expires_at``."""
    riders, stops = [], []
    for need in needs:
        pickup, dropoff = need.requested_at - timedelta(minutes=40), need.requested_at - timedelta(minutes=5)
        riders.append(rides.RouteRider(need_id=need.id, legs=("outbound",), pickup_at=pickup, dropoff_at=dropoff))
        stops += [{"need": need.id, "kind": "pickup", "leg": "outbound", "at": pickup.isoformat()},
                  {"need": need.id, "kind": "dropoff", "leg": "outbound", "at": dropoff.isoformat()}]
    stops.sort(key=lambda stop: stop["at"])
    route = rides.propose_route(rides.RoutePlan(
        driver_id=driver.id, offer_id=None, kind="volunteer", start_at=riders[0].pickup_at - timedelta(minutes=20),
        end_at=riders[-1].dropoff_at + timedelta(minutes=20), distance_m=30_000, stops=stops, riders=riders))
    db.session.execute(update(RideRoute).where(RideRoute.id == route.id).values(expires_at=expires_at))
    db.session.execute(update(Proposal).where(Proposal.route_id == route.id).values(expires_at=expires_at))
    db.session.commit()
    proposals = db.session.execute(select(Proposal).where(Proposal.route_id == route.id)
                                   .order_by(Proposal.id)).scalars().all()
    assert len(outbox(driver.phone_e164, kind="proposal")) == 1  # the route reached her in one SMS
    return route, list(proposals)


# --- Expiry ------------------------------------------------------------------------------------

def test_an_unanswered_proposal_lapses_and_the_need_is_searched_again(app, sms_ready):
    structure, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    deadline = _soon()
    _expires(proposal, deadline)

    early = lifecycle.expire_due(now=deadline - timedelta(seconds=1))
    assert early.proposals == [] and _fresh(Proposal, proposal.id).status == "pending"

    report = lifecycle.expire_due(now=deadline)
    assert (report.proposals, report.reopened, report.failed) == ([proposal.id], [need.id], [])
    assert _fresh(Proposal, proposal.id).status == "expired"
    assert _fresh(RideNeed, need.id).status == "searching"
    notes = _notes(need)
    assert "Proposition expirée sans réponse de Marc V." in notes
    assert notes[-1] == "Plus aucune proposition en attente : reprendre la recherche."
    [sms] = outbox(marc.phone_e164, kind="expired")
    assert proposal.code in sms.body and "a expiré" in sms.body and "Marc" in sms.body
    assert count_segments(sms.body).segments == 1 and sms.encoding == "gsm7" and sms.not_before is None

    again = lifecycle.expire_due(now=deadline + timedelta(minutes=10))
    assert again.proposals == [] and len(outbox(marc.phone_e164, kind="expired")) == 1
    assert len(_notes(need)) == len(notes)

    [notice] = lifecycle.recent_expiries([structure.id], deadline - timedelta(minutes=1))
    assert (notice.need_id, notice.driver, notice.rider, notice.next_driver) == (need.id, "Marc V.", "Roseline D.", None)
    assert notice.expired_at == deadline and "à nouveau à pourvoir" in notice.message_fr
    assert lifecycle.recent_expiries([structure.id + 1], deadline - timedelta(minutes=1)) == []
    assert lifecycle.recent_expiries([structure.id], deadline + timedelta(seconds=1)) == []


def test_the_need_stays_proposed_while_another_driver_is_asked(app, sms_ready):
    structure, (marc, julie), rider = make_people(2)
    need = make_need(rider)
    first, second = rides.propose_ride(need, marc), rides.propose_ride(need, julie)
    deadline = _soon()
    _expires(first, deadline)
    _expires(second, deadline + timedelta(hours=2))
    report = lifecycle.expire_due(now=deadline)
    assert (report.proposals, report.reopened) == ([first.id], [])
    assert _fresh(RideNeed, need.id).status == "proposed" and _fresh(Proposal, second.id).status == "pending"
    [notice] = lifecycle.recent_expiries([structure.id], deadline)
    assert notice.next_driver == "Julie V." and "maintenant proposé à Julie V." in notice.message_fr
    assert lifecycle.expire_due(now=deadline + timedelta(hours=2)).reopened == [need.id]
    assert _fresh(RideNeed, need.id).status == "searching"


def test_the_notice_waits_for_the_morning_and_skips_drivers_never_texted(app, sms_ready, monkeypatch):
    _s, (marc, julie), rider = make_people(2)
    notifications.set_opt_out(julie.phone_e164, True)
    need = make_need(rider)
    texted, never_texted = rides.propose_ride(need, marc), rides.propose_ride(need, julie)
    assert outbox(julie.phone_e164, kind="proposal") == []  # STOP: her proposal never left
    today = _today()
    night = _local(today, 23, 10).astimezone(UTC)
    _expires(texted, night)
    _expires(never_texted, night)
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "20:30-08:00")
    report = lifecycle.expire_due(now=night)
    assert sorted(report.proposals) == sorted([texted.id, never_texted.id])
    [sms] = outbox(marc.phone_e164, kind="expired")
    assert notifications.aware(sms.not_before) == _local(today + timedelta(days=1), 8).astimezone(UTC)
    assert outbox(julie.phone_e164, kind="expired") == []


def test_auto_next_proposes_the_next_candidate_then_says_when_nobody_is_left(app, sms_ready):
    _s, drivers, rider = make_people(2)
    need = make_need(rider)
    for driver in drivers:
        driver.max_distance_km = 30
        db.session.add(DriverAvailability(driver_id=driver.id, weekday=need.requested_at.astimezone(PARIS).weekday(),
                                          slot="morning"))
    need.auto_next = True
    db.session.commit()
    candidates = candidates_for_need(need).candidates
    assert {c.driver.id for c in candidates} == {d.id for d in drivers}
    best = candidates[0]
    first = rides.propose_ride(need, best.driver, candidate=best)
    deadline = _soon()
    _expires(first, deadline)

    report = lifecycle.expire_due(now=deadline)
    assert report.reopened == [need.id] and need.id in report.auto_proposed
    second = _fresh(Proposal, report.auto_proposed[need.id])
    assert second.status == "pending" and second.driver_id != best.driver.id
    assert _fresh(RideNeed, need.id).status == "proposed"
    other = second.driver
    assert f"Proposé automatiquement à {other.first_name} {other.last_name[0]}." in " ".join(_notes(need))
    assert len(outbox(other.phone_e164, kind="proposal")) == 1

    _expires(second, deadline + timedelta(minutes=30))
    report = lifecycle.expire_due(now=deadline + timedelta(minutes=30))
    assert report.exhausted == [need.id] and report.auto_proposed == {}
    assert _fresh(RideNeed, need.id).status == "searching"
    assert "plus aucun bénévole disponible" in _notes(need)[-1]
    # Nobody who let the ride lapse is asked again.
    asked = db.session.execute(select(Proposal.driver_id).where(Proposal.need_id == need.id)).scalars().all()
    assert sorted(asked) == sorted(d.id for d in drivers)


def test_a_pooled_route_lapses_as_a_whole(app, client, sms_ready):
    structure, (marc,), rider = make_people(1)
    day = _today() + timedelta(days=2)
    needs = [make_need(rider, _local(day, 10)), make_need(rider, _local(day, 10, 30))]
    deadline = _soon()
    route, proposals = _route(marc, needs, expires_at=deadline)

    assert lifecycle.expire_due(now=deadline - timedelta(seconds=1)).routes == []
    report = lifecycle.expire_due(now=deadline)
    assert report.routes == [route.id] and sorted(report.reopened) == sorted(n.id for n in needs)
    assert _fresh(RideRoute, route.id).status == "expired"
    assert [_fresh(Proposal, p.id).status for p in proposals] == ["expired", "expired"]
    for need in needs:
        assert _fresh(RideNeed, need.id).status == "searching"
        assert any(n.startswith("Proposition expirée sans réponse de Marc V.") for n in _notes(need))
    [sms] = outbox(marc.phone_e164, kind="expired")  # one notice for the whole route
    assert "tournée" in sms.body and route.code in sms.body and count_segments(sms.body).segments == 1
    notices = lifecycle.recent_expiries([structure.id], deadline)
    assert {n.need_id for n in notices} == {n.id for n in needs} and {n.route_code for n in notices} == {route.code}
    # Her OUI to the lapsed route comes too late: refused, nothing changes.
    reply = _text(client, marc.phone_e164, f"OUI {route.code}")
    assert "confirmé" not in reply and "Merci" in reply, reply
    assert _fresh(RideRoute, route.id).status == "expired"
    assert [_fresh(RideNeed, n.id).status for n in needs] == ["searching", "searching"]


# --- Late answers by SMS (refused by app.services.rides and app.services.conversations) ---------

def _assert_refused(reply: str, need: RideNeed, proposal: Proposal, statuses: tuple[str, str]) -> None:
    assert reply.strip() and ("Merci" in reply or "Bonjour" in reply or "Désolé" in reply), reply
    assert "confirmé" not in reply, reply
    assert (_fresh(RideNeed, need.id).status, _fresh(Proposal, proposal.id).status) == statuses
    assert outbox(RIDER_PHONE, kind="confirmation") == []


def test_oui_after_the_proposal_expired_is_refused(app, client, sms_ready):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    deadline = _soon()
    _expires(proposal, deadline)
    lifecycle.expire_due(now=deadline)
    reply = _text(client, marc.phone_e164, f"OUI {proposal.code}")
    _assert_refused(reply, need, proposal, ("searching", "expired"))


def test_oui_after_the_proposal_was_withdrawn_is_refused(app, client, sms_ready):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    rides.withdraw_proposals(need, by_user=None)
    reply = _text(client, marc.phone_e164, f"OUI {proposal.code}")
    _assert_refused(reply, need, proposal, ("searching", "withdrawn"))


def test_oui_after_the_rides_date_is_refused(app, client, sms_ready):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    # The days go by without an answer (and without the end-of-day task): the ride was yesterday.
    yesterday = _local(_today() - timedelta(days=1), 10).astimezone(UTC)
    db.session.execute(update(RideNeed).where(RideNeed.id == need.id).values(requested_at=yesterday))
    db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(
        pickup_at=yesterday - timedelta(minutes=30), expires_at=None))
    db.session.commit()
    reply = _text(client, marc.phone_e164, f"OUI {proposal.code}")
    _assert_refused(reply, need, proposal, ("proposed", "pending"))


# --- End of day --------------------------------------------------------------------------------

def test_open_needs_of_a_past_day_become_unserved_at_the_end_of_the_day(app, sms_ready):
    _s, (marc, julie, paul), rider = make_people(3)
    day = _today() + timedelta(days=3)
    searching = make_need(rider, _local(day, 10))
    proposed = make_need(rider, _local(day, 15))
    pending = rides.propose_ride(proposed, marc)
    confirmed = make_need(rider, _local(day, 11))
    rides.accept_proposal(rides.propose_ride(confirmed, julie), via="phone")
    late_new = make_need(rider, _local(day, 23, 30))
    late_new.status = "new"
    next_day = make_need(rider, _local(day + timedelta(days=1), 0, 30))  # still "day" in UTC
    in_route = make_need(rider, _local(day, 9))
    route, [route_proposal] = _route(paul, [in_route], expires_at=_local(day, 8).astimezone(UTC))

    assert lifecycle.close_past_days(now=_local(day, 23, 59).astimezone(UTC)).unserved == []
    midnight = _local(day + timedelta(days=1), 0, 5).astimezone(UTC)
    report = lifecycle.close_past_days(now=midnight)
    assert report.unserved == [in_route.id, searching.id, proposed.id, late_new.id]
    assert report.routes == [route.id]
    for need in (in_route, searching, proposed, late_new):
        closed = _fresh(RideNeed, need.id)
        assert (closed.status, closed.unserved_reason) == ("unserved", lifecycle.PAST_DAY_REASON)
        event = db.session.execute(select(NeedEvent).where(NeedEvent.need_id == need.id)
                                   .order_by(NeedEvent.id.desc())).scalars().first()
        assert (event.actor, event.to_status) == ("système", "unserved")
        assert event.note == f"Sans solution : {lifecycle.PAST_DAY_REASON}"
    assert _fresh(Proposal, pending.id).status == "withdrawn"
    assert _fresh(RideRoute, route.id).status == "expired"
    assert _fresh(Proposal, route_proposal.id).status in ("expired", "withdrawn")
    assert _fresh(RideNeed, confirmed.id).status == "confirmed"  # an aidant marks it done
    assert _fresh(RideNeed, next_day.id).status == "searching"
    assert outbox(paul.phone_e164, kind="expired") == [] and outbox(marc.phone_e164, kind="withdrawn") == []
    assert lifecycle.close_past_days(now=midnight + timedelta(minutes=5)).unserved == []


# --- The periodic tasks ------------------------------------------------------------------------

def test_expiries_run_every_5_minutes_and_the_end_of_day_after_local_midnight(sapp):
    periodic = {t.name: t for t in app_tasks(sapp).huey._registry.periodic_tasks}
    expire, close = periodic["rides.expire"], periodic["rides.close_past_days"]
    # huey hands the schedules naive UTC moments.
    assert expire.validate_datetime(datetime(2026, 3, 10, 10, 0)) and expire.validate_datetime(datetime(2026, 3, 10, 10, 5))
    assert not expire.validate_datetime(datetime(2026, 3, 10, 10, 3))
    assert sapp.config["END_OF_DAY_AT"] == "00:05" and sapp.config["TIMEZONE"] == "Europe/Paris"
    assert close.validate_datetime(datetime(2026, 1, 14, 23, 5))  # 00:05 in Paris, winter (UTC+1)
    assert close.validate_datetime(datetime(2026, 3, 28, 23, 5))  # the night of the change to summer time
    assert close.validate_datetime(datetime(2026, 7, 14, 22, 5))  # 00:05 in Paris, summer (UTC+2)
    assert not close.validate_datetime(datetime(2026, 7, 14, 23, 5))
    assert not close.validate_datetime(datetime(2026, 1, 15, 0, 5))
    with pytest.raises(TaskQueueConfigError, match="END_OF_DAY_AT"):
        clock_time("24:05", setting="END_OF_DAY_AT")


def test_the_periodic_tasks_expire_and_close_on_the_real_queue(app, sms_ready, monkeypatch, tmp_path):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    now = _soon()
    _expires(proposal, now)
    yesterday = make_need(rider, _local(now.astimezone(PARIS).date() - timedelta(days=1), 10))

    monkeypatch.setitem(app.config, "TASK_QUEUE_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "TASK_QUEUE_URL", f"sqlite:///{tmp_path / 'tasks.db'}")
    monkeypatch.setitem(app.extensions, "huey", None)
    app.extensions.pop("huey")
    tasks = app_tasks(app)
    tasks.expire(now=now)  # what the consumer's scheduler does every 5 minutes, at a known moment
    tasks.close_days(now=now)  # and just after midnight
    assert tasks.huey.pending_count() == 2
    consumer = start_consumer_in_process(app, workers=1, periodic=False)
    assert consumer is not None

    def done() -> bool:
        notice = outbox(marc.phone_e164, kind="expired")
        return (_fresh(RideNeed, yesterday.id).status == "unserved" and bool(notice)
                and notice[0].status == "delivered")

    try:
        deadline = time_module.monotonic() + 30
        while not done() and time_module.monotonic() < deadline:
            time_module.sleep(0.2)
    finally:
        consumer.stop(graceful=True)
    assert _fresh(Proposal, proposal.id).status == "expired"
    assert _fresh(RideNeed, need.id).status == "searching"
    assert _fresh(RideNeed, yesterday.id).unserved_reason == lifecycle.PAST_DAY_REASON
    [notice] = outbox(marc.phone_e164, kind="expired")
    assert notice.status == "delivered"  # sent by the queue's own delivery task
