"""Export of a person's data, erasure, and the retention purge (service and command)."""

from __future__ import annotations

import json
from datetime import timedelta

from app.extensions import db
from app.models import (
    AuditLog,
    Beneficiary,
    Driver,
    NeedEvent,
    Proposal,
    RideNeed,
    SmsMessage,
    utcnow,
)
from app.services.people import purge_old_data
from tests.web.conftest import AIDANT, login


def test_export_gives_the_whole_record_as_json(client, demo):
    login(client, AIDANT)
    response = client.get(f"/personnes/{demo.roseline.id}/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["person"]["first_name"] == "Roseline"
    assert data["person"]["phone"] == "+33565000201"
    assert data["consent"]["sharing_with_partners_at"] is not None
    assert len(data["ride_needs"]) == 2
    assert {n["status"] for n in data["ride_needs"]} == {"new", "unserved"}
    assert all(n["history"] for n in data["ride_needs"])
    assert db.session.query(AuditLog).filter_by(action="export", object_type="beneficiary",
                                                object_id=str(demo.roseline.id)).count() == 1


def test_erasure_removes_the_person_her_needs_history_and_sms(client, demo):
    login(client, AIDANT)
    person = demo.roseline
    person_id, phone = person.id, person.phone_e164
    need_ids = [n.id for n in db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=person_id)).scalars()]
    db.session.add(SmsMessage(direction="out", phone_e164=phone, body="Rappel", status="sent", beneficiary_id=person_id))
    # Her number is also her daughter's, a volunteer: the daughter's messages are not hers.
    db.session.add(SmsMessage(direction="out", phone_e164=phone, body="Proposition", status="sent",
                              driver_id=demo.jeanne.id))
    db.session.commit()
    assert client.get(f"/personnes/{person_id}/effacer").status_code == 200
    response = client.post(f"/personnes/{person_id}/effacer")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Beneficiary, person_id) is None
    assert db.session.query(RideNeed).filter(RideNeed.id.in_(need_ids)).count() == 0
    assert db.session.query(NeedEvent).filter(NeedEvent.need_id.in_(need_ids)).count() == 0
    assert db.session.query(SmsMessage).filter_by(beneficiary_id=person_id).count() == 0
    assert [m.body for m in db.session.query(SmsMessage).filter_by(phone_e164=phone)] == ["Proposition"]
    erased = db.session.query(AuditLog).filter_by(action="erase", object_id=str(person_id)).one()
    assert erased.user_id == demo.aidant.id and "Roseline" not in json.dumps(erased.detail)
    assert client.get(f"/personnes/{person_id}").status_code == 404


def test_driver_export_and_erasure(client, demo):
    login(client, AIDANT)
    jeanne = demo.jeanne
    data = json.loads(client.get(f"/benevoles/{jeanne.id}/export.json").get_data(as_text=True))
    assert data["person"]["phone"] == jeanne.phone_e164 and len(data["person"]["availability"]) == 21
    confirmed = db.session.execute(
        db.select(RideNeed).join(Proposal).where(Proposal.driver_id == jeanne.id, RideNeed.status == "confirmed")
    ).scalar_one()
    response = client.post(f"/benevoles/{jeanne.id}/effacer", follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Driver, jeanne.id) is None
    # The ride she had accepted goes back to the search instead of silently keeping no driver,
    # and the person erasing is told which rides are to be found again.
    assert db.session.get(RideNeed, confirmed.id).status == "searching"
    assert f"n° {confirmed.id}" in response.get_data(as_text=True)
    assert "de nouveau à pourvoir" in response.get_data(as_text=True)
    history = db.session.query(NeedEvent).filter_by(need_id=confirmed.id, to_status="searching").one()
    assert "ne fait plus partie des bénévoles" in history.note


def test_purge_erases_only_what_is_older_than_the_retention(app, demo):
    old = utcnow() - timedelta(days=800)
    sarah, roseline = demo.sarah, demo.roseline
    sarah.last_activity_at = old
    for need in db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=sarah.id)).scalars():
        need.requested_at = old
    db.session.add(SmsMessage(direction="out", phone_e164="+33600000999", body="vieux", status="sent", created_at=old))
    db.session.commit()
    dry = purge_old_data(730, dry_run=True)
    assert dry.beneficiaries == 1 and db.session.get(Beneficiary, sarah.id) is not None
    report = purge_old_data(730)
    assert report.beneficiaries == 1 and report.sms >= 1
    db.session.expire_all()
    assert db.session.get(Beneficiary, sarah.id) is None
    assert db.session.get(Beneficiary, roseline.id) is not None  # recent activity: kept
    assert db.session.query(AuditLog).filter_by(action="purge").count() == 1


def test_purge_command(app, demo):
    from app.web.cli import data_cli

    demo.sarah.last_activity_at = utcnow() - timedelta(days=900)
    for need in db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=demo.sarah.id)).scalars():
        need.requested_at = utcnow() - timedelta(days=900)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(data_cli, ["purge", "--dry-run"])
    assert result.exit_code == 0 and "would erase 1 beneficiaries" in result.output
    result = runner.invoke(data_cli, ["purge", "--days", "5"])
    assert result.exit_code != 0 and "under 30 days" in result.output
    result = runner.invoke(data_cli, ["purge", "--audit-days", "10"])
    assert result.exit_code != 0 and "AUDIT_RETENTION_DAYS=10" in result.output
    result = runner.invoke(data_cli, ["purge"])
    assert result.exit_code == 0 and "erased 1 beneficiaries" in result.output
    assert "Audit log retention 365 days: erased 0 audit rows" in result.output
