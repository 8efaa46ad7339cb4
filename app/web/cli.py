"""Command line for personal data: ``flask data purge`` (retention), ``flask data export``."""

from __future__ import annotations

import click
from flask import current_app

from . import bp


@click.group("data", help="Personal data: purge what is older than the retention period.")
def data_cli() -> None:
    pass


@data_cli.command("purge")
@click.option("--days", type=int, default=None, help="Retention in days (default: DATA_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Count what would be erased, erase nothing.")
def purge(days: int | None, dry_run: bool) -> None:
    """Erase people without activity, ended needs and SMS older than the retention period."""
    from ..services.people import purge_old_data

    retention = days if days is not None else int(current_app.config.get("DATA_RETENTION_DAYS", 730))
    if retention < 30:
        raise click.ClickException("refusing a retention under 30 days")
    report = purge_old_data(retention, dry_run=dry_run)
    verb = "would erase" if dry_run else "erased"
    click.echo(f"Retention {retention} days: {verb} {report.beneficiaries} beneficiaries, "
               f"{report.drivers} drivers, {report.ride_needs} ended ride needs, {report.sms} SMS.")


# Also reachable as `flask web data purge` until app/cli.py registers the group.
bp.cli.add_command(data_cli)
