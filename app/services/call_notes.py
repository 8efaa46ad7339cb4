"""Call notes: what was said on the phone about a ride need or with a volunteer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from ..errors import PlatformError
from ..extensions import db
from ..models import CALL_PARTIES, CallNote, Driver, RideNeed, User, utcnow
from .audit import record_audit

PARTY_FR = {"rider": "la personne", "driver": "le ou la bénévole", "family": "la famille ou un proche",
            "other": "autre interlocuteur"}
NOTE_MAX_LENGTH = 2000


class InvalidCallNote(PlatformError, ValueError):
    """A note that cannot be recorded (empty, too long, unknown party); French message."""


def _checked(body: str, party: str) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidCallNote("Écrivez ce qui a été dit pendant l'appel.")
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidCallNote("La note fait plus de 2 000 caractères : résumez l'appel.")
    if party not in CALL_PARTIES:
        raise InvalidCallNote("Choisissez avec qui vous avez parlé.")
    return text


def add_need_note(need: RideNeed, body: str, party: str, user: User) -> CallNote:
    """Record a call about a ride need; commit."""
    note = CallNote(need_id=need.id, party=party, body=_checked(body, party), author_id=user.id,
                    author_name=user.name[:200], at=utcnow())
    db.session.add(note)
    db.session.flush()
    record_audit("create", "call_note", note.id, user=user, detail={"need": need.id})
    db.session.commit()
    return note


def add_driver_note(driver: Driver, body: str, party: str, user: User) -> CallNote:
    """Record a call with (or about) a volunteer; commit."""
    note = CallNote(driver_id=driver.id, party=party, body=_checked(body, party), author_id=user.id,
                    author_name=user.name[:200], at=utcnow())
    db.session.add(note)
    db.session.flush()
    record_audit("create", "call_note", note.id, user=user, detail={"driver": driver.id})
    db.session.commit()
    return note


def need_notes(need_id: int) -> list[CallNote]:
    return list(db.session.execute(
        select(CallNote).where(CallNote.need_id == need_id).order_by(CallNote.at.desc(), CallNote.id.desc())
    ).scalars())


def driver_notes(driver_id: int) -> list[CallNote]:
    return list(db.session.execute(
        select(CallNote).where(CallNote.driver_id == driver_id).order_by(CallNote.at.desc(), CallNote.id.desc())
    ).scalars())


def export_notes(notes: list[CallNote]) -> list[dict[str, Any]]:
    """Notes as they appear in a GDPR export."""
    return [{"at": n.at.isoformat(), "by": n.author_name, "with": n.party, "note": n.body} for n in notes]


def delete_notes(*, need_ids: list[int] | None = None, driver_id: int | None = None) -> int:
    """Delete the notes of erased needs or of an erased volunteer (not committed)."""
    deleted = 0
    if need_ids:
        deleted += db.session.execute(delete(CallNote).where(CallNote.need_id.in_(need_ids))).rowcount or 0
    if driver_id is not None:
        deleted += db.session.execute(delete(CallNote).where(CallNote.driver_id == driver_id)).rowcount or 0
    return deleted
