"""Outbound SMS: the outbox, its delivery rules, and the messages of the ride workflow.

The outbox
==========
Every outbound message is first a row of ``sms_messages`` (committed), then a huey task
carrying only the row id sends it. The row is the truth; the task is a nudge.

States of a row::

    queued ──claim──▶ sending ──provider accepted──▶ sent ──status callback──▶ delivered
      ▲                 │  │                                                 (undelivered|failed)
      └─temporary error─┘  └─permanent error / too many attempts──▶ failed
    queued ──opted out, proposal taken, need cancelled──▶ cancelled

At least once
    A row leaves ``queued``/``sending`` only for a final state, never silently. A task lost with
    the queue, or a worker killed mid-send, is recovered by :func:`sweep_outbox` (every minute,
    and when a worker starts): it re-queues rows that are due and rows left in ``sending`` by a
    worker that is gone. Temporary failures (429, 5xx, connection refused) put the row back to
    ``queued`` with an exponential back-off (``SMS_RETRY_BASE_S`` × 2^attempt, at most
    ``SMS_RETRY_MAX_S``, with jitter) up to ``SMS_MAX_ATTEMPTS``; then it is ``failed`` with its
    last error, logged, and a note is added to the need's history for the aidants.

At most once per row
    1. Claim before sending: ``UPDATE … SET status='sending', sending_owner=<me> WHERE id=? AND
       status='queued'`` is committed before the HTTP request; whoever gets rowcount 1 sends,
       any duplicate task does nothing.
    2. The lease: a row in ``sending`` belongs to its owner (``host:pid:thread:nonce``) until
       ``SMS_SENDING_LEASE_S`` has passed (longer than the HTTP timeout, so a live worker is
       always done by then) or until the owner is seen dead (same host, process or thread gone:
       the case of a SIGKILLed worker, recovered at once by the next worker's start-up sweep).
    3. Reconcile before re-sending: whoever takes over a broken lease first asks the provider
       for a message to that number with that body created since the claim
       (:meth:`SmsProvider.find_sent`); if there is one, the row adopts its sid and becomes
       ``sent`` without a second send. Only when the provider has none is the message sent
       again. An ambiguous failure of our own send (timeout, connection reset after the
       request left) releases the lease and goes through the same reconciliation.
    4. The status callback carries our row reference (``/sms/status?ref=…``), so even a message
       whose sid was never written (worker killed after Twilio answered) is tied back to its row.

    The remaining window is the provider's own consistency: a message Twilio accepted but does
    not list yet when we reconcile. Reconciliation only starts after the owner is gone, i.e.
    seconds after the request at the earliest, when Twilio lists it. Twilio offers no
    client-side idempotency key for the Messages API; this is the strongest rule available.

Rules for proposals: no proposal in quiet hours (``SMS_QUIET_HOURS``, local time; the message
is scheduled for the end of the quiet hours), none within an hour of the pickup, at most
``SMS_MAX_PROPOSALS_PER_DRIVER_PER_DAY`` per driver and day. A rule that blocks raises
:class:`SmsRuleError`, whose message (French) can be shown to the aidant.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from ..errors import PlatformError
from ..extensions import db
from ..models import Beneficiary, Driver, Proposal, RideNeed, SmsMessage, aware_utc, utcnow
from ..models.messaging import FINAL_OUTBOUND_STATUSES, SmsOptOut
from ..sms.encoding import count_segments, fit_sms, shorten_label, tidy_punctuation
from .sms_providers import (
    ProviderAmbiguousError,
    ProviderPermanentError,
    ProviderTemporaryError,
    get_provider,
)

log = logging.getLogger(__name__)

# Messages people must receive even after STOP: the acknowledgement of the STOP itself.
OPT_OUT_EXEMPT_KINDS = ("stop_ack",)
MIN_NOTICE = timedelta(hours=1)
WEEKDAYS_SHORT = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


class SmsRuleError(PlatformError):
    """An SMS the rules do not allow now; the message (French) can be shown as is."""


class SmsOptedOut(SmsRuleError):
    """The person answered STOP."""


class NoSmsPhone(SmsRuleError):
    """Nobody to text: no phone number, or no consent to SMS."""


# Phone numbers answered inline (TwiML) by the conversation being handled: the workflow's
# notifications to them would repeat what the reply already says.
_answered_inline: ContextVar[frozenset[str]] = ContextVar("sms_answered_inline", default=frozenset())


@contextmanager
def answering_inline(phone_e164: str) -> Iterator[None]:
    """Within this block, notifications to ``phone_e164`` are left to the inline reply."""
    token = _answered_inline.set(_answered_inline.get() | {phone_e164})
    try:
        yield
    finally:
        _answered_inline.reset(token)


# --- Time helpers ----------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))


aware = aware_utc  # the name the SMS modules use


def local(value: datetime) -> datetime:
    """``value`` in the territory's time zone."""
    return aware(value).astimezone(_tz())  # type: ignore[union-attr]


def fr_day(value: datetime) -> str:
    """"jeu. 14/03"."""
    v = local(value)
    return f"{WEEKDAYS_SHORT[v.weekday()]} {v:%d/%m}"


def fr_hour(value: datetime) -> str:
    """"9h05", "14h"."""
    v = local(value)
    return f"{v.hour}h{v.minute:02d}" if v.minute else f"{v.hour}h"


