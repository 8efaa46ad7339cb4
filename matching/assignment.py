"""Assigning a batch of needs to offers, exactly, with a MILP on the feasible pairs.

Levels, in lexicographic order (see :func:`solve_problem` for how the optimum is proven):

1. serve as many needs as possible, and among those as many priority needs (medical,
   employment) as possible: weight ``K + priority`` per served need, ``K`` larger than the
   number of priority needs;
2. add as little driving as possible (sum of added driving seconds);
3. optionally, spread the volunteers' load: minimise the largest number of rides given to
   one volunteer in the batch.

Constraints: a need is served at most once; a need with a return served by a trip has its
return served by another trip; a driver's trip carries at most one rider (one insertion);
a volunteer does at most ``min(cap_per_volunteer_per_day, max_rides_per_day)`` rides per
local day and never two overlapping services (clique constraints of the interval graph of
services, exact for intervals).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix

from matching.engine import Engine
from matching.errors import SolverError
from matching.matcher import (
    Candidate,
    ReasonCount,
    _check_rate,
    candidate_from_rows,
    need_candidates,
    need_reasons,
)
from matching.model import MAX_CONTRIBUTION_EUR_PER_KM, DriverTrip, RideNeed, VolunteerAvailability
from matching.offers import (
    Evaluation,
    NeedArrays,
    OfferSet,
    build_need_arrays,
    build_offer_set,
    evaluate,
)
from matching.reasons import Reason


@dataclass(frozen=True)
class AssignedRide:
    """A need and the candidate chosen for it."""

    need_id: str
    candidate: Candidate


@dataclass(frozen=True)
class UnservedNeed:
    """A need left unserved, with why (reason counts over all offers)."""

    need_id: str
    reasons: tuple[ReasonCount, ...]


@dataclass(frozen=True)
class Assignment:
    """The optimal assignment of a batch and its figures."""

    rides: tuple[AssignedRide, ...]
    unserved: tuple[UnservedNeed, ...]
    served: int
    priority_served: int
    added_time_s: int
    added_distance_m: float
    max_volunteer_load: int
    load: dict[str, int]
    n_feasible_pairs: int
    timings_s: dict[str, float] = field(default_factory=dict)
    solver_levels: dict[str, int] = field(default_factory=dict)
    """How many solves were settled by an integral LP (``lp``) or by branch and bound
    (``mip``), and whether the optimum is proven (``proven_optimal``, 0 only after a time
    limit)."""


@dataclass(frozen=True)
class Problem:
    """The MILP of a batch: one variable per feasible row, constraints as a sparse matrix."""

    weight: npt.NDArray[np.float64]
    added: npt.NDArray[np.float64]
    matrix: csr_matrix
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    volunteer_rows: dict[int, list[int]]
    row_need: npt.NDArray[np.int64]
    row_leg: npt.NDArray[np.int64]


def _maximal_cliques(leave: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> list[list[int]]:
    """Maximal cliques of the interval graph of ``[leave, end)`` intervals (positions).

    Sweep the endpoints (an end before a start at the same time: touching services do not
    overlap); the active set just before the first end that follows a start is maximal.
    """
    times = np.concatenate([end, leave])
    kinds = np.concatenate([np.zeros(end.shape[0]), np.ones(leave.shape[0])])
    which = np.concatenate([np.arange(end.shape[0]), np.arange(leave.shape[0])])
    order = np.lexsort((kinds, times))
    active: dict[int, None] = {}
    cliques: list[list[int]] = []
    last_was_start = False
    for pos in order.tolist():
        i = int(which[pos])
        if kinds[pos] == 1:
            active[i] = None
            last_was_start = True
        else:
            if last_was_start and len(active) > 1:
                cliques.append(list(active))
            active.pop(i, None)
            last_was_start = False
    return cliques


def build_problem(
    needs: NeedArrays, offers: OfferSet, ev: Evaluation, cap_per_volunteer_per_day: int
) -> Problem:
    """The constraints and objective coefficients of the batch (see the module docstring)."""
    rows = ev.rows
    n_rows = rows.shape[0]
    n_needs = len(needs.needs)
    need = rows[:, 0]
    offer = rows[:, 1]
    leg = rows[:, 2]
    is_trip = offer < offers.n_trips
    k_weight = int(needs.priority.sum()) + 1
    weight = np.where(leg == 0, k_weight + needs.priority[need], 0).astype(np.float64)
    added = rows[:, 9].astype(np.float64)
    k_all = np.arange(n_rows, dtype=np.int64)

    r_parts: list[npt.NDArray[np.int64]] = []
    c_parts: list[npt.NDArray[np.int64]] = []
    v_parts: list[npt.NDArray[np.float64]] = []
    lo_parts: list[npt.NDArray[np.float64]] = []
    up_parts: list[npt.NDArray[np.float64]] = []
    n_cons = 0

    def block(
        row: npt.NDArray[np.int64],
        cols: npt.NDArray[np.int64],
        coefs: npt.NDArray[np.float64],
        lo: npt.NDArray[np.float64],
        up: npt.NDArray[np.float64],
    ) -> None:
        nonlocal n_cons
        r_parts.append(row + n_cons)
        c_parts.append(cols)
        v_parts.append(coefs)
        lo_parts.append(lo)
        up_parts.append(up)
        n_cons += lo.shape[0]

    # 1. each need served at most once (its outbound rows).
    out = leg == 0
    block(
        need[out], k_all[out], np.ones(int(out.sum())), np.full(n_needs, -np.inf), np.ones(n_needs)
    )
    # 2. a need with a return served by a trip has its return served by another trip.
    sel = is_trip & (needs.ret[need] >= 0)
    block(
        need[sel],
        k_all[sel],
        np.where(leg[sel] == 0, 1.0, -1.0),
        np.zeros(n_needs),
        np.zeros(n_needs),
    )
    # 3. a trip carries at most one rider.
    block(
        offer[is_trip],
        k_all[is_trip],
        np.ones(int(is_trip.sum())),
        np.full(offers.n_trips, -np.inf),
        np.ones(offers.n_trips),
    )
    # 4. volunteers: daily cap, and no overlapping services (maximal interval cliques).
    vol = k_all[~is_trip]
    volunteer_rows: dict[int, list[int]] = {}
    if vol.shape[0]:
        keys, inverse = np.unique(
            np.column_stack((offer[vol], needs.day[need[vol]])), axis=0, return_inverse=True
        )
        caps = np.minimum(cap_per_volunteer_per_day, offers.max_rides[keys[:, 0]]).astype(float)
        block(
            inverse.ravel().astype(np.int64),
            vol,
            np.ones(vol.shape[0]),
            np.full(keys.shape[0], -np.inf),
            caps,
        )
        order = vol[np.argsort(offer[vol], kind="stable")]
        bounds = np.flatnonzero(np.diff(offer[order])) + 1
        clique_rows: list[int] = []
        clique_cols: list[int] = []
        n_cliques = 0
        for ks in np.split(order, bounds):
            volunteer_rows[int(offer[ks[0]])] = ks.tolist()
            if ks.shape[0] < 2:
                continue
            for clique in _maximal_cliques(rows[ks, 3], rows[ks, 8]):
                clique_cols.extend(ks[clique].tolist())
                clique_rows.extend([n_cliques] * len(clique))
                n_cliques += 1
        block(
            np.array(clique_rows, dtype=np.int64),
            np.array(clique_cols, dtype=np.int64),
            np.ones(len(clique_cols)),
            np.full(n_cliques, -np.inf),
            np.ones(n_cliques),
        )
    matrix = coo_matrix(
        (np.concatenate(v_parts), (np.concatenate(r_parts), np.concatenate(c_parts))),
        shape=(n_cons, n_rows),
    ).tocsr()
    return Problem(
        weight,
        added,
        matrix,
        np.concatenate(lo_parts),
        np.concatenate(up_parts),
        volunteer_rows,
        need,
        leg,
    )


_INTEGRAL_TOL = 1e-6
_NODE_LIMIT = 200
"""Nodes of our own warm-started branch and bound before handing over to HiGHS's MILP."""


