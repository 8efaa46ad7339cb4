"""The journey-search API on the demo territory, on both database back-ends."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import gtfs_import
from app.extensions import db
from tests.api import seed
from tests.api.seed import (
    CASTELNAU,
    DAY,
    MONTBRUN,
    MONTBRUN_HOME,
    VALBOURG_GARE,
    VALBOURG_HOSPITAL,
    local,
)


def _get(client, **params):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/journeys", query_string=params)


@pytest.mark.parametrize(
    "params,parameter",
    [
        ({"to": "44.45,1.44"}, "from"),
        ({"from": "44.45", "to": "44.45,1.44"}, "from"),
        ({"from": "44.45,1.44", "to": "95,1.44"}, "to"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "datetime": "tomorrow"}, "datetime"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "max_transfers": "many"}, "max_transfers"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "max_transfers": "12"}, "max_transfers"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "arrive_by": "perhaps"}, "arrive_by"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "modes": "transit,teleport"}, "modes"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "max_walk_m": "far"}, "max_walk_m"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "max_walk_m": "-5"}, "max_walk_m"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "max_walk_m": "50000"}, "max_walk_m"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "max_walk_m": "nan"}, "max_walk_m"),
        ({"from": "44.45,1.44", "to": "44.45,1.44", "wheelchair": "sometimes"}, "wheelchair"),
    ],
)
def test_malformed_parameters_get_400_naming_them(client, params, parameter):
    r = _get(client, **params)
    assert r.status_code == 400
    body = r.get_json()
    assert body["parameter"] == parameter and body["status"] == 400
    assert f"'{parameter}'" in body["error"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_demo_bus_journey_matches_the_feed(client, app):
    """From Castelnau-Rivière to the bus station at 07:30: the 08:10 bus of line L1."""
    from app.services.runtime import loaded_territory

    r = _get(
        client,
        **{
            "from": f"{CASTELNAU[0]},{CASTELNAU[1]}",
            "to": f"{VALBOURG_GARE[0]},{VALBOURG_GARE[1]}",
            "datetime": local(DAY, "07:30").isoformat(),
            "modes": "transit",
        },
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    first = body["itineraries"][0]
    (bus,) = [leg for leg in first["legs"] if leg["mode"] == "bus"]
    feed = gtfs_import.read_feed(next((loaded_territory().path / "gtfs").glob("*.zip")))
    st = feed.stop_times
    towards_town = set(feed.trips.loc[feed.trips["direction_id"] == 0, "trip_id"])
    runs = st.loc[
        (st["stop_id"] == "STOP_CASTELNAU_RIVIERE")
        & (st["departure_time"] >= "07:30:00")
        & st["trip_id"].isin(towards_town)
    ]
    expected_trip = runs.sort_values("departure_time").iloc[0]["trip_id"]
    assert bus["trip_id"] == expected_trip
    times = st.loc[st["trip_id"] == expected_trip].sort_values("stop_sequence")
    assert bus["departure"] == f"{DAY.isoformat()}T{times.iloc[0]['departure_time']}+01:00"
    assert bus["arrival"] == f"{DAY.isoformat()}T{times.iloc[-1]['arrival_time']}+01:00"
    assert bus["route"]["short_name"] == "L1" and bus["headsign"] == "Valbourg Gare routière"
    assert [s["name"] for s in bus["intermediate_stops"]] == ["Combelongue Mairie"]
    assert first["geometry"]["type"] == "LineString" and len(first["geometry"]["coordinates"]) >= 3
    assert body["query"]["modes"] == ["transit"]


def test_walking_limit_and_wheelchair_reach_the_search(client):
    """A rider 600 m from the stop who walks 400 m at most has no bus; with 800 m she has one;
    in a wheelchair, on a feed that says nothing of accessibility, the bus is flagged unknown."""
    origin = (CASTELNAU[0] + 0.0054, CASTELNAU[1])  # 600 m north of the stop
    params = {
        "from": f"{origin[0]},{origin[1]}",
        "to": f"{VALBOURG_GARE[0]},{VALBOURG_GARE[1]}",
        "datetime": local(DAY, "07:30").isoformat(),
        "modes": "transit",
    }
    short = _get(client, **params, max_walk_m="400").get_json()
    assert short["itineraries"] == [] and short["query"]["max_walk_m"] == 400
    assert "no_stop_near_origin" in {n["code"] for n in short["notices"]}
    walked = _get(client, **params, max_walk_m="800").get_json()
    assert walked["itineraries"] and walked["itineraries"][0]["walking_m"] >= 600
    assert "wheelchair" not in walked["itineraries"][0]
    rider = _get(client, **params, max_walk_m="800", wheelchair="true").get_json()
    assert rider["query"]["wheelchair"] is True
    assert [it["arrival"] for it in rider["itineraries"]] == [
        it["arrival"] for it in walked["itineraries"]
    ]
    assert {it["wheelchair"] for it in rider["itineraries"]} <= {"unknown", "yes"}


def test_cache_and_cors_headers_and_conditional_get(client):
    params = {
        "from": f"{CASTELNAU[0]},{CASTELNAU[1]}",
        "to": f"{VALBOURG_GARE[0]},{VALBOURG_GARE[1]}",
        "datetime": local(DAY, "07:30").isoformat(),
    }
    r = _get(client, **params)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=60"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    etag = r.headers["ETag"]
    again = client.get("/api/v1/journeys", query_string=params, headers={"If-None-Match": etag})
    assert again.status_code == 304
    preflight = client.options(
        "/api/v1/journeys",
        headers={"Origin": "https://planner.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def test_volunteer_options_are_anonymised(client, app):
    d = seed.driver()
    seed.one_off(d, local(DAY, "08:00"))
    seed.regular(d, "1,3", "08:05")
    db.session.commit()
    r = _get(
        client,
        **{
            "from": f"{MONTBRUN[0] + 0.001},{MONTBRUN[1]}",
            "to": f"{VALBOURG_HOSPITAL[0]},{VALBOURG_HOSPITAL[1]}",
            "datetime": local(DAY, "08:10").isoformat(),
            "modes": "solidarity",
        },
    )
    assert r.status_code == 200
    body = r.get_json()
    kinds = sorted(it["type"] for it in body["itineraries"])
    assert kinds == ["carpool", "carpool", "solidarity"]
    text = r.get_data(as_text=True)
    for secret in (
        "Jeanne",
        "Martinez",
        "+33611223344",
        "Truffi",
        f"{MONTBRUN_HOME[0]:.4f}",
        f"{MONTBRUN_HOME[1]:.4f}",
    ):
        assert secret not in text
    for it in body["itineraries"]:
        (leg,) = it["legs"]
        assert leg["mode"] == "car" and leg["from"]["generalised"] is True
        assert leg["from"]["name"] == "Mairie de Montbrun-les-Pins"
        assert leg["booking"]["phone"] == app.config["SERVICE_PHONE"]
    carpools = [it for it in body["itineraries"] if it["type"] == "carpool"]
    for it in carpools:  # picked up within the window of the volunteer's trip, near the asked time
        pickup = dt.datetime.fromisoformat(it["departure"])
        assert abs((pickup - local(DAY, "08:10")).total_seconds()) <= 1800


def test_no_ride_on_request_when_no_volunteer_is_on_call(client):
    seed.driver()  # on call on weekdays, daytime only
    db.session.commit()
    sunday_night = local(DAY + dt.timedelta(days=5), "22:00")
    r = _get(
        client,
        **{
            "from": f"{MONTBRUN[0]},{MONTBRUN[1]}",
            "to": f"{VALBOURG_HOSPITAL[0]},{VALBOURG_HOSPITAL[1]}",
            "datetime": sunday_night.isoformat(),
            "modes": "solidarity,combined",
        },
    )
    body = r.get_json()
    assert body["itineraries"] == []
    assert "no_volunteer_available" in {n["code"] for n in body["notices"]}
    tuesday = _get(
        client,
        **{
            "from": f"{MONTBRUN[0]},{MONTBRUN[1]}",
            "to": f"{VALBOURG_HOSPITAL[0]},{VALBOURG_HOSPITAL[1]}",
            "datetime": local(DAY, "10:00").isoformat(),
            "modes": "solidarity",
        },
    )
    assert [it["type"] for it in tuesday.get_json()["itineraries"]] == ["solidarity"]


def test_docs_page_in_both_languages_without_inline_script(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for lang, marker in (("fr", "Paramètres"), ("en", "Parameters")):
        r = client.get("/api/v1/docs", query_string={"lang": lang})
        assert r.status_code == 200 and r.headers["Content-Language"] == lang
        html = r.get_data(as_text=True)
        assert marker in html
        for path in doc["paths"]:
            assert path in html
        assert "<script>" not in html and '<script type="module">' not in html
        assert "cdn" not in html.lower()
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0]
    assert "/api/covoiturage/v1/driver_journeys" in doc["paths"]
    assert doc["openapi"].startswith("3.")


def test_no_route_lists_riders_or_needs(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in doc["paths"]:
        assert "passenger" not in path and "need" not in path
    assert client.get("/api/covoiturage/v1/passenger_journeys").status_code == 404


def test_gtfs_export_without_trips_is_a_json_404(client):
    r = client.get("/api/v1/gtfs.zip")
    assert r.status_code == 404 and r.get_json()["status"] == 404
    assert "no trip" in r.get_json()["error"]


def test_gtfs_export_is_valid_and_anonymous(client, app, tmp_path):
    import gtfs_kit

    a = seed.driver()
    castelnau_home = (44.276119, 1.353407)
    b = seed.driver("Paul", "Verdier", "+33699887766", home=castelnau_home)
    seed.regular(a, "0,1,2,3,4", "07:45")
    seed.regular(b, "5", "09:30", origin=castelnau_home, destination=VALBOURG_HOSPITAL)
    db.session.commit()
    r = client.get("/api/v1/gtfs.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    path = tmp_path / "export.zip"
    path.write_bytes(r.data)
    feed = gtfs_import.read_feed(path)
    problems = gtfs_import.validate_feed(feed)
    assert [p for p in problems if p.severity == "error"] == []
    kit = gtfs_kit.read_feed(path, dist_units="km")
    # The on-demand service is described in GTFS-Flex (tests/api/test_gtfs_flex.py); gtfs-kit
    # does not read Flex, so the classic checks below look at the carpool trips.
    assert "solidaire" in set(kit.trips["route_id"])
    kit = kit.restrict_to_routes([r for r in kit.routes["route_id"] if r != "solidaire"])
    quality = dict(
        zip(kit.assess_quality()["indicator"], kit.assess_quality()["value"], strict=True)
    )
    assert quality["assessment"] == "good feed"
    assert len(kit.trips) == 2 and set(kit.routes["route_type"]) == {1551}
    assert kit.agency.iloc[0]["agency_phone"] == app.config["SERVICE_PHONE"]
    stats = kit.compute_trip_stats()
    assert set(stats["start_time"]) == {"07:45:00", "09:30:00"}
    import zipfile

    with zipfile.ZipFile(path) as zf:
        assert "booking_rules.txt" in zf.namelist()
        assert app.config["SERVICE_PHONE"] in zf.read("booking_rules.txt").decode()
        blob = b"".join(zf.read(n) for n in zf.namelist()).decode()
    for secret in (
        "Jeanne",
        "Martinez",
        "Paul",
        "Verdier",
        "+336",
        "Truffi",
        f"{castelnau_home[0]:.4f}",
        f"{MONTBRUN_HOME[0]:.4f}",
    ):
        assert secret not in blob
    stops = set(kit.stops["stop_name"])
    assert stops == {"Montbrun-les-Pins", "Valbourg", "Castelnau-Rivière"}
    assert json.loads(json.dumps(list(stops)))
