"""Dial-a-ride benchmark: the pooled planner against Google OR-Tools on Cordeau's instances.

Run ``python -m benchmarks.darp ../shared/data/darp/cordeau-laporte-a --json
benchmarks/results/darp-YYYY-MM-DD.json [--time-limit 10] [--only a2-16]``.

Each instance (Cordeau format, see :mod:`matching.pooling.cordeau`; best known costs in
``BKS.csv`` beside them) is solved by the same solver core as the day planner
(:func:`matching.pooling.plan_routes`: regret insertion then large neighbourhood search) and,
as the peer, by OR-Tools' routing solver (pickup and delivery, time windows, capacity, ride
time as a constraint on the time dimension, maximum route duration, guided local search) with
the same time budget. Every solution is checked twice: by :func:`matching.pooling.check_plan`
(ours) and by :func:`recheck_routes`, which re-reads the raw file and the routes as written
in the JSON (``[node_id, service_start_minute]`` from depot 0 back to depot 0).

Benchmarks are not tests: nothing here asserts; the JSON records the figures and whether the
targets (all feasible, mean gap <= 1 %, worst <= 3 %, better than OR-Tools) were met.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from matching.pooling import check_plan, plan_routes, warm_up
from matching.pooling.cordeau import CordeauInstance, read_cordeau

ORTOOLS_SCALE = 1000  # OR-Tools needs integers: thousandths of a minute
DROP_PENALTY = 10**9


def read_bks(folder: Path) -> dict[str, float]:
    """Best known costs by instance name (empty when ``BKS.csv`` is absent)."""
    path = folder / "BKS.csv"
    if not path.exists():
        return {}
    with path.open() as fh:
        return {row["instance"]: float(row["best_known_cost"]) for row in csv.DictReader(fh)}


def recheck_routes(
    path: Path, routes: list[list[list[float]]], tol: float = 1e-6
) -> tuple[list[str], float]:
    """Re-check routes against the raw Cordeau file; returns (problems, recomputed cost).

    Independent of the solver and of :mod:`matching.pooling`: parses the file again.
    """
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    nv, nn, dur, cap, ride = (float(x) for x in lines[0])
    n = int(nn) // 2
    rows = {int(float(ln[0])): [float(x) for x in ln[1:7]] for ln in lines[1 : int(nn) + 2]}
    errs: list[str] = []
    if len(routes) > nv:
        errs.append(f"{len(routes)} routes for {int(nv)} vehicles")
    seen: dict[int, int] = {}
    cost = 0.0
    for k, route in enumerate(routes):
        if len(route) < 2 or int(route[0][0]) != 0 or int(route[-1][0]) != 0:
            errs.append(f"route {k} does not start and end at depot 0")
            continue
        load = 0
        picked: dict[int, float] = {}
        for h, (node_f, t) in enumerate(route):
            node = int(node_f)
            x, y, service, dem, lo, hi = rows[node]
            if h > 0:
                pn = int(route[h - 1][0])
                px, py, ps = rows[pn][0], rows[pn][1], rows[pn][2]
                dd = math.hypot(x - px, y - py)
                cost += dd
                if route[h - 1][1] + (ps if h - 1 > 0 else 0.0) + dd > t + tol:
                    errs.append(f"route {k}: node {node} reached after its service start {t}")
            if t < lo - tol or t > hi + tol:
                errs.append(f"route {k}: node {node} served at {t} outside [{lo}, {hi}]")
            if 0 < h < len(route) - 1:
                if node == 0:
                    errs.append(f"route {k}: depot in the middle")
                    continue
                seen[node] = seen.get(node, 0) + 1
                load += int(dem)
                if load > cap:
                    errs.append(f"route {k}: load {load} over {int(cap)} at node {node}")
                if node <= n:
                    picked[node] = t + service
                elif node - n not in picked:
                    errs.append(f"route {k}: drop-off {node} before its pickup")
                elif t - picked.pop(node - n) > ride + tol:
                    errs.append(f"route {k}: ride of request {node - n} over {ride}")
        if picked:
            errs.append(f"route {k}: pickups {sorted(picked)} never dropped off")
        if route[-1][1] - route[0][1] > dur + tol:
            errs.append(f"route {k}: lasts {route[-1][1] - route[0][1]} over {dur}")
    for node in range(1, 2 * n + 1):
        if seen.get(node, 0) != 1:
            errs.append(f"node {node} visited {seen.get(node, 0)} times")
    return errs, cost


def _json_routes(plan: Any) -> list[list[list[float]]]:
    out = []
    for rt in plan.routes:
        if rt.n_requests == 0:
            continue
        out.append(
            [[int(node), float(t)] for node, t in zip(rt.node, rt.service_start_s, strict=True)]
        )
    return out


def _gap(cost: float | None, bks: float | None) -> float | None:
    if cost is None or bks is None:
        return None
    return round(100.0 * (cost / bks - 1.0), 3)


def solve_ours(ci: CordeauInstance, path: Path, limit: float, bks: float | None) -> dict[str, Any]:
    """Solve with the pooled planner; both checks; anytime figures."""
    t = time.perf_counter()
    plan = plan_routes(ci.instance, time_limit_s=limit, seed=0)
    seconds = time.perf_counter() - t
    problems = check_plan(ci.instance, plan)
    routes = _json_routes(plan)
    reproblems, recost = recheck_routes(path, routes)
    at_1s = [obj for s, obj in plan.history if s <= 1.0]
    cost_1s = at_1s[-1].added_distance_m if at_1s else None
    return {
        "cost": round(plan.distance_m, 4),
        "seconds": round(seconds, 3),
        "first_plan_seconds": round(plan.first_plan_seconds, 4),
        "iterations": plan.iterations,
        "gap_percent": None if problems or reproblems else _gap(plan.distance_m, bks),
        "cost_1s": None if cost_1s is None else round(cost_1s, 4),
        "gap_percent_1s": _gap(cost_1s, bks),
        "feasible": not problems and not reproblems,
        "check_problems": problems[:10],
        "recheck_problems": reproblems[:10],
        "recheck_cost": round(recost, 4),
        "history": [[round(s, 3), round(o.added_distance_m, 4)] for s, o in plan.history],
        "routes": routes,
    }


def solve_ortools(
    ci: CordeauInstance, path: Path, limit: float, bks: float | None
) -> dict[str, Any]:
    """Solve with OR-Tools routing (pickup and delivery, windows, capacity, ride, duration)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    sc = ORTOOLS_SCALE
    t0 = time.perf_counter()
    n_nodes = ci.xy.shape[0]
    n = (n_nodes - 1) // 2
    dist = ci.instance.distance_m
    cost_i = np.rint(dist * sc).astype(np.int64)
    # ceil keeps an integer schedule feasible with the true (float) travel times
    time_i = (np.ceil(dist * sc - 1e-6) + np.rint(ci.service * sc)[:, None]).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n_nodes, ci.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)
    cost_cb = routing.RegisterTransitMatrix(cost_i.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    time_cb = routing.RegisterTransitMatrix(time_i.tolist())
    horizon = int(ci.tw[:, 1].max() * sc)
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    load_cb = routing.RegisterUnaryTransitVector([int(x) for x in ci.load])
    routing.AddDimensionWithVehicleCapacity(load_cb, 0, [ci.capacity] * ci.vehicles, True, "load")
    solver = routing.solver()
    for node in range(1, n_nodes):
        idx = manager.NodeToIndex(node)
        tdim.CumulVar(idx).SetRange(int(ci.tw[node, 0] * sc), int(ci.tw[node, 1] * sc))
    ride = int(round(ci.max_ride_time * sc))
    for i in range(1, n + 1):
        p = manager.NodeToIndex(i)
        d = manager.NodeToIndex(i + n)
        routing.AddPickupAndDelivery(p, d)
        # a dropped pair costs more than any route: lets the first-solution heuristic start
        # on tight instances; a plan that drops one is reported infeasible by the recheck
        routing.AddDisjunction([p, d], DROP_PENALTY, 2)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(tdim.CumulVar(p) <= tdim.CumulVar(d))
        # ride time: from the end of the pickup service to the start of the drop-off
        solver.Add(tdim.CumulVar(d) - tdim.CumulVar(p) <= ride + int(round(ci.service[i] * sc)))
    dur = int(round(ci.max_route_duration * sc))
    for v in range(ci.vehicles):
        s = routing.Start(v)
        e = routing.End(v)
        tdim.CumulVar(s).SetRange(int(ci.tw[0, 0] * sc), int(ci.tw[0, 1] * sc))
        tdim.CumulVar(e).SetRange(int(ci.tw[0, 0] * sc), int(ci.tw[0, 1] * sc))
        solver.Add(tdim.CumulVar(e) - tdim.CumulVar(s) <= dur)
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(s))
        routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(s))
    history: list[list[float]] = []

    def on_solution() -> None:
        history.append([round(time.perf_counter() - t0, 3), routing.CostVar().Max() / sc])

    routing.AddAtSolutionCallback(on_solution)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(limit * 1000))
    sol = routing.SolveWithParameters(params)
    seconds = time.perf_counter() - t0
    if sol is None:
        return {
            "cost": None,
            "seconds": round(seconds, 3),
            "feasible": False,
            "gap_percent": None,
            "gap_percent_1s": None,
            "routes": [],
            "recheck_problems": ["no solution"],
        }
    routes = []
    for v in range(ci.vehicles):
        idx = routing.Start(v)
        route = []
        while True:
            node = manager.IndexToNode(idx)
            route.append([node, sol.Value(tdim.CumulVar(idx)) / sc])
            if routing.IsEnd(idx):
                break
            idx = sol.Value(routing.NextVar(idx))
        if len(route) > 2:
            routes.append(route)
    problems, cost = recheck_routes(path, routes)
    # solutions that drop a request (penalty in the cost) do not count as plans
    at_1s = [c for s, c in history if s <= 1.0 and c < DROP_PENALTY / sc]
    return {
        "cost": round(cost, 4),
        "seconds": round(seconds, 3),
        "gap_percent": None if problems else _gap(cost, bks),
        "gap_percent_1s": _gap(at_1s[-1], bks) if at_1s else None,
        "feasible": not problems,
        "recheck_problems": problems[:10],
        "history": history,
        "routes": routes,
    }


