"""The audit log: every access to a person's record, and every change, with who and when."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import AuditLog, DriverOffer, RideNeed, User

PERSON_KINDS = ("beneficiary", "driver")
ACTION_FR = {
    "view": "Consultation", "create": "Création", "update": "Modification", "consent": "Consentement",
    "export": "Export des données", "erase": "Effacement", "purge": "Purge (durée de conservation)",
    "propose": "Proposition à un bénévole", "withdraw": "Retrait de proposition", "reopen": "Trajet rouvert",
    "cancel": "Annulation", "view_audit": "Consultation du journal",
}
OBJECT_FR = {"beneficiary": "dossier de la personne", "driver": "dossier du bénévole",
             "ride_need": "besoin de trajet", "driver_offer": "trajet du bénévole"}


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


def person_audit_trail(kind: str, person_id: int, *, limit: int = 500) -> list[AuditLog]:
    """Who viewed, changed, exported or erased a person's record, newest first.

    ``kind`` is "beneficiary" or "driver". Rows about her ride needs (a beneficiary) or her
    trips (a driver) are included while those records exist; rows about the person herself
    outlive her erasure (the audit log keeps who erased, not what).
    """
    if kind not in PERSON_KINDS:
        raise ValueError(f"unknown person kind {kind!r}: expected one of {PERSON_KINDS}")
    clauses = [and_(AuditLog.object_type == kind, AuditLog.object_id == str(person_id))]
    if kind == "beneficiary":
        related_type = "ride_need"
        related = select(RideNeed.id).where(RideNeed.beneficiary_id == person_id)
    else:
        related_type = "driver_offer"
        related = select(DriverOffer.id).where(DriverOffer.driver_id == person_id)
    related_ids = [str(i) for i in db.session.execute(related).scalars()]
    if related_ids:
        clauses.append(and_(AuditLog.object_type == related_type, AuditLog.object_id.in_(related_ids)))
    return list(db.session.execute(
        select(AuditLog).where(or_(*clauses)).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    ).scalars())
