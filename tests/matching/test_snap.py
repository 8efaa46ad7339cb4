"""Snapping points to graph nodes, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from matching.snap import NodeIndex, haversine_m, nearest_nodes
from tests.matching.helpers import random_graph


def test_nearest_nodes_equals_brute_force() -> None:
    g = random_graph(500, 0, seed=2)
    rng = np.random.default_rng(3)
    lat = 44.45 + rng.uniform(-0.25, 0.25, 200)
    lon = 1.44 + rng.uniform(-0.35, 0.35, 200)
    index = NodeIndex(g)
    nodes, dist = nearest_nodes(g, lat, lon, index=index, return_dist=True)
    for k in range(200):
        d = haversine_m(lat[k], lon[k], g.node_lat, g.node_lon)
        assert d[nodes[k]] == pytest.approx(d.min(), abs=1e-6)
        assert dist[k] == pytest.approx(d.min(), rel=1e-6, abs=1e-3)


def test_scalar_and_exact_points() -> None:
    g = random_graph(50, 0, seed=4)
    node = nearest_nodes(g, float(g.node_lat[7]), float(g.node_lon[7]))
    assert node.tolist() == [7]


def test_haversine_known_distance() -> None:
    # Cahors to Figeac, about 56 km as the crow flies.
    assert float(haversine_m(44.4508, 1.4405, 44.6086, 2.0317)) == pytest.approx(50_000, rel=0.15)


@pytest.mark.parametrize(("lat", "lon"), [(95.0, 1.0), (44.0, float("nan")), ([44.0, 44.1], [1.0])])
def test_bad_points_are_refused(lat: object, lon: object) -> None:
    g = random_graph(5, 0, seed=1)
    with pytest.raises(ValueError):
        nearest_nodes(g, lat, lon)  # type: ignore[arg-type]


def test_index_of_another_graph_is_refused() -> None:
    with pytest.raises(ValueError, match="another graph"):
        nearest_nodes(random_graph(5, 0, 1), 44.4, 1.4, index=NodeIndex(random_graph(6, 0, 1)))
