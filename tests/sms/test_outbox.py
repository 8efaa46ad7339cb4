"""The outbox: rules for proposals, retries, the lease, the sweep, opt-out, reminders."""

from __future__ import annotations

import socket
import time as time_module
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import NeedEvent, Proposal, RideNeed, SmsMessage
from app.services import notifications, rides
from app.services.notifications import (
    SmsOptedOut,
    SmsRuleError,
    check_proposal_sms,
    deliver_outbox_message,
    quiet_until,
    send_reminders,
    send_sms,
    set_opt_out,
    sweep_outbox,
)
from app.services.sms_providers import (
    DevProvider,
    ProviderAmbiguousError,
    ProviderPermanentError,
    ProviderTemporaryError,
    get_provider,
)
from app.tasks import TaskQueueConfigError, build_huey
from tests.sms.conftest import PARIS, RIDER_PHONE, make_need, make_people, outbox


@pytest.fixture
def dev_provider(app) -> DevProvider:  # type: ignore[no-untyped-def]
    provider = get_provider(app)
    assert isinstance(provider, DevProvider)
    provider.fail_next.clear()
    yield provider
    provider.fail_next.clear()


def _row(row_id: int) -> SmsMessage:
    db.session.expire_all()
    return db.session.get(SmsMessage, row_id)


def _make_due(row_id: int) -> None:
    db.session.execute(db.update(SmsMessage).where(SmsMessage.id == row_id).values(next_attempt_at=None))
    db.session.commit()


def test_a_message_is_stored_before_it_is_sent(app, dev_provider):
    row = send_sms("+33655555501", "Bonjour", kind="test")
    row = _row(row.id)
    assert (row.direction, row.status, row.attempts, row.segments, row.encoding) == ("out", "delivered", 1, 1, "gsm7")
    assert row.provider_sid == f"DEV{row.reference}"


def test_temporary_failures_are_retried_with_back_off(app, dev_provider):
    dev_provider.fail_next.extend([ProviderTemporaryError("503"), ProviderTemporaryError("429", retry_after_s=30)])
    row = send_sms("+33655555502", "Bonjour", kind="test")
    row = _row(row.id)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "503")
    assert row.next_attempt_at is not None
    # Not due yet: the task reschedules itself instead of sending.
    assert deliver_outbox_message(row.id) == "later"
    _make_due(row.id)
    assert deliver_outbox_message(row.id) == "retry"
    row = _row(row.id)
    waited = notifications.aware(row.next_attempt_at) - datetime.now(UTC)
    assert waited > timedelta(seconds=25)  # Retry-After honoured
    _make_due(row.id)
    assert deliver_outbox_message(row.id) == "sent"
    row = _row(row.id)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert deliver_outbox_message(row.id) == "done"  # a duplicate task does nothing


