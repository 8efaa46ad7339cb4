"""A journey search over a time window, in pages: through the API on the demo territory, and
on the real TER feed with a shape written for the purpose (leg geometry from shapes.txt)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pandas as pd

from app.services.journeys import JourneyQuery, search_journeys
from tests.api.conftest import CAHORS, TOULOUSE, TZ, at, station_position
from tests.api.seed import CASTELNAU, DAY, VALBOURG_GARE, local

# The demo's line L1 leaves Castelnau-Rivière for town at 06:50, 08:10, 12:15 and 17:05.
TOWNWARD = ("06:50", "08:10", "12:15", "17:05")


def _get(client, **params):  # type: ignore[no-untyped-def]
    base = {
        "from": f"{CASTELNAU[0]},{CASTELNAU[1]}",
        "to": f"{VALBOURG_GARE[0]},{VALBOURG_GARE[1]}",
        "modes": "transit",
    }
    return client.get("/api/v1/journeys", query_string={**base, **params})


def _departures(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [
        next(leg["departure"][11:16] for leg in it["legs"] if leg["mode"] == "bus")
        for it in body["itineraries"]
    ]


def test_a_window_returns_every_departure_in_it_best_first(client):
    instant = _get(client, datetime=local(DAY, "06:00").isoformat(), window="0").get_json()
    assert _departures(instant) == ["06:50"]
    two_hours = _get(client, datetime=local(DAY, "06:00").isoformat(), window="120").get_json()
    assert _departures(two_hours)[:2] == ["06:50", "08:10"]
    assert two_hours["query"]["window"] == 120
    # Each journey is the one a search from its own departure finds (nothing better is hidden).
    for it in two_hours["itineraries"]:
        alone = _get(client, datetime=it["departure"], window="0").get_json()["itineraries"][0]
        assert (alone["departure"], alone["arrival"]) == (it["departure"], it["arrival"])
    # Arriving by 13:00 over four hours: the buses arriving in [09:00, 13:00], latest first.
    back = _get(
        client, datetime=local(DAY, "13:00").isoformat(), arrive_by="true", window="240"
    ).get_json()
    assert _departures(back)[:2] == ["12:15", "08:10"]


def test_pages_follow_each_other_and_a_foreign_cursor_is_refused(client):
    first = _get(
        client, datetime=local(DAY, "06:00").isoformat(), window="240", num_itineraries="1"
    ).get_json()
    assert _departures(first) == ["06:50"] and first["query"]["num_itineraries"] == 1
    second = _get(
        client, page_cursor=first["next_page_cursor"], window="240", num_itineraries="1"
    ).get_json()
    assert _departures(second) == ["08:10"]
    third = _get(
        client, page_cursor=second["next_page_cursor"], window="240", num_itineraries="2"
    ).get_json()
    assert _departures(third)[0] == "12:15"
    back = _get(client, page_cursor=second["previous_page_cursor"], window="60").get_json()
    assert dt.datetime.fromisoformat(back["query"]["datetime"]) < dt.datetime.fromisoformat(
        second["query"]["datetime"]
    )
    # A cursor is the API's own: garbage, or one of an arrive-by query, is a 400 naming it.
    for cursor, arrive_by in (
        ("nonsense", "false"),
        (first["next_page_cursor"], "true"),
        (
            base64.urlsafe_b64encode(json.dumps({"when": "2026-01-01T08:00:00"}).encode()).decode(),
            "false",
        ),
    ):
        r = _get(client, page_cursor=cursor, arrive_by=arrive_by)
        assert r.status_code == 400 and r.get_json()["parameter"] == "page_cursor", r.get_data(
            as_text=True
        )


def test_a_transit_leg_follows_the_trips_shape(k1_feed, k1_service, tmp_path: Path):
    """The K1 trains given a shape through a point well off the straight line between
    Cahors and Toulouse: the leg's geometry passes there; without shapes it is the stops."""
    from app.services.transit import TransitService

    feed = k1_feed.copy()
    stations = feed.stops.set_index("stop_id")
    cahors, toulouse = station_position(feed, CAHORS), station_position(feed, TOULOUSE)
    # One shape per trip, through each of its stops in order and a bend after the first one.
    rows = []
    st = feed.stop_times.sort_values(["trip_id", "stop_sequence"])
    for trip_id, group in st.groupby("trip_id"):
        points = [
            (stations.at[s, "stop_lat"], stations.at[s, "stop_lon"]) for s in group["stop_id"]
        ]
        points = (
            points[:1]
            + [((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2 + 0.3)]
            + points[1:]
        )
        rows += [
            {
                "shape_id": f"S{trip_id}",
                "shape_pt_lat": lat,
                "shape_pt_lon": lon,
                "shape_pt_sequence": k,
            }
            for k, (lat, lon) in enumerate(points)
        ]
    feed.shapes = pd.DataFrame(rows)
    feed.trips = feed.trips.assign(shape_id=[f"S{t}" for t in feed.trips["trip_id"]])
    shaped = dataclasses.replace(
        k1_service,
        feeds=(feed,),
        fingerprint=k1_service.fingerprint + "-shapes",
        cache_dir=tmp_path,
    )
    assert isinstance(shaped, TransitService)
    query = JourneyQuery(
        origin=cahors,
        destination=toulouse,
        when=at("06:00"),
        modes=frozenset({"transit"}),
        max_transfers=0,
    )
    plain = search_journeys(query, transit=k1_service, drive_times=None, tz=TZ).itineraries[0]
    bent = search_journeys(query, transit=shaped, drive_times=None, tz=TZ).itineraries[0]
    assert (plain["departure"], plain["arrival"]) == (bent["departure"], bent["arrival"])
    [ride_plain] = [leg for leg in plain["legs"] if leg["mode"] == "rail"]
    [ride_bent] = [leg for leg in bent["legs"] if leg["mode"] == "rail"]
    # Without shapes: the stops' own points; with: the bend is on the way, the ends at the stops.
    assert len(ride_plain["geometry"]["coordinates"]) == 2 + len(ride_plain["intermediate_stops"])
    coords = ride_bent["geometry"]["coordinates"]
    assert len(coords) > len(ride_plain["geometry"]["coordinates"])
    assert max(lon for lon, _lat in coords) > max(cahors[1], toulouse[1]) + 0.1
    assert (
        abs(coords[0][1] - ride_bent["from"]["lat"]) < 1e-3
        and abs(coords[-1][1] - ride_bent["to"]["lat"]) < 1e-3
    )
