"""Command line for personal data: ``flask data purge`` (retention), ``flask data export``."""

from __future__ import annotations

import click

from . import bp


@click.group("data", help="Personal data: purge what is older than the retention period.")
def data_cli() -> None:
    pass


@data_cli.command("purge")
@click.option("--days", type=int, default=None, help="Retention of records in days (default: DATA_RETENTION_DAYS).")
@click.option("--audit-days", type=int, default=None,
              help="Retention of the audit log in days (default: AUDIT_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Count what would be erased, erase nothing.")
def purge(days: int | None, audit_days: int | None, dry_run: bool) -> None:
    """Erase people without activity, ended needs, SMS and audit rows older than their periods.

    The same purge runs every day as a periodic task of the worker (DATA_PURGE_AT_UTC).
    """
    from ..services.retention import RetentionConfigError, run_retention

    try:
        report = run_retention(data_days=days, audit_days=audit_days, dry_run=dry_run)
    except RetentionConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "would erase" if dry_run else "erased"
    records = report.records
    click.echo(f"Retention {report.data_days} days: {verb} {records.beneficiaries} beneficiaries, "
               f"{records.drivers} drivers, {records.ride_needs} ended ride needs, {records.sms} SMS.")
    click.echo(f"Audit log retention {report.audit_days} days: {verb} {report.audit_rows} audit rows.")


# Also reachable as `flask web data purge` until app/cli.py registers the group.
bp.cli.add_command(data_cli)
