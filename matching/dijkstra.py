"""One-to-many Dijkstra on the road graph (numba), with an optional time bound.

The kernels are plain functions of arrays; :func:`dijkstra` and :func:`dijkstra_table` are
the validating public wrappers. Reverse searches (many-to-one) run the same kernels on
:func:`matching.graph.reverse_graph`.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange

from matching._heap import heap_pop, heap_push
from matching.graph import INF_TIME, RoadGraph

INF64: int = 1 << 62
"""Internal distance sentinel of the kernels (int64), mapped to INF_TIME on output."""


class ShortestPathTree(NamedTuple):
    """Result of a one-to-many search from ``source``.

    ``time_s[v]`` is the travel time to ``v`` (``INF_TIME`` when unreachable or beyond the
    bound), ``length_m[v]`` the length of that fastest path (``inf`` when unreachable) and
    ``predecessor[v]`` the node before ``v`` on it (``-1`` for the source and unreached).
    """

    source: int
    time_s: npt.NDArray[np.int32]
    length_m: npt.NDArray[np.float64]
    predecessor: npt.NDArray[np.int32]


@njit(cache=True)
def _dijkstra_core(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    times: npt.NDArray[np.int32],
    lengths: npt.NDArray[np.float32],
    source: int,
    bound: int,
    dist: npt.NDArray[np.int64],
    dlen: npt.NDArray[np.float64],
    pred: npt.NDArray[np.int32],
    heap_keys: npt.NDArray[np.int64],
    heap_vals: npt.NDArray[np.int32],
    touched: npt.NDArray[np.int32],
) -> int:
    """Settle every node within ``bound`` of ``source``; return how many nodes were touched.

    ``dist`` must be ``INF64`` everywhere on entry; the caller resets the ``touched`` nodes.
    """
    n_touched = 0
    dist[source] = 0
    dlen[source] = 0.0
    pred[source] = -1
    touched[n_touched] = source
    n_touched += 1
    size = heap_push(heap_keys, heap_vals, 0, 0, source)
    while size > 0:
        d, u, size = heap_pop(heap_keys, heap_vals, size)
        if d > dist[u]:
            continue
        if d > bound:
            break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + times[e]
            if nd < dist[v]:
                if dist[v] == INF64:
                    touched[n_touched] = v
                    n_touched += 1
                dist[v] = nd
                dlen[v] = dlen[u] + lengths[e]
                pred[v] = u
                size = heap_push(heap_keys, heap_vals, size, nd, v)
    return n_touched


@njit(cache=True)
def _dijkstra_one(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    times: npt.NDArray[np.int32],
    lengths: npt.NDArray[np.float32],
    source: int,
    bound: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    n = indptr.shape[0] - 1
    dist = np.full(n, INF64, dtype=np.int64)
    dlen = np.full(n, np.inf, dtype=np.float64)
    pred = np.full(n, -1, dtype=np.int32)
    heap_keys = np.empty(indices.shape[0] + 1, dtype=np.int64)
    heap_vals = np.empty(indices.shape[0] + 1, dtype=np.int32)
    touched = np.empty(n, dtype=np.int32)
    _dijkstra_core(
        indptr,
        indices,
        times,
        lengths,
        source,
        bound,
        dist,
        dlen,
        pred,
        heap_keys,
        heap_vals,
        touched,
    )
    out = np.full(n, INF_TIME, dtype=np.int32)
    for v in range(n):
        if dist[v] <= bound:
            out[v] = dist[v]
        else:
            dlen[v] = np.inf
            pred[v] = -1
    return out, dlen, pred


@njit(cache=True, parallel=True)
def _dijkstra_table(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    times: npt.NDArray[np.int32],
    lengths: npt.NDArray[np.float32],
    sources: npt.NDArray[np.int32],
    targets: npt.NDArray[np.int32],
    bound: int,
    n_chunks: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    n = indptr.shape[0] - 1
    n_src = sources.shape[0]
    n_tgt = targets.shape[0]
    out_t = np.empty((n_src, n_tgt), dtype=np.int32)
    out_l = np.empty((n_src, n_tgt), dtype=np.float64)
    for chunk in prange(n_chunks):
        dist = np.full(n, INF64, dtype=np.int64)
        dlen = np.empty(n, dtype=np.float64)
        pred = np.empty(n, dtype=np.int32)
        heap_keys = np.empty(indices.shape[0] + 1, dtype=np.int64)
        heap_vals = np.empty(indices.shape[0] + 1, dtype=np.int32)
        touched = np.empty(n, dtype=np.int32)
        for i in range(chunk * n_src // n_chunks, (chunk + 1) * n_src // n_chunks):
            n_touched = _dijkstra_core(
                indptr,
                indices,
                times,
                lengths,
                sources[i],
                bound,
                dist,
                dlen,
                pred,
                heap_keys,
                heap_vals,
                touched,
            )
            for j in range(n_tgt):
                d = dist[targets[j]]
                if d <= bound:
                    out_t[i, j] = d
                    out_l[i, j] = dlen[targets[j]]
                else:
                    out_t[i, j] = INF_TIME
                    out_l[i, j] = np.inf
            for k in range(n_touched):
                dist[touched[k]] = INF64
    return out_t, out_l


def validate_nodes(g_n_nodes: int, nodes: npt.ArrayLike, what: str) -> npt.NDArray[np.int32]:
    """``nodes`` as a 1-D int32 array, or a ``ValueError`` naming ``what`` when out of range."""
    arr = np.atleast_1d(np.asarray(nodes))
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of node ids")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must hold integer node ids, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= g_n_nodes):
        raise ValueError(f"{what} holds a node id outside 0..{g_n_nodes - 1}")
    return arr.astype(np.int32)


def validate_bound(bound: int | None) -> int:
    """The search bound as an int (``INF64 - 1`` when None); negative bounds are refused."""
    if bound is None:
        return INF64 - 1
    if int(bound) < 0:
        raise ValueError(f"bound must be >= 0 seconds, got {bound}")
    return min(int(bound), INF_TIME - 1)


def dijkstra(g: RoadGraph, source: int, bound_s: int | None = None) -> ShortestPathTree:
    """Fastest paths from ``source`` to every node, optionally only within ``bound_s``.

    Parameters
    ----------
    g : RoadGraph
    source : int
        Node id.
    bound_s : int, optional
        Stop once every node within this many seconds is settled; farther nodes get
        ``INF_TIME``.

    Returns
    -------
    ShortestPathTree
    """
    src = validate_nodes(g.n_nodes, [source], "source")
    bound = validate_bound(bound_s)
    t, length, pred = _dijkstra_one(
        g.indptr, g.indices, g.travel_time_s, g.length_m, int(src[0]), bound
    )
    return ShortestPathTree(int(src[0]), t, length, pred)


def path_from_tree(tree: ShortestPathTree, target: int) -> list[int]:
    """Node list of the fastest path from the tree's source to ``target`` ([] if unreached)."""
    if tree.time_s[target] == INF_TIME:
        return []
    path = [int(target)]
    while path[-1] != tree.source:
        path.append(int(tree.predecessor[path[-1]]))
    path.reverse()
    return path


def dijkstra_table(
    g: RoadGraph,
    sources: npt.ArrayLike,
    targets: npt.ArrayLike,
    bound_s: int | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Travel-time and length tables from every source to every target, one search each.

    Sources are searched in parallel (numba ``prange``). Returns ``(time_s, length_m)`` of
    shape ``(len(sources), len(targets))``; ``INF_TIME`` / ``inf`` when unreachable or
    beyond ``bound_s``. Prefer :func:`matching.ch.many_to_many` on large graphs.
    """
    src = validate_nodes(g.n_nodes, sources, "sources")
    tgt = validate_nodes(g.n_nodes, targets, "targets")
    bound = validate_bound(bound_s)
    n_chunks = max(1, min(src.shape[0], 4 * numba.get_num_threads()))
    return _dijkstra_table(
        g.indptr, g.indices, g.travel_time_s, g.length_m, src, tgt, bound, n_chunks
    )
