"""Fixtures of the matching tests: the real OSM extracts, parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching.graph import RoadGraph
from matching.io import graph_from_osm, load_graph, save_graph
from tests.conftest import SHARED_DATA

REAL_EXTRACTS = ("andorra", "north-bayreuth", "toulouse-centre")


@pytest.fixture(scope="session")
def real_graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RoadGraph]:
    """The real extracts of ../shared/data/osm as simplified drive graphs (skip if absent)."""
    folder = SHARED_DATA / "osm"
    if not folder.is_dir():
        pytest.skip(f"real data not available: {folder} is absent (see shared/data/SOURCES.md)")
    cache = tmp_path_factory.mktemp("osm-graphs")
    graphs = {}
    for name in REAL_EXTRACTS:
        path = folder / f"{name}.osm.bz2"
        if not path.exists():
            continue
        npz = Path(cache) / f"{name}.npz"
        if not npz.exists():
            save_graph(graph_from_osm(path), npz)
        graphs[name] = load_graph(npz)
    # One extract also unsimplified: 16,000 nodes of real geometry for the CH tests.
    full = folder / "andorra.osm.bz2"
    if full.exists():
        npz = Path(cache) / "andorra-unsimplified.npz"
        if not npz.exists():
            save_graph(graph_from_osm(full, simplify=False), npz)
        graphs["andorra-unsimplified"] = load_graph(npz)
    if not graphs:
        pytest.skip("no real OSM extract available")
    return graphs
