"""Routing and matching engine of the solidarity mobility platform (pure numpy / numba).

The road graph is a set of CSR arrays (:mod:`matching.graph`), read from OpenStreetMap and
cached by :mod:`matching.io`; routing runs on numba kernels (Dijkstra, contraction
hierarchies); :mod:`matching.rides` matches ride needs to drivers' trips and volunteers and
assigns a day's batch optimally. :func:`warm_up` compiles every kernel at start-up.
Nothing here imports Flask, a database, or the app.
"""

from matching.ch import (
    BucketIndex,
    CHIndex,
    CHQuery,
    Route,
    Table,
    build_ch,
    check_ch,
    many_to_many,
    many_to_many_table,
    pairwise_table,
)
from matching.dijkstra import ShortestPathTree, dijkstra, dijkstra_table, path_from_tree
from matching.engine import Engine, Snapped, engine_from_files
from matching.errors import (
    CacheFormatError,
    CHError,
    GraphError,
    MatchingError,
    OSMReadError,
    RideError,
    SolverError,
)
from matching.graph import (
    INF_TIME,
    RoadGraph,
    check_graph,
    graph_from_edges,
    largest_strongly_connected,
    reverse_graph,
)
from matching.io import graph_from_osm, load_ch, load_graph, save_ch, save_graph
from matching.rides import (
    MAX_CONTRIBUTION_EUR_PER_KM,
    AssignedRide,
    Assignment,
    Candidate,
    DriverTrip,
    MatchResult,
    OfferSet,
    Purpose,
    Reason,
    ReasonCount,
    Requirement,
    ReturnMode,
    RideNeed,
    UnservedNeed,
    VolunteerAvailability,
    assign_batch,
    build_offer_set,
    expand_weekly_slots,
    match_need,
    mileage_eur,
)
from matching.snap import NodeIndex, haversine_m, nearest_nodes
from matching.warm import warm_up

__all__ = [
    "INF_TIME",
    "MAX_CONTRIBUTION_EUR_PER_KM",
    "AssignedRide",
    "Assignment",
    "BucketIndex",
    "CHError",
    "CHIndex",
    "CHQuery",
    "CacheFormatError",
    "Candidate",
    "DriverTrip",
    "Engine",
    "GraphError",
    "MatchResult",
    "MatchingError",
    "NodeIndex",
    "OSMReadError",
    "OfferSet",
    "Purpose",
    "Reason",
    "ReasonCount",
    "Requirement",
    "ReturnMode",
    "RideError",
    "RideNeed",
    "RoadGraph",
    "Route",
    "ShortestPathTree",
    "Snapped",
    "SolverError",
    "Table",
    "UnservedNeed",
    "VolunteerAvailability",
    "assign_batch",
    "build_ch",
    "build_offer_set",
    "check_ch",
    "check_graph",
    "dijkstra",
    "dijkstra_table",
    "engine_from_files",
    "expand_weekly_slots",
    "graph_from_edges",
    "graph_from_osm",
    "haversine_m",
    "largest_strongly_connected",
    "load_ch",
    "load_graph",
    "many_to_many",
    "many_to_many_table",
    "match_need",
    "mileage_eur",
    "nearest_nodes",
    "pairwise_table",
    "path_from_tree",
    "reverse_graph",
    "save_ch",
    "save_graph",
    "warm_up",
]
