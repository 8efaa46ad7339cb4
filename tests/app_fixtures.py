"""Pytest plugin: the Flask application on both database back-ends, with the demo territory.

``app`` is parametrized over SpatiaLite (a file in a temporary folder) and PostGIS (a database
created for this test process on the local PostgreSQL, with the postgis extension). The schema
is built from the models (``db.create_all``); ``tests/app/test_migrations.py`` checks that the
Alembic migrations build the same schema on both back-ends. The demo territory is built once per
back-end. After each test, every table but the territory's is emptied.

Set ``LOT_REQUIRE_POSTGIS=1`` (``make test`` does) to turn a missing PostgreSQL/PostGIS into a
failure instead of a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")

POSTGRES_ADMIN_URL = os.environ.get(
    "LOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TERRITORY_TABLES = {
    "communes",
    "places",
    "transit_feeds",
    "transit_stops",
    "transit_routes",
    "alembic_version",
    "commune_aliases",
}


def _postgis_database(name: str) -> str:
    """Create a fresh database with PostGIS; return its SQLAlchemy URL (skip or fail if impossible)."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        target = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as exc:
        reason = f"PostgreSQL + PostGIS not available at {POSTGRES_ADMIN_URL}: {exc}".strip()
        if os.environ.get("LOT_REQUIRE_POSTGIS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return "postgresql+psycopg://" + target.split("://", 1)[1]


def _drop_postgis_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(backend: str, tmp: Path) -> str:
    """URL of a new, empty database on ``backend`` (a SpatiaLite file under ``tmp``, or PostGIS)."""
    if backend == "spatialite":
        return f"sqlite:///{tmp / 'test.db'}"
    return _postgis_database(f"lot_test_{os.getpid()}_{tmp.name[-12:]}".replace("-", "_").lower())


def make_app(backend: str, tmp: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """An application on ``backend`` with the demo territory built under ``tmp``."""
    from app import create_app
    from app.extensions import db
    from app.services.territory import build_territory

    url = database_url(backend, tmp)
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SQLALCHEMY_DATABASE_URI": url,
        "TERRITORY_DIR": str(tmp / "territories"),
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "ENGINE_WARM_UP": False,
        "TASK_QUEUE_IMMEDIATE": True,
        "PLAN_TIME_LIMIT_S": 0.5,
        "TASK_QUEUE_URL": f"sqlite:///{tmp / 'tasks.db'}",
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        build_territory(Path(config["TERRITORY_DIR"]))
    return app


def _empty_tables(app) -> None:  # type: ignore[no-untyped-def]
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in TERRITORY_TABLES:
                db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture(scope="session", params=["spatialite", "postgis"])
def app_both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The application on each back-end in turn (session-scoped)."""
    tmp = tmp_path_factory.mktemp(f"app-{request.param}")
    application = make_app(request.param, tmp)
    yield application
    if request.param == "postgis":
        from app.extensions import db

        with application.app_context():
            db.engine.dispose()
            name = db.engine.url.database
        _drop_postgis_database(name)


@pytest.fixture(scope="session")
def app_spatialite(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The application on SpatiaLite only (for tests where the back-end does not matter)."""
    return make_app("spatialite", tmp_path_factory.mktemp("app-spatialite-only"))


@pytest.fixture
def app(app_both) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The application on each back-end, emptied of people and rides after the test."""
    with app_both.app_context():
        yield app_both
    _empty_tables(app_both)


@pytest.fixture
def sapp(app_spatialite) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The application on SpatiaLite, emptied of people and rides after the test."""
    with app_spatialite.app_context():
        yield app_spatialite
    _empty_tables(app_spatialite)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def sclient(sapp):  # type: ignore[no-untyped-def]
    return sapp.test_client()
