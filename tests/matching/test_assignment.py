"""The batch assignment equals brute force on small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.assignment import assign_batch
from matching.model import (
    DriverTrip,
    Purpose,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
)
from matching.offers import build_need_arrays, build_offer_set, evaluate
from tests.matching.rides_fixtures import COLS, ROWS, T0, at, grid_engine


def random_instance(
    seed: int, n_needs: int, n_trips: int, n_vols: int
) -> tuple[list[RideNeed], list[DriverTrip], list[VolunteerAvailability]]:
    rng = np.random.default_rng(seed)

    def cell() -> tuple[float, float]:
        return at(int(rng.integers(0, ROWS)), int(rng.integers(0, COLS)))

    needs = []
    for i in range(n_needs):
        p, q = cell(), cell()
        start = T0 + int(rng.integers(0, 8)) * 900
        mode = ReturnMode.AFTER_WAIT if rng.random() < 0.3 else ReturnMode.NONE
        needs.append(
            RideNeed(
                f"n{i}",
                p[0],
                p[1],
                q[0],
                q[1],
                start,
                start + int(rng.integers(15, 60)) * 60,
                return_mode=mode,
                return_wait_s=600 if mode == ReturnMode.AFTER_WAIT else 0,
                purpose=Purpose.MEDICAL if rng.random() < 0.4 else Purpose.SHOPPING,
            )
        )
    trips = []
    for i in range(n_trips):
        o, d = cell(), cell()
        dep = T0 + int(rng.integers(0, 10)) * 900
        trips.append(
            DriverTrip(
                f"t{i}",
                f"dt{i}",
                o[0],
                o[1],
                d[0],
                d[1],
                dep,
                dep + 1800,
                max_detour_s=int(rng.integers(2, 12)) * 60,
            )
        )
    vols = []
    for i in range(n_vols):
        h = cell()
        start = T0 + int(rng.integers(0, 4)) * 1800
        vols.append(
            VolunteerAvailability(
                f"v{i}",
                h[0],
                h[1],
                ((start, start + 4 * 3600),),
                max_distance_km=float(rng.integers(4, 12)),
                max_rides_per_day=int(rng.integers(1, 3)),
            )
        )
    return needs, trips, vols


def brute_force(
    needs: list[RideNeed],
    trips: list[DriverTrip],
    vols: list[VolunteerAvailability],
    cap: int,
) -> tuple[tuple[int, int, int], int]:
    """Best (served, priority served, -added time) by enumeration, and the smallest
    largest volunteer load among the optima."""
    engine = grid_engine()
    offers = build_offer_set(engine, trips, vols)
    arrays = build_need_arrays(engine, needs)
    ev = evaluate(arrays, offers)
    rows = ev.rows
    options: list[list[tuple[int, ...]]] = []
    for n in range(len(needs)):
        ks = range(int(ev.row_indptr[n]), int(ev.row_indptr[n + 1]))
        opts: list[tuple[int, ...]] = [()]
        outs = [k for k in ks if rows[k, 2] == 0]
        rets = [k for k in ks if rows[k, 2] == 1]
        for k in outs:
            if rows[k, 1] >= offers.n_trips or arrays.ret[n] < 0:
                opts.append((k,))
            else:
                opts += [(k, r) for r in rets if rows[r, 1] != rows[k, 1]]
        options.append(opts)
    best: tuple[int, int, int] | None = None
    best_load = 10**9
    for combo in itertools.product(*options):
        used = [k for choice in combo for k in choice]
        offers_used = [int(rows[k, 1]) for k in used]
        trip_used = [o for o in offers_used if o < offers.n_trips]
        if len(trip_used) != len(set(trip_used)):
            continue
        ok = True
        load: dict[int, int] = {}
        for o in set(offers_used) - set(trip_used):
            mine = [k for k in used if rows[k, 1] == o]
            load[o] = len(mine)
            if len(mine) > min(cap, int(offers.max_rides[o])):
                ok = False
            for a, b in itertools.combinations(mine, 2):
                if rows[a, 3] < rows[b, 8] and rows[b, 3] < rows[a, 8]:
                    ok = False
        if not ok:
            continue
        served = sum(1 for c in combo if c)
        prio = sum(needs[n].priority for n, c in enumerate(combo) if c)
        added = sum(int(rows[k, 9]) for k in used)
        key = (served, prio, -added)
        max_load = max(load.values(), default=0)
        if best is None or key > best:
            best, best_load = key, max_load
        elif key == best:
            best_load = min(best_load, max_load)
    assert best is not None
    return best, best_load


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    n_needs=st.integers(1, 6),
    n_trips=st.integers(0, 3),
    n_vols=st.integers(0, 3),
    cap=st.integers(1, 2),
)
def test_assignment_equals_brute_force(
    seed: int, n_needs: int, n_trips: int, n_vols: int, cap: int
) -> None:
    needs, trips, vols = random_instance(seed, n_needs, n_trips, n_vols)
    expected, expected_load = brute_force(needs, trips, vols, cap)
    result = assign_batch(
        grid_engine(), needs, trips, vols, cap, spread_load=True, time_limit_s=None
    )
    assert (result.served, result.priority_served, -result.added_time_s) == expected
    assert result.max_volunteer_load == expected_load
    assert result.served + len(result.unserved) == len(needs)


def test_assignment_respects_constraints_on_a_larger_instance() -> None:
    needs, trips, vols = random_instance(7, 40, 10, 6)
    result = assign_batch(grid_engine(), needs, trips, vols, cap_per_volunteer_per_day=2)
    assert result.served > 0
    used_trips = [r.candidate.offer_id for r in result.rides if r.candidate.kind == "trip"]
    used_trips += [
        r.candidate.return_offer_id
        for r in result.rides
        if r.candidate.kind == "trip" and r.candidate.return_offer_id
    ]
    assert len(used_trips) == len(set(used_trips))
    by_vol: dict[str, list[tuple[int, int]]] = {}
    for r in result.rides:
        if r.candidate.kind == "volunteer":
            by_vol.setdefault(r.candidate.driver_id, []).append(
                (r.candidate.leave_s, r.candidate.end_s)
            )
    for spans in by_vol.values():
        assert len(spans) <= 2
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert result.load == {k: len(v) for k, v in by_vol.items()}
    for u in result.unserved:
        assert u.reasons


def test_priority_beats_count_of_other_purposes_only_at_equal_count() -> None:
    # One volunteer, one slot: two needs at the same time, one medical, one shopping.
    shopping = RideNeed("shop", *at(0, 0), *at(0, 3), T0, T0 + 1800, purpose=Purpose.SHOPPING)
    medical = RideNeed("doc", *at(0, 1), *at(0, 3), T0, T0 + 1800, purpose=Purpose.MEDICAL)
    vol = VolunteerAvailability("v", *at(0, 0), ((T0 - 600, T0 + 3000),), max_rides_per_day=1)
    result = assign_batch(grid_engine(), [shopping, medical], [], [vol])
    assert [r.need_id for r in result.rides] == ["doc"]
    assert result.unserved[0].reasons[0].code == "taken_by_other_need"


def test_batch_input_errors() -> None:
    need = RideNeed("a", *at(0, 0), *at(0, 3), T0, T0 + 1800)
    with pytest.raises(ValueError, match="unique"):
        assign_batch(grid_engine(), [need, need], [], [])
    with pytest.raises(ValueError, match="0.32"):
        assign_batch(grid_engine(), [need], [], [], rate_eur_per_km=1.0)
    empty = assign_batch(grid_engine(), [], [], [])
    assert empty.served == 0 and empty.rides == ()
    alone = assign_batch(grid_engine(), [need], [], [])
    assert alone.unserved[0].reasons[0].code == "no_offer"


def odd_cycle_problem():  # type: ignore[no-untyped-def]
    """An odd cycle of pairwise conflicts: the LP takes every variable at 1/2."""
    from scipy.sparse import csr_matrix

    from matching.assignment import Problem

    matrix = csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float))
    return Problem(
        weight=np.array([2.0, 2.0, 2.0]),
        added=np.array([30.0, 10.0, 20.0]),
        matrix=matrix,
        lower=np.full(3, -np.inf),
        upper=np.ones(3),
        volunteer_rows={},
        row_need=np.arange(3),
        row_leg=np.zeros(3, dtype=np.int64),
    )


def test_fractional_lp_falls_back_to_the_combined_mip() -> None:
    from matching.assignment import solve_problem

    problem = odd_cycle_problem()
    sol = solve_problem(problem)
    # No integer point reaches floor(LP1) = 3: HiGHS's MIP on the combined objective, started
    # from the greedy plan, proves that weight 2 with 10 s of driving is the optimum.
    assert sol.how == {"lp": 0, "heuristic": 0, "mip": 0, "mip_combined": 1}
    assert sol.optimal
    assert sol.chosen.tolist() == [False, True, False]
    assert (sol.weight, sol.weight_bound, sol.added, sol.added_bound) == (2, 2, 10, 10)


def test_no_branching_returns_the_heuristic_plan_unproven() -> None:
    # A node budget of 0: heuristics and LP bounds only, deterministic (no clock).
    from matching.assignment import solve_problem, verify_plan

    problem = odd_cycle_problem()
    sol = solve_problem(problem, node_limit=0)
    verify_plan(problem, sol.chosen)
    assert not sol.optimal
    assert sol.how["mip"] == sol.how["mip_combined"] == 0
    assert sol.weight == 2 and sol.weight_bound == 3


@pytest.mark.parametrize(
    ("seed", "path"),
    [
        (1051, "heuristic"),
        (1452, "heuristic"),
        (88, "mip"),
        (142, "mip"),
        (11, "mip_combined"),
        (45, "mip_combined"),
        (54, "mip_combined"),
    ],
)
def test_fractional_instances_equal_brute_force(seed: int, path: str) -> None:
    # Instances whose LP optimum is fractional: settled by a rounded plan meeting the LP
    # bounds, by the level-2 MIP after reduced-cost fixing or by the combined MIP; each must
    # find the brute-force optimum.
    needs, trips, vols = random_instance(seed, 6, 3, 3)
    expected, _ = brute_force(needs, trips, vols, 2)
    result = assign_batch(grid_engine(), needs, trips, vols, 2, time_limit_s=None)
    assert result.solver_levels["lp"] == 0
    assert result.solver_levels[path] == 1
    assert result.optimal and result.solver_levels["proven_optimal"] == 1
    assert result.gap == {"weight": 0.0, "added_s": 0.0}
    assert (result.served, result.priority_served, -result.added_time_s) == expected


@pytest.mark.parametrize(("seed", "blocks"), [(3, 1), (11, 2), (45, 1), (88, 2)])
def test_decomposed_solve_equals_the_whole(seed: int, blocks: int) -> None:
    # Splitting into independent blocks (forced here, automatic on large problems) gives the
    # same lexicographic optimum as solving the whole.
    from matching.assignment import build_problem, problem_components, solve_problem
    from matching.offers import build_need_arrays, build_offer_set, evaluate

    needs, trips, vols = random_instance(seed, 10, 4, 4)
    engine = grid_engine()
    arrays = build_need_arrays(engine, needs)
    offers = build_offer_set(engine, trips, vols)
    problem = build_problem(arrays, offers, evaluate(arrays, offers), 2)
    whole = solve_problem(problem).chosen
    split_sol = solve_problem(problem, decompose_min_columns=0)
    assert split_sol.optimal
    split = split_sol.chosen
    parts = problem_components(problem)
    assert len(parts) == blocks
    assert sorted(np.concatenate(parts).tolist()) == list(range(problem.weight.shape[0]))
    for got in (whole, split):
        assert problem.weight @ got == problem.weight @ whole
        assert problem.added @ got == problem.added @ whole
