"""GDPR by person: SMS linked to the person they belong to, export and erasure through that
link, and the erasure of a volunteer who had rides to do (never silent)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import (
    AuditLog,
    Beneficiary,
    Driver,
    NeedEvent,
    Proposal,
    RideNeed,
    SmsMessage,
    User,
    utcnow,
)
from app.services import rides
from app.services.conversations import handle_inbound
from app.services.people import erase_beneficiary, erase_driver, export_beneficiary, export_driver
from tests.sms.conftest import RIDER_PHONE, commune, make_need, make_people, outbox


@pytest.fixture(autouse=True)
def daytime(app, monkeypatch):  # type: ignore[no-untyped-def]
    """No quiet hours, whatever the hour the tests run at."""
    monkeypatch.setitem(app.config, "SMS_QUIET_HOURS", "")


def _admin(structure) -> User:  # type: ignore[no-untyped-def]
    user = User(email="dpo@example.org", name="Délégué Données", password_hash="-", role="admin",
                structure=structure)
    db.session.add(user)
    db.session.commit()
    return user


def _second_rider(structure, phone: str | None, *, consent: bool = True) -> Beneficiary:  # type: ignore[no-untyped-def]
    rider = Beneficiary(structure=structure, first_name="Louise", last_name="Bories", phone_e164=phone,
                        home_commune_insee=commune("Les Granges").insee,
                        consent_sms_at=utcnow() if consent else None)
    db.session.add(rider)
    db.session.commit()
    return rider


def _bodies(export: dict) -> list[str]:  # type: ignore[type-arg]
    return [m["body"] for m in export["sms"]]


def test_a_shared_number_does_not_pull_another_persons_messages(app):
    """Roseline's number on file is her son Marc's, who is a volunteer: her export and erasure
    hold her own messages only, his export his own only."""
    structure, (marc, julie), roseline = make_people(2)
    roseline.phone_e164 = marc.phone_e164
    louise = _second_rider(structure, "+33611111199")
    db.session.commit()
    # Marc is asked for Louise's ride and answers OUI by SMS.
    louise_need = make_need(louise)
    to_marc = rides.propose_ride(louise_need, marc)
    handle_inbound(marc.phone_e164, f"OUI {to_marc.code}", message_sid="SM-marc-oui")
    # Julie takes Roseline's ride: Roseline's confirmation goes to Marc's number.
    roseline_need = make_need(roseline)
    to_julie = rides.propose_ride(roseline_need, julie)
    assert rides.accept_proposal(to_julie, via="phone")
    on_marcs_number = outbox(marc.phone_e164)
    assert {m.kind for m in on_marcs_number} >= {"proposal", "reply", "confirmation"}
    user = _admin(structure)

    hers = export_beneficiary(roseline, user)
    assert len(hers["sms"]) == 1 and "trajet confirmé" in hers["sms"][0]["body"]
    his = export_driver(marc, user)
    his_bodies = _bodies(his)
    assert any("Répondez OUI" in b for b in his_bodies)  # the proposal
    assert f"OUI {to_marc.code}" in his_bodies  # his answer (inbound)
    assert not any("trajet confirmé" in b for b in his_bodies)  # not his mother's confirmation
    assert all(m["direction"] in ("in", "out") for m in his["sms"])

    marc_ids = {m.id for m in db.session.query(SmsMessage).filter_by(driver_id=marc.id)}
    erase_beneficiary(roseline, user)
    db.session.expire_all()
    assert db.session.query(SmsMessage).filter_by(beneficiary_id=roseline.id).count() == 0
    assert {m.id for m in db.session.query(SmsMessage).filter_by(driver_id=marc.id)} == marc_ids
    erased = db.session.query(AuditLog).filter_by(action="erase", object_type="beneficiary").one()
    assert erased.detail["sms"] == 1


def test_inbound_messages_are_linked_only_when_the_sender_is_known(app):
    structure, (marc,), roseline = make_people(1)
    louise = _second_rider(structure, RIDER_PHONE)  # the same aidant's number for two people
    need = make_need(louise)
    handle_inbound("+33699999999", "Bonjour", message_sid="SM-unknown")
    handle_inbound(RIDER_PHONE, "AIDE", message_sid="SM-shared-help")
    handle_inbound(RIDER_PHONE, f"ANNULER {need.id}", message_sid="SM-shared-cancel")
    handle_inbound(marc.phone_e164, "AIDE", message_sid="SM-marc-help")
    link = {m.provider_sid: (m.beneficiary_id, m.driver_id)
            for m in db.session.query(SmsMessage).filter_by(direction="in")}
    assert link["SM-unknown"] == (None, None)
    assert link["SM-shared-help"] == (None, None)  # two people behind the number: nobody's
    assert link["SM-shared-cancel"] == (louise.id, None)  # the cancelled ride tells whose it is
    assert link["SM-marc-help"] == (None, marc.id)
    replies = {m.in_reply_to_id: (m.beneficiary_id, m.driver_id)
               for m in db.session.query(SmsMessage).filter(SmsMessage.in_reply_to_id.is_not(None))}
    inbound_ids = {m.provider_sid: m.id for m in db.session.query(SmsMessage).filter_by(direction="in")}
    assert replies[inbound_ids["SM-shared-cancel"]] == (louise.id, None)
    assert roseline.id not in {b for b, _d in link.values()}


def test_erasing_a_driver_reopens_her_rides_and_tells_the_riders(app):
    structure, (marc, julie), roseline = make_people(2)
    louise = _second_rider(structure, "+33611111198", consent=False)
    confirmed = make_need(roseline)
    assert rides.accept_proposal(rides.propose_ride(confirmed, marc), via="phone")
    no_sms = make_need(louise)
    assert rides.accept_proposal(rides.propose_ride(no_sms, marc), via="phone")
    pending = make_need(louise)
    rides.propose_ride(pending, marc)
    shared = make_need(roseline)
    rides.propose_ride(shared, marc)
    rides.propose_ride(shared, julie)  # still waiting for Julie: stays proposed
    user = _admin(structure)
    marc_id = marc.id

    reopened = erase_driver(marc, user)

    db.session.expire_all()
    assert sorted(n.id for n in reopened) == sorted([confirmed.id, no_sms.id, pending.id])
    status = {n: db.session.get(RideNeed, n).status for n in (confirmed.id, no_sms.id, pending.id, shared.id)}
    assert status == {confirmed.id: "searching", no_sms.id: "searching", pending.id: "searching",
                      shared.id: "proposed"}
    assert db.session.get(Driver, marc_id) is None
    assert db.session.query(Proposal).filter_by(driver_id=marc_id).count() == 0
    assert db.session.query(SmsMessage).filter_by(driver_id=marc_id).count() == 0
    # Roseline (SMS consent) is told by SMS, through the outbox; Louise (no consent) is not.
    [told] = outbox(RIDER_PHONE, kind="driver_left")
    assert (told.beneficiary_id, told.need_id, told.status) == (roseline.id, confirmed.id, "delivered")
    assert "n'a plus de bénévole" in told.body and told.segments == 1
    assert outbox("+33611111198", kind="driver_left") == []

    def notes(need_id: int) -> list[NeedEvent]:
        return [e for e in db.session.query(NeedEvent).filter_by(need_id=need_id).order_by(NeedEvent.id)
                if (e.data or {}).get("driver_left")]

    [event] = notes(confirmed.id)
    assert (event.from_status, event.to_status, event.user_id) == ("confirmed", "searching", user.id)
    assert "prévenue par SMS" in event.note
    [event] = notes(no_sms.id)
    assert "Pas de SMS possible : prévenez la personne" in event.note
    [event] = notes(pending.id)
    assert (event.from_status, event.to_status) == ("proposed", "searching")
    [event] = notes(shared.id)
    assert event.to_status is None and "retirée" in event.note
    erased = db.session.query(AuditLog).filter_by(action="erase", object_type="driver").one()
    assert sorted(erased.detail["reopened"]) == sorted([confirmed.id, no_sms.id, pending.id])
    reopen_rows = db.session.query(AuditLog).filter_by(action="reopen").count()
    assert reopen_rows == 2
