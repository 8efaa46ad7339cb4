"""Numba kernels that contract a road graph into a contraction hierarchy.

Node order: lazy-updated priority ``edge difference x 2 + contracted neighbours + level``;
witness searches are Dijkstras bounded by the candidate shortcut's cost and a settle limit
(a missed witness only adds a redundant shortcut, never a wrong distance). The remaining
graph is kept as linked lists over a growable edge pool; an edge to a contracted node is
unlinked from its neighbour's list so that later searches do not wade through them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from matching._heap import heap_pop, heap_push

_INF = np.int64(1) << 62


@njit(cache=True)
def _witness_search(
    source: int,
    avoid: int,
    max_cost: int,
    settle_limit: int,
    out_first: npt.NDArray[np.int64],
    out_next: npt.NDArray[np.int64],
    e_head: npt.NDArray[np.int32],
    e_time: npt.NDArray[np.int64],
    contracted: npt.NDArray[np.bool_],
    dist: npt.NDArray[np.int64],
    touched: npt.NDArray[np.int32],
    heap_keys: npt.NDArray[np.int64],
    heap_vals: npt.NDArray[np.int32],
) -> int:
    """Dijkstra from ``source`` in the remaining graph without ``avoid``; returns #touched."""
    n_touched = 1
    touched[0] = source
    dist[source] = 0
    size = heap_push(heap_keys, heap_vals, 0, 0, source)
    settled = 0
    while size > 0:
        d, u, size = heap_pop(heap_keys, heap_vals, size)
        if d > dist[u]:
            continue
        if d > max_cost:
            break
        settled += 1
        if settled > settle_limit:
            break
        e = out_first[u]
        while e >= 0:
            v = e_head[e]
            if v != avoid and not contracted[v]:
                nd = d + e_time[e]
                if nd < dist[v] and nd <= max_cost:
                    if dist[v] == _INF:
                        if n_touched >= touched.shape[0]:
                            return n_touched  # search space exhausted the buffer: stop
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    if size < heap_keys.shape[0]:
                        size = heap_push(heap_keys, heap_vals, size, nd, v)
            e = out_next[e]
    return n_touched


@njit(cache=True)
def _shortcuts_of(
    v: int,
    settle_limit: int,
    out_first: npt.NDArray[np.int64],
    out_next: npt.NDArray[np.int64],
    in_first: npt.NDArray[np.int64],
    in_next: npt.NDArray[np.int64],
    e_tail: npt.NDArray[np.int32],
    e_head: npt.NDArray[np.int32],
    e_time: npt.NDArray[np.int64],
    contracted: npt.NDArray[np.bool_],
    dist: npt.NDArray[np.int64],
    touched: npt.NDArray[np.int32],
    heap_keys: npt.NDArray[np.int64],
    heap_vals: npt.NDArray[np.int32],
    sc_in: npt.NDArray[np.int64],
    sc_out: npt.NDArray[np.int64],
) -> tuple[int, int, int]:
    """Shortcuts needed to contract ``v``, as pairs (in-edge, out-edge) in ``sc_in/sc_out``.

    Returns ``(n_shortcuts, in_degree, out_degree)`` counted on the remaining graph. The
    caller guarantees that ``sc_in`` can hold ``in_degree * out_degree`` pairs.
    """
    n_sc = 0
    in_deg = 0
    out_deg = 0
    max_out = np.int64(0)
    e = out_first[v]
    while e >= 0:
        if not contracted[e_head[e]]:
            out_deg += 1
            if e_time[e] > max_out:
                max_out = e_time[e]
        e = out_next[e]
    ei = in_first[v]
    while ei >= 0:
        u = e_tail[ei]
        if not contracted[u]:
            in_deg += 1
            if out_deg > 0:
                n_touched = _witness_search(
                    u,
                    v,
                    e_time[ei] + max_out,
                    settle_limit,
                    out_first,
                    out_next,
                    e_head,
                    e_time,
                    contracted,
                    dist,
                    touched,
                    heap_keys,
                    heap_vals,
                )
                eo = out_first[v]
                while eo >= 0:
                    w = e_head[eo]
                    if w != u and not contracted[w] and dist[w] > e_time[ei] + e_time[eo]:
                        sc_in[n_sc] = ei
                        sc_out[n_sc] = eo
                        n_sc += 1
                    eo = out_next[eo]
                for k in range(n_touched):
                    dist[touched[k]] = _INF
        ei = in_next[ei]
    return n_sc, in_deg, out_deg


