"""Transit journey-search benchmark: RAPTOR (gtfs_import) against networkx Dijkstra.

Run ``python -m benchmarks.transit --json benchmarks/results/transit-YYYY-MM-DD.json``
(``--quick`` for a short run). For each feed (the TER lines serving the Lot, and the whole
France TER feed) it reports:

* preparation: reading the feed, building the timetable for one service day, the router;
* RAPTOR compile time, measured in a subprocess with an empty numba cache, and the time of
  the first call when the on-disk cache is warm;
* warm latency (p50, p95, mean, max) of ``depart_after`` and ``arrive_by`` queries between
  random stations at random times (same seeded queries for every engine);
* the baseline on the same queries: Dijkstra (networkx) on a time-expanded graph with the
  same rules (change time at a stop, footpaths after a ride, access/egress walks);
* agreement: the earliest arrival of both engines must be equal on every query;
* range queries: p50/p95 of 2-hour ``depart_window`` and ``arrive_window`` (rRAPTOR) on
  the same seeded queries, against the naive peer (``depart_after``/``arrive_by`` at every
  instant of the window where a first trip is caught, then Pareto filtering), whose
  answers must be the same; CPU time of both on the same subset.

Benchmarks are not tests: nothing here asserts; the JSON records targets and whether they
were met (warm p95 under 5 ms on the Lot lines, under 50 ms on the whole France feed).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOT_SHARED_DATA", ROOT.parent / "shared" / "data"))
SERVICE_DATE = "20250124"  # a Friday of the 2025 feeds
FEEDS = {
    "lot-lines": ("gtfs/ter-lines-serving-lot-2025-01.zip", 5.0),
    "france-ter": ("gtfs/sncf-ter-2025-01.zip", 50.0),
}
MAX_TRANSFERS = 8  # high enough that the earliest arrival is never cut by the limit
WINDOW_S = 2 * 3600  # the window of the range queries
WINDOW_TRANSFERS = 4  # the app's default limit for journey searches


@dataclass(frozen=True)
class Query:
    origin: str
    destination: str
    time_s: int


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """Latency summary in milliseconds."""
    a = np.asarray(samples_s) * 1000.0
    return {
        "n": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 4),
        "p95_ms": round(float(np.percentile(a, 95)), 4),
        "mean_ms": round(float(a.mean()), 4),
        "max_ms": round(float(a.max()), 4),
    }


def make_queries(tt: Any, n: int, seed: int, max_km: float = 200.0) -> list[Query]:
    """Random station pairs at most ``max_km`` apart (TER trips are regional), departures
    from 05:00 to 20:00 on the service day."""
    served = np.zeros(tt.n_stops, dtype=bool)
    served[tt.pattern_stops] = True
    parents = np.array(sorted({int(p) for p in tt.stop_parent[served] if p >= 0}))
    lat = np.radians(tt.stop_lat[parents])
    lon = np.radians(tt.stop_lon[parents])
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        i = rng.randrange(len(parents))
        x = (lon - lon[i]) * np.cos((lat + lat[i]) / 2)
        km = 6371.0 * np.hypot(x, lat - lat[i])
        near = np.flatnonzero((km <= max_km) & (np.arange(len(parents)) != i))
        if len(near) == 0:
            continue
        j = int(near[rng.randrange(len(near))])
        out.append(
            Query(
                str(tt.stop_ids[parents[i]]),
                str(tt.stop_ids[parents[j]]),
                rng.randrange(5 * 3600, 20 * 3600, 60),
            )
        )
    return out


class TimeExpandedGraph:
    """Time-expanded graph of a timetable for networkx Dijkstra (the baseline).

    Nodes: arrival and departure events of every trip at every stop, and one waiting node
    per departure where boarding is allowed, chained in time order at each stop. Edges
    weigh the time they take, so a shortest path length is a travel time.
    """

    def __init__(self, tt: Any) -> None:
        self.tt = tt
        g = nx.DiGraph()
        n_trips = tt.n_trips
        pso, pto = tt.pattern_stop_offset, tt.pattern_trip_offset
        self.waits: dict[int, tuple[list[int], list[tuple]]] = {}
        waits: dict[int, list[tuple[int, tuple]]] = {}
        for p in range(tt.n_patterns):
            stops = tt.pattern_stops[pso[p] : pso[p + 1]].tolist()
            pickup = tt.pattern_pickup[pso[p] : pso[p + 1]].tolist()
            for t in range(pto[p], pto[p + 1]):
                off = int(tt.trip_time_offset[t])
                arr = tt.arrival_s[off : off + len(stops)].tolist()
                dep = tt.departure_s[off : off + len(stops)].tolist()
                for i in range(len(stops)):
                    g.add_edge(("a", t, i), ("d", t, i), w=dep[i] - arr[i])
                    if i + 1 < len(stops):
                        g.add_edge(("d", t, i), ("a", t, i + 1), w=arr[i + 1] - dep[i])
                    if pickup[i]:
                        waits.setdefault(stops[i], []).append((dep[i], ("d", t, i)))
        for s, events in waits.items():
            events.sort(key=lambda e: e[0])
            times = [e[0] for e in events]
            nodes = [("w", s, j) for j in range(len(events))]
            for j, (_, d) in enumerate(events):
                g.add_edge(nodes[j], d, w=0)
                if j + 1 < len(events):
                    g.add_edge(nodes[j], nodes[j + 1], w=times[j + 1] - times[j])
            self.waits[s] = (times, nodes)
        self.foot = {
            u: list(
                zip(
                    tt.foot_to[tt.foot_offset[u] : tt.foot_offset[u + 1]].tolist(),
                    tt.foot_s[tt.foot_offset[u] : tt.foot_offset[u + 1]].tolist(),
                    strict=True,
                )
            )
            for u in range(tt.n_stops)
        }
        # Alighting: change at the stop, or walk a footpath, then wait for a departure.
        self.alight: dict[int, list[tuple[tuple, int]]] = {}
        for p in range(tt.n_patterns):
            stops = tt.pattern_stops[pso[p] : pso[p + 1]].tolist()
            drop = tt.pattern_dropoff[pso[p] : pso[p + 1]].tolist()
            for t in range(pto[p], pto[p + 1]):
                off = int(tt.trip_time_offset[t])
                for i, s in enumerate(stops):
                    if not drop[i]:
                        continue
                    a = int(tt.arrival_s[off + i])
                    node = ("a", t, i)
                    self.alight.setdefault(s, []).append((node, a))
                    for v, d in [(s, tt.min_change_s), *self.foot[s]]:
                        target = self._wait_after(v, a + d)
                        if target is not None:
                            g.add_edge(node, target[0], w=target[1] - a)
        self.graph = g
        self.n_trips = n_trips

    def _wait_after(self, stop: int, t: int) -> tuple[tuple, int] | None:
        if stop not in self.waits:
            return None
        times, nodes = self.waits[stop]
        j = bisect.bisect_left(times, t)
        return (nodes[j], times[j]) if j < len(times) else None

    def earliest_arrival(
        self, access: dict[int, int], egress: dict[int, int], depart: int
    ) -> float:
        """Earliest arrival at the destination point, or ``inf``."""
        g = self.graph
        src, sink = ("source",), ("sink",)
        added = []
        best_direct = np.inf
        for s, w in access.items():
            for v, d in [(s, 0), *self.foot[s]]:
                if v in egress:
                    best_direct = min(best_direct, depart + w + d + egress[v])
                target = self._wait_after(v, depart + w + d)
                if target is not None:
                    old = g.get_edge_data(src, target[0])
                    weight = target[1] - depart
                    if old is None or old["w"] > weight:
                        g.add_edge(src, target[0], w=weight)
                        added.append((src, target[0]))
        for v, e in egress.items():
            # Alight at a destination stop, or alight nearby and walk a footpath to it.
            for u, d in [(v, 0), *self.foot[v]]:  # footpaths are symmetric
                for node, _ in self.alight.get(u, []):
                    old = g.get_edge_data(node, sink)
                    if old is None or old["w"] > d + e:
                        g.add_edge(node, sink, w=d + e)
                        added.append((node, sink))
        try:
            if src in g and sink in g:
                dist = nx.dijkstra_path_length(g, src, sink, weight="w")
                best = min(best_direct, depart + dist)
            else:
                best = best_direct
        except nx.NetworkXNoPath:
            best = best_direct
        finally:
            for u, v in added:
                if g.has_edge(u, v):
                    g.remove_edge(u, v)
            for n in (src, sink):
                if n in g:
                    g.remove_node(n)
        return best


def _key(j: Any) -> tuple[int, int, int, int]:
    return (j.departure_s, j.arrival_s, j.transfers, j.trips)


def _pareto(keys: set[tuple[int, int, int, int]]) -> set[tuple[int, int, int, int]]:
    return {
        k
        for k in keys
        if not any(o[:3] != k[:3] and o[0] >= k[0] and o[1] <= k[1] and o[2] <= k[2] for o in keys)
    }


class NaiveWindow:
    """The peer of the range queries: one single query at every instant of the window
    where a first trip is caught exactly (a departure, or an arrival backward, at a stop
    reached from the point, minus the walk), then Pareto filtering."""

    def __init__(self, tt: Any) -> None:
        self.tt = tt
        pso = tt.pattern_stop_offset
        n_ev = len(tt.arrival_s)
        trip_len = np.diff(pso)[tt.trip_pattern]
        ev_trip = np.repeat(np.arange(tt.n_trips), trip_len)
        pos = np.arange(n_ev) - tt.trip_time_offset[ev_trip]
        ev_stop = tt.pattern_stops[pso[tt.trip_pattern[ev_trip]] + pos]
        order = np.argsort(ev_stop, kind="stable")
        self.stop_offset = np.r_[0, np.cumsum(np.bincount(ev_stop, minlength=tt.n_stops))]
        self.dep = tt.departure_s[order]
        self.arr = tt.arrival_s[order]
        self.children: dict[int, list[int]] = {}
        for c, p in enumerate(tt.stop_parent.tolist()):
            if p >= 0:
                self.children.setdefault(p, []).append(c)
        self.index = {s: i for i, s in enumerate(tt.stop_ids.tolist())}

    def instants(self, station: str, lo: int, hi: int, backward: bool) -> list[int]:
        tt = self.tt
        i = self.index[station]
        offsets: dict[int, int] = {}
        for s in [i, *self.children.get(i, [])]:
            offsets[s] = 0
            for e in range(tt.foot_offset[s], tt.foot_offset[s + 1]):
                v = int(tt.foot_to[e])
                offsets[v] = min(offsets.get(v, 2**31), int(tt.foot_s[e]))
        times = {lo, hi}
        for v, o in offsets.items():
            a, b = self.stop_offset[v], self.stop_offset[v + 1]
            t = (self.arr[a:b] + o) if backward else (self.dep[a:b] - o)
            times.update(t[(t >= lo) & (t <= hi)].tolist())
        return sorted(times)

    def window(self, router: Any, q: Query, start: int, backward: bool) -> tuple[set, int]:
        """The answer (journey keys) and the number of single queries run."""
        if backward:
            instants = self.instants(q.destination, start - WINDOW_S, start, True)
            runs = [
                router.arrive_by({q.origin: 0}, {q.destination: 0}, t, WINDOW_TRANSFERS)
                for t in instants
            ]
        else:
            instants = self.instants(q.origin, start, start + WINDOW_S, False)
            runs = [
                router.depart_after({q.origin: 0}, {q.destination: 0}, t, WINDOW_TRANSFERS)
                for t in instants
            ]
        keys = {_key(j) for js in runs for j in js}
        at = 1 if backward else 0
        kept = {k for k in _pareto(keys) if k[3] > 0 or k[at] == start}
        return kept, len(instants)


def bench_windows(router: Any, tt: Any, queries: list[Query], n_naive: int) -> dict[str, Any]:
    """p50/p95 of 2-hour depart_window / arrive_window, and the naive peer on a subset."""
    naive = NaiveWindow(tt)
    out: dict[str, Any] = {"window_s": WINDOW_S, "max_transfers": WINDOW_TRANSFERS}
    for kind in ("depart_window", "arrive_window"):
        backward = kind == "arrive_window"
        samples, answers, cpu0 = [], [], time.process_time()
        for q in queries:
            start = q.time_s + 4 * 3600 if backward else q.time_s
            method = router.arrive_window if backward else router.depart_window
            t0 = time.perf_counter()
            js = method({q.origin: 0}, {q.destination: 0}, start, WINDOW_S, WINDOW_TRANSFERS)
            samples.append(time.perf_counter() - t0)
            answers.append({_key(j) for j in js})
        rec: dict[str, Any] = {
            "rraptor": {**percentiles(samples), "cpu_s": round(time.process_time() - cpu0, 3)},
            "journeys_per_query_mean": round(float(np.mean([len(a) for a in answers])), 2),
        }
        n_samples, n_single, mismatches, cpu0 = [], [], [], time.process_time()
        rr_cpu = 0.0
        for q, expected in zip(queries[:n_naive], answers, strict=False):
            start = q.time_s + 4 * 3600 if backward else q.time_s
            t0 = time.perf_counter()
            got, n_runs = naive.window(router, q, start, backward)
            n_samples.append(time.perf_counter() - t0)
            n_single.append(n_runs)
            if got != expected:
                mismatches.append(
                    {"query": q.__dict__, "rraptor": sorted(expected), "naive": sorted(got)}
                )
        naive_cpu = time.process_time() - cpu0
        cpu0 = time.process_time()
        for q in queries[:n_naive]:
            start = q.time_s + 4 * 3600 if backward else q.time_s
            method = router.arrive_window if backward else router.depart_window
            method({q.origin: 0}, {q.destination: 0}, start, WINDOW_S, WINDOW_TRANSFERS)
        rr_cpu = time.process_time() - cpu0
        rec["naive"] = {
            **percentiles(n_samples),
            "single_queries_mean": round(float(np.mean(n_single)), 1),
            "cpu_s": round(naive_cpu, 3),
        }
        rec["cpu_ratio_naive_over_rraptor"] = round(naive_cpu / max(rr_cpu, 1e-9), 1)
        rec["agreement"] = {
            "checked": len(n_samples),
            "equal": len(n_samples) - len(mismatches),
            "mismatches": mismatches[:5],
        }
        out[kind] = rec
    return out


def _cold_probe(feed_path: str) -> None:
    """Subprocess entry: time the first query (compile or cache load) and print JSON."""
    import gtfs_import

    tt = gtfs_import.build_timetable(gtfs_import.read_feed(feed_path), SERVICE_DATE)
    router = gtfs_import.TransitRouter(tt)
    q = make_queries(tt, 1, seed=1)[0]
    t0 = time.perf_counter()
    router.depart_after({q.origin: 0}, {q.destination: 0}, q.time_s)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    router.depart_window({q.origin: 0}, {q.destination: 0}, q.time_s, WINDOW_S)
    first_window = time.perf_counter() - t0
    t0 = time.perf_counter()
    router.arrive_by({q.origin: 0}, {q.destination: 0}, q.time_s)
    second = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "first_depart_after_s": first,
                "first_arrive_by_s": second,
                "first_depart_window_s": first_window,
            }
        )
    )


def measure_first_call(feed_path: Path) -> dict[str, Any]:
    """First-call times with an empty numba cache (compile) and with a warm one."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "benchmarks.transit", "--cold-probe", str(feed_path)]
        for label in ("empty_cache", "warm_cache"):
            res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
            probe = json.loads(res.stdout.strip().splitlines()[-1])
            out[label] = {k: round(v, 4) for k, v in probe.items()}
    out["compile_s"] = out["empty_cache"]["first_depart_after_s"]
    return out


