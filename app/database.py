"""Database back-ends: SpatiaLite (embedded default) and PostgreSQL + PostGIS.

SpatiaLite needs a sqlite3 module that can load extensions: this Python's own cannot, so the
engine is created with ``pysqlite3`` (package ``pysqlite3-binary``) and loads Debian's
``mod_spatialite`` on every new connection through GeoAlchemy2.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url


def backend_name(url: str) -> str:
    """'spatialite' or 'postgis' for a database URL; ValueError for anything else."""
    drivername = make_url(url).get_backend_name()
    if drivername == "sqlite":
        return "spatialite"
    if drivername == "postgresql":
        return "postgis"
    raise ValueError(
        f"unsupported database {drivername!r}: use sqlite:/// or postgresql+psycopg://"
    )


def engine_options(url: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """SQLAlchemy engine options for ``url`` (the sqlite3 module able to load SpatiaLite)."""
    options = dict(base or {})
    if backend_name(url) == "spatialite":
        try:
            import pysqlite3.dbapi2 as sqlite_module  # type: ignore[import-not-found]
        except ImportError as exc:  # pragma: no cover - depends on the platform
            raise RuntimeError(
                "SpatiaLite needs the pysqlite3-binary package (this Python's sqlite3 "
                "cannot load extensions): run `make install`"
            ) from exc
        options.setdefault("module", sqlite_module)
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(options.get("connect_args", {}))
        # Web requests and the task worker share the file: wait instead of failing on a lock.
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("check_same_thread", False)
        options["connect_args"] = connect_args
    else:
        options.setdefault("pool_pre_ping", True)
    return options


def install_spatialite_loader(engine: Engine) -> None:
    """Load mod_spatialite on every new SQLite connection and enable foreign keys."""
    os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
    # mod_spatialite pulls in the system PROJ and GEOS libraries. If pyproj (which bundles its
    # own PROJ, and is imported by geopandas, gtfs-kit and osmnx) is loaded after it, the
    # process crashes at exit (free(): invalid pointer). Loading pyproj first avoids it.
    import pyproj  # noqa: F401
    import shapely  # noqa: F401
    from geoalchemy2 import load_spatialite

    atexit.register(engine.dispose)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, connection_record: Any) -> None:
        # One transaction and only the WGS84 reference systems (all our geometry is EPSG:4326):
        # initialising a new file drops from about a minute to a fraction of a second.
        load_spatialite(dbapi_conn, connection_record, transaction=True, init_mode="WGS84")
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
