"""A tiny, exactly known road network for the ride tests: a grid of 1-minute, 1-km roads."""

from __future__ import annotations

import numpy as np

from matching.engine import Engine
from matching.graph import RoadGraph, graph_from_edges, grid_edges
from matching.model import RideNeed, VolunteerAvailability

ROWS = 8
COLS = 8
EDGE_S = 60
EDGE_M = 1000.0
T0 = 1_737_964_800  # Monday 27 January 2025, 08:00 UTC (09:00 in Paris)


def grid_network() -> RoadGraph:
    """An 8 x 8 two-way grid; node ``r * COLS + c`` at (44.4 + r * 0.009, 1.4 + c * 0.0126)."""
    tails, heads = grid_edges(ROWS, COLS)
    rr, cc = np.divmod(np.arange(ROWS * COLS), COLS)
    return graph_from_edges(
        ROWS * COLS,
        tails,
        heads,
        np.full(len(tails), EDGE_S),
        np.full(len(tails), EDGE_M),
        44.4 + rr * 0.009,
        1.4 + cc * 0.0126,
    )


def at(r: int, c: int) -> tuple[float, float]:
    """Coordinates of the grid node (r, c)."""
    return 44.4 + r * 0.009, 1.4 + c * 0.0126


def hops(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Grid distance (number of 1-minute edges) between two nodes."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


_ENGINE: Engine | None = None


def grid_engine() -> Engine:
    """One engine on the grid for the whole test session."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine.from_graph(grid_network())
    return _ENGINE


def need(
    name: str,
    a: tuple[int, int],
    b: tuple[int, int],
    arrive_by_s: int,
    window_s: int = 3600,
    **kw: object,
) -> RideNeed:
    """A need from grid cell ``a`` to ``b`` arriving by ``arrive_by_s`` (window before it)."""
    return RideNeed(name, *at(*a), *at(*b), arrive_by_s - window_s, arrive_by_s, **kw)  # type: ignore[arg-type]


def volunteer(name: str, home: tuple[int, int], **kw: object) -> VolunteerAvailability:
    """A volunteer at grid cell ``home``, available from an hour before T0 for seven hours."""
    kw.setdefault("windows", ((T0 - 3600, T0 + 6 * 3600),))
    kw.setdefault("max_distance_km", None)
    return VolunteerAvailability(name, *at(*home), **kw)  # type: ignore[arg-type]