class _HighsModel:
    """The batch model in HiGHS, solved as an LP (warm-started between levels) or a MILP."""

    def __init__(self, problem: Problem, time_limit_s: float | None) -> None:
        import highspy

        self.hs = highspy
        self.n = problem.weight.shape[0]
        self.h = highspy.Highs()  # type: ignore[no-untyped-call]
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("mip_rel_gap", 0.0)
        self.h.setOptionValue("mip_abs_gap", 1e-9)
        if time_limit_s is not None:
            self.h.setOptionValue("time_limit", float(time_limit_s))
        inf = highspy.kHighsInf
        mat = problem.matrix.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = mat.shape[0]
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.zeros(self.n)
        lp.col_upper_ = np.ones(self.n)
        lp.row_lower_ = np.where(np.isinf(problem.lower), -inf, problem.lower)
        lp.row_upper_ = np.where(np.isinf(problem.upper), inf, problem.upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
        lp.a_matrix_.index_ = mat.indices.astype(np.int32)
        lp.a_matrix_.value_ = mat.data.astype(np.float64)
        self.h.passModel(lp)
        self.integer = False
        self.proven = True

    def make_integer(self) -> None:
        """Declare the assignment columns integer (binary): later solves branch and bound."""
        kinds = np.full(self.n, self.hs.HighsVarType.kInteger)
        self.h.changeColsIntegrality(self.n, np.arange(self.n, dtype=np.int32), kinds)
        self.integer = True

    def minimize(self, cost: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float]:
        """Minimise ``cost . x``; return the solution and the optimum."""
        n_cols = self.h.getNumCol()
        self.h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
        self.h.run()
        status = self.h.getModelStatus()
        if status != self.hs.HighsModelStatus.kOptimal:
            # Out of time with an integer solution in hand: keep it, flagged unproven.
            has_solution = self.h.getInfo().primal_solution_status == 2
            if status == self.hs.HighsModelStatus.kTimeLimit and self.integer and has_solution:
                self.proven = False
            else:
                raise SolverError(
                    "the assignment solver stopped with status "
                    f"{self.h.modelStatusToString(status)}"
                )
        x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return x, float(cost @ x)

    def branch_and_bound(
        self, cost: npt.NDArray[np.float64], node_limit: int
    ) -> npt.NDArray[np.float64] | None:
        """Exact depth-first branch and bound over the current LP, warm-started at each node.

        ``cost`` must be integral on integer points (LP values are rounded up to prune).
        Returns the optimal integer solution, or None when there is none or more than
        ``node_limit`` nodes would be needed (the caller then falls back to HiGHS's MILP).
        """
        n_cols = self.h.getNumCol()
        self.h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), cost)
        best: list[npt.NDArray[np.float64] | None] = [None]
        best_val = [np.inf]
        nodes = [0]

        def visit() -> bool:
            nodes[0] += 1
            if nodes[0] > node_limit:
                return False
            self.h.run()
            status = self.h.getModelStatus()
            if status == self.hs.HighsModelStatus.kInfeasible:
                return True
            if status != self.hs.HighsModelStatus.kOptimal:
                return False
            x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
            value = float(cost @ x)
            if np.ceil(value - 1e-6) >= best_val[0]:
                return True
            frac = np.abs(x[: self.n] - np.round(x[: self.n]))
            j = int(np.argmax(frac))
            if frac[j] <= _INTEGRAL_TOL:
                best[0] = x
                best_val[0] = float(np.round(value))
                return True
            first = float(np.round(x[j]))
            for v in (first, 1.0 - first):
                self.h.changeColBounds(j, v, v)
                ok = visit()
                self.h.changeColBounds(j, 0.0, 1.0)
                if not ok:
                    return False
            return True

        if not visit():
            return None
        return best[0]

    def at_most(self, cost: npt.NDArray[np.float64], bound: float) -> None:
        """Add the row ``cost . x <= bound``."""
        idx = np.flatnonzero(cost).astype(np.int32)
        self.h.addRow(-self.hs.kHighsInf, bound, idx.shape[0], idx, cost[idx])

    def add_max_load(self, groups: list[list[int]]) -> None:
        """Add a continuous column ``L >= sum of each group``; its index is ``self.n``."""
        inf = self.hs.kHighsInf
        self.h.addCol(0.0, 0.0, inf, 0, np.empty(0, dtype=np.int32), np.empty(0))
        for ks in groups:
            idx = np.array([*ks, self.n], dtype=np.int32)
            vals = np.append(np.ones(len(ks)), -1.0)
            self.h.addRow(-inf, 0.0, idx.shape[0], idx, vals)


