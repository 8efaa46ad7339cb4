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
    random_places,
)
from matching.ch import Table, build_ch, many_to_many_table
from matching.engine import Engine
from matching.graph import INF_TIME, RoadGraph, reverse_graph
from matching.io import graph_from_osm, load_ch, load_graph, save_ch, save_graph
from matching.offers import (
    NeedArrays,
    OfferSet,
    build_need_arrays,
    build_offer_set,
)
from matching.rides import assign_batch, match_need

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lot-matching-bench"
)

TARGETS = {
    "batch_s": 1.0,
    "single_need_p95_ms": 10.0,
    "scipy_batch_ratio": 15.0,
    "networkx_batch_ratio": 300.0,
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


def _places_from_graph(g: RoadGraph, n: int, seed: int) -> Places:
    rng = np.random.default_rng(seed)
    nodes = rng.choice(g.n_nodes, size=min(n, g.n_nodes), replace=False)
    pop = (5000 / (1 + np.arange(nodes.shape[0])) ** 1.1).astype(np.int64) + 50
    return Places([f"p{i}" for i in nodes], g.node_lat[nodes], g.node_lon[nodes], pop)


def load_graphs(cache: Path, quick: bool) -> list[BenchGraph]:
    """The real extracts (unsimplified drive graphs) and the generated département."""
    cache.mkdir(parents=True, exist_ok=True)
    out: list[BenchGraph] = []
    specs: list[tuple[str, str]] = []
    for name in ("andorra", "north-bayreuth", "toulouse-centre"):
        if (SHARED_DATA / "osm" / f"{name}.osm.bz2").exists():
            specs.append((name, "osm"))
    specs.append(("generated-departement-quick" if quick else "generated-departement", "generated"))
    for name, kind in specs:
        gpath = cache / f"{name}.graph.npz"
        places_path = cache / f"{name}.places.json"
        if not gpath.exists():
            if kind == "osm":
                g = graph_from_osm(SHARED_DATA / "osm" / f"{name}.osm.bz2", simplify=False)
                places = _places_from_graph(g, 40, seed=3)
            else:
                base = load_places() if not quick else None
                if base is None:
                    base = random_places(60 if quick else 313, seed=46)
                territory = generate_territory(base)
                g, places = territory.graph, territory.places
            save_graph(g, gpath)
            places_path.write_text(
                json.dumps(
                    {
                        "name": places.name,
                        "lat": places.lat.tolist(),
                        "lon": places.lon.tolist(),
                        "population": places.population.tolist(),
                    }
                )
            )
        g = load_graph(gpath)
        raw = json.loads(places_path.read_text())
        places = Places(
            raw["name"], np.array(raw["lat"]), np.array(raw["lon"]), np.array(raw["population"])
        )
        out.append(BenchGraph(name, kind, g, places, None, cache / f"{name}.ch.npz", gpath))
    return out


# --------------------------------------------------------------------------- peers

BATCH_TIME_LIMIT_S = 30.0
"""Per-solve limit of the batch MILP when its LP is fractional (dense toy territories)."""


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
    """Travel-time tables with scipy.sparse.csgraph.dijkstra, one search per source.

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

    def _run(
        self, g: RoadGraph, mat: csr_matrix, sources: npt.ArrayLike, targets: npt.ArrayLike
    ) -> Table:
        src = np.asarray(sources, dtype=np.int32)
        tgt = np.asarray(targets, dtype=np.int32)
        times = np.empty((src.shape[0], tgt.shape[0]), dtype=np.int32)
        lengths = np.empty((src.shape[0], tgt.shape[0]))
        for start in range(0, src.shape[0], 64):
            chunk = src[start : start + 64]
            dist, pred = scipy_dijkstra(mat, directed=True, indices=chunk, return_predecessors=True)
            d = dist[:, tgt]
            times[start : start + chunk.shape[0]] = np.where(np.isinf(d), INF_TIME, d).astype(
                np.int32
            )
            pred = pred.astype(np.int32)
            pred[pred < 0] = -1
            ln = _lengths_from_predecessors(pred, tgt, g.indptr, g.indices, g.length_m)
            lengths[start : start + chunk.shape[0]] = np.where(np.isinf(d), np.inf, ln)
        return Table(times, lengths)

    def table(self, sources: npt.ArrayLike, targets: npt.ArrayLike) -> Table:
        return self._run(self.g, self.fwd, sources, targets)

    def table_to(
        self, targets_as_sources: npt.ArrayLike, sources_as_targets: npt.ArrayLike
    ) -> Table:
        """Times from ``sources_as_targets`` to each of ``targets_as_sources``, as
        ``[len(targets), len(sources)]`` (backward searches on the reversed graph)."""
        return self._run(self.rev_g, self.bwd, targets_as_sources, sources_as_targets)


def scipy_batch(router: ScipyRouter, engine: Engine, w: Workload, cap: int) -> tuple[float, Any]:
    """The batch with every table computed by scipy Dijkstra; same kernel and solver."""
    from matching.assignment import _collect, build_problem, solve_problem
    from matching.offers import evaluate_tables

    began = time.perf_counter()
    offers = _offer_set_scipy(router, engine, w)
    needs = _need_arrays_scipy(router, engine, w)
    start_tab = router.table(
        offers.start_node, np.concatenate([needs.pickup_node, needs.dropoff_node])
    )
    n_n = len(w.needs)
    a = Table(
        np.ascontiguousarray(start_tab.time_s[:, :n_n].T),
        np.ascontiguousarray(start_tab.length_m[:, :n_n].T),
    )
    e = Table(
        np.ascontiguousarray(start_tab.time_s[:, n_n:].T),
        np.ascontiguousarray(start_tab.length_m[:, n_n:].T),
    )
    end_tab = router.table_to(
        offers.end_node, np.concatenate([needs.dropoff_node, needs.pickup_node])
    )
    b = Table(
        np.ascontiguousarray(end_tab.time_s[:, :n_n].T),
        np.ascontiguousarray(end_tab.length_m[:, :n_n].T),
    )
    c = Table(
        np.ascontiguousarray(end_tab.time_s[:, n_n:].T),
        np.ascontiguousarray(end_tab.length_m[:, n_n:].T),
    )
    ev = evaluate_tables(needs, offers, a, b, c, e)
    problem = build_problem(needs, offers, ev, cap)
    chosen, how = solve_problem(problem, spread_load=False, time_limit_s=BATCH_TIME_LIMIT_S)
    result = _collect(needs, offers, ev, chosen, 0.32)
    result["solver_levels"] = how
    return time.perf_counter() - began, result


def _diag(router: ScipyRouter, src: npt.NDArray[np.int32], tgt: npt.NDArray[np.int32]) -> Table:
    times = np.empty(src.shape[0], dtype=np.int32)
    lengths = np.empty(src.shape[0])
    for i in range(src.shape[0]):
        t = router.table(src[i : i + 1], tgt[i : i + 1])
        times[i] = t.time_s[0, 0]
        lengths[i] = t.length_m[0, 0]
    return Table(times, lengths)


def _offer_set_scipy(router: ScipyRouter, engine: Engine, w: Workload) -> OfferSet:
    """The same offer arrays as build_offer_set, the trips' direct times by scipy."""
    offers = build_offer_set(_NoCH(engine), w.trips, w.volunteers)  # type: ignore[arg-type]
    n_t = offers.n_trips
    direct = _diag(router, offers.start_node[:n_t], offers.end_node[:n_t])
    offers.direct.time_s[:n_t] = direct.time_s
    offers.direct.length_m[:n_t] = direct.length_m
    return offers


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


def _need_arrays_scipy(router: ScipyRouter, engine: Engine, w: Workload) -> NeedArrays:
    import dataclasses

    shell = build_need_arrays(_NoCH(engine), w.needs)  # type: ignore[arg-type]
    ride = _diag(router, shell.pickup_node, shell.dropoff_node)
    has_ret = shell.ret >= 0
    back = Table(np.full(len(w.needs), INF_TIME, dtype=np.int32), np.full(len(w.needs), np.inf))
    rev = _diag(router, shell.dropoff_node[has_ret], shell.pickup_node[has_ret])
    back.time_s[has_ret] = rev.time_s
    back.length_m[has_ret] = rev.length_m
    return dataclasses.replace(shell, ride=ride, back=back)


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
) -> dict[str, Any]:
    """pandana's CH: build time and the table (rows sampled, time extrapolated)."""
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
    began = time.perf_counter()
    got = np.asarray(net.shortest_path_lengths(a.tolist(), b.tolist(), imp_name="time"))
    sample_s = time.perf_counter() - began
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
        "from matching.engine import Engine, engine_from_files;"
        f"e=engine_from_files({str(graph_path)!r}, {str(ch_path)!r});"
        "w=Engine.warm_up(); e.table([0,1],[2,3]);"
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


