"""Territory build: real sources, the demo, and bad inputs that must leave everything as it was."""

from __future__ import annotations

import bz2
import json
import zipfile
from pathlib import Path

import pytest

from app.errors import TerritoryBuildError
from app.extensions import db
from app.models import Commune, CommuneAlias, Place, TransitFeed, TransitStop
from app.services.runtime import loaded_territory
from app.services.territory import build_territory, current_territory_path, read_manifest
from tests.app_fixtures import _drop_postgis_database, make_app
from tests.conftest import shared_file


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def fresh_app(request, tmp_path_factory):
    """An application of its own (the tests replace its territory)."""
    tmp = tmp_path_factory.mktemp(f"territory-{request.param}")
    app = make_app(request.param, tmp)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        name = db.engine.url.database
    if request.param == "postgis":
        _drop_postgis_database(name)


def _root(app) -> Path:
    return Path(app.config["TERRITORY_DIR"])


def _snapshot(app):
    """What a failed build must not change: the active folder and the stored rows."""
    with app.app_context():
        return (
            current_territory_path(_root(app)),
            db.session.query(Commune).count(),
            db.session.query(Place).count(),
            db.session.query(TransitStop).count(),
            sorted(p.name for p in _root(app).iterdir()),
        )


@pytest.mark.slow
def test_real_territory_from_osm_gtfs_and_communes(fresh_app):
    osm = shared_file("osm/andorra.osm.bz2")
    gtfs = shared_file("gtfs/ter-k1-toulouse-cahors-brive-2025-01.zip")
    communes = [
        shared_file("communes/lot46_communes.csv"),
        shared_file("communes/lot46_communes_deleguees_2026.csv"),
    ]
    bus = shared_file("territory/car-services-publics-2018.csv")
    with fresh_app.app_context():
        final = build_territory(
            _root(fresh_app),
            name="andorra-lot",
            osm=osm,
            gtfs=[gtfs],
            communes=communes,
            places=[bus],
        )
        manifest = read_manifest(final)
        assert manifest["name"] == "andorra-lot" and manifest["is_demo"] is False
        assert manifest["label"] is None
        # The drive network of Andorra, largest strongly connected part (2,500 nodes with all ways).
        assert 1000 < manifest["graph"]["nodes"] < 4000
        assert (final / "ch.npz").exists() and (final / "graph.npz").exists()
        assert current_territory_path(_root(fresh_app)) == final
        territory = loaded_territory(fresh_app)
        assert (
            territory.name == "andorra-lot"
            and territory.graph.n_nodes == manifest["graph"]["nodes"]
        )
        assert db.session.query(Commune).filter_by(territory="andorra-lot").count() == 313
        # Cours merged into Bellefont-La Rauze in 2019: people still say "Cours".
        cours = db.session.execute(db.select(CommuneAlias).filter_by(name="Cours")).scalar_one()
        assert cours.commune.name == "Bellefont-La Rauze"
        bus_places = (
            db.session.execute(
                db.select(Place).filter_by(kind="public_services_bus", territory="andorra-lot")
            )
            .scalars()
            .all()
        )
        assert len(bus_places) == 12
        assert any(p.commune_insee == cours.commune_insee for p in bus_places)
        feed = db.session.execute(
            db.select(TransitFeed).filter_by(territory="andorra-lot")
        ).scalar_one()
        stops = db.session.query(TransitStop).filter_by(feed_id=feed.id).all()
        cahors = [s for s in stops if "Cahors" in s.name]
        assert cahors and all(abs(s.lat_lon[0] - 44.45) < 0.05 for s in cahors)
        # The demo territory's rows of the previous build are still there (other name).
        assert db.session.query(Commune).filter_by(territory="demo").count() == 14
        # Rebuilding the same territory replaces its feed rather than adding one.
        build_territory(
            _root(fresh_app),
            name="andorra-lot",
            osm=osm,
            gtfs=[gtfs],
            communes=communes,
            places=[bus],
        )
        assert db.session.query(TransitFeed).filter_by(territory="andorra-lot").count() == 1
        assert db.session.query(TransitStop).count() == len(stops) + 5  # + the demo's 5