def _summary(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    gaps = [r[key]["gap_percent"] for r in rows if r[key].get("gap_percent") is not None]
    gaps1 = [r[key]["gap_percent_1s"] for r in rows if r[key].get("gap_percent_1s") is not None]
    return {
        "feasible": sum(bool(r[key]["feasible"]) for r in rows),
        "instances": len(rows),
        "mean_gap_percent": round(float(np.mean(gaps)), 3) if gaps else None,
        "worst_gap_percent": round(float(np.max(gaps)), 3) if gaps else None,
        "mean_gap_percent_1s": round(float(np.mean(gaps1)), 3) if gaps1 else None,
        "with_1s_plan": len(gaps1),
    }


def markdown(result: dict[str, Any]) -> str:
    """The results table (ours vs OR-Tools, gap after 1 s and at the time limit)."""
    lim = result["time_limit_s"]
    out = [
        f"| instance | best known | ours cost | ours gap % (1 s) | ours gap % ({lim:g} s) "
        f"| OR-Tools cost | OR-Tools gap % (1 s) | OR-Tools gap % ({lim:g} s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def f(x: Any) -> str:
        return "—" if x is None else f"{x:.2f}"

    for r in result["instances"]:
        o, g = r["ours"], r.get("ortools", {})
        mark = "" if o["feasible"] else " (INFEASIBLE)"
        gmark = "" if not g or g.get("feasible") else " (INFEASIBLE)"
        out.append(
            f"| {r['name']} | {f(r['best_known_cost'])} | {f(o['cost'])}{mark} | "
            f"{f(o['gap_percent_1s'])} | {f(o['gap_percent'])} | {f(g.get('cost'))}{gmark} | "
            f"{f(g.get('gap_percent_1s'))} | {f(g.get('gap_percent'))} |"
        )
    s = result["summary"]
    for key, label in (("ours", "ours"), ("ortools", "OR-Tools")):
        if key in s:
            x = s[key]
            out.append(
                f"\n**{label}**: {x['feasible']}/{x['instances']} feasible, mean gap "
                f"{f(x['mean_gap_percent'])} % (worst {f(x['worst_gap_percent'])} %), "
                f"mean gap after 1 s {f(x['mean_gap_percent_1s'])} % "
                f"({x['with_1s_plan']} instances with a plan by then)."
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="folder of Cordeau-format .txt files (+ BKS.csv)")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--only", action="append", default=[], help="instance name (repeatable)")
    ap.add_argument("--no-ortools", action="store_true", help="skip the OR-Tools peer")
    ap.add_argument("--markdown", type=Path, help="also write the results table there")
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    files = sorted(args.folder.glob("*.txt"), key=lambda p: (len(p.stem), p.stem))
    if args.only:
        files = [p for p in files if p.stem in set(args.only)]
    if not files:
        print("error: no instance to run", file=sys.stderr)
        return 2
    bks = read_bks(args.folder)
    t = time.perf_counter()
    warm_up()
    compile_s = time.perf_counter() - t
    rows = []
    for path in files:
        ci = read_cordeau(path)
        best = bks.get(ci.name)
        row: dict[str, Any] = {"name": ci.name, "best_known_cost": best}
        row["ours"] = solve_ours(ci, path, args.time_limit, best)
        # top-level fields for ours, as the issue asks
        for k in ("cost", "seconds", "gap_percent", "gap_percent_1s", "routes"):
            row[k] = row["ours"][k]
        if not args.no_ortools:
            row["ortools"] = solve_ortools(ci, path, args.time_limit, best)
        rows.append(row)
        g = row.get("ortools", {})
        print(
            f"{ci.name}: ours {row['cost']} (gap {row['gap_percent']} %, 1 s "
            f"{row['gap_percent_1s']} %, feasible {row['ours']['feasible']}) | OR-Tools "
            f"{g.get('cost')} (gap {g.get('gap_percent')} %, feasible {g.get('feasible')})",
            flush=True,
        )
    summary = {"ours": _summary(rows, "ours")}
    if not args.no_ortools:
        summary["ortools"] = _summary(rows, "ortools")
    o = summary["ours"]
    targets = {
        "all_feasible": o["feasible"] == o["instances"],
        "mean_gap_le_1": o["mean_gap_percent"] is not None and o["mean_gap_percent"] <= 1.0,
        "worst_gap_le_3": o["worst_gap_percent"] is not None and o["worst_gap_percent"] <= 3.0,
    }
    if "ortools" in summary and summary["ortools"]["mean_gap_percent"] is not None:
        targets["better_than_ortools"] = (o["mean_gap_percent"] or 0) < summary["ortools"][
            "mean_gap_percent"
        ]
    result = {
        "benchmark": "darp",
        "folder": str(args.folder),
        "time_limit_s": args.time_limit,
        "compile_seconds": round(compile_s, 2),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "summary": summary,
        "targets": targets,
        "instances": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    table = markdown(result)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
