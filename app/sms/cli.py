"""``flask --app app sms …``: the SMS worker and outbox maintenance.

Registered by ``app.cli.register_cli`` with ``app.cli.add_command(sms)``.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup


@click.group(cls=AppGroup, help="SMS: run the sending worker, inspect and sweep the outbox.")
def sms() -> None:
    pass


@sms.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Run the periodic tasks (outbox sweep, reminders).")
def worker(workers: int, periodic: bool) -> None:
    """Run the task-queue consumer in the foreground (Ctrl-C to stop)."""
    from ..tasks import TaskQueueConfigError, run_consumer

    try:
        run_consumer(current_app._get_current_object(), workers=workers, periodic=periodic)  # type: ignore[attr-defined]
    except TaskQueueConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@sms.command("sweep")
def sweep() -> None:
    """Re-queue the outbox rows that are due or were left half-sent."""
    from ..services.notifications import sweep_outbox

    click.echo(f"{sweep_outbox(grace_s=0)} message(s) re-queued")


@sms.command("outbox")
@click.option("--limit", default=20, show_default=True)
def outbox(limit: int) -> None:
    """List the latest outbound messages and their status."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import SmsMessage

    rows = db.session.execute(select(SmsMessage).where(SmsMessage.direction == "out")
                              .order_by(SmsMessage.id.desc()).limit(limit)).scalars()
    for row in rows:
        click.echo(f"{row.id:>6} {row.status:<10} {row.attempts} {row.phone_e164:<13} {row.kind or '':<20} "
                   f"{row.body[:50]!r} {row.last_error or ''}")
