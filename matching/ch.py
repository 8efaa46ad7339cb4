"""Contraction hierarchies: an index built once, then cheap exact queries.

:func:`build_ch` contracts the graph (:mod:`matching._ch_build`); :class:`CHQuery` answers
point-to-point queries and unpacks paths; :func:`many_to_many` computes travel-time tables
with buckets (Knopp et al. 2007): one backward upward search per target fills buckets, one
forward upward search per source (in parallel) scans them. :class:`BucketIndex` keeps one
side's buckets so that the other side can be queried later, one point at a time (the
offers of a day against each new need). Every upward search uses stall-on-demand.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange

from matching._ch_build import contract_graph
from matching._heap import heap_pop, heap_push
from matching.dijkstra import INF64, validate_bound, validate_nodes
from matching.errors import CHError
from matching.graph import INF_TIME, RoadGraph, check_graph


class CHIndex(NamedTuple):
    """A contraction-hierarchy index, nodes renumbered by rank (0 = contracted first).

    ``rank[v]`` is the rank of graph node ``v`` and ``order[r]`` the node of rank ``r``.
    The upward forward graph holds, for each rank ``r``, the edges ``r -> s`` with
    ``s > r``; the upward backward graph holds the reversed edges ``r <- s`` with
    ``s > r`` (stored as ``r -> s``). ``*_middle`` is the rank of the node a shortcut
    bypasses, or ``-1`` for an edge of the road graph. ``graph_key`` holds the number of
    nodes, the number of edges and a checksum of the road graph the index was built from.
    """

    rank: npt.NDArray[np.int32]
    order: npt.NDArray[np.int32]
    fwd_indptr: npt.NDArray[np.int64]
    fwd_head: npt.NDArray[np.int32]
    fwd_time: npt.NDArray[np.int32]
    fwd_length: npt.NDArray[np.float64]
    fwd_middle: npt.NDArray[np.int32]
    bwd_indptr: npt.NDArray[np.int64]
    bwd_head: npt.NDArray[np.int32]
    bwd_time: npt.NDArray[np.int32]
    bwd_length: npt.NDArray[np.float64]
    bwd_middle: npt.NDArray[np.int32]
    graph_key: npt.NDArray[np.int64]


def graph_key(g: RoadGraph) -> npt.NDArray[np.int64]:
    """``[n_nodes, n_edges, checksum]`` identifying the graph an index belongs to."""
    tails = g.edge_tails().astype(np.int64)
    weights = np.arange(1, g.n_edges + 1, dtype=np.int64) % 1_000_003
    mix = tails * 31 + g.indices.astype(np.int64) * 17 + g.travel_time_s.astype(np.int64)
    checksum = int(np.sum(mix * weights) % (1 << 61))
    return np.array([g.n_nodes, g.n_edges, checksum], dtype=np.int64)


def build_ch(g: RoadGraph, *, sim_settle_limit: int = 60, settle_limit: int = 400) -> CHIndex:
    """Contract ``g`` into a :class:`CHIndex` (once; save it with :func:`matching.io.save_ch`).

    Parameters
    ----------
    g : RoadGraph
    sim_settle_limit, settle_limit : int
        Settled-node limits of the witness searches when estimating a node's priority and
        when contracting it. Smaller is faster to build but adds redundant shortcuts; the
        distances are exact either way.
    """
    check_graph(g)
    if sim_settle_limit < 1 or settle_limit < 1:
        raise ValueError("settle limits must be >= 1")
    n = g.n_nodes
    rank, tail, head, time, length, middle = contract_graph(
        n,
        g.edge_tails(),
        g.indices,
        g.travel_time_s,
        g.length_m,
        sim_settle_limit,
        settle_limit,
    )
    if np.any(time > INF_TIME - 1):
        raise CHError("a shortcut is longer than INF_TIME: travel times are too large")
    order = np.empty(n, dtype=np.int32)
    order[rank] = np.arange(n, dtype=np.int32)
    rt = rank[tail]
    rh = rank[head]
    rm = np.where(middle >= 0, rank[np.maximum(middle, 0)], -1).astype(np.int32)
    up = rt < rh
    fwd = _csr(n, rt[up], rh[up], time[up], length[up], rm[up])
    down = ~up
    bwd = _csr(n, rh[down], rt[down], time[down], length[down], rm[down])
    return CHIndex(
        rank=rank.astype(np.int32),
        order=order,
        fwd_indptr=fwd[0],
        fwd_head=fwd[1],
        fwd_time=fwd[2],
        fwd_length=fwd[3],
        fwd_middle=fwd[4],
        bwd_indptr=bwd[0],
        bwd_head=bwd[1],
        bwd_time=bwd[2],
        bwd_length=bwd[3],
        bwd_middle=bwd[4],
        graph_key=graph_key(g),
    )


def _csr(
    n: int,
    tail: npt.NDArray[np.int32],
    head: npt.NDArray[np.int32],
    time: npt.NDArray[np.int64],
    length: npt.NDArray[np.float64],
    middle: npt.NDArray[np.int32],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.float64],
    npt.NDArray[np.int32],
]:
    order = np.lexsort((head, tail))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return (
        indptr,
        head[order].astype(np.int32),
        time[order].astype(np.int32),
        length[order].astype(np.float64),
        middle[order].astype(np.int32),
    )


def check_ch(ch: CHIndex, g: RoadGraph, *, full: bool = True) -> None:
    """Verify the invariants of a CH index and that it was built on ``g``.

    With ``full=False`` only the cheap, vectorised checks run (graph key, permutation,
    shapes, upward edges): enough for a cache this package wrote itself.

    Checks dtypes and shapes; that ``rank`` and ``order`` are inverse permutations; that
    every upward edge goes to a higher rank, once per pair; that every road edge of ``g``
    is represented by an upward edge no slower than it; and that every shortcut is exactly
    the concatenation of its two halves (both present, via a lower-ranked middle node).

    Raises
    ------
    CHError
        Naming the first broken invariant.
    """
    n = g.n_nodes
    if not np.array_equal(ch.graph_key, graph_key(g)):
        raise CHError("the CH index was built on another graph (graph_key differs)")
    if ch.rank.shape != (n,) or ch.order.shape != (n,):
        raise CHError("rank and order must have one entry per node")
    if not np.array_equal(ch.rank[ch.order], np.arange(n)):
        raise CHError("rank and order are not inverse permutations")
    for side in ("fwd", "bwd"):
        indptr = getattr(ch, f"{side}_indptr")
        head = getattr(ch, f"{side}_head")
        time = getattr(ch, f"{side}_time")
        middle = getattr(ch, f"{side}_middle")
        length = getattr(ch, f"{side}_length")
        if indptr.dtype != np.int64 or head.dtype != np.int32 or time.dtype != np.int32:
            raise CHError(f"{side} arrays have the wrong dtypes")
        if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != head.shape[0]:
            raise CHError(f"{side}_indptr is malformed")
        if np.any(np.diff(indptr) < 0):
            raise CHError(f"{side}_indptr must be non-decreasing")
        if not (time.shape == head.shape == middle.shape == length.shape):
            raise CHError(f"{side} edge arrays differ in length")
        tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        if head.size and (np.any(head <= tails) or head.max() >= n):
            raise CHError(f"{side} edge not going upward")
        if head.size and np.any(time < 0):
            raise CHError(f"{side} edge with a negative time")
        same = tails[1:] == tails[:-1]
        if np.any(same & (head[1:] <= head[:-1])):
            raise CHError(f"{side} edges must be sorted and unique per pair")
        if np.any((middle >= 0) & ((middle >= np.minimum(tails, head)) | (middle >= n))):
            raise CHError(f"{side} shortcut whose middle node is not lower than its ends")
    if not full:
        return
    edges = _ch_edge_dict(ch)
    g_tails = ch.rank[g.edge_tails()]
    g_heads = ch.rank[g.indices]
    for a, b, t in zip(g_tails.tolist(), g_heads.tolist(), g.travel_time_s.tolist(), strict=True):
        found = edges.get((a, b))
        if found is None or found[0] > t:
            raise CHError(f"road edge {a}->{b} (ranks) is missing or slower in the index")
    for (a, b), (t, length, mid) in edges.items():
        if mid < 0:
            continue
        first = edges.get((a, mid))
        second = edges.get((mid, b))
        if first is None or second is None:
            raise CHError(f"shortcut {a}->{b} (ranks) via {mid} has a missing half")
        if first[0] + second[0] != t or abs(first[1] + second[1] - length) > 1e-6 * (1 + length):
            raise CHError(f"shortcut {a}->{b} (ranks) differs from the sum of its halves")


def _ch_edge_dict(ch: CHIndex) -> dict[tuple[int, int], tuple[int, float, int]]:
    """Every CH edge as (tail rank, head rank) -> (time, length, middle rank)."""
    out: dict[tuple[int, int], tuple[int, float, int]] = {}
    n = ch.rank.shape[0]
    for side in ("fwd", "bwd"):
        indptr = getattr(ch, f"{side}_indptr")
        tails = np.repeat(np.arange(n), np.diff(indptr)).tolist()
        heads = getattr(ch, f"{side}_head").tolist()
        times = getattr(ch, f"{side}_time").tolist()
        lengths = getattr(ch, f"{side}_length").tolist()
        middles = getattr(ch, f"{side}_middle").tolist()
        for a, b, t, ln, mid in zip(tails, heads, times, lengths, middles, strict=True):
            key = (a, b) if side == "fwd" else (b, a)
            if key in out:
                raise CHError(f"edge {key} (ranks) stored twice in the index")
            out[key] = (t, ln, mid)
    return out


# --------------------------------------------------------------------------- kernels


@njit(cache=True)
def _upward_search(
    indptr: npt.NDArray[np.int64],
    head: npt.NDArray[np.int32],
    time: npt.NDArray[np.int32],
    length: npt.NDArray[np.float64],
    stall_indptr: npt.NDArray[np.int64],
    stall_head: npt.NDArray[np.int32],
    stall_time: npt.NDArray[np.int32],
    root: int,
    bound: int,
    dist: npt.NDArray[np.int64],
    dlen: npt.NDArray[np.float64],
    heap_keys: npt.NDArray[np.int64],
    heap_vals: npt.NDArray[np.int32],
    touched: npt.NDArray[np.int32],
    out_node: npt.NDArray[np.int32],
    out_dist: npt.NDArray[np.int64],
    out_len: npt.NDArray[np.float64],
) -> tuple[int, int]:
    """Full upward search from ``root`` with stall-on-demand, pruned at ``bound``.

    Writes the settled, non-stalled nodes to ``out_*``; returns ``(n_out, n_touched)``.
    ``dist`` must be INF64 on entry; the caller resets the touched nodes.
    """
    n_out = 0
    n_touched = 1
    touched[0] = root
    dist[root] = 0
    dlen[root] = 0.0
    size = heap_push(heap_keys, heap_vals, 0, 0, root)
    while size > 0:
        d, x, size = heap_pop(heap_keys, heap_vals, size)
        if d > dist[x]:
            continue
        if d > bound:
            break
        stalled = False
        for e in range(stall_indptr[x], stall_indptr[x + 1]):
            y = stall_head[e]
            if dist[y] + stall_time[e] < d:
                stalled = True
                break
        if stalled:
            continue
        out_node[n_out] = x
        out_dist[n_out] = d
        out_len[n_out] = dlen[x]
        n_out += 1
        for e in range(indptr[x], indptr[x + 1]):
            y = head[e]
            nd = d + time[e]
            if nd < dist[y]:
                if dist[y] == INF64:
                    touched[n_touched] = y
                    n_touched += 1
                dist[y] = nd
                dlen[y] = dlen[x] + length[e]
                size = heap_push(heap_keys, heap_vals, size, nd, y)
    return n_out, n_touched


@njit(cache=True)
def _build_buckets(
    indptr: npt.NDArray[np.int64],
    head: npt.NDArray[np.int32],
    time: npt.NDArray[np.int32],
    length: npt.NDArray[np.float64],
    stall_indptr: npt.NDArray[np.int64],
    stall_head: npt.NDArray[np.int32],
    stall_time: npt.NDArray[np.int32],
    roots: npt.NDArray[np.int32],
    bound: int,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]
]:
    """Upward search from every root; bucket the results by node (CSR over ranks)."""
    n = indptr.shape[0] - 1
    dist = np.full(n, INF64, dtype=np.int64)
    dlen = np.empty(n, dtype=np.float64)
    heap_keys = np.empty(head.shape[0] + 1, dtype=np.int64)
    heap_vals = np.empty(head.shape[0] + 1, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    s_node = np.empty(n, dtype=np.int32)
    s_dist = np.empty(n, dtype=np.int64)
    s_len = np.empty(n, dtype=np.float64)
    cap = max(16, 64 * roots.shape[0])
    all_node = np.empty(cap, dtype=np.int32)
    all_root = np.empty(cap, dtype=np.int32)
    all_dist = np.empty(cap, dtype=np.int64)
    all_len = np.empty(cap, dtype=np.float64)
    total = 0
    for i in range(roots.shape[0]):
        n_out, n_touched = _upward_search(
            indptr,
            head,
            time,
            length,
            stall_indptr,
            stall_head,
            stall_time,
            roots[i],
            bound,
            dist,
            dlen,
            heap_keys,
            heap_vals,
            touched,
            s_node,
            s_dist,
            s_len,
        )
        if total + n_out > cap:
            cap = max(2 * cap, total + n_out)
            a = np.empty(cap, dtype=np.int32)
            a[:total] = all_node[:total]
            all_node = a
            b = np.empty(cap, dtype=np.int32)
            b[:total] = all_root[:total]
            all_root = b
            c = np.empty(cap, dtype=np.int64)
            c[:total] = all_dist[:total]
            all_dist = c
            f = np.empty(cap, dtype=np.float64)
            f[:total] = all_len[:total]
            all_len = f
        for k in range(n_out):
            all_node[total] = s_node[k]
            all_root[total] = i
            all_dist[total] = s_dist[k]
            all_len[total] = s_len[k]
            total += 1
        for k in range(n_touched):
            dist[touched[k]] = INF64
    b_indptr = np.zeros(n + 1, dtype=np.int64)
    for k in range(total):
        b_indptr[all_node[k] + 1] += 1
    for x in range(n):
        b_indptr[x + 1] += b_indptr[x]
    fill = b_indptr[:-1].copy()
    b_root = np.empty(total, dtype=np.int32)
    b_dist = np.empty(total, dtype=np.int64)
    b_len = np.empty(total, dtype=np.float64)
    for k in range(total):
        p = fill[all_node[k]]
        fill[all_node[k]] += 1
        b_root[p] = all_root[k]
        b_dist[p] = all_dist[k]
        b_len[p] = all_len[k]
    return b_indptr, b_root, b_dist, b_len


@njit(cache=True)
def _scan_range(
    indptr: npt.NDArray[np.int64],
    head: npt.NDArray[np.int32],
    time: npt.NDArray[np.int32],
    length: npt.NDArray[np.float64],
    stall_indptr: npt.NDArray[np.int64],
    stall_head: npt.NDArray[np.int32],
    stall_time: npt.NDArray[np.int32],
    roots: npt.NDArray[np.int32],
    start: int,
    stop: int,
    bound: int,
    b_indptr: npt.NDArray[np.int64],
    b_root: npt.NDArray[np.int32],
    b_dist: npt.NDArray[np.int64],
    b_len: npt.NDArray[np.float64],
    out_t: npt.NDArray[np.int32],
    out_l: npt.NDArray[np.float64],
) -> None:
    """Rows ``start:stop`` of the table: search from each root and scan the buckets."""
    n = indptr.shape[0] - 1
    n_cols = out_t.shape[1]
    dist = np.full(n, INF64, dtype=np.int64)
    dlen = np.empty(n, dtype=np.float64)
    heap_keys = np.empty(head.shape[0] + 1, dtype=np.int64)
    heap_vals = np.empty(head.shape[0] + 1, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    s_node = np.empty(n, dtype=np.int32)
    s_dist = np.empty(n, dtype=np.int64)
    s_len = np.empty(n, dtype=np.float64)
    best = np.empty(n_cols, dtype=np.int64)
    best_len = np.empty(n_cols, dtype=np.float64)
    for i in range(start, stop):
        n_out, n_touched = _upward_search(
            indptr,
            head,
            time,
            length,
            stall_indptr,
            stall_head,
            stall_time,
            roots[i],
            bound,
            dist,
            dlen,
            heap_keys,
            heap_vals,
            touched,
            s_node,
            s_dist,
            s_len,
        )
        best[:] = INF64
        best_len[:] = np.inf
        for k in range(n_out):
            x = s_node[k]
            d = s_dist[k]
            for p in range(b_indptr[x], b_indptr[x + 1]):
                c = d + b_dist[p]
                j = b_root[p]
                if c < best[j]:
                    best[j] = c
                    best_len[j] = s_len[k] + b_len[p]
        for j in range(n_cols):
            if best[j] <= bound:
                out_t[i, j] = best[j]
                out_l[i, j] = best_len[j]
            else:
                out_t[i, j] = INF_TIME
                out_l[i, j] = np.inf
        for k in range(n_touched):
            dist[touched[k]] = INF64


@njit(cache=True, parallel=True)
def _scan_parallel(
    indptr: npt.NDArray[np.int64],
    head: npt.NDArray[np.int32],
    time: npt.NDArray[np.int32],
    length: npt.NDArray[np.float64],
    stall_indptr: npt.NDArray[np.int64],
    stall_head: npt.NDArray[np.int32],
    stall_time: npt.NDArray[np.int32],
    roots: npt.NDArray[np.int32],
    bound: int,
    b_indptr: npt.NDArray[np.int64],
    b_root: npt.NDArray[np.int32],
    b_dist: npt.NDArray[np.int64],
    b_len: npt.NDArray[np.float64],
    n_cols: int,
    n_chunks: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    n_rows = roots.shape[0]
    out_t = np.empty((n_rows, n_cols), dtype=np.int32)
    out_l = np.empty((n_rows, n_cols), dtype=np.float64)
    for c in prange(n_chunks):
        _scan_range(
            indptr,
            head,
            time,
            length,
            stall_indptr,
            stall_head,
            stall_time,
            roots,
            c * n_rows // n_chunks,
            (c + 1) * n_rows // n_chunks,
            bound,
            b_indptr,
            b_root,
            b_dist,
            b_len,
            out_t,
            out_l,
        )
    return out_t, out_l


@njit(cache=True)
def _p2p(
    f_indptr: npt.NDArray[np.int64],
    f_head: npt.NDArray[np.int32],
    f_time: npt.NDArray[np.int32],
    b_indptr: npt.NDArray[np.int64],
    b_head: npt.NDArray[np.int32],
    b_time: npt.NDArray[np.int32],
    s: int,
    t: int,
    dist_f: npt.NDArray[np.int64],
    dist_b: npt.NDArray[np.int64],
    par_f: npt.NDArray[np.int64],
    par_b: npt.NDArray[np.int64],
    hk_f: npt.NDArray[np.int64],
    hv_f: npt.NDArray[np.int32],
    hk_b: npt.NDArray[np.int64],
    hv_b: npt.NDArray[np.int32],
    touched: npt.NDArray[np.int32],
) -> tuple[int, int, int]:
    """Bidirectional upward Dijkstra between ranks ``s`` and ``t``.

    Returns ``(time, meeting_rank, n_touched)``, time ``INF64`` when unreachable. ``par_f``
    / ``par_b`` hold, per reached rank, the index of the CH edge it was reached by (``-1``
    for the roots). ``dist_*`` must be INF64 on entry; the caller resets ``touched``.
    """
    n_touched = 0
    dist_f[s] = 0
    par_f[s] = -1
    touched[n_touched] = s
    n_touched += 1
    if t != s:
        touched[n_touched] = t
        n_touched += 1
    dist_b[t] = 0
    par_b[t] = -1
    size_f = heap_push(hk_f, hv_f, 0, 0, s)
    size_b = heap_push(hk_b, hv_b, 0, 0, t)
    best = INF64
    meet = -1
    if s == t:
        return 0, s, n_touched
    while size_f > 0 or size_b > 0:
        top_f = hk_f[0] if size_f > 0 else INF64
        top_b = hk_b[0] if size_b > 0 else INF64
        if min(top_f, top_b) >= best:
            break
        forward = top_f <= top_b
        if forward:
            d, x, size_f = heap_pop(hk_f, hv_f, size_f)
            if d > dist_f[x]:
                continue
            if dist_b[x] < INF64 and d + dist_b[x] < best:
                best = d + dist_b[x]
                meet = x
            # stall-on-demand: reached cheaper from a higher node?
            stalled = False
            for e in range(b_indptr[x], b_indptr[x + 1]):
                if dist_f[b_head[e]] + b_time[e] < d:
                    stalled = True
                    break
            if stalled:
                continue
            for e in range(f_indptr[x], f_indptr[x + 1]):
                y = f_head[e]
                nd = d + f_time[e]
                if nd < dist_f[y]:
                    if dist_f[y] == INF64 and dist_b[y] == INF64:
                        touched[n_touched] = y
                        n_touched += 1
                    dist_f[y] = nd
                    par_f[y] = e
                    size_f = heap_push(hk_f, hv_f, size_f, nd, y)
        else:
            d, x, size_b = heap_pop(hk_b, hv_b, size_b)
            if d > dist_b[x]:
                continue
            if dist_f[x] < INF64 and d + dist_f[x] < best:
                best = d + dist_f[x]
                meet = x
            stalled = False
            for e in range(f_indptr[x], f_indptr[x + 1]):
                if dist_b[f_head[e]] + f_time[e] < d:
                    stalled = True
                    break
            if stalled:
                continue
            for e in range(b_indptr[x], b_indptr[x + 1]):
                y = b_head[e]
                nd = d + b_time[e]
                if nd < dist_b[y]:
                    if dist_f[y] == INF64 and dist_b[y] == INF64:
                        touched[n_touched] = y
                        n_touched += 1
                    dist_b[y] = nd
                    par_b[y] = e
                    size_b = heap_push(hk_b, hv_b, size_b, nd, y)
    return best, meet, n_touched


@njit(cache=True)
def _find_edge(indptr: npt.NDArray[np.int64], head: npt.NDArray[np.int32], a: int, b: int) -> int:
    for e in range(indptr[a], indptr[a + 1]):
        if head[e] == b:
            return e
    return -1


@njit(cache=True)
def _unpack(
    f_indptr: npt.NDArray[np.int64],
    f_head: npt.NDArray[np.int32],
    f_middle: npt.NDArray[np.int32],
    b_indptr: npt.NDArray[np.int64],
    b_head: npt.NDArray[np.int32],
    b_middle: npt.NDArray[np.int32],
    ranks_path: npt.NDArray[np.int32],
    mids: npt.NDArray[np.int32],
) -> npt.NDArray[np.int32]:
    """Expand a path of CH edges (ranks, with each edge's middle) into road-graph ranks."""
    out = np.empty(16, dtype=np.int32)
    n_out = 1
    out[0] = ranks_path[0]
    stack_a = np.empty(64, dtype=np.int32)
    stack_b = np.empty(64, dtype=np.int32)
    stack_m = np.empty(64, dtype=np.int32)
    for k in range(ranks_path.shape[0] - 1):
        top = 0
        stack_a[0] = ranks_path[k]
        stack_b[0] = ranks_path[k + 1]
        stack_m[0] = mids[k]
        top = 1
        while top > 0:
            top -= 1
            a = stack_a[top]
            b = stack_b[top]
            mid = stack_m[top]
            if mid < 0:
                if n_out >= out.shape[0]:
                    bigger = np.empty(2 * out.shape[0], dtype=np.int32)
                    bigger[:n_out] = out[:n_out]
                    out = bigger
                out[n_out] = b
                n_out += 1
                continue
            if top + 2 > stack_a.shape[0]:
                sa = np.empty(2 * stack_a.shape[0], dtype=np.int32)
                sb = np.empty(2 * stack_a.shape[0], dtype=np.int32)
                sm = np.empty(2 * stack_a.shape[0], dtype=np.int32)
                sa[:top] = stack_a[:top]
                sb[:top] = stack_b[:top]
                sm[:top] = stack_m[:top]
                stack_a, stack_b, stack_m = sa, sb, sm
            # a -> mid is stored at mid in the backward graph; mid -> b in the forward one.
            e1 = _find_edge(b_indptr, b_head, mid, a)
            e2 = _find_edge(f_indptr, f_head, mid, b)
            stack_a[top] = mid
            stack_b[top] = b
            stack_m[top] = f_middle[e2]
            top += 1
            stack_a[top] = a
            stack_b[top] = mid
            stack_m[top] = b_middle[e1]
            top += 1
    return out[:n_out].copy()


# --------------------------------------------------------------------------- public API


class Route(NamedTuple):
    """A fastest route: travel time, length, and node ids of the road graph in order."""

    time_s: int
    length_m: float
    nodes: npt.NDArray[np.int32]


class CHQuery:
    """Reusable point-to-point query object on a :class:`CHIndex` (one per thread).

    Work arrays are allocated once; each query only resets what it touched.
    """

    def __init__(self, ch: CHIndex) -> None:
        self.ch = ch
        n = ch.rank.shape[0]
        self.n_nodes = n
        self._dist_f = np.full(n, INF64, dtype=np.int64)
        self._dist_b = np.full(n, INF64, dtype=np.int64)
        self._par_f = np.full(n, -1, dtype=np.int64)
        self._par_b = np.full(n, -1, dtype=np.int64)
        self._hk_f = np.empty(ch.fwd_head.shape[0] + 1, dtype=np.int64)
        self._hv_f = np.empty(ch.fwd_head.shape[0] + 1, dtype=np.int32)
        self._hk_b = np.empty(ch.bwd_head.shape[0] + 1, dtype=np.int64)
        self._hv_b = np.empty(ch.bwd_head.shape[0] + 1, dtype=np.int32)
        self._touched = np.empty(n, dtype=np.int32)

    def _run(self, source: int, target: int) -> tuple[int, int, int]:
        src = validate_nodes(self.n_nodes, [source], "source")
        tgt = validate_nodes(self.n_nodes, [target], "target")
        ch = self.ch
        best, meet, n_touched = _p2p(
            ch.fwd_indptr,
            ch.fwd_head,
            ch.fwd_time,
            ch.bwd_indptr,
            ch.bwd_head,
            ch.bwd_time,
            int(ch.rank[src[0]]),
            int(ch.rank[tgt[0]]),
            self._dist_f,
            self._dist_b,
            self._par_f,
            self._par_b,
            self._hk_f,
            self._hv_f,
            self._hk_b,
            self._hv_b,
            self._touched,
        )
        return int(best), int(meet), int(n_touched)

    def _reset(self, n_touched: int) -> None:
        t = self._touched[:n_touched]
        self._dist_f[t] = INF64
        self._dist_b[t] = INF64

    def time_s(self, source: int, target: int) -> int:
        """Fastest travel time from node ``source`` to node ``target`` (INF_TIME if none)."""
        best, _, n_touched = self._run(source, target)
        self._reset(n_touched)
        return INF_TIME if best >= INF64 else best

    def route(self, source: int, target: int) -> Route | None:
        """The fastest route from ``source`` to ``target`` (node ids), or None if unreachable.

        The route's time equals :meth:`time_s` and its length is the sum of the lengths of
        its road edges.
        """
        best, meet, n_touched = self._run(source, target)
        if best >= INF64:
            self._reset(n_touched)
            return None
        ch = self.ch
        up: list[tuple[int, int]] = []  # (rank, middle of the edge leading to it)
        x = meet
        while self._par_f[x] >= 0:
            e = int(self._par_f[x])
            up.append((x, int(ch.fwd_middle[e])))
            x = int(np.searchsorted(ch.fwd_indptr, e, side="right") - 1)
        up.append((x, -1))
        up.reverse()
        ranks = [r for r, _ in up]
        mids = [m for _, m in up[1:]]
        x = meet
        length = 0.0
        while self._par_b[x] >= 0:
            e = int(self._par_b[x])
            y = int(np.searchsorted(ch.bwd_indptr, e, side="right") - 1)
            ranks.append(y)
            mids.append(int(ch.bwd_middle[e]))
            x = y
        self._reset(n_touched)
        path_ranks = _unpack(
            ch.fwd_indptr,
            ch.fwd_head,
            ch.fwd_middle,
            ch.bwd_indptr,
            ch.bwd_head,
            ch.bwd_middle,
            np.array(ranks, dtype=np.int32),
            np.array(mids, dtype=np.int32),
        )
        length = _path_length(ch, np.array(ranks, dtype=np.int32))
        return Route(int(best), length, ch.order[path_ranks])


def _path_length(ch: CHIndex, ranks: npt.NDArray[np.int32]) -> float:
    total = 0.0
    for a, b in zip(ranks[:-1].tolist(), ranks[1:].tolist(), strict=True):
        if a < b:
            e = _find_edge(ch.fwd_indptr, ch.fwd_head, a, b)
            total += float(ch.fwd_length[e])
        else:
            e = _find_edge(ch.bwd_indptr, ch.bwd_head, b, a)
            total += float(ch.bwd_length[e])
    return total


class Table(NamedTuple):
    """A travel-time table (int32 seconds, INF_TIME if unreachable) and the matching lengths."""

    time_s: npt.NDArray[np.int32]
    length_m: npt.NDArray[np.float64]


def _n_chunks(n_rows: int) -> int:
    return max(1, min(n_rows, 4 * numba.get_num_threads()))


class BucketIndex:
    """The buckets of one side of a table, kept to answer the other side later.

    ``BucketIndex(ch, nodes, toward=True)`` stores backward searches from ``nodes`` (the
    targets): :meth:`times_from` then gives travel times from any sources to them.
    ``toward=False`` stores forward searches from ``nodes`` (the sources): :meth:`times_to`
    gives travel times from them to any targets. One query costs one upward search.
    """

    def __init__(
        self, ch: CHIndex, nodes: npt.ArrayLike, *, toward: bool, bound_s: int | None = None
    ) -> None:
        self.ch = ch
        self.toward = toward
        self.bound = validate_bound(bound_s)
        self.nodes = validate_nodes(ch.rank.shape[0], nodes, "nodes")
        roots = ch.rank[self.nodes]
        if toward:
            graph = (ch.bwd_indptr, ch.bwd_head, ch.bwd_time, ch.bwd_length)
            stall = (ch.fwd_indptr, ch.fwd_head, ch.fwd_time)
        else:
            graph = (ch.fwd_indptr, ch.fwd_head, ch.fwd_time, ch.fwd_length)
            stall = (ch.bwd_indptr, ch.bwd_head, ch.bwd_time)
        self._buckets = _build_buckets(*graph, *stall, roots, self.bound)
        # The querying side searches the other way.
        if toward:
            self._query = (ch.fwd_indptr, ch.fwd_head, ch.fwd_time, ch.fwd_length) + (
                ch.bwd_indptr,
                ch.bwd_head,
                ch.bwd_time,
            )
        else:
            self._query = (ch.bwd_indptr, ch.bwd_head, ch.bwd_time, ch.bwd_length) + (
                ch.fwd_indptr,
                ch.fwd_head,
                ch.fwd_time,
            )

    def _table(self, others: npt.ArrayLike, parallel: bool) -> Table:
        nodes = validate_nodes(self.ch.rank.shape[0], others, "nodes")
        roots = self.ch.rank[nodes]
        n_cols = self.nodes.shape[0]
        if parallel and roots.shape[0] > 1:
            t, ln = _scan_parallel(
                *self._query,
                roots,
                self.bound,
                *self._buckets,
                n_cols,
                _n_chunks(roots.shape[0]),
            )
        else:
            t = np.empty((roots.shape[0], n_cols), dtype=np.int32)
            ln = np.empty((roots.shape[0], n_cols), dtype=np.float64)
            _scan_range(*self._query, roots, 0, roots.shape[0], self.bound, *self._buckets, t, ln)
        return Table(t, ln)

    def times_from(self, sources: npt.ArrayLike, *, parallel: bool = True) -> Table:
        """Table ``[len(sources), len(self.nodes)]`` of times from ``sources`` (toward=True)."""
        if not self.toward:
            raise ValueError("this BucketIndex stores sources: use times_to")
        return self._table(sources, parallel)

    def times_from_point(self, targets: npt.ArrayLike, *, parallel: bool = True) -> Table:
        """Table ``[len(targets), len(self.nodes)]``: row ``i`` holds the times from every
        stored source to ``targets[i]`` (toward=False; the transpose of :meth:`times_to`)."""
        if self.toward:
            raise ValueError("this BucketIndex stores targets: use times_from")
        return self._table(targets, parallel)

    def times_to(self, targets: npt.ArrayLike, *, parallel: bool = True) -> Table:
        """Table ``[len(self.nodes), len(targets)]`` of times to ``targets`` (toward=False)."""
        if self.toward:
            raise ValueError("this BucketIndex stores targets: use times_from")
        tab = self._table(targets, parallel)
        return Table(np.ascontiguousarray(tab.time_s.T), np.ascontiguousarray(tab.length_m.T))


def many_to_many_table(
    ch: CHIndex, sources: npt.ArrayLike, targets: npt.ArrayLike, bound_s: int | None = None
) -> Table:
    """Travel times and lengths from every source to every target (bucket CH, parallel).

    Parameters
    ----------
    ch : CHIndex
    sources, targets : array_like of int
        Node ids of the road graph.
    bound_s : int, optional
        Pairs farther apart than this get INF_TIME; searches are pruned accordingly.

    Returns
    -------
    Table
        ``time_s`` int32 and ``length_m`` float64, shape ``(len(sources), len(targets))``.
    """
    return BucketIndex(ch, targets, toward=True, bound_s=bound_s).times_from(sources)


def many_to_many(
    ch: CHIndex, sources: npt.ArrayLike, targets: npt.ArrayLike, bound_s: int | None = None
) -> npt.NDArray[np.int32]:
    """Travel-time table (int32 seconds, INF_TIME when unreachable); see many_to_many_table."""
    return many_to_many_table(ch, sources, targets, bound_s).time_s


def pairwise_table(
    ch: CHIndex, sources: npt.ArrayLike, targets: npt.ArrayLike, block: int = 256
) -> Table:
    """Travel time and length from ``sources[i]`` to ``targets[i]`` for every ``i``.

    Computed block by block as the diagonal of small bucket tables, so memory stays
    ``O(block^2)`` whatever the number of pairs.
    """
    src = validate_nodes(ch.rank.shape[0], sources, "sources")
    tgt = validate_nodes(ch.rank.shape[0], targets, "targets")
    if src.shape != tgt.shape:
        raise ValueError("sources and targets must have the same length")
    times = np.empty(src.shape[0], dtype=np.int32)
    lengths = np.empty(src.shape[0], dtype=np.float64)
    for start in range(0, src.shape[0], block):
        stop = min(start + block, src.shape[0])
        tab = many_to_many_table(ch, src[start:stop], tgt[start:stop])
        times[start:stop] = np.diagonal(tab.time_s)
        lengths[start:stop] = np.diagonal(tab.length_m)
    return Table(times, lengths)
