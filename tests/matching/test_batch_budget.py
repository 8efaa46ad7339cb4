"""The batch under a budget: always a feasible plan, the exact optimum when given time, honest
bounds when not; and the greedy heuristic it starts from."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix

from matching.assignment import Assignment, assign_batch, solve_problem
from matching.assignment_heuristics import (
    greedy_fill,
    greedy_model,
    greedy_order,
    improve_plan,
    lp_order,
)
from matching.model import DriverTrip, RideNeed, VolunteerAvailability
from tests.matching.rides_fixtures import grid_engine
from tests.matching.test_assignment import brute_force, odd_cycle_problem, random_instance


def check_plan(
    result: Assignment,
    needs: list[RideNeed],
    trips: list[DriverTrip],
    vols: list[VolunteerAvailability],
    cap: int,
) -> None:
    """Every constraint of the batch, read from the plan's rides (not from the solver's
    matrix): a need once, a trip one rider, a return by another trip, volunteer caps and no
    overlapping services."""
    by_id = {n.need_id: n for n in needs}
    served = [r.need_id for r in result.rides]
    assert len(served) == len(set(served))
    assert set(served) | {u.need_id for u in result.unserved} == set(by_id)
    assert not set(served) & {u.need_id for u in result.unserved}
    trip_ids = {t.offer_id for t in trips}
    seats: Counter[str] = Counter()
    spans: dict[str, list[tuple[int, int]]] = {}
    for ride in result.rides:
        c = ride.candidate
        need = by_id[ride.need_id]
        if c.kind == "trip":
            assert c.offer_id in trip_ids
            seats[c.offer_id] += 1
            if need.return_pickup_s is not None:
                assert c.return_offer_id is not None and c.return_offer_id != c.offer_id
                assert c.return_offer_id in trip_ids
                seats[c.return_offer_id] += 1
        else:
            spans.setdefault(c.driver_id, []).append((c.leave_s, c.end_s))
    assert all(v == 1 for v in seats.values())
    max_rides = {v.driver_id: v.max_rides_per_day for v in vols}
    for vid, mine in spans.items():
        # The random instances lie within one local day.
        assert len(mine) <= min(cap, max_rides[vid])
        mine.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(mine))
    b = result.bounds
    assert b["weight"] <= b["weight_bound"] + 1e-9
    assert result.gap["weight"] >= 0
    if result.gap["weight"] == 0:
        assert result.gap["added_s"] >= 0
    else:
        assert "added_s" not in result.gap
    if result.optimal:
        assert result.gap == {"weight": 0.0, "added_s": 0.0}
    else:
        assert result.solver_levels["proven_optimal"] == 0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    n_needs=st.integers(1, 6),
    n_trips=st.integers(0, 3),
    n_vols=st.integers(0, 3),
    cap=st.integers(1, 2),
    node_limit=st.sampled_from([0, 1, None]),
)
def test_budgeted_plan_is_feasible_and_exact_when_unlimited(
    seed: int, n_needs: int, n_trips: int, n_vols: int, cap: int, node_limit: int | None
) -> None:
    needs, trips, vols = random_instance(seed, n_needs, n_trips, n_vols)
    result = assign_batch(
        grid_engine(), needs, trips, vols, cap, time_limit_s=None, node_limit=node_limit
    )
    check_plan(result, needs, trips, vols, cap)
    expected, _ = brute_force(needs, trips, vols, cap)
    got = (result.served, result.priority_served, -result.added_time_s)
    assert got <= expected
    if node_limit is None or result.optimal:
        assert result.optimal
        assert got == expected


@pytest.mark.parametrize("seed", [7, 9, 14])
def test_unproven_plan_is_bracketed_by_its_bounds(seed: int) -> None:
    # No MIP at all (node budget 0, deterministic) on a 40-need day whose LP is fractional:
    # a feasible plan, not proven, and its bounds bracket the exact optimum.
    needs, trips, vols = random_instance(seed, 40, 10, 6)
    engine = grid_engine()
    quick = assign_batch(engine, needs, trips, vols, 2, time_limit_s=None, node_limit=0)
    assert not quick.optimal
    assert quick.gap["weight"] > 0 or quick.gap["added_s"] > 0
    exact = assign_batch(engine, needs, trips, vols, 2, time_limit_s=None)
    check_plan(quick, needs, trips, vols, 2)
    check_plan(exact, needs, trips, vols, 2)
    assert exact.optimal
    w_quick, w_exact = quick.bounds["weight"], exact.bounds["weight"]
    assert w_quick <= w_exact <= quick.bounds["weight_bound"]
    if w_quick == w_exact == quick.bounds["weight_bound"]:
        assert quick.bounds["added_s_bound"] <= exact.bounds["added_s"]
        assert exact.bounds["added_s"] <= quick.bounds["added_s"]


def test_a_budget_spent_before_any_lp_returns_the_greedy_plan() -> None:
    # One microsecond: gone before the first LP (the greedy pass alone takes longer), so the
    # plan is the heuristic one, feasible, with only the trivial bound.
    needs, trips, vols = random_instance(7, 40, 10, 6)
    result = assign_batch(grid_engine(), needs, trips, vols, 2, time_limit_s=1e-6)
    check_plan(result, needs, trips, vols, 2)
    assert result.served > 0
    assert not result.optimal
    assert result.solver_levels == {
        "lp": 0,
        "heuristic": 0,
        "mip": 0,
        "mip_combined": 0,
        "proven_optimal": 0,
    }


def test_the_app_default_budget_returns_a_plan() -> None:
    needs, trips, vols = random_instance(3, 30, 8, 5)
    result = assign_batch(grid_engine(), needs, trips, vols)
    check_plan(result, needs, trips, vols, 2)
    assert result.optimal  # a small day is proven well within the default 5 s


def test_budget_input_errors() -> None:
    problem = odd_cycle_problem()
    with pytest.raises(ValueError, match="time_limit_s"):
        solve_problem(problem, time_limit_s=0)
    with pytest.raises(ValueError, match="node_limit"):
        solve_problem(problem, node_limit=-1)


# --------------------------------------------------------------------------- the heuristic


def random_packing(
    seed: int, n_cols: int, n_rows: int, n_balance: int
) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """Random packing rows (0/1, capacities 1-2) and balance rows: each balance row has one
    head and 1-3 tails among columns used by no other balance row."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_rows, n_cols)) < 0.3).astype(float)
    upper = rng.integers(1, 3, n_rows).astype(float)
    lower = np.full(n_rows, -np.inf)
    free = list(rng.permutation(n_cols))
    extra = []
    for _ in range(n_balance):
        if len(free) < 2:
            break
        row = np.zeros(n_cols)
        row[free.pop()] = 1.0
        for _ in range(int(rng.integers(1, 4))):
            if free:
                row[free.pop()] = -1.0
        extra.append(row)
    if extra:
        dense = np.vstack([dense, np.array(extra)])
        upper = np.concatenate([upper, np.zeros(len(extra))])
        lower = np.concatenate([lower, np.zeros(len(extra))])
    return csr_matrix(dense), lower, upper


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    n_cols=st.integers(1, 12),
    n_rows=st.integers(0, 6),
    n_balance=st.integers(0, 3),
)
def test_greedy_plan_is_feasible_and_maximal(
    seed: int, n_cols: int, n_rows: int, n_balance: int
) -> None:
    matrix, lower, upper = random_packing(seed, n_cols, n_rows, n_balance)
    gm = greedy_model(matrix, lower, upper)
    rng = np.random.default_rng(seed + 1)
    cost = rng.integers(0, 50, n_cols).astype(float)
    chosen = greedy_fill(gm, rng.permutation(n_cols).astype(np.int64), cost)
    x = chosen.astype(float)
    activity = matrix @ x
    assert np.all(activity <= upper + 1e-9) and np.all(activity >= lower - 1e-9)
    # Maximal: no column outside balance rows can be added alone.
    dense = matrix.toarray()
    balance = np.isfinite(lower)
    for k in np.flatnonzero(~chosen):
        if np.any(dense[balance, k] != 0):
            continue
        grown = activity + dense[:, k]
        assert np.any(grown[~balance] > upper[~balance] + 1e-9)


