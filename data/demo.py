"""The demo territory: a deterministic, plausible rural territory generated from nothing.

It stands in for real data when the platform runs offline with no sources given. It is written
as real source files (an OSM XML road network, a GTFS zip, a communes CSV in the format of the
Lot's) so that it goes through exactly the same build path as real data. Every name in it is
invented, and everything built from it is labelled "données de démonstration".

Layout: a market town ("Valbourg", about 20,000 inhabitants) on a river, and villages on the
causses around it, 5 to 25 km away; a road hierarchy (a trunk road through the town, primary
and secondary roads to the larger villages, tertiary and unclassified lanes between villages,
residential streets); two bus lines from the villages to the town.
"""

from __future__ import annotations

import csv
import math
import random
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

DEMO_NAME = "demo"
DEMO_LABEL = "données de démonstration"
CENTER_LAT, CENTER_LON = 44.4508, 1.4405
SEED = 46000

# name, bearing (deg), distance (km), population, road class to the town
VILLAGES: tuple[tuple[str, float, float, int, str], ...] = (
    ("Saint-Aurèle-du-Causse", 20, 9.0, 640, "secondary"),
    ("Lacombe-Haute", 55, 14.0, 310, "tertiary"),
    ("Montbrun-les-Pins", 95, 7.5, 1150, "primary"),
    ("Fontverte", 130, 17.0, 820, "secondary"),
    ("Bellaygue", 165, 11.0, 450, "tertiary"),
    ("Castelnau-Rivière", 200, 21.0, 2300, "primary"),
    ("Les Granges", 235, 6.0, 980, "secondary"),
    ("Roquefixe", 270, 13.5, 260, "tertiary"),
    ("Puech-Sainte-Foy", 300, 24.0, 1700, "secondary"),
    ("Vielmur-sur-Lot", 330, 10.0, 530, "tertiary"),
    ("Salvetat", 75, 22.0, 190, "unclassified"),
    ("Combelongue", 185, 4.5, 1600, "secondary"),
)
TOWN = ("Valbourg", 19_800)
SPEEDS = {
    "trunk": 90,
    "primary": 80,
    "secondary": 80,
    "tertiary": 70,
    "unclassified": 50,
    "residential": 30,
}


@dataclass(frozen=True)
class DemoSources:
    """Paths of the generated source files, and the places to offer as destinations."""

    osm_path: Path
    gtfs_path: Path
    communes_path: Path
    places_path: Path


