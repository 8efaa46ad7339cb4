"""An attacker tries to locate a volunteer's home through the public APIs, and must fail.

Before issue 11, ``passengerPickupDate - driverDepartureDate`` of the carpooling standard was
the exact road time from the offer's origin (the volunteer's home) to any point a caller
picked, and the pickup time of ``/api/v1/journeys`` the window start plus that road time. The
attacker here is honest: with at most 200 queries per territory, it asks from a lattice of
points then from random points where answers came, and fits the home by least squares over a
lattice of candidate homes, using road times computed on the same public OpenStreetMap data
(it has a router too). Each attack is also run against a *leaky oracle* answering what the old
code published (exact road times from the home, at the same points): there the same attacker
must get within 2 km, which shows that it would have succeeded and that the test can fail.

Homes are placed more than 2 km from the centre of their commune, as farms on the causse are:
the commune of origin is public by design (a trip is shown from its commune centre), so a home
next to its village centre is located to within its village, and no more.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.services.journeys import haversine_m
from tests.api import seed
from tests.app_fixtures import make_app
from tests.conftest import shared_file

LatLon = tuple[float, float]
MAX_QUERIES = 200
MUST_STAY_FARTHER_M = 2000.0
#: The demo territory's roads are simplified to their junctions; this one is the south end of
#: the N 20, 11 km from the centre of Castelnau-Rivière, the nearest commune.
DEMO_HOME = (44.1989901, 1.4405)
DEMO_DESTINATION = seed.VALBOURG_TOWN_HALL
DEMO_BOX = ((44.17, 1.15), (44.72, 1.73))
#: Soldeu, in the parish of Canillo (5.7 km from its centre), on the real roads of Andorra.
ANDORRA_HOME = (42.5766848, 1.6680968)
ANDORRA_DESTINATION = (42.5070, 1.5210)  # Andorra la Vella
ANDORRA_BOX = ((42.44, 1.43), (42.65, 1.77))
#: The seven parishes of Andorra as communes (postcodes as codes; populations rounded).
ANDORRA_PARISHES = (
    ("AD100", "Canillo", 42.5667, 1.6000, 4500),
    ("AD200", "Encamp", 42.5350, 1.5830, 11500),
    ("AD300", "Ordino", 42.5560, 1.5330, 5000),
    ("AD400", "La Massana", 42.5450, 1.5150, 10500),
    ("AD500", "Andorra la Vella", 42.5070, 1.5210, 23000),
    ("AD600", "Sant Julià de Lòria", 42.4640, 1.4910, 9000),
    ("AD700", "Escaldes-Engordany", 42.5100, 1.5390, 15000),
)


@pytest.fixture(scope="session")
def andorra_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """A real territory: the roads of Andorra (OpenStreetMap) and its parishes, on SpatiaLite."""
    from app.services.territory import build_territory

    osm = shared_file("osm/andorra.osm.bz2")
    tmp = tmp_path_factory.mktemp("andorra-privacy")
    communes = tmp / "andorra-parishes.csv"
    lines = ["insee,nom,lat_centroid,lon_centroid,population_cog_2026,epci_nom,codes_postaux"]
    lines += [f"{c},{n},{la},{lo},{p},Andorre,{c}" for c, n, la, lo, p in ANDORRA_PARISHES]
    communes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    app = make_app("spatialite", tmp)
    with app.app_context():
        build_territory(
            Path(app.config["TERRITORY_DIR"]), name="andorre", osm=osm, communes=[communes]
        )
    return app


@pytest.fixture
def andorra(andorra_app: Flask) -> Iterator[Flask]:
    from tests.app_fixtures import _empty_tables

    with andorra_app.app_context():
        yield andorra_app
    _empty_tables(andorra_app)


# -- the attacker -------------------------------------------------------------------------


@dataclass
class Budget:
    """Counts the attacker's queries to the public API."""

    limit: int
    used: int = 0

    def spend(self) -> None:
        self.used += 1
        assert self.used <= self.limit, "the attacker went over its query budget"


@dataclass
class Observations:
    """Points asked from, and what was learnt at each (seconds)."""

    points: list[LatLon] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


def lattice(box: tuple[LatLon, LatLon], n: int) -> list[LatLon]:
    (la0, lo0), (la1, lo1) = box
    return [
        (la0 + (la1 - la0) * i / (n - 1), lo0 + (lo1 - lo0) * j / (n - 1))
        for i in range(n)
        for j in range(n)
    ]


def probe(
    ask: Callable[[LatLon], float | None], box: tuple[LatLon, LatLon], queries: int, seed_: int
) -> Observations:
    """A 7 × 7 lattice over the territory, then random points around where answers came."""
    rng = random.Random(seed_)
    obs = Observations()
    first = lattice(box, 7)
    for p in first:
        v = ask(p)
        if v is not None:
            obs.points.append(p)
            obs.values.append(v)
    if not obs.points:
        return obs
    lats = [p[0] for p in obs.points]
    lons = [p[1] for p in obs.points]
    span = (max(lats) - min(lats) + 0.04, max(lons) - min(lons) + 0.05)
    centre = (sum(lats) / len(lats), sum(lons) / len(lons))
    for _ in range(queries - len(first)):
        p = (
            centre[0] + rng.uniform(-0.5, 0.5) * span[0],
            centre[1] + rng.uniform(-0.5, 0.5) * span[1],
        )
        v = ask(p)
        if v is not None:
            obs.points.append(p)
            obs.values.append(v)
    return obs