def fr_phone(e164: str | None) -> str:
    """+33565000000 → 05 65 00 00 00."""
    if e164 and e164.startswith("+33") and len(e164) == 12:
        digits = "0" + e164[3:]
        return " ".join(digits[k:k + 2] for k in range(0, 10, 2))
    return e164 or ""


def quiet_hours() -> tuple[time, time] | None:
    """(start, end) of the quiet hours, local time ("20:30-08:00"); None when disabled."""
    spec = (current_app.config.get("SMS_QUIET_HOURS") or "").strip()
    if not spec:
        return None
    start, end = (part.strip() for part in spec.split("-", 1))
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(moment: datetime) -> datetime | None:
    """End of the quiet hours if ``moment`` falls in them (aware UTC), else None."""
    hours = quiet_hours()
    if hours is None:
        return None
    start, end = hours
    t_local = local(moment)
    t = t_local.time().replace(tzinfo=None)
    in_quiet = (start <= t or t < end) if start > end else (start <= t < end)
    if not in_quiet:
        return None
    day = t_local.date() if t < end else t_local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=_tz()).astimezone(UTC)


# --- Opt-out ---------------------------------------------------------------------------------

def is_opted_out(phone_e164: str) -> bool:
    """STOP was answered from this number (or an aidant recorded the refusal)."""
    if db.session.get(SmsOptOut, phone_e164) is not None:
        return True
    driver = db.session.execute(select(Driver.sms_opt_out).where(Driver.phone_e164 == phone_e164)).first()
    if driver is not None and driver[0]:
        return True
    return db.session.execute(
        select(Beneficiary.id).where(Beneficiary.phone_e164 == phone_e164, Beneficiary.sms_opt_out.is_(True))
    ).first() is not None


def set_opt_out(phone_e164: str, opted_out: bool, *, keyword: str | None = None) -> None:
    """Record STOP (``opted_out``) or START for a number, on every person with that number."""
    row = db.session.get(SmsOptOut, phone_e164)
    if opted_out and row is None:
        db.session.add(SmsOptOut(phone_e164=phone_e164, keyword=keyword))
    elif not opted_out and row is not None:
        db.session.delete(row)
    db.session.execute(update(Driver).where(Driver.phone_e164 == phone_e164)
                       .values(sms_opt_out=opted_out).execution_options(synchronize_session="fetch"))
    db.session.execute(update(Beneficiary).where(Beneficiary.phone_e164 == phone_e164)
                       .values(sms_opt_out=opted_out).execution_options(synchronize_session="fetch"))
    db.session.commit()


# --- The outbox ------------------------------------------------------------------------------

_STAGED = "outbox_staged"  # rows added to the open transaction: (row id, due)
_READY = "outbox_ready"  # rows of committed transactions, not queued yet


def _on_commit(session: Session) -> None:
    staged = session.info.pop(_STAGED, None)
    if staged:
        session.info.setdefault(_READY, []).extend(staged)


def _on_rollback(session: Session) -> None:
    # The rows are gone with the transaction: nothing to queue (a stray id would be harmless:
    # the task finds no row and does nothing).
    session.info.pop(_STAGED, None)


def _listen_once() -> None:
    if not event.contains(Session, "after_commit", _on_commit):
        event.listen(Session, "after_commit", _on_commit)
        event.listen(Session, "after_rollback", _on_rollback)


def stage_sms(phone_e164: str, body: str, *, kind: str, need_id: int | None = None,
              proposal_id: int | None = None, not_before: datetime | None = None,
              offer_id: int | None = None, beneficiary_id: int | None = None,
              driver_id: int | None = None, in_reply_to_id: int | None = None) -> SmsMessage:
    """Add an outbox row to the caller's transaction (the transactional outbox).

    The row is written with the status change that causes it and is committed, or rolled
    back, with it. Once the transaction commits, :func:`enqueue_committed` queues its sending;
    if the process dies in between, :func:`sweep_outbox` finds the row (queued, never sent).
    A number that answered STOP gets nothing: the row is stored as ``cancelled`` (so the
    history shows it was not sent, and why). ``beneficiary_id`` / ``driver_id`` name the
    person the message belongs to (GDPR export and erasure).
    """
    _listen_once()
    text = fit_sms(body)
    count = count_segments(text)
    row = SmsMessage(direction="out", phone_e164=phone_e164, body=text, segments=count.segments,
                     encoding=count.encoding, kind=kind, status="queued", reference=uuid.uuid4().hex,
                     need_id=need_id, proposal_id=proposal_id, offer_id=offer_id,
                     beneficiary_id=beneficiary_id, driver_id=driver_id, in_reply_to_id=in_reply_to_id,
                     not_before=aware(not_before), attempts=0)
    if kind not in OPT_OUT_EXEMPT_KINDS and is_opted_out(phone_e164):
        row.status = "cancelled"
        row.last_error = "opted out (STOP)"
    db.session.add(row)
    db.session.flush()
    if row.status == "queued":
        db.session.info.setdefault(_STAGED, []).append((row.id, aware(not_before)))
    return row


def enqueue_committed() -> int:
    """Queue the sending of the outbox rows of the transactions committed so far; their count.

    Call it after the commit that stored them. Rows staged in a transaction still open, or
    rolled back, are not queued.
    """
    from ..tasks import enqueue_delivery

    ready = db.session.info.pop(_READY, [])
    now = utcnow()
    for row_id, due in ready:
        enqueue_delivery(row_id, eta=due if due is not None and due > now else None)
    return len(ready)


