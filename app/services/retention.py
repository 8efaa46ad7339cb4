"""Storage limitation (GDPR): the daily purge of records and of the audit log.

Two periods: ``DATA_RETENTION_DAYS`` for people, ride needs and SMS
(:func:`app.services.people.purge_old_data`), ``AUDIT_RETENTION_DAYS`` for the audit log. The
purge runs every day as a huey periodic task (:mod:`app.tasks`, at ``DATA_PURGE_AT_UTC``) and
on demand with ``flask data purge``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..errors import PlatformError
from ..extensions import db
from ..models import AuditLog, utcnow
from .people import PurgeReport, purge_old_data

MIN_RETENTION_DAYS = 30


class RetentionConfigError(PlatformError, ValueError):
    """A retention period too short to be a deliberate setting."""


@dataclass
class RetentionReport:
    """What one run of the purge erased (or would erase)."""

    records: PurgeReport
    audit_rows: int
    data_days: int
    audit_days: int
    partner_rows: int = 0
    """Partner operators' bookings and messages (Standard covoiturage) erased."""


def retention_periods(data_days: int | None = None, audit_days: int | None = None) -> tuple[int, int]:
    """(records, audit log) periods in days, from the arguments or the configuration; checked."""
    data = int(current_app.config.get("DATA_RETENTION_DAYS", 730)) if data_days is None else data_days
    audit = int(current_app.config.get("AUDIT_RETENTION_DAYS", 365)) if audit_days is None else audit_days
    for name, days in (("DATA_RETENTION_DAYS", data), ("AUDIT_RETENTION_DAYS", audit)):
        if days < MIN_RETENTION_DAYS:
            raise RetentionConfigError(f"{name}={days}: refusing a retention under {MIN_RETENTION_DAYS} days")
    return data, audit


def purge_audit_log(retention_days: int, *, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete audit rows older than ``retention_days``; their count (not committed)."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    if dry_run:
        return int(db.session.execute(select(func.count()).select_from(AuditLog)
                                      .where(AuditLog.at < cutoff)).scalar_one())
    return db.session.execute(delete(AuditLog).where(AuditLog.at < cutoff)).rowcount or 0


def run_retention(*, data_days: int | None = None, audit_days: int | None = None,
                  now: datetime | None = None, dry_run: bool = False) -> RetentionReport:
    """The purge: records older than the data period, audit rows older than the audit period.

    The audit log is purged first, so the row that records this purge is kept.
    """
    data, audit = retention_periods(data_days, audit_days)
    now = now or utcnow()
    audit_rows = purge_audit_log(audit, now=now, dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    records = purge_old_data(data, now=now, dry_run=dry_run)
    partner_rows = purge_partner_records(data, now=now, dry_run=dry_run)
    return RetentionReport(records=records, audit_rows=audit_rows, data_days=data, audit_days=audit,
                           partner_rows=partner_rows)


def purge_partner_records(retention_days: int, *, now: datetime | None = None, dry_run: bool = False) -> int:
    """Partner operators' bookings and relayed messages older than the data period (their
    passengers are pseudonymous, but what they asked is kept no longer than a rider's need)."""
    from ..models.partners import PartnerBooking, PartnerMessage

    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    old_messages = select(func.count()).select_from(PartnerMessage).where(PartnerMessage.created_at < cutoff)
    old_bookings = select(func.count()).select_from(PartnerBooking).where(PartnerBooking.updated_at < cutoff)
    if dry_run:
        return int(db.session.execute(old_messages).scalar_one()) + int(db.session.execute(old_bookings).scalar_one())
    count = db.session.execute(delete(PartnerMessage).where(PartnerMessage.created_at < cutoff)).rowcount or 0
    stale = select(PartnerBooking.id).where(PartnerBooking.updated_at < cutoff)
    count += db.session.execute(delete(PartnerMessage).where(PartnerMessage.booking_id.in_(stale))).rowcount or 0
    count += db.session.execute(delete(PartnerBooking).where(PartnerBooking.updated_at < cutoff)).rowcount or 0
    db.session.commit()
    return count


def scheduled_purge() -> RetentionReport:
    """The daily periodic task (huey): :func:`run_retention` with the configured periods."""
    return run_retention()
