"""The routing engine a process keeps: graph, CH index, snapping index, query objects.

The bottom layer of :mod:`matching`: it imports no matcher, planner or warm-up (those take
an engine as an argument; :func:`matching.warm.warm_up` compiles every kernel).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matching.ch import (
    BucketIndex,
    CHIndex,
    CHQuery,
    Route,
    Table,
    build_ch,
    check_ch,
    many_to_many_table,
    pairwise_table,
)
from matching.dijkstra import ShortestPathTree, dijkstra
from matching.graph import RoadGraph, check_graph
from matching.snap import NodeIndex


@dataclass(frozen=True)
class Snapped:
    """Points snapped to graph nodes, with the straight-line gap in metres."""

    nodes: npt.NDArray[np.int32]
    gap_m: npt.NDArray[np.float64]


class Engine:
    """Everything needed to route and match on one road graph; build once per process.

    Reads (snapping, tables, routes) are safe from several threads: each thread gets its
    own point-to-point query object.
    """

    def __init__(self, graph: RoadGraph, ch: CHIndex, node_index: NodeIndex) -> None:
        self.graph = graph
        self.ch = ch
        self.node_index = node_index
        self._local = threading.local()

    @classmethod
    def from_graph(
        cls, graph: RoadGraph, ch: CHIndex | None = None, *, full_check: bool = False
    ) -> Engine:
        """An engine on ``graph``; the CH index is built when not given, checked when given
        (cheap checks only, unless ``full_check``)."""
        check_graph(graph)
        if ch is None:
            ch = build_ch(graph)
        else:
            check_ch(ch, graph, full=full_check)
        return cls(graph, ch, NodeIndex(graph))

    # ----------------------------------------------------------------- snapping

    def snap(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> Snapped:
        """Nearest node of each point (scalars or arrays) and the gap to it in metres."""
        nodes, gap = self.node_index.query(lat, lon)
        return Snapped(nodes, gap)

    # ----------------------------------------------------------------- routing

    def _query(self) -> CHQuery:
        query: CHQuery | None = getattr(self._local, "query", None)
        if query is None:
            query = CHQuery(self.ch)
            self._local.query = query
        return query

    def time_s(self, source: int, target: int) -> int:
        """Fastest travel time between two nodes (INF_TIME when unreachable)."""
        return self._query().time_s(source, target)

    def route(self, source: int, target: int) -> Route | None:
        """Fastest route between two nodes, node list and length included."""
        return self._query().route(source, target)

    def route_coordinates(self, route: Route) -> npt.NDArray[np.float64]:
        """The route's geometry as an ``(k, 2)`` array of (lat, lon)."""
        return np.column_stack((self.graph.node_lat[route.nodes], self.graph.node_lon[route.nodes]))

    def table(
        self, sources: npt.ArrayLike, targets: npt.ArrayLike, bound_s: int | None = None
    ) -> Table:
        """Many-to-many travel times and lengths between nodes (bucket CH)."""
        return many_to_many_table(self.ch, sources, targets, bound_s)

    def pairwise(self, sources: npt.ArrayLike, targets: npt.ArrayLike) -> Table:
        """Travel time and length of each (sources[i], targets[i]) pair."""
        return pairwise_table(self.ch, sources, targets)

    def buckets(
        self, nodes: npt.ArrayLike, *, toward: bool, bound_s: int | None = None
    ) -> BucketIndex:
        """A kept bucket side (see :class:`matching.ch.BucketIndex`)."""
        return BucketIndex(self.ch, nodes, toward=toward, bound_s=bound_s)

    def dijkstra(self, source: int, bound_s: int | None = None) -> ShortestPathTree:
        """One-to-all fastest paths from ``source`` (isochrones, catchment areas)."""
        return dijkstra(self.graph, source, bound_s)


def engine_from_files(graph_path: str | Path, ch_path: str | Path | None = None) -> Engine:
    """An engine from the ``.npz`` caches of :mod:`matching.io`.

    When ``ch_path`` is given but absent, the index is built and saved there.
    """
    from matching.io import load_ch, load_graph, save_ch

    graph = load_graph(graph_path)
    if ch_path is not None and Path(ch_path).exists():
        return Engine.from_graph(graph, load_ch(ch_path))
    engine = Engine.from_graph(graph)
    if ch_path is not None:
        save_ch(engine.ch, ch_path)
    return engine