def send_sms(phone_e164: str, body: str, *, kind: str, need_id: int | None = None,
             proposal_id: int | None = None, not_before: datetime | None = None,
             offer_id: int | None = None, beneficiary_id: int | None = None,
             driver_id: int | None = None) -> SmsMessage:
    """Write an outbox row, commit (with whatever the session holds), and queue its sending."""
    row = stage_sms(phone_e164, body, kind=kind, need_id=need_id, proposal_id=proposal_id,
                    not_before=not_before, offer_id=offer_id, beneficiary_id=beneficiary_id,
                    driver_id=driver_id)
    db.session.commit()
    enqueue_committed()
    return row


def record_inline_reply(inbound: SmsMessage, body: str, *, kind: str = "reply") -> SmsMessage:
    """Store an answer given in the webhook's TwiML (Twilio sends it; nothing to queue).

    It belongs to the person the inbound message was matched to.
    """
    text = fit_sms(body)
    count = count_segments(text)
    row = SmsMessage(direction="out", phone_e164=inbound.phone_e164, body=text, segments=count.segments,
                     encoding=count.encoding, kind=kind, status="sent", reference=uuid.uuid4().hex,
                     in_reply_to_id=inbound.id, sent_at=utcnow(), attempts=1,
                     beneficiary_id=inbound.beneficiary_id, driver_id=inbound.driver_id)
    db.session.add(row)
    return row


def _cfg(key: str, default: float) -> float:
    return float(current_app.config.get(key, default))


