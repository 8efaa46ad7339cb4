"""Reference implementations and graph generators shared by the matching tests."""

from __future__ import annotations

import heapq

import networkx as nx
import numpy as np

from matching.graph import INF_TIME, RoadGraph, graph_from_edges, grid_edges


def naive_dijkstra(g: RoadGraph, source: int) -> np.ndarray:
    """Plain-Python Dijkstra on the CSR graph: travel times from ``source`` (INF_TIME if none)."""
    dist = np.full(g.n_nodes, INF_TIME, dtype=np.int64)
    dist[source] = 0
    heap = [(0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for e in range(g.indptr[u], g.indptr[u + 1]):
            v = int(g.indices[e])
            nd = d + int(g.travel_time_s[e])
            if nd < dist[v]:
                dist[v] = nd
                heapq.heappush(heap, (nd, v))
    return dist


def to_networkx(g: RoadGraph) -> nx.DiGraph:
    """The graph as a networkx DiGraph with ``time`` and ``length`` edge attributes."""
    nxg = nx.DiGraph()
    nxg.add_nodes_from(range(g.n_nodes))
    tails = g.edge_tails()
    for e in range(g.n_edges):
        nxg.add_edge(
            int(tails[e]),
            int(g.indices[e]),
            time=int(g.travel_time_s[e]),
            length=float(g.length_m[e]),
        )
    return nxg


def random_graph(
    n: int, m: int, seed: int, max_time: int = 100, zero_share: float = 0.0
) -> RoadGraph:
    """A random directed graph (not necessarily connected) with positions near Cahors."""
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    times = rng.integers(1, max_time + 1, m)
    if zero_share:
        times[rng.random(m) < zero_share] = 0
    lengths = times * rng.uniform(5.0, 30.0, m)
    lat = 44.45 + rng.uniform(-0.2, 0.2, n)
    lon = 1.44 + rng.uniform(-0.3, 0.3, n)
    return graph_from_edges(n, tail, head, times, lengths, lat, lon)


def grid_graph(rows: int, cols: int, seed: int = 0) -> RoadGraph:
    """A two-way grid with random times: a small, strongly connected road-like graph."""
    rng = np.random.default_rng(seed)
    tails, heads = grid_edges(rows, cols)
    m = len(tails)
    times = rng.integers(5, 60, m)
    lengths = times * rng.uniform(8.0, 20.0, m)
    rr, cc = np.divmod(np.arange(rows * cols), cols)
    return graph_from_edges(
        rows * cols,
        tails,
        heads,
        times,
        lengths,
        44.4 + rr * 0.005,
        1.4 + cc * 0.007,
    )
