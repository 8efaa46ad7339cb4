"""SMS providers behind one small interface: Twilio, and the development provider.

``send`` either returns the provider's message id, or raises one of three errors that tell the
outbox what to do next:

- :class:`ProviderTemporaryError` — the provider surely did NOT take the message (429, 5xx,
  connection refused): try again later;
- :class:`ProviderPermanentError` — it never will (invalid number, unverified sender…);
- :class:`ProviderAmbiguousError` — we cannot know (timeout or connection lost after the
  request left): the outbox must ask the provider (``find_sent``) before sending again.

``find_sent`` looks for a message the provider already accepted for this recipient and body
since a given moment (the reconciliation step of :mod:`app.services.notifications`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import Flask

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """A send or a lookup did not succeed."""


class ProviderTemporaryError(ProviderError):
    """The provider did not take the message; retrying later may work."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProviderPermanentError(ProviderError):
    """The provider refused the message for good."""


class ProviderAmbiguousError(ProviderError):
    """The request may or may not have reached the provider."""


@dataclass(frozen=True)
class SentMessage:
    """A message the provider accepted."""

    sid: str
    status: str = "sent"


class SmsProvider(Protocol):
    """What the outbox needs from a provider."""

    name: str

    def send(self, to: str, body: str, *, reference: str) -> SentMessage:
        """Hand the message to the provider; raise a ProviderError subclass on failure."""

    def find_sent(self, to: str, body: str, since: datetime) -> SentMessage | None:
        """A message already accepted for ``to`` with this ``body`` since ``since``, if any."""


class DevProvider:
    """Development provider: nothing leaves the machine.

    The outbox row itself is the stored message (the SMS simulator page reads it), so sending
    is only giving it an id. ``fail_next`` lets a test make the next sends fail.
    """

    name = "dev"

    def __init__(self) -> None:
        self.fail_next: list[ProviderError] = []

    def send(self, to: str, body: str, *, reference: str) -> SentMessage:
        if self.fail_next:
            raise self.fail_next.pop(0)
        return SentMessage(sid=f"DEV{reference}", status="delivered")

    def find_sent(self, to: str, body: str, since: datetime) -> SentMessage | None:
        # The dev provider answers synchronously and never loses a reply, so a row stuck in
        # 'sending' was never handed over.
        return None


class TwilioProvider:
    """Twilio Programmable Messaging through the official client (``twilio`` package).

    ``api_base_url`` replaces https://api.twilio.com (a local fake server in tests, a proxy in
    some deployments): the client's ``api`` domain object carries its base URL, and every
    Messages API call is built from it.
    """

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str = "",
                 messaging_service_sid: str = "", api_base_url: str = "", status_callback: str = "",
                 timeout_s: float = 15.0) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if not account_sid or not auth_token:
            raise ProviderPermanentError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
        if not from_number and not messaging_service_sid:
            raise ProviderPermanentError("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required")
        # No retries inside the HTTP client: the outbox decides, knowing what is safe to repeat.
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout_s))
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    def send(self, to: str, body: str, *, reference: str) -> SentMessage:
        import requests
        from twilio.base.exceptions import TwilioRestException

        kwargs: dict[str, Any] = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if self.status_callback:
            sep = "&" if "?" in self.status_callback else "?"
            kwargs["status_callback"] = f"{self.status_callback}{sep}ref={reference}"
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise ProviderTemporaryError(f"Twilio {exc.status}: {exc.msg}") from exc
            raise ProviderPermanentError(f"Twilio {exc.status} (code {exc.code}): {exc.msg}") from exc
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise ProviderTemporaryError(f"Twilio unreachable: {exc}") from exc
        except requests.exceptions.ConnectionError as exc:
            # Refused before anything was sent: safe to retry. Anything else (reset, aborted,
            # read timeout) may have happened after Twilio stored the message.
            if _connection_refused(exc):
                raise ProviderTemporaryError(f"Twilio unreachable: {exc}") from exc
            raise ProviderAmbiguousError(f"connection lost during the request: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise ProviderAmbiguousError(f"no answer from Twilio in time: {exc}") from exc
        return SentMessage(sid=str(message.sid), status=str(message.status or "queued"))

    def find_sent(self, to: str, body: str, since: datetime) -> SentMessage | None:
        import requests
        from twilio.base.exceptions import TwilioRestException

        kwargs: dict[str, Any] = {"to": to, "limit": 100}
        if not self.messaging_service_sid:
            kwargs["from_"] = self.from_number
        try:
            # Newest first; a message still queued at Twilio has no date_sent yet, so filter
            # on date_created here rather than on the API's DateSent.
            messages = self.client.messages.list(**kwargs)
        except TwilioRestException as exc:
            raise ProviderTemporaryError(f"Twilio {exc.status} while listing messages: {exc.msg}") from exc
        except requests.exceptions.RequestException as exc:
            raise ProviderTemporaryError(f"Twilio unreachable while listing messages: {exc}") from exc
        floor = since - timedelta(minutes=2)  # clock skew between us and Twilio
        for message in messages:
            created = message.date_created
            if created is not None and created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            if (message.body or "").strip() == body.strip() and (created is None or created >= floor):
                return SentMessage(sid=str(message.sid), status=str(message.status or "sent"))
        return None


def _connection_refused(exc: Exception) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or "NewConnectionError" in type(current).__name__:
            return True
        text = str(current)
        if "Connection refused" in text or "NewConnectionError" in text:
            return True
        current = current.__cause__ or current.__context__ or (current.args[0] if current.args and isinstance(current.args[0], BaseException) else None)
    return False


def get_provider(app: Flask) -> SmsProvider:
    """The provider configured for ``app`` (SMS_PROVIDER = dev | twilio), built once per app."""
    cached = app.extensions.get("sms_provider")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    kind = app.config.get("SMS_PROVIDER", "dev")
    provider: SmsProvider
    if kind == "twilio":
        base = (app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        provider = TwilioProvider(
            account_sid=app.config.get("TWILIO_ACCOUNT_SID", ""),
            auth_token=app.config.get("TWILIO_AUTH_TOKEN", ""),
            from_number=app.config.get("TWILIO_FROM_NUMBER", ""),
            messaging_service_sid=app.config.get("TWILIO_MESSAGING_SERVICE_SID", ""),
            api_base_url=app.config.get("TWILIO_API_BASE_URL", ""),
            status_callback=f"{base}/sms/status" if base else "",
            timeout_s=float(app.config.get("SMS_HTTP_TIMEOUT_S", 15)),
        )
    elif kind == "dev":
        provider = DevProvider()
    else:
        raise ProviderPermanentError(f"unknown SMS_PROVIDER {kind!r} (expected 'dev' or 'twilio')")
    app.extensions["sms_provider"] = provider
    return provider