def _owner_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def _owner_gone(owner: str) -> bool:
    """True when the owner of a lease is known to be dead (same host, process or thread gone)."""
    try:
        host, pid_text, thread_text, _nonce = owner.rsplit(":", 3)
        pid, thread_id = int(pid_text), int(thread_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return thread_id not in {t.ident for t in threading.enumerate()}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _lease_end(row: SmsMessage) -> datetime:
    started = aware(row.sending_started_at) or utcnow()
    return started + timedelta(seconds=_cfg("SMS_SENDING_LEASE_S", 60))


def lease_broken(row: SmsMessage, now: datetime | None = None) -> bool:
    """May another worker take over this 'sending' row?"""
    if row.sending_owner is None:
        return True
    return (now or utcnow()) >= _lease_end(row) or _owner_gone(row.sending_owner)


def _backoff(attempts: int, retry_after_s: float | None = None) -> timedelta:
    base = _cfg("SMS_RETRY_BASE_S", 10)
    delay = min(base * 2 ** max(attempts - 1, 0), _cfg("SMS_RETRY_MAX_S", 900))
    delay *= random.uniform(0.8, 1.2)
    if retry_after_s:
        delay = max(delay, retry_after_s)
    return timedelta(seconds=delay)


def _why_not_send(row: SmsMessage) -> str | None:
    """A reason to cancel a queued row instead of sending it, if any."""
    if row.kind not in OPT_OUT_EXEMPT_KINDS and is_opted_out(row.phone_e164):
        return "opted out (STOP)"
    if row.kind == "proposal" and row.proposal_id is not None:
        proposal = db.session.get(Proposal, row.proposal_id)
        if proposal is None or proposal.status != "pending":
            return "proposal no longer open"
        pickup = aware(proposal.pickup_at or proposal.need.requested_at)
        if pickup is not None and pickup - utcnow() < MIN_NOTICE:
            return "less than an hour before the pickup"
    if row.kind in ("reminder", "reminder_driver") and row.need_id is not None:
        need = db.session.get(RideNeed, row.need_id)
        if need is None or need.status != "confirmed":
            return "need no longer confirmed"
    return None


def _cas(row_id: int, where: Mapping[str, object], values: Mapping[str, object]) -> bool:
    """Compare-and-set on an outbox row; committed; True when this call won."""
    clauses = [SmsMessage.id == row_id]
    for key, value in where.items():
        column = getattr(SmsMessage, key)
        clauses.append(column.is_(None) if value is None else column == value)
    result = db.session.execute(update(SmsMessage).where(and_(*clauses)).values(**values)
                                .execution_options(synchronize_session=False))
    db.session.commit()
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def deliver_outbox_message(row_id: int) -> str:
    """Send outbox row ``row_id`` if it is due and nobody else is sending it (the huey task).

    Returns what happened (for logs and tests): "sent", "reconciled", "retry", "failed",
    "cancelled", "later", "busy" or "done".
    """
    from ..tasks import enqueue_delivery

    db.session.expire_all()
    row = db.session.get(SmsMessage, row_id)
    if row is None or row.direction != "out" or row.status in FINAL_OUTBOUND_STATUSES:
        return "done"
    now = utcnow()
    if row.status == "sending":
        if not lease_broken(row, now):
            enqueue_delivery(row_id, eta=_lease_end(row) + timedelta(seconds=1))
            return "busy"
        me = _owner_token()
        if not _cas(row_id, {"status": "sending", "sending_owner": row.sending_owner},
                    {"sending_owner": me, "sending_started_at": now}):
            return "busy"
        return _reconcile_then_send(row_id, me, since=aware(row.sending_started_at) or aware(row.created_at))
    due = max((d for d in (aware(row.not_before), aware(row.next_attempt_at)) if d is not None), default=None)
    if due is not None and due > now + timedelta(seconds=1):
        enqueue_delivery(row_id, eta=due)
        return "later"
    reason = _why_not_send(row)
    if reason is not None:
        _cas(row_id, {"status": "queued"}, {"status": "cancelled", "last_error": reason})
        return "cancelled"
    me = _owner_token()
    if not _cas(row_id, {"status": "queued"},
                {"status": "sending", "sending_owner": me, "sending_started_at": now,
                 "attempts": SmsMessage.attempts + 1}):
        return "busy"
    return _send_claimed(row_id, me)


def _send_claimed(row_id: int, me: str) -> str:
    """Hand a row this worker has claimed to the provider and record the outcome."""
    from ..tasks import enqueue_delivery

    row = db.session.get(SmsMessage, row_id)
    assert row is not None
    db.session.refresh(row)
    provider = get_provider(current_app._get_current_object())  # type: ignore[attr-defined]
    mine = {"status": "sending", "sending_owner": me}
    try:
        result = provider.send(row.phone_e164, row.body, reference=row.reference or str(row.id))
    except ProviderTemporaryError as exc:
        if row.attempts >= int(_cfg("SMS_MAX_ATTEMPTS", 8)):
            _fail(row, mine, str(exc))
            return "failed"
        retry_at = utcnow() + _backoff(row.attempts, exc.retry_after_s)
        if _cas(row_id, mine, {"status": "queued", "sending_owner": None, "next_attempt_at": retry_at,
                               "last_error": str(exc)[:2000]}):
            log.warning("SMS %s: temporary failure (%s), retry at %s", row_id, exc, retry_at)
            enqueue_delivery(row_id, eta=retry_at)
        return "retry"
    except ProviderPermanentError as exc:
        _fail(row, mine, str(exc))
        return "failed"
    except ProviderAmbiguousError as exc:
        # Maybe sent, maybe not: release the lease; the next attempt reconciles first.
        retry_at = utcnow() + _backoff(row.attempts)
        if _cas(row_id, mine, {"sending_owner": None, "next_attempt_at": retry_at, "last_error": str(exc)[:2000]}):
            log.warning("SMS %s: outcome unknown (%s), reconcile at %s", row_id, exc, retry_at)
            enqueue_delivery(row_id, eta=retry_at)
        return "retry"
    status = "delivered" if result.status == "delivered" else "sent"
    _cas(row_id, mine, {"status": status, "provider_sid": result.sid, "sent_at": utcnow(),
                        "sending_owner": None, "last_error": None})
    return "sent"


def _reconcile_then_send(row_id: int, me: str, *, since: datetime | None) -> str:
    """Take over a row left in 'sending': adopt the provider's message if it exists, else send."""
    from ..tasks import enqueue_delivery

    row = db.session.get(SmsMessage, row_id)
    assert row is not None
    db.session.refresh(row)
    mine = {"status": "sending", "sending_owner": me}
    provider = get_provider(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        found = provider.find_sent(row.phone_e164, row.body, since or utcnow())
    except ProviderTemporaryError as exc:
        retry_at = utcnow() + _backoff(row.attempts)
        if _cas(row_id, mine, {"sending_owner": None, "next_attempt_at": retry_at, "last_error": str(exc)[:2000]}):
            enqueue_delivery(row_id, eta=retry_at)
        return "retry"
    if found is not None:
        log.info("SMS %s: already accepted by the provider as %s; not sent again", row_id, found.sid)
        _cas(row_id, mine, {"status": "sent", "provider_sid": found.sid, "sent_at": utcnow(),
                            "sending_owner": None})
        return "reconciled"
    if row.attempts >= int(_cfg("SMS_MAX_ATTEMPTS", 8)):
        _fail(row, mine, row.last_error or "too many attempts")
        return "failed"
    reason = _why_not_send(row)
    if reason is not None:
        _cas(row_id, mine, {"status": "cancelled", "sending_owner": None, "last_error": reason})
        return "cancelled"
    _cas(row_id, mine, {"attempts": SmsMessage.attempts + 1})
    return _send_claimed(row_id, me)


def _fail(row: SmsMessage, mine: Mapping[str, object], error: str) -> None:
    if not _cas(row.id, mine, {"status": "failed", "sending_owner": None, "last_error": error[:2000]}):
        return
    log.error("SMS %s to %s failed for good: %s", row.id, row.phone_e164, error)
    if row.need_id is not None:
        from .rides import record_event

        need = db.session.get(RideNeed, row.need_id)
        if need is not None:
            record_event(need, actor="système",
                         note=f"SMS non remis ({row.kind or 'message'}) au {fr_phone(row.phone_e164)} : prévenir par téléphone.")
            db.session.commit()


def sweep_outbox(grace_s: float | None = None) -> int:
    """Re-queue rows whose task was lost and rows a dead worker left in 'sending'.

    ``grace_s`` (default ``SMS_SWEEP_GRACE_S``) leaves alone rows that became due only just
    now: their own task is about to run. Queuing a row twice is harmless (the claim decides).
    """
    from ..tasks import enqueue_delivery

    now = utcnow()
    grace = timedelta(seconds=_cfg("SMS_SWEEP_GRACE_S", 30) if grace_s is None else grace_s)
    cutoff = now - grace
    queued = db.session.execute(
        select(SmsMessage.id).where(
            SmsMessage.direction == "out", SmsMessage.status == "queued",
            or_(SmsMessage.not_before.is_(None), SmsMessage.not_before <= cutoff),
            or_(SmsMessage.next_attempt_at.is_(None), SmsMessage.next_attempt_at <= cutoff),
            SmsMessage.created_at <= cutoff,
        ).order_by(SmsMessage.id).limit(500)
    ).scalars().all()
    sending = [r for r in db.session.execute(
        select(SmsMessage).where(SmsMessage.direction == "out", SmsMessage.status == "sending")
        .order_by(SmsMessage.id).limit(500)).scalars() if lease_broken(r, now)]
    ids = list(queued) + [r.id for r in sending]
    db.session.commit()
    for row_id in ids:
        enqueue_delivery(row_id)
    if ids:
        log.info("outbox sweep: %d row(s) re-queued", len(ids))
    return len(ids)


_STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}


def record_status_callback(*, reference: str | None, message_sid: str | None, status: str,
                           error_code: str | None = None) -> SmsMessage | None:
    """Apply a delivery report (Twilio status callback) to its outbox row."""
    row = None
    if reference:
        row = db.session.execute(select(SmsMessage).where(SmsMessage.reference == reference)).scalar_one_or_none()
    if row is None and message_sid:
        row = db.session.execute(select(SmsMessage).where(SmsMessage.provider_sid == message_sid)).scalar_one_or_none()
    if row is None or row.direction != "out":
        return None
    mapped = {"accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
              "delivered": "delivered", "undelivered": "undelivered", "failed": "failed",
              "read": "delivered"}.get(status)
    if message_sid and row.provider_sid is None:
        row.provider_sid = message_sid
        row.sending_owner = None
        row.sent_at = row.sent_at or utcnow()
    elif message_sid and row.provider_sid != message_sid:
        log.error("SMS %s: status callback for %s but the row was sent as %s (duplicate send)",
                  row.id, message_sid, row.provider_sid)
        db.session.commit()
        return row
    if mapped and row.status != "cancelled" and _STATUS_RANK.get(mapped, 0) >= _STATUS_RANK.get(row.status, 0):
        if row.status in ("queued", "sending"):
            # The provider has it: whoever was sending it has nothing left to do.
            row.sending_owner = None
            row.sent_at = row.sent_at or utcnow()
        row.status = mapped
        if mapped in ("undelivered", "failed"):
            row.last_error = f"provider status {status}" + (f", error {error_code}" if error_code else "")
    db.session.commit()
    return row


# --- Messages of the workflow ----------------------------------------------------------------

def _render(template: str, **context: object) -> str:
    text = render_template(f"sms/{template}.txt", **context)
    return tidy_punctuation(" ".join(text.split()))


def _render_fitting(template: str, shorten: tuple[str, ...], **context: object) -> str:
    """Render; when it takes more than one SMS, shorten the given fields and try again."""
    text = _render(template, **context)
    for limit in (40, 28, 20):
        if count_segments(fit_sms(text)).segments <= 1:
            break
        for key in shorten:
            value = str(context.get(key) or "")
            if len(value) > limit:
                context[key] = shorten_label(value, limit)
        text = _render(template, **context)
    return text


def _pickup_at(proposal: Proposal) -> datetime:
    return aware(proposal.pickup_at or proposal.need.requested_at)  # type: ignore[return-value]


def _rider_short(need: RideNeed) -> str:
    b = need.beneficiary
    return f"{b.first_name} {b.last_name[:1]}." if b.last_name else b.first_name


def _service_phone() -> str:
    return fr_phone(current_app.config.get("SERVICE_PHONE", ""))


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=_tz()).astimezone(UTC)


