"""Command-line interface: ``flask --app app territory …``, ``demo …``, ``accounts …``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .errors import TerritoryBuildError, TerritoryNotBuilt


def register_cli(app: Flask) -> None:
    """Attach the command groups to the application."""
    from .api.cli import gtfs
    from .sms.cli import sms
    from .web.cli import data_cli

    app.cli.add_command(territory)
    app.cli.add_command(demo)
    app.cli.add_command(accounts)
    app.cli.add_command(run_platform)
    app.cli.add_command(gtfs)
    app.cli.add_command(sms)
    app.cli.add_command(data_cli)


@click.group(
    cls=AppGroup, help="Build and inspect the territory (road graph, communes, places, transit)."
)
def territory() -> None:
    pass


@territory.command("build")
@click.option(
    "--osm", type=click.Path(path_type=Path), help="OSM XML road network (.osm or .osm.bz2)."
)
@click.option(
    "--gtfs", type=click.Path(path_type=Path), multiple=True, help="GTFS zip (repeatable)."
)
@click.option(
    "--communes",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Communes CSV (lot46_communes.csv format); repeatable, and a table of old "
    "merged communes (lot46_communes_deleguees_2026.csv format) adds their names.",
)
@click.option(
    "--places",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Places: JSON list, or the public-services bus timetable CSV (repeatable).",
)
@click.option("--name", help="Territory name (default: the OSM file's name, or 'demo').")
def territory_build(
    osm: Path | None,
    gtfs: tuple[Path, ...],
    communes: tuple[Path, ...],
    places: tuple[Path, ...],
    name: str | None,
) -> None:  # noqa: PLR0913
    """Build a territory; with no source, the generated demo territory."""
    from .services.territory import build_territory

    root = Path(current_app.config["TERRITORY_DIR"])
    try:
        final = build_territory(
            root, name=name, osm=osm, gtfs=list(gtfs), communes=list(communes), places=list(places)
        )
    except TerritoryBuildError as exc:
        raise click.ClickException(f"territory not built, nothing changed: {exc}") from exc
    manifest = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
    label = f" ({manifest['label']})" if manifest.get("label") else ""
    click.echo(
        f"Territory {manifest['name']}{label}: {manifest['graph']['nodes']} nodes, "
        f"{manifest['graph']['edges']} edges, {manifest['communes']} communes, "
        f"{manifest['places']} places, {len(manifest['feeds'])} GTFS feed(s) -> {final}"
    )


@territory.command("info")
def territory_info() -> None:
    """Print the manifest of the active territory."""
    from .services.territory import current_territory_path, read_manifest

    try:
        path = current_territory_path(Path(current_app.config["TERRITORY_DIR"]))
    except TerritoryNotBuilt as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(read_manifest(path), ensure_ascii=False, indent=2))


@territory.command("ensure")
def territory_ensure() -> None:
    """Build the demo territory if no territory is active yet (used by `make run`)."""
    from .services.territory import build_territory, current_territory_path

    root = Path(current_app.config["TERRITORY_DIR"])
    try:
        path = current_territory_path(root)
        click.echo(f"Territory already built: {path}")
    except TerritoryNotBuilt:
        final = build_territory(root)
        click.echo(f"Demo territory built: {final}")


@click.group(cls=AppGroup, help="Demo accounts and sample data.")
def demo() -> None:
    pass


@demo.command("seed")
def demo_seed() -> None:
    """Create the demo structures, accounts and sample data (idempotent); print the accounts.

    On a real territory nothing is created (exit status 0, so that `make run` goes on serving):
    the first administrator comes from `flask accounts create-admin`.
    """
    from .services.demo_data import NotDemoTerritory, seed_demo

    try:
        demo_accounts = seed_demo()
    except NotDemoTerritory:
        click.echo(
            "Territoire réel : aucun compte ni aucune donnée de démonstration n'a été créé.\n"
            "Créez le premier administrateur avec :\n"
            "  .venv/bin/flask --app app accounts create-admin --email ADRESSE --name \"Prénom Nom\""
        )
        return
    click.echo("Comptes de démonstration :")
    for role, email, password in demo_accounts:
        click.echo(f"  {role:<12} {email:<32} mot de passe : {password}")


@click.group(cls=AppGroup, help="User accounts of the web platform.")
def accounts() -> None:
    pass


@accounts.command("create-admin")
@click.option("--email", required=True, help="E-mail address of the administrator (sign-in name).")
@click.option("--name", required=True, help="First and last name, as shown in the pages.")
@click.option(
    "--password",
    prompt="Mot de passe",
    hide_input=True,
    confirmation_prompt="Confirmez le mot de passe",
    help="Password (prompted, hidden, when omitted; 12 characters at least).",
)
def accounts_create_admin(email: str, name: str, password: str) -> None:
    """Create the first administrator of a real deployment (a weak password is refused)."""
    from .services.accounts import AccountError, create_first_admin

    try:
        user = create_first_admin(email, name, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Administrateur créé : {user.name} <{user.email}>.")


@click.command("run-platform")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_platform(host: str, port: int) -> None:
    """Serve the platform: warm the engine, start the SMS task worker in-process, serve HTTP."""
    import time

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("ENGINE_WARM_UP", True):
        from matching import warm_up as warm_up_matching

        from .services.matching import get_engine

        began = time.perf_counter()
        import gtfs_import

        compile_s = warm_up_matching() + gtfs_import.warm_up()
        try:
            engine = get_engine()
            click.echo(
                f"Engine ready: {engine.graph.n_nodes} nodes, numba warm-up {compile_s:.1f} s, "
                f"total {time.perf_counter() - began:.1f} s"
            )
        except TerritoryNotBuilt as exc:
            raise click.ClickException(str(exc)) from exc
    from waitress import serve

    from .tasks import start_consumer_in_process

    consumer = start_consumer_in_process(app)
    click.echo(f"Plateforme servie sur http://{host}:{port}/")
    try:
        serve(app, host=host, port=port, threads=8, ident="mobilite-solidaire")
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