def _integral(x: npt.NDArray[np.float64]) -> bool:
    return bool(x.size == 0 or np.abs(x - np.round(x)).max() <= _INTEGRAL_TOL)


DECOMPOSE_MIN_COLUMNS = 2000
"""Problems with at least this many feasible rows are split into independent blocks."""


def problem_components(problem: Problem) -> list[npt.NDArray[np.int64]]:
    """Column sets of the independent blocks of a problem (no constraint spans two).

    Connected components of the bipartite column–constraint graph. The first two levels
    of the objective are sums over blocks, so their lexicographic optimum is the union of
    the blocks' optima; and each block's level-1 bound ``floor(LP1)`` is tighter
    than the whole's, which often spares the branch and bound.
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


def sub_problem(problem: Problem, cols: npt.NDArray[np.int64]) -> Problem:
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
    decompose_min_columns: int | None = None,
) -> tuple[npt.NDArray[np.bool_], dict[str, int]]:
    """Solve the levels exactly; return the chosen rows and how the optimum was proven.

    Problems of at least ``decompose_min_columns`` rows (default
    :data:`DECOMPOSE_MIN_COLUMNS`), without ``spread_load``, are split into independent blocks
    (:func:`problem_components`), each solved as below; ``how`` then sums the blocks'
    counts and ``proven_optimal`` holds only when every block is proven.
    """
    n = problem.weight.shape[0]
    threshold = DECOMPOSE_MIN_COLUMNS if decompose_min_columns is None else decompose_min_columns
    # The largest volunteer load couples a volunteer's days, which may lie in different
    # blocks: that level is solved whole.
    if n == 0 or n < threshold or (spread_load and problem.volunteer_rows):
        return _solve_block(problem, spread_load=spread_load, time_limit_s=time_limit_s)
    parts = problem_components(problem)
    if len(parts) == 1:
        return _solve_block(problem, spread_load=spread_load, time_limit_s=time_limit_s)
    chosen = np.zeros(n, dtype=bool)
    how = {"lp": 0, "bb": 0, "mip": 0, "proven_optimal": 1}
    for cols in parts:
        part_chosen, part_how = _solve_block(
            sub_problem(problem, cols), spread_load=spread_load, time_limit_s=time_limit_s
        )
        chosen[cols] = part_chosen
        for key in ("lp", "bb", "mip"):
            how[key] += part_how[key]
        how["proven_optimal"] = min(how["proven_optimal"], part_how["proven_optimal"])
    _verify(problem, chosen)
    return chosen, how


def _solve_block(
    problem: Problem, *, spread_load: bool = False, time_limit_s: float | None = None
) -> tuple[npt.NDArray[np.bool_], dict[str, int]]:
    """Solve the levels of one block exactly (see :func:`solve_problem`).

    Fast path: level 1 as an LP, then level 2 as an LP under ``weight . x >=
    floor(LP1)`` (warm start). An integral level-2 optimum is the exact lexicographic
    optimum: no integer point weighs more than ``floor(LP1)``, and the LP minimises added
    driving over a superset of the integer optima. When it is fractional (usually a handful
    of variables), a small exact branch and bound on that LP (warm-started dual simplex at
    each node) finishes the job; an integer solution it finds has weight ``floor(LP1)``,
    which settles level 1 too. If it finds none or needs too many nodes, both levels are
    solved in one HiGHS MILP with the combined integer objective ``W * weight - added``,
    ``W`` exceeding any total added driving, which orders solutions lexicographically.
    """
    n = problem.weight.shape[0]
    how = {"lp": 0, "bb": 0, "mip": 0, "proven_optimal": 1}
    if n == 0:
        return np.zeros(0, dtype=bool), how
    model = _HighsModel(problem, time_limit_s)
    x, neg_best = model.minimize(-problem.weight)
    model.at_most(-problem.weight, -float(np.floor(-neg_best + 1e-6)) + 1e-7)
    x, best_added = model.minimize(problem.added)
    found: npt.NDArray[np.float64] | None
    if _integral(x[:n]):
        how["lp"] += 1
        found = x
    else:
        found = model.branch_and_bound(problem.added, _NODE_LIMIT)
        how["bb"] += found is not None
    if found is not None:
        x = found
        best_added = float(problem.added @ x[:n])
        if spread_load and problem.volunteer_rows:
            model.at_most(problem.added, float(np.round(best_added)) + 1e-7)
    else:
        model = _HighsModel(problem, time_limit_s)
        model.make_integer()
        w_big = 1.0 + _max_total_added(problem)
        combined = -(w_big * problem.weight - problem.added)
        x, best = model.minimize(combined)
        how["mip"] += 1
        if spread_load and problem.volunteer_rows:
            model.at_most(combined, float(np.round(best)) + 0.5)
    if spread_load and problem.volunteer_rows:
        model.add_max_load(list(problem.volunteer_rows.values()))
        cost = np.zeros(n + 1)
        cost[n] = 1.0
        x, _ = model.minimize(cost)
        if _integral(x[:n]):
            how["lp"] += 1
        else:
            model.make_integer()
            x, _ = model.minimize(cost)
            how["mip"] += 1
    chosen = np.round(x[:n]) > 0.5
    _verify(problem, chosen)
    how["proven_optimal"] = int(model.proven)
    return chosen, how


def _max_total_added(problem: Problem) -> float:
    """An upper bound of the total added driving of any assignment (integer): each need
    uses at most one outbound and one return row."""
    n_needs = int(problem.row_need.max()) + 1 if problem.row_need.size else 0
    worst = np.zeros((n_needs, 2))
    np.maximum.at(worst, (problem.row_need, problem.row_leg), problem.added)
    return float(worst.sum())


def _verify(problem: Problem, chosen: npt.NDArray[np.bool_]) -> None:
    """The rounded solution must satisfy every constraint exactly."""
    activity = problem.matrix @ chosen.astype(np.float64)
    if np.any(activity < problem.lower - 1e-9) or np.any(activity > problem.upper + 1e-9):
        raise SolverError("the rounded assignment breaks a constraint (solver tolerance?)")


def assign_batch(
    engine: Engine,
    needs: Sequence[RideNeed],
    trips: Sequence[DriverTrip],
    volunteers: Sequence[VolunteerAvailability],
    cap_per_volunteer_per_day: int = 2,
    *,
    offers: OfferSet | None = None,
    rate_eur_per_km: float = MAX_CONTRIBUTION_EUR_PER_KM,
    timezone: str = "Europe/Paris",
    spread_load: bool = False,
    time_limit_s: float | None = None,
) -> Assignment:
    """Assign a batch of needs (e.g. a day's) to the offers, optimally.

    Parameters
    ----------
    engine : Engine
    needs : sequence of RideNeed
    trips, volunteers : sequences
        The offers (ignored when a prebuilt ``offers`` is given).
    cap_per_volunteer_per_day : int
        Most rides one volunteer does in a local day (also capped by the volunteer's own
        ``max_rides_per_day``).
    rate_eur_per_km : float
        Mileage rate, at most 0.32 €/km.
    spread_load : bool
        Run the third level (smallest largest volunteer load). Off by default: the daily
        cap already spreads the load, and this level costs several times the others.
    time_limit_s : float, optional
        Time limit of each solve (none by default: the optimum is exact). When branch and
        bound runs out of time with a solution, that solution is returned and
        ``solver_levels["proven_optimal"]`` is 0.

    Returns
    -------
    Assignment
    """
    _check_rate(rate_eur_per_km)
    if cap_per_volunteer_per_day < 0:
        raise ValueError("cap_per_volunteer_per_day must be >= 0")
    ids = [x.need_id for x in needs]
    if len(set(ids)) != len(ids):
        raise ValueError("need ids must be unique in a batch")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if offers is None:
        offers = build_offer_set(engine, trips, volunteers)
    t1 = time.perf_counter()
    timings["offers"] = t1 - t0
    arrays = build_need_arrays(engine, needs, timezone)
    t2 = time.perf_counter()
    timings["needs"] = t2 - t1
    ev = evaluate(arrays, offers)
    t3 = time.perf_counter()
    timings["evaluate"] = t3 - t2
    problem = build_problem(arrays, offers, ev, cap_per_volunteer_per_day)
    t4 = time.perf_counter()
    timings["model"] = t4 - t3
    chosen, how = solve_problem(problem, spread_load=spread_load, time_limit_s=time_limit_s)
    t5 = time.perf_counter()
    timings["solve"] = t5 - t4
    result = _collect(arrays, offers, ev, chosen, rate_eur_per_km)
    timings["collect"] = time.perf_counter() - t5
    return Assignment(**result, timings_s=timings, solver_levels=how)  # type: ignore[arg-type]


def _collect(
    needs: NeedArrays,
    offers: OfferSet,
    ev: Evaluation,
    chosen: npt.NDArray[np.bool_],
    rate: float,
) -> dict[str, object]:
    rows = ev.rows
    out_k: dict[int, int] = {}
    ret_k: dict[int, int] = {}
    for k in np.flatnonzero(chosen).tolist():
        n = int(rows[k, 0])
        if rows[k, 2] == 0:
            out_k[n] = k
        else:
            ret_k[n] = k
    rides = []
    load: dict[str, int] = defaultdict(int)
    for n, k in sorted(out_k.items()):
        cand = candidate_from_rows(needs, offers, ev, k, ret_k.get(n), rate)
        rides.append(AssignedRide(needs.needs[n].need_id, cand))
        if cand.kind == "volunteer":
            load[cand.driver_id] += 1
    unserved = []
    for n, need in enumerate(needs.needs):
        if n in out_k:
            continue
        cands, no_return = need_candidates(n, needs, offers, ev, rate)
        if cands:
            r = Reason.TAKEN_BY_OTHER_NEED
            reasons: tuple[ReasonCount, ...] = (ReasonCount(r.code, len(cands), r.description),)
        else:
            reasons = need_reasons(n, offers, ev, no_return)
        unserved.append(UnservedNeed(need.need_id, reasons))
    return {
        "rides": tuple(rides),
        "unserved": tuple(unserved),
        "served": len(rides),
        "priority_served": int(sum(int(needs.priority[n]) for n in out_k)),
        "added_time_s": int(sum(r.candidate.added_time_s for r in rides)),
        "added_distance_m": float(sum(r.candidate.added_distance_m for r in rides)),
        "max_volunteer_load": max(load.values(), default=0),
        "load": dict(load),
        "n_feasible_pairs": int(rows.shape[0]),
    }
