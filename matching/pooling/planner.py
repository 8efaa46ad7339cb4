"""The pooled route planner's entry point: :func:`plan_routes` (anytime, bounded in time)."""

from __future__ import annotations

import time

import numpy as np

from matching.pooling import _kernels as K
from matching.pooling import _repair as KR
from matching.pooling.lns import Solution, evaluate, search
from matching.pooling.model import (
    DROPOFF,
    END,
    PICKUP,
    START,
    Objective,
    PoolingError,
    PoolingInstance,
    PoolingPlan,
    RouteStops,
    instance_from_arrays,
    objective_key,
)
from matching.pooling.pins import lay_out_pins
from matching.pooling.polish import RoutePool

POLISH_SHARE = 0.1
"""Share of the time budget left to the set-partitioning polish at the end."""


def kernel_data(inst: PoolingInstance) -> K.KernelData:
    """Flatten an instance into the arrays the kernels read (events ``2r``, ``2r + 1``).

    ``compat[r, v]`` holds when vehicle ``v`` provides what request ``r`` requires, has the
    seats, belongs to the request's pin group if any, and can serve the request alone (the
    candidate vehicles of the request: no route of ``v`` can take it otherwise).
    """
    r = inst.n_requests
    ev_node = np.empty(2 * r, dtype=np.int64)
    ev_node[0::2] = inst.pickup_node
    ev_node[1::2] = inst.dropoff_node
    ev_early = np.empty(2 * r)
    ev_early[0::2] = inst.pickup_earliest_s
    ev_early[1::2] = inst.dropoff_earliest_s
    ev_late = np.empty(2 * r)
    ev_late[0::2] = inst.pickup_latest_s
    ev_late[1::2] = inst.dropoff_latest_s
    ev_service = np.empty(2 * r)
    ev_service[0::2] = inst.pickup_service_s
    ev_service[1::2] = inst.dropoff_service_s
    ev_load = np.empty(2 * r, dtype=np.int64)
    ev_load[0::2] = inst.load
    ev_load[1::2] = -inst.load
    compat = ((inst.requirement_mask[:, None] & ~inst.capability_mask[None, :]) == 0) & (
        inst.load[:, None] <= inst.capacity[None, :]
    )
    if inst.pin_group is not None and inst.vehicle_group is not None:
        # A pinned request fits only its group's vehicles: the same eligibility test as the
        # requirement masks, so the kernels pay nothing for it.
        pg = inst.pin_group[:, None]
        compat &= (pg < 0) | (pg == inst.vehicle_group[None, :])
    d = K.KernelData(
        travel=inst.travel_s,
        dist=inst.distance_m,
        ev_node=ev_node,
        ev_early=ev_early,
        ev_late=ev_late,
        ev_service=ev_service,
        ev_load=ev_load,
        max_ride=inst.max_ride_s,
        weight=inst.priority_weight,
        link=inst.linked_to,
        v_start=inst.start_node,
        v_end=inst.end_node,
        v_early=inst.earliest_start_s,
        v_late=inst.latest_end_s,
        v_maxdur=inst.max_duration_s,
        v_cap=inst.capacity,
        v_maxadded=inst.max_added_s,
        v_maxreq=inst.max_requests,
        v_outing=np.ascontiguousarray(inst.is_volunteer_outing, dtype=np.bool_),
        compat=np.ascontiguousarray(compat),
        one_rider=bool(inst.one_rider_per_drive),
    )
    if inst.n_requests and inst.n_vehicles:
        d = d._replace(compat=KR.solo_feasible(d))
    return d


