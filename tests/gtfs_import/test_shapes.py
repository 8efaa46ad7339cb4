"""Leg geometry from shapes.txt, and the wheelchair masks, on feeds written for the purpose."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import gtfs_import
from gtfs_import.shapes import place_stops
from tests.gtfs_import.feeds import write_feed

DATE = "20250106"

# Stops on a line going north; the shape makes a detour east between b and c, and goes
# back south past c then returns (a loop near c) so that a naive nearest projection of
# the last stop could pick the wrong pass.
STOPS = [("a", 44.40, 1.44), ("b", 44.42, 1.44), ("c", 44.44, 1.44), ("d", 44.46, 1.44)]
SHAPE = [
    (44.40, 1.44),
    (44.41, 1.44),
    (44.42, 1.44),
    (44.43, 1.46),  # the detour: east of the line
    (44.44, 1.44),
    (44.45, 1.44),
    (44.46, 1.44),
]


def _m(p: tuple[float, float], q: tuple[float, float]) -> float:
    dy = (p[0] - q[0]) * 111_195
    dx = (p[1] - q[1]) * 111_195 * math.cos(math.radians(p[0]))
    return math.hypot(dx, dy)


def _feed(folder: Path, with_dist: bool, shape: bool = True) -> gtfs_import.Timetable:
    dist = [0.0]
    for p, q in zip(SHAPE, SHAPE[1:], strict=False):
        dist.append(dist[-1] + _m(p, q) / 1000)
    stop_dist = {"a": dist[0], "b": dist[2], "c": dist[4], "d": dist[6]}
    tables = {
        "agency": [
            {
                "agency_id": "ag",
                "agency_name": "A",
                "agency_url": "https://example.org",
                "agency_timezone": "Europe/Paris",
            }
        ],
        "stops": [
            {"stop_id": s, "stop_name": s, "stop_lat": lat, "stop_lon": lon}
            for s, lat, lon in STOPS
        ],
        "routes": [{"route_id": "r", "agency_id": "ag", "route_short_name": "R", "route_type": 3}],
        "trips": [
            {
                "route_id": "r",
                "service_id": "all",
                "trip_id": "t",
                "shape_id": "sh" if shape else None,
            }
        ],
        "stop_times": [
            {
                "trip_id": "t",
                "arrival_time": f"8:{10 * i:02d}:00",
                "departure_time": f"8:{10 * i:02d}:00",
                "stop_id": s,
                "stop_sequence": i,
                "shape_dist_traveled": stop_dist[s] if with_dist else None,
            }
            for i, (s, _, _) in enumerate(STOPS)
        ],
        "calendar_dates": [{"service_id": "all", "date": DATE, "exception_type": 1}],
    }
    if shape:
        tables["shapes"] = [
            {
                "shape_id": "sh",
                "shape_pt_lat": lat,
                "shape_pt_lon": lon,
                "shape_pt_sequence": i,
                "shape_dist_traveled": dist[i] if with_dist else None,
            }
            for i, (lat, lon) in enumerate(SHAPE)
        ]
    feed = gtfs_import.read_feed(write_feed(folder, tables))
    return gtfs_import.build_timetable(feed, DATE)


@pytest.mark.parametrize("with_dist", [True, False])
def test_leg_geometry_is_the_shape_between_the_stops(tmp_path, with_dist):
    tt = _feed(tmp_path, with_dist)
    gtfs_import.check_timetable(tt)
    router = gtfs_import.TransitRouter(tt)
    (j,) = router.depart_after({"b": 0}, {"d": 0}, 7 * 3600)
    (leg,) = j.legs
    geo = leg.geometry
    assert _m(geo[0], (44.42, 1.44)) < 5 and _m(geo[-1], (44.46, 1.44)) < 5
    # The right piece: the detour between b and c is in, the part before b is not.
    assert any(_m(p, (44.43, 1.46)) < 1 for p in geo)
    assert all(p[0] >= 44.42 - 1e-5 for p in geo)
    assert len(geo) == 5  # b, the detour, c, the point after c, d
    (j,) = router.depart_after({"a": 0}, {"b": 0}, 7 * 3600)
    geo = j.legs[0].geometry
    assert all(p[0] <= 44.42 + 1e-5 for p in geo)
    assert not any(_m(p, (44.43, 1.46)) < 100 for p in geo)


def test_without_shape_the_stops_are_the_geometry(tmp_path):
    tt = _feed(tmp_path, with_dist=False, shape=False)
    router = gtfs_import.TransitRouter(tt)
    (j,) = router.depart_after({"a": 0}, {"c": 0}, 7 * 3600)
    assert j.legs[0].geometry == ((44.40, 1.44), (44.42, 1.44), (44.44, 1.44))
    assert tt.trip_shape.tolist() == [-1]


def test_place_stops_is_monotone_on_a_loop():
    # The shape goes north, then back south over the same street, then north again.
    lat = np.array([0.0, 1.0, 0.0, 1.0])
    lon = np.array([0.0, 0.0, 0.001, 0.001])
    nan = np.full(3, np.nan)
    stop_lat = np.array([0.1, 0.5, 0.9])
    stop_lon = np.array([0.0, 0.0011, 0.0011])  # the last two nearer the third pass
    _, p_lat, nxt = place_stops(lat, lon, np.full(4, np.nan), stop_lat, stop_lon, nan)
    assert np.all(np.diff(nxt) >= 0)
    assert nxt.tolist() == [1, 3, 3]
    with pytest.raises(ValueError, match="two points"):
        place_stops(lat[:1], lon[:1], lat[:1], stop_lat, stop_lon, nan)


def test_walk_legs_carry_their_two_stops(tmp_path):
    tables = {
        "agency": [
            {"agency_id": "ag", "agency_name": "A", "agency_url": "https://e.org",
             "agency_timezone": "Europe/Paris"}
        ],
        "stops": [
            {"stop_id": "a", "stop_name": "a", "stop_lat": 44.40, "stop_lon": 1.44},
            {"stop_id": "b", "stop_name": "b", "stop_lat": 44.50, "stop_lon": 1.44},
            {"stop_id": "b2", "stop_name": "b2", "stop_lat": 44.501, "stop_lon": 1.44},
        ],
        "routes": [{"route_id": "r", "agency_id": "ag", "route_type": 3}],
        "trips": [
            {"route_id": "r", "service_id": "all", "trip_id": "t"},
            {"route_id": "r", "service_id": "all", "trip_id": "back"},  # serves b2
        ],
        "stop_times": [
            {"trip_id": "t", "arrival_time": "8:00:00", "departure_time": "8:00:00",
             "stop_id": "a", "stop_sequence": 0},
            {"trip_id": "t", "arrival_time": "8:20:00", "departure_time": "8:20:00",
             "stop_id": "b", "stop_sequence": 1},
            {"trip_id": "back", "arrival_time": "18:00:00", "departure_time": "18:00:00",
             "stop_id": "b2", "stop_sequence": 0},
            {"trip_id": "back", "arrival_time": "18:20:00", "departure_time": "18:20:00",
             "stop_id": "a", "stop_sequence": 1},
        ],
        "calendar_dates": [{"service_id": "all", "date": DATE, "exception_type": 1}],
    }  # fmt: skip
    tt = gtfs_import.build_timetable(gtfs_import.read_feed(write_feed(tmp_path, tables)), DATE)
    (j,) = gtfs_import.TransitRouter(tt).depart_after({"a": 60}, {"b2": 0}, 7 * 3600)
    first, ride, walk = j.legs
    assert first.geometry == ()  # from the origin point: the caller draws it
    assert walk.geometry == ((44.50, 1.44), (44.501, 1.44))
    assert ride.geometry == ((44.40, 1.44), (44.50, 1.44))


def test_wheelchair_masks(tmp_path):
    """A trip marked inaccessible and a stop that inherits "no" from its station are left
    out; unknown values are allowed."""
    tables = {
        "agency": [
            {"agency_id": "ag", "agency_name": "A", "agency_url": "https://e.org",
             "agency_timezone": "Europe/Paris"}
        ],
        "stops": [
            {"stop_id": "a", "stop_name": "a", "stop_lat": 44.40, "stop_lon": 1.44},
            {"stop_id": "b", "stop_name": "b", "stop_lat": 44.50, "stop_lon": 1.44,
             "wheelchair_boarding": 1},
            {"stop_id": "S", "stop_name": "S", "stop_lat": 44.60, "stop_lon": 1.44,
             "location_type": 1, "wheelchair_boarding": 2},
            {"stop_id": "c", "stop_name": "c", "stop_lat": 44.60, "stop_lon": 1.44,
             "parent_station": "S", "wheelchair_boarding": 0},
            {"stop_id": "e", "stop_name": "e", "stop_lat": 44.70, "stop_lon": 1.44},
        ],
        "routes": [{"route_id": "r", "agency_id": "ag", "route_type": 3}],
        "trips": [
            {"route_id": "r", "service_id": "all", "trip_id": "fast",
             "wheelchair_accessible": 2},
            {"route_id": "r", "service_id": "all", "trip_id": "slow",
             "wheelchair_accessible": 0},
            {"route_id": "r", "service_id": "all", "trip_id": "via_c",
             "wheelchair_accessible": 1},
        ],
        "stop_times": [
            {"trip_id": t, "arrival_time": tm, "departure_time": tm, "stop_id": s,
             "stop_sequence": i}
            for t, events in (
                ("fast", [("a", "8:00:00"), ("b", "8:10:00")]),
                ("slow", [("a", "8:05:00"), ("b", "8:40:00")]),
                ("via_c", [("a", "9:00:00"), ("c", "9:10:00"), ("e", "9:20:00")]),
            )
            for i, (s, tm) in enumerate(events)
        ],
        "calendar_dates": [{"service_id": "all", "date": DATE, "exception_type": 1}],
    }  # fmt: skip
    tt = gtfs_import.build_timetable(gtfs_import.read_feed(write_feed(tmp_path, tables)), DATE)
    router = gtfs_import.TransitRouter(tt)
    trip_ok, stop_ok = router.wheelchair_masks()
    ids = tt.stop_ids.tolist()
    assert not stop_ok[ids.index("c")] and not stop_ok[ids.index("S")]
    assert stop_ok[ids.index("a")] and stop_ok[ids.index("b")]
    assert dict(zip(tt.trip_ids.tolist(), trip_ok.tolist(), strict=True)) == {
        "fast": False,
        "slow": True,
        "via_c": True,
    }
    (j,) = router.depart_after({"a": 0}, {"b": 0}, 7 * 3600)
    assert j.legs[0].trip_id == "fast"
    (j,) = router.depart_after({"a": 0}, {"b": 0}, 7 * 3600, trip_ok=trip_ok, stop_ok=stop_ok)
    assert j.legs[0].trip_id == "slow"
    assert router.depart_after({"a": 0}, {"c": 0}, 7 * 3600, stop_ok=stop_ok) == []
    (j,) = router.depart_after({"a": 0}, {"e": 0}, 7 * 3600, trip_ok=trip_ok, stop_ok=stop_ok)
    assert j.legs[0].intermediate_stop_ids == ("c",)  # riding through is fine


def test_old_timetable_files_are_refused(tmp_path):
    tt = _feed(tmp_path / "feed", with_dist=True)
    path = tmp_path / "tt.npz"
    gtfs_import.save_timetable(tt, path)
    assert gtfs_import.load_timetable(path).shape_lat.tolist() == tt.shape_lat.tolist()
    with np.load(path) as data:
        arrays = {k: data[k] for k in data if k not in ("trip_shape", "stop_wheelchair")}
    arrays["format_version"] = np.asarray(2, dtype=np.int32)
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(gtfs_import.TimetableError, match="format version 2"):
        gtfs_import.load_timetable(tmp_path / "old.npz")