def proposals_sent_on(phone_e164: str, day: date) -> int:
    """Proposals sent (or scheduled) to a number on a local day."""
    start, end = _day_start_utc(day), _day_start_utc(day + timedelta(days=1))
    rows = db.session.execute(
        select(SmsMessage.not_before, SmsMessage.created_at).where(
            SmsMessage.phone_e164 == phone_e164, SmsMessage.kind == "proposal", SmsMessage.direction == "out",
            SmsMessage.status != "cancelled", SmsMessage.created_at >= start - timedelta(days=3))
    ).all()
    moments = [aware(nb) or aware(created) for nb, created in rows]
    return sum(1 for moment in moments if moment is not None and start <= moment < end)


@dataclass(frozen=True)
class ProposalSchedule:
    """When a proposal SMS may go out (None: now)."""

    not_before: datetime | None


def check_proposal_sms(driver: Driver, pickup_at: datetime, *, now: datetime | None = None) -> ProposalSchedule:
    """Apply the proposal rules (for the web page to check before proposing).

    Raise :class:`SmsRuleError` (French message) when the proposal cannot be texted; return
    when it can go, possibly later (end of the quiet hours).
    """
    now = now or utcnow()
    pickup = aware(pickup_at)
    if not driver.phone_e164:
        raise NoSmsPhone("Ce bénévole n'a pas de numéro de portable : appelez-le.")
    if is_opted_out(driver.phone_e164):
        raise SmsOptedOut(f"{driver.first_name} a demandé à ne plus recevoir de SMS (STOP) : appelez-le.")
    send_at = quiet_until(now)
    moment = send_at or now
    if pickup is not None and pickup - moment < MIN_NOTICE:
        if send_at is not None:
            raise SmsRuleError("Pas de SMS la nuit, et le départ est trop proche pour attendre le matin : "
                               "appelez le bénévole.")
        raise SmsRuleError("Départ dans moins d'une heure : pas de proposition par SMS, appelez le bénévole.")
    cap = int(current_app.config.get("SMS_MAX_PROPOSALS_PER_DRIVER_PER_DAY", 5))
    if proposals_sent_on(driver.phone_e164, local(moment).date()) >= cap:
        raise SmsRuleError(f"{driver.first_name} a déjà reçu {cap} propositions aujourd'hui : "
                           "proposez à un autre bénévole ou appelez-le.")
    return ProposalSchedule(send_at)


