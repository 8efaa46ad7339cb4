"""Benchmark of the matching engine against peers, on real extracts and a département graph.

Run ``python -m benchmarks.matching --json PATH`` (``--quick`` for a small run). For each
graph it measures our engine (CH build, 1000 x 1000 table, one need against 1,000 offers,
a batch of 1,000 needs x 1,000 offers end to end, cold and cached start-up, peak memory)
and, in the same run and on the same workload, peers: a matcher whose routing is
``scipy.sparse.csgraph.dijkstra`` (same feasibility and solver, so the two must agree),
networkx (timed on a sample of searches and extrapolated), and pandana's contraction
hierarchies (build and table). Graphs and CH indexes are cached in ``--cache-dir``.

This is a benchmark, not a test: nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra as scipy_dijkstra

from benchmarks.synthetic import (
    SHARED_DATA,
    Places,
    Workload,
    generate_territory,
    generate_workload,
    load_places,
    places_from_graph_density,
    random_places,
)
from matching.assignment import DEFAULT_TIME_LIMIT_S, Assignment
from matching.ch import Table, build_ch, many_to_many_table
from matching.engine import Engine
from matching.graph import INF_TIME, RoadGraph, reverse_graph
from matching.io import graph_from_osm, load_ch, load_graph, save_ch, save_graph
from matching.offers import (
    build_need_arrays,
    build_offer_set,
)
from matching.rides import assign_batch, match_need

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "lot-matching-bench"
"""Built graphs and CH indexes (outside the repository; never commit data)."""

DEFAULT_OSM = (
    SHARED_DATA / "osm" / "addison-county-vt-roads-2020.osm.bz2",
    SHARED_DATA / "osm" / "porto-roads-2015.osm.bz2",
)
"""The real extracts run by default: a rural county the size of a département, a city."""

SCIPY_LIMIT_S = 4 * 3600
"""scipy's ``limit=`` in the batch: no feasible pair of a day needs a longer drive (the
answers are compared with ours, so a too short limit would show)."""

TARGETS = {
    "batch_s": 1.0,
    "single_need_p95_ms": 10.0,
    "scipy_batch_ratio": 100.0,
    "networkx_batch_ratio": 300.0,
    "pooling_first_plan_s": 1.0,
    "pandana_table_ratio": 1.0,
    "startup_cached_s": 3.0,
}


# --------------------------------------------------------------------------- graphs


@dataclass
class BenchGraph:
    name: str
    kind: str
    graph: RoadGraph
    places: Places
    ch_build_s: float | None
    ch_path: Path
    graph_path: Path


def _osm_name(path: Path) -> str:
    name = path.name
    for suffix in (".bz2", ".osm", ".xml", ".pbf"):
        name = name.removesuffix(suffix)
    return name


def _save_places(places: Places, path: Path) -> None:
    path.write_text(
        json.dumps(
            {
                "name": places.name,
                "lat": places.lat.tolist(),
                "lon": places.lon.tolist(),
                "population": places.population.tolist(),
            }
        )
    )


def load_graphs(
    cache: Path, quick: bool, osm_files: list[Path], generated: bool
) -> list[BenchGraph]:
    """The OSM extracts given (unsimplified drive graphs; places = their densest spots of
    roads, the town centres) and, with ``generated``, the generated département."""
    cache.mkdir(parents=True, exist_ok=True)
    specs: list[tuple[str, str, Path | None]] = []
    for osm in osm_files:
        if not osm.exists():
            raise SystemExit(f"OSM extract not found: {osm}")
        specs.append((_osm_name(osm), "osm", osm))
    if generated:
        name = "generated-departement-quick" if quick else "generated-departement"
        specs.append((name, "generated", None))
    out: list[BenchGraph] = []
    for name, kind, path in specs:
        gpath = cache / f"{name}.graph.npz"
        places_path = cache / f"{name}.places.json"
        if not gpath.exists():
            print(f"[{name}] reading the graph (cached in {cache})", flush=True)
            if path is not None:
                g = graph_from_osm(path, simplify=False)
            else:
                base = load_places() if not quick else None
                if base is None:
                    base = random_places(60 if quick else 313, seed=46)
                territory = generate_territory(base)
                g = territory.graph
                _save_places(territory.places, places_path)
            save_graph(g, gpath)
        g = load_graph(gpath)
        if not places_path.exists():
            _save_places(places_from_graph_density(g, 40), places_path)
        raw = json.loads(places_path.read_text())
        places = Places(
            raw["name"], np.array(raw["lat"]), np.array(raw["lon"]), np.array(raw["population"])
        )
        out.append(BenchGraph(name, kind, g, places, None, cache / f"{name}.ch.npz", gpath))
    return out


# --------------------------------------------------------------------------- peers

BATCH_TIME_LIMIT_S = DEFAULT_TIME_LIMIT_S
"""Budget of the batch's solve, as in the app: past it, the best plan found is returned
unproven (``optimal`` false, with its gap), never an error."""


@njit(cache=True)
def _lengths_from_predecessors(
    pred: npt.NDArray[np.int32],
    targets: npt.NDArray[np.int32],
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    length: npt.NDArray[np.float32],
) -> npt.NDArray[np.float64]:
    out = np.empty((pred.shape[0], targets.shape[0]), dtype=np.float64)
    for i in range(pred.shape[0]):
        for j in range(targets.shape[0]):
            v = targets[j]
            total = 0.0
            while pred[i, v] >= 0:
                u = pred[i, v]
                for e in range(indptr[u], indptr[u + 1]):
                    if indices[e] == v:
                        total += length[e]
                        break
                v = u
            out[i, j] = total
    return out


class ScipyRouter:
    """Travel-time tables with scipy.sparse.csgraph.dijkstra, many sources per call.

    Lengths of the fastest paths are read from the predecessor trees (the same tie
    semantics as any Dijkstra: one of the fastest paths).
    """

    def __init__(self, g: RoadGraph) -> None:
        self.g = g
        self.fwd = csr_matrix(
            (g.travel_time_s.astype(np.float64), g.indices, g.indptr), shape=(g.n_nodes, g.n_nodes)
        )
        self.rev_g = reverse_graph(g)
        self.bwd = csr_matrix(
            (self.rev_g.travel_time_s.astype(np.float64), self.rev_g.indices, self.rev_g.indptr),
            shape=(g.n_nodes, g.n_nodes),
        )
        self.searches = 0

    def _run(
        self,
        g: RoadGraph,
        mat: csr_matrix,
        sources: npt.ArrayLike,
        targets: npt.ArrayLike,
        limit: float = np.inf,
    ) -> Table:
        src = np.asarray(sources, dtype=np.int32)
        tgt = np.asarray(targets, dtype=np.int32)
        times = np.empty((src.shape[0], tgt.shape[0]), dtype=np.int32)
        lengths = np.empty((src.shape[0], tgt.shape[0]))
        self.searches += int(src.shape[0])
        for start in range(0, src.shape[0], 64):
            chunk = src[start : start + 64]
            dist, pred = scipy_dijkstra(
                mat, directed=True, indices=chunk, return_predecessors=True, limit=limit
            )
            d = dist[:, tgt]
            times[start : start + chunk.shape[0]] = np.where(np.isinf(d), INF_TIME, d).astype(
                np.int32
            )
            pred = pred.astype(np.int32)
            pred[pred < 0] = -1
            ln = _lengths_from_predecessors(pred, tgt, g.indptr, g.indices, g.length_m)
            lengths[start : start + chunk.shape[0]] = np.where(np.isinf(d), np.inf, ln)
        return Table(times, lengths)

    def table(self, sources: npt.ArrayLike, targets: npt.ArrayLike, limit: float = np.inf) -> Table:
        return self._run(self.g, self.fwd, sources, targets, limit)

    def table_to(
        self, targets_as_sources: npt.ArrayLike, sources_as_targets: npt.ArrayLike
    ) -> Table:
        """Times from ``sources_as_targets`` to each of ``targets_as_sources``, as
        ``[len(targets), len(sources)]`` (backward searches on the reversed graph)."""
        return self._run(self.rev_g, self.bwd, targets_as_sources, sources_as_targets)


def _pairs(tab: Table, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]) -> Table:
    return Table(
        np.ascontiguousarray(tab.time_s[rows, cols]),
        np.ascontiguousarray(tab.length_m[rows, cols]),
    )


def scipy_batch(router: ScipyRouter, engine: Engine, w: Workload, cap: int) -> tuple[float, Any]:
    """The batch with every table computed by scipy Dijkstra; same kernel and solver.

    scipy's best call: one multi-source call per set of distinct sources, each search
    stopped at ``limit=`` :data:`SCIPY_LIMIT_S`, and the fewest searches: forward from the
    distinct offer starts (need pickups and drop-offs from them, trips' direct times),
    forward from the distinct need pickups and drop-offs (offer ends, rides, returns).
    """
    import dataclasses

    from matching.assignment import _collect, build_problem, solve_problem
    from matching.offers import evaluate_tables

    router.searches = 0
    began = time.perf_counter()
    offers = build_offer_set(_NoCH(engine), w.trips, w.volunteers)  # type: ignore[arg-type]
    shell = build_need_arrays(_NoCH(engine), w.needs)  # type: ignore[arg-type]
    starts, start_pos = np.unique(offers.start_node, return_inverse=True)
    ends, end_pos = np.unique(offers.end_node, return_inverse=True)
    need_nodes, need_pos = np.unique(
        np.concatenate([shell.pickup_node, shell.dropoff_node]), return_inverse=True
    )
    n_n = len(w.needs)
    pick_pos, drop_pos = need_pos[:n_n], need_pos[n_n:]
    from_starts = router.table(starts, np.concatenate([need_nodes, ends]), SCIPY_LIMIT_S)
    from_needs = router.table(need_nodes, np.concatenate([ends, need_nodes]), SCIPY_LIMIT_S)
    n_u, n_e = need_nodes.shape[0], ends.shape[0]
    a = Table(
        np.ascontiguousarray(from_starts.time_s[:, pick_pos][start_pos].T),
        np.ascontiguousarray(from_starts.length_m[:, pick_pos][start_pos].T),
    )
    e = Table(
        np.ascontiguousarray(from_starts.time_s[:, drop_pos][start_pos].T),
        np.ascontiguousarray(from_starts.length_m[:, drop_pos][start_pos].T),
    )
    b = Table(
        np.ascontiguousarray(from_needs.time_s[drop_pos][:, end_pos]),
        np.ascontiguousarray(from_needs.length_m[drop_pos][:, end_pos]),
    )
    c = Table(
        np.ascontiguousarray(from_needs.time_s[pick_pos][:, end_pos]),
        np.ascontiguousarray(from_needs.length_m[pick_pos][:, end_pos]),
    )
    n_t = offers.n_trips
    direct = _pairs(from_starts, start_pos[:n_t], n_u + end_pos[:n_t])
    offers.direct.time_s[:n_t] = direct.time_s
    offers.direct.length_m[:n_t] = direct.length_m
    ride = _pairs(from_needs, pick_pos, n_e + drop_pos)
    has_ret = shell.ret >= 0
    back = _pairs(from_needs, drop_pos, n_e + pick_pos)
    back.time_s[~has_ret] = INF_TIME
    back.length_m[~has_ret] = np.inf
    needs = dataclasses.replace(shell, ride=ride, back=back)
    ev = evaluate_tables(needs, offers, a, b, c, e)
    problem = build_problem(needs, offers, ev, cap)
    sol = solve_problem(problem, spread_load=False, time_limit_s=BATCH_TIME_LIMIT_S)
    result = _collect(needs, offers, ev, sol.chosen, 0.32)
    result["solver_levels"] = {**sol.how, "proven_optimal": int(sol.optimal)}
    result["searches"] = router.searches
    return time.perf_counter() - began, result


class _NoCH:
    """An engine stand-in that snaps like ours but computes nothing with the CH."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def snap(self, lat: Any, lon: Any) -> Any:
        return self.engine.snap(lat, lon)

    def pairwise(self, sources: Any, targets: Any) -> Table:
        n = np.asarray(sources).shape[0]
        return Table(np.zeros(n, dtype=np.int32), np.zeros(n))

    def buckets(self, nodes: Any, *, toward: bool, bound_s: int | None = None) -> None:
        return None


def networkx_per_search_s(g: RoadGraph, n_sample: int, seed: int) -> float:
    """Seconds per single-source Dijkstra with networkx (mean over a sample)."""
    import networkx as nx

    nxg = nx.DiGraph()
    tails = g.edge_tails()
    nxg.add_weighted_edges_from(
        zip(tails.tolist(), g.indices.tolist(), g.travel_time_s.tolist(), strict=True),
        weight="time",
    )
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, g.n_nodes, n_sample).tolist()
    began = time.perf_counter()
    for s in sources:
        nx.single_source_dijkstra_path_length(nxg, s, weight="time")
    return (time.perf_counter() - began) / n_sample


