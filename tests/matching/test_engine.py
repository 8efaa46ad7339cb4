"""The engine a process keeps, its caches, and the package's import boundary."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import numpy as np
import pytest

import matching
from matching.engine import Engine, engine_from_files
from matching.errors import CHError
from matching.graph import INF_TIME
from matching.io import save_graph
from tests.matching.helpers import grid_graph
from tests.matching.test_dijkstra import assert_path_ok

PACKAGE = Path(matching.__file__).parent


def test_engine_routes_and_tables() -> None:
    g = grid_graph(6, 7, seed=3)
    engine = Engine.from_graph(g)
    snapped = engine.snap([g.node_lat[4], g.node_lat[30]], [g.node_lon[4], g.node_lon[30]])
    assert snapped.nodes.tolist() == [4, 30]
    assert np.allclose(snapped.gap_m, 0, atol=1e-3)
    route = engine.route(4, 30)
    assert route is not None
    assert route.time_s == engine.time_s(4, 30) == engine.dijkstra(4).time_s[30]
    assert_path_ok(g, route.nodes, route.time_s, route.length_m)
    coords = engine.route_coordinates(route)
    assert coords.shape == (route.nodes.shape[0], 2)
    table = engine.table([4, 5], [30, 31, 4])
    assert table.time_s[0, 2] == 0
    assert engine.pairwise([4, 5], [30, 31]).time_s.tolist() == [
        table.time_s[0, 0],
        table.time_s[1, 1],
    ]


def test_engine_is_usable_from_threads() -> None:
    g = grid_graph(6, 6, seed=4)
    engine = Engine.from_graph(g)
    expected = engine.dijkstra(0).time_s
    errors: list[str] = []

    def work() -> None:
        for t in range(g.n_nodes):
            if engine.time_s(0, t) != expected[t]:
                errors.append(f"0->{t}")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_engine_from_files_builds_then_reuses_the_ch_cache(tmp_path: Path) -> None:
    g = grid_graph(5, 5, seed=5)
    save_graph(g, tmp_path / "g.npz")
    first = engine_from_files(tmp_path / "g.npz", tmp_path / "ch.npz")
    assert (tmp_path / "ch.npz").exists()
    second = engine_from_files(tmp_path / "g.npz", tmp_path / "ch.npz")
    for a, b in zip(first.ch, second.ch, strict=True):
        np.testing.assert_array_equal(a, b)
    save_graph(grid_graph(5, 5, seed=6), tmp_path / "other.npz")
    with pytest.raises(CHError, match="another graph"):
        engine_from_files(tmp_path / "other.npz", tmp_path / "ch.npz")


def test_unreachable_route_is_none() -> None:
    from matching.graph import graph_from_edges

    g = graph_from_edges(3, [0, 1], [1, 0], [5, 5], [1.0, 1.0], [44.0, 44.1, 44.2], [1.0, 1.0, 1.0])
    engine = Engine.from_graph(g)
    assert engine.route(0, 2) is None
    assert engine.time_s(0, 2) == INF_TIME


def test_matching_imports_no_web_or_database_code() -> None:
    forbidden = {"flask", "sqlalchemy", "app", "flask_sqlalchemy", "geoalchemy2"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
