"""Numba kernels of the pooled route planner: exact route feasibility, insertion, repair.

A route of vehicle ``v`` is a sequence of events between its start and its end; event ``2r``
is the pickup of request ``r`` and ``2r + 1`` its drop-off. Sentinels ``START`` (-1) and
``END`` (-2) stand for the vehicle's start and end in leg computations.

Feasibility of a sequence is decided exactly: the service start times ``B`` must satisfy a
system of difference constraints (travel precedence, time windows, maximum ride time, maximum
route duration). Starting from the earliest times and raising lower bounds until a fixed point
(Bellman-Ford on the constraint graph) yields the least schedule, which exists if and only if
no time exceeds its window's end; waiting before a pickup to shorten a ride comes out of it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

START = -1
END = -2
EPS = 1e-7
INFEASIBLE = np.inf
SELECT_BEFORE_SORT = 8
"""Candidate insertions checked by repeated minimum selection before sorting the rest."""


class KernelData(NamedTuple):
    """Flat arrays of an instance, as the kernels read them."""

    travel: F64
    dist: F64
    ev_node: I64
    ev_early: F64
    ev_late: F64
    ev_service: F64
    ev_load: I64
    max_ride: F64
    weight: F64
    link: I64
    v_start: I64
    v_end: I64
    v_early: F64
    v_late: F64
    v_maxdur: F64
    v_cap: I64
    v_maxadded: F64
    v_maxreq: I64
    v_outing: B8
    compat: B8
    one_rider: bool


@njit(cache=True, inline="always")
def _leg(m: F64, evn: I64, vs: int, ve: int, home: int, a: int, b: int) -> float:
    # m[node(a), node(b)], through ``home`` between a drop-off and a pickup when home >= 0
    # (the one-rider model: a volunteer drives home between two services).
    na = vs if a == START else (ve if a == END else evn[a])
    nb = vs if b == START else (ve if b == END else evn[b])
    if home >= 0 and a >= 0 and b >= 0 and a % 2 == 1 and b % 2 == 0:
        return float(m[na, home] + m[home, nb])
    return float(m[na, nb])


@njit(cache=True)
def _node(d: KernelData, v: int, e: int) -> int:
    if e == START:
        return int(d.v_start[v])
    if e == END:
        return int(d.v_end[v])
    return int(d.ev_node[e])


@njit(cache=True)
def leg_time(d: KernelData, v: int, a: int, b: int) -> float:
    """Travel time from event ``a`` to event ``b`` in vehicle ``v``."""
    return _leg(d.travel, d.ev_node, d.v_start[v], d.v_end[v], _home(d, v), a, b)


@njit(cache=True)
def leg_dist(d: KernelData, v: int, a: int, b: int) -> float:
    """Driving distance from event ``a`` to event ``b`` in vehicle ``v``."""
    return _leg(d.dist, d.ev_node, d.v_start[v], d.v_end[v], _home(d, v), a, b)


@njit(cache=True, inline="always")
def _home(d: KernelData, v: int) -> int:
    return int(d.v_start[v]) if (d.one_rider and d.v_outing[v]) else -1


@njit(cache=True)
def route_distance(d: KernelData, v: int, seq: I64, n: int) -> float:
    """Total distance of the route ``seq[:n]``, start and end included."""
    dist = d.dist
    evn = d.ev_node
    vs = d.v_start[v]
    ve = d.v_end[v]
    home = _home(d, v)
    prev = START
    total = 0.0
    for k in range(n):
        total += _leg(dist, evn, vs, ve, home, prev, seq[k])
        prev = seq[k]
    return total + _leg(dist, evn, vs, ve, home, prev, END)


@njit(cache=True)
def _forward(
    travel: F64,
    evn: I64,
    vs: int,
    ve: int,
    home: int,
    ev_service: F64,
    ev_late: F64,
    v_late: float,
    seq: I64,
    n: int,
    b: F64,
    k0: int,
) -> bool:
    # Propagate lower bounds B[k] >= B[k-1] + s[k-1] + t(k-1, k) from position k0 on.
    for k in range(max(k0, 1), n + 2):
        if k - 1 == 0:
            prev = START
            s_prev = 0.0
        else:
            prev = seq[k - 2]
            s_prev = ev_service[prev]
        cur = END if k == n + 1 else seq[k - 1]
        t = b[k - 1] + s_prev + _leg(travel, evn, vs, ve, home, prev, cur)
        if t > b[k]:
            b[k] = t
        late = v_late if k == n + 1 else ev_late[cur]
        if b[k] > late + EPS:
            return False
    return True


@njit(cache=True)
def schedule(d: KernelData, v: int, seq: I64, n: int, b: F64, pos: I64) -> bool:
    """Exact feasibility of route ``seq[:n]`` for vehicle ``v``; writes the least schedule.

    ``b`` (size >= n + 2) receives service start times (``b[0]`` leaving the start, ``b[n+1]``
    arriving at the end); ``pos`` (size R) is scratch. Checks capacity, the one-rider rule,
    the request cap, the detour budget, windows, ride times and the route duration.
    """
    travel = d.travel
    evn = d.ev_node
    vs = d.v_start[v]
    ve = d.v_end[v]
    home = _home(d, v)
    ev_service = d.ev_service
    ev_early = d.ev_early
    ev_late = d.ev_late
    ev_load = d.ev_load
    max_ride = d.max_ride
    compat = d.compat
    one_rider = d.one_rider
    load = 0
    onboard = 0
    cap = d.v_cap[v]
    nreq = 0
    driven = 0.0
    prev = START
    for k in range(n):
        e = seq[k]
        r = e // 2
        if e % 2 == 0:
            if not compat[r, v]:
                return False
            onboard += 1
            nreq += 1
            pos[r] = k + 1
        else:
            onboard -= 1
        load += ev_load[e]
        if load > cap:
            return False
        if one_rider and onboard > 1:
            return False
        driven += _leg(travel, evn, vs, ve, home, prev, e)
        prev = e
    driven += _leg(travel, evn, vs, ve, home, prev, END)
    if d.v_maxreq[v] >= 0 and nreq > d.v_maxreq[v]:
        return False
    if one_rider and not d.v_outing[v] and nreq > 1:
        return False
    if d.v_maxadded[v] >= 0.0 and driven - travel[vs, ve] > d.v_maxadded[v] + EPS:
        return False
    b[0] = d.v_early[v]
    for k in range(n):
        b[k + 1] = ev_early[seq[k]]
    b[n + 1] = d.v_early[v]
    if not _forward(travel, evn, vs, ve, home, ev_service, ev_late, d.v_late[v], seq, n, b, 1):
        return False
    maxdur = d.v_maxdur[v]
    for _round in range(n + 3):
        first = n + 2
        for k in range(n):
            e = seq[k]
            if e % 2 == 1:
                r = e // 2
                p = pos[r]
                lb = b[k + 1] - ev_service[e - 1] - max_ride[r]
                if lb > b[p] + EPS:
                    b[p] = lb
                    if b[p] > ev_late[e - 1] + EPS:
                        return False
                    if p < first:
                        first = p
        lb = b[n + 1] - maxdur
        if lb > b[0] + EPS:
            b[0] = lb
            if b[0] > d.v_late[v] + EPS:
                return False
            first = 0
        if first == n + 2:
            return True
        if not _forward(
            travel, evn, vs, ve, home, ev_service, ev_late, d.v_late[v], seq, n, b, first + 1
        ):
            return False
    return False


@njit(cache=True, inline="always")
def _delta(
    dist: F64, evn: I64, vs: int, ve: int, home: int, seq: I64, n: int, r: int, i: int, j: int
) -> float:
    """Added distance of inserting request ``r``: pickup before ``seq[i]``, drop-off before
    ``seq[j]`` of the original sequence (``0 <= i <= j <= n``)."""
    p = 2 * r
    q = p + 1
    a = START if i == 0 else seq[i - 1]
    if i == j:
        b = END if i == n else seq[i]
        return (
            _leg(dist, evn, vs, ve, home, a, p)
            + _leg(dist, evn, vs, ve, home, p, q)
            + _leg(dist, evn, vs, ve, home, q, b)
            - _leg(dist, evn, vs, ve, home, a, b)
        )
    a2 = seq[i]
    c = seq[j - 1]
    b = END if j == n else seq[j]
    return (
        _leg(dist, evn, vs, ve, home, a, p)
        + _leg(dist, evn, vs, ve, home, p, a2)
        - _leg(dist, evn, vs, ve, home, a, a2)
        + _leg(dist, evn, vs, ve, home, c, q)
        + _leg(dist, evn, vs, ve, home, q, b)
        - _leg(dist, evn, vs, ve, home, c, b)
    )


@njit(cache=True)
def insertion_delta(d: KernelData, v: int, seq: I64, n: int, r: int, i: int, j: int) -> float:
    """Added distance of inserting request ``r``: pickup before ``seq[i]``, drop-off before
    ``seq[j]`` of the original sequence (``0 <= i <= j <= n``)."""
    return _delta(d.dist, d.ev_node, d.v_start[v], d.v_end[v], _home(d, v), seq, n, r, i, j)


@njit(cache=True)
def _build(seq: I64, n: int, r: int, i: int, j: int, out: I64) -> None:
    m = 0
    for k in range(n + 1):
        if k == i:
            out[m] = 2 * r
            m += 1
        if k == j:
            out[m] = 2 * r + 1
            m += 1
        if k < n:
            out[m] = seq[k]
            m += 1


@njit(cache=True)
def route_state(d: KernelData, v: int, seq: I64, n: int, b: F64, slack: F64, pos: I64) -> bool:
    """Least schedule ``b`` and forward time slack ``slack`` of a route (False if infeasible).

    ``slack[k]`` bounds the delay position ``k`` can take under the windows alone: inserting
    stops never makes the least schedule earlier (triangle inequality), so an insertion that
    delays position ``k`` by more is infeasible.
    """
    travel = d.travel
    evn = d.ev_node
    vs = d.v_start[v]
    ve = d.v_end[v]
    home = _home(d, v)
    ev_service = d.ev_service
    ev_late = d.ev_late
    if not schedule(d, v, seq, n, b, pos):
        return False
    slack[n + 1] = d.v_late[v] - b[n + 1]
    for k in range(n, -1, -1):
        e = START if k == 0 else seq[k - 1]
        nxt = END if k == n else seq[k]
        s_e = 0.0 if k == 0 else ev_service[e]
        wait = b[k + 1] - (b[k] + s_e + _leg(travel, evn, vs, ve, home, e, nxt))
        late = d.v_late[v] if k == 0 else ev_late[e]
        slack[k] = min(late - b[k], wait + slack[k + 1])
    return True


@njit(cache=True)
def best_insertion(
    d: KernelData,
    v: int,
    seq: I64,
    n: int,
    r: int,
    noise: float,
    b: F64,
    slack: F64,
    buf: I64,
    b2: F64,
    pos: I64,
    loads: I64,
) -> tuple[float, int, int]:
    """Cheapest feasible insertion of request ``r`` in route ``seq[:n]`` of vehicle ``v``.

    ``b`` and ``slack`` are the route's :func:`route_state`. Returns ``(delta, i, j)``;
    ``delta`` is ``inf`` when no position is feasible. With ``noise > 0`` each candidate's
    cost is perturbed by a factor in ``[1 - noise, 1 + noise]`` (diversification). Candidates
    are pruned by capacity, windows, slack and ride time, then checked exactly by increasing
    cost: the first feasible one is the best.
    """
    travel = d.travel
    dist = d.dist
    evn = d.ev_node
    vs = d.v_start[v]
    ve = d.v_end[v]
    home = _home(d, v)
    ev_service = d.ev_service
    ev_early = d.ev_early
    ev_late = d.ev_late
    ev_load = d.ev_load
    max_ride = d.max_ride
    compat = d.compat
    one_rider = d.one_rider
    if not compat[r, v]:
        return np.inf, -1, -1
    # loads[k]: seats taken when leaving position k (k=0 start, k=n+1 end).
    loads[0] = 0
    for k in range(n):
        loads[k + 1] = loads[k] + ev_load[seq[k]]
    need = ev_load[2 * r]
    cap = d.v_cap[v]
    p = 2 * r
    q = p + 1
    s_p = ev_service[p]
    s_q = ev_service[q]
    late_p = ev_late[p]
    late_q = ev_late[q]
    ride = max_ride[r]
    m = (n + 1) * (n + 2) // 2
    cd = np.empty(m)
    ci = np.empty(m, dtype=np.int64)
    cj = np.empty(m, dtype=np.int64)
    nc = 0
    for i in range(n + 1):
        if loads[i] + need > cap:
            continue
        if one_rider and loads[i] > 0:
            continue
        a = START if i == 0 else seq[i - 1]
        s_a = 0.0 if i == 0 else ev_service[a]
        bp = max(b[i] + s_a + _leg(travel, evn, vs, ve, home, a, p), ev_early[p])
        if bp > late_p + EPS:
            continue
        # j == i: drop-off right after the pickup
        bq = max(bp + s_p + _leg(travel, evn, vs, ve, home, p, q), ev_early[q])
        nxt = END if i == n else seq[i]
        if bq <= late_q + EPS:
            delay = bq + s_q + _leg(travel, evn, vs, ve, home, q, nxt) - b[i + 1]
            if delay <= slack[i + 1] + EPS:
                cd[nc] = _delta(dist, evn, vs, ve, home, seq, n, r, i, i)
                ci[nc] = i
                cj[nc] = i
                nc += 1
        if i == n or one_rider:
            continue
        delay = bp + s_p + _leg(travel, evn, vs, ve, home, p, nxt) - b[i + 1]
        if delay > slack[i + 1] + EPS:
            continue
        for j in range(i + 1, n + 1):
            if loads[j] + need > cap:
                break
            c = seq[j - 1]
            leave = b[j] + ev_service[c]  # nondecreasing in j: a bound to stop the scan
            if leave > late_q + EPS or leave - (late_p + s_p) > ride + EPS:
                break
            bq = max(leave + _leg(travel, evn, vs, ve, home, c, q), ev_early[q])
            if bq > late_q + EPS or bq - (late_p + s_p) > ride + EPS:
                continue
            nxt = END if j == n else seq[j]
            delay = bq + s_q + _leg(travel, evn, vs, ve, home, q, nxt) - b[j + 1]
            if delay > slack[j + 1] + EPS:
                continue
            cd[nc] = _delta(dist, evn, vs, ve, home, seq, n, r, i, j)
            ci[nc] = i
            cj[nc] = j
            nc += 1
    if nc == 0:
        return np.inf, -1, -1
    if noise > 0.0:
        for k in range(nc):
            cd[k] *= 1.0 + noise * (2.0 * np.random.random() - 1.0)
    # The cheapest candidate is nearly always feasible: pick minima one at a time (no full
    # sort), and sort what is left only after a few misses.
    for _attempt in range(min(nc, SELECT_BEFORE_SORT)):
        kb = -1
        cb = np.inf
        for k in range(nc):
            if cd[k] < cb:
                cb = cd[k]
                kb = k
        if kb < 0:
            return np.inf, -1, -1
        _build(seq, n, r, ci[kb], cj[kb], buf)
        if schedule(d, v, buf, n + 2, b2, pos):
            return cb, ci[kb], cj[kb]
        cd[kb] = np.inf
    if nc > SELECT_BEFORE_SORT:
        order = np.argsort(cd[:nc])
        for k in order:
            if cd[k] == np.inf:
                break
            _build(seq, n, r, ci[k], cj[k], buf)
            if schedule(d, v, buf, n + 2, b2, pos):
                return cd[k], ci[k], cj[k]
    return np.inf, -1, -1


@njit(cache=True)
def seed_rng(seed: int) -> None:
    """Seed numba's own random generator (separate from numpy's)."""
    np.random.seed(seed)


@njit(cache=True)
def _insert(routes: I64, lens: I64, v: int, r: int, i: int, j: int, buf: I64) -> None:
    n = lens[v]
    _build(routes[v], n, r, i, j, buf)
    for k in range(n + 2):
        routes[v, k] = buf[k]
    lens[v] = n + 2


@njit(cache=True)
def remove_request(routes: I64, lens: I64, v: int, r: int) -> None:
    """Remove both events of request ``r`` from route ``v``."""
    n = lens[v]
    m = 0
    for k in range(n):
        e = routes[v, k]
        if e // 2 != r:
            routes[v, m] = e
            m += 1
    lens[v] = m


@njit(cache=True)
def removal_gains(d: KernelData, routes: I64, lens: I64, vehicle_of: I64, out: F64) -> None:
    """Distance saved by removing each served request from its route (-inf if unserved)."""
    nv = routes.shape[0]
    for r in range(out.shape[0]):
        out[r] = -np.inf
    dist = d.dist
    evn = d.ev_node
    for v in range(nv):
        vs = d.v_start[v]
        ve = d.v_end[v]
        home = _home(d, v)
        n = lens[v]
        for k in range(n):
            e = routes[v, k]
            if e % 2 == 1:
                continue
            r = e // 2
            # find the drop-off position
            kk = k + 1
            while routes[v, kk] != e + 1:
                kk += 1
            a = START if k == 0 else routes[v, k - 1]
            bq = END if kk == n - 1 else routes[v, kk + 1]
            if kk == k + 1:
                g = (
                    _leg(dist, evn, vs, ve, home, a, e)
                    + _leg(dist, evn, vs, ve, home, e, e + 1)
                    + _leg(dist, evn, vs, ve, home, e + 1, bq)
                    - _leg(dist, evn, vs, ve, home, a, bq)
                )
            else:
                a2 = routes[v, k + 1]
                c = routes[v, kk - 1]
                g = (
                    _leg(dist, evn, vs, ve, home, a, e)
                    + _leg(dist, evn, vs, ve, home, e, a2)
                    - _leg(dist, evn, vs, ve, home, a, a2)
                    + _leg(dist, evn, vs, ve, home, c, e + 1)
                    + _leg(dist, evn, vs, ve, home, e + 1, bq)
                    - _leg(dist, evn, vs, ve, home, c, bq)
                )
            out[r] = g


@njit(cache=True)
def total_distance(d: KernelData, routes: I64, lens: I64) -> float:
    """Sum of the distances of all routes."""
    total = 0.0
    for v in range(routes.shape[0]):
        total += route_distance(d, v, routes[v], lens[v])
    return total
