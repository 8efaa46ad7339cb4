"""Contraction hierarchies against Dijkstra and networkx; paths; buckets; checker; caches."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.ch import (
    BucketIndex,
    CHQuery,
    build_ch,
    check_ch,
    many_to_many,
    many_to_many_table,
)
from matching.dijkstra import dijkstra_table
from matching.errors import CacheFormatError, CHError
from matching.graph import INF_TIME, RoadGraph
from matching.io import load_ch, save_ch
from tests.matching.helpers import grid_graph, random_graph, to_networkx
from tests.matching.test_dijkstra import assert_path_ok


def _assert_ch_exact(g: RoadGraph, sources: np.ndarray, targets: np.ndarray) -> None:
    ch = build_ch(g)
    check_ch(ch, g)
    expected, _ = dijkstra_table(g, sources, targets)
    table = many_to_many_table(ch, sources, targets)
    np.testing.assert_array_equal(table.time_s, expected)
    assert np.all(np.isinf(table.length_m) == (expected == INF_TIME))
    query = CHQuery(ch)
    for i, s in enumerate(sources.tolist()):
        for j, t in enumerate(targets.tolist()):
            assert query.time_s(s, t) == expected[i, j]
            route = query.route(s, t)
            if expected[i, j] == INF_TIME:
                assert route is None
                continue
            assert route is not None
            assert route.nodes[0] == s and route.nodes[-1] == t
            assert route.time_s == expected[i, j]
            assert_path_ok(g, route.nodes, route.time_s, route.length_m)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 45),
    density=st.floats(0.3, 4.0),
    seed=st.integers(0, 100_000),
    zero_share=st.sampled_from([0.0, 0.25]),
)
def test_ch_equals_dijkstra_on_random_graphs(
    n: int, density: float, seed: int, zero_share: float
) -> None:
    g = random_graph(n, int(n * density), seed, max_time=50, zero_share=zero_share)
    nodes = np.arange(n)
    _assert_ch_exact(g, nodes, nodes)


def test_ch_on_grid_with_tiny_witness_limits() -> None:
    # Starved witness searches add redundant shortcuts but must stay exact.
    g = grid_graph(12, 15, seed=5)
    ch = build_ch(g, sim_settle_limit=1, settle_limit=2)
    check_ch(ch, g)
    nodes = np.arange(0, g.n_nodes, 4)
    expected, _ = dijkstra_table(g, nodes, nodes)
    np.testing.assert_array_equal(many_to_many(ch, nodes, nodes), expected)


def test_bounded_table_and_bucket_index() -> None:
    g = grid_graph(15, 15, seed=2)
    ch = build_ch(g)
    sources = np.arange(0, g.n_nodes, 5)
    targets = np.arange(2, g.n_nodes, 9)
    full = many_to_many_table(ch, sources, targets)
    bounded = many_to_many(ch, sources, targets, bound_s=300)
    np.testing.assert_array_equal(bounded, np.where(full.time_s <= 300, full.time_s, INF_TIME))
    toward = BucketIndex(ch, targets, toward=True)
    np.testing.assert_array_equal(toward.times_from(sources).time_s, full.time_s)
    np.testing.assert_array_equal(
        toward.times_from(sources[:1], parallel=False).time_s, full.time_s[:1]
    )
    away = BucketIndex(ch, sources, toward=False)
    got = away.times_to(targets)
    np.testing.assert_array_equal(got.time_s, full.time_s)
    # Among equally fast paths the length may differ: only reachability must agree.
    np.testing.assert_array_equal(np.isfinite(got.length_m), np.isfinite(full.length_m))
    with pytest.raises(ValueError, match="times_to"):
        away.times_from(sources)
    with pytest.raises(ValueError, match="times_from"):
        toward.times_to(targets)


def test_check_ch_catches_corruption() -> None:
    g = grid_graph(6, 6, seed=1)
    ch = build_ch(g)
    check_ch(ch, g)
    with pytest.raises(CHError, match="another graph"):
        check_ch(ch, grid_graph(6, 6, seed=2))
    with pytest.raises(CHError, match="inverse permutations"):
        check_ch(ch._replace(order=ch.order[::-1].copy()), g)
    slower = ch.fwd_time.copy()
    slower[:] += 1
    with pytest.raises(CHError):
        check_ch(ch._replace(fwd_time=slower), g)
    down = ch.fwd_head.copy()
    down[0] = 0
    with pytest.raises(CHError, match="upward"):
        check_ch(ch._replace(fwd_head=down), g)
    shortcut = int(np.flatnonzero(ch.fwd_middle >= 0)[0])
    bad_mid = ch.fwd_middle.copy()
    bad_mid[shortcut] = ch.rank.shape[0] - 1
    with pytest.raises(CHError, match="middle"):
        check_ch(ch._replace(fwd_middle=bad_mid), g)


def test_save_load_ch(tmp_path: Path) -> None:
    g = grid_graph(7, 8, seed=3)
    ch = build_ch(g)
    path = tmp_path / "ch.npz"
    save_ch(ch, path)
    loaded = load_ch(path, g)
    for a, b in zip(ch, loaded, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CHError):
        load_ch(path, grid_graph(7, 8, seed=4))
    with pytest.raises(CacheFormatError, match="not a CHIndex"):
        np.savez(tmp_path / "g.npz", format_kind=np.array("RoadGraph"), format_version=np.array(1))
        load_ch(tmp_path / "g.npz")


def test_query_validates_nodes() -> None:
    g = grid_graph(3, 3)
    query = CHQuery(build_ch(g))
    with pytest.raises(ValueError, match="target"):
        query.time_s(0, 9)


@pytest.mark.slow
def test_ch_equals_networkx_on_real_extracts(real_graphs: dict[str, RoadGraph]) -> None:
    rng = np.random.default_rng(1)
    for name, g in real_graphs.items():
        ch = build_ch(g)
        check_ch(ch, g)
        nxg = to_networkx(g)
        sources = rng.integers(0, g.n_nodes, 4)
        targets = rng.integers(0, g.n_nodes, 60)
        table = many_to_many_table(ch, sources, targets)
        query = CHQuery(ch)
        for i, s in enumerate(sources.tolist()):
            lengths = nx.single_source_dijkstra_path_length(nxg, s, weight="time")
            for j, t in enumerate(targets.tolist()):
                assert table.time_s[i, j] == lengths[t], name
                route = query.route(s, t)
                assert route is not None and route.time_s == lengths[t]
                assert_path_ok(g, route.nodes, route.time_s, route.length_m)


@pytest.mark.slow
def test_ch_on_generated_departement_sample() -> None:
    from benchmarks.synthetic import generate_territory, random_places

    g = generate_territory(random_places(40, seed=7), seed=7).graph
    assert g.n_nodes > 5000
    rng = np.random.default_rng(2)
    _assert_ch_exact(g, rng.integers(0, g.n_nodes, 6), rng.integers(0, g.n_nodes, 40))
