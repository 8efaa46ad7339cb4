"""What an operator watches: request ids in every log line, JSON logs, Prometheus metrics.

- Every request gets an id (the ``X-Request-Id`` header from the proxy when it is sane, else a
  new one), sent back in the response, attached to every log record of the request and passed to
  the queue tasks it enqueues (see :mod:`app.tasks`), so one SMS can be followed from the webhook
  to the provider.
- ``LOG_FORMAT=json`` writes one JSON object per log line (python-json-logger) with the request id.
- ``/metrics`` (Prometheus text format) exposes request latency per endpoint, engine and planner
  latency, queue depth and age of the oldest waiting SMS, and SMS counts per status. Under
  gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` so that every worker's histograms are summed.
  ``/metrics`` answers to loopback addresses, or to ``Authorization: Bearer METRICS_TOKEN``.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# The request id of the work being done: a web request, or a queue task that carries one.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUEST_SECONDS = Histogram(
    "lot_http_request_duration_seconds", "Time to answer an HTTP request, per endpoint.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30),
)
ENGINE_SECONDS = Histogram(
    "lot_engine_duration_seconds", "Time spent in the matching engine and the day planner.", ["operation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60),
)


def request_id() -> str | None:
    """The id of the current request or task, if any."""
    if has_request_context() and getattr(g, "request_id", None):
        return str(g.request_id)
    return current_request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


def configure_logging(fmt: str, level: str = "INFO") -> None:
    """Root logging for the process: ``json`` (one object a line) or ``text``; idempotent."""
    root = logging.getLogger()
    if any(getattr(h, "_lot_handler", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._lot_handler = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())


@contextmanager
def task_request_id(value: str | None) -> Iterator[None]:
    """Run a queue task under the request id that enqueued it."""
    token = current_request_id.set(value)
    try:
        yield
    finally:
        current_request_id.reset(token)


@contextmanager
def timed(operation: str) -> Iterator[None]:
    """Observe the duration of an engine or planner operation."""
    began = time.perf_counter()
    try:
        yield
    finally:
        ENGINE_SECONDS.labels(operation).observe(time.perf_counter() - began)


def timed_call(operation: str) -> Callable[[F], F]:
    """Decorator form of :func:`timed`."""

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with timed(operation):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _queue_and_sms_metrics(registry: CollectorRegistry) -> None:
    """Gauges read at scrape time from the queue and the outbox (the truth, for every process)."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import SmsMessage, utcnow
    from .tasks import get_huey

    depth = Gauge("lot_queue_depth", "Tasks waiting in the task queue.", registry=registry)
    try:
        depth.set(get_huey().pending_count())
    except Exception as exc:  # noqa: BLE001 - a broken queue is a metric, not a crash of /metrics
        log.warning("queue depth unavailable: %s", exc)
        depth.set(float("nan"))
    oldest = db.session.execute(select(func.min(SmsMessage.created_at)).where(
        SmsMessage.direction == "out", SmsMessage.status.in_(("queued", "sending")),
        (SmsMessage.not_before.is_(None)) | (SmsMessage.not_before <= utcnow()))).scalar()
    age = Gauge("lot_sms_oldest_waiting_age_seconds",
                "Age of the oldest SMS due but not yet handed to the provider.", registry=registry)
    if oldest is not None:
        if oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        age.set(max(0.0, (utcnow() - oldest).total_seconds()))
    else:
        age.set(0)
    messages = Gauge("lot_sms_messages", "SMS stored, per direction and status.", ["direction", "status"],
                     registry=registry)
    for direction, status, count in db.session.execute(
            select(SmsMessage.direction, SmsMessage.status, func.count()).group_by(
                SmsMessage.direction, SmsMessage.status)):
        messages.labels(direction, status).set(count)
    retried = Gauge("lot_sms_retried", "Outbound SMS that needed more than one attempt.", registry=registry)
    retried.set(db.session.execute(select(func.count()).where(
        SmsMessage.direction == "out", SmsMessage.attempts > 1)).scalar() or 0)
    db.session.rollback()


def _metrics_allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    # A request relayed by a proxy comes from the proxy's loopback address whoever sent it:
    # without a token, only a scraper talking to this process directly is let in.
    if any(h in request.headers for h in ("X-Forwarded-For", "X-Real-Ip", "Forwarded")):
        return False
    return (request.remote_addr or "") in ("127.0.0.1", "::1")


def metrics_view() -> Response:
    if not _metrics_allowed():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        process_part = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        process_part = generate_latest(REGISTRY)
    live = CollectorRegistry()
    _queue_and_sms_metrics(live)
    return Response(process_part + generate_latest(live), mimetype=CONTENT_TYPE_LATEST)


def init_observability(app: Flask) -> None:
    """Request ids, request latency, logging format and the /metrics endpoint."""
    configure_logging(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers.setdefault(REQUEST_ID_HEADER, getattr(g, "request_id", ""))
        started = getattr(g, "request_started", None)
        if started is not None:
            REQUEST_SECONDS.labels(request.endpoint or "unmatched", request.method,
                                   str(response.status_code)).observe(time.perf_counter() - started)
        return response

    from .extensions import limiter

    app.add_url_rule("/metrics", "metrics", limiter.exempt(metrics_view))