def _offset(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    b = math.radians(bearing_deg)
    dlat = km * math.cos(b) / 111.195
    dlon = km * math.sin(b) / (111.195 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


class OsmWriter:
    """Accumulates nodes and ways, then writes OSM XML (the format osmnx reads)."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, float, float]] = []
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []
        self._next_node = 1
        self._next_way = 1

    def node(self, lat: float, lon: float) -> int:
        node_id = self._next_node
        self._next_node += 1
        self.nodes.append((node_id, lat, lon))
        return node_id

    def way(self, nodes: list[int], tags: dict[str, str]) -> None:
        self.ways.append((self._next_way, nodes, tags))
        self._next_way += 1

    def road(
        self,
        a: tuple[float, float],
        b: tuple[float, float],
        highway: str,
        rng: random.Random,
        name: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[int, int]:
        """A road from a to b with intermediate nodes every ~400 m and a little wiggle."""
        length_km = _haversine_km(a, b)
        steps = max(1, int(length_km / 0.4))
        ids = [start if start is not None else self.node(*a)]
        for i in range(1, steps):
            t = i / steps
            wiggle = 0.0015 * math.sin(t * math.pi * rng.uniform(1, 3)) * rng.choice((-1, 1))
            ids.append(
                self.node(a[0] + (b[0] - a[0]) * t + wiggle, a[1] + (b[1] - a[1]) * t - wiggle)
            )
        ids.append(end if end is not None else self.node(*b))
        tags = {"highway": highway, "maxspeed": str(SPEEDS[highway])}
        if name:
            tags["name"] = name
        self.way(ids, tags)
        return ids[0], ids[-1]

    def write(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as f:
            f.write("<?xml version='1.0' encoding='UTF-8'?>\n")
            f.write('<osm version="0.6" generator="lot-demo-territory">\n')
            for node_id, lat, lon in self.nodes:
                f.write(f'  <node id="{node_id}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
            for way_id, nodes, tags in self.ways:
                f.write(f'  <way id="{way_id}" version="1">\n')
                for n in nodes:
                    f.write(f'    <nd ref="{n}"/>\n')
                for k, v in tags.items():
                    f.write(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>\n")
                f.write("  </way>\n")
            f.write("</osm>\n")


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _grid(
    osm: OsmWriter, center: tuple[float, float], size: int, spacing_km: float, highway: str
) -> dict[tuple[int, int], int]:
    """A street grid of size × size nodes centred on ``center``; returns node ids by cell."""
    ids: dict[tuple[int, int], int] = {}
    half = (size - 1) / 2
    for i in range(size):
        for j in range(size):
            lat, _ = _offset(center[0], center[1], 0, (i - half) * spacing_km)
            _, lon = _offset(center[0], center[1], 90, (j - half) * spacing_km)
            ids[(i, j)] = osm.node(lat, lon)
    for i in range(size):
        osm.way(
            [ids[(i, j)] for j in range(size)],
            {"highway": highway, "maxspeed": str(SPEEDS[highway])},
        )
    for j in range(size):
        osm.way(
            [ids[(i, j)] for i in range(size)],
            {"highway": highway, "maxspeed": str(SPEEDS[highway])},
        )
    return ids


def village_positions() -> list[tuple[str, float, float, int, str]]:
    """(name, lat, lon, population, road class) of every village."""
    out = []
    for name, bearing, km, population, road in VILLAGES:
        lat, lon = _offset(CENTER_LAT, CENTER_LON, bearing, km)
        out.append((name, lat, lon, population, road))
    return out


def _write_osm(path: Path) -> None:
    rng = random.Random(SEED)
    osm = OsmWriter()
    town = _grid(osm, (CENTER_LAT, CENTER_LON), 14, 0.16, "residential")
    town_edge = {
        0: town[(13, 7)],
        90: town[(7, 13)],
        180: town[(0, 7)],
        270: town[(7, 0)],
    }
    # A trunk road crossing the town north-south.
    north = _offset(CENTER_LAT, CENTER_LON, 0, 28)
    south = _offset(CENTER_LAT, CENTER_LON, 180, 28)
    osm.road(north, (CENTER_LAT + 0.0105, CENTER_LON), "trunk", rng, "N 20", end=town_edge[0])
    osm.road((CENTER_LAT - 0.0105, CENTER_LON), south, "trunk", rng, "N 20", start=town_edge[180])
    village_hubs: list[tuple[str, tuple[float, float], int]] = []
    for name, lat, lon, _population, road in village_positions():
        grid = _grid(osm, (lat, lon), 4, 0.12, "residential")
        hub = grid[(1, 1)]
        village_hubs.append((name, (lat, lon), hub))
        bearing = math.degrees(math.atan2(lon - CENTER_LON, lat - CENTER_LAT)) % 360
        side = min(town_edge, key=lambda b: min(abs(b - bearing), 360 - abs(b - bearing)))
        node_lat, node_lon = next((la, lo) for nid, la, lo in osm.nodes if nid == town_edge[side])
        osm.road(
            (node_lat, node_lon),
            (lat, lon),
            road,
            rng,
            f"D {100 + len(village_hubs)}",
            start=town_edge[side],
            end=hub,
        )
    # Lanes between neighbouring villages (around the ring).
    ordered = sorted(
        village_hubs, key=lambda v: math.atan2(v[1][1] - CENTER_LON, v[1][0] - CENTER_LAT)
    )
    for k, (_, pos, hub) in enumerate(ordered):
        _, pos2, hub2 = ordered[(k + 1) % len(ordered)]
        osm.road(pos, pos2, "unclassified", rng, start=hub, end=hub2)
    # A footpath and a track, which the drive network must leave out.
    a, b = (
        osm.node(CENTER_LAT + 0.02, CENTER_LON + 0.02),
        osm.node(CENTER_LAT + 0.025, CENTER_LON + 0.03),
    )
    osm.way([town[(13, 13)], a, b], {"highway": "footway"})
    osm.way([town[(0, 0)], osm.node(CENTER_LAT - 0.03, CENTER_LON - 0.03)], {"highway": "track"})
    osm.write(path)


def _communes_rows() -> list[dict[str, str]]:
    rows = [("99001", TOWN[0], CENTER_LAT, CENTER_LON, TOWN[1])]
    for k, (name, lat, lon, population, _road) in enumerate(village_positions(), start=2):
        rows.append((f"99{k:03d}", name, lat, lon, population))
    out = []
    for insee, name, lat, lon, population in rows:
        out.append(
            {
                "insee": insee,
                "nom": name,
                "statut": "Commune simple",
                "lat_centroid": f"{lat:.6f}",
                "lon_centroid": f"{lon:.6f}",
                "lat_bdcarto_pt": f"{lat:.6f}",
                "lon_bdcarto_pt": f"{lon:.6f}",
                "population_bdcarto_2021": str(population),
                "insee_commune_actuelle_2026": insee,
                "nom_commune_actuelle_2026": name,
                "population_cog_2026": str(population),
                "codes_postaux": "99000",
                "epci_siren": "999999999",
                "epci_nom": "Communauté de démonstration",
            }
        )
    # An old commune merged into Combelongue, as people still name it.
    comb = next(r for r in out if r["nom"] == "Combelongue")
    lat, lon = _offset(float(comb["lat_centroid"]), float(comb["lon_centroid"]), 90, 1.2)
    out.append(
        {
            **comb,
            "insee": "99050",
            "nom": "Le Mas-Vieux",
            "statut": "Commune déléguée",
            "lat_centroid": f"{lat:.6f}",
            "lon_centroid": f"{lon:.6f}",
            "lat_bdcarto_pt": f"{lat:.6f}",
            "lon_bdcarto_pt": f"{lon:.6f}",
            "population_bdcarto_2021": "140",
        }
    )
    return out


def _write_communes(path: Path) -> None:
    rows = _communes_rows()
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _places() -> list[dict[str, object]]:
    """Destinations: services in town, town halls, the itinerant public-services bus stops."""
    lat, lon = CENTER_LAT, CENTER_LON
    places: list[dict[str, object]] = [
        {"kind": "hospital", "name": "Centre hospitalier de Valbourg", "offset": (40, 0.7)},
        {"kind": "doctor", "name": "Maison de santé du Foirail", "offset": (300, 0.5)},
        {"kind": "doctor", "name": "Cabinet de kinésithérapie des Quais", "offset": (200, 0.3)},
        {"kind": "pharmacy", "name": "Pharmacie de la Cathédrale", "offset": (10, 0.15)},
        {"kind": "pharmacy", "name": "Pharmacie du Pont", "offset": (170, 0.45)},
        {"kind": "france_services", "name": "France Services de Valbourg", "offset": (90, 0.2)},
        {
            "kind": "france_travail",
            "name": "Agence France Travail de Valbourg",
            "offset": (250, 0.6),
        },
        {"kind": "shop", "name": "Supermarché de la Route de Toulouse", "offset": (180, 0.9)},
        {"kind": "town_hall", "name": "Mairie de Valbourg", "offset": (0, 0.05)},
        {"kind": "station", "name": "Gare routière de Valbourg", "offset": (130, 0.35)},
    ]
    out: list[dict[str, object]] = []
    for p in places:
        bearing, km = p.pop("offset")  # type: ignore[misc]
        plat, plon = _offset(lat, lon, bearing, km)
        out.append({**p, "commune_insee": "99001", "lat": plat, "lon": plon})
    for k, (name, vlat, vlon, _pop, _road) in enumerate(village_positions(), start=2):
        out.append(
            {
                "kind": "town_hall",
                "name": f"Mairie de {name}",
                "commune_insee": f"99{k:03d}",
                "lat": vlat,
                "lon": vlon,
            }
        )
    bus_days = ("tuesday", "wednesday", "thursday", "friday")
    for k, (name, vlat, vlon, _pop, _road) in enumerate(village_positions()[:8]):
        out.append(
            {
                "kind": "public_services_bus",
                "name": f"Bus des services publics — {name}",
                "commune_insee": f"99{k + 2:03d}",
                "lat": vlat + 0.0008,
                "lon": vlon,
                "details": {
                    "weekday": bus_days[k % 4],
                    "week_parity": ("even", "odd")[k % 2],
                    "start": ("09:15", "14:00")[k % 2],
                    "end": ("12:30", "17:15")[k % 2],
                    "place": "Place de la mairie",
                },
            }
        )
    return out


def _write_gtfs(path: Path) -> None:
    """Two bus lines into town, Monday to Saturday, valid through 2026 and 2027."""
    villages = {name: (lat, lon) for name, lat, lon, _p, _r in village_positions()}
    lines = {
        "L1": ("Ligne 1 Castelnau-Rivière – Valbourg", ["Castelnau-Rivière", "Combelongue"]),
        "L2": ("Ligne 2 Puech-Sainte-Foy – Valbourg", ["Puech-Sainte-Foy", "Vielmur-sur-Lot"]),
    }
    station = _offset(CENTER_LAT, CENTER_LON, 130, 0.35)
    stops = [("VALB_GARE", "Valbourg Gare routière", *station)]
    for _route, (_name, names) in lines.items():
        for n in names:
            ascii_name = unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode()
            stops.append(
                (
                    f"STOP_{ascii_name.upper().replace(' ', '_').replace('-', '_')}",
                    f"{n} Mairie",
                    *villages[n],
                )
            )
    stop_by_name = {s[1].removesuffix(" Mairie"): s[0] for s in stops}
    files: dict[str, list[list[object]]] = {
        "agency.txt": [
            ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
            ["DEMO", "Bus de démonstration", "https://example.invalid/", "Europe/Paris", "fr"],
        ],
        "stops.txt": [["stop_id", "stop_name", "stop_lat", "stop_lon", "wheelchair_boarding"]]
        + [[s[0], s[1], f"{s[2]:.6f}", f"{s[3]:.6f}", 1] for s in stops],
        "routes.txt": [
            ["route_id", "agency_id", "route_short_name", "route_long_name", "route_type"]
        ]
        + [[r, "DEMO", r, name, 3] for r, (name, _n) in lines.items()],
        "calendar.txt": [
            [
                "service_id",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                "start_date",
                "end_date",
            ],
            ["SEM", 1, 1, 1, 1, 1, 1, 0, "20260101", "20271231"],
        ],
        "trips.txt": [["route_id", "service_id", "trip_id", "trip_headsign", "direction_id"]],
        "stop_times.txt": [
            ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"]
        ],
    }
    for route, (_name, names) in lines.items():
        path_stops = [stop_by_name[n] for n in names] + ["VALB_GARE"]
        coords = [villages[n] for n in names] + [station]
        legs_min = [
            max(4, round(_haversine_km(coords[i], coords[i + 1]) * 1.3 / 45 * 60))
            for i in range(len(coords) - 1)
        ]
        for direction, departures in (
            (0, ("06:50", "08:10", "12:15", "17:05")),
            (1, ("07:30", "12:30", "17:45", "18:40")),
        ):
            seq = path_stops if direction == 0 else path_stops[::-1]
            legs = legs_min if direction == 0 else legs_min[::-1]
            for dep in departures:
                trip_id = f"{route}-{direction}-{dep.replace(':', '')}"
                headsign = "Valbourg Gare routière" if direction == 0 else f"{names[0]} Mairie"
                files["trips.txt"].append([route, "SEM", trip_id, headsign, direction])
                h, m = map(int, dep.split(":"))
                t = h * 60 + m
                for k, stop_id in enumerate(seq):
                    stamp = f"{t // 60:02d}:{t % 60:02d}:00"
                    files["stop_times.txt"].append([trip_id, stamp, stamp, stop_id, k + 1])
                    if k < len(legs):
                        t += legs[k]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, rows in files.items():
            zf.writestr(name, "\n".join(",".join(_csv_cell(c) for c in row) for row in rows) + "\n")


def _csv_cell(value: object) -> str:
    text = str(value)
    return f'"{text}"' if ("," in text or '"' in text) else text


def write_demo_sources(out_dir: Path) -> DemoSources:
    """Write the demo territory's source files into ``out_dir`` and return their paths."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    sources = DemoSources(
        osm_path=out_dir / "demo-roads.osm",
        gtfs_path=out_dir / "demo-bus.zip",
        communes_path=out_dir / "demo-communes.csv",
        places_path=out_dir / "demo-places.json",
    )
    _write_osm(sources.osm_path)
    _write_gtfs(sources.gtfs_path)
    _write_communes(sources.communes_path)
    sources.places_path.write_text(
        json.dumps(_places(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return sources
