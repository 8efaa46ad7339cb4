"""Large neighbourhood search over pooled routes (Ropke & Pisinger's ALNS, simplified).

Each iteration removes a handful of requests (random, worst or related removal, linked legs
together) and reinserts them, with every unserved request, by regret insertion (numba kernel
:func:`matching.pooling._repair.repair`); the new solution is accepted by simulated
annealing on a scalarised objective (served weight first, by a large factor, then distance),
and the best one is kept under the strict lexicographic order. Each new best plan then gets
a relocation local search (:func:`matching.pooling._repair.relocate`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from matching.pooling import _kernels as K
from matching.pooling import _repair as KR
from matching.pooling.model import Objective, objective_key

TEMPERATURE = 0.02
"""Start temperature: a plan 2 % worse than the first is accepted with probability 1/2."""
MAX_REMOVED = 40
"""Most requests removed per iteration (and at most 40 % of them)."""
REGRETS = (3,)
"""Regret degrees of the repair operators, each with and without noise, after each of the
three removal operators (the adaptive weights choose among the pairs). Regret-3 and 40 %
removal did slightly better than regret-2 and 25 % on the Cordeau subset at equal CPU."""
N_ARMS = 6 * len(REGRETS)
RESTART_EVERY = 2000
"""Iterations between two restarts of the search from the best plan (intensification)."""
RELOCATE_PASSES = 20
"""Most passes of the relocation local search run on a plan."""


class RoutePoolLike(Protocol):
    """What the search feeds with every route it builds (see :mod:`.polish`)."""

    def add(self, sol: Solution) -> None: ...


@dataclass
class Solution:
    """A mutable solution: routes as event rows, their lengths, each request's vehicle."""

    routes: np.ndarray
    lens: np.ndarray
    vehicle_of: np.ndarray

    def copy(self) -> Solution:
        return Solution(self.routes.copy(), self.lens.copy(), self.vehicle_of.copy())


@dataclass
class SearchState:
    """What the search reports: best solution, its objective, the anytime history."""

    best: Solution
    best_obj: Objective
    history: list[tuple[float, Objective]] = field(default_factory=list)
    iterations: int = 0


def evaluate(d: K.KernelData, sol: Solution, base_distance: float) -> Objective:
    """The objective of a solution, in strict order (see :mod:`matching.pooling.model`)."""
    served = sol.vehicle_of >= 0
    weight = float(d.weight[served].sum())
    total = float(K.total_distance(d, sol.routes, sol.lens))
    counts = np.bincount(sol.vehicle_of[served], minlength=sol.routes.shape[0])
    return Objective(weight, total - base_distance, float((counts.astype(np.float64) ** 2).sum()))


def _scalar(obj: Objective, big: float) -> float:
    return -big * obj.served_weight + obj.added_distance_m


def _with_partners(d: K.KernelData, chosen: np.ndarray) -> np.ndarray:
    link = d.link[chosen]
    return np.unique(np.concatenate([chosen, link[link >= 0]]))


def _destroy(
    d: K.KernelData,
    sol: Solution,
    rng: np.random.Generator,
    q: int,
    op: int,
    gains: np.ndarray,
    pinned: np.ndarray | None = None,
) -> np.ndarray:
    served = np.flatnonzero(sol.vehicle_of >= 0)
    if pinned is not None:
        # Bookings are never destroyed (their linked legs are pinned too: see the model).
        served = served[~pinned[served]]
    if served.size == 0:
        return served
    q = min(q, served.size)
    if op == 0:  # random removal
        chosen = rng.choice(served, size=q, replace=False)
    elif op == 1:  # worst removal, randomised (p = 3)
        K.removal_gains(d, sol.routes, sol.lens, sol.vehicle_of, gains)
        order = served[np.argsort(-gains[served], kind="stable")]
        picks: list[int] = []
        pool = [int(r) for r in order]
        while len(picks) < q and pool:
            k = int(len(pool) * rng.random() ** 3)
            picks.append(pool.pop(k))
        chosen = np.asarray(picks, dtype=np.int64)
    else:  # related (Shaw) removal: close pickups, drop-offs and times
        seed = served[rng.integers(served.size)]
        pn = d.ev_node[2 * served]
        dn = d.ev_node[2 * served + 1]
        ps = d.ev_node[2 * seed]
        ds = d.ev_node[2 * seed + 1]
        rel = (
            d.dist[ps, pn]
            + d.dist[ds, dn]
            + 0.5 * np.abs(d.ev_early[2 * served] - d.ev_early[2 * seed])
            + 0.5 * np.abs(d.ev_late[2 * served + 1] - d.ev_late[2 * seed + 1])
        )
        near = [int(r) for r in served[np.argsort(rel, kind="stable")]]
        picks = []
        while len(picks) < q and near:
            k = int(len(near) * rng.random() ** 4)
            picks.append(near.pop(k))
        chosen = np.asarray(picks, dtype=np.int64)
    chosen = _with_partners(d, chosen)
    for r in chosen:
        v = sol.vehicle_of[r]
        if v >= 0:
            K.remove_request(sol.routes, sol.lens, v, r)
            sol.vehicle_of[r] = -1
    return chosen


