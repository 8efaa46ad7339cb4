"""Road travel times from the matching engine, as the journey search uses them.

The engine answers through :mod:`app.services.matching`; here its answers are made safe (an
unreachable target, whatever the engine's sentinel, or a point snapped to a far node of the
road graph both give None) and memoised for the length of one search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .geometry import LatLon, haversine_m

#: ``drive_times(from_latlon, to_latlons) -> seconds`` (None where unreachable).
DriveTimes = Callable[[LatLon, Sequence[LatLon]], Sequence[float | None]]
#: ``drive_times_to(from_latlons, to_latlon) -> seconds`` (None where unreachable).
DriveTimesTo = Callable[[Sequence[LatLon], LatLon], Sequence[float | None]]
#: ``drive_lengths(from_latlon, to_latlons) -> metres`` (None where unreachable).
DriveLengths = Callable[[LatLon, Sequence[LatLon]], Sequence[float | None]]
#: ``drive_route(a, b) -> (seconds, metres, [(lat, lon), ...])`` or None.
DriveRoute = Callable[[LatLon, LatLon], "tuple[int, float, list[LatLon]] | None"]

#: No drive is faster than this on average; a faster answer means a point lies off the road
#: graph (snapped to a far node), and is treated as unreachable.
MAX_PLAUSIBLE_SPEED_M_S = 130 / 3.6
SNAP_TOLERANCE_M = 1500.0


def plausible_seconds(t: float | None, a: LatLon, b: LatLon) -> int | None:
    """The engine's time from ``a`` to ``b`` as an int, None if unreachable or implausible."""
    if t is None or not math.isfinite(float(t)) or t < 0:
        return None
    if haversine_m(a, b) - SNAP_TOLERANCE_M > float(t) * MAX_PLAUSIBLE_SPEED_M_S:
        return None
    return int(round(float(t)))


def drive_from(
    drive_times: DriveTimes, source: LatLon, targets: Sequence[LatLon]
) -> list[int | None]:
    """Drive times as ints, None where unreachable (whatever the engine's sentinel) or implausible."""
    if not targets:
        return []
    return [
        plausible_seconds(t, source, b)
        for t, b in zip(drive_times(source, list(targets)), targets, strict=True)
    ]


def drive_seconds(drive_times: DriveTimes, a: LatLon, b: LatLon) -> int | None:
    """Road time from ``a`` to ``b`` in seconds, None when unreachable or off the road graph."""
    return drive_from(drive_times, a, [b])[0]


@dataclass(frozen=True)
class Roads:
    """Road travel times of the engine: one-to-many, many-to-one (optional), route (optional)."""

    times: DriveTimes
    times_to: DriveTimesTo | None = None
    route: DriveRoute | None = None
    lengths: DriveLengths | None = None

    def from_point(self, source: LatLon, targets: Sequence[LatLon]) -> list[int | None]:
        """Drive times from ``source`` to each target."""
        return drive_from(self.times, source, targets)

    def lengths_from(self, source: LatLon, targets: Sequence[LatLon]) -> list[float | None] | None:
        """Road lengths in metres from ``source`` to each target; None when not known."""
        if self.lengths is None:
            return None
        return [
            None if m is None or not math.isfinite(float(m)) else float(m)
            for m in self.lengths(source, list(targets))
        ]

    def to_point(self, sources: Sequence[LatLon], target: LatLon) -> list[int | None]:
        """Drive times from each source to ``target``."""
        if self.times_to is not None:
            raw = list(self.times_to(list(sources), target))
            return [plausible_seconds(t, a, target) for t, a in zip(raw, sources, strict=True)]
        return [drive_from(self.times, s, [target])[0] for s in sources]


def memoised(drive_times: DriveTimes) -> DriveTimes:
    """The same function, remembering answers (one search asks for the same pairs often)."""
    cache: dict[tuple[LatLon, LatLon], float | None] = {}

    def drive(source: LatLon, targets: Sequence[LatLon]) -> list[float | None]:
        missing = list(dict.fromkeys(t for t in targets if (source, t) not in cache))
        if missing:
            for t, v in zip(missing, drive_times(source, missing), strict=True):
                cache[(source, t)] = v
        return [cache[(source, t)] for t in targets]

    return drive


def memoised_route(route: DriveRoute) -> DriveRoute:
    """The same route function, remembering answers: every volunteer trip of a search is
    drawn between the same two generalised places, and a route costs a snap and a search."""
    cache: dict[tuple[LatLon, LatLon], tuple[int, float, list[LatLon]] | None] = {}

    def drive(a: LatLon, b: LatLon) -> tuple[int, float, list[LatLon]] | None:
        if (a, b) not in cache:
            cache[(a, b)] = route(a, b)
        return cache[(a, b)]

    return drive


def road_drive_times() -> DriveTimes | None:
    """The engine's road travel-time function, when the matching service offers one."""
    try:
        from ..matching import drive_times
    except ImportError:
        return None
    return drive_times  # type: ignore[no-any-return]


def app_roads() -> Roads | None:
    """The engine's road functions (through :mod:`app.services.matching`), memoised per search."""
    times = road_drive_times()
    if times is None:
        return None
    from .. import matching

    return Roads(
        memoised(times),
        matching.drive_times_to,
        memoised_route(matching.drive_route),
        memoised(matching.drive_lengths),
    )
