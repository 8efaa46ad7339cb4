"""Inbound texts handled by the queue (SMS_INBOUND_QUEUED, the production profile's mode): the
webhook only stores and queues them; the worker answers through the outbox, once per text, and
a text whose task was lost, or whose worker died, is taken up again."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import update

import app.tasks as tasks_module
from app.extensions import db
from app.models import Proposal, RideNeed, SmsMessage, utcnow
from app.services import rides
from app.services.conversations import process_received, requeue_inbound
from tests.sms.conftest import RIDER_PHONE, make_need, make_people, outbox, signed_post


@pytest.fixture
def queued(app, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "SMS_INBOUND_QUEUED", True)


def _post(client, phone: str, body: str, sid: str) -> str:  # type: ignore[no-untyped-def]
    response = signed_post(client, "/sms/inbound", {"MessageSid": sid, "From": phone, "Body": body})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == "Response"
    return "\n".join(m.text or "" for m in root.iter("Message"))


def _inbound() -> list[SmsMessage]:
    db.session.expire_all()
    return list(db.session.execute(db.select(SmsMessage).where(SmsMessage.direction == "in")
                                   .order_by(SmsMessage.id)).scalars())


def _status(model, row_id: int) -> str:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(model, row_id).status


def test_the_webhook_stores_and_the_worker_answers_through_the_outbox(
        app, client, twilio_token, daytime, queued, monkeypatch):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    lost: list[int] = []
    monkeypatch.setattr(tasks_module, "enqueue_inbound", lost.append)  # the task is lost

    assert _post(client, marc.phone_e164, f"OUI {proposal.code}", "SMQ1") == ""  # empty TwiML
    [row] = _inbound()
    assert row.status == "received" and lost == [row.id]
    assert _status(RideNeed, need.id) == "proposed"  # nothing handled in the request

    assert requeue_inbound(grace_s=3600) == 0  # too recent: its own task may still run
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "SMS_INBOUND_QUEUED", True)
    assert requeue_inbound(grace_s=0) == 1  # the sweep finds it; the (immediate) queue runs it
    assert _status(RideNeed, need.id) == "confirmed"
    assert _status(Proposal, proposal.id) == "accepted"
    [row] = _inbound()
    assert row.status == "processed" and row.driver_id == marc.id and row.kind == "yes"
    [reply] = outbox(marc.phone_e164, kind="reply")
    assert "Merci Marc" in reply.body and reply.in_reply_to_id == row.id
    assert reply.driver_id == marc.id and reply.status in ("sent", "delivered")
    assert len(outbox(RIDER_PHONE, kind="confirmation")) == 1
    assert requeue_inbound(grace_s=0) == 0 and process_received(row.id) == "done"


def test_a_retried_webhook_is_handled_once(app, client, twilio_token, daytime, queued):
    _s, (marc,), rider = make_people(1)
    proposal = rides.propose_ride(make_need(rider), marc)
    for _ in range(3):
        assert _post(client, marc.phone_e164, f"OUI {proposal.code}", "SMQ2") == ""
    assert len(_inbound()) == 1
    assert len(outbox(marc.phone_e164, kind="reply")) == 1
    assert len(outbox(RIDER_PHONE, kind="confirmation")) == 1


def test_a_text_held_by_a_live_worker_is_left_and_one_of_a_dead_worker_taken_over(
        app, client, twilio_token, daytime, queued, monkeypatch):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    monkeypatch.setattr(tasks_module, "enqueue_inbound", lambda row_id: None)
    _post(client, marc.phone_e164, f"NON {proposal.code}", "SMQ3")
    [row] = _inbound()
    # Another worker claimed it a moment ago: not handled twice.
    db.session.execute(update(SmsMessage).where(SmsMessage.id == row.id).values(status="processing"))
    db.session.commit()
    assert process_received(row.id) == "busy"
    assert requeue_inbound(grace_s=0) == 0
    assert _status(Proposal, proposal.id) == "pending"
    # That worker died two minutes ago: the text is taken over.
    db.session.execute(update(SmsMessage).where(SmsMessage.id == row.id)
                       .values(updated_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    assert process_received(row.id) == "declined"
    assert _status(Proposal, proposal.id) == "declined"
    assert _status(SmsMessage, row.id) == "processed"
    assert process_received(row.id) == "done"
    assert len(outbox(marc.phone_e164, kind="reply")) == 1


def test_stop_is_acknowledged_from_the_outbox(app, client, twilio_token, daytime, queued):
    _s, (marc,), _rider = make_people(1)
    assert _post(client, marc.phone_e164, "STOP", "SMQ4") == ""
    [ack] = outbox(marc.phone_e164, kind="stop_ack")
    assert ack.status in ("sent", "delivered")  # sent although the number has just opted out