def test_lp_rounding_keeps_an_integral_lp_point() -> None:
    # An integral point given as the LP value comes back unchanged (its return included).
    matrix = csr_matrix(
        np.array(
            [
                [1.0, -1.0, -1.0, 0.0],  # column 0 needs a return: 1 or 2
                [0.0, 1.0, 0.0, 1.0],  # column 1 shares a seat with column 3
                [1.0, 0.0, 0.0, 1.0],  # column 0 and column 3 exclude each other
            ]
        )
    )
    lower = np.array([0.0, -np.inf, -np.inf])
    upper = np.array([0.0, 1.0, 1.0])
    gm = greedy_model(matrix, lower, upper)
    x = np.array([1.0, 0.0, 1.0, 0.0])
    weight = np.array([5.0, 0.0, 0.0, 5.0])
    added = np.array([1.0, 0.0, 9.0, 1.0])
    order, partner = lp_order(x, weight, added)
    assert greedy_fill(gm, order, partner).tolist() == [True, False, True, False]
    # By weight alone, the cheaper return (column 1) is taken.
    by_weight = greedy_order(weight, added, np.array([0, 0, 0, 1]))
    assert greedy_fill(gm, by_weight, added).tolist() == [True, True, False, False]


@pytest.mark.parametrize(
    ("rows", "lower", "upper", "message"),
    [
        ([[1.0, 1.0]], [0.0], [1.0], "balance row"),
        ([[1.0, 1.0]], [-np.inf], [np.inf], "finite upper"),
        ([[2.0, -1.0]], [0.0], [0.0], "coefficients"),
        ([[1.0, -1.0], [-1.0, 1.0]], [0.0, 0.0], [0.0, 0.0], "head or a tail"),
    ],
)
def test_greedy_model_rejects_other_rows(
    rows: list[list[float]], lower: list[float], upper: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        greedy_model(csr_matrix(np.array(rows)), np.array(lower), np.array(upper))


def test_local_search_moves_the_need_in_the_way() -> None:
    # Need 1 took trip A, need 0's only offer, while trip B could carry it: the local search
    # moves need 1 to B and serves need 0.
    matrix = csr_matrix(
        np.array(
            [
                [1.0, 0.0, 0.0],  # need 0 once
                [0.0, 1.0, 1.0],  # need 1 once
                [1.0, 1.0, 0.0],  # trip A's seat
                [0.0, 0.0, 1.0],  # trip B's seat
            ]
        )
    )
    gm = greedy_model(matrix, np.full(4, -np.inf), np.ones(4))
    weight = np.ones(3)
    added = np.array([5.0, 1.0, 2.0])
    first = greedy_fill(gm, np.array([1, 0, 2], dtype=np.int64), added)
    assert first.tolist() == [False, True, False]
    better, moves = improve_plan(gm, first, weight, added, np.array([0, 1, 1]))
    assert better.tolist() == [True, False, True] and moves == 1
    assert first.tolist() == [False, True, False]  # the input is not modified


@pytest.mark.parametrize("seed", [7, 9, 14, 21])
def test_local_search_keeps_the_plan_feasible_and_never_worse(seed: int) -> None:
    from matching.assignment import build_problem, verify_plan
    from matching.offers import build_need_arrays, build_offer_set, evaluate

    needs, trips, vols = random_instance(seed, 40, 10, 6)
    engine = grid_engine()
    arrays = build_need_arrays(engine, needs)
    offers = build_offer_set(engine, trips, vols)
    problem = build_problem(arrays, offers, evaluate(arrays, offers), 2)
    gm = greedy_model(problem.matrix, problem.lower, problem.upper)
    rng = np.random.default_rng(seed)
    start = greedy_fill(gm, rng.permutation(problem.weight.shape[0]), problem.added)
    better, _ = improve_plan(gm, start, problem.weight, problem.added, problem.row_need)
    verify_plan(problem, better)

    def key(x: np.ndarray) -> tuple[float, float]:
        return (float(problem.weight @ x), -float(problem.added @ x))

    assert key(better) >= key(start)


def test_local_search_follows_a_chain_of_displaced_needs() -> None:
    # Columns: 0 = need 0 on A; 1, 2 = need 1 on A, B; 3, 4 = need 2 on B, C. Greedy put
    # need 1 on A and need 2 on B: serving need 0 moves need 1 to B, hence need 2 to C.
    matrix = csr_matrix(
        np.array(
            [
                [1.0, 0.0, 0.0, 0.0, 0.0],  # need 0 once
                [0.0, 1.0, 1.0, 0.0, 0.0],  # need 1 once
                [0.0, 0.0, 0.0, 1.0, 1.0],  # need 2 once
                [1.0, 1.0, 0.0, 0.0, 0.0],  # seat A
                [0.0, 0.0, 1.0, 1.0, 0.0],  # seat B
                [0.0, 0.0, 0.0, 0.0, 1.0],  # seat C
            ]
        )
    )
    gm = greedy_model(matrix, np.full(6, -np.inf), np.ones(6))
    weight, added = np.ones(5), np.array([1.0, 1.0, 2.0, 1.0, 2.0])
    need = np.array([0, 1, 1, 2, 2])
    first = greedy_fill(gm, np.array([1, 3, 0, 2, 4], dtype=np.int64), added)
    assert first.tolist() == [False, True, False, True, False]
    short, _ = improve_plan(gm, first, weight, added, need, depth=1)
    assert short.tolist() == first.tolist()
    chained, moves = improve_plan(gm, first, weight, added, need, depth=2)
    assert chained.tolist() == [True, False, True, False, True] and moves == 1
