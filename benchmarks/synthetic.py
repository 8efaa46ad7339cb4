"""A generated département-scale road graph with a road hierarchy, and its places.

Villages sit at the real commune centroids of the Lot when ``../shared/data`` is present
(random positions otherwise), each with a street grid sized by its population; villages are
joined by curvy country roads (Delaunay triangulation of the villages, classified tertiary,
secondary along a spanning tree, primary radiating from the largest town), a north–south
motorway with interchanges, and dead-end spurs to hamlets and farms. Geometry nodes are kept
(as in an unsimplified OSM graph), which is what brings a département past 100,000 nodes.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay

from matching.graph import RoadGraph, graph_from_edges, largest_strongly_connected
from matching.model import (
    DriverTrip,
    Purpose,
    Requirement,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
)
from matching.snap import haversine_m

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
LOT_COMMUNES = SHARED_DATA / "communes" / "lot46_communes.csv"

SPEED_KMH = {
    "motorway": 110.0,
    "link": 50.0,
    "primary": 80.0,
    "secondary": 75.0,
    "tertiary": 65.0,
    "street": 30.0,
    "village": 40.0,
    "spur": 35.0,
}


@dataclass(frozen=True)
class Places:
    """Villages of the territory: name, centre coordinates, population, centre node."""

    name: list[str]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    population: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Territory:
    """A generated road graph and the places it serves."""

    graph: RoadGraph
    places: Places


def load_places(path: Path = LOT_COMMUNES, max_places: int | None = None) -> Places | None:
    """Commune centroids and populations from the communes CSV, or None when absent."""
    if not path.exists():
        return None
    names, lat, lon, pop = [], [], [], []
    with open(path, newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            names.append(row["nom"])
            lat.append(float(row["lat_centroid"]))
            lon.append(float(row["lon_centroid"]))
            pop.append(int(float(row["population_bdcarto_2021"] or 100)))
    places = Places(names, np.array(lat), np.array(lon), np.array(pop, dtype=np.int64))
    if max_places is not None and max_places < len(names):
        keep = np.argsort(-places.population)[:max_places]
        places = Places(
            [names[i] for i in keep], places.lat[keep], places.lon[keep], places.population[keep]
        )
    return places


def random_places(n: int, seed: int, lat0: float = 44.6, lon0: float = 1.6) -> Places:
    """``n`` villages spread over a 90 km x 80 km square, Zipf-like populations."""
    rng = np.random.default_rng(seed)
    lat = lat0 + rng.uniform(-0.36, 0.36, n)
    lon = lon0 + rng.uniform(-0.56, 0.56, n)
    pop = (20000 / (1 + np.arange(n)) ** 1.1).astype(np.int64) + rng.integers(50, 300, n)
    return Places([f"village-{i}" for i in range(n)], lat, lon, pop)


def places_from_graph_density(
    graph: RoadGraph, n_places: int = 40, cell_km: float = 1.5, min_gap_km: float = 3.0
) -> Places:
    """Places of a real road graph: its densest spots of road nodes, as town centres.

    Nodes are counted on a ``cell_km`` grid; the densest cells, at least ``min_gap_km``
    apart, become the places, each at its densest cell's road node nearest the cell's
    mean position, with a "population" proportional to the nodes of the cell (towns have
    many streets, hamlets few).
    """
    if graph.n_nodes == 0 or n_places < 1:
        raise ValueError("a graph with nodes and n_places >= 1 are required")
    lat0 = float(np.mean(graph.node_lat))
    ky = 111.2
    kx = 111.2 * math.cos(math.radians(lat0))
    y = (graph.node_lat - graph.node_lat.min()) * ky
    x = (graph.node_lon - graph.node_lon.min()) * kx
    iy = (y // cell_km).astype(np.int64)
    ix = (x // cell_km).astype(np.int64)
    key = iy * (int(ix.max()) + 1) + ix
    cells, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    chosen: list[int] = []
    centres: list[tuple[float, float]] = []
    for c in np.argsort(-counts, kind="stable").tolist():
        members = np.flatnonzero(inverse == c)
        cy, cx = float(y[members].mean()), float(x[members].mean())
        if any(math.hypot(cy - py, cx - px) < min_gap_km for py, px in centres):
            continue
        best = members[np.argmin((y[members] - cy) ** 2 + (x[members] - cx) ** 2)]
        chosen.append(int(best))
        centres.append((cy, cx))
        if len(chosen) == n_places:
            break
    nodes = np.array(chosen, dtype=np.int64)
    population = np.array([int(counts[inverse[v]]) * 20 for v in chosen], dtype=np.int64)
    return Places(
        [f"centre-{i}" for i in range(nodes.shape[0])],
        graph.node_lat[nodes].astype(np.float64),
        graph.node_lon[nodes].astype(np.float64),
        population,
    )


class _Builder:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.tail: list[int] = []
        self.head: list[int] = []
        self.kind: list[str] = []
        self.oneway: list[bool] = []

    def node(self, lat: float, lon: float) -> int:
        self.lat.append(lat)
        self.lon.append(lon)
        return len(self.lat) - 1

    def edge(self, a: int, b: int, kind: str, oneway: bool = False) -> None:
        self.tail.append(a)
        self.head.append(b)
        self.kind.append(kind)
        self.oneway.append(oneway)

    def polyline(self, a: int, b: int, kind: str, spacing_m: float, wiggle: float) -> list[int]:
        """A curvy road from node a to node b with geometry nodes every ~spacing_m."""
        la, loa, lb, lob = self.lat[a], self.lon[a], self.lat[b], self.lon[b]
        dist = float(haversine_m(la, loa, lb, lob))
        k = max(1, int(dist / spacing_m))
        nodes = [a]
        phase = self.rng.uniform(0, math.pi)
        amp = wiggle * self.rng.uniform(0.3, 1.0)
        for i in range(1, k):
            f = i / k
            bend = amp * math.sin(math.pi * f * self.rng.integers(1, 4) + phase)
            bend += self.rng.normal(0, amp * 0.15)
            lat = la + (lb - la) * f + bend * (lob - loa) * 0.7
            lon = loa + (lob - loa) * f - bend * (lb - la) * 1.4
            nodes.append(self.node(lat, lon))
        nodes.append(b)
        for u, v in zip(nodes[:-1], nodes[1:], strict=True):
            self.edge(u, v, kind)
        return nodes


def generate_territory(
    places: Places | None = None,
    *,
    seed: int = 46,
    road_spacing_m: float = 100.0,
    spur_share: float = 0.25,
) -> Territory:
    """Generate the road graph of a rural département around ``places``.

    With the 313 communes of the Lot and the defaults this gives about 110,000 nodes in
    the largest strongly connected component.
    """
    rng = np.random.default_rng(seed)
    if places is None:
        places = load_places() or random_places(313, seed)
    b = _Builder(rng)
    n_places = len(places.name)
    centres = np.empty(n_places, dtype=np.int64)
    street_nodes: list[int] = []
    for i in range(n_places):
        pop = int(places.population[i])
        side = int(np.clip(round(math.sqrt(pop) / 3.0), 2, 70))
        step_m = 90.0 if pop > 3000 else 120.0
        dlat = step_m / 111_200.0
        dlon = step_m / (111_200.0 * math.cos(math.radians(places.lat[i])))
        ids = np.empty((side, side), dtype=np.int64)
        for r in range(side):
            for c in range(side):
                ids[r, c] = b.node(
                    places.lat[i] + (r - side / 2) * dlat + rng.normal(0, dlat * 0.15),
                    places.lon[i] + (c - side / 2) * dlon + rng.normal(0, dlon * 0.15),
                )
        street_nodes.extend(ids.ravel().tolist())
        kind = "street" if pop > 3000 else "village"
        for r in range(side):
            for c in range(side):
                for dr, dc in ((0, 1), (1, 0)):
                    rr, cc = r + dr, c + dc
                    if rr >= side or cc >= side:
                        continue
                    keep_p = 0.92 if pop > 3000 else 0.8
                    on_axis = r == side // 2 or c == side // 2
                    if not on_axis and rng.random() > keep_p:
                        continue
                    oneway = pop > 3000 and not on_axis and rng.random() < 0.12
                    if oneway and rng.random() < 0.5:
                        b.edge(ids[rr, cc], ids[r, c], kind, oneway=True)
                    else:
                        b.edge(ids[r, c], ids[rr, cc], kind, oneway=oneway)
        centres[i] = ids[side // 2, side // 2]

    # Country roads: Delaunay edges between villages, minus the longest ones.
    xy = (
        np.column_stack(
            (places.lon * math.cos(math.radians(float(np.mean(places.lat)))), places.lat)
        )
        * 111.2
    )
    tri = Delaunay(xy)
    pairs = set()
    for simplex in tri.simplices:
        for a, c in ((0, 1), (1, 2), (0, 2)):
            i, j = sorted((int(simplex[a]), int(simplex[c])))
            pairs.add((i, j))
    pair_arr = np.array(sorted(pairs))
    lengths_km = np.linalg.norm(xy[pair_arr[:, 0]] - xy[pair_arr[:, 1]], axis=1)
    mst = minimum_spanning_tree(
        coo_matrix((lengths_km, (pair_arr[:, 0], pair_arr[:, 1])), shape=(n_places, n_places))
    ).tocoo()
    tree = {
        (min(int(a), int(c)), max(int(a), int(c))) for a, c in zip(mst.row, mst.col, strict=True)
    }
    big = set(np.argsort(-places.population)[: max(3, n_places // 12)].tolist())
    town = int(np.argmax(places.population))
    road_nodes: list[int] = []
    for (i, j), km in zip(pair_arr.tolist(), lengths_km.tolist(), strict=True):
        if km > 14 and (i, j) not in tree:
            continue
        if (i, j) in tree and (i in big or j in big):
            kind = "secondary"
        elif (i, j) in tree or rng.random() < 0.15:
            kind = "secondary" if rng.random() < 0.5 else "tertiary"
        else:
            kind = "tertiary"
        if town in (i, j) and km < 25:
            kind = "primary"
        nodes = b.polyline(int(centres[i]), int(centres[j]), kind, road_spacing_m, 0.02)
        road_nodes.extend(nodes[1:-1])

    # Motorway, north-south west of the largest town, interchanges every ~12 km.
    lat_min, lat_max = float(places.lat.min()), float(places.lat.max())
    lon_m = float(places.lon[town]) - 0.06
    steps = int((lat_max - lat_min) * 111.2)
    mw = [
        b.node(lat_min + k * (lat_max - lat_min) / steps, lon_m + 0.01 * math.sin(k / 7))
        for k in range(steps + 1)
    ]
    for u, v in zip(mw[:-1], mw[1:], strict=True):
        b.edge(u, v, "motorway", oneway=True)
        b.edge(v, u, "motorway", oneway=True)
    all_lat = np.array(b.lat)
    all_lon = np.array(b.lon)
    road_arr = np.array(road_nodes, dtype=np.int64)
    for k in range(6, len(mw) - 1, 12):
        d = haversine_m(all_lat[mw[k]], all_lon[mw[k]], all_lat[road_arr], all_lon[road_arr])
        nearest = int(road_arr[np.argmin(d)])
        b.polyline(mw[k], nearest, "link", 150.0, 0.005)

    # Spurs to hamlets and farms, off country roads and village streets.
    hosts = np.array(road_nodes + street_nodes, dtype=np.int64)
    chosen = hosts[rng.random(hosts.shape[0]) < spur_share]
    for host in chosen.tolist():
        prev = int(host)
        ang = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(1, 6))):
            step = rng.uniform(80, 250) / 111_200.0
            ang += rng.normal(0, 0.4)
            nxt = b.node(
                b.lat[prev] + step * math.sin(ang),
                b.lon[prev] + step * math.cos(ang) / math.cos(math.radians(b.lat[prev])),
            )
            b.edge(prev, nxt, "spur")
            prev = nxt

    lat = np.array(b.lat)
    lon = np.array(b.lon)
    tail = np.array(b.tail, dtype=np.int64)
    head = np.array(b.head, dtype=np.int64)
    oneway = np.array(b.oneway)
    speed = np.array([SPEED_KMH[k] for k in b.kind])
    length = haversine_m(lat[tail], lon[tail], lat[head], lon[head])
    time = np.maximum(1, np.ceil(length / (speed / 3.6) * rng.uniform(1.0, 1.15, length.shape)))
    two = ~oneway
    g = graph_from_edges(
        lat.shape[0],
        np.concatenate([tail, head[two]]),
        np.concatenate([head, tail[two]]),
        np.concatenate([time, time[two]]).astype(np.int64),
        np.concatenate([length, length[two]]),
        lat,
        lon,
    )
    return Territory(largest_strongly_connected(g), places)


# --------------------------------------------------------------------------- workloads

PARIS_OFFSET_S = 3600  # winter time; the workload day is in January


@dataclass(frozen=True)
class Workload:
    """Needs and offers of one day on a territory."""

    needs: list[RideNeed]
    trips: list[DriverTrip]
    volunteers: list[VolunteerAvailability]


def _jitter(rng: np.random.Generator, lat: float, lon: float, km: float) -> tuple[float, float]:
    return (
        float(lat + rng.normal(0, km / 111.2)),
        float(lon + rng.normal(0, km / (111.2 * math.cos(math.radians(lat))))),
    )


def generate_workload(
    places: Places,
    n_needs: int,
    n_trips: int,
    n_volunteers: int,
    *,
    seed: int = 1,
    day_start_s: int = 1_737_936_000,  # Monday 27 January 2025, 00:00 UTC
) -> Workload:
    """A day of needs and offers: villagers to the towns' services, commuters, volunteers.

    Needs go from a village (weighted by population) to one of the largest towns, with an
    appointment between 8:30 and 17:30 local time, a pickup window opening 90 minutes
    before it, and a return after a wait for half of them. Trips are commutes from a
    village to a town (morning) or back (evening). Volunteers live in villages and are
    available one slot of the day (a few two), within 15 to 25 km (road) of home.
    """
    rng = np.random.default_rng(seed)
    weights = places.population / places.population.sum()
    towns = np.argsort(-places.population)[:6]
    town_w = places.population[towns] / places.population[towns].sum()
    local0 = day_start_s - PARIS_OFFSET_S  # local midnight in UNIX seconds
    purposes = [Purpose.MEDICAL, Purpose.EMPLOYMENT, Purpose.SHOPPING, Purpose.SOCIAL_SERVICES]
    needs = []
    for i in range(n_needs):
        home = int(rng.choice(places.population.shape[0], p=weights))
        dest = int(rng.choice(towns, p=town_w))
        p_lat, p_lon = _jitter(rng, places.lat[home], places.lon[home], 0.8)
        d_lat, d_lon = _jitter(rng, places.lat[dest], places.lon[dest], 1.0)
        appt = local0 + int(rng.integers(8 * 60 + 30, 17 * 60 + 30)) * 60
        mode = ReturnMode.AFTER_WAIT if rng.random() < 0.5 else ReturnMode.NONE
        req = Requirement.NONE
        if rng.random() < 0.15:
            req |= Requirement.ACCOMPANIMENT
        if rng.random() < 0.03:
            req |= Requirement.WHEELCHAIR
        needs.append(
            RideNeed(
                need_id=f"need-{i}",
                pickup_lat=p_lat,
                pickup_lon=p_lon,
                dropoff_lat=d_lat,
                dropoff_lon=d_lon,
                earliest_pickup_s=appt - 90 * 60,
                latest_arrival_s=appt,
                return_mode=mode,
                return_wait_s=int(rng.integers(30, 120)) * 60 if mode != ReturnMode.NONE else 0,
                seats=1 if rng.random() < 0.9 else 2,
                requirements=req,
                purpose=purposes[int(rng.integers(0, len(purposes)))],
            )
        )
    trips = []
    for i in range(n_trips):
        home = int(rng.choice(places.population.shape[0], p=weights))
        work = int(rng.choice(towns, p=town_w))
        h = _jitter(rng, places.lat[home], places.lon[home], 0.8)
        w = _jitter(rng, places.lat[work], places.lon[work], 1.0)
        morning = rng.random() < 0.5
        start = (
            local0
            + (
                int(rng.integers(7 * 60, 9 * 60))
                if morning
                else int(rng.integers(12 * 60, 18 * 60 + 30))
            )
            * 60
        )
        o, d = (h, w) if morning else (w, h)
        trips.append(
            DriverTrip(
                offer_id=f"trip-{i}",
                driver_id=f"commuter-{i}",
                origin_lat=o[0],
                origin_lon=o[1],
                destination_lat=d[0],
                destination_lon=d[1],
                departure_earliest_s=start,
                departure_latest_s=start + int(rng.integers(10, 45)) * 60,
                seats=int(rng.integers(1, 4)),
                max_detour_s=int(rng.integers(8, 25)) * 60,
                capabilities=Requirement.NO_FRONT_SEAT if rng.random() < 0.6 else Requirement.NONE,
            )
        )
    volunteers = []
    for i in range(n_volunteers):
        home = int(rng.choice(places.population.shape[0], p=weights))
        h = _jitter(rng, places.lat[home], places.lon[home], 0.8)
        # One availability slot of the day's grid each (morning, afternoon or evening),
        # as volunteers tick them in Mobicoop's weekday x slot grid; a few tick two.
        slot = int(rng.choice(3, p=[0.45, 0.45, 0.10]))
        h0, h1 = ((8, 12), (12, 18), (18, 21))[slot]
        if slot == 0 and rng.random() < 0.2:
            h1 = 18
        windows = ((local0 + h0 * 3600, local0 + h1 * 3600),)
        caps = Requirement.ACCOMPANIMENT | Requirement.NO_FRONT_SEAT
        if rng.random() < 0.05:
            caps |= Requirement.WHEELCHAIR
        volunteers.append(
            VolunteerAvailability(
                driver_id=f"volunteer-{i}",
                home_lat=h[0],
                home_lon=h[1],
                windows=windows,
                max_distance_km=float(rng.choice([15.0, 20.0, 20.0, 25.0])),
                seats=3,
                capabilities=caps,
                max_rides_per_day=int(rng.integers(1, 4)),
            )
        )
    return Workload(needs, trips, volunteers)