def notify_proposal(proposal: Proposal) -> SmsMessage:
    """Text a proposal to its driver ("… Répondez OUI 482 ou NON 482"), within the rules.

    Like every ``notify_*`` function, it stages the outbox rows in the caller's transaction
    (see :func:`stage_sms`); the caller commits, then calls :func:`enqueue_committed`.
    """
    driver, need = proposal.driver, proposal.need
    pickup = _pickup_at(proposal)
    schedule = check_proposal_sms(driver, pickup)
    needs = [label for flag, label in ((need.needs_wheelchair, "fauteuil"),
                                       (need.needs_accompaniment, "accompagnement"),
                                       (need.return_mode != "none", "avec retour")) if flag]
    body = _render_fitting(
        "proposal", ("pickup", "dropoff"), driver=driver, day=fr_day(pickup), hour=fr_hour(pickup),
        pickup=need.pickup_label, dropoff=need.dropoff_label, code=proposal.code, passengers=need.passengers,
        distance_km=round(proposal.distance_m / 1000) if proposal.distance_m else None, needs=", ".join(needs),
    )
    row = stage_sms(driver.phone_e164, body, kind="proposal", need_id=need.id, proposal_id=proposal.id,
                    not_before=schedule.not_before, driver_id=driver.id)
    if schedule.not_before is not None and row.status == "queued":
        from .rides import record_event

        record_event(need, actor="système", note=f"Pas de SMS la nuit : la proposition à {driver.first_name} partira "
                                                 f"le {fr_day(schedule.not_before)} à {fr_hour(schedule.not_before)}.")
    if row.status != "cancelled" and proposal.sent_at is None:
        db.session.execute(update(Proposal).where(Proposal.id == proposal.id)
                           .values(sent_at=schedule.not_before or utcnow())
                           .execution_options(synchronize_session=False))
    return row


def proposal_sms(proposal: Proposal) -> SmsMessage | None:
    """The latest proposal SMS of a proposal (for the page to say "sent", "planned at 8h"…)."""
    return db.session.execute(
        select(SmsMessage).where(SmsMessage.proposal_id == proposal.id, SmsMessage.kind == "proposal")
        .order_by(SmsMessage.id.desc())).scalars().first()


def notify_taken(proposal: Proposal) -> SmsMessage | None:
    """Tell a driver who was asked too that the ride has found someone else."""
    return _close_proposal_by_sms(proposal, "taken")


def notify_withdrawn(proposal: Proposal) -> SmsMessage | None:
    """Tell a driver that a proposal she has not answered is withdrawn (need changed or cancelled)."""
    return _close_proposal_by_sms(proposal, "withdrawn")


def _close_proposal_by_sms(proposal: Proposal, kind: str) -> SmsMessage | None:
    """Text a driver that a proposal she received is closed (template and kind ``kind``)."""
    driver = proposal.driver
    if not driver.phone_e164 or driver.phone_e164 in _answered_inline.get():
        return None
    # A proposal never texted (scheduled for the morning and cancelled since) needs no notice.
    texted = db.session.execute(select(SmsMessage.id).where(
        SmsMessage.proposal_id == proposal.id, SmsMessage.kind == "proposal",
        SmsMessage.status.in_(("sending", "sent", "delivered")))).first()
    if texted is None:
        return None
    pickup = _pickup_at(proposal)
    body = _render(kind, driver=driver, day=fr_day(pickup), hour=fr_hour(pickup), code=proposal.code)
    return stage_sms(driver.phone_e164, body, kind=kind, need_id=proposal.need_id, proposal_id=proposal.id,
                     driver_id=driver.id)


def _beneficiary_phone(need: RideNeed) -> str | None:
    """The rider's number when she agreed to SMS (the aidant's number may be the one on file)."""
    b = need.beneficiary
    if b.phone_e164 and b.consent_sms_at is not None and not b.sms_opt_out:
        return b.phone_e164
    return None


def _accepted(need: RideNeed) -> Proposal | None:
    return db.session.execute(
        select(Proposal).where(Proposal.need_id == need.id, Proposal.status == "accepted")
        .order_by(Proposal.id.desc())).scalars().first()


def driver_confirmation_text(proposal: Proposal) -> str:
    """What the driver is told once the ride is his (reply to OUI, or SMS after a phone call)."""
    need = proposal.need
    pickup = _pickup_at(proposal)
    b = need.beneficiary
    phone = fr_phone(b.phone_e164) if b.consent_sharing_at is not None and b.phone_e164 else ""
    return _render_fitting("driver_confirmation", ("pickup", "dropoff"), driver=proposal.driver,
                           day=fr_day(pickup), hour=fr_hour(pickup), rider=_rider_short(need),
                           pickup=need.pickup_label, dropoff=need.dropoff_label, phone=phone)


def notify_confirmation(need: RideNeed) -> list[SmsMessage]:
    """The ride is confirmed: tell the rider (with consent) and the driver (unless he just
    answered OUI by SMS and got the details in the reply)."""
    proposal = _accepted(need)
    if proposal is None:
        return []
    sent: list[SmsMessage] = []
    inline = _answered_inline.get()
    pickup = _pickup_at(proposal)
    phone = _beneficiary_phone(need)
    if phone and phone not in inline:
        body = _render_fitting("confirmation", ("pickup", "dropoff"), driver=proposal.driver,
                               day=fr_day(pickup), hour=fr_hour(pickup), pickup=need.pickup_label,
                               dropoff=need.dropoff_label, need=need)
        sent.append(stage_sms(phone, body, kind="confirmation", need_id=need.id, proposal_id=proposal.id,
                              beneficiary_id=need.beneficiary_id))
    driver = proposal.driver
    if driver.phone_e164 and driver.phone_e164 not in inline and proposal.answered_via != "sms":
        sent.append(stage_sms(driver.phone_e164, driver_confirmation_text(proposal), kind="driver_confirmation",
                              need_id=need.id, proposal_id=proposal.id, driver_id=driver.id))
    return sent


