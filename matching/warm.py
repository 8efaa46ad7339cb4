"""Compile (or load from numba's on-disk cache) every kernel a request or a day plan runs.

A process calls :func:`warm_up` once at start-up, so that no request pays for compilation.
It lives above the routing engine and the planners (it drives them all on a tiny day), so
that :mod:`matching.engine` imports none of them. ``tests/matching/test_warm.py`` checks,
in a fresh interpreter, that after it the app's calls compile nothing more.
"""

from __future__ import annotations

import time

import numpy as np

from matching.assignment import assign_batch
from matching.assignment_heuristics import warm_up_heuristics
from matching.commitments import Commitment, insertion_candidates
from matching.day_instance import build_day_instance, plan_day_routes
from matching.dijkstra import dijkstra_table
from matching.engine import Engine
from matching.graph import RoadGraph, graph_from_edges, grid_edges
from matching.matcher import match_need
from matching.model import DriverTrip, ReturnMode, RideNeed, VolunteerAvailability
from matching.pooling import warm_up as warm_up_pooling

_T0 = 1_700_000_000


def _tiny_grid(rows: int = 4, cols: int = 4) -> RoadGraph:
    """A two-way grid of 1-minute, 500-m roads near Cahors."""
    tails, heads = grid_edges(rows, cols)
    rr, cc = np.divmod(np.arange(rows * cols), cols)
    return graph_from_edges(
        rows * cols,
        tails,
        heads,
        np.full(len(tails), 60),
        np.full(len(tails), 500.0),
        44.45 + rr * 0.005,
        1.44 + cc * 0.007,
    )


def warm_up() -> float:
    """Run every numba kernel of the engine and the planners once; return the seconds taken.

    Covers the routing engine (CH build, snapping, tables, routes, Dijkstra), the one-need
    match (serial feasibility and bucket scans), the batch assignment on both the serial
    path (one need) and the parallel path (several needs) with its greedy and local-search
    kernels, the pooled day planner (:func:`matching.pooling.warm_up` and a day planned
    through :mod:`matching.day_instance`), and a new rider joining a booked car
    (:func:`matching.commitments.insertion_candidates`). With numba's cache filled
    (``cache=True``) this only loads machine code; on a fresh checkout it compiles
    everything (tens of seconds).
    """
    began = time.perf_counter()
    g = _tiny_grid()
    engine = Engine.from_graph(g)
    engine.dijkstra(0, 300)
    dijkstra_table(g, [0, 1], [2, 3])
    engine.table([0, 1, 2], [3, 4])
    engine.route(0, 15)
    t0 = _T0
    need = RideNeed("warm", 44.45, 1.44, 44.465, 1.461, t0, t0 + 3600, ReturnMode.AFTER_WAIT, 600)
    other = RideNeed("warm2", 44.455, 1.447, 44.465, 1.461, t0, t0 + 3600)
    trips = [
        DriverTrip("t1", "d1", 44.45, 1.44, 44.465, 1.461, t0, t0 + 600),
        DriverTrip("t2", "d2", 44.465, 1.461, 44.45, 1.44, t0 + 4000, t0 + 5000),
    ]
    vols = [VolunteerAvailability("v1", 44.455, 1.45, ((t0 - 3600, t0 + 9 * 3600),))]
    match_need(engine, need, trips, vols)
    # One need evaluates its pairs serially, several in parallel (matching.offers.evaluate).
    assign_batch(engine, [need], trips, vols)
    assign_batch(engine, [need, other], trips, vols)
    # The batch's greedy and local-search kernels, even when the batches above had nothing
    # to place.
    warm_up_heuristics()
    # The pooled day planner (the planning page's background task runs in this process too).
    warm_up_pooling()
    day = build_day_instance(engine, [need, other], trips, vols)
    plan_day_routes(day, 0.05)
    # A new rider joining a booked car (the need page's "voiture partagée"): the pooled
    # planner's kernels with a pinned commitment.
    booked = RideNeed("booked", 44.451, 1.441, 44.465, 1.461, t0, t0 + 3600)
    join = RideNeed("join", 44.452, 1.442, 44.465, 1.461, t0, t0 + 3600)
    insertion_candidates(
        engine, join, [], vols, [Commitment(booked, "v1", ("outbound",), pickup_s=t0 + 900)]
    )
    return time.perf_counter() - began
