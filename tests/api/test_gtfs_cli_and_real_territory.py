"""``flask gtfs check|import`` and the journey API on a territory holding the real K1 TER feed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

import gtfs_import
from app.api.cli import gtfs
from app.extensions import db
from app.models import CommuneAlias, TransitFeed, TransitStop
from app.services.journeys import FIRST_MILE_BUFFER_S
from tests.api import seed
from tests.api.conftest import (
    BRIVE,
    CAHORS,
    DATE,
    LALBENQUE_FONTANES,
    LALBENQUE_VILLAGE,
    TER_2019,
    TOULOUSE,
    at,
    direct_rides,
    seconds_of,
    station_position,
)
from tests.app_fixtures import _drop_postgis_database, make_app
from tests.conftest import shared_file
from tests.roads import write_road_corridor


@pytest.fixture(scope="module")
def k1_app(tmp_path_factory: pytest.TempPathFactory, k1_feed) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """A territory around Cahors and Lalbenque on PostGIS, to which tests import the K1 feed.

    Its communes are the real ones of the Cahors area; its roads are generated at the real
    positions of Lalbenque, its station and Cahors station (no real OSM extract of the Lot
    is available offline), so that drives there are computed by the engine on real distances.
    """
    from app.services.territory import build_territory

    tmp = tmp_path_factory.mktemp("k1-app")
    app = make_app("postgis", tmp)
    osm = write_road_corridor(
        tmp / "cahors-lalbenque.osm",
        [LALBENQUE_VILLAGE, station_position(k1_feed, LALBENQUE_FONTANES), station_position(k1_feed, CAHORS)],
    )
    with app.app_context():
        build_territory(Path(app.config["TERRITORY_DIR"]), name="cahors-lalbenque", osm=osm,
                        communes=[shared_file("communes/lot46_cahors_area_communes.csv")])
    yield app
    with app.app_context():
        db.engine.dispose()
        name = db.engine.url.database
    _drop_postgis_database(name)


def _invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(gtfs, list(args), catch_exceptions=False)


def test_check_reports_the_swapped_coordinates_of_the_2019_feed(k1_app):
    result = _invoke(k1_app, "check", str(shared_file(TER_2019)))
    lines = [line.strip() for line in result.output.splitlines()
             if "87686378" in line and "stop_coordinates_swapped" in line]
    assert len(lines) == 2, result.output
    errors = sum(1 for line in result.output.splitlines() if line.strip().startswith("ERROR"))
    warnings = sum(1 for line in result.output.splitlines() if line.strip().startswith("WARNING"))
    assert f"{errors} error(s), {warnings} warning(s)" in result.output
    assert result.exit_code == (1 if errors else 0)  # the importer decides how grave a swap is
    for line in lines:
        assert line.startswith(("ERROR stops.txt:", "WARNING stops.txt:"))
        assert "latitude and longitude look swapped" in line
        assert "stop_lat=5.90106176, stop_lon=49.36898604" in line


def _broken_k1(k1_path: Path, target: Path) -> Path:
    """K1 with a stop time pointing at a stop that does not exist (line 2 of stop_times.txt)."""
    with zipfile.ZipFile(k1_path) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith("stop_times.txt"):
                text = io.StringIO(data.decode("utf-8-sig"))
                header, first, *rest = text.read().splitlines()
                cols = header.split(",")
                cells = first.split(",")
                cells[cols.index("stop_id")] = "StopPoint:NOWHERE"
                data = "\n".join([header, ",".join(cells), *rest]).encode()
            dst.writestr(name, data)
    return target


def test_check_fails_with_errors_and_names_file_and_row(k1_app, k1_path, tmp_path):
    broken = _broken_k1(k1_path, tmp_path / "broken.zip")
    result = _invoke(k1_app, "check", str(broken))
    assert result.exit_code == 1
    errors = [
        line.strip() for line in result.output.splitlines() if line.strip().startswith("ERROR")
    ]
    assert any(
        line.startswith("ERROR stop_times.txt:2") and "NOWHERE" in line for line in errors
    ), result.output
    not_zip = tmp_path / "feed.zip"
    not_zip.write_text("<html>not found</html>")
    result = _invoke(k1_app, "check", str(not_zip))
    assert result.exit_code == 1 and "not a zip archive" in result.output


def _k1_rows(app: Flask) -> tuple[list[TransitFeed], int]:
    with app.app_context():
        feeds = [
            f for f in db.session.query(TransitFeed).order_by(TransitFeed.id) if "ter-k1" in f.name
        ]
        stops = (
            db.session.query(TransitStop)
            .filter(TransitStop.feed_id.in_([f.id for f in feeds]))
            .count()
        )
        return feeds, stops


def test_import_stores_the_feed_and_reimport_replaces_it(k1_app, k1_path, k1_feed, tmp_path):
    territory = Path(k1_app.config["TERRITORY_DIR"]) / "current"
    before = territory.resolve()
    with k1_app.app_context():
        aliases = sorted((a.name, a.commune_insee) for a in db.session.query(CommuneAlias))
    assert ("Pern", "46172") in aliases  # Pern merged into Pern-Lhospitalet
    result = _invoke(k1_app, "import", str(k1_path))
    assert result.exit_code == 0, result.output
    with k1_app.app_context():  # an import keeps the territory's old commune names
        assert sorted((a.name, a.commune_insee) for a in db.session.query(CommuneAlias)) == aliases
    feeds, stops = _k1_rows(k1_app)
    expected_stops = len(gtfs_import.stops_table(k1_feed).dropna(subset=["lat", "lon"]))
    assert len(feeds) == 1 and stops == expected_stops
    assert territory.resolve() != before
    assert any(p.name.endswith(k1_path.name) for p in (territory / "gtfs").glob("*.zip"))
    with k1_app.app_context():
        assert db.session.query(TransitFeed).count() == 2  # the demo buses are kept
    # Re-import: same feed name, replaced (one row, same stops), and the territory folder moves on.
    moved = territory.resolve()
    assert _invoke(k1_app, "import", str(k1_path)).exit_code == 0
    feeds_again, stops_again = _k1_rows(k1_app)
    assert (
        len(feeds_again) == 1 and stops_again == expected_stops and feeds_again[0].id != feeds[0].id
    )
    assert territory.resolve() != moved
    # A broken feed changes nothing.
    current = territory.resolve()
    broken = _broken_k1(k1_path, tmp_path / k1_path.name)
    result = k1_app.test_cli_runner().invoke(gtfs, ["import", str(broken)])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    assert territory.resolve() == current
    assert _k1_rows(k1_app) == (feeds_again, stops_again) or _k1_rows(k1_app)[1] == stops_again


@pytest.fixture
def k1_client(k1_app, k1_path):  # type: ignore[no-untyped-def]
    if not _k1_rows(k1_app)[0]:
        assert _invoke(k1_app, "import", str(k1_path)).exit_code == 0
    with k1_app.app_context():
        yield k1_app.test_client()


def test_api_finds_the_train_from_cahors_to_brive(k1_client, k1_feed, k1_stop_times):
    origin, destination = station_position(k1_feed, CAHORS), station_position(k1_feed, BRIVE)
    r = k1_client.get(
        "/api/v1/journeys",
        query_string={
            "from": f"{origin[0]},{origin[1]}",
            "to": f"{destination[0]},{destination[1]}",
            "datetime": at("12:00").isoformat(),
            "modes": "transit",
            "max_transfers": 0,
        },
    )
    assert r.status_code == 200
    (first, *_) = r.get_json()["itineraries"]
    rides = direct_rides(k1_feed, k1_stop_times, CAHORS, BRIVE)
    rides = rides.loc[rides["dep"] >= 12 * 3600]
    (train,) = [leg for leg in first["legs"] if leg["mode"] == "rail"]
    assert seconds_of(train["arrival"]) == rides["arr"].min()
    assert train["route"]["agency"] == "SNCF VOYAGEURS"


def test_api_combines_a_volunteer_drive_from_lalbenque_with_a_train(
    k1_client, k1_app, k1_feed, k1_stop_times
):
    """First mile by road (the engine's times on the territory's graph), then the K1 train.

    A volunteer living in Lalbenque is on call on Friday mornings (08:00-12:00).
    """
    from app.services.matching import drive_times

    seed.driver(home=(LALBENQUE_VILLAGE[0] + 0.004, LALBENQUE_VILLAGE[1]), cells=((4, "morning"),))
    db.session.commit()
    toulouse = station_position(k1_feed, TOULOUSE)
    r = k1_client.get(
        "/api/v1/journeys",
        query_string={
            "from": f"{LALBENQUE_VILLAGE[0]},{LALBENQUE_VILLAGE[1]}",
            "to": f"{toulouse[0]},{toulouse[1]}",
            "datetime": at("08:30").isoformat(),
            "modes": "combined",
            "max_transfers": 0,
        },
    )
    assert r.status_code == 200
    body = r.get_json()
    combined = [it for it in body["itineraries"] if it["type"] == "combined"]
    assert combined, body["notices"]
    car, train = combined[0]["legs"][0], combined[0]["legs"][1]
    assert car["mode"] == "car" and train["mode"] == "rail"
    assert train["from"]["name"] in {"Lalbenque - Fontanes", "Cahors"}
    # The train is a real run of the timetable, from that station, at the stated times.
    station = CAHORS if train["from"]["name"] == "Cahors" else "StopArea:OCE87613323"
    rides = direct_rides(k1_feed, k1_stop_times, station, TOULOUSE)
    run = rides.loc[rides["trip_id"] == train["trip_id"]]
    assert len(run) == 1
    assert (
        seconds_of(train["departure"]) == run.iloc[0]["dep"]
        and seconds_of(train["arrival"]) == run.iloc[0]["arr"]
    )
    # The drive takes the engine's time; the rider is at the station before the train.
    (drive_s,) = drive_times(LALBENQUE_VILLAGE, [(train["from"]["lat"], train["from"]["lon"])])
    assert car["duration_s"] == drive_s
    assert seconds_of(car["departure"]) >= 8 * 3600 + 30 * 60
    assert seconds_of(car["arrival"]) + FIRST_MILE_BUFFER_S <= seconds_of(train["departure"])
    # No earlier train could be caught after that drive from that station.
    earliest = rides.loc[
        rides["dep"] >= 8 * 3600 + 30 * 60 + drive_s + FIRST_MILE_BUFFER_S, "arr"
    ].min()
    assert seconds_of(train["arrival"]) <= earliest
    assert DATE.isoformat() in train["departure"]