def pandana_peer(
    g: RoadGraph,
    sources: npt.NDArray[np.int32],
    targets: npt.NDArray[np.int32],
    ours: npt.NDArray[np.int32],
    n_rows: int,
    repeats: int = 1,
) -> dict[str, Any]:
    """pandana's CH: build time and the table (rows sampled, time extrapolated; median of
    ``repeats`` runs after a warm-up call)."""
    try:
        import pandana
        import pandas as pd
    except ImportError as exc:  # reported, not hidden: the run carries on without it
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}
    began = time.perf_counter()
    net = pandana.Network(
        pd.Series(g.node_lon, index=np.arange(g.n_nodes)),
        pd.Series(g.node_lat, index=np.arange(g.n_nodes)),
        pd.Series(g.edge_tails().astype(np.int64)),
        pd.Series(g.indices.astype(np.int64)),
        pd.DataFrame({"time": g.travel_time_s.astype(np.float64)}),
        twoway=False,
    )
    build_s = time.perf_counter() - began
    rows = min(n_rows, sources.shape[0])
    a = np.repeat(sources[:rows], targets.shape[0])
    b = np.tile(targets, rows)
    net.shortest_path_lengths(a[:10].tolist(), b[:10].tolist(), imp_name="time")
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        got = np.asarray(net.shortest_path_lengths(a.tolist(), b.tolist(), imp_name="time"))
        runs.append(time.perf_counter() - began)
    sample_s = float(np.median(runs))
    got = got.reshape(rows, targets.shape[0])
    reach = ours[:rows] != INF_TIME
    agree = bool(np.all(np.abs(got[reach] - ours[:rows][reach]) < 1e-6))
    return {
        "available": True,
        "ch_build_s": build_s,
        "table_s": sample_s * sources.shape[0] / rows,
        "table_rows_timed": rows,
        "table_extrapolated": rows < sources.shape[0],
        "agrees_with_ours": agree,
    }


