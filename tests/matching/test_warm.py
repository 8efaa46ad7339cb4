"""matching.warm_up compiles every kernel that a request or a day plan runs.

Each check runs in a fresh interpreter: in the test process, earlier tests have already
compiled kernels, which would hide one that the warm-up forgets.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba.core.dispatcher import Dispatcher

import matching
from tests.matching.rides_fixtures import EDGE_S, T0, at, grid_engine, need, volunteer

ROOT = Path(__file__).resolve().parents[2]
MARK = "WARM-CHECK "


def dispatchers() -> dict[str, Dispatcher]:
    """Every numba dispatcher defined in the ``matching`` package, by qualified name."""
    found: dict[str, Dispatcher] = {}
    for info in pkgutil.walk_packages(matching.__path__, "matching."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                f = value.py_func
                found[f"{f.__module__}.{f.__qualname__}"] = value
    return found


def _signatures(found: dict[str, Dispatcher]) -> dict[str, set[str]]:
    return {name: {str(s) for s in d.signatures} for name, d in found.items()}


def workload() -> set[str]:
    """What the app runs: a one-need match, a batch on the serial path (one need) and on the
    parallel path (several needs), a pooled day plan and a rider joining a booked car, on
    the 8 x 8 test grid. Returns the feasibility paths taken."""
    from matching import _feasibility
    from matching.commitments import Commitment, insertion_candidates
    from matching.day_instance import build_day_instance, plan_day_routes
    from matching.model import DriverTrip, ReturnMode
    from matching.rides import assign_batch, match_need

    paths: set[str] = set()

    def spy(name: str) -> Callable[..., Any]:
        kernel = getattr(_feasibility, name)

        def call(*args: Any) -> Any:
            paths.add(name)
            return kernel(*args)

        return call

    kept = {n: getattr(_feasibility, n) for n in ("evaluate_pairs", "evaluate_pairs_serial")}
    for name in kept:
        setattr(_feasibility, name, spy(name))
    try:
        engine = grid_engine()
        needs = [
            need("a", (0, 0), (0, 6), T0 + 3600, return_mode=ReturnMode.AFTER_WAIT,
                 return_wait_s=1800),
            need("b", (0, 1), (0, 6), T0 + 3600),
            need("c", (7, 7), (4, 0), T0 + 2 * 3600),
        ]  # fmt: skip
        trips = [
            DriverTrip("t1", "d1", *at(0, 0), *at(0, 7), T0 + 1800, T0 + 2400, max_detour_s=900),
            DriverTrip("t2", "d2", *at(0, 7), *at(0, 0), T0 + 6000, T0 + 7200, max_detour_s=900),
        ]
        vols = [volunteer("v1", (1, 1)), volunteer("v2", (6, 6))]
        match = match_need(engine, needs[0], trips, vols)
        assert match.candidates, "the one-need match found nobody: the workload is vacuous"
        assert assign_batch(engine, needs[:1], trips, vols).served == 1
        assert assign_batch(engine, needs, trips, vols).served >= 2
        day = build_day_instance(engine, needs, trips, vols)
        assert plan_day_routes(day, 0.3).served >= 2
        booked = need("booked", (1, 0), (0, 6), T0 + 3600)
        joining = need("join", (0, 1), (0, 6), T0 + 3600)
        commitment = Commitment(booked, "v1", ("outbound",), pickup_s=T0 + 3600 - 8 * EDGE_S)
        insertion_candidates(engine, joining, trips, vols, [commitment])
    finally:
        for name, kernel in kept.items():
            setattr(_feasibility, name, kernel)
    return paths


def report(warm: bool) -> None:
    """Run in a fresh interpreter: print the signatures the workload added (after the
    warm-up when ``warm``) and the feasibility paths it took."""
    found = dispatchers()
    if warm:
        matching.warm_up()
    before = _signatures(found)
    paths = workload()
    after = _signatures(found)
    gained = {n: sorted(after[n] - before[n]) for n in found if after[n] - before[n]}
    print(MARK + json.dumps({"gained": gained, "paths": sorted(paths)}))


def _run(warm: bool) -> dict[str, Any]:
    code = f"from tests.matching.test_warm import report; report({warm})"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [x for x in done.stdout.splitlines() if x.startswith(MARK)]
    assert len(lines) == 1, done.stdout[-3000:]
    result: dict[str, Any] = json.loads(lines[0][len(MARK) :])
    return result


def test_after_warm_up_no_kernel_compiles() -> None:
    result = _run(warm=True)
    assert result["paths"] == ["evaluate_pairs", "evaluate_pairs_serial"]
    gained = result["gained"]
    assert gained == {}, "kernels compiled after warm_up(): " + "; ".join(
        f"{name} {sigs}" for name, sigs in sorted(gained.items())
    )


def test_without_warm_up_the_workload_compiles_the_kernels_of_every_path() -> None:
    # The check above would pass vacuously if the workload ran no kernel: without the
    # warm-up, it must compile (or load) those of both feasibility builds, the parallel
    # bucket scan, the batch heuristics and the pooled planner.
    gained = _run(warm=False)["gained"]
    expected = {
        "matching._feasibility._evaluate_pairs_serial",
        "matching._feasibility._evaluate_pairs_parallel",
        "matching.ch._scan_parallel",
        "matching.assignment_heuristics._greedy_fill_kernel",
        "matching.assignment_heuristics._improve_kernel",
        "matching.pooling._repair.solo_feasible",
        "matching.pooling._repair.repair",
        "matching.pooling._kernels.schedule",
    }
    assert expected <= set(gained), sorted(expected - set(gained))


def test_serial_and_parallel_feasibility_are_one_function_compiled_twice() -> None:
    from matching import _feasibility as f

    serial, parallel = f.evaluate_pairs_serial, f.evaluate_pairs
    assert serial.py_func.__code__ is parallel.py_func.__code__
    assert not serial.targetoptions.get("parallel")
    assert parallel.targetoptions.get("parallel")
    # numba's cache keys a function by its qualified name, not its options: distinct names
    # keep the two builds in distinct cache files.
    assert serial.py_func.__qualname__ != parallel.py_func.__qualname__


def test_serial_and_parallel_builds_give_the_same_rows() -> None:
    import numpy as np

    from matching.model import DriverTrip, ReturnMode
    from matching.offers import build_need_arrays, build_offer_set, evaluate_tables

    rng = np.random.default_rng(9)

    def cell() -> tuple[int, int]:
        return int(rng.integers(0, 8)), int(rng.integers(0, 8))

    needs = [
        need(
            f"n{i}", cell(), cell(), T0 + int(rng.integers(1, 6)) * 1800,
            return_mode=ReturnMode.AFTER_WAIT if i % 2 else ReturnMode.NONE,
        )
        for i in range(40)
    ]  # fmt: skip
    trips = [
        DriverTrip(f"t{i}", f"d{i}", *at(*cell()), *at(*cell()), T0 + i * 600, T0 + i * 600 + 900,
                   max_detour_s=900)
        for i in range(15)
    ]  # fmt: skip
    vols = [volunteer(f"v{i}", cell()) for i in range(5)]
    engine = grid_engine()
    offers = build_offer_set(engine, trips, vols)
    arrays = build_need_arrays(engine, needs)
    tables = (
        offers.starts.times_from_point(arrays.pickup_node),
        offers.ends.times_from(arrays.dropoff_node),
        offers.ends.times_from(arrays.pickup_node),
        offers.starts.times_from_point(arrays.dropoff_node),
    )
    serial = evaluate_tables(arrays, offers, *tables, parallel=False)
    parallel = evaluate_tables(arrays, offers, *tables, parallel=True)
    assert serial.rows.shape[0] > 20  # enough feasible legs, of both kinds, to compare
    assert {0, 1} <= set(serial.rows[:, 2].tolist())
    for name in ("status", "status_return", "rows", "row_indptr", "row_lengths"):
        np.testing.assert_array_equal(getattr(serial, name), getattr(parallel, name), name)
