"""The GTFS-Flex part of ``/api/v1/gtfs.zip``, read back by an independent reader.

gtfs-kit reads the classic files (routes, trips, calendar, stop times); the Flex fields, which
gtfs-kit does not interpret, are checked here against the GTFS reference (locations.geojson,
booking_rules.txt, the Flex columns of stop_times.txt) with json, csv and shapely only.
Both on the demo territory (zones are Voronoi cells of the commune centres) and on the real Lot
territory, whose zones are the IGN BD CARTO 2021 commune polygons.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from flask import Flask
from shapely.geometry import shape

from app.extensions import db
from app.models import Commune
from matching.model import SLOT_HOURS
from tests.api import seed
from tests.app_fixtures import make_app
from tests.conftest import shared_file
from tests.roads import write_road_corridor

LOT_POLYGONS = "communes/lot46_communes_bdcarto2021.gpkg"
LOT_COMMUNES = "communes/lot46_communes.csv"
LOT_ALIASES = "communes/lot46_communes_deleguees_2026.csv"
CAHORS = (44.4508, 1.4405)
FIGEAC_INSEE = "46102"
CAHORS_INSEE = "46042"


# -- an independent reading of the feed ------------------------------------------------------


def _table(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))


def _seconds(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    assert 0 <= m < 60 and 0 <= s < 60, text
    return h * 3600 + m * 60 + s


def _rings(geometry: dict[str, Any]) -> Iterator[list[list[float]]]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for polygon in polygons:
        yield from polygon


def check_flex_feed(path: Path, territory: shapely.Geometry) -> dict[str, Any]:
    """Check every Flex rule of the reference this feed uses; return what the tests look at.

    ``territory`` (WGS84) is where every zone must lie.
    """
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"locations.geojson", "booking_rules.txt", "stop_times.txt"} <= names
        doc = json.loads(zf.read("locations.geojson"))
        stop_times = _table(zf, "stop_times.txt")
        rules = {r["booking_rule_id"]: r for r in _table(zf, "booking_rules.txt")}
        stop_ids = {r["stop_id"] for r in _table(zf, "stops.txt")}
        trips = {r["trip_id"]: r for r in _table(zf, "trips.txt")}
        calendar = {r["service_id"]: r for r in _table(zf, "calendar.txt")}
    # locations.geojson: a FeatureCollection of (Multi)Polygons with unique ids.
    assert doc["type"] == "FeatureCollection"
    zones: dict[str, shapely.Geometry] = {}
    zone_names: dict[str, str] = {}
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        fid = feature["id"]
        assert isinstance(fid, str) and fid not in zones and fid not in stop_ids
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        for ring in _rings(feature["geometry"]):
            assert len(ring) >= 4 and ring[0] == ring[-1], f"{fid}: ring not closed"
            for lon, lat in ring:  # RFC 7946: longitude first, WGS84
                assert -180 <= lon <= 180 and -90 <= lat <= 90
        geom = shape(feature["geometry"])
        assert geom.is_valid, f"{fid}: {shapely.is_valid_reason(geom)}"
        assert not geom.is_empty and geom.area > 0
        # Inside the territory (a small tolerance for the simplified outline: ~300 m).
        assert territory.buffer(0.003).contains(geom), f"{fid} leaves the territory"
        zones[fid] = geom
        zone_names[fid] = feature["properties"]["stop_name"]
    # stop_times: Flex records name an existing zone, have windows and no times.
    flex_rows = [r for r in stop_times if r.get("location_id")]
    assert flex_rows
    by_trip: dict[str, list[dict[str, str]]] = {}
    for r in flex_rows:
        assert r["location_id"] in zones, r["location_id"]
        assert not r["stop_id"] and not r.get("location_group_id")
        assert not r["arrival_time"] and not r["departure_time"]
        start, end = (
            _seconds(r["start_pickup_drop_off_window"]),
            _seconds(r["end_pickup_drop_off_window"]),
        )
        assert 0 <= start < end <= 48 * 3600
        pickup, drop_off = int(r["pickup_type"]), int(r["drop_off_type"])
        assert pickup in (1, 2) and drop_off in (1, 2)  # 0 and 3 are forbidden with windows
        assert 2 in (pickup, drop_off)
        for kind, value in (("pickup", pickup), ("drop_off", drop_off)):
            rule = r[f"{kind}_booking_rule_id"]
            if value == 2:
                assert rule in rules, f"{kind} rule {rule!r} does not exist"
            else:
                assert not rule
        assert r["trip_id"] in trips
        by_trip.setdefault(r["trip_id"], []).append(r)
    assert set(zones) == {r["location_id"] for r in flex_rows}, "a zone no trip uses"
    # Zone overlap constraint: two records of a trip may not overlap in space and time with
    # the same pickup (or drop-off) behaviour.
    for rows in by_trip.values():
        for i, a in enumerate(rows):
            for b in rows[i + 1 :]:
                same_time = _seconds(a["start_pickup_drop_off_window"]) < _seconds(
                    b["end_pickup_drop_off_window"]
                ) and _seconds(b["start_pickup_drop_off_window"]) < _seconds(
                    a["end_pickup_drop_off_window"]
                )
                if same_time and zones[a["location_id"]].intersects(zones[b["location_id"]]):
                    assert a["pickup_type"] != b["pickup_type"]
                    assert a["drop_off_type"] != b["drop_off_type"]
    # Booking rules: booking_type 2 needs the prior-notice fields, and forbids the durations.
    for rule in rules.values():
        assert rule["booking_type"] == "2"
        assert int(rule["prior_notice_last_day"]) >= 1
        _seconds(rule["prior_notice_last_time"])
        if rule.get("prior_notice_start_day"):
            assert int(rule["prior_notice_start_day"]) >= int(rule["prior_notice_last_day"])
            _seconds(rule["prior_notice_start_time"])
        assert not rule.get("prior_notice_duration_min")
    for trip_id in by_trip:
        assert trips[trip_id]["service_id"] in calendar
    return {
        "zones": zones,
        "zone_names": zone_names,
        "by_trip": by_trip,
        "trips": trips,
        "calendar": calendar,
        "rules": rules,
    }


def _weekly_windows(checked: dict[str, Any], location_id: str) -> set[tuple[int, str, str]]:
    """(weekday, start, end) when riders can be picked up in a zone."""
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    out = set()
    for trip_id, rows in checked["by_trip"].items():
        pickup = [r for r in rows if r["location_id"] == location_id and r["pickup_type"] == "2"]
        service = checked["calendar"][checked["trips"][trip_id]["service_id"]]
        for r in pickup:
            for k, day in enumerate(days):
                if service[day] == "1":
                    out.add((k, r["start_pickup_drop_off_window"], r["end_pickup_drop_off_window"]))
    return out


def _zone_at(checked: dict[str, Any], point: tuple[float, float]) -> str:
    """The pickup zone (not the whole area) holding a (lat, lon) point."""
    hits = [
        fid
        for fid, geom in checked["zones"].items()
        if fid != "zone-territoire" and geom.covers(shapely.Point(point[1], point[0]))
    ]
    assert len(hits) == 1, hits
    return hits[0]


def _haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _export(client, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/gtfs.zip")
    assert r.status_code == 200, r.get_data(as_text=True)
    path = tmp_path / "export.zip"
    path.write_bytes(r.data)
    return path


def _hours(slot: str) -> tuple[str, str]:
    h0, h1 = SLOT_HOURS[slot]
    return f"{h0:02d}:00:00", f"{h1:02d}:00:00"


# -- the demo territory ----------------------------------------------------------------------


def test_demo_on_demand_service_is_a_flex_feed(client, app, tmp_path):
    import geopandas as gpd
    import gtfs_kit

    seed.driver()  # Montbrun-les-Pins, weekdays 08:00-18:00, 20 km
    seed.driver("Paul", "Verdier", "+33699887766", home=seed.CASTELNAU, cells=((5, "morning"),))
    db.session.commit()
    path = _export(client, tmp_path)

    # gtfs-kit reads the classic part: a route with on-demand trips on a weekly calendar.
    kit = gtfs_kit.read_feed(path, dist_units="km")
    flex_trips = kit.trips.loc[kit.trips["route_id"] == "solidaire"]
    assert len(flex_trips) > 0
    assert set(flex_trips["service_id"]) <= set(kit.calendar["service_id"])
    st = kit.stop_times.loc[kit.stop_times["trip_id"].isin(set(flex_trips["trip_id"]))]
    assert st["stop_id"].isna().all() and st["location_id"].notna().all()
    assert len(st) == 2 * len(flex_trips)

    communes = {
        c.name: c for c in db.session.query(Commune).filter(Commune.merged_into_insee.is_(None))
    }
    # The territory: the commune centres' hull and the documented 3 km margin around it.
    centres = gpd.GeoSeries(
        [shapely.Point(c.lat_lon[1], c.lat_lon[0]) for c in communes.values()], crs=4326
    )
    utm = centres.estimate_utm_crs()
    hull = shapely.MultiPoint(list(centres.to_crs(utm))).convex_hull.buffer(3000)
    checked = check_flex_feed(path, gpd.GeoSeries([hull], crs=utm).to_crs(4326).iloc[0])

    # Booked by phone at the operator's number, in French.
    rule = checked["rules"]["reservation-solidaire"]
    assert rule["phone_number"] == app.config["SERVICE_PHONE"]
    assert "la veille" in rule["message"] and "bénévole" in rule["message"]

    # Small communes are merged: every zone is named after a commune above the threshold,
    # and zones do not overlap.
    threshold = app.config["OPENDATA_MIN_COMMUNE_POPULATION"]
    pickup_zones = {k: g for k, g in checked["zones"].items() if k != "zone-territoire"}
    for fid in pickup_zones:
        assert communes[checked["zone_names"][fid]].population >= threshold
    ids = sorted(pickup_zones)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert pickup_zones[a].intersection(pickup_zones[b]).area < 1e-9, (a, b)

    # Montbrun (1,150 inhabitants) is its own zone; its volunteer covers it on weekdays.
    montbrun = _zone_at(checked, seed.MONTBRUN)
    assert checked["zone_names"][montbrun] == "Montbrun-les-Pins"
    morning, afternoon = _hours("morning"), _hours("afternoon")
    weekdays = {(d, morning[0], afternoon[1]) for d in range(5)}
    assert weekdays <= _weekly_windows(checked, montbrun)
    # Castelnau-Rivière (21 km south-west of Valbourg, over 20 km from Montbrun): only Paul's
    # Saturday morning.
    castelnau = _zone_at(checked, seed.CASTELNAU)
    assert _weekly_windows(checked, castelnau) == {(5, *morning)}
    # A zone whose commune centre is beyond 20 km of both volunteers is not served.
    for name, commune in communes.items():
        far = all(
            _haversine_m(commune.lat_lon, home) > 20_000
            for home in (
                commune_centre(communes, seed.MONTBRUN_HOME),
                commune_centre(communes, seed.CASTELNAU),
            )
        )
        if far and f"zone-{commune.insee}" in pickup_zones:
            pytest.fail(f"{name} is served although no volunteer reaches it")
    # Nothing of the volunteers leaves: names, phones, homes.
    blob = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        text = "".join(zf.read(n).decode() for n in zf.namelist())
    assert blob and all(
        s not in text
        for s in ("Jeanne", "Martinez", "Paul", "Verdier", "+336", f"{seed.MONTBRUN_HOME[0]:.4f}")
    )


def commune_centre(communes: dict[str, Commune], point: tuple[float, float]) -> tuple[float, float]:
    """The centre of the commune nearest to ``point`` (how the app generalises a home)."""
    return min((c.lat_lon for c in communes.values()), key=lambda ll: _haversine_m(ll, point))


def test_no_volunteer_on_call_means_no_flex_part(client, tmp_path):
    d = seed.driver(cells=())
    seed.regular(d, "0,1,2,3,4", "07:45")
    db.session.commit()
    path = _export(client, tmp_path)
    with zipfile.ZipFile(path) as zf:
        assert "locations.geojson" not in zf.namelist()
        assert all(not r["location_id"] for r in _table(zf, "stop_times.txt"))


# -- the Lot -----------------------------------------------------------------------------------


def _gpkg_communes_l93(path: Path) -> dict[str, shapely.Geometry]:
    """INSEE code -> polygon (Lambert-93) of the BD CARTO GeoPackage, read with sqlite3: GDAL
    cannot be loaded in a process where SpatiaLite is (it crashes)."""
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT INSEE_COM, geom FROM commune").fetchall()
    finally:
        con.close()
    out = {}
    for insee, blob in rows:
        flags = blob[3]
        envelope_bytes = (0, 32, 48, 48, 64)[(flags >> 1) & 7]
        out[insee] = shapely.from_wkb(bytes(blob[8 + envelope_bytes :]))
    return out


@pytest.fixture(scope="module")
def lot_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The Lot's 313 communes (2026 mergers included) with their BD CARTO polygons."""
    from app.services.territory import build_territory

    polygons = shared_file(LOT_POLYGONS)
    communes, aliases = shared_file(LOT_COMMUNES), shared_file(LOT_ALIASES)
    tmp = tmp_path_factory.mktemp("lot-flex")
    app = make_app("spatialite", tmp, COMMUNE_POLYGONS_FILE=str(polygons))
    osm = write_road_corridor(tmp / "cahors.osm", [CAHORS, (CAHORS[0] + 0.05, CAHORS[1])])
    with app.app_context():
        build_territory(
            Path(app.config["TERRITORY_DIR"]), name="lot", osm=osm, communes=[communes, aliases]
        )
    yield app