def fit_home(obs: Observations, box: tuple[LatLon, LatLon], *, window_offset: bool) -> LatLon:
    """Least squares over candidate homes, with the attacker's own road times.

    The candidates are the junctions of the road graph (the attacker reads OpenStreetMap too)
    inside ``box``: a home is on a road, and any point snaps to a junction.

    With ``window_offset`` the values are a departure time of unknown origin plus the road
    time; the attacker takes that time as the nearest quarter of an hour (people give round
    departure times) that fits each candidate best.
    """
    from app.services.matching import drive_times_to, get_engine

    assert len(obs.points) >= 3, f"too few answers to triangulate: {len(obs.points)}"
    graph = get_engine().graph
    (la0, lo0), (la1, lo1) = box
    candidates = [
        (float(la), float(lo))
        for la, lo in zip(graph.node_lat, graph.node_lon, strict=True)
        if la0 <= la <= la1 and lo0 <= lo <= lo1
    ]
    times = [drive_times_to(candidates, p) for p in obs.points]
    best, best_score = None, float("inf")
    for k, c in enumerate(candidates):
        column = [t[k] for t in times]
        if any(t is None for t in column):
            continue
        residuals = [v - float(t) for v, t in zip(obs.values, column, strict=True)]  # type: ignore[arg-type]
        if window_offset:
            mean = sum(residuals) / len(residuals)
            offset = round(mean / 900) * 900
            residuals = [r - offset for r in residuals]
        score = sum(r * r for r in residuals)
        if score < best_score:
            best, best_score = c, score
    assert best is not None
    return best


def standard_asker(client: Any, budget: Budget, destination: LatLon, departure: int):  # type: ignore[no-untyped-def]
    def ask(p: LatLon) -> float | None:
        budget.spend()
        r = client.get(
            "/api/covoiturage/v1/driver_journeys",
            query_string={
                "departureLat": p[0],
                "departureLng": p[1],
                "arrivalLat": destination[0],
                "arrivalLng": destination[1],
                "departureDate": departure,
                "timeDelta": 5400,
            },
        )
        assert r.status_code == 200
        items = [i for i in r.get_json() if "driverDepartureDate" in i]
        if not items:
            return None
        return float(items[0]["passengerPickupDate"] - items[0]["driverDepartureDate"])

    return ask


def journeys_asker(client: Any, budget: Budget, destination: LatLon, when: dt.datetime):  # type: ignore[no-untyped-def]
    def ask(p: LatLon) -> float | None:
        budget.spend()
        r = client.get(
            "/api/v1/journeys",
            query_string={
                "from": f"{p[0]},{p[1]}",
                "to": f"{destination[0]},{destination[1]}",
                "datetime": when.isoformat(),
                "modes": "solidarity",
            },
        )
        assert r.status_code == 200
        trips = [it for it in r.get_json()["itineraries"] if it["type"] == "carpool"]
        if not trips:
            return None
        pickup = dt.datetime.fromisoformat(trips[0]["departure"])
        return (pickup - when.replace(hour=0, minute=0)).total_seconds()

    return ask


def leaky_oracle(home: LatLon, offset_s: float) -> Callable[[Sequence[LatLon]], list[float]]:
    """What the old code published at these points: the exact road time from the home."""
    from app.services.matching import drive_times

    def values(points: Sequence[LatLon]) -> list[float]:
        return [offset_s + float(t or 0) for t in drive_times(home, list(points))]

    return values


def _attack(
    client: Any, home: LatLon, destination: LatLon, box: tuple[LatLon, LatLon]
) -> list[tuple[str, float, float]]:
    """Both attacks on one volunteer; (API, distance of its estimate, of the oracle's) in m."""
    earliest = seed.local(seed.DAY, "08:00")
    d = seed.driver(home=home)
    seed.one_off(d, earliest, origin=home, destination=destination)
    db.session.commit()
    budget = Budget(MAX_QUERIES)
    out = []
    ask = standard_asker(client, budget, destination, int(earliest.timestamp()) + 600)
    obs = probe(ask, box, MAX_QUERIES // 2, 1)
    estimate = fit_home(obs, box, window_offset=False)
    leaky = Observations(obs.points, leaky_oracle(home, 0)(obs.points))
    out.append(
        (
            "standard",
            haversine_m(estimate, home),
            haversine_m(fit_home(leaky, box, window_offset=False), home),
        )
    )
    midnight = earliest.replace(hour=0, minute=0)
    ask = journeys_asker(client, budget, destination, earliest)
    obs = probe(ask, box, MAX_QUERIES // 2, 2)
    estimate = fit_home(obs, box, window_offset=True)
    offset = (earliest - midnight).total_seconds()
    leaky = Observations(obs.points, leaky_oracle(home, offset)(obs.points))
    out.append(
        (
            "journeys",
            haversine_m(estimate, home),
            haversine_m(fit_home(leaky, box, window_offset=True), home),
        )
    )
    assert budget.used <= MAX_QUERIES
    return out


def _check(results: list[tuple[str, float, float]]) -> None:
    for api, got_m, oracle_m in results:
        # The attacker is able: against what the old code published, it finds the home.
        assert oracle_m < MUST_STAY_FARTHER_M, (api, results)
        # Against the API, it does not.
        assert got_m > MUST_STAY_FARTHER_M, (api, results)


@pytest.mark.slow
def test_triangulation_fails_on_the_demo_territory(sclient):
    _check(_attack(sclient, DEMO_HOME, DEMO_DESTINATION, DEMO_BOX))


@pytest.mark.slow
def test_triangulation_fails_on_a_real_territory(andorra):
    _check(_attack(andorra.test_client(), ANDORRA_HOME, ANDORRA_DESTINATION, ANDORRA_BOX))