def test_too_many_attempts_fail_loudly(app, dev_provider, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_MAX_ATTEMPTS", 2)
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    dev_provider.fail_next.extend([ProviderTemporaryError("500"), ProviderTemporaryError("500")])
    row = send_sms(marc.phone_e164, "Bonjour", kind="test", need_id=need.id)
    _make_due(row.id)
    assert deliver_outbox_message(row.id) == "failed"
    assert _row(row.id).status == "failed"
    notes = [e.note for e in db.session.execute(db.select(NeedEvent).where(NeedEvent.need_id == need.id)).scalars()]
    assert any("SMS non remis" in n for n in notes)


def test_a_permanent_error_is_not_retried(app, dev_provider):
    dev_provider.fail_next.append(ProviderPermanentError("21211 invalid number"))
    row = send_sms("+33655555503", "Bonjour", kind="test")
    row = _row(row.id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "21211 invalid number")


def test_an_ambiguous_failure_is_reconciled_before_sending_again(app, dev_provider, monkeypatch):
    dev_provider.fail_next.append(ProviderAmbiguousError("read timeout"))
    row = send_sms("+33655555504", "Bonjour", kind="test")
    row = _row(row.id)
    assert (row.status, row.sending_owner) == ("sending", None)  # released, outcome unknown
    found = []
    monkeypatch.setattr(dev_provider, "find_sent", lambda to, body, since: found.append((to, body)) or None)
    _make_due(row.id)
    assert deliver_outbox_message(row.id) == "sent"
    assert found == [("+33655555504", "Bonjour")]
    assert _row(row.id).attempts == 2


def test_a_live_lease_is_respected_and_a_dead_one_taken_over(app, dev_provider):
    row = send_sms("+33655555505", "Bonjour", kind="test")
    now = datetime.now(UTC)
    elsewhere = "other-host:4242:1:abcd"
    db.session.execute(db.update(SmsMessage).where(SmsMessage.id == row.id)
                       .values(status="sending", sending_owner=elsewhere, sending_started_at=now, provider_sid=None))
    db.session.commit()
    assert deliver_outbox_message(row.id) == "busy"
    assert sweep_outbox(grace_s=0) == 0
    # Same host, process gone: taken over at once.
    dead = f"{socket.gethostname()}:999999:1:abcd"
    db.session.execute(db.update(SmsMessage).where(SmsMessage.id == row.id).values(sending_owner=dead))
    db.session.commit()
    assert notifications.lease_broken(_row(row.id))
    assert deliver_outbox_message(row.id) == "sent"
    # Another host, lease expired.
    db.session.execute(db.update(SmsMessage).where(SmsMessage.id == row.id).values(
        status="sending", sending_owner=elsewhere, sending_started_at=now - timedelta(minutes=5)))
    db.session.commit()
    assert notifications.lease_broken(_row(row.id))


def test_the_sweep_recovers_rows_whose_task_was_lost(app, dev_provider):
    old = datetime.now(UTC) - timedelta(minutes=5)
    lost = SmsMessage(direction="out", phone_e164="+33655555506", body="perdu", kind="test", status="queued",
                      reference="lost-ref", created_at=old, attempts=0)
    fresh = SmsMessage(direction="out", phone_e164="+33655555507", body="neuf", kind="test", status="queued",
                       reference="fresh-ref", attempts=0)
    db.session.add_all([lost, fresh])
    db.session.commit()
    assert sweep_outbox() == 1  # the fresh one's own task is about to run
    assert _row(lost.id).status == "delivered"
    assert _row(fresh.id).status == "queued"


def test_opted_out_numbers_get_nothing(app, dev_provider):
    set_opt_out("+33655555508", True, keyword="STOP")
    row = send_sms("+33655555508", "Bonjour", kind="test")
    assert (_row(row.id).status, _row(row.id).last_error) == ("cancelled", "opted out (STOP)")
    # A row queued before the STOP is cancelled when its turn comes.
    set_opt_out("+33655555509", False)
    queued = SmsMessage(direction="out", phone_e164="+33655555509", body="x", kind="test", status="queued",
                        reference="r509", attempts=0)
    db.session.add(queued)
    db.session.commit()
    set_opt_out("+33655555509", True)
    assert deliver_outbox_message(queued.id) == "cancelled"


def _quiet_around_now(app, monkeypatch) -> datetime:  # type: ignore[no-untyped-def]
    now = datetime.now(PARIS)
    start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", f"{start:%H:%M}-{end:%H:%M}")
    return now


def test_quiet_hours_delay_a_proposal_to_the_morning(app, dev_provider, monkeypatch):
    now = _quiet_around_now(app, monkeypatch)
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    [row] = outbox(marc.phone_e164)
    assert row.status == "queued"
    expected_end = notifications.aware(quiet_until(now))
    assert notifications.aware(row.not_before) == expected_end
    assert notifications.proposal_sms(proposal).id == row.id
    notes = [e.note for e in db.session.execute(db.select(NeedEvent).where(NeedEvent.need_id == need.id)).scalars()]
    assert any("Pas de SMS la nuit" in (n or "") for n in notes)
    assert deliver_outbox_message(row.id) == "later"
    # Taken by someone else before the morning: never sent.
    db.session.execute(db.update(type(proposal)).where(type(proposal).id == proposal.id).values(status="taken"))
    db.session.execute(db.update(SmsMessage).where(SmsMessage.id == row.id).values(not_before=None))
    db.session.commit()
    assert deliver_outbox_message(row.id) == "cancelled"


@pytest.mark.parametrize(("spec", "clock", "until"), [
    ("20:30-08:00", time(22, 0), (1, time(8, 0))),
    ("20:30-08:00", time(6, 0), (0, time(8, 0))),
    ("20:30-08:00", time(12, 0), None),
    ("12:00-14:00", time(13, 0), (0, time(14, 0))),
    ("", time(3, 0), None),
])
def test_quiet_until(app, monkeypatch, spec, clock, until):
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", spec)
    moment = datetime.combine(datetime(2026, 3, 10).date(), clock, tzinfo=PARIS)
    result = quiet_until(moment)
    if until is None:
        assert result is None
    else:
        days, end = until
        assert result == datetime.combine(moment.date() + timedelta(days=days), end, tzinfo=PARIS)


def test_no_proposal_within_an_hour_of_departure(app, dev_provider, daytime):
    _s, (marc,), rider = make_people(1)
    soon = make_need(rider, datetime.now(PARIS) + timedelta(minutes=40))
    with pytest.raises(SmsRuleError, match="moins d'une heure"):
        check_proposal_sms(marc, soon.requested_at)
    rides.propose_ride(soon, marc)
    assert outbox(marc.phone_e164) == []


def test_night_proposal_for_an_early_ride_is_refused(app, dev_provider, monkeypatch):
    _quiet_around_now(app, monkeypatch)
    _s, (marc,), rider = make_people(1)
    with pytest.raises(SmsRuleError, match="Pas de SMS la nuit"):
        check_proposal_sms(marc, datetime.now(UTC) + timedelta(hours=2, minutes=30))


def test_daily_cap_per_driver(app, dev_provider, daytime, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_MAX_PROPOSALS_PER_DRIVER_PER_DAY", 2)
    _s, (marc,), rider = make_people(1)
    for _ in range(2):
        rides.propose_ride(make_need(rider), marc)
    with pytest.raises(SmsRuleError, match="déjà reçu 2 propositions"):
        check_proposal_sms(marc, datetime.now(UTC) + timedelta(days=2))
    rides.propose_ride(make_need(rider), marc)
    assert len(outbox(marc.phone_e164, kind="proposal")) == 2


def test_opted_out_driver_rule_message(app, dev_provider, daytime):
    _s, (marc,), _rider = make_people(1)
    set_opt_out(marc.phone_e164, True)
    with pytest.raises(SmsOptedOut, match="STOP"):
        check_proposal_sms(marc, datetime.now(UTC) + timedelta(days=2))


def test_reminders_the_day_before(app, dev_provider, daytime):
    _s, (marc,), rider = make_people(1)
    tomorrow = datetime.now(PARIS).date() + timedelta(days=1)
    need = make_need(rider, datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=PARIS))
    proposal = rides.propose_ride(need, marc)
    assert rides.accept_proposal(proposal, via="phone")
    today_10 = datetime.combine(tomorrow - timedelta(days=1), time(10, 0), tzinfo=PARIS)
    assert send_reminders(today_10) == 2
    [rider_reminder] = outbox(RIDER_PHONE, kind="reminder")
    [driver_reminder] = outbox(marc.phone_e164, kind="reminder_driver")
    assert "demain" in rider_reminder.body and "9h30" in rider_reminder.body and "Marc" in rider_reminder.body
    assert "Roseline D." in driver_reminder.body
    assert send_reminders(today_10 + timedelta(minutes=15)) == 0  # once only
    assert send_reminders(datetime.combine(tomorrow - timedelta(days=1), time(23, 0), tzinfo=PARIS)) == 0
    # Accepted by phone: the driver also got the confirmation by SMS.
    assert len(outbox(marc.phone_e164, kind="driver_confirmation")) == 1


def test_reminders_skip_cancelled_rides(app, dev_provider, daytime):
    _s, (marc,), rider = make_people(1)
    tomorrow = datetime.now(PARIS).date() + timedelta(days=1)
    need = make_need(rider, datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=PARIS))
    proposal = rides.propose_ride(need, marc)
    rides.accept_proposal(proposal, via="web")
    rides.cancel_need(need, via="web")
    assert send_reminders(datetime.combine(tomorrow - timedelta(days=1), time(10, 0), tzinfo=PARIS)) == 0
    assert len(outbox(marc.phone_e164, kind="cancellation")) == 1
    assert len(outbox(RIDER_PHONE, kind="cancellation")) == 1


