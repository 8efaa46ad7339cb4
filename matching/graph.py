"""The road graph as plain arrays (CSR), its builder and its invariant checker.

A :class:`RoadGraph` is a directed graph stored in compressed sparse row form: the edges
leaving node ``u`` are ``indptr[u]:indptr[u + 1]``, their heads in ``indices``, their travel
times (integer seconds) in ``travel_time_s`` and their lengths in ``length_m``. Nodes are
numbered ``0..n-1``; ``node_osmid`` keeps the OpenStreetMap id of each node (or ``-1``).
Within a row the heads are strictly increasing: there is no parallel edge and no self-loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from matching.errors import GraphError

INF_TIME: int = int(np.iinfo(np.int32).max)
"""Sentinel travel time (seconds) of an unreachable target, in every int32 table."""

MAX_EDGE_TIME_S: int = 1 << 24
"""Largest travel time accepted on one edge (about 194 days): keeps every path sum in int64
and every realistic one far below :data:`INF_TIME`."""

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]


class RoadGraph(NamedTuple):
    """A directed road graph in CSR form (see the module docstring)."""

    indptr: IntArray
    indices: Int32Array
    travel_time_s: Int32Array
    length_m: Float32Array
    node_lat: FloatArray
    node_lon: FloatArray
    node_osmid: IntArray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.indices.shape[0])

    def edge_tails(self) -> Int32Array:
        """Tail node of every edge, in CSR order."""
        counts = np.diff(self.indptr)
        return np.repeat(np.arange(self.n_nodes, dtype=np.int32), counts)


def grid_edges(rows: int, cols: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Tails and heads of a two-way ``rows`` x ``cols`` grid (node ``r * cols + c``): the small
    road network of the warm-up and of tests."""
    tails: list[int] = []
    heads: list[int] = []
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            if c + 1 < cols:
                tails += [u, u + 1]
                heads += [u + 1, u]
            if r + 1 < rows:
                tails += [u, u + cols]
                heads += [u + cols, u]
    return np.array(tails, dtype=np.int64), np.array(heads, dtype=np.int64)


def graph_from_edges(
    n_nodes: int,
    tail: npt.ArrayLike,
    head: npt.ArrayLike,
    travel_time_s: npt.ArrayLike,
    length_m: npt.ArrayLike,
    node_lat: npt.ArrayLike,
    node_lon: npt.ArrayLike,
    node_osmid: npt.ArrayLike | None = None,
) -> RoadGraph:
    """Build a :class:`RoadGraph` from an edge list.

    Self-loops are dropped (they never lie on a shortest path) and parallel edges are
    merged, keeping the fastest one (the shortest one among equally fast ones).

    Parameters
    ----------
    n_nodes : int
        Number of nodes; node ids are ``0..n_nodes-1``.
    tail, head : array_like of int
        End nodes of each directed edge.
    travel_time_s : array_like of int
        Travel time of each edge in whole seconds, ``0 <= t <= MAX_EDGE_TIME_S``.
    length_m : array_like of float
        Length of each edge in metres, finite and non-negative.
    node_lat, node_lon : array_like of float
        WGS84 coordinates of each node.
    node_osmid : array_like of int, optional
        OpenStreetMap id of each node; ``-1`` for every node when omitted.

    Returns
    -------
    RoadGraph

    Raises
    ------
    GraphError
        When an array has the wrong shape or a value is out of range.
    """
    if int(n_nodes) < 0:
        raise GraphError(f"n_nodes must be >= 0, got {n_nodes}")
    n = int(n_nodes)
    t = np.asarray(tail)
    h = np.asarray(head)
    tt = np.asarray(travel_time_s)
    ln = np.asarray(length_m, dtype=np.float64)
    lat = np.asarray(node_lat, dtype=np.float64)
    lon = np.asarray(node_lon, dtype=np.float64)
    osm = (
        np.full(n, -1, dtype=np.int64)
        if node_osmid is None
        else np.asarray(node_osmid, dtype=np.int64)
    )
    m = t.shape[0] if t.ndim == 1 else -1
    for name, arr in (("tail", t), ("head", h), ("travel_time_s", tt), ("length_m", ln)):
        if arr.ndim != 1 or arr.shape[0] != m:
            raise GraphError(f"{name} must be a 1-D array of the same length as tail ({m})")
    for name, arr in (("node_lat", lat), ("node_lon", lon), ("node_osmid", osm)):
        if arr.shape != (n,):
            raise GraphError(f"{name} must have shape ({n},), got {arr.shape}")
    for name, arr in (("tail", t), ("head", h), ("travel_time_s", tt)):
        if m and not np.issubdtype(arr.dtype, np.integer):
            raise GraphError(f"{name} must hold integers, got dtype {arr.dtype}")
    if m:
        if t.min() < 0 or t.max() >= n or h.min() < 0 or h.max() >= n:
            raise GraphError(f"edge end out of range 0..{n - 1}")
        if tt.min() < 0 or tt.max() > MAX_EDGE_TIME_S:
            raise GraphError(f"travel_time_s must lie in 0..{MAX_EDGE_TIME_S}")
        if not np.all(np.isfinite(ln)) or ln.min() < 0:
            raise GraphError("length_m must be finite and >= 0")
    _check_coordinates(lat, lon)

    t64 = t.astype(np.int64)
    h64 = h.astype(np.int64)
    keep = t64 != h64
    t64, h64, tt64, ln = t64[keep], h64[keep], tt.astype(np.int64)[keep], ln[keep]
    # Sort by (tail, head, time, length): the first edge of each (tail, head) run is the
    # fastest, and the whole array is then in CSR order.
    order = np.lexsort((ln, tt64, h64, t64))
    t64, h64, tt64, ln = t64[order], h64[order], tt64[order], ln[order]
    first = np.ones(t64.shape[0], dtype=bool)
    first[1:] = (t64[1:] != t64[:-1]) | (h64[1:] != h64[:-1])
    t64, h64, tt64, ln = t64[first], h64[first], tt64[first], ln[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(t64, minlength=n), out=indptr[1:])
    return RoadGraph(
        indptr=indptr,
        indices=h64.astype(np.int32),
        travel_time_s=tt64.astype(np.int32),
        length_m=ln.astype(np.float32),
        node_lat=lat.copy(),
        node_lon=lon.copy(),
        node_osmid=osm.copy(),
    )


