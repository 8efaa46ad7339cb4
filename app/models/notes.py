"""Notes of phone calls, on a ride need or on a volunteer: what was said, to whom, by whom, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..extensions import db
from ._types import UtcDateTime, utcnow
from .core import User

# Whom the aidant spoke with.
CALL_PARTIES = ("rider", "driver", "family", "other")


class CallNote(db.Model):
    """A free note of a call, attached to exactly one ride need or one volunteer driver."""

    __tablename__ = "call_notes"
    __table_args__ = (
        CheckConstraint("(need_id IS NULL) <> (driver_id IS NULL)", name="ck_call_notes_one_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("ride_needs.id", ondelete="CASCADE"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(20), default="other")
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The author's name as it was, kept when the account is deleted.
    author_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)

    author: Mapped[User | None] = relationship()
    # Read-only back-references (``need.call_notes``, ``driver.call_notes``, newest first): notes
    # are written and erased through app.services.call_notes only.
    need = relationship("RideNeed", viewonly=True, backref=backref(
        "call_notes", viewonly=True, order_by="(CallNote.at.desc(), CallNote.id.desc())"))
    driver = relationship("Driver", viewonly=True, backref=backref(
        "call_notes", viewonly=True, order_by="(CallNote.at.desc(), CallNote.id.desc())"))
