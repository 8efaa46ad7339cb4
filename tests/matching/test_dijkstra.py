"""Numba Dijkstra against a naive Dijkstra and networkx, on random and real graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.dijkstra import dijkstra, dijkstra_table, path_from_tree
from matching.graph import INF_TIME, RoadGraph, reverse_graph
from tests.matching.helpers import grid_graph, naive_dijkstra, random_graph, to_networkx


def _edge(g: RoadGraph, a: int, b: int) -> int:
    row = g.indices[g.indptr[a] : g.indptr[a + 1]]
    k = int(np.searchsorted(row, b))
    assert k < row.shape[0] and row[k] == b, f"no edge {a}->{b}"
    return int(g.indptr[a]) + k


def assert_path_ok(
    g: RoadGraph, path: list[int] | np.ndarray, time_s: int, length_m: float
) -> None:
    """The path is continuous, and its time and length equal the reported ones."""
    total_t = 0
    total_l = 0.0
    for a, b in zip(path[:-1], path[1:], strict=True):
        e = _edge(g, int(a), int(b))
        total_t += int(g.travel_time_s[e])
        total_l += float(g.length_m[e])
    assert total_t == time_s
    assert total_l == pytest.approx(length_m, rel=1e-6, abs=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    density=st.floats(0.5, 4.0),
    seed=st.integers(0, 10_000),
    zero_share=st.sampled_from([0.0, 0.3]),
)
def test_dijkstra_equals_naive_on_random_graphs(
    n: int, density: float, seed: int, zero_share: float
) -> None:
    g = random_graph(n, int(n * density), seed, zero_share=zero_share)
    source = seed % n
    tree = dijkstra(g, source)
    expected = naive_dijkstra(g, source)
    np.testing.assert_array_equal(tree.time_s, expected)
    for target in range(n):
        path = path_from_tree(tree, target)
        if expected[target] == INF_TIME:
            assert path == []
            assert tree.length_m[target] == np.inf
        else:
            assert path[0] == source and path[-1] == target
            assert_path_ok(g, path, int(tree.time_s[target]), float(tree.length_m[target]))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000), bound=st.integers(0, 300))
def test_bound_cuts_exactly_beyond_it(n: int, seed: int, bound: int) -> None:
    g = random_graph(n, 3 * n, seed)
    full = naive_dijkstra(g, 0)
    tree = dijkstra(g, 0, bound_s=bound)
    expected = np.where(full <= bound, full, INF_TIME)
    np.testing.assert_array_equal(tree.time_s, expected)


def test_table_equals_single_searches_and_reverse_graph() -> None:
    g = random_graph(200, 700, seed=9)
    sources = np.arange(0, 200, 11)
    targets = np.arange(3, 200, 7)
    times, lengths = dijkstra_table(g, sources, targets)
    for i, s in enumerate(sources):
        tree = dijkstra(g, int(s))
        np.testing.assert_array_equal(times[i], tree.time_s[targets])
        np.testing.assert_allclose(lengths[i], tree.length_m[targets])
    back, _ = dijkstra_table(reverse_graph(g), targets, sources)
    np.testing.assert_array_equal(back.T, times)


def test_unreachable_is_inf_time() -> None:
    g = random_graph(10, 0, seed=1)
    tree = dijkstra(g, 3)
    assert tree.time_s[3] == 0
    assert np.all(np.delete(tree.time_s, 3) == INF_TIME)
    times, lengths = dijkstra_table(g, [0], [1])
    assert times[0, 0] == INF_TIME and lengths[0, 0] == np.inf


@pytest.mark.parametrize("bad", [-1, 100, 2.5])
def test_wrappers_validate_nodes(bad: float) -> None:
    g = grid_graph(3, 3)
    with pytest.raises(ValueError, match="source"):
        dijkstra(g, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targets"):
        dijkstra_table(g, [0], [bad])


def test_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="bound"):
        dijkstra(grid_graph(2, 2), 0, bound_s=-5)


@pytest.mark.slow
def test_dijkstra_equals_networkx_on_real_extracts(real_graphs: dict[str, RoadGraph]) -> None:
    rng = np.random.default_rng(0)
    for name, g in real_graphs.items():
        nxg = to_networkx(g)
        for source in rng.integers(0, g.n_nodes, 3).tolist():
            expected = nx.single_source_dijkstra_path_length(nxg, source, weight="time")
            tree = dijkstra(g, source)
            got = {v: int(t) for v, t in enumerate(tree.time_s) if t != INF_TIME}
            assert got == expected, name
