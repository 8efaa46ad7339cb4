"""Routing and matching engine of the solidarity mobility platform (pure numpy / numba)."""

from matching.errors import (
    CacheFormatError,
    CHError,
    GraphError,
    MatchingError,
    OSMReadError,
    RideError,
    SolverError,
)
from matching.graph import INF_TIME, RoadGraph, check_graph, graph_from_edges

__all__ = [
    "INF_TIME",
    "CHError",
    "CacheFormatError",
    "GraphError",
    "MatchingError",
    "OSMReadError",
    "RideError",
    "RoadGraph",
    "SolverError",
    "check_graph",
    "graph_from_edges",
]