def bench_feed(
    name: str,
    rel: str,
    target_ms: float,
    n_raptor: int,
    n_baseline: int,
    n_window: int,
    n_naive: int,
) -> dict[str, Any]:
    import gtfs_import

    path = SHARED / rel
    rec: dict[str, Any] = {"feed": name, "path": rel, "service_date": SERVICE_DATE}
    t0 = time.perf_counter()
    feed = gtfs_import.read_feed(path)
    rec["read_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    tt = gtfs_import.build_timetable(feed, SERVICE_DATE)
    rec["build_timetable_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    router = gtfs_import.TransitRouter(tt)
    rec["router_s"] = round(time.perf_counter() - t0, 4)
    rec["size"] = {
        "stops": tt.n_stops,
        "trips": tt.n_trips,
        "patterns": tt.n_patterns,
        "stop_events": len(tt.arrival_s),
        "footpaths": len(tt.foot_to),
        "shapes": len(tt.shape_offset) - 1,
        "shape_points": len(tt.shape_lat),
        "shape_and_accessibility_bytes": int(
            sum(
                getattr(tt, f).nbytes
                for f in (
                    "stop_wheelchair",
                    "trip_wheelchair",
                    "trip_shape",
                    "shape_offset",
                    "shape_lat",
                    "shape_lon",
                    "event_shape_lat",
                    "event_shape_lon",
                    "event_shape_next",
                )
            )
        ),
    }
    rec["first_call"] = measure_first_call(path)
    queries = make_queries(tt, n_raptor, seed=2025)
    router.depart_after({queries[0].origin: 0}, {queries[0].destination: 0}, queries[0].time_s)
    router.arrive_by({queries[0].origin: 0}, {queries[0].destination: 0}, queries[0].time_s)
    answers: list[float] = []
    raptor: dict[str, Any] = {}
    for kind, max_tr in (
        ("depart_after", MAX_TRANSFERS),
        ("depart_after_max4", 4),
        ("arrive_by", MAX_TRANSFERS),
    ):
        samples = []
        for q in queries:
            t0 = time.perf_counter()
            if kind == "arrive_by":
                router.arrive_by({q.origin: 0}, {q.destination: 0}, q.time_s + 4 * 3600, max_tr)
            else:
                js = router.depart_after({q.origin: 0}, {q.destination: 0}, q.time_s, max_tr)
            samples.append(time.perf_counter() - t0)
            if kind == "depart_after":
                answers.append(js[-1].arrival_s if js else np.inf)
        raptor[kind] = percentiles(samples)
    rec["raptor"] = raptor
    rec["windows"] = bench_windows(router, tt, queries[:n_window], n_naive)
    t0 = time.perf_counter()
    te = TimeExpandedGraph(tt)
    rec["baseline"] = {
        "engine": f"networkx {nx.__version__} Dijkstra on a time-expanded graph",
        "graph_build_s": round(time.perf_counter() - t0, 2),
        "nodes": te.graph.number_of_nodes(),
        "edges": te.graph.number_of_edges(),
    }
    index = {s: i for i, s in enumerate(tt.stop_ids.tolist())}
    children: dict[int, list[int]] = {}
    for c, p in enumerate(tt.stop_parent.tolist()):
        if p >= 0:
            children.setdefault(p, []).append(c)
    samples, mismatches, raptor_same = [], [], []
    for q, expected in zip(queries[:n_baseline], answers, strict=False):
        access = {s: 0 for s in children[index[q.origin]]}
        egress = {s: 0 for s in children[index[q.destination]]}
        t0 = time.perf_counter()
        got = te.earliest_arrival(access, egress, q.time_s)
        samples.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        router.depart_after({q.origin: 0}, {q.destination: 0}, q.time_s, MAX_TRANSFERS)
        raptor_same.append(time.perf_counter() - t0)
        if got != expected:
            mismatches.append({"query": q.__dict__, "raptor": expected, "networkx": got})
    rec["baseline"]["depart_after"] = percentiles(samples)
    rec["raptor_on_baseline_queries"] = percentiles(raptor_same)
    rec["agreement"] = {
        "checked": len(samples),
        "equal": len(samples) - len(mismatches),
        "reachable": int(sum(np.isfinite(a) for a in answers[:n_baseline])),
        "mismatches": mismatches[:10],
    }
    p95 = raptor["depart_after"]["p95_ms"]
    w = rec["windows"]
    rec["target"] = {
        "warm_p95_ms": target_ms,
        "met": bool(p95 < target_ms and raptor["arrive_by"]["p95_ms"] < target_ms),
        "windows_met": bool(
            w["depart_window"]["rraptor"]["p95_ms"] < target_ms
            and w["arrive_window"]["rraptor"]["p95_ms"] < target_ms
        ),
    }
    return rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--quick", action="store_true", help="few queries, for a smoke run")
    parser.add_argument("--feeds", nargs="*", default=list(FEEDS), choices=list(FEEDS))
    parser.add_argument("--cold-probe", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_probe:
        _cold_probe(args.cold_probe)
        return 0
    import numba

    import gtfs_import  # noqa: F401  (imported here so that --cold-probe starts cold)

    sizes = {  # RAPTOR, networkx, window, naive-window queries
        "lot-lines": (200, 20, 50, 10) if args.quick else (2000, 300, 500, 100),
        "france-ter": (100, 5, 30, 5) if args.quick else (1000, 40, 300, 40),
    }
    results: dict[str, Any] = {
        "benchmark": "transit",
        "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": {
            "python": platform.python_version(),
            "numba": numba.__version__,
            "numpy": np.__version__,
            "networkx": nx.__version__,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "git_commit": _git_commit(),
        "queries": "random station pairs at most 200 km apart, departures 05:00-20:00; arrive-by queries use the departure time + 4 h as deadline",
        "feeds": [],
    }
    for name in args.feeds:
        rel, target = FEEDS[name]
        if not (SHARED / rel).exists():
            print(f"skip {name}: {SHARED / rel} is absent", file=sys.stderr)
            continue
        rec = bench_feed(name, rel, target, *sizes[name])
        results["feeds"].append(rec)
        r, b = rec["raptor"], rec["baseline"]
        print(
            f"{name}: RAPTOR depart_after p50 {r['depart_after']['p50_ms']:.3f} ms "
            f"p95 {r['depart_after']['p95_ms']:.3f} ms, arrive_by p95 {r['arrive_by']['p95_ms']:.3f} ms "
            f"(target {target} ms: {'met' if rec['target']['met'] else 'MISSED'}); "
            f"compile {rec['first_call']['compile_s']:.2f} s; networkx p50 "
            f"{b['depart_after']['p50_ms']:.1f} ms; agreement "
            f"{rec['agreement']['equal']}/{rec['agreement']['checked']}"
        )
        for kind, w in rec["windows"].items():
            if not isinstance(w, dict):
                continue
            print(
                f"  {kind} (2 h): rRAPTOR p50 {w['rraptor']['p50_ms']:.3f} ms p95 "
                f"{w['rraptor']['p95_ms']:.3f} ms; naive p50 {w['naive']['p50_ms']:.2f} ms "
                f"p95 {w['naive']['p95_ms']:.2f} ms ({w['naive']['single_queries_mean']} "
                f"queries each, CPU x{w['cpu_ratio_naive_over_rraptor']}); agreement "
                f"{w['agreement']['equal']}/{w['agreement']['checked']}"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _git_commit() -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return res.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