def test_queue_urls(tmp_path):
    from huey import RedisHuey, SqliteHuey

    assert isinstance(build_huey(f"sqlite:///{tmp_path / 'q.db'}"), SqliteHuey)
    assert isinstance(build_huey("redis://127.0.0.1:6379/15"), RedisHuey)
    assert build_huey("redis://127.0.0.1:6379/15", immediate=True).immediate
    with pytest.raises(TaskQueueConfigError):
        build_huey("amqp://nowhere")


def test_the_sms_commands(app, dev_provider):
    from app.sms.cli import sms

    runner = app.test_cli_runner()
    send_sms("+33655555599", "Bonjour", kind="test")
    result = runner.invoke(sms, ["outbox"])
    assert result.exit_code == 0 and "+33655555599" in result.output and "delivered" in result.output
    result = runner.invoke(sms, ["sweep"])
    assert result.exit_code == 0 and "0 message(s) re-queued" in result.output
    result = runner.invoke(sms, ["worker"])  # immediate mode in tests: no worker to run
    assert result.exit_code != 0 and "TASK_QUEUE_IMMEDIATE" in result.output


# --- The transactional outbox ------------------------------------------------------------------

@contextmanager
def failing_outbox_write():
    """Make the database refuse the next flush that writes an outbox row (a real SQLAlchemy
    hook, raised inside the transaction of the status change)."""

    def refuse(session, _context):  # type: ignore[no-untyped-def]
        if any(isinstance(obj, SmsMessage) for obj in session.new):
            raise RuntimeError("injected failure: outbox row refused")

    event.listen(db.session, "after_flush", refuse)
    try:
        yield
    finally:
        event.remove(db.session, "after_flush", refuse)


