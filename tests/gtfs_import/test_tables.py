"""Plain tables and calendar expansion."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import gtfs_kit
import numpy as np
import pandas as pd

import gtfs_import
from gtfs_import.schema import ROUTES_TABLE_DTYPES, STOPS_TABLE_DTYPES
from tests.gtfs_import.conftest import CAHORS
from tests.gtfs_import.synthetic import make_feed


def test_stops_table(k1_feed):
    stops = gtfs_import.stops_table(k1_feed)
    assert {c: str(t) for c, t in stops.dtypes.items()} == {
        c: str(pd.Series(dtype=t).dtype) for c, t in STOPS_TABLE_DTYPES.items()
    }
    cahors = stops.set_index("stop_id").loc[CAHORS]
    assert cahors["name"] == "Cahors" and cahors["location_type"] == 1
    assert abs(cahors["lat"] - 44.449) < 0.01 and abs(cahors["lon"] - 1.433) < 0.01
    kids = stops.loc[stops["parent_station"] == CAHORS, "stop_id"]
    assert set(kids) == {"StopPoint:OCECar TER-87613000", "StopPoint:OCETrain TER-87613000"}


def test_routes_table(lot_feed):
    routes = gtfs_import.routes_table(lot_feed)
    assert list(routes.columns) == list(ROUTES_TABLE_DTYPES)
    k1 = routes.loc[routes["short_name"] == "K1"].iloc[0]
    assert k1["long_name"] == "Toulouse Matabiau - Brive La Gaillarde"
    assert (k1["route_type"], k1["color"], k1["agency_name"]) == (2, "#BF005F", "SNCF VOYAGEURS")
    assert len(routes) == 9


def test_tables_do_not_mutate_the_feed(k1_feed):
    before = k1_feed.stops.copy(), k1_feed.routes.copy()
    gtfs_import.stops_table(k1_feed)
    gtfs_import.routes_table(k1_feed)
    assert before[0].equals(k1_feed.stops) and before[1].equals(k1_feed.routes)


def test_parse_times():
    got = gtfs_import.parse_times(
        pd.Series(["08:05:09", "25:10:00", " 7:00:00", None, "8h", "24:60:00"])
    )
    assert got.tolist() == [29109, 90600, 25200, -1, -2, -2]


def test_expand_calendar_matches_gtfs_kit(feed_2019):
    # The 2019 feed has calendar.txt and calendar_dates.txt exceptions.
    dates = ["20190901", "20190915", "20190920", "20191101"]
    got = gtfs_import.expand_calendar(feed_2019, dates)
    for date in dates:
        expected = set(gtfs_kit.trips.get_active_services(feed_2019, date))
        assert set(got.loc[got["date"] == date, "service_id"]) == expected


def test_expand_calendar_rules():
    feed = make_feed(
        [("a", 44.4, 1.4), ("b", 44.5, 1.4)],
        [[("a", "8:00:00", "8:00:00", 0, 0), ("b", "9:00:00", "9:00:00", 0, 0)]],
    )
    feed.calendar = pd.DataFrame(
        {
            "service_id": ["wk"],
            "monday": [1],
            "tuesday": [1],
            "wednesday": [0],
            "thursday": [0],
            "friday": [0],
            "saturday": [0],
            "sunday": [0],
            "start_date": ["20250101"],
            "end_date": ["20250131"],
        }
    ).astype(gtfs_kit.constants.DTYPES["calendar"])
    feed.calendar_dates = pd.DataFrame(
        {"service_id": ["wk", "wk"], "date": ["20250107", "20250108"], "exception_type": [2, 1]}
    ).astype(gtfs_kit.constants.DTYPES["calendar_dates"])
    days = [dt.date(2025, 1, d) for d in range(6, 10)] + [dt.date(2025, 2, 3)]
    got = gtfs_import.expand_calendar(feed, days)
    assert got["date"].tolist() == ["20250106", "20250108"]  # Mon; Tue removed; Wed added


def test_no_web_framework_or_sibling_import():
    """gtfs_import is lifted out alone: no Flask, SQLAlchemy, app or matching."""
    root = Path(gtfs_import.__file__).parent
    banned = {"flask", "sqlalchemy", "app", "matching", "flask_sqlalchemy"}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"
    assert np.int32(gtfs_import.schema.NO_TIME) == np.iinfo(np.int32).max