def bench_graph(
    bg: BenchGraph,
    *,
    n_needs: int,
    n_offers: int,
    n_table: int,
    n_single: int,
    nx_sample: int,
    seed: int,
    batch_size: int,
) -> dict[str, Any]:
    g = bg.graph
    rec: dict[str, Any] = {
        "graph": bg.name,
        "kind": bg.kind,
        "nodes": g.n_nodes,
        "edges": g.n_edges,
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
    times = []
    for _ in range(3):
        began = time.perf_counter()
        ours = many_to_many_table(engine.ch, sources, targets)
        times.append(time.perf_counter() - began)
    rec["table"] = {"size": f"{n_table}x{n_table}", "ours_s": min(times)}

    router = ScipyRouter(g)
    began = time.perf_counter()
    sc = router.table(sources, targets)
    rec["table"]["scipy_s"] = time.perf_counter() - began
    rec["table"]["scipy_agrees"] = bool(np.array_equal(sc.time_s, ours.time_s))

    per_search = networkx_per_search_s(g, nx_sample, seed)
    rec["networkx_per_search_s"] = per_search
    rec["table"]["networkx_s_extrapolated"] = per_search * n_table
    pandana = pandana_peer(g, sources, targets, ours.time_s, n_rows=max(20, n_table // 10))
    rec["pandana"] = pandana
    if pandana.get("available"):
        rec["table"]["pandana_s"] = pandana["table_s"]
    print(
        f"  table ours {rec['table']['ours_s']:.3f}s scipy {rec['table']['scipy_s']:.1f}s",
        flush=True,
    )

    # Workload: one day of needs and offers on the graph's places.
    w = generate_workload(bg.places, n_needs, n_offers // 2, n_offers - n_offers // 2, seed=seed)
    offers = build_offer_set(engine, w.trips, w.volunteers)
    lat: list[float] = []
    match_need(engine, w.needs[0], [], [], offers=offers)
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
    }
    # Peers for one need: scipy needs 4 one-to-all searches (offer starts -> pickup and
    # -> drop-off backwards, drop-off and pickup -> offer ends forwards) plus the ride.
    need = w.needs[0]
    pick = engine.snap(need.pickup_lat, need.pickup_lon).nodes
    drop = engine.snap(need.dropoff_lat, need.dropoff_lon).nodes
    began = time.perf_counter()
    for _ in range(3):
        router.table_to(pick, offers.start_node)
        router.table_to(drop, offers.start_node)
        router.table(drop, offers.end_node)
        router.table(pick, offers.end_node)
        router.table(pick, drop)
    scipy_single = (time.perf_counter() - began) / 3
    rec["single_need"]["scipy_ms"] = scipy_single * 1e3
    rec["single_need"]["networkx_ms_extrapolated"] = 5 * per_search * 1e3

    # The batch: the full day on the département; on the small real extracts (5 to 30 km
    # across, every volunteer reaches every need) a smaller day, the pair count exploding.
    if batch_size < n_needs:
        w = generate_workload(
            bg.places, batch_size, batch_size // 2, batch_size - batch_size // 2, seed=seed
        )
    assign_batch(engine, w.needs[:50], w.trips[:50], w.volunteers[:50])
    runs = []
    result = None
    for _ in range(3 if batch_size >= n_needs else 1):
        began = time.perf_counter()
        result = assign_batch(
            engine, w.needs, w.trips, w.volunteers, time_limit_s=BATCH_TIME_LIMIT_S
        )
        runs.append(time.perf_counter() - began)
    assert result is not None
    best = int(np.argmin(runs))
    rec["batch"] = {
        "needs": len(w.needs),
        "offers": len(w.trips) + len(w.volunteers),
        "ours_s": runs[best],
        "ours_runs_s": runs,
        "ours_breakdown_s": result.timings_s,
        "served": result.served,
        "priority_served": result.priority_served,
        "added_time_s": result.added_time_s,
        "feasible_pairs": result.n_feasible_pairs,
        "solver_levels": result.solver_levels,
    }
    print(f"  batch ours {runs[best]:.3f}s served {result.served}/{len(w.needs)}", flush=True)
    scipy_s, scipy_result = scipy_batch(router, engine, w, 2)
    print(f"  batch scipy {scipy_s:.1f}s", flush=True)
    rec["batch"]["scipy_s"] = scipy_s
    rec["batch"]["scipy_served"] = scipy_result["served"]
    rec["batch"]["scipy_added_time_s"] = scipy_result["added_time_s"]
    rec["batch"]["scipy_solver_levels"] = scipy_result["solver_levels"]
    rec["batch"]["scipy_agrees"] = bool(
        scipy_result["served"] == result.served
        and scipy_result["priority_served"] == result.priority_served
    )
    non_routing = sum(
        v for k, v in result.timings_s.items() if k in ("evaluate", "model", "solve", "collect")
    )
    n_returns = sum(1 for x in w.needs if x.return_pickup_s is not None)
    n_off = len(w.trips) + len(w.volunteers)
    n_searches = n_off * 2 + len(w.trips) + len(w.needs) + n_returns  # as the scipy matcher
    rec["batch"]["networkx_s_extrapolated"] = n_searches * per_search + non_routing

    rec["startup"] = measure_startup(bg.graph_path, bg.ch_path)
    rec["peak_rss_mb_engine_process"] = rec["startup"]["cached"]["peak_rss_mb"]
    rec["ratios"] = {
        "scipy_table": rec["table"]["scipy_s"] / rec["table"]["ours_s"],
        "networkx_table": rec["table"]["networkx_s_extrapolated"] / rec["table"]["ours_s"],
        "pandana_table": (rec["table"]["pandana_s"] / rec["table"]["ours_s"])
        if "pandana_s" in rec["table"]
        else None,
        "scipy_single_need": rec["single_need"]["scipy_ms"] / rec["single_need"]["ours_p50_ms"],
        "networkx_single_need": rec["single_need"]["networkx_ms_extrapolated"]
        / rec["single_need"]["ours_p50_ms"],
        "scipy_batch": scipy_s / runs[best],
        "networkx_batch": rec["batch"]["networkx_s_extrapolated"] / runs[best],
    }
    return rec


def _time(fn: Any) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def targets_report(rec: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue, the measured figure, and whether it is met."""
    figures = {
        "batch_s": rec["batch"]["ours_s"],
        "single_need_p95_ms": rec["single_need"]["ours_p95_ms"],
        "scipy_batch_ratio": rec["ratios"]["scipy_batch"],
        "networkx_batch_ratio": rec["ratios"]["networkx_batch"],
        "pandana_table_ratio": rec["ratios"]["pandana_table"],
        "startup_cached_s": rec["startup"]["cached"]["process_s"],
    }
    out = {}
    for key, target in TARGETS.items():
        value = figures[key]
        lower_is_better = key in ("batch_s", "single_need_p95_ms", "startup_cached_s")
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
    parser.add_argument("--quick", action="store_true", help="small graph and workload")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--only", help="comma-separated graph names to run")
    parser.add_argument("--summarise", type=Path, help="print the markdown summary of a JSON run")
    args = parser.parse_args(argv)
    if args.summarise:
        print(summary_markdown(json.loads(args.summarise.read_text())))
        return 0

    quick = args.quick
    sizes = (
        {"n_needs": 200, "n_offers": 200, "n_table": 200, "n_single": 100, "nx_sample": 2}
        if quick
        else {"n_needs": 1000, "n_offers": 1000, "n_table": 1000, "n_single": 300, "nx_sample": 5}
    )
    graphs = load_graphs(args.cache_dir, quick)
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
        "graphs": [],
    }
    for bg in graphs:
        small = bg.kind == "osm"
        rec = bench_graph(
            bg,
            seed=7,
            batch_size=min(sizes["n_needs"], 300) if small else sizes["n_needs"],
            **sizes,
        )
        rec["targets"] = targets_report(rec)
        report["graphs"].append(rec)
    report["peak_rss_mb_benchmark_process"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    text = json.dumps(report, indent=2, default=_json_default)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(summary_markdown(report))
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
