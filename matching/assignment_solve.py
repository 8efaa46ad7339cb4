"""Solving the batch MILP of :mod:`matching.assignment` within a budget, always with a plan.

Order of work on each independent block (see :func:`solve_problem`):

1. a greedy plan improved by local search (:mod:`matching.assignment_heuristics`),
   feasible by construction;
2. level 1 as an LP: ``B1 = floor(LP1)`` bounds the weight of any plan;
3. level 2 as an LP under ``weight . x >= B1`` (same model, warm-started). An integral optimum
   is the exact lexicographic optimum. Otherwise the LP solution is rounded, repaired
   greedily and improved by the same local search; a rounded plan that reaches ``B1`` settles level 1, and one whose added driving
   meets ``ceil(LP2)`` settles level 2;
4. otherwise, when level 1 is settled: reduced-cost fixing from the LP2 duals (a column at 0
   whose reduced cost exceeds the gap to the incumbent is 0 in every better plan; likewise
   at 1) leaves a small MIP, solved by HiGHS with a cut-off below the incumbent: infeasible
   means the incumbent is optimal;
5. when level 1 is not settled, both levels in one HiGHS MIP on the combined integer objective
   ``W * weight - added`` (``W`` above any total added driving), started from the incumbent.

A time budget (wall clock) and a node budget stop the work at any point: the best plan found
is returned with the proven bounds of both levels and ``optimal = False``. Every returned
plan is checked against every constraint (:func:`verify_plan`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from matching.assignment_heuristics import (
    GreedyModel,
    greedy_fill,
    greedy_model,
    greedy_order,
    improve_plan,
    lp_order,
)
from matching.errors import SolverError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

_INTEGRAL_TOL = 1e-6
_FIX_TOL = 1e-6

DECOMPOSE_MIN_COLUMNS = 2000
"""Problems with at least this many feasible rows are split into independent blocks."""


@dataclass(frozen=True)
class Problem:
    """The MILP of a batch: one variable per feasible row, constraints as a sparse matrix."""

    weight: F64
    added: F64
    matrix: csr_matrix
    lower: F64
    upper: F64
    volunteer_rows: dict[int, list[int]]
    row_need: I64
    row_leg: I64


@dataclass(frozen=True)
class Solution:
    """The chosen rows of a batch and what is proven about them.

    ``weight``/``added`` are the plan's level-1 and level-2 values; ``weight_bound`` is an
    upper bound of the weight of any plan, ``added_bound`` a lower bound of the added driving
    of any plan reaching ``weight_bound`` (both equal the plan's values when ``optimal``).
    ``how`` counts the blocks settled by an integral LP (``lp``), by a heuristic plan meeting
    the LP bounds (``heuristic``), the HiGHS MIPs run on what reduced-cost fixing leaves of
    level 2 or for level 3 (``mip``) and on the combined objective (``mip_combined``).
    """

    chosen: B
    how: dict[str, int]
    optimal: bool
    weight: float
    weight_bound: float
    added: float
    added_bound: float
    spread_load_optimal: bool = True


class _Budget:
    """Wall-clock deadline and MIP node limit shared by every solve of a batch."""

    def __init__(self, time_limit_s: float | None, node_limit: int | None) -> None:
        if time_limit_s is not None and not time_limit_s > 0:
            raise ValueError("time_limit_s must be > 0 (or None for no limit)")
        if node_limit is not None and node_limit < 0:
            raise ValueError("node_limit must be >= 0 (or None for no limit)")
        self.deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
        self.node_limit = node_limit

    def remaining_s(self) -> float:
        if self.deadline is None:
            return math.inf
        return max(0.0, self.deadline - time.perf_counter())

    @property
    def may_branch(self) -> bool:
        return self.node_limit is None or self.node_limit > 0


@dataclass(frozen=True)
class _Run:
    status: str  # "optimal", "infeasible" or "stopped" (time or node limit)
    x: F64 | None
    objective: float
    dual: F64 | None
    dual_bound: float


class _HighsModel:
    """Rows ``lower <= A x <= upper`` over binary columns, solved as an LP or a MIP by HiGHS."""

    def __init__(
        self, matrix: csr_matrix, lower: F64, upper: F64, *, integer: bool, presolve: bool = False
    ) -> None:
        import highspy

        self.hs = highspy
        self.n = matrix.shape[1]
        self.h = highspy.Highs()  # type: ignore[no-untyped-call]
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("mip_rel_gap", 0.0)
        self.h.setOptionValue("mip_abs_gap", 1e-9)
        inf = highspy.kHighsInf
        mat = matrix.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = mat.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.ones(self.n)
        lp.row_lower_ = np.where(np.isinf(lower), -inf, lower)
        lp.row_upper_ = np.where(np.isinf(upper), inf, upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
        lp.a_matrix_.index_ = mat.indices.astype(np.int32)
        lp.a_matrix_.value_ = mat.data.astype(np.float64)
        if integer:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * self.n
        if not presolve:
            # Measured on the 1,000 x 1,000 day of Addison County: presolve costs 4x the
            # level-1 simplex it prepares (and the reduced level-2 MIP 2.5x its solve).
            self.h.setOptionValue("presolve", "off")
        self.h.passModel(lp)
        self.integer = integer

    def add_row(self, coefs: F64, lower: float, upper: float) -> None:
        """Add ``lower <= coefs . x <= upper`` (over the first ``len(coefs)`` columns)."""
        inf = self.hs.kHighsInf
        idx = np.flatnonzero(coefs).astype(np.int32)
        lo = -inf if math.isinf(lower) else lower
        up = inf if math.isinf(upper) else upper
        self.h.addRow(lo, up, idx.shape[0], idx, coefs[idx].astype(np.float64))

    def add_max_load(self, groups: list[list[int]]) -> None:
        """Add a continuous column ``L >= sum of each group``; its index is ``self.n``."""
        inf = self.hs.kHighsInf
        self.h.addCol(0.0, 0.0, inf, 0, np.empty(0, dtype=np.int32), np.empty(0))
        for ks in groups:
            idx = np.array([*ks, self.n], dtype=np.int32)
            vals = np.append(np.ones(len(ks)), -1.0)
            self.h.addRow(-inf, 0.0, idx.shape[0], idx, vals)

    def make_integer(self) -> None:
        kinds = np.full(self.n, self.hs.HighsVarType.kInteger)
        self.h.changeColsIntegrality(self.n, np.arange(self.n, dtype=np.int32), kinds)
        self.integer = True

    def start_from(self, chosen: B) -> None:
        """Give the MIP a feasible plan to start from."""
        idx = np.arange(self.n, dtype=np.int32)
        self.h.setSolution(self.n, idx, chosen.astype(np.float64))

    def run(self, cost: F64, budget: _Budget) -> _Run:
        """Minimise ``cost . x`` within the budget."""
        remaining = budget.remaining_s()
        if remaining <= 1e-3:
            return _Run("stopped", None, math.nan, None, -math.inf)
        self.h.setOptionValue("time_limit", float(min(remaining, 1e9)))
        if self.integer and budget.node_limit is not None:
            self.h.setOptionValue("mip_max_nodes", int(budget.node_limit))
        n_cols = self.h.getNumCol()
        self.h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
        self.h.run()
        status = self.h.getModelStatus()
        ms = self.hs.HighsModelStatus
        info = self.h.getInfo()
        dual_bound = float(info.mip_dual_bound) if self.integer else -math.inf
        has_x = info.primal_solution_status == 2
        solution = self.h.getSolution()
        x = np.asarray(solution.col_value, dtype=np.float64) if has_x else None
        if status == ms.kOptimal:
            dual = None if self.integer else np.asarray(solution.col_dual, dtype=np.float64)
            return _Run("optimal", x, float(cost @ x), dual, dual_bound)  # type: ignore[operator]
        if status == ms.kInfeasible:
            return _Run("infeasible", None, math.inf, None, math.inf)
        if status in (ms.kTimeLimit, ms.kSolutionLimit, ms.kIterationLimit, ms.kInterrupt):
            value = float(cost @ x) if x is not None else math.nan
            return _Run("stopped", x if self.integer else None, value, None, dual_bound)
        raise SolverError(
            f"the assignment solver stopped with status {self.h.modelStatusToString(status)}"
        )


def _integral(x: F64) -> bool:
    return bool(x.size == 0 or np.abs(x - np.round(x)).max() <= _INTEGRAL_TOL)


def verify_plan(problem: Problem, chosen: B) -> None:
    """Raise :class:`SolverError` unless the plan satisfies every constraint exactly."""
    if chosen.shape != problem.weight.shape:
        raise SolverError("the plan has the wrong number of columns")
    activity = problem.matrix @ chosen.astype(np.float64)
    if np.any(activity < problem.lower - 1e-9) or np.any(activity > problem.upper + 1e-9):
        raise SolverError("the assignment breaks a constraint (solver tolerance?)")


class _Best:
    """The incumbent: the lexicographically best verified plan so far."""

    def __init__(self, problem: Problem, chosen: B) -> None:
        self.problem = problem
        self.chosen = chosen
        verify_plan(problem, chosen)
        self.weight, self.added = self._values(chosen)

    def _values(self, chosen: B) -> tuple[float, float]:
        x = chosen.astype(np.float64)
        return float(np.round(self.problem.weight @ x)), float(np.round(self.problem.added @ x))

    def offer(self, chosen: B) -> bool:
        """Keep ``chosen`` if it is feasible and better (more weight, then less driving).

        Returns whether it is feasible: a solver's point rounded to a plan that breaks a row
        (tolerances) is set aside, and whatever it would have proven is not claimed.
        """
        try:
            verify_plan(self.problem, chosen)
        except SolverError:
            return False
        weight, added = self._values(chosen)
        if (weight, -added) > (self.weight, -self.added):
            self.chosen, self.weight, self.added = chosen, weight, added
        return True


def _max_total_added(problem: Problem) -> float:
    """An upper bound of the total added driving of any assignment (integer): each need
    uses at most one outbound and one return row."""
    n_needs = int(problem.row_need.max()) + 1 if problem.row_need.size else 0
    worst = np.zeros((n_needs, 2))
    np.maximum.at(worst, (problem.row_need, problem.row_leg), problem.added)
    return float(worst.sum())


def _trivial_weight_bound(problem: Problem) -> float:
    """Each need served at most once: the sum over needs of their largest weight."""
    n_needs = int(problem.row_need.max()) + 1 if problem.row_need.size else 0
    best = np.zeros(n_needs)
    np.maximum.at(best, problem.row_need, problem.weight)
    return float(best.sum())


def problem_components(problem: Problem) -> list[I64]:
    """Column sets of the independent blocks of a problem (no constraint spans two).

    Connected components of the bipartite column–constraint graph. The first two levels
    of the objective are sums over blocks, so their lexicographic optimum is the union of
    the blocks' optima; and each block's level-1 bound ``floor(LP1)`` is tighter
    than the whole's.
    """
    from scipy.sparse import bmat
    from scipy.sparse.csgraph import connected_components

    n = problem.weight.shape[0]
    a = problem.matrix.tocsr()
    graph = bmat([[None, a.T], [a, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    col_labels = labels[:n]
    order = np.argsort(col_labels, kind="stable")
    bounds = np.flatnonzero(np.diff(col_labels[order])) + 1
    return [part.astype(np.int64) for part in np.split(order, bounds)]


def sub_problem(problem: Problem, cols: I64) -> Problem:
    """The block of ``problem`` on columns ``cols`` (with every constraint touching them)."""
    a = problem.matrix.tocsc()[:, cols]
    rows = np.flatnonzero(np.diff(a.tocsr().indptr) > 0)
    position = np.full(problem.weight.shape[0], -1, dtype=np.int64)
    position[cols] = np.arange(cols.shape[0])
    volunteer_rows = {}
    for offer, ks in problem.volunteer_rows.items():
        local = position[np.asarray(ks, dtype=np.int64)]
        local = local[local >= 0]
        if local.shape[0]:
            volunteer_rows[offer] = local.tolist()
    return Problem(
        problem.weight[cols],
        problem.added[cols],
        a.tocsr()[rows],
        problem.lower[rows],
        problem.upper[rows],
        volunteer_rows,
        problem.row_need[cols],
        problem.row_leg[cols],
    )


def solve_problem(
    problem: Problem,
    *,
    spread_load: bool = False,
    time_limit_s: float | None = None,
    node_limit: int | None = None,
    decompose_min_columns: int | None = None,
) -> Solution:
    """The best plan found within the budget, and what is proven about it.

    Parameters
    ----------
    problem : Problem
    spread_load : bool
        Also minimise the largest volunteer load (third level), once levels 1-2 are proven.
    time_limit_s : float, optional
        Wall-clock budget of the whole solve (None: none). When it runs out the best plan
        found so far is returned with ``optimal = False``.
    node_limit : int, optional
        Most branch-and-bound nodes of each HiGHS MIP; 0 runs no MIP (heuristics and LP
        bounds only). Deterministic, unlike the time budget.
    decompose_min_columns : int, optional
        Problems of at least this many columns (default :data:`DECOMPOSE_MIN_COLUMNS`),
        without ``spread_load``, are split into independent blocks, solved one by one.

    Returns
    -------
    Solution
    """
    budget = _Budget(time_limit_s, node_limit)
    n = problem.weight.shape[0]
    threshold = DECOMPOSE_MIN_COLUMNS if decompose_min_columns is None else decompose_min_columns
    # The largest volunteer load couples a volunteer's days, which may lie in different
    # blocks: that level is solved whole.
    if n == 0 or n < threshold or (spread_load and problem.volunteer_rows):
        return _solve_block(problem, spread_load=spread_load, budget=budget)
    parts = problem_components(problem)
    if len(parts) == 1:
        return _solve_block(problem, spread_load=spread_load, budget=budget)
    chosen = np.zeros(n, dtype=bool)
    how = {"lp": 0, "heuristic": 0, "mip": 0, "mip_combined": 0}
    optimal = True
    totals = np.zeros(4)
    for cols in parts:
        part = _solve_block(sub_problem(problem, cols), spread_load=spread_load, budget=budget)
        chosen[cols] = part.chosen
        for key in how:
            how[key] += part.how[key]
        optimal = optimal and part.optimal
        totals += (part.weight, part.weight_bound, part.added, part.added_bound)
    verify_plan(problem, chosen)
    weight, weight_bound, added, added_bound = (float(v) for v in totals)
    return Solution(chosen, how, optimal, weight, weight_bound, added, added_bound)


def _solve_block(problem: Problem, *, spread_load: bool, budget: _Budget) -> Solution:
    """Levels 1-2 (and 3 with ``spread_load``) of one block; see the module docstring."""
    n = problem.weight.shape[0]
    how = {"lp": 0, "heuristic": 0, "mip": 0, "mip_combined": 0}
    if n == 0:
        return Solution(np.zeros(0, dtype=bool), how, True, 0.0, 0.0, 0.0, 0.0)
    weight, added = problem.weight, problem.added
    gm = greedy_model(problem.matrix, problem.lower, problem.upper)
    first = greedy_fill(gm, greedy_order(weight, added, problem.row_need), added)
    best = _Best(problem, _improved(problem, gm, first))
    weight_bound = _trivial_weight_bound(problem)
    added_bound = float(np.minimum(added, 0.0).sum())

    def result(optimal: bool) -> Solution:
        if optimal:
            sol = Solution(best.chosen, how, True, best.weight, best.weight, best.added, best.added)
            return _spread(problem, sol, budget) if spread_load and problem.volunteer_rows else sol
        return Solution(best.chosen, how, False, best.weight, weight_bound, best.added, added_bound)

    lp = _HighsModel(problem.matrix, problem.lower, problem.upper, integer=False)
    run1 = lp.run(-weight, budget)
    if run1.status != "optimal":
        return result(False)
    assert run1.x is not None
    weight_bound = float(np.floor(-run1.objective + 1e-6))
    order, partner_cost = lp_order(run1.x, weight, added)
    best.offer(_improved(problem, gm, greedy_fill(gm, order, partner_cost)))
    # Same model, warm-started: the least added driving among the plans of weight B1.
    lp.add_row(weight, weight_bound - 1e-7, math.inf)
    run2 = lp.run(added, budget)
    if run2.status != "optimal":
        return result(False)
    assert run2.x is not None and run2.dual is not None
    x2 = run2.x[:n]
    if _integral(x2) and best.offer(np.round(x2) > 0.5):
        how["lp"] += 1
        return result(True)
    added_bound = float(np.ceil(run2.objective - 1e-6))
    order, partner_cost = lp_order(x2, weight, added)
    best.offer(_improved(problem, gm, greedy_fill(gm, order, partner_cost)))
    if best.weight >= weight_bound:
        if best.added <= added_bound:
            how["heuristic"] += 1
            return result(True)
        if not budget.may_branch:
            return result(False)
        how["mip"] += 1
        proven, added_bound = _improve_level2(problem, best, run2, weight_bound, budget)
        return result(proven)
    if not budget.may_branch:
        return result(False)
    how["mip_combined"] += 1
    proven, bound = _combined_mip(problem, best, budget)
    weight_bound = min(weight_bound, bound)
    return result(proven)


def _improved(problem: Problem, gm: GreedyModel, chosen: B) -> B:
    """The local search of :func:`improve_plan` from a greedy plan."""
    return improve_plan(gm, chosen, problem.weight, problem.added, problem.row_need)[0]


def _improve_level2(
    problem: Problem, best: _Best, run2: _Run, weight_bound: float, budget: _Budget
) -> tuple[bool, float]:
    """Level 1 is settled by ``best``: search a plan of the same weight with less driving.

    Reduced-cost fixing on the LP2 optimum: for any plan ``y`` feasible for LP2,
    ``added . y >= LP2 + sum_{x_j = 0} d_j y_j + sum_{x_j = 1} (-d_j)(1 - y_j)``, so a plan
    better than the incumbent (``added <= best - 1``) keeps at 0 every column at 0 whose
    reduced cost ``d_j`` exceeds ``best - 1 - LP2`` (and at 1 likewise). The rest is a small
    MIP with the cut-off ``added <= best - 1``. Returns (proven, lower bound of level 2).
    """
    assert run2.x is not None and run2.dual is not None
    n = problem.weight.shape[0]
    x, d = run2.x[:n], run2.dual[:n]
    slack = best.added - 1.0 - run2.objective
    fix0 = (x <= _INTEGRAL_TOL) & (d > slack + _FIX_TOL)
    fix1 = (x >= 1.0 - _INTEGRAL_TOL) & (-d > slack + _FIX_TOL)
    free = np.flatnonzero(~(fix0 | fix1))
    lp_bound = float(np.ceil(run2.objective - 1e-6))
    base = problem.matrix @ fix1.astype(np.float64)
    w_fixed = float(problem.weight[fix1].sum())
    a_fixed = float(problem.added[fix1].sum())
    if free.shape[0] == 0:
        # Only the fixed plan could be better; it is a candidate like any other.
        if np.all(base >= problem.lower - 1e-9) and np.all(base <= problem.upper + 1e-9):
            best.offer(fix1.copy())
        return True, best.added
    sub = problem.matrix.tocsc()[:, free].tocsr()
    mip = _HighsModel(sub, problem.lower - base, problem.upper - base, integer=True)
    mip.add_row(problem.weight[free], weight_bound - w_fixed - 1e-7, math.inf)
    mip.add_row(problem.added[free], -math.inf, best.added - 1.0 - a_fixed + 1e-7)
    run = mip.run(problem.added[free], budget)
    usable = True
    if run.x is not None:
        plan = fix1.copy()
        plan[free] = np.round(run.x[: free.shape[0]]) > 0.5
        usable = best.offer(plan)
    if run.status in ("optimal", "infeasible") and usable:
        return True, best.added
    bound = max(lp_bound, float(np.ceil(run.dual_bound + a_fixed - 1e-6)))
    return False, min(bound, best.added)


def _combined_mip(problem: Problem, best: _Best, budget: _Budget) -> tuple[bool, float]:
    """Both levels in one HiGHS MIP on ``W * weight - added``, from the incumbent.

    Returns (proven, upper bound of level 1).
    """
    w_big = 1.0 + _max_total_added(problem)
    combined = -(w_big * problem.weight - problem.added)
    mip = _HighsModel(problem.matrix, problem.lower, problem.upper, integer=True, presolve=True)
    mip.start_from(best.chosen)
    run = mip.run(combined, budget)
    usable = run.x is not None and best.offer(np.round(run.x) > 0.5)
    if run.status == "optimal" and usable:
        return True, best.weight
    # -(W w - a) >= dual bound for every plan, and a <= max total added < W.
    bound = float(np.floor((-run.dual_bound + w_big - 1.0) / w_big + 1e-9))
    return False, max(best.weight, bound)


def _spread(problem: Problem, sol: Solution, budget: _Budget) -> Solution:
    """Third level: the smallest largest volunteer load among the plans of levels 1-2."""
    n = problem.weight.shape[0]
    model = _HighsModel(problem.matrix, problem.lower, problem.upper, integer=False)
    model.add_row(problem.weight, sol.weight - 1e-7, math.inf)
    model.add_row(problem.added, -math.inf, sol.added + 1e-7)
    model.add_max_load(list(problem.volunteer_rows.values()))
    cost = np.zeros(n + 1)
    cost[n] = 1.0
    run = model.run(cost, budget)
    chosen: B | None = None
    if run.status == "optimal" and run.x is not None and _integral(run.x[:n]):
        chosen = np.round(run.x[:n]) > 0.5
        sol.how["lp"] += 1
    elif run.status == "optimal" and budget.may_branch:
        model.make_integer()
        sol.how["mip"] += 1
        run = model.run(cost, budget)
        if run.status == "optimal" and run.x is not None:
            chosen = np.round(run.x[:n]) > 0.5
    if chosen is not None:
        try:
            verify_plan(problem, chosen)
        except SolverError:
            chosen = None  # a rounded point off by a tolerance: keep the level-2 plan
    if chosen is None:
        return replace(sol, spread_load_optimal=False)
    return replace(sol, chosen=chosen)