def _state(need_id: int) -> tuple[str, int, int, int]:
    db.session.expire_all()
    need = db.session.get(RideNeed, need_id)
    proposals = db.session.query(Proposal).filter_by(need_id=need_id).count()
    messages = db.session.query(SmsMessage).filter_by(need_id=need_id).count()
    return need.status, need.version, proposals, messages


def test_a_failed_sms_write_rolls_back_the_proposal(app, dev_provider, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    before = _state(need.id)
    with failing_outbox_write(), pytest.raises(rides.NotificationFailed, match="rien n'a été modifié"):
        rides.propose_ride(need, marc)
    # Neither a status change without its SMS, nor an SMS without its status change.
    assert _state(need.id) == before == ("searching", before[1], 0, 0)
    proposal = rides.propose_ride(db.session.get(RideNeed, need.id), marc)  # works once the fault is gone
    [row] = outbox(marc.phone_e164, kind="proposal")
    assert (row.proposal_id, row.driver_id, row.status) == (proposal.id, marc.id, "delivered")
    assert _state(need.id)[0] == "proposed"


def test_a_failed_sms_write_rolls_back_the_confirmation_and_the_cancellation(app, dev_provider, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    before = _state(need.id)
    with failing_outbox_write(), pytest.raises(rides.NotificationFailed):
        rides.accept_proposal(proposal, via="phone")
    assert _state(need.id) == before
    assert db.session.get(Proposal, proposal.id).status == "pending"
    assert rides.accept_proposal(db.session.get(Proposal, proposal.id), via="phone")
    confirmed = _state(need.id)
    assert confirmed[0] == "confirmed" and len(outbox(RIDER_PHONE, kind="confirmation")) == 1
    with failing_outbox_write(), pytest.raises(rides.NotificationFailed):
        rides.cancel_need(db.session.get(RideNeed, need.id), via="web")
    assert _state(need.id) == confirmed
    assert outbox(kind="cancellation") == []


def test_the_sweep_sends_a_row_committed_but_never_queued(app, dev_provider, daytime, monkeypatch, tmp_path):
    """The process dies right after the commit of a proposal, before queuing its SMS; the
    next worker's start-up sweep (real huey queue, SQLite storage, in-process consumer) sends it."""
    from app.tasks import app_tasks, start_consumer_in_process

    monkeypatch.setitem(app.config, "TASK_QUEUE_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "TASK_QUEUE_URL", f"sqlite:///{tmp_path / 'tasks.db'}")
    monkeypatch.setitem(app.config, "SMS_SWEEP_GRACE_S", 0)
    monkeypatch.setitem(app.extensions, "huey", None)
    app.extensions.pop("huey")
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)

    wrote_sms: list[bool] = []

    def note(session, _context):  # type: ignore[no-untyped-def]
        wrote_sms.extend(True for obj in session.new if isinstance(obj, SmsMessage))

    def crash(_session):  # type: ignore[no-untyped-def]
        if wrote_sms:  # the commit that stores the outbox row with the status change
            raise SystemExit("killed between commit and enqueue")

    event.listen(db.session, "after_flush", note)
    event.listen(db.session, "after_commit", crash)
    try:
        with pytest.raises(SystemExit):
            rides.propose_ride(need, marc)
    finally:
        event.remove(db.session, "after_flush", note)
        event.remove(db.session, "after_commit", crash)
    db.session.remove()  # the dead process's memory is gone with it
    [row] = outbox(marc.phone_e164, kind="proposal")
    assert row.status == "queued" and _state(need.id)[0] == "proposed"
    huey = app_tasks(app).huey
    assert huey.pending_count() == 0  # nothing was ever queued
    consumer = start_consumer_in_process(app, workers=1, periodic=False)
    assert consumer is not None
    try:
        deadline = time_module.monotonic() + 30
        while _row(row.id).status == "queued" and time_module.monotonic() < deadline:
            time_module.sleep(0.2)
    finally:
        consumer.stop(graceful=True)
    sent = _row(row.id)
    assert (sent.status, sent.provider_sid, sent.attempts) == ("delivered", f"DEV{sent.reference}", 1)
