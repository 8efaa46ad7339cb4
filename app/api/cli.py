"""``flask --app app gtfs …``: check GTFS feeds and import them into the active territory."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

#: Register with ``app.cli.add_command(gtfs)``; each command runs in the app context.
gtfs = AppGroup("gtfs", help="Check GTFS feeds and import them into the active territory.")


def _print_problems(path: Path, problems: list) -> None:  # type: ignore[type-arg]
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    click.echo(f"{path}: {errors} error(s), {warnings} warning(s)")
    for p in problems:
        click.echo(f"  {p}")


@gtfs.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--bbox",
    type=click.Choice(["territory", "lot", "france", "none"]),
    default="territory",
    show_default=True,
    help="Area the stops should lie in (territory: the active territory's communes and 30 km "
    "around, no area check when none is built; none: no area check). "
    "The checks are listed in docs/gtfs-validation.md.",
)
def gtfs_check(files: tuple[Path, ...], bbox: str) -> None:
    """Print each feed's validation report (errors and warnings, with file, row and message).

    Exit code 1 when a feed has errors.
    """
    from gtfs_import import FRANCE_BBOX, LOT_BBOX

    from ..errors import TerritoryNotBuilt
    from ..services.territory import current_territory_path, read_manifest
    from ..services.transit import check_feed, territory_area

    if bbox == "territory":
        try:
            box = territory_area(
                read_manifest(current_territory_path(Path(current_app.config["TERRITORY_DIR"])))
            )
        except (TerritoryNotBuilt, FileNotFoundError, OSError):
            box = None
    else:
        box = {"lot": LOT_BBOX, "france": FRANCE_BBOX, "none": None}[bbox]
    failed = False
    for path in files:
        problems = check_feed(path, box)
        _print_problems(path, problems)
        failed = failed or any(p.severity == "error" for p in problems)
    if failed:
        click.get_current_context().exit(1)


@gtfs.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def gtfs_import_command(files: tuple[Path, ...]) -> None:
    """Validate the feeds, then store their stops and routes (a feed of the same name is replaced)."""
    from ..errors import TerritoryNotBuilt
    from ..services.transit import FeedImportError, import_feeds

    try:
        final = import_feeds(Path(current_app.config["TERRITORY_DIR"]), list(files))
    except FeedImportError as exc:
        for p in exc.problems:
            click.echo(f"  {p}", err=True)
        raise click.ClickException(str(exc)) from exc
    except TerritoryNotBuilt as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported {len(files)} feed(s) into {final}")
