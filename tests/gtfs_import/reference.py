"""Plain-Python reference for the RAPTOR kernels: a round-based connection scan.

It reads trips as lists of stop events (no patterns, no binary search, no pruning) and
follows the semantics documented in :mod:`gtfs_import.raptor`: round ``k`` adds a ``k``-th
trip boarded where the stop is *ready* (arrival, plus ``min_change_s`` after alighting at
that very stop), and footpaths are walked once after each round from the stops reached by
a trip (or by the access walk in round 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True)
class Event:
    stop: str
    arrival_s: int
    departure_s: int
    pickup: bool
    dropoff: bool


def best_arrivals(
    trips: Sequence[Sequence[Event]],
    footpaths: Mapping[str, Sequence[tuple[str, int]]],
    access: Mapping[str, int],
    egress: Mapping[str, int],
    depart_s: int,
    max_trips: int,
    min_change_s: int,
    change_s: Mapping[str, int] | None = None,
) -> list[float]:
    """Earliest arrival at the destination point using at most ``k`` trips, for each k.

    ``change_s`` overrides ``min_change_s`` at some stops (``transfers.txt`` rules).
    """
    change_s = change_s or {}
    arrival: dict[str, float] = {}
    ready: dict[str, float] = {}
    reached: dict[str, float] = {}
    for s, w in access.items():
        reached[s] = min(reached.get(s, INF), depart_s + w)
    answers = []
    for k in range(max_trips + 1):
        if k > 0:
            ready_before = dict(ready)
            reached = {}
            for trip in trips:
                boarded = False
                for ev in trip:
                    if boarded and ev.dropoff:
                        reached[ev.stop] = min(reached.get(ev.stop, INF), ev.arrival_s)
                    if (
                        not boarded
                        and ev.pickup
                        and ready_before.get(ev.stop, INF) <= ev.departure_s
                    ):
                        boarded = True
        for s, a in reached.items():
            arrival[s] = min(arrival.get(s, INF), a)
            change = change_s.get(s, min_change_s) if k > 0 else 0
            ready[s] = min(ready.get(s, INF), a + change)
        for u, a in reached.items():
            for v, d in footpaths.get(u, ()):
                arrival[v] = min(arrival.get(v, INF), a + d)
                ready[v] = min(ready.get(v, INF), a + d)
        answers.append(min((arrival.get(s, INF) + w for s, w in egress.items()), default=INF))
    return answers
