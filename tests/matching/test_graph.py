"""Tests of the CSR road graph, its builder and its checker."""

from __future__ import annotations

import numpy as np
import pytest

from matching.errors import GraphError
from matching.graph import (
    INF_TIME,
    RoadGraph,
    check_graph,
    graph_from_edges,
    largest_strongly_connected,
    reverse_graph,
)
from tests.matching.helpers import grid_graph, random_graph


def _small() -> RoadGraph:
    return graph_from_edges(
        3,
        [0, 0, 0, 1, 2, 2],
        [1, 1, 0, 2, 0, 1],
        [10, 7, 3, 5, 4, 9],
        [100.0, 90.0, 1.0, 50.0, 40.0, 80.0],
        [44.0, 44.1, 44.2],
        [1.0, 1.1, 1.2],
    )


def test_builder_dedups_parallel_edges_keeping_the_fastest_and_drops_loops() -> None:
    g = _small()
    check_graph(g)
    assert g.n_nodes == 3
    assert g.n_edges == 4
    assert list(g.indptr) == [0, 1, 2, 4]
    assert list(g.indices) == [1, 2, 0, 1]
    assert g.travel_time_s[0] == 7
    assert g.length_m[0] == pytest.approx(90.0)
    assert list(g.node_osmid) == [-1, -1, -1]


def test_builder_dtypes() -> None:
    g = _small()
    assert g.indptr.dtype == np.int64
    assert g.indices.dtype == np.int32
    assert g.travel_time_s.dtype == np.int32
    assert g.length_m.dtype == np.float32
    assert g.node_osmid.dtype == np.int64


def test_inf_time_is_int32_max() -> None:
    assert INF_TIME == 2**31 - 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"head": [1, 5]}, "out of range"),
        ({"tail": [-1, 0]}, "out of range"),
        ({"travel_time_s": [1, -2]}, "travel_time_s"),
        ({"travel_time_s": [1.5, 2.0]}, "integers"),
        ({"length_m": [1.0, np.nan]}, "length_m"),
        ({"length_m": [1.0]}, "same length"),
        ({"node_lat": [44.0, 95.0]}, "coordinates"),
        ({"node_lon": [1.0]}, "node_lon"),
    ],
)
def test_builder_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "n_nodes": 2,
        "tail": [0, 1],
        "head": [1, 0],
        "travel_time_s": [1, 2],
        "length_m": [1.0, 2.0],
        "node_lat": [44.0, 44.1],
        "node_lon": [1.0, 1.1],
    }
    args.update(kwargs)
    with pytest.raises(GraphError, match=message):
        graph_from_edges(**args)  # type: ignore[arg-type]


def test_check_graph_catches_broken_invariants() -> None:
    g = _small()
    with pytest.raises(GraphError, match="indptr"):
        check_graph(g._replace(indptr=np.array([0, 2, 1, 4], dtype=np.int64)))
    with pytest.raises(GraphError, match="dtype"):
        check_graph(g._replace(indices=g.indices.astype(np.int64)))
    with pytest.raises(GraphError, match="strictly increasing"):
        check_graph(g._replace(indices=np.array([1, 2, 1, 1], dtype=np.int32)))
    with pytest.raises(GraphError, match="self-loop"):
        check_graph(g._replace(indices=np.array([0, 2, 0, 1], dtype=np.int32)))
    with pytest.raises(GraphError, match="travel_time_s"):
        check_graph(g._replace(travel_time_s=np.array([1, -1, 1, 1], dtype=np.int32)))
    with pytest.raises(GraphError, match="one entry per node"):
        check_graph(g._replace(node_lat=np.zeros(2)))
    with pytest.raises(GraphError, match="out of range"):
        check_graph(g._replace(indices=np.array([1, 2, 0, 7], dtype=np.int32)))


def test_reverse_graph_reverses_every_edge() -> None:
    g = random_graph(30, 90, seed=1)
    r = reverse_graph(g)
    check_graph(r)
    fwd = set(
        zip(g.edge_tails().tolist(), g.indices.tolist(), g.travel_time_s.tolist(), strict=True)
    )
    bwd = set(
        zip(r.indices.tolist(), r.edge_tails().tolist(), r.travel_time_s.tolist(), strict=True)
    )
    assert fwd == bwd


def test_largest_strongly_connected_component() -> None:
    # Two 2-cycles joined by a one-way edge, plus the bigger grid.
    grid = grid_graph(3, 3)
    n = grid.n_nodes
    tails = np.concatenate([grid.edge_tails(), [n, n + 1, n + 1]])
    heads = np.concatenate([grid.indices, [n + 1, n, 0]])
    g = graph_from_edges(
        n + 2,
        tails,
        heads,
        np.concatenate([grid.travel_time_s, [1, 1, 1]]),
        np.concatenate([grid.length_m, [1, 1, 1]]),
        np.concatenate([grid.node_lat, [44.0, 44.0]]),
        np.concatenate([grid.node_lon, [1.0, 1.0]]),
        np.arange(n + 2) + 100,
    )
    big = largest_strongly_connected(g)
    check_graph(big)
    assert big.n_nodes == n
    assert list(big.node_osmid) == list(range(100, 100 + n))
    assert big.n_edges == grid.n_edges