def notify_cancellation(need: RideNeed) -> list[SmsMessage]:
    """The need is cancelled: tell the driver who had accepted it, and the rider."""
    proposal = _accepted(need)
    sent: list[SmsMessage] = []
    inline = _answered_inline.get()
    when = aware(proposal.pickup_at) if proposal and proposal.pickup_at else aware(need.requested_at)
    assert when is not None
    if proposal is not None and proposal.driver.phone_e164 and proposal.driver.phone_e164 not in inline:
        body = _render("cancellation_driver", driver=proposal.driver, day=fr_day(when), hour=fr_hour(when),
                       rider=_rider_short(need), dropoff=need.dropoff_label)
        sent.append(stage_sms(proposal.driver.phone_e164, body, kind="cancellation", need_id=need.id,
                              proposal_id=proposal.id, driver_id=proposal.driver_id))
    phone = _beneficiary_phone(need)
    if phone and phone not in inline:
        body = _render("cancellation_rider", day=fr_day(when), hour=fr_hour(when), dropoff=need.dropoff_label,
                       service_phone=_service_phone())
        sent.append(stage_sms(phone, body, kind="cancellation", need_id=need.id,
                              beneficiary_id=need.beneficiary_id))
    return sent



# --- Pooled routes ---------------------------------------------------------------------------

_REQUIREMENTS_FR = (("needs_wheelchair", "fauteuil"), ("needs_accompaniment", "accomp."),
                    ("no_front_seat", "à l'arrière"))


def _route_stops_text(route: Any, label_limit: int | None) -> str:
    """The stops in order: "8h40 Jeanne D. Gourdon (fauteuil) ; 9h30 dépose Jeanne D. Cahors"."""
    from ..models import RideNeed as NeedModel

    ids = {int(s["need"]) for s in route.stops}
    needs = {n.id: n for n in db.session.execute(select(NeedModel).where(NeedModel.id.in_(ids))).scalars()}
    parts = []
    for stop in route.stops:
        need = needs.get(int(stop["need"]))
        if need is None:
            continue
        at = aware(datetime.fromisoformat(stop["at"]))
        outbound = stop["leg"] == "outbound"
        place = need.pickup_label if (stop["kind"] == "pickup") == outbound else need.dropoff_label
        if label_limit is not None and len(place) > label_limit:
            place = shorten_label(place, label_limit)
        who = _rider_short(need)
        if stop["kind"] == "pickup":
            extra = [label for attr, label in _REQUIREMENTS_FR if getattr(need, attr)]
            if need.passengers > 1:
                extra.append(f"{need.passengers} pers.")
            parts.append(f"{fr_hour(at)} prendre {who} {place}" + (f" ({', '.join(extra)})" if extra else ""))
        else:
            parts.append(f"{fr_hour(at)} déposer {who} {place}")
    return " ; ".join(parts)


def _route_text(template: str, route: Any, **context: Any) -> str:
    """Render a route text within three SMS segments, shortening the places as needed."""
    text = ""
    for limit in (None, 32, 22, 14, 8):
        text = _render(template, stops=_route_stops_text(route, limit), **context)
        if count_segments(fit_sms(text)).segments <= 3:
            return text
    return text


def notify_route(route: Any) -> SmsMessage:
    """Text a pooled route to its driver, as one proposal (at most three GSM-7 segments)."""
    driver = route.driver
    start = aware(route.start_at)
    assert start is not None
    schedule = check_proposal_sms(driver, start)
    riders = len({int(s["need"]) for s in route.stops})
    body = _route_text("route", route, driver=driver, day=fr_day(start), riders=riders, code=route.code,
                       distance_km=round(route.distance_m / 1000) if route.distance_m else None)
    first = route.proposals[0] if route.proposals else None
    row = stage_sms(driver.phone_e164, body, kind="proposal", need_id=first.need_id if first else None,
                    proposal_id=first.id if first else None, not_before=schedule.not_before,
                    driver_id=driver.id)
    if row.status != "cancelled":
        for proposal in route.proposals:
            if proposal.sent_at is None:
                proposal.sent_at = schedule.not_before or utcnow()
    return row


def route_confirmation_text(route: Any) -> str:
    """The reply to a driver who accepted her route: the stops as confirmed."""
    start = aware(route.start_at)
    assert start is not None
    return _route_text("route_confirmation", route, driver=route.driver, day=fr_day(start),
                       service_phone=_service_phone())


def notify_route_update(route: Any, proposal: Proposal) -> SmsMessage | None:
    """A rider left the driver's route: send the route as it is now (or its cancellation)."""
    driver = route.driver
    if not driver.phone_e164 or driver.phone_e164 in _answered_inline.get():
        return None
    start = aware(route.start_at)
    assert start is not None
    stops = _route_stops_text(route, 22) if route.status in ("pending", "accepted") else ""
    body = _render("route_update", driver=driver, rider=_rider_short(proposal.need), day=fr_day(start),
                   stops=stops)
    return stage_sms(driver.phone_e164, body, kind="route_update", need_id=proposal.need_id,
                     proposal_id=proposal.id, driver_id=driver.id)


