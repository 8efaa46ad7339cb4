"""The data migration fills what the new columns need on a database that already has records:
people's search keys, and each stored SMS linked to the person it was written for."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from tests.app.test_migrations import _flask
from tests.app_fixtures import _drop_postgis_database, database_url

NOW = "2026-11-20 10:00:00+00"
ROWS = [
    "INSERT INTO structures (id, name, kind, created_at) VALUES (1, 'France Services', 'france_services', :now)",
    "INSERT INTO beneficiaries (id, structure_id, first_name, last_name, phone_e164, needs_accompaniment,"
    " needs_wheelchair, needs_shopping_help, no_front_seat, eligibility_basis, receives_social_benefits,"
    " sms_opt_out, created_at, updated_at, last_activity_at) VALUES"
    " (1, 1, 'Hélène', 'Lefèvre', '+33611111111', false, false, false, false, 'rural_commune', false, false,"
    " :now, :now, :now),"
    " (2, 1, 'Marcel', 'Dupré', '+33622222222', false, false, false, false, 'rural_commune', false, false,"
    " :now, :now, :now)",
    # Marcel's number is also his son's, a volunteer driver: their messages must not mix.
    "INSERT INTO drivers (id, structure_id, first_name, last_name, phone_e164, vehicle_seats,"
    " wheelchair_accessible, can_accompany, max_distance_km, max_rides_per_day, active, sms_opt_out,"
    " created_at, updated_at, last_activity_at) VALUES"
    " (1, 1, 'Sébastien', 'Dupré', '+33622222222', 3, false, true, 20, 2, true, false, :now, :now, :now),"
    " (2, 1, 'Jeanne', 'Martin', '+33633333333', 3, false, true, 20, 2, true, false, :now, :now, :now)",
    "INSERT INTO ride_needs (id, beneficiary_id, structure_id, pickup_label, pickup_geom, dropoff_label,"
    " dropoff_geom, time_mode, requested_at, return_mode, purpose, passengers, needs_accompaniment,"
    " needs_wheelchair, no_front_seat, status, created_at, updated_at, version) VALUES"
    " (1, 1, 1, 'Domicile', ST_GeomFromText('POINT(1.44 44.45)', 4326), 'Hôpital',"
    " ST_GeomFromText('POINT(1.45 44.44)', 4326), 'arrive_by', :now, 'none', 'medical', 1, false, false, false,"
    " 'confirmed', :now, :now, 1)",
    "INSERT INTO proposals (id, need_id, driver_id, kind, code, status, created_at) VALUES"
    " (1, 1, 2, 'volunteer', '482', 'accepted', :now)",
    "INSERT INTO sms_messages (id, direction, phone_e164, body, segments, status, attempts, created_at, updated_at,"
    " need_id, proposal_id, in_reply_to_id) VALUES"
    " (1, 'out', '+33633333333', 'proposition', 1, 'sent', 1, :now, :now, 1, 1, NULL),"
    " (2, 'in', '+33633333333', 'OUI 482', 1, 'received', 0, :now, :now, NULL, NULL, NULL),"
    " (3, 'out', '+33611111111', 'confirmation', 1, 'sent', 1, :now, :now, 1, NULL, NULL),"
    " (4, 'in', '+33611111111', 'merci', 1, 'received', 0, :now, :now, NULL, NULL, NULL),"
    " (5, 'in', '+33622222222', 'bonjour', 1, 'received', 0, :now, :now, NULL, NULL, NULL),"
    " (6, 'out', '+33622222222', 'aide', 1, 'sent', 1, :now, :now, NULL, NULL, 5)",
]


@pytest.mark.parametrize("backend", ["spatialite", "postgis"])
def test_backfill_on_a_database_with_records(backend, tmp_path):
    url = database_url(backend, tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "TERRITORY_DIR": str(tmp_path / "territories"),
           "SECRET_KEY": "migration-test", "SPATIALITE_LIBRARY_PATH": "mod_spatialite"}
    try:
        first = _flask(env, "upgrade", "fcdf0fb3f437")
        assert first.returncode == 0, first.stderr
        engine = _engine(url)
        with engine.begin() as conn:
            for statement in ROWS:
                conn.execute(text(statement), {"now": NOW})
        engine.dispose()
        head = _flask(env, "upgrade")
        assert head.returncode == 0, head.stderr
        engine = _engine(url)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT first_name, search_key FROM beneficiaries")).all())
            assert keys["Hélène"] == _key("Hélène", "Lefèvre") and "helene" in keys["Hélène"]
            assert conn.execute(text("SELECT search_key FROM drivers WHERE id = 1")).scalar() == _key("Sébastien", "Dupré")
            links = {row[0]: (row[1], row[2]) for row in conn.execute(
                text("SELECT id, driver_id, beneficiary_id FROM sms_messages"))}
        engine.dispose()
        assert links[1] == (2, None)  # the proposal, to Jeanne
        assert links[2] == (2, None)  # Jeanne's OUI: only she has that number
        assert links[3] == (None, 1)  # Hélène's confirmation
        assert links[4] == (None, 1)
        assert links[5] == (None, None)  # a number shared by Marcel and his son: nobody's
        assert links[6] == (None, None)  # the answer to it likewise
    finally:
        if backend == "postgis":
            _drop_postgis_database(url.rsplit("/", 1)[1])


def _key(first: str, last: str) -> str:
    from app.services.search import person_search_key

    return person_search_key(first, last)


def _engine(url: str):  # type: ignore[no-untyped-def]
    if url.startswith("sqlite"):
        import pyproj  # noqa: F401  (before mod_spatialite, see app.database)
        import pysqlite3.dbapi2 as sqlite_module
        from sqlalchemy import event

        engine = create_engine(url, module=sqlite_module)

        @event.listens_for(engine, "connect")
        def _load(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.enable_load_extension(True)
            dbapi_conn.load_extension(os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"))

        return engine
    return create_engine(url)
