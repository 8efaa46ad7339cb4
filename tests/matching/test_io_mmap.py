"""Memory-mapped caches: the graph and its CH read from the file, shared between processes."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pytest

from matching.ch import build_ch
from matching.engine import Engine
from matching.errors import CacheFormatError
from matching.io import load_ch, load_graph, save_ch, save_graph
from tests.matching.helpers import grid_graph


def _mapped(array: np.ndarray) -> bool:
    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return isinstance(base, mmap.mmap)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("mmap")
    g = grid_graph(90, 90, seed=3)  # 8,100 nodes: arrays of ~100 kB, mapped
    save_graph(g, folder / "graph.npz")
    save_ch(build_ch(g), folder / "ch.npz")
    return folder / "graph.npz", folder / "ch.npz"


def test_mapped_graph_and_ch_equal_the_loaded_ones(saved: tuple[Path, Path]) -> None:
    graph_path, ch_path = saved
    g, g_mapped = load_graph(graph_path), load_graph(graph_path, mmap=True)
    for name in g._fields:
        assert np.array_equal(getattr(g, name), getattr(g_mapped, name)), name
    assert _mapped(g_mapped.indices) and not _mapped(g.indices)
    ch, ch_mapped = load_ch(ch_path, g), load_ch(ch_path, g_mapped, mmap=True)
    for name in ch._fields:
        assert np.array_equal(getattr(ch, name), getattr(ch_mapped, name)), name
    # Same answers from an engine on mapped arrays.
    engine, engine_mapped = Engine.from_graph(g, ch), Engine.from_graph(g_mapped, ch_mapped)
    rng = np.random.default_rng(0)
    for s, t in rng.integers(0, g.n_nodes, size=(50, 2)):
        assert engine.time_s(int(s), int(t)) == engine_mapped.time_s(int(s), int(t))


def test_a_write_to_a_mapped_array_stays_in_the_process(saved: tuple[Path, Path]) -> None:
    graph_path, _ = saved
    before = graph_path.read_bytes()
    g = load_graph(graph_path, mmap=True)
    assert g.travel_time_s.flags.writeable  # numba sees the same array type as in memory
    g.travel_time_s[:10] += 1
    assert graph_path.read_bytes() == before
    assert np.array_equal(load_graph(graph_path, mmap=True).travel_time_s[:10], g.travel_time_s[:10] - 1)


def test_mapping_a_truncated_cache_is_a_clear_error(saved: tuple[Path, Path], tmp_path: Path) -> None:
    graph_path, _ = saved
    broken = tmp_path / "graph.npz"
    broken.write_bytes(graph_path.read_bytes()[:5000])
    with pytest.raises(CacheFormatError, match="not a readable"):
        load_graph(broken, mmap=True)


def _file_mappings(path: Path) -> dict[str, int]:
    """Rss and Anonymous (kB) of this process's mappings of ``path`` (from /proc/self/smaps).

    A file page read through a mapping is the page cache's own (shared by every process that maps
    the file); a page the process wrote to is copied into anonymous memory, its own.
    """
    totals = {"Rss": 0, "Anonymous": 0, "mappings": 0}
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5 and ":" not in fields[0]:
            inside = len(fields) >= 6 and fields[-1] == str(path)
            totals["mappings"] += int(inside)
        elif inside and fields and fields[0].rstrip(":") in totals:
            totals[fields[0].rstrip(":")] += int(fields[1])
    return totals


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc")
def test_mapped_caches_are_file_pages_not_private_memory(saved: tuple[Path, Path]) -> None:
    """Mapped, the caches live in the files' pages (the page cache's, shared by every process
    that maps them), not in the process's anonymous memory; loaded, they are copied."""
    graph_path, ch_path = saved
    g = load_graph(graph_path)
    assert _file_mappings(graph_path)["mappings"] == 0
    g = load_graph(graph_path, mmap=True)
    ch = load_ch(ch_path, g, mmap=True)
    touched = sum(int(a.sum() % 7) for a in (*g, *ch) if isinstance(a, np.ndarray))
    for path in (graph_path, ch_path):
        seen = _file_mappings(path)
        assert seen["mappings"] >= 1 and seen["Rss"] > 0, (path, seen, touched)
        assert seen["Anonymous"] == 0, seen
    # A write is the process's own: that page alone becomes anonymous.
    g.travel_time_s[:8] += 1
    assert 0 < _file_mappings(graph_path)["Anonymous"] <= 8
