"""The audit log: every access to a person's record, and every change, with who and when."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from ..extensions import db
from ..models import AuditLog, User


def record_audit(action: str, object_type: str, object_id: int | str | None, *,
                 user: User | None = None, actor: str | None = None,
                 detail: dict[str, Any] | None = None) -> AuditLog:
    """Add one audit row to the session (the caller's commit stores it with the change).

    ``action`` is a verb: view, create, update, export, erase, purge, consent, propose…
    """
    entry = AuditLog(
        user_id=user.id if user is not None else None,
        actor=(actor or (user.name if user is not None else "system"))[:200],
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        detail=detail,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def audit_trail(object_type: str, object_id: int | str, limit: int = 50) -> list[AuditLog]:
    """The latest audit rows about one record, newest first."""
    return list(db.session.execute(
        db.select(AuditLog).filter_by(object_type=object_type, object_id=str(object_id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    ).scalars())
