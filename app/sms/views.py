"""Twilio webhooks: POST /sms/inbound (a text arrives) and POST /sms/status (delivery report).

Both reject, with 403, any request whose ``X-Twilio-Signature`` does not validate against the
auth token and the public URL Twilio called (``PUBLIC_BASE_URL`` + path when the app sits
behind a reverse proxy). They are exempt from CSRF: the signature is their protection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from ..extensions import csrf, limiter
from . import bp

# Services are imported inside the views: app.services.notifications imports app.sms.encoding,
# which loads this package.

log = logging.getLogger(__name__)


def public_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (+ query) when configured, else the request URL."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) a request that does not carry a valid Twilio signature."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(public_url(), request.form, signature):
            log.warning("rejected %s: bad or missing Twilio signature (from %s)", request.path, request.remote_addr)
            abort(403)
        return view(*args, **kwargs)

    return checked


def _twiml(replies: list[str]) -> Response:
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    return Response(str(response), mimetype="application/xml")


@bp.post("/inbound")
@csrf.exempt
@limiter.exempt
@twilio_signed
def inbound() -> Response:
    """A text arrived: handle it once per MessageSid, answer in TwiML.

    With ``SMS_INBOUND_QUEUED`` the text is only stored and queued; the queue worker handles
    it and sends the answers from the outbox, and the TwiML is empty.
    """
    from ..services.conversations import accept_inbound, handle_inbound

    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    sender = request.form.get("From", "")
    if not sid or not sender:
        abort(400)
    if current_app.config.get("SMS_INBOUND_QUEUED"):
        accept_inbound(sender, request.form.get("Body", ""), message_sid=sid)
        return _twiml([])
    result = handle_inbound(sender, request.form.get("Body", ""), message_sid=sid)
    return _twiml(result.replies)


@bp.post("/status")
@csrf.exempt
@limiter.exempt
@twilio_signed
def status() -> tuple[str, int]:
    """Delivery report for a message we sent."""
    from ..services.notifications import record_status_callback

    record_status_callback(
        reference=request.args.get("ref"),
        message_sid=request.form.get("MessageSid") or request.form.get("SmsSid"),
        status=(request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower(),
        error_code=request.form.get("ErrorCode"),
    )
    return "", 204
