"""SMS: the outbox (every outbound message is stored before it is sent), the inbox, opt-outs
and the codes of trips announced by SMS.

Outbound rows move through ``queued → sending → sent → delivered`` (or ``failed`` /
``undelivered`` / ``cancelled``); see :mod:`app.services.notifications` for the rules that
make a send happen at least once and at most once per row. Inbound rows are ``received``
when the webhook only stored them for the queue (``SMS_INBOUND_QUEUED``), ``processing`` while
the conversation handles them and ``processed`` afterwards; Twilio's MessageSid is unique so a
retried webhook is recognised.

Every row is linked to the person it belongs to (``beneficiary_id`` or ``driver_id``), set when
an outbound row is written for her or an inbound one is matched to her. Export and erasure
select messages through that link, never by phone number: the number on a rider's record is
often an aidant's or a relative's, who may be a volunteer or another rider too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import UtcDateTime, utcnow

OUTBOUND_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "undelivered", "cancelled")
INBOUND_STATUSES = ("received", "processing", "processed")
# Statuses after which the outbox never touches a row again.
FINAL_OUTBOUND_STATUSES = ("sent", "delivered", "failed", "undelivered", "cancelled")


class SmsMessage(db.Model):
    """One SMS, outbound (outbox row) or inbound (received through the webhook)."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3), index=True)  # out | in
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)  # the other party
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    encoding: Mapped[str | None] = mapped_column(String(5))  # gsm7 | ucs2
    kind: Mapped[str | None] = mapped_column(String(40))  # proposal, confirmation, reminder…
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # Twilio's MessageSid: unique, so a retried webhook or a re-sent row is recognised.
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Our own idempotency reference of an outbound row, quoted in the status-callback URL.
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Business schedule (quiet hours…): the row is not sent before this time.
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Retry schedule after a failed attempt (back-off).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Who is sending the row right now ("host:pid:token") and since when (the lease).
    sending_owner: Mapped[str | None] = mapped_column(String(120))
    sending_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    need_id: Mapped[int | None] = mapped_column(ForeignKey("ride_needs.id", ondelete="SET NULL"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("driver_offers.id", ondelete="SET NULL"))
    # The person the message belongs to (GDPR export and erasure); None for unknown numbers.
    beneficiary_id: Mapped[int | None] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="SET NULL"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"), index=True)
    # An answer (in the webhook's TwiML, or from the outbox) points to the inbound message it answers.
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("sms_messages.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class SmsOptOut(db.Model):
    """A phone number that answered STOP (kept even when it belongs to nobody we know)."""

    __tablename__ = "sms_opt_outs"

    phone_e164: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    keyword: Mapped[str | None] = mapped_column(String(40))


class SmsTripCode(db.Model):
    """The code a driver quotes to confirm a trip announced by SMS (TRAJET …)."""

    __tablename__ = "sms_trip_codes"

    offer_id: Mapped[int] = mapped_column(ForeignKey("driver_offers.id", ondelete="CASCADE"), primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(6), index=True)
    text: Mapped[str] = mapped_column(Text)  # what the driver wrote
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
