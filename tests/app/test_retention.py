"""The retention purge as a daily huey periodic task: records and audit log, each with its period."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.models import AuditLog, Beneficiary, SmsMessage, utcnow
from app.services.retention import RetentionConfigError, retention_periods, run_retention
from app.tasks import TaskQueueConfigError, app_tasks, purge_time, start_consumer_in_process
from tests.sms.conftest import make_people


def _old_and_new_rows(days_old: int) -> tuple[int, int, int]:
    """A stale rider, an old and a recent audit row; their ids."""
    _structure, _drivers, rider = make_people(1)
    rider.last_activity_at = utcnow() - timedelta(days=days_old)
    old = AuditLog(actor="Aidant", action="view", object_type="beneficiary", object_id="1",
                   at=utcnow() - timedelta(days=400))
    recent = AuditLog(actor="Aidant", action="view", object_type="beneficiary", object_id="1",
                      at=utcnow() - timedelta(days=10))
    db.session.add_all([old, recent])
    db.session.commit()
    return rider.id, old.id, recent.id


def test_the_purge_is_a_daily_periodic_task(app):
    tasks = app_tasks(app)
    [purge] = [t for t in tasks.huey._registry.periodic_tasks if t.name == "data.purge"]
    hour, minute = purge_time(app.config["DATA_PURGE_AT_UTC"])
    day = datetime(2026, 3, 10, hour, minute)
    assert purge.validate_datetime(day)
    assert purge.validate_datetime(day + timedelta(days=1))
    assert not purge.validate_datetime(day + timedelta(hours=1))
    assert not purge.validate_datetime(day + timedelta(minutes=1))
    with pytest.raises(TaskQueueConfigError, match="HH:MM"):
        purge_time("25:00")


def test_the_periodic_task_purges_records_and_audit_log_on_the_real_queue(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "TASK_QUEUE_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "TASK_QUEUE_URL", f"sqlite:///{tmp_path / 'tasks.db'}")
    monkeypatch.setitem(app.config, "DATA_RETENTION_DAYS", 730)
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 365)
    monkeypatch.setitem(app.extensions, "huey", None)
    app.extensions.pop("huey")
    rider_id, old_id, recent_id = _old_and_new_rows(800)
    tasks = app_tasks(app)
    tasks.purge()  # what the consumer's scheduler does at DATA_PURGE_AT_UTC
    assert tasks.huey.pending_count() == 1
    consumer = start_consumer_in_process(app, workers=1, periodic=False)
    assert consumer is not None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.query(AuditLog).filter_by(action="purge").count():
                break
            time.sleep(0.2)
    finally:
        consumer.stop(graceful=True)
    db.session.expire_all()
    assert db.session.get(Beneficiary, rider_id) is None  # 800 days without activity > 730
    assert db.session.get(AuditLog, old_id) is None  # 400 days > 365
    assert db.session.get(AuditLog, recent_id) is not None
    purge_row = db.session.query(AuditLog).filter_by(action="purge").one()
    assert purge_row.detail["beneficiaries"] == 1
    # The erasure of the stale rider is recorded, and kept: it is newer than the audit period.
    assert db.session.query(AuditLog).filter_by(action="erase", object_id=str(rider_id)).count() == 1


def test_each_period_applies_to_its_own_records(app):
    rider_id, old_id, recent_id = _old_and_new_rows(500)
    db.session.add(SmsMessage(direction="out", phone_e164="+33600000001", body="vieux", status="sent",
                              created_at=utcnow() - timedelta(days=600)))
    db.session.commit()
    dry = run_retention(data_days=730, audit_days=365, dry_run=True)
    assert (dry.records.beneficiaries, dry.records.sms, dry.audit_rows) == (0, 0, 1)
    assert db.session.get(AuditLog, old_id) is not None  # a dry run erases nothing
    report = run_retention(data_days=400, audit_days=3650)
    assert (report.records.beneficiaries, report.records.sms, report.audit_rows) == (1, 1, 0)
    db.session.expire_all()
    assert db.session.get(Beneficiary, rider_id) is None and db.session.get(AuditLog, old_id) is not None


def test_a_short_period_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 7)
    with pytest.raises(RetentionConfigError, match="AUDIT_RETENTION_DAYS=7"):
        retention_periods()
    assert retention_periods(audit_days=90) == (app.config["DATA_RETENTION_DAYS"], 90)
