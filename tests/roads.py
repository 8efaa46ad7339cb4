"""Generated road networks at real positions, for tests that need roads where no OSM extract is."""

from __future__ import annotations

import random
from pathlib import Path

from data.demo import OsmWriter


def write_road_corridor(path: Path, points: list[tuple[float, float]], seed: int = 1) -> Path:
    """Write OSM XML: a secondary road through ``points`` in order, a few residential streets
    around each point, and a footway that the drive network must ignore."""
    rng = random.Random(seed)
    osm = OsmWriter()
    hubs = [osm.node(lat, lon) for lat, lon in points]
    for (a, b), (ha, hb) in zip(zip(points, points[1:], strict=False), zip(hubs, hubs[1:], strict=False), strict=True):
        osm.road(a, b, "secondary", rng, start=ha, end=hb)
    for (lat, lon), hub in zip(points, hubs, strict=True):
        for dlat, dlon in ((0.004, 0.0), (0.0, 0.005), (-0.004, 0.0), (0.0, -0.005)):
            osm.road((lat, lon), (lat + dlat, lon + dlon), "residential", rng, start=hub)
    osm.way([hubs[0], osm.node(points[0][0] + 0.01, points[0][1] + 0.01)], {"highway": "footway"})
    osm.write(path)
    return path