@njit(cache=True)
def _degrees(
    v: int,
    out_first: npt.NDArray[np.int64],
    out_next: npt.NDArray[np.int64],
    in_first: npt.NDArray[np.int64],
    in_next: npt.NDArray[np.int64],
    e_tail: npt.NDArray[np.int32],
    e_head: npt.NDArray[np.int32],
    contracted: npt.NDArray[np.bool_],
) -> tuple[int, int]:
    in_deg = 0
    out_deg = 0
    e = out_first[v]
    while e >= 0:
        if not contracted[e_head[e]]:
            out_deg += 1
        e = out_next[e]
    e = in_first[v]
    while e >= 0:
        if not contracted[e_tail[e]]:
            in_deg += 1
        e = in_next[e]
    return in_deg, out_deg


@njit(cache=True)
def _priority(n_sc: int, in_deg: int, out_deg: int, deleted: int, level: int) -> int:
    return 2 * (n_sc - in_deg - out_deg) + deleted + level


@njit(cache=True)
def contract_graph(
    n: int,
    tail: npt.NDArray[np.int32],
    head: npt.NDArray[np.int32],
    time: npt.NDArray[np.int32],
    length: npt.NDArray[np.float32],
    sim_settle_limit: int,
    settle_limit: int,
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int32],
]:
    """Contract every node; return ``(rank, tail, head, time, length, middle)`` of all edges.

    The returned edges are the graph's edges and the shortcuts, at most one per ordered
    pair, ``middle`` being the node a shortcut bypasses (``-1`` for a road edge).
    """
    m = tail.shape[0]
    cap = max(16, 2 * m)
    e_tail = np.empty(cap, dtype=np.int32)
    e_head = np.empty(cap, dtype=np.int32)
    e_time = np.empty(cap, dtype=np.int64)
    e_len = np.empty(cap, dtype=np.float64)
    e_mid = np.empty(cap, dtype=np.int32)
    out_next = np.empty(cap, dtype=np.int64)
    in_next = np.empty(cap, dtype=np.int64)
    out_first = np.full(n, -1, dtype=np.int64)
    in_first = np.full(n, -1, dtype=np.int64)
    for e in range(m):
        e_tail[e] = tail[e]
        e_head[e] = head[e]
        e_time[e] = time[e]
        e_len[e] = length[e]
        e_mid[e] = -1
        out_next[e] = out_first[tail[e]]
        out_first[tail[e]] = e
        in_next[e] = in_first[head[e]]
        in_first[head[e]] = e
    n_e = m

    contracted = np.zeros(n, dtype=np.bool_)
    deleted = np.zeros(n, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    prio = np.zeros(n, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int32)
    dist = np.full(n, _INF, dtype=np.int64)
    touched = np.empty(max(settle_limit, sim_settle_limit) * 64 + 64, dtype=np.int32)
    wk = np.empty(touched.shape[0] * 8, dtype=np.int64)
    wv = np.empty(touched.shape[0] * 8, dtype=np.int32)
    sc_cap = 1024
    sc_in = np.empty(sc_cap, dtype=np.int64)
    sc_out = np.empty(sc_cap, dtype=np.int64)

    pq_cap = 4 * n + 16
    pq_k = np.empty(pq_cap, dtype=np.int64)
    pq_v = np.empty(pq_cap, dtype=np.int32)
    pq_size = 0
    for v in range(n):
        in_deg, out_deg = _degrees(
            v, out_first, out_next, in_first, in_next, e_tail, e_head, contracted
        )
        if in_deg * out_deg > sc_cap:
            sc_cap = 2 * in_deg * out_deg
            sc_in = np.empty(sc_cap, dtype=np.int64)
            sc_out = np.empty(sc_cap, dtype=np.int64)
        n_sc, in_deg, out_deg = _shortcuts_of(
            v,
            sim_settle_limit,
            out_first,
            out_next,
            in_first,
            in_next,
            e_tail,
            e_head,
            e_time,
            contracted,
            dist,
            touched,
            wk,
            wv,
            sc_in,
            sc_out,
        )
        prio[v] = _priority(n_sc, in_deg, out_deg, 0, 0)
        pq_size = heap_push(pq_k, pq_v, pq_size, prio[v], v)

    next_rank = 0
    while pq_size > 0:
        p, v, pq_size = heap_pop(pq_k, pq_v, pq_size)
        if contracted[v] or p != prio[v]:
            continue
        in_deg, out_deg = _degrees(
            v, out_first, out_next, in_first, in_next, e_tail, e_head, contracted
        )
        if in_deg * out_deg > sc_cap:
            sc_cap = 2 * in_deg * out_deg
            sc_in = np.empty(sc_cap, dtype=np.int64)
            sc_out = np.empty(sc_cap, dtype=np.int64)
        # Lazy update: recompute, and put the node back if it is no longer the minimum.
        n_sc, in_deg, out_deg = _shortcuts_of(
            v,
            sim_settle_limit,
            out_first,
            out_next,
            in_first,
            in_next,
            e_tail,
            e_head,
            e_time,
            contracted,
            dist,
            touched,
            wk,
            wv,
            sc_in,
            sc_out,
        )
        new_p = _priority(n_sc, in_deg, out_deg, deleted[v], level[v])
        if pq_size > 0 and new_p > pq_k[0]:
            prio[v] = new_p
            if pq_size >= pq_cap:
                pq_cap *= 2
                nk = np.empty(pq_cap, dtype=np.int64)
                nv = np.empty(pq_cap, dtype=np.int32)
                nk[:pq_size] = pq_k[:pq_size]
                nv[:pq_size] = pq_v[:pq_size]
                pq_k, pq_v = nk, nv
            pq_size = heap_push(pq_k, pq_v, pq_size, new_p, v)
            continue

        # Contract v for real, with the larger settle limit.
        n_sc, in_deg, out_deg = _shortcuts_of(
            v,
            settle_limit,
            out_first,
            out_next,
            in_first,
            in_next,
            e_tail,
            e_head,
            e_time,
            contracted,
            dist,
            touched,
            wk,
            wv,
            sc_in,
            sc_out,
        )
        for k in range(n_sc):
            ei = sc_in[k]
            eo = sc_out[k]
            u = e_tail[ei]
            w = e_head[eo]
            t_new = e_time[ei] + e_time[eo]
            l_new = e_len[ei] + e_len[eo]
            # An existing u -> w edge is updated in place (one edge per ordered pair).
            found = -1
            e = out_first[u]
            while e >= 0:
                if e_head[e] == w:
                    found = e
                    break
                e = out_next[e]
            if found >= 0:
                if t_new < e_time[found]:
                    e_time[found] = t_new
                    e_len[found] = l_new
                    e_mid[found] = v
                continue
            if n_e >= cap:
                cap *= 2
                e_tail = _grow_i32(e_tail, cap)
                e_head = _grow_i32(e_head, cap)
                e_mid = _grow_i32(e_mid, cap)
                e_time = _grow_i64(e_time, cap)
                out_next = _grow_i64(out_next, cap)
                in_next = _grow_i64(in_next, cap)
                e_len = _grow_f64(e_len, cap)
            e_tail[n_e] = u
            e_head[n_e] = w
            e_time[n_e] = t_new
            e_len[n_e] = l_new
            e_mid[n_e] = v
            out_next[n_e] = out_first[u]
            out_first[u] = n_e
            in_next[n_e] = in_first[w]
            in_first[w] = n_e
            n_e += 1
        contracted[v] = True
        rank[v] = next_rank
        next_rank += 1
        # Unlink v from its neighbours' lists and refresh their priorities.
        e = in_first[v]
        while e >= 0:
            u = e_tail[e]
            if not contracted[u]:
                _unlink_out(u, v, out_first, out_next, e_head)
            e = in_next[e]
        e = out_first[v]
        while e >= 0:
            w = e_head[e]
            if not contracted[w]:
                _unlink_in(w, v, in_first, in_next, e_tail)
            e = out_next[e]
        for direction in range(2):
            e = in_first[v] if direction == 0 else out_first[v]
            while e >= 0:
                x = e_tail[e] if direction == 0 else e_head[e]
                e = in_next[e] if direction == 0 else out_next[e]
                if contracted[x]:
                    continue
                deleted[x] += 1
                if level[v] + 1 > level[x]:
                    level[x] = level[v] + 1
                in_d, out_d = _degrees(
                    x, out_first, out_next, in_first, in_next, e_tail, e_head, contracted
                )
                if in_d * out_d > sc_cap:
                    sc_cap = 2 * in_d * out_d
                    sc_in = np.empty(sc_cap, dtype=np.int64)
                    sc_out = np.empty(sc_cap, dtype=np.int64)
                n_x, in_d, out_d = _shortcuts_of(
                    x,
                    sim_settle_limit,
                    out_first,
                    out_next,
                    in_first,
                    in_next,
                    e_tail,
                    e_head,
                    e_time,
                    contracted,
                    dist,
                    touched,
                    wk,
                    wv,
                    sc_in,
                    sc_out,
                )
                prio[x] = _priority(n_x, in_d, out_d, deleted[x], level[x])
                if pq_size >= pq_cap:
                    pq_cap *= 2
                    nk = np.empty(pq_cap, dtype=np.int64)
                    nv = np.empty(pq_cap, dtype=np.int32)
                    nk[:pq_size] = pq_k[:pq_size]
                    nv[:pq_size] = pq_v[:pq_size]
                    pq_k, pq_v = nk, nv
                pq_size = heap_push(pq_k, pq_v, pq_size, prio[x], x)
    return (
        rank,
        e_tail[:n_e].copy(),
        e_head[:n_e].copy(),
        e_time[:n_e].copy(),
        e_len[:n_e].copy(),
        e_mid[:n_e].copy(),
    )


@njit(cache=True)
def _unlink_out(
    u: int,
    v: int,
    out_first: npt.NDArray[np.int64],
    out_next: npt.NDArray[np.int64],
    e_head: npt.NDArray[np.int32],
) -> None:
    prev = -1
    e = out_first[u]
    while e >= 0:
        if e_head[e] == v:
            if prev < 0:
                out_first[u] = out_next[e]
            else:
                out_next[prev] = out_next[e]
            return
        prev = e
        e = out_next[e]


@njit(cache=True)
def _unlink_in(
    w: int,
    v: int,
    in_first: npt.NDArray[np.int64],
    in_next: npt.NDArray[np.int64],
    e_tail: npt.NDArray[np.int32],
) -> None:
    prev = -1
    e = in_first[w]
    while e >= 0:
        if e_tail[e] == v:
            if prev < 0:
                in_first[w] = in_next[e]
            else:
                in_next[prev] = in_next[e]
            return
        prev = e
        e = in_next[e]


@njit(cache=True)
def _grow_i32(a: npt.NDArray[np.int32], cap: int) -> npt.NDArray[np.int32]:
    b = np.empty(cap, dtype=np.int32)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_i64(a: npt.NDArray[np.int64], cap: int) -> npt.NDArray[np.int64]:
    b = np.empty(cap, dtype=np.int64)
    b[: a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_f64(a: npt.NDArray[np.float64], cap: int) -> npt.NDArray[np.float64]:
    b = np.empty(cap, dtype=np.float64)
    b[: a.shape[0]] = a
    return b