def relocate_until(d: K.KernelData, sol: Solution, deadline: float) -> float:
    """Relocation local search on ``sol`` (in place), one pass at a time until no pass
    improves, :data:`RELOCATE_PASSES` passes or the deadline; returns the distance saved."""
    changed = np.ones(sol.routes.shape[0], dtype=np.bool_)
    saved = 0.0
    for _ in range(RELOCATE_PASSES):
        gain = KR.relocate(d, sol.routes, sol.lens, sol.vehicle_of, changed, 1)
        saved += gain
        if gain <= 1e-9 or time.perf_counter() >= deadline:
            break
    return saved


def _polish_best(
    d: K.KernelData,
    state: SearchState,
    base_distance: float,
    t0: float,
    pool: RoutePoolLike | None,
    deadline: float,
) -> bool:
    """Relocation local search on a new best plan (moves single requests between and within
    routes while that shortens the plan): what removal and reinsertion of many requests
    at once tends to miss. True if it improved the best plan; skipped past the deadline."""
    if time.perf_counter() >= deadline:
        return False
    trial = state.best.copy()
    if relocate_until(d, trial, deadline) <= 1e-9:
        return False
    obj = evaluate(d, trial, base_distance)
    if objective_key(obj) >= objective_key(state.best_obj):
        return False
    state.best, state.best_obj = trial, obj
    state.history.append((time.perf_counter() - t0, obj))
    if pool is not None:
        pool.add(trial)
    return True


def search(
    d: K.KernelData,
    start: Solution,
    base_distance: float,
    deadline: float,
    t0: float,
    seed: int,
    on_improve: list[tuple[float, Objective]],
    max_iterations: int | None = None,
    pool: RoutePoolLike | None = None,
    pinned: np.ndarray | None = None,
) -> SearchState:
    """Improve ``start`` until ``time.perf_counter() >= deadline`` or after ``max_iterations``
    iterations; returns the best found. ``pinned`` (bool[R]) requests are never removed."""
    rng = np.random.default_rng(seed)
    n_req = d.weight.shape[0]
    cur = start.copy()
    cur_obj = evaluate(d, cur, base_distance)
    state = SearchState(best=cur.copy(), best_obj=cur_obj, history=on_improve)
    if n_req == 0:
        return state
    if _polish_best(d, state, base_distance, t0, pool, deadline):
        cur, cur_obj = state.best.copy(), state.best_obj
    big = float(d.dist.max()) * (2 * n_req + 2 * d.v_start.shape[0]) + 1.0
    cur_f = _scalar(cur_obj, big)
    temp0 = max(TEMPERATURE * max(cur_obj.added_distance_m, 1e-9) / math.log(2.0), 1e-9)
    temp_end = temp0 * 1e-3
    gains = np.empty(n_req)
    q_lo = min(3, n_req)
    q_hi = max(q_lo, min(MAX_REMOVED, int(0.4 * n_req)))
    weights = np.ones(N_ARMS)
    scores = np.zeros(N_ARMS)
    uses = np.zeros(N_ARMS)
    begin = time.perf_counter()
    span = max(deadline - begin, 1e-9)
    it = 0
    while True:
        now = time.perf_counter()
        if now >= deadline or (max_iterations is not None and it >= max_iterations):
            break
        it += 1
        frac = (now - begin) / span
        if max_iterations is not None:
            frac = max(frac, it / max_iterations)
        temp = temp0 * (temp_end / temp0) ** frac
        arm = int(rng.choice(N_ARMS, p=weights / weights.sum()))
        op = arm % 3  # destroy operator
        noisy = (arm // 3) % 2 == 1
        k_regret = REGRETS[arm // 6]
        cand = cur.copy()
        q = int(rng.integers(q_lo, q_hi + 1))
        _destroy(d, cand, rng, q, op, gains, pinned)
        pending = np.flatnonzero(cand.vehicle_of < 0).astype(np.int64)
        rng.shuffle(pending)
        KR.repair(
            d, cand.routes, cand.lens, cand.vehicle_of, pending, k_regret, 0.1 if noisy else 0.0
        )
        if pool is not None:
            pool.add(cand)
        obj = evaluate(d, cand, base_distance)
        f = _scalar(obj, big)
        uses[arm] += 1
        if objective_key(obj) < objective_key(state.best_obj):
            state.best = cand.copy()
            state.best_obj = obj
            state.history.append((now - t0, obj))
            scores[arm] += 33
            if _polish_best(d, state, base_distance, t0, pool, deadline):
                cand, obj = state.best.copy(), state.best_obj
                f = _scalar(obj, big)
        if f < cur_f - 1e-9 or rng.random() < math.exp(-(f - cur_f) / temp):
            if f < cur_f - 1e-9:
                scores[arm] += 9
            elif abs(f - cur_f) > 1e-9:
                scores[arm] += 13
            cur, cur_f = cand, f
        if it % 100 == 0:
            used = uses > 0
            weights[used] = 0.8 * weights[used] + 0.2 * scores[used] / uses[used]
            weights = np.maximum(weights, 0.05)
            scores[:] = 0
            uses[:] = 0
        if it % RESTART_EVERY == 0:
            # restart from the best now and then (intensification)
            cur = state.best.copy()
            cur_f = _scalar(state.best_obj, big)
    state.iterations = it
    return state