# --------------------------------------------------------------------------- start-up


def _startup(graph_path: Path, ch_path: Path, numba_cache: Path) -> dict[str, Any]:
    code = (
        "import time, resource, json; t=time.perf_counter();"
        "from matching import warm_up; from matching.engine import engine_from_files;"
        f"e=engine_from_files({str(graph_path)!r}, {str(ch_path)!r});"
        "w=warm_up(); e.table([0,1],[2,3]);"
        "print(json.dumps({'wall_s': time.perf_counter()-t, 'warm_up_s': w,"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_cache), PYTHONPATH=str(ROOT))
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - began
    return result


def measure_startup(graph_path: Path, ch_path: Path) -> dict[str, Any]:
    """Cold start (empty numba cache: compilation) and cached start of a new process."""
    with tempfile.TemporaryDirectory() as tmp:
        cold = _startup(graph_path, ch_path, Path(tmp))
        warm = _startup(graph_path, ch_path, Path(tmp))
    return {"cold": cold, "cached": warm}


# --------------------------------------------------------------------------- one graph


def _timed(fn: Any, repeats: int) -> tuple[float, list[float], Any]:
    """Median of ``repeats`` timed runs of ``fn`` (after the caller's warm-up), the runs,
    and the last result."""
    runs = []
    result = None
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - began)
    return float(np.median(runs)), runs, result