def notify_pickup_moved(proposal: Proposal, before: datetime | None) -> SmsMessage | None:
    """A confirmed rider's pickup moved when someone joined the car: tell her (with consent)."""
    need = proposal.need
    phone = _beneficiary_phone(need)
    if not phone or before is None:
        return None
    pickup = _pickup_at(proposal)
    body = _render_fitting("pickup_moved", ("pickup",), driver=proposal.driver, day=fr_day(pickup),
                           hour=fr_hour(pickup), before=fr_hour(aware(before)), pickup=need.pickup_label,
                           need=need)
    return stage_sms(phone, body, kind="pickup_moved", need_id=need.id, proposal_id=proposal.id,
                     beneficiary_id=need.beneficiary_id)


def notify_rider_cancellation(need: RideNeed) -> list[SmsMessage]:
    """A rider of a pooled route cancelled: tell her (the driver got the updated route)."""
    phone = _beneficiary_phone(need)
    if not phone or phone in _answered_inline.get():
        return []
    when = aware(need.requested_at)
    assert when is not None
    body = _render("cancellation_rider", day=fr_day(when), hour=fr_hour(when), dropoff=need.dropoff_label,
                   service_phone=_service_phone())
    return [stage_sms(phone, body, kind="cancellation", need_id=need.id, beneficiary_id=need.beneficiary_id)]

def notify_driver_left(need: RideNeed) -> SmsMessage | None:
    """The confirmed volunteer left the platform: tell the rider (with consent) the ride is
    searched again. Staged in the caller's transaction."""
    phone = _beneficiary_phone(need)
    if not phone:
        return None
    when = aware(need.requested_at)
    assert when is not None
    body = _render_fitting("driver_left_rider", ("dropoff",), day=fr_day(when), hour=fr_hour(when),
                           dropoff=need.dropoff_label, service_phone=_service_phone())
    return stage_sms(phone, body, kind="driver_left", need_id=need.id, beneficiary_id=need.beneficiary_id)


def _remind_route(proposal: Proposal) -> int:
    """The driver's reminder of her accepted route, once per route."""
    from ..models import RideRoute

    route = db.session.get(RideRoute, proposal.route_id)
    if route is None or route.status != "accepted":
        return 0
    ids = [p.id for p in route.proposals]
    if db.session.execute(select(SmsMessage.id).where(
            SmsMessage.proposal_id.in_(ids), SmsMessage.kind == "reminder_driver")).first():
        return 0
    start = aware(route.start_at)
    assert start is not None
    body = _route_text("route_reminder", route, driver=route.driver, day=fr_day(start),
                       service_phone=_service_phone())
    send_sms(route.driver.phone_e164, body, kind="reminder_driver", need_id=proposal.need_id,
             proposal_id=proposal.id, driver_id=route.driver_id)
    return 1


def send_reminders(now: datetime | None = None) -> int:
    """The reminder job: the day before a confirmed ride, text the rider and the driver.

    Runs every 15 minutes (huey periodic task); sends from the end of the quiet hours until
    18:00 local time, once per need and number (a reminder already in the outbox is not
    repeated).
    """
    now = now or utcnow()
    now_local = local(now)
    hours = quiet_hours()
    start = hours[1] if hours else time(9)
    if quiet_until(now) is not None or not (start <= now_local.time().replace(tzinfo=None) < time(18)):
        return 0
    tomorrow = now_local.date() + timedelta(days=1)
    lo, hi = _day_start_utc(tomorrow), _day_start_utc(tomorrow + timedelta(days=1))
    proposals = db.session.execute(
        select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id).where(
            Proposal.status == "accepted", RideNeed.status == "confirmed",
            RideNeed.requested_at >= lo - timedelta(hours=12), RideNeed.requested_at < hi + timedelta(hours=12))
    ).scalars().all()
    count = 0
    for proposal in proposals:
        pickup = _pickup_at(proposal)
        if not (lo <= pickup < hi):
            continue
        need = proposal.need
        already = {p for (p,) in db.session.execute(select(SmsMessage.phone_e164).where(
            SmsMessage.need_id == need.id, SmsMessage.kind.in_(("reminder", "reminder_driver"))))}
        phone = _beneficiary_phone(need)
        if phone and phone not in already:
            body = _render_fitting("reminder", ("pickup",), driver=proposal.driver, hour=fr_hour(pickup),
                                   day=fr_day(pickup), pickup=need.pickup_label, need=need)
            send_sms(phone, body, kind="reminder", need_id=need.id, proposal_id=proposal.id,
                     beneficiary_id=need.beneficiary_id)
            count += 1
        driver = proposal.driver
        if proposal.route_id is not None and driver.phone_e164:
            count += _remind_route(proposal)  # one reminder for the whole route
        elif driver.phone_e164 and driver.phone_e164 not in already:
            body = _render_fitting("reminder_driver", ("pickup", "dropoff"), driver=driver, hour=fr_hour(pickup),
                                   day=fr_day(pickup), pickup=need.pickup_label, dropoff=need.dropoff_label,
                                   rider=_rider_short(need), service_phone=_service_phone())
            send_sms(driver.phone_e164, body, kind="reminder_driver", need_id=need.id, proposal_id=proposal.id,
                     driver_id=driver.id)
            count += 1
    return count