def _toward_targets(
    d: K.KernelData, inst: PoolingInstance, v: int, seq: np.ndarray, b: np.ndarray
) -> None:
    """Replace the least schedule ``b`` by one starting the pickups that have a target as
    close to it as the route allows (in route order), not at their earliest time: a booked
    rider's promised time does not move only because an earlier one is feasible.

    Raises a pickup's earliest start toward its target, keeping the route feasible (the
    schedule kernel decides; a bisection finds the latest feasible start below the target).
    """
    target = inst.pickup_target_s
    assert target is not None
    n = seq.shape[0]
    pos = np.zeros(max(inst.n_requests, 1), dtype=np.int64)
    trial = np.empty(n + 2)
    early = d.ev_early.copy()
    changed = False
    for e in seq:
        if e % 2 or np.isnan(target[e // 2]):
            continue
        goal = min(float(target[e // 2]), float(d.ev_late[e]))
        lo = float(early[e])
        if goal <= lo:
            continue
        early[e] = goal
        if not K.schedule(d._replace(ev_early=early), v, seq, n, trial, pos):
            for _ in range(30):  # bisection to within a second on a day's scale
                mid = 0.5 * (lo + goal)
                early[e] = mid
                if K.schedule(d._replace(ev_early=early), v, seq, n, trial, pos):
                    lo = mid
                else:
                    goal = mid
                if goal - lo < 0.5:
                    break
            early[e] = lo
        changed = True
    if changed and K.schedule(d._replace(ev_early=early), v, seq, n, trial, pos):
        b[:] = trial


def _route_stops(d: K.KernelData, inst: PoolingInstance, v: int, seq: np.ndarray) -> RouteStops:
    n = seq.shape[0]
    b = np.empty(n + 2)
    pos = np.zeros(max(inst.n_requests, 1), dtype=np.int64)
    if not K.schedule(d, v, seq, n, b, pos):
        raise AssertionError(f"internal error: route of vehicle {v} is infeasible")
    if inst.pickup_target_s is not None and n:
        _toward_targets(d, inst, v, seq, b)
    events = [K.START, *seq.tolist(), K.END]
    # leave the start just in time for the first stop (no waiting at it): changes no other time
    b[0] = max(b[0], b[1] - K.leg_time(d, v, K.START, events[1]))
    node = np.empty(n + 2, dtype=np.int64)
    req = np.full(n + 2, -1, dtype=np.int64)
    kind = np.empty(n + 2, dtype=np.int64)
    arr = np.empty(n + 2)
    dep = np.empty(n + 2)
    load = np.zeros(n + 2, dtype=np.int64)
    cur = 0
    for k, e in enumerate(events):
        node[k] = K._node(d, v, e)
        if e == K.START:
            kind[k] = START
            arr[k] = b[0]
            dep[k] = b[0]
        else:
            arr[k] = dep[k - 1] + K.leg_time(d, v, events[k - 1], e)
            if e == K.END:
                kind[k] = END
                dep[k] = b[k]
            else:
                req[k] = e // 2
                kind[k] = PICKUP if e % 2 == 0 else DROPOFF
                cur += int(d.ev_load[e])
                dep[k] = b[k] + d.ev_service[e]
        load[k] = cur
    return RouteStops(v, node, req, kind, arr, b.copy(), dep, load)


def _plan(
    d: K.KernelData,
    inst: PoolingInstance,
    sol: Solution,
    obj: Objective,
    **meta: object,
) -> PoolingPlan:
    routes = tuple(
        _route_stops(d, inst, v, sol.routes[v, : sol.lens[v]].copy())
        for v in range(inst.n_vehicles)
    )
    total = float(K.total_distance(d, sol.routes, sol.lens))
    return PoolingPlan(
        routes=routes,
        served=sol.vehicle_of >= 0,
        vehicle_of=sol.vehicle_of.copy(),
        objective=obj,
        distance_m=total,
        **meta,  # type: ignore[arg-type]
    )


def plan_routes(
    instance: PoolingInstance,
    time_limit_s: float = 1.0,
    seed: int = 0,
    first_plan_only: bool = False,
    max_iterations: int | None = None,
) -> PoolingPlan:
    """Plan pooled routes: the best plan found within ``time_limit_s`` seconds.

    Regret-2 insertion builds a first plan; large neighbourhood search improves it until the
    time limit (or ``max_iterations`` search iterations, whichever comes first: a run that
    does not depend on the machine's load). ``proven_optimal`` is True only when no better
    plan can exist (every request served with no added distance, or no request).

    Pinned requests (``instance.pin_group``) are inserted first and never removed by the
    search or the polish; one that fits nowhere in its group is listed in
    ``PoolingPlan.broken_pins`` (the plan is still returned).

    Examples
    --------
    >>> inst = instance_from_arrays(travel, distance, pickup_node=..., ...)  # doctest: +SKIP
    >>> plan = plan_routes(inst, time_limit_s=1.0)                           # doctest: +SKIP
    >>> check_plan(inst, plan)                                               # doctest: +SKIP
    []

    Raises
    ------
    PoolingError
        If ``serve_all`` is set and the planner found no plan serving every request.
    """
    if time_limit_s < 0 or not np.isfinite(time_limit_s):
        raise PoolingError(f"time_limit_s must be finite and non-negative, got {time_limit_s}")
    if max_iterations is not None and max_iterations < 0:
        raise PoolingError(f"max_iterations must be non-negative, got {max_iterations}")
    t0 = time.perf_counter()
    d = kernel_data(instance)
    nr, nv = instance.n_requests, instance.n_vehicles
    width = max(2 * nr, 2)
    sol = Solution(
        routes=np.zeros((nv, width), dtype=np.int64),
        lens=np.zeros(nv, dtype=np.int64),
        vehicle_of=np.full(nr, -1, dtype=np.int64),
    )
    base = float(instance.base_distance_m.sum())
    pinned = instance.pinned if instance.has_pins else None
    if nv and nr:
        K.seed_rng(seed)
        if pinned is None:
            KR.repair(
                d, sol.routes, sol.lens, sol.vehicle_of, np.arange(nr, dtype=np.int64), 2, 0.0
            )
        else:
            # Bookings first (see matching.pooling.pins), then everything else.
            lay_out_pins(d, instance, sol)
            free = np.flatnonzero(~pinned).astype(np.int64)
            KR.repair(d, sol.routes, sol.lens, sol.vehicle_of, free, 2, 0.0)
    obj = evaluate(d, sol, base)
    first_s = time.perf_counter() - t0
    history = [(first_s, obj)]
    best, best_obj, iterations = sol, obj, 0
    if not first_plan_only and nv and nr:
        polish = not instance.one_rider_per_drive
        pool = RoutePool(d) if polish else None
        if pool is not None:
            pool.add(sol)
        share = POLISH_SHARE if polish else 0.0
        deadline = t0 + time_limit_s * (1.0 - share)
        state = search(
            d, sol, base, deadline, t0, seed, history, max_iterations, pool, pinned=pinned
        )
        best, best_obj, iterations = state.best, state.best_obj, state.iterations
        if pool is not None:
            left = t0 + time_limit_s - time.perf_counter()
            sp = pool.solve(best, max(left, 0.05), instance.serve_all, pinned=pinned)
            if sp is not None:
                sp_obj = evaluate(d, sp, base)
                if objective_key(sp_obj) < objective_key(best_obj):
                    best, best_obj = sp, sp_obj
                    history.append((time.perf_counter() - t0, sp_obj))
    served_all = bool(np.all(best.vehicle_of >= 0))
    if instance.serve_all and not served_all:
        missing = np.flatnonzero(best.vehicle_of < 0)
        raise PoolingError(
            f"no plan serving every request found in {time_limit_s} s "
            f"({missing.size} unserved, e.g. request {missing[0]})"
        )
    proven = nr == 0 or (served_all and best_obj.added_distance_m <= 1e-9)
    broken: tuple[int, ...] = ()
    if pinned is not None:
        broken = tuple(int(r) for r in np.flatnonzero(pinned & (best.vehicle_of < 0)))
    return _plan(
        d,
        instance,
        best,
        best_obj,
        proven_optimal=proven,
        bound=0.0 if proven else None,
        seconds=time.perf_counter() - t0,
        first_plan_seconds=first_s,
        iterations=iterations,
        history=tuple(history),
        broken_pins=broken,
    )


def warm_up() -> None:
    """Compile every kernel a plan uses (on a two-request, two-vehicle instance)."""
    travel = np.array([[0.0, 5.0, 7.0], [5.0, 0.0, 4.0], [7.0, 4.0, 0.0]])
    inst = instance_from_arrays(
        travel,
        travel,
        pickup_node=[1, 2],
        dropoff_node=[2, 1],
        pickup_earliest_s=0.0,
        pickup_latest_s=100.0,
        dropoff_earliest_s=0.0,
        dropoff_latest_s=200.0,
        start_node=[0, 0],
        end_node=[0, 2],
        earliest_start_s=0.0,
        latest_end_s=300.0,
        capacity=2,
        max_ride_s=50.0,
        max_added_s=[-1, 100.0],
        linked_to=[1, 0],
    )
    plan_routes(inst, time_limit_s=0.05)
    d = kernel_data(inst)
    routes = np.array([[0, 2, 1, 3], [0, 0, 0, 0]], dtype=np.int64)
    K.removal_gains(
        d, routes, np.array([4, 0], dtype=np.int64), np.array([0, 0], dtype=np.int64), np.empty(2)
    )
    K.leg_dist(d, 0, K.START, 0)
    K.insertion_delta(d, 1, routes[1], 0, 0, 0, 0)
    K.remove_request(routes, np.array([4, 0], dtype=np.int64), 0, 1)
    # the relocation search runs only when time is left: compile it here in any case
    changed = np.ones(2, dtype=np.bool_)
    KR.relocate(d, routes.copy(), np.array([4, 0], dtype=np.int64), np.array([0, 0]), changed, 1)
    # what the bookings' layout (matching.pooling.pins) and insertion candidates call
    buf = np.empty(6, dtype=np.int64)
    K._build(routes[1], 0, 0, 0, 0, buf)
    K._insert(routes, np.array([0, 0], dtype=np.int64), 1, 0, 0, 0, buf)
    b, slack, pos = np.empty(8), np.empty(8), np.zeros(2, dtype=np.int64)
    K.route_state(d, 1, routes[1], 0, b, slack, pos)
    K.route_distance(d, 1, routes[1], 0)
    K.best_insertion(
        d, 1, routes[1], 0, 0, 0.0, b, slack, buf, np.empty(8), pos, np.empty(8, dtype=np.int64)
    )
