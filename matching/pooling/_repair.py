"""Numba kernels that build and improve whole plans: candidate vehicles, regret insertion
with cached insertion costs, and a relocation local search.

Regret-k insertion needs, at every step, each pending request's ``k`` cheapest routes. Only
the route changed by the last insertion can change a request's insertion cost, so each
request keeps its ``k`` best (cost, vehicle) pairs and the cost matrix is refreshed one column
at a time; the request's row is rescanned only when one of its ``k`` best routes got dearer.
Rows are restricted to candidate vehicles: those that could serve the request alone (see
:func:`solo_feasible`), which on a real day is a few percent of the vehicles.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from matching.pooling._kernels import (
    B8,
    EPS,
    F64,
    I64,
    KernelData,
    _insert,
    best_insertion,
    remove_request,
    route_distance,
    route_state,
    schedule,
)

BIG_REGRET = 1e9
"""Regret counted for each of the ``k - 1`` next routes that cannot take the request."""


@njit(cache=True, parallel=True)
def solo_feasible(d: KernelData) -> B8:
    """bool[R, V]: vehicle ``v`` is compatible with request ``r`` and can serve it alone.

    A necessary condition of serving ``r`` in any route of ``v``: removing stops from a
    feasible route keeps it feasible when travel times obey the triangle inequality (shortest
    paths and Euclidean distances do). Requests are checked in parallel.
    """
    nr = d.max_ride.shape[0]
    nv = d.v_start.shape[0]
    out = np.zeros((nr, nv), dtype=np.bool_)
    for r in prange(nr):
        seq = np.empty(2, dtype=np.int64)
        seq[0] = 2 * r
        seq[1] = 2 * r + 1
        b = np.empty(4)
        pos = np.zeros(nr, dtype=np.int64)
        p = 2 * r
        pn = d.ev_node[p]
        # the least time from the pickup to a vehicle's end: served, dropped off, driven home
        ride = d.ev_service[p] + d.travel[pn, d.ev_node[p + 1]] + d.ev_service[p + 1]
        for v in range(nv):
            if not d.compat[r, v]:
                continue
            # quick necessary conditions before the exact check: reach the pickup in time,
            # and reach the end in time after the drop-off
            at = max(d.v_early[v] + d.travel[d.v_start[v], pn], d.ev_early[p])
            if at > d.ev_late[p] + EPS:
                continue
            if at + ride + d.travel[d.ev_node[p + 1], d.v_end[v]] > d.v_late[v] + EPS:
                continue
            out[r, v] = schedule(d, v, seq, 2, b, pos)
    return out


@njit(cache=True, inline="always")
def _ahead(c: float, v: int, tc: float, tv: int) -> bool:
    # (c, v) comes before the list entry (tc, tv): cheaper, or as cheap with a lower vehicle
    # index; an empty entry (tv < 0) comes after every finite cost.
    return tv < 0 or c < tc or (c == tc and v < tv)


@njit(cache=True, inline="always")
def _place(topc: F64, topv: I64, h: int, c: float, v: int) -> None:
    # Put (c, v) at slot h or above, shifting the entries it passes down by one.
    while h > 0 and _ahead(c, v, topc[h - 1], topv[h - 1]):
        topc[h] = topc[h - 1]
        topv[h] = topv[h - 1]
        h -= 1
    topc[h] = c
    topv[h] = v


@njit(cache=True)
def _rescan(row: F64, cand: I64, lo: int, hi: int, topc: F64, topv: I64) -> None:
    """The ``k`` best (cost, vehicle) pairs of one row over its candidate vehicles."""
    k = topc.shape[0]
    for h in range(k):
        topc[h] = np.inf
        topv[h] = -1
    for t in range(lo, hi):
        v = cand[t]
        c = row[v]
        if c < np.inf and _ahead(c, v, topc[k - 1], topv[k - 1]):
            _place(topc, topv, k - 1, c, v)


@njit(cache=True)
def _update_top(
    row: F64, cand: I64, lo: int, hi: int, topc: F64, topv: I64, v: int, old: float, c: float
) -> None:
    """Keep the ``k`` best pairs of a row after its entry ``v`` changed from ``old`` to ``c``."""
    k = topc.shape[0]
    at = -1
    for h in range(k):
        if topv[h] == v:
            at = h
    if at >= 0:
        if c > old:
            # a route among the best got dearer: another one may now be among them
            _rescan(row, cand, lo, hi, topc, topv)
        else:
            _place(topc, topv, at, c, v)
    elif c < np.inf and _ahead(c, v, topc[k - 1], topv[k - 1]):
        _place(topc, topv, k - 1, c, v)


@njit(cache=True)
def _regret(topc: F64, k_regret: int, nv: int) -> float:
    # Sum of the differences between the best route and the k-1 next ones.
    reg = 0.0
    for h in range(1, min(k_regret, nv)):
        c = topc[h]
        reg += BIG_REGRET if c == np.inf else c - topc[0]
    return reg


@njit(cache=True)
def repair(
    d: KernelData,
    routes: I64,
    lens: I64,
    vehicle_of: I64,
    pending: I64,
    k_regret: int,
    noise: float,
) -> None:
    """Regret-k insertion of the ``pending`` requests into the routes (in place).

    Requests are taken by decreasing priority weight, then decreasing regret, then
    increasing best cost (the first pending one on ties); each goes to its cheapest route
    (the lowest vehicle index on ties). A request that fits nowhere stays unserved
    (``vehicle_of = -1``). A request with a linked leg is inserted together with it (the leg
    may go to another vehicle) or not at all; the partner of a pending request must be
    pending too or already served.

    Only ``d.compat`` vehicles are tried (build ``compat`` with :func:`solo_feasible` to
    restrict them to those that can serve the request alone), and after each insertion only
    the changed route's column of insertion costs is recomputed.
    """
    nq = pending.shape[0]
    nv = routes.shape[0]
    maxlen = routes.shape[1]
    n_req = d.max_ride.shape[0]
    if nq == 0 or nv == 0:
        return
    kk = max(k_regret, 1)
    buf = np.empty(maxlen + 2, dtype=np.int64)
    b2 = np.empty(maxlen + 4, dtype=np.float64)
    pos = np.zeros(n_req, dtype=np.int64)
    loads = np.empty(maxlen + 4, dtype=np.int64)
    rb = np.empty((nv, maxlen + 4))
    rs = np.empty((nv, maxlen + 4))
    # candidate vehicles of each pending request (CSR)
    ptr = np.zeros(nq + 1, dtype=np.int64)
    for q in range(nq):
        r = pending[q]
        m = 0
        for v in range(nv):
            if d.compat[r, v]:
                m += 1
        ptr[q + 1] = ptr[q] + m
    cand = np.empty(ptr[nq], dtype=np.int64)
    used = np.zeros(nv, dtype=np.bool_)
    for q in range(nq):
        r = pending[q]
        t = ptr[q]
        for v in range(nv):
            if d.compat[r, v]:
                cand[t] = v
                t += 1
                used[v] = True
    for v in range(nv):
        if used[v]:
            route_state(d, v, routes[v], lens[v], rb[v], rs[v], pos)
    # cost[q, v] is read only for candidates: no need to fill the rest
    cost = np.empty((nq, nv))
    pi = np.empty((nq, nv), dtype=np.int64)
    pj = np.empty((nq, nv), dtype=np.int64)
    topc = np.empty((nq, kk))
    topv = np.empty((nq, kk), dtype=np.int64)
    alive = np.ones(nq, dtype=np.bool_)
    slot = np.full(n_req, -1, dtype=np.int64)
    for q in range(nq):
        slot[pending[q]] = q
    for q in range(nq):
        r = pending[q]
        for t in range(ptr[q], ptr[q + 1]):
            v = cand[t]
            c, i, j = best_insertion(
                d, v, routes[v], lens[v], r, noise, rb[v], rs[v], buf, b2, pos, loads
            )
            cost[q, v] = c
            pi[q, v] = i
            pj[q, v] = j
        _rescan(cost[q], cand, ptr[q], ptr[q + 1], topc[q], topv[q])
    dirty = np.zeros(nv, dtype=np.bool_)
    for _step in range(nq):
        # refresh the columns of the routes changed by the last insertion
        for v in range(nv):
            if not dirty[v]:
                continue
            route_state(d, v, routes[v], lens[v], rb[v], rs[v], pos)
            for q in range(nq):
                r = pending[q]
                if not alive[q] or not d.compat[r, v]:
                    continue
                c, i, j = best_insertion(
                    d, v, routes[v], lens[v], r, noise, rb[v], rs[v], buf, b2, pos, loads
                )
                old = cost[q, v]
                cost[q, v] = c
                pi[q, v] = i
                pj[q, v] = j
                _update_top(cost[q], cand, ptr[q], ptr[q + 1], topc[q], topv[q], v, old, c)
            dirty[v] = False
        chosen = -1
        cw = -1.0
        creg = -1.0
        cbest = np.inf
        for q in range(nq):
            if not alive[q] or topv[q, 0] < 0:
                continue
            best = topc[q, 0]
            reg = _regret(topc[q], kk, nv) if k_regret > 1 else 0.0
            w = d.weight[pending[q]]
            if w > cw or (w == cw and (reg > creg or (reg == creg and best < cbest))):
                chosen = q
                cw = w
                creg = reg
                cbest = best
        if chosen < 0:
            break
        r = pending[chosen]
        v = topv[chosen, 0]
        _insert(routes, lens, v, r, pi[chosen, v], pj[chosen, v], buf)
        vehicle_of[r] = v
        alive[chosen] = False
        dirty[v] = True
        partner = d.link[r]
        if partner >= 0 and vehicle_of[partner] < 0:
            # insert the linked leg now, anywhere, or undo
            pb = np.inf
            pv = -1
            pii = -1
            pjj = -1
            for u in range(nv):
                if not d.compat[partner, u]:
                    continue
                if dirty[u]:
                    route_state(d, u, routes[u], lens[u], rb[u], rs[u], pos)
                elif not used[u]:
                    route_state(d, u, routes[u], lens[u], rb[u], rs[u], pos)
                    used[u] = True
                c, i, j = best_insertion(
                    d, u, routes[u], lens[u], partner, 0.0, rb[u], rs[u], buf, b2, pos, loads
                )
                if c < pb:
                    pb = c
                    pv = u
                    pii = i
                    pjj = j
            qp = slot[partner]
            if pv >= 0:
                _insert(routes, lens, pv, partner, pii, pjj, buf)
                vehicle_of[partner] = pv
                dirty[pv] = True
                if qp >= 0:
                    alive[qp] = False
            else:
                remove_request(routes, lens, v, r)
                vehicle_of[r] = -1
                dirty[v] = True
                if qp >= 0:
                    alive[qp] = False


@njit(cache=True)
def relocate(
    d: KernelData, routes: I64, lens: I64, vehicle_of: I64, changed: B8, max_passes: int
) -> float:
    """Relocation local search (in place): move one served request at a time to its cheapest
    position in any route (its own included) while that shortens the plan; returns the
    distance saved.

    Served requests stay served (so the served weight never changes) and bookings stay in
    their group (through ``compat``). A request is considered only if its route or one of
    its candidate routes is marked in ``changed`` (bool[V]; all True the first time), which
    on return marks the routes changed by the last pass: calling again with it resumes the
    search. Stops after ``max_passes`` passes or a pass without improvement.
    """
    nv = routes.shape[0]
    maxlen = routes.shape[1]
    n_req = d.max_ride.shape[0]
    buf = np.empty(maxlen + 2, dtype=np.int64)
    b2 = np.empty(maxlen + 4)
    pos = np.zeros(n_req, dtype=np.int64)
    loads = np.empty(maxlen + 4, dtype=np.int64)
    rb = np.empty((nv, maxlen + 4))
    rs = np.empty((nv, maxlen + 4))
    keep_b = np.empty(maxlen + 4)
    keep_s = np.empty(maxlen + 4)
    saved_seq = np.empty(maxlen, dtype=np.int64)
    rdist = np.empty(nv)
    changed_now = np.zeros(nv, dtype=np.bool_)
    for v in range(nv):
        route_state(d, v, routes[v], lens[v], rb[v], rs[v], pos)
        rdist[v] = route_distance(d, v, routes[v], lens[v])
    saved = 0.0
    for _pass in range(max_passes):
        improved = False
        changed_now[:] = False
        for r in range(n_req):
            v = vehicle_of[r]
            if v < 0:
                continue
            if not changed[v]:
                look = False
                for u in range(nv):
                    if changed[u] and d.compat[r, u]:
                        look = True
                        break
                if not look:
                    continue
            n = lens[v]
            for k in range(n):
                saved_seq[k] = routes[v, k]
            for k in range(n + 2):
                keep_b[k] = rb[v, k]
                keep_s[k] = rs[v, k]
            remove_request(routes, lens, v, r)
            without = route_distance(d, v, routes[v], lens[v])
            gain = rdist[v] - without
            route_state(d, v, routes[v], lens[v], rb[v], rs[v], pos)
            bc = np.inf
            bu = -1
            bi = -1
            bj = -1
            for u in range(nv):
                if not d.compat[r, u]:
                    continue
                c, i, j = best_insertion(
                    d, u, routes[u], lens[u], r, 0.0, rb[u], rs[u], buf, b2, pos, loads
                )
                if c < bc:
                    bc = c
                    bu = u
                    bi = i
                    bj = j
            if bu >= 0 and bc < gain - EPS:
                _insert(routes, lens, bu, r, bi, bj, buf)
                vehicle_of[r] = bu
                rdist[v] = without
                rdist[bu] = route_distance(d, bu, routes[bu], lens[bu])
                route_state(d, bu, routes[bu], lens[bu], rb[bu], rs[bu], pos)
                changed_now[v] = True
                changed_now[bu] = True
                saved += gain - bc
                improved = True
            else:
                for k in range(n):
                    routes[v, k] = saved_seq[k]
                lens[v] = n
                for k in range(n + 2):
                    rb[v, k] = keep_b[k]
                    rs[v, k] = keep_s[k]
        changed[:] = changed_now
        if not improved:
            break
    return saved