@pytest.mark.slow
def test_north_bayreuth_extract_builds(tmp_path):
    from matching.io import graph_from_osm

    graph = graph_from_osm(shared_file("osm/north-bayreuth.osm.bz2"))
    # Mostly farm tracks and paths: the drive network keeps a fraction of the 4,200 nodes.
    assert 500 < graph.n_nodes < 4200


def _truncated_bz2(tmp_path: Path) -> Path:
    data = shared_file("osm/andorra.osm.bz2").read_bytes()
    path = tmp_path / "cut.osm.bz2"
    path.write_bytes(data[: len(data) // 2])
    return path


def _not_osm(tmp_path: Path) -> Path:
    path = tmp_path / "communes.osm"
    path.write_text("insee,nom\n46042,Cahors\n")
    return path


def _empty_osm(tmp_path: Path) -> Path:
    path = tmp_path / "empty.osm.bz2"
    path.write_bytes(bz2.compress(b""))
    return path


def _gtfs_without_stops(tmp_path: Path) -> Path:
    src = shared_file("gtfs/ter-k1-toulouse-cahors-brive-2025-01.zip")
    path = tmp_path / "no-stops.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            if not item.filename.endswith("stops.txt"):
                zout.writestr(item, zin.read(item.filename))
    return path


def _bad_communes(tmp_path: Path) -> Path:
    lines = shared_file("communes/lot46_communes.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    bad_lat = lines[5].split(",")
    bad_lat[header.index("lat_centroid")] = "quarante-quatre"
    bad_insee = lines[6].split(",")
    bad_insee[0] = "4X"
    path = tmp_path / "bad-communes.csv"
    path.write_text(
        "\n".join([*lines[:5], ",".join(bad_lat), ",".join(bad_insee), *lines[7:]]) + "\n",
        encoding="utf-8",
    )
    return path


CASES = {
    "missing osm": (lambda t: {"osm": t / "nowhere.osm"}, ["nowhere.osm"]),
    "truncated osm": (lambda t: {"osm": _truncated_bz2(t)}, ["cut.osm.bz2"]),
    "not osm": (lambda t: {"osm": _not_osm(t)}, ["communes.osm"]),
    "empty osm": (lambda t: {"osm": _empty_osm(t)}, ["empty.osm.bz2"]),
    "gtfs without stops": (lambda t: {"gtfs": [_gtfs_without_stops(t)]}, ["no-stops.zip", "stops"]),
    "gtfs with swapped coordinates": (
        lambda t: {"gtfs": [shared_file("gtfs/sncf-ter-2019-09.zip")]},
        ["sncf-ter-2019-09.zip", "swapped", "OCE87686378"],
    ),
    "communes with bad rows": (
        lambda t: {"communes": _bad_communes(t)},
        ["bad-communes.csv", "line 6", "line 7", "4X"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_sources_leave_everything_untouched(fresh_app, tmp_path, case):
    make_sources, expected = CASES[case]
    sources = {
        "osm": shared_file("osm/andorra.osm.bz2"),
        "communes": shared_file("communes/lot46_cahors_area_communes.csv"),
        "gtfs": [],
        "name": "broken",
    }
    sources.update(make_sources(tmp_path))
    before = _snapshot(fresh_app)
    with fresh_app.app_context(), pytest.raises(TerritoryBuildError) as info:
        build_territory(_root(fresh_app), **sources)
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert _snapshot(fresh_app) == before
    with fresh_app.app_context():
        assert db.session.query(Commune).filter_by(territory="broken").count() == 0


def test_cli_build_reports_errors_and_builds_the_demo(fresh_app, tmp_path):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["territory", "build", "--osm", str(tmp_path / "absent.osm")])
    assert result.exit_code != 0
    assert "nothing changed" in result.output and "absent.osm" in result.output
    result = runner.invoke(args=["territory", "build"])
    assert result.exit_code == 0, result.output
    assert "données de démonstration" in result.output
    info = runner.invoke(args=["territory", "info"])
    assert json.loads(info.output)["is_demo"] is True
