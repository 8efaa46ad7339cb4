"""The station alternatives of the service benchmark (benchmarks.service) on the real K1 feed.

The K1 line (Toulouse - Cahors - Brive, January 2025) stops at Lalbenque - Fontanes and
Cahors, both inside the box of the communes around Cahors; the roads are the benchmark's
generated graph of those communes.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache

import pytest

from benchmarks.service_transit import (
    MAX_TRANSIT_WAIT_S,
    PARIS,
    STATION_REACH_S,
    TRANSFER_MARGIN_S,
    TransitNetwork,
    station_alternatives,
    transit_network,
)
from benchmarks.synthetic import generate_territory, load_places
from matching.engine import Engine
from matching.model import Requirement, ReturnMode, RideNeed
from tests.conftest import shared_file

MONDAY = dt.date(2025, 1, 27)
LALBENQUE = (44.333656, 1.511578)
CAHORS_STATION = (44.449275, 1.433325)


@cache
def _setup() -> tuple[Engine, TransitNetwork]:
    places = load_places(shared_file("communes/lot46_cahors_area_communes.csv"))
    assert places is not None
    engine = Engine.from_graph(generate_territory(places, seed=2026).graph)
    net = transit_network(
        engine, places, shared_file("gtfs/ter-k1-toulouse-cahors-brive-2025-01.zip"), [MONDAY]
    )
    assert net is not None
    return engine, net


def _at(hour: float) -> int:
    minutes = round(hour * 60)
    return int(dt.datetime.combine(MONDAY, dt.time(minutes // 60, minutes % 60), PARIS).timestamp())


def _offset(point: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat = point[0] + north_m / 111_200.0
    return lat, point[1] + east_m / (111_200.0 * math.cos(math.radians(point[0])))


def _need(name: str, **kw: object) -> RideNeed:
    """From 2 km east of Lalbenque station to 300 m from Cahors station, due at 10:45,
    driven back 20 minutes after (a K1 leaves Cahors southbound at 11:24)."""
    home = _offset(LALBENQUE, 0.0, 2000.0)
    dest = _offset(CAHORS_STATION, 300.0, 0.0)
    return RideNeed(
        name, *home, *dest, _at(9.5), _at(10.75),
        return_mode=ReturnMode.AFTER_WAIT, return_wait_s=1200, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_stations_of_the_territory() -> None:
    _, net = _setup()
    assert {"Cahors", "Lalbenque - Fontanes"} <= set(net.station_names)


def test_alternatives_fit_the_trains() -> None:
    engine, net = _setup()
    need = _need("n")
    alts = station_alternatives(engine, net, [need])["n"]
    out = [a for a in alts if a.leg == "outbound"]
    back = [a for a in alts if a.leg == "return"]
    assert out and back
    lalbenque = net.station_names.index("Lalbenque - Fontanes")
    node = int(net.station_nodes[lalbenque])
    assert out[0].station_name == "Lalbenque - Fontanes" and out[0].station_node == node
    assert "K1" in out[0].description and "Cahors" in out[0].description
    # The train leaves the station margin after the car's latest time and reaches the
    # destination (walk included) by the appointment, at most an hour early.
    departure = out[0].time_s + TRANSFER_MARGIN_S
    arrival = departure + out[0].transit_s
    assert arrival <= need.latest_arrival_s
    assert need.latest_arrival_s - arrival <= MAX_TRANSIT_WAIT_S
    # The return train leaves after the rider is ready (within an hour); the car waits at
    # the station until it is in plus the margin.
    ready = need.return_pickup_s
    assert ready is not None
    leaves = back[0].time_s - TRANSFER_MARGIN_S - back[0].transit_s
    assert ready <= leaves <= ready + MAX_TRANSIT_WAIT_S
    # The drive to the station is within the volunteers' reach.
    drive = engine.table(engine.snap([need.pickup_lat], [need.pickup_lon]).nodes, [node]).time_s
    assert float(drive[0, 0]) <= STATION_REACH_S
    # Stated in local time, the train is a real K1 run (between 7:00 and 11:00).
    local = dt.datetime.fromtimestamp(departure, PARIS)
    assert 7 <= local.hour <= 10


@pytest.mark.parametrize("requirement", [Requirement.ACCOMPANIMENT, Requirement.WHEELCHAIR])
def test_no_station_for_accompaniment_nor_a_wheelchair_walk(requirement: Requirement) -> None:
    # Accompaniment: never left at a station; a wheelchair: no walk from the stop 300 m away.
    engine, net = _setup()
    assert station_alternatives(engine, net, [_need("n", requirements=requirement)]) == {}


def test_no_station_when_driving_there_is_no_shorter() -> None:
    engine, net = _setup()
    home = _offset(CAHORS_STATION, -400.0, 0.0)
    dest = _offset(CAHORS_STATION, 300.0, 0.0)
    near = RideNeed("near", *home, *dest, _at(9.5), _at(10.75))
    assert station_alternatives(engine, net, [near]) == {}
