"""SMS: the outbox (every outbound message is stored before it is sent) and the inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import UtcDateTime, utcnow

OUTBOUND_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "undelivered", "cancelled")


class SmsMessage(db.Model):
    """One SMS, outbound (outbox row) or inbound (received through the webhook)."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3), index=True)  # out | in
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)  # the other party
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str | None] = mapped_column(String(40))  # proposal, confirmation, reminder…
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # Twilio's MessageSid: unique, so a retried webhook or a re-sent row is recognised.
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    need_id: Mapped[int | None] = mapped_column(ForeignKey("ride_needs.id", ondelete="SET NULL"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
