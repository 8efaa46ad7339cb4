"""The Alembic migrations build exactly the schema of the models, on both back-ends.

The migrations run through the real ``flask db`` commands in a fresh process, as they do in
production: a process that already created tables with ``create_all`` (every other test
module) carries GeoAlchemy2 state that would skew the comparison.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect

from tests.app_fixtures import _drop_postgis_database, database_url
from tests.conftest import ROOT


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def _tables(url: str) -> set[str]:
    if url.startswith("sqlite"):
        import pysqlite3.dbapi2 as sqlite_module

        engine = create_engine(url, module=sqlite_module)
    else:
        engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["spatialite", "postgis"])
def test_migrations_build_the_models_schema(backend, tmp_path):
    url = database_url(backend, tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TERRITORY_DIR": str(tmp_path / "territories"),
        "SECRET_KEY": "migration-test",
        "SPATIALITE_LIBRARY_PATH": "mod_spatialite",
    }
    try:
        upgrade = _flask(env, "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr
        assert {"ride_needs", "sms_messages", "communes", "commune_aliases"} <= _tables(url)
        # `alembic check`: fails when the models and the migrations differ.
        check = _flask(env, "check")
        assert check.returncode == 0, f"models and migrations differ:\n{check.stderr}"
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        downgrade = _flask(env, "downgrade", "base")
        assert downgrade.returncode == 0, downgrade.stderr
        assert not {"ride_needs", "sms_messages", "communes"} & _tables(url)
    finally:
        if backend == "postgis":
            _drop_postgis_database(url.rsplit("/", 1)[1])
