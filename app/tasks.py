"""The task queue (huey): sending SMS from the outbox, sweeping it, reminders the day before,
the life cycle of proposals and needs (expiries every 5 minutes, the end of each day:
:mod:`app.services.lifecycle`) and the daily retention purge (records and audit log,
:mod:`app.services.retention`).

One huey instance per application, built from its configuration:

- ``TASK_QUEUE_URL`` ``sqlite:///path`` → :class:`huey.SqliteHuey` (the embedded default),
  ``redis://…`` → :class:`huey.RedisHuey` (production);
- ``TASK_QUEUE_IMMEDIATE`` → immediate mode (tasks run in the caller, tests and debugging).

Tasks only carry row ids; the outbox row in the database is the truth (see
:mod:`app.services.notifications`), so a task lost with a crashed queue is recovered by the
periodic sweep. Tasks run inside an application context: the worker's own app (built lazily
with ``create_app()`` from the environment, or given to :func:`start_consumer_in_process`).

Run a worker with ``flask --app app sms worker`` (or ``python -m app.sms.worker``); ``flask
run-platform`` runs one in threads of the web process with :func:`start_consumer_in_process`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

log = logging.getLogger(__name__)

QUEUE_NAME = "lot-mobilite"
_EXTENSION = "huey"
_lock = threading.Lock()


class TaskQueueConfigError(ValueError):
    """TASK_QUEUE_URL names no supported storage."""


def build_huey(url: str, *, immediate: bool = False, name: str = QUEUE_NAME) -> Huey:
    """A huey instance for a queue URL (sqlite:///path or redis://…), without tasks."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, immediate=immediate, results=False)
    if url.startswith("sqlite:///"):
        return SqliteHuey(name, filename=url[len("sqlite:///"):], immediate=immediate, results=False)
    if url in ("memory://", "") and immediate:
        return Huey(name, immediate=True, results=False)
    raise TaskQueueConfigError(f"TASK_QUEUE_URL {url!r}: expected sqlite:///path or redis://host:port/db")


def _in_app(app: Flask, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` run inside ``app``'s context (reusing the caller's context in immediate mode)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        from .observability import task_request_id

        # The id of the web request that queued the task, so that its log lines follow it.
        request_id = kwargs.pop("request_id", None)
        same = has_app_context() and current_app._get_current_object() is app  # type: ignore[attr-defined]
        with nullcontext() if same else app.app_context(), task_request_id(request_id):
            return func(*args, **kwargs)

    run.__name__ = func.__name__
    run.__qualname__ = func.__qualname__
    run.__module__ = func.__module__
    return run


class AppTasks:
    """The tasks of one application, registered on its huey instance."""

    def __init__(self, app: Flask, huey: Huey) -> None:
        from .services import lifecycle, notifications, retention

        self.app = app
        self.huey = huey
        self.deliver: TaskWrapper = huey.task(name="sms.deliver")(_in_app(app, notifications.deliver_outbox_message))
        self.sweep: TaskWrapper = huey.task(name="sms.sweep")(_in_app(app, notifications.sweep_outbox))
        # Inbound texts stored by the webhook (SMS_INBOUND_QUEUED), handled here.
        from .services import conversations

        self.inbound: TaskWrapper = huey.task(name="sms.inbound")(_in_app(app, conversations.process_received))
        # The day's pooled plan, asked for on the planning page (never in the web request).
        from .services import day_plans

        self.plan_day: TaskWrapper = huey.task(name="plans.day")(_in_app(app, day_plans.run_plan))
        # Every minute: rows whose task was lost (queue wiped, crash between commit and enqueue)
        # and rows left in 'sending' by a dead worker.
        huey.periodic_task(crontab(minute="*"), name="sms.sweep_periodic")(
            _in_app(app, notifications.sweep_outbox))
        huey.periodic_task(crontab(minute="*"), name="sms.inbound_sweep")(
            _in_app(app, conversations.requeue_inbound))
        huey.periodic_task(crontab(minute="*/15"), name="sms.reminders")(
            _in_app(app, notifications.send_reminders))
        # Every day: people, needs and SMS past DATA_RETENTION_DAYS, audit rows past
        # AUDIT_RETENTION_DAYS (huey evaluates crontabs in UTC).
        hour, minute = purge_time(app.config.get("DATA_PURGE_AT_UTC", "02:30"))
        self.purge: TaskWrapper = huey.periodic_task(crontab(minute=str(minute), hour=str(hour)), name="data.purge")(
            _in_app(app, _logged("retention purge", retention.scheduled_purge)))
        # Every 5 minutes: proposals and routes left unanswered past their expires_at lapse.
        self.expire: TaskWrapper = huey.periodic_task(crontab(minute="*/5"), name="rides.expire")(
            _in_app(app, _logged("expiries", lifecycle.expire_due)))
        # Every day just after midnight, local time (END_OF_DAY_AT in TIMEZONE, whatever the
        # season): needs still open on the day that ended become 'unserved'.
        hour, minute = clock_time(app.config.get("END_OF_DAY_AT", "00:05"), setting="END_OF_DAY_AT")
        self.close_days: TaskWrapper = huey.periodic_task(
            local_crontab(hour, minute, app.config.get("TIMEZONE", "Europe/Paris")), name="rides.close_past_days")(
            _in_app(app, _logged("end of day", lifecycle.close_past_days)))


def clock_time(spec: str, *, setting: str) -> tuple[int, int]:
    """(hour, minute) of a "HH:MM" setting; TaskQueueConfigError naming ``setting`` when malformed."""
    try:
        hour_text, minute_text = spec.strip().split(":")
        hour, minute = int(hour_text), int(minute_text)
    except ValueError:
        raise TaskQueueConfigError(f"{setting} {spec!r}: expected HH:MM") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise TaskQueueConfigError(f"{setting} {spec!r}: expected HH:MM")
    return hour, minute


def purge_time(spec: str) -> tuple[int, int]:
    """(hour, minute) of DATA_PURGE_AT_UTC ("HH:MM"); TaskQueueConfigError when malformed."""
    return clock_time(spec, setting="DATA_PURGE_AT_UTC")


def local_crontab(hour: int, minute: int, timezone: str) -> Callable[[datetime], bool]:
    """A huey schedule that fires once a day at ``hour:minute`` local time in ``timezone``.

    huey's ``crontab`` has no time zone: the scheduler hands it naive UTC moments (``utc=True``,
    build_huey's default). This converts the moment first, so the task keeps its local hour
    across daylight-saving changes. A local time that does not exist that day (inside the
    spring-forward gap, 02:00-03:00 in Europe/Paris) does not fire: choose one outside it.
    """
    tz = ZoneInfo(timezone)

    def validate(moment: datetime) -> bool:
        local = (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(tz)
        return (local.hour, local.minute) == (hour, minute)

    return validate


def _logged(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func``, with its report written to the log (one line per run of a periodic task)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        report = func(*args, **kwargs)
        log.info("%s: %s", label, report)
        return report

    run.__name__ = func.__name__
    run.__qualname__ = func.__qualname__
    run.__module__ = func.__module__
    return run


def app_tasks(app: Flask | None = None) -> AppTasks:
    """The tasks (and huey instance) of ``app`` (default: the current app), built on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    tasks = app.extensions.get(_EXTENSION)
    if tasks is None:
        with _lock:
            tasks = app.extensions.get(_EXTENSION)
            if tasks is None:
                huey = build_huey(app.config.get("TASK_QUEUE_URL", ""),
                                  immediate=bool(app.config.get("TASK_QUEUE_IMMEDIATE")))
                tasks = AppTasks(app, huey)
                app.extensions[_EXTENSION] = tasks
    return tasks


def get_huey(app: Flask | None = None) -> Huey:
    """The huey instance of ``app``."""
    return app_tasks(app).huey


def enqueue_delivery(row_id: int, *, eta: datetime | None = None) -> None:
    """Queue the sending of outbox row ``row_id`` (now, or at ``eta``)."""
    from .observability import request_id

    tasks = app_tasks()
    if eta is None:
        tasks.deliver(row_id, request_id=request_id())
    else:
        tasks.deliver.schedule(args=(row_id,), kwargs={"request_id": request_id()}, eta=eta)


def enqueue_inbound(row_id: int) -> None:
    """Queue the handling of stored inbound text ``row_id``."""
    from .observability import request_id

    app_tasks().inbound(row_id, request_id=request_id())


def enqueue_sweep() -> None:
    """Queue a sweep of the outbox (after a worker start: recover what a dead worker left)."""
    app_tasks().sweep()


class _ThreadConsumer(Consumer):  # type: ignore[misc]
    """A consumer living in threads of another process: it leaves signal handling to its host."""

    def _set_signal_handlers(self) -> None:  # the host process owns SIGINT/SIGTERM
        pass


class InProcessConsumer:
    """Handle on a consumer started with :func:`start_consumer_in_process`."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer

    def stop(self, graceful: bool = True) -> None:
        """Stop the worker threads (waiting for a running task when ``graceful``)."""
        self.consumer.stop(graceful=graceful)

    def is_alive(self) -> bool:
        return any(t.is_alive() for _, t in self.consumer.worker_threads)


def start_consumer_in_process(app: Flask, *, workers: int = 2, periodic: bool = True) -> InProcessConsumer | None:
    """Run a consumer in daemon threads of this process (``flask run-platform``).

    Returns None in immediate mode (tasks already run where they are queued).
    """
    tasks = app_tasks(app)
    if tasks.huey.immediate:
        return None
    consumer = _ThreadConsumer(tasks.huey, workers=workers, worker_type="thread", periodic=periodic,
                               check_worker_health=False, shutdown_timeout=10)
    consumer.start()
    with app.app_context():
        enqueue_sweep()
    log.info("SMS queue consumer started in-process (%d thread(s))", workers)
    return InProcessConsumer(consumer)


def run_consumer(app: Flask, *, workers: int = 2, periodic: bool = True) -> None:
    """Run a consumer in the foreground (``flask sms worker``); returns on SIGINT/SIGTERM."""
    tasks = app_tasks(app)
    if tasks.huey.immediate:
        raise TaskQueueConfigError("TASK_QUEUE_IMMEDIATE is set: tasks run where they are queued, no worker needed")
    consumer = tasks.huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                          check_worker_health=True)
    with app.app_context():
        enqueue_sweep()
    consumer.run()


def __getattr__(name: str) -> Any:
    """``app.tasks.huey``: the huey instance of an app built from the environment, for
    ``huey_consumer app.tasks.huey``."""
    if name == "huey":
        from . import create_app

        return get_huey(create_app())
    raise AttributeError(name)