def _check_coordinates(lat: FloatArray, lon: FloatArray) -> None:
    if lat.size and (
        not np.all(np.isfinite(lat))
        or not np.all(np.isfinite(lon))
        or np.abs(lat).max() > 90
        or np.abs(lon).max() > 180
    ):
        raise GraphError("node coordinates must be finite WGS84 degrees")


_DTYPES = {
    "indptr": np.int64,
    "indices": np.int32,
    "travel_time_s": np.int32,
    "length_m": np.float32,
    "node_lat": np.float64,
    "node_lon": np.float64,
    "node_osmid": np.int64,
}


def check_graph(g: RoadGraph) -> None:
    """Verify every invariant of a :class:`RoadGraph`.

    Checks dtypes and shapes, that ``indptr`` starts at 0, never decreases and ends at the
    number of edges, that heads are in range and strictly increasing within each row (no
    parallel edge, no self-loop), that times lie in ``0..MAX_EDGE_TIME_S``, that lengths
    are finite and non-negative, and that coordinates are valid degrees.

    Raises
    ------
    GraphError
        Naming the first broken invariant.
    """
    for name, dtype in _DTYPES.items():
        arr = getattr(g, name)
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 1:
            raise GraphError(f"{name} must be a 1-D numpy array of dtype {np.dtype(dtype)}")
    n = g.indptr.shape[0] - 1
    if n < 0:
        raise GraphError("indptr must have n_nodes + 1 entries")
    m = g.indices.shape[0]
    if g.indptr[0] != 0 or g.indptr[-1] != m:
        raise GraphError(f"indptr must start at 0 and end at the edge count {m}")
    if np.any(np.diff(g.indptr) < 0):
        raise GraphError("indptr must be non-decreasing")
    for name in ("travel_time_s", "length_m"):
        if getattr(g, name).shape[0] != m:
            raise GraphError(f"{name} must have one entry per edge ({m})")
    for name in ("node_lat", "node_lon", "node_osmid"):
        if getattr(g, name).shape[0] != n:
            raise GraphError(f"{name} must have one entry per node ({n})")
    if m:
        if g.indices.min() < 0 or g.indices.max() >= n:
            raise GraphError("edge head out of range")
        tails = g.edge_tails()
        if np.any(tails == g.indices):
            raise GraphError("self-loop found")
        same_row = tails[1:] == tails[:-1]
        if np.any(same_row & (g.indices[1:] <= g.indices[:-1])):
            raise GraphError("heads must be strictly increasing within a row (parallel edge?)")
        if g.travel_time_s.min() < 0 or g.travel_time_s.max() > MAX_EDGE_TIME_S:
            raise GraphError(f"travel_time_s must lie in 0..{MAX_EDGE_TIME_S}")
        if not np.all(np.isfinite(g.length_m)) or g.length_m.min() < 0:
            raise GraphError("length_m must be finite and >= 0")
    _check_coordinates(g.node_lat, g.node_lon)


def reverse_graph(g: RoadGraph) -> RoadGraph:
    """The same graph with every edge reversed (CSR of the transpose)."""
    return graph_from_edges(
        g.n_nodes,
        g.indices,
        g.edge_tails(),
        g.travel_time_s,
        g.length_m,
        g.node_lat,
        g.node_lon,
        g.node_osmid,
    )


def induced_subgraph(g: RoadGraph, nodes: npt.ArrayLike) -> RoadGraph:
    """The subgraph induced by ``nodes`` (renumbered in the given order)."""
    keep = np.asarray(nodes, dtype=np.int64)
    new_id = np.full(g.n_nodes, -1, dtype=np.int64)
    new_id[keep] = np.arange(keep.shape[0])
    tails = new_id[g.edge_tails()]
    heads = new_id[g.indices]
    ok = (tails >= 0) & (heads >= 0)
    return graph_from_edges(
        keep.shape[0],
        tails[ok],
        heads[ok],
        g.travel_time_s[ok],
        g.length_m[ok],
        g.node_lat[keep],
        g.node_lon[keep],
        g.node_osmid[keep],
    )


def largest_strongly_connected(g: RoadGraph) -> RoadGraph:
    """The largest strongly connected component of ``g``, nodes kept in their order.

    Routing inside one strongly connected component guarantees that every snapped point can
    reach every other one: dead-end fragments (a one-way street cut by the extract's border)
    would otherwise produce unreachable pairs.
    """
    n = g.n_nodes
    if n == 0:
        return g
    mat = csr_matrix((np.ones(g.n_edges, dtype=np.int8), g.indices, g.indptr), shape=(n, n))
    _, labels = connected_components(mat, directed=True, connection="strong")
    biggest = np.argmax(np.bincount(labels))
    return induced_subgraph(g, np.flatnonzero(labels == biggest))
