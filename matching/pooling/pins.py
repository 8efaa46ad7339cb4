"""Laying out the pinned requests (bookings) before anything else is planned.

Bookings come from an earlier feasible plan, so a layout serving all of them usually
exists; regret insertion finds it most of the time, but the order it inserts riders in can
paint it into a corner (a drop-off placed early blocks a later booking). When it leaves a
booking out, a small backtracking search over insertion positions, bookings taken in the
order of their promised pickups, rebuilds that group's routes. Feasibility is always the
kernels' exact ``schedule``.
"""

from __future__ import annotations

import numpy as np

from matching.pooling import _kernels as K
from matching.pooling import _repair as KR
from matching.pooling.lns import Solution
from matching.pooling.model import PoolingInstance

SEARCH_BUDGET = 20_000
"""Most route schedules tried by the backtracking search of one vehicle group."""


def lay_out_pins(d: K.KernelData, inst: PoolingInstance, sol: Solution) -> None:
    """Insert every pinned request into ``sol`` (in place), or as many as can be.

    ``sol`` must hold no request yet. Regret insertion first; for each group it leaves a
    booking out of, the backtracking search; linked legs whose partner still fits nowhere
    are taken out again (both or neither).
    """
    assert inst.pin_group is not None and inst.vehicle_group is not None
    pinned = np.flatnonzero(inst.pin_group >= 0).astype(np.int64)
    order = _promise_order(inst, pinned)
    KR.repair(d, sol.routes, sol.lens, sol.vehicle_of, order, 2, 0.0)
    missing = order[sol.vehicle_of[order] < 0]
    if missing.size == 0:
        return
    for g in np.unique(inst.pin_group[missing]):
        vehicles = np.flatnonzero(inst.vehicle_group == g)
        trial = lay_out_group(d, sol, vehicles, order[inst.pin_group[order] == g])
        if trial is not None:
            sol.routes[:], sol.lens[:], sol.vehicle_of[:] = (
                trial.routes,
                trial.lens,
                trial.vehicle_of,
            )
    # Partners undone by the regret pass (their leg did not fit then) get another chance.
    left = order[sol.vehicle_of[order] < 0]
    if left.size:
        KR.repair(d, sol.routes, sol.lens, sol.vehicle_of, left, 2, 0.0)
    for r in order:
        partner = int(d.link[r])
        if sol.vehicle_of[r] >= 0 and partner >= 0 and sol.vehicle_of[partner] < 0:
            K.remove_request(sol.routes, sol.lens, sol.vehicle_of[r], r)
            sol.vehicle_of[r] = -1


def lay_out_group(
    d: K.KernelData,
    sol: Solution,
    vehicles: np.ndarray,
    requests: np.ndarray,
    budget: int = SEARCH_BUDGET,
) -> Solution | None:
    """A copy of ``sol`` whose ``vehicles`` are emptied and serve all of ``requests``
    (inserted in that order, at every feasible position, cheapest first, backtracking), or
    None when no layout is found within ``budget`` route schedules.

    Exact given the budget: any feasible route restricted to its first requests is feasible
    (travel times obey the triangle inequality), so successive insertions reach it.
    """
    trial = Solution(sol.routes.copy(), sol.lens.copy(), sol.vehicle_of.copy())
    for v in vehicles:
        for r in trial.routes[v, : trial.lens[v]]:
            trial.vehicle_of[r // 2] = -1
        trial.lens[v] = 0
    if vehicles.size == 0 or not _search(d, trial, vehicles, requests, [budget]):
        return None
    return trial


def _promise_order(inst: PoolingInstance, pinned: np.ndarray) -> np.ndarray:
    """Pinned requests by promised pickup (the window's start when there is no target)."""
    when = inst.pickup_earliest_s[pinned].copy()
    if inst.pickup_target_s is not None:
        target = inst.pickup_target_s[pinned]
        when = np.where(np.isnan(target), when, target)
    return pinned[np.argsort(when, kind="stable")]


def _search(
    d: K.KernelData, sol: Solution, vehicles: np.ndarray, todo: np.ndarray, budget: list[int]
) -> bool:
    """Backtracking: insert ``todo[0]`` at each feasible position (cheapest first), recurse."""
    if todo.size == 0:
        return True
    r = int(todo[0])
    width = sol.routes.shape[1]
    buf = np.empty(width + 2, dtype=np.int64)
    b = np.empty(width + 4)
    pos = np.zeros(max(sol.vehicle_of.shape[0], 1), dtype=np.int64)
    options: list[tuple[float, int, int, int]] = []
    for v in vehicles:
        v = int(v)
        if not d.compat[r, v]:
            continue
        seq, n = sol.routes[v], int(sol.lens[v])
        for i in range(n + 1):
            for j in range(i, n + 1):
                if budget[0] <= 0:
                    return False
                budget[0] -= 1
                K._build(seq, n, r, i, j, buf)
                if K.schedule(d, v, buf, n + 2, b, pos):
                    options.append((K.insertion_delta(d, v, seq, n, r, i, j), v, i, j))
    options.sort()
    for _, v, i, j in options:
        saved = sol.routes[v].copy()
        K._insert(sol.routes, sol.lens, v, r, i, j, buf)
        sol.vehicle_of[r] = v
        if _search(d, sol, vehicles, todo[1:], budget):
            return True
        sol.routes[v] = saved
        sol.lens[v] -= 2
        sol.vehicle_of[r] = -1
    return False