def bench_graph(
    bg: BenchGraph,
    *,
    n_needs: int,
    n_offers: int,
    n_table: int,
    n_single: int,
    n_single_peer: int,
    nx_sample: int,
    seed: int,
    repeats: int,
    pooling_limits_s: tuple[float, ...],
) -> dict[str, Any]:
    """Every measure on one graph; each contestant runs ``repeats`` times (median)."""
    g = bg.graph
    rec: dict[str, Any] = {
        "graph": bg.name,
        "kind": bg.kind,
        "nodes": g.n_nodes,
        "edges": g.n_edges,
        "repeats": repeats,
    }
    print(f"[{bg.name}] {g.n_nodes} nodes, {g.n_edges} edges", flush=True)

    began = time.perf_counter()
    ch = build_ch(g)
    rec["ch_build_s"] = time.perf_counter() - began
    rec["ch_shortcuts"] = int(ch.fwd_head.shape[0] + ch.bwd_head.shape[0] - g.n_edges)
    save_ch(ch, bg.ch_path)
    engine = Engine.from_graph(g, load_ch(bg.ch_path))

    rng = np.random.default_rng(seed)
    sources = rng.integers(0, g.n_nodes, n_table).astype(np.int32)
    targets = rng.integers(0, g.n_nodes, n_table).astype(np.int32)
    many_to_many_table(engine.ch, sources[:10], targets[:10])
    ours_s, ours_runs, ours = _timed(
        lambda: many_to_many_table(engine.ch, sources, targets), repeats
    )
    rec["table"] = {"size": f"{n_table}x{n_table}", "ours_s": ours_s, "ours_runs_s": ours_runs}

    router = ScipyRouter(g)
    router.table(sources[:2], targets[:2])
    sc_s, sc_runs, sc = _timed(lambda: router.table(sources, targets), repeats)
    rec["table"]["scipy_s"] = sc_s
    rec["table"]["scipy_runs_s"] = sc_runs
    rec["table"]["scipy_agrees"] = bool(np.array_equal(sc.time_s, ours.time_s))

    per_search = networkx_per_search_s(g, nx_sample, seed)
    rec["networkx_per_search_s"] = per_search
    rec["table"]["networkx_s_extrapolated"] = per_search * n_table
    pandana = pandana_peer(
        g, sources, targets, ours.time_s, n_rows=max(20, n_table // 10), repeats=repeats
    )
    rec["pandana"] = pandana
    if pandana.get("available"):
        rec["table"]["pandana_s"] = pandana["table_s"]
    print(
        f"  table ours {rec['table']['ours_s']:.3f}s scipy {rec['table']['scipy_s']:.1f}s "
        f"pandana {pandana.get('table_s', float('nan')):.2f}s",
        flush=True,
    )

    # Workload: one day of needs and offers on the graph's places.
    w = generate_workload(bg.places, n_needs, n_offers // 2, n_offers - n_offers // 2, seed=seed)
    offers = build_offer_set(engine, w.trips, w.volunteers)
    match_need(engine, w.needs[0], [], [], offers=offers)
    lat: list[float] = []
    for need in w.needs[:n_single]:
        began = time.perf_counter()
        match_need(engine, need, [], [], offers=offers)
        lat.append(time.perf_counter() - began)
    rec["single_need"] = {
        "offers": n_offers,
        "needs_timed": len(lat),
        "ours_p50_ms": float(np.percentile(lat, 50) * 1e3),
        "ours_p95_ms": float(np.percentile(lat, 95) * 1e3),
        "offer_index_build_s": _time(lambda: build_offer_set(engine, w.trips, w.volunteers)),
        "ours_p50_ms_same_needs_as_peer": float(np.percentile(lat[:n_single_peer], 50) * 1e3),
        "app_request_p50_ms": None,
    }
    # What the app does per request besides: build the day's offer set (snap + buckets).
    app_lat = []
    for need in w.needs[:n_single_peer]:
        began = time.perf_counter()
        match_need(engine, need, w.trips, w.volunteers)
        app_lat.append(time.perf_counter() - began)
    rec["single_need"]["app_request_p50_ms"] = float(np.percentile(app_lat, 50) * 1e3)
    rec["single_need"]["app_request_p95_ms"] = float(np.percentile(app_lat, 95) * 1e3)
    # scipy's best call for one need: two multi-source calls (backward from the pickup and
    # the drop-off to the offer starts; forward from them to the offer ends and each other).
    sc_lat = []
    for need in w.needs[:n_single_peer]:
        pick = engine.snap(need.pickup_lat, need.pickup_lon).nodes
        drop = engine.snap(need.dropoff_lat, need.dropoff_lon).nodes
        both = np.concatenate([pick, drop])
        began = time.perf_counter()
        router.table_to(both, offers.start_node)
        router.table(both, np.concatenate([offers.end_node, both]), SCIPY_LIMIT_S)
        sc_lat.append(time.perf_counter() - began)
    rec["single_need"]["scipy_p50_ms"] = float(np.percentile(sc_lat, 50) * 1e3)
    rec["single_need"]["scipy_ms"] = rec["single_need"]["scipy_p50_ms"]
    rec["single_need"]["needs_timed_peer"] = len(sc_lat)
    rec["single_need"]["networkx_ms_extrapolated"] = 4 * per_search * 1e3

    # The batch: the whole day, 1,000 needs x 1,000 offers.
    rec["batch"], result = bench_batch(engine, w, repeats)
    ours_b = rec["batch"]["ours_s"]
    scipy_s, scipy_runs, scipy_result = _timed(lambda: scipy_batch(router, engine, w, 2), repeats)
    print(f"  batch scipy {scipy_s:.1f}s ({scipy_result[1]['searches']} searches)", flush=True)
    rec["batch"]["scipy_s"] = scipy_s
    rec["batch"]["scipy_runs_s"] = scipy_runs
    rec["batch"]["scipy_searches"] = scipy_result[1]["searches"]
    rec["batch"]["scipy_served"] = scipy_result[1]["served"]
    rec["batch"]["scipy_added_time_s"] = scipy_result[1]["added_time_s"]
    rec["batch"]["scipy_solver_levels"] = scipy_result[1]["solver_levels"]
    rec["batch"]["scipy_agrees"] = bool(
        scipy_result[1]["served"] == result.served
        and scipy_result[1]["priority_served"] == result.priority_served
    )
    non_routing = sum(
        v for k, v in result.timings_s.items() if k in ("evaluate", "model", "solve", "collect")
    )
    rec["batch"]["networkx_s_extrapolated"] = scipy_result[1]["searches"] * per_search + non_routing
    if pooling_limits_s:
        rec["pooling"] = bench_pooling(engine, w, result, pooling_limits_s)

    rec["startup"] = measure_startup(bg.graph_path, bg.ch_path)
    rec["peak_rss_mb_engine_process"] = rec["startup"]["cached"]["peak_rss_mb"]
    rec["ratios"] = {
        "scipy_table": rec["table"]["scipy_s"] / rec["table"]["ours_s"],
        "networkx_table": rec["table"]["networkx_s_extrapolated"] / rec["table"]["ours_s"],
        "pandana_table": (rec["table"]["pandana_s"] / rec["table"]["ours_s"])
        if "pandana_s" in rec["table"]
        else None,
        "scipy_single_need": rec["single_need"]["scipy_ms"]
        / rec["single_need"]["ours_p50_ms_same_needs_as_peer"],
        "networkx_single_need": rec["single_need"]["networkx_ms_extrapolated"]
        / rec["single_need"]["ours_p50_ms"],
        "scipy_batch": scipy_s / ours_b,
        "networkx_batch": rec["batch"]["networkx_s_extrapolated"] / ours_b,
    }
    return rec


def bench_batch(
    engine: Engine, w: Workload, repeats: int, time_limit_s: float = BATCH_TIME_LIMIT_S
) -> tuple[dict[str, Any], Assignment]:
    """The one-rider batch of the whole day, warm: wall and CPU time (median of
    ``repeats``), the phases, and whether the plan is proven optimal within the budget."""
    assign_batch(engine, w.needs[:50], w.trips[:50], w.volunteers[:50])
    cpu: list[float] = []

    def run() -> Assignment:
        began = time.process_time()
        out = assign_batch(engine, w.needs, w.trips, w.volunteers, time_limit_s=time_limit_s)
        cpu.append(time.process_time() - began)
        return out

    ours_b, runs, result = _timed(run, repeats)
    rec = {
        "needs": len(w.needs),
        "offers": len(w.trips) + len(w.volunteers),
        "time_limit_s": time_limit_s,
        "ours_s": ours_b,
        "ours_runs_s": runs,
        "ours_cpu_s": float(np.median(cpu)),
        "ours_cpu_runs_s": cpu,
        "ours_breakdown_s": result.timings_s,
        "served": result.served,
        "priority_served": result.priority_served,
        "added_time_s": result.added_time_s,
        "feasible_pairs": result.n_feasible_pairs,
        "solver_levels": result.solver_levels,
        "optimal": result.optimal,
        "gap": result.gap,
        "bounds": result.bounds,
    }
    print(
        f"  batch ours {ours_b:.3f}s (cpu {rec['ours_cpu_s']:.3f}s, solve "
        f"{result.timings_s['solve']:.3f}s) served {result.served}/{len(w.needs)} "
        f"optimal {result.optimal} gap {result.gap}",
        flush=True,
    )
    return rec, result


def bench_batch_only(
    bg: BenchGraph, *, n_needs: int, n_offers: int, seed: int, repeats: int, time_limit_s: float
) -> dict[str, Any]:
    """Only the batch (``--batch-only``): the CH index is loaded from the cache (built once)."""
    g = bg.graph
    if bg.ch_path.exists():
        ch = load_ch(bg.ch_path)
    else:
        save_ch(build_ch(g), bg.ch_path)
        ch = load_ch(bg.ch_path)
    engine = Engine.from_graph(g, ch)
    w = generate_workload(bg.places, n_needs, n_offers // 2, n_offers - n_offers // 2, seed=seed)
    print(f"[{bg.name}] {g.n_nodes} nodes, batch only", flush=True)
    batch, _ = bench_batch(engine, w, repeats, time_limit_s)
    return {"graph": bg.name, "kind": bg.kind, "nodes": g.n_nodes, "batch": batch}


def batch_summary_markdown(report: dict[str, Any]) -> str:
    """The ``--batch-only`` figures as a markdown table."""
    lines = [
        f"Run of {report['date']}, load average at start "
        f"{report['machine']['load_average_at_start'][0]:.1f}; wall and CPU of the whole "
        "`assign_batch` call, warm, median of the repeats.",
        "",
        "| graph | pairs | budget (s) | wall (s) | CPU (s) | evaluate / model / solve (s) "
        "| served | optimal | gap weight / added (s) | solver |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["graphs"]:
        b = r["batch"]
        t = b["ours_breakdown_s"]
        levels = ", ".join(f"{k} {v}" for k, v in b["solver_levels"].items() if v)
        lines.append(
            f"| {r['graph']} | {b['feasible_pairs']:,} | {b['time_limit_s']:g} "
            f"| {b['ours_s']:.3f} | {b['ours_cpu_s']:.3f} "
            f"| {t['evaluate']:.3f} / {t['model']:.3f} / {t['solve']:.3f} | {b['served']} "
            f"| {'yes' if b['optimal'] else 'no'} | {b['gap'].get('weight', 0):g} / "
            f"{_fmt(b['gap'].get('added_s'))} | {levels} |"
        )
    return "\n".join(lines)


def bench_pooling(
    engine: Engine, w: Workload, one_rider: Any, limits_s: tuple[float, ...]
) -> dict[str, Any]:
    """The pooled day planner on the batch's day: first plan, then after each time limit,
    beside the exact one-rider assignment (``one_rider``, an Assignment)."""
    try:
        from matching.day_instance import build_day_instance, plan_day_routes
        from matching.pooling import warm_up
    except ImportError as exc:  # reported, not hidden
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}
    warm_up()  # compile (or load) the planner's kernels: warm timings only
    plan_day_routes(build_day_instance(engine, w.needs[:20], w.trips[:20], w.volunteers[:20]), 0.1)
    out: dict[str, Any] = {
        "available": True,
        "one_rider_exact": {
            "served": one_rider.served,
            "added_km": one_rider.added_distance_m / 1000.0,
        },
        "runs": [],
    }
    began = time.perf_counter()
    day = build_day_instance(engine, w.needs, w.trips, w.volunteers)
    out["instance_s"] = time.perf_counter() - began
    out["volunteer_radius_encoding"] = day.radius_encoding
    out["not_plannable"] = len(day.not_plannable)
    out["instance_nodes"] = day.instance.n_nodes
    out["requests"] = day.instance.n_requests
    out["vehicles"] = day.instance.n_vehicles
    for limit in limits_s:
        began = time.perf_counter()
        routes = plan_day_routes(day, time_limit_s=limit)
        wall = time.perf_counter() - began
        out["runs"].append(
            {
                "time_limit_s": limit,
                "wall_s": wall,
                "first_plan_s": routes.first_plan_seconds,
                "served": routes.served,
                "priority_served": routes.priority_served,
                "driven_km": routes.distance_m / 1000.0,
                "added_km": routes.added_distance_m / 1000.0,
                "riders_per_drive": routes.riders_per_drive,
                "stops_per_drive": routes.stops_per_drive,
                "checker_problems": len(routes.problems),
                "proven_optimal": routes.proven_optimal,
            }
        )
        print(
            f"  pooling {limit:g}s: served {routes.served} first plan "
            f"{routes.first_plan_seconds:.2f}s",
            flush=True,
        )
    return out


def _time(fn: Any) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def _first_plan_s(rec: dict[str, Any]) -> float | None:
    pooling = rec.get("pooling") or {}
    runs = pooling.get("runs") or []
    if not runs:
        return None
    # The first plan includes building the instance (CH tables between the day's stops).
    return float(pooling["instance_s"] + runs[0]["first_plan_s"])


def targets_report(rec: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue, the measured figure, and whether it is met."""
    figures = {
        "batch_s": rec["batch"]["ours_s"],
        "single_need_p95_ms": rec["single_need"]["ours_p95_ms"],
        "scipy_batch_ratio": rec["ratios"]["scipy_batch"],
        "networkx_batch_ratio": rec["ratios"]["networkx_batch"],
        "pandana_table_ratio": rec["ratios"]["pandana_table"],
        "startup_cached_s": rec["startup"]["cached"]["process_s"],
        "pooling_first_plan_s": _first_plan_s(rec),
    }
    out = {}
    for key, target in TARGETS.items():
        value = figures[key]
        lower_is_better = key in (
            "batch_s",
            "single_need_p95_ms",
            "startup_cached_s",
            "pooling_first_plan_s",
        )
        met = (
            None
            if value is None
            else (
                value < target
                if lower_is_better
                else value > target
                if key == "pandana_table_ratio"
                else value >= target
            )
        )
        out[key] = {"target": target, "measured": value, "met": met}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="where to write the JSON results")
    parser.add_argument("--quick", action="store_true", help="small workload")
    parser.add_argument(
        "--osm",
        type=Path,
        action="append",
        help="an OSM extract to run the whole workload on (repeatable; default: "
        + ", ".join(p.name for p in DEFAULT_OSM)
        + ")",
    )
    parser.add_argument(
        "--generated", action="store_true", help="also run on the generated département graph"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contestant")
    parser.add_argument(
        "--pooling-limits",
        default="1,10",
        help="time limits (s) of the pooled planner runs, comma-separated ('' to skip)",
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--only", help="comma-separated graph names to run")
    parser.add_argument("--summarise", type=Path, help="print the markdown summary of a JSON run")
    parser.add_argument(
        "--batch-only",
        action="store_true",
        help="only the one-rider batch of the day (CH index from the cache)",
    )
    parser.add_argument(
        "--batch-time-limit",
        type=float,
        default=BATCH_TIME_LIMIT_S,
        help="budget (s) of the batch's solve with --batch-only (default: the app's)",
    )
    args = parser.parse_args(argv)
    if args.summarise:
        print(summary_markdown(json.loads(args.summarise.read_text())))
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    quick = args.quick
    sizes = (
        {
            "n_needs": 200,
            "n_offers": 200,
            "n_table": 200,
            "n_single": 100,
            "n_single_peer": 10,
            "nx_sample": 2,
        }
        if quick
        else {
            "n_needs": 1000,
            "n_offers": 1000,
            "n_table": 1000,
            "n_single": 300,
            "n_single_peer": 30,
            "nx_sample": 5,
        }
    )
    limits = tuple(float(x) for x in args.pooling_limits.split(",") if x.strip())
    osm_files = args.osm if args.osm else [p for p in DEFAULT_OSM if p.exists()]
    graphs = load_graphs(args.cache_dir, quick, osm_files, args.generated)
    if args.only:
        keep = set(args.only.split(","))
        graphs = [bg for bg in graphs if bg.name in keep]
    report: dict[str, Any] = {
        "benchmark": "matching",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "numba_threads": int(__import__("numba").get_num_threads()),
            "load_average_at_start": list(os.getloadavg()),
        },
        "sizes": sizes,
        "repeats": args.repeats,
        "graphs": [],
    }
    for bg in graphs:
        if args.batch_only:
            report["graphs"].append(
                bench_batch_only(
                    bg,
                    n_needs=sizes["n_needs"],
                    n_offers=sizes["n_offers"],
                    seed=7,
                    repeats=args.repeats,
                    time_limit_s=args.batch_time_limit,
                )
            )
            continue
        rec = bench_graph(bg, seed=7, repeats=args.repeats, pooling_limits_s=limits, **sizes)
        rec["targets"] = targets_report(rec)
        report["graphs"].append(rec)
        if args.json:  # keep what is done when a later graph fails
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    report["peak_rss_mb_benchmark_process"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    text = json.dumps(report, indent=2, default=_json_default)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(batch_summary_markdown(report) if args.batch_only else summary_markdown(report))
    return 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def summary_markdown(report: dict[str, Any]) -> str:
    """A markdown table of our figures and the peers' for each graph."""
    lines = [
        f"Run of {report['date']} ({'quick' if report['quick'] else 'full'}), "
        f"{report['machine']['cpus']} CPUs, Python {report['machine']['python']}.",
        "",
        "| graph | nodes | CH build ours / pandana (s) | table ours / scipy / pandana / networkx* (s) "
        "| one need p50 / p95 ours, scipy (ms) | batch ours / scipy / networkx* (s) | start-up cold / cached (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["graphs"]:
        pd_build = r["pandana"].get("ch_build_s")
        t = r["table"]
        lines.append(
            f"| {r['graph']} | {r['nodes']:,} | {r['ch_build_s']:.2f} / {_fmt(pd_build)} "
            f"| {t['ours_s']:.3f} / {t['scipy_s']:.2f} / {_fmt(t.get('pandana_s'))} / {t['networkx_s_extrapolated']:.1f} "
            f"| {r['single_need']['ours_p50_ms']:.2f} / {r['single_need']['ours_p95_ms']:.2f}, {r['single_need']['scipy_ms']:.0f} "
            f"| {r['batch']['ours_s']:.3f} / {r['batch']['scipy_s']:.1f} / {r['batch']['networkx_s_extrapolated']:.0f} "
            f"| {r['startup']['cold']['process_s']:.1f} / {r['startup']['cached']['process_s']:.2f} |"
        )
    lines.append("")
    lines.append("\\* networkx timed on a sample of single-source searches and extrapolated.")
    pooled = [r for r in report["graphs"] if (r.get("pooling") or {}).get("available")]
    if pooled:
        lines += [
            "",
            "Pooled day planner on the batch's day (same needs and offers) beside the exact "
            "one-rider assignment:",
            "",
            "| graph | plan | wall (s) | first plan (s) | served | added km | riders / drive "
            "| stops / drive | checker problems |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in pooled:
            p = r["pooling"]
            one = p["one_rider_exact"]
            lines.append(
                f"| {r['graph']} | one rider, exact MILP | {r['batch']['ours_s']:.2f} | – "
                f"| {one['served']} | {one['added_km']:.0f} | 1 | 2 | – |"
            )
            for run in p["runs"]:
                lines.append(
                    f"| {r['graph']} | pooled, {run['time_limit_s']:g} s "
                    f"| {p['instance_s'] + run['wall_s']:.2f} "
                    f"| {p['instance_s'] + run['first_plan_s']:.2f} | {run['served']} "
                    f"| {run['added_km']:.0f} | {run['riders_per_drive']:.2f} "
                    f"| {run['stops_per_drive']:.2f} | {run['checker_problems']} |"
                )
    for r in report["graphs"]:
        lines += ["", f"Targets on {r['graph']} ({r['nodes']:,} nodes):", ""]
        lines += ["| target | goal | measured | met |", "|---|---|---|---|"]
        for key, t in r["targets"].items():
            met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
            lines.append(f"| {key} | {t['target']} | {_fmt(t['measured'])} | {met} |")
        rr = r["ratios"]
        lines.append("")
        lines.append(
            "Ratios peer / ours: "
            + ", ".join(f"{k} {v:.0f}x" for k, v in rr.items() if v is not None)
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