def test_lot_zones_are_the_real_communes(lot_app, tmp_path):
    import geopandas as gpd
    import gtfs_kit

    with lot_app.app_context():
        seed.driver(home=(CAHORS[0] + 0.003, CAHORS[1]))  # Cahors, weekdays, 20 km
        db.session.commit()
        try:
            path = _export(lot_app.test_client(), tmp_path)
            communes = {
                c.insee: c
                for c in db.session.query(Commune).filter(Commune.merged_into_insee.is_(None))
            }
        finally:
            from tests.app_fixtures import _empty_tables

            _empty_tables(lot_app)
    # The département outline, read independently of the export (BD CARTO, Lambert-93).
    lot = _gpkg_communes_l93(shared_file(LOT_POLYGONS))
    outline_l93 = shapely.union_all(list(lot.values()))
    outline = gpd.GeoSeries([outline_l93], crs=2154).to_crs(4326).iloc[0]
    checked = check_flex_feed(path, outline)
    kit = gtfs_kit.read_feed(path, dist_units="km")
    assert (kit.trips["route_id"] == "solidaire").any()

    # The service area is the whole Lot: same area as the département within 1 %.
    area = gpd.GeoSeries([checked["zones"]["zone-territoire"]], crs=4326).to_crs(2154).iloc[0]
    assert abs(area.area - outline_l93.area) / outline_l93.area < 0.01
    # Cahors is served on weekdays 08:00-18:00, Figeac (60 km away) is not.
    cahors = _zone_at(checked, communes[CAHORS_INSEE].lat_lon)
    assert cahors == f"zone-{CAHORS_INSEE}"
    morning, afternoon = _hours("morning"), _hours("afternoon")
    assert _weekly_windows(checked, cahors) == {(d, morning[0], afternoon[1]) for d in range(5)}
    assert f"zone-{FIGEAC_INSEE}" not in checked["zones"]
    # Every served zone is a commune of at least the threshold whose centre is within 20 km
    # of Cahors's centre, and its shape holds that centre.
    threshold = lot_app.config["OPENDATA_MIN_COMMUNE_POPULATION"]
    for fid, geom in checked["zones"].items():
        if fid == "zone-territoire":
            continue
        c = communes[fid.removeprefix("zone-")]
        assert c.population >= threshold
        assert _haversine_m(c.lat_lon, communes[CAHORS_INSEE].lat_lon) <= 20_000
        assert geom.buffer(0.002).covers(shapely.Point(c.lat_lon[1], c.lat_lon[0]))
    # A zone is a commune and its small neighbours: its area is at least the commune's own.
    own = lot[CAHORS_INSEE]
    cahors_l93 = gpd.GeoSeries([checked["zones"][cahors]], crs=4326).to_crs(2154).iloc[0]
    assert cahors_l93.area >= own.area * 0.99
