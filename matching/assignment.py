"""Assigning a batch of needs to offers with a MILP on the feasible pairs.

Levels, in lexicographic order (:mod:`matching.assignment_solve` solves them within a time
budget, always with a feasible plan, exactly when the budget allows):

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
from scipy.sparse import coo_matrix

from matching.assignment_solve import (
    DECOMPOSE_MIN_COLUMNS,
    Problem,
    Solution,
    problem_components,
    solve_problem,
    sub_problem,
    verify_plan,
)
from matching.engine import Engine
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


__all__ = [
    "DECOMPOSE_MIN_COLUMNS",
    "DEFAULT_TIME_LIMIT_S",
    "AssignedRide",
    "Assignment",
    "Problem",
    "Solution",
    "UnservedNeed",
    "assign_batch",
    "build_problem",
    "problem_components",
    "solve_problem",
    "sub_problem",
    "verify_plan",
]

DEFAULT_TIME_LIMIT_S = 5.0
"""Wall-clock budget of a batch's solve unless the caller gives one."""


@dataclass(frozen=True)
class Assignment:
    """The assignment of a batch (optimal when ``optimal``) and its figures."""

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
    """How many blocks were settled by an integral LP (``lp``), by a heuristic plan meeting
    the LP bounds (``heuristic``), how many HiGHS MIPs ran (``mip``), and whether the
    optimum is proven (``proven_optimal``, 0 only when the budget ran out)."""
    optimal: bool = True
    """Levels 1-2 proven optimal (and level 3 when asked)."""
    gap: dict[str, float] = field(default_factory=dict)
    """What the proof leaves open: ``weight`` = proven upper bound of the level-1 weight
    minus the plan's (0 when level 1 is proven; each served need weighs ``K + priority``,
    see the module docstring); ``added_s``, only once level 1 is proven, = the plan's added
    driving minus its proven lower bound (0 when optimal)."""
    bounds: dict[str, float] = field(default_factory=dict)
    """The plan's level values and their proven bounds: ``weight``, ``weight_bound``,
    ``added_s``, ``added_s_bound``."""


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
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    node_limit: int | None = None,
) -> Assignment:
    """Assign a batch of needs (e.g. a day's) to the offers: the best plan within the budget.

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
        Wall-clock budget of the solve (default :data:`DEFAULT_TIME_LIMIT_S`; None: no
        limit, the optimum is exact). When it runs out, the best plan found so far is
        returned (always feasible: checked against every constraint) with
        ``optimal = False`` and the proven bounds in ``gap``/``bounds``.
    node_limit : int, optional
        Most branch-and-bound nodes of each MIP (0: heuristics and LP bounds only); a
        deterministic budget, for tests and reproducible runs.

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
    sol = solve_problem(
        problem, spread_load=spread_load, time_limit_s=time_limit_s, node_limit=node_limit
    )
    t5 = time.perf_counter()
    timings["solve"] = t5 - t4
    result = _collect(arrays, offers, ev, sol.chosen, rate_eur_per_km)
    timings["collect"] = time.perf_counter() - t5
    optimal = sol.optimal and sol.spread_load_optimal
    return Assignment(
        **result,  # type: ignore[arg-type]
        timings_s=timings,
        solver_levels={**sol.how, "proven_optimal": int(optimal)},
        optimal=optimal,
        gap=_gap(sol),
        bounds={
            "weight": sol.weight,
            "weight_bound": sol.weight_bound,
            "added_s": sol.added,
            "added_s_bound": sol.added_bound,
        },
    )


def _gap(sol: Solution) -> dict[str, float]:
    gap = {"weight": sol.weight_bound - sol.weight}
    if gap["weight"] == 0:
        gap["added_s"] = sol.added - sol.added_bound
    return gap


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
