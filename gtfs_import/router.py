"""Journey search over a timetable: the reusable :class:`TransitRouter` query object.

Build the router once per timetable (it prepares the forward and time-reversed arrays and
the id lookups), then query it as often as needed; queries share nothing mutable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.spatial import cKDTree

from gtfs_import.errors import QueryError
from gtfs_import.raptor import (
    Labels,
    RoutingArrays,
    forward_arrays,
    raptor_labels,
    reverse_arrays,
)
from gtfs_import.schema import NO_TIME, WALK_DETOUR_FACTOR, WALK_SPEED_KMH
from gtfs_import.timetable import EARTH_RADIUS_M, Timetable

#: Stops with a walk time in seconds: ``{"StopPoint:OCETrain TER-87613000": 300}`` or pairs.
StopWalks = Mapping[str, float] | Iterable[tuple[str, float]]

_MAX_TRANSFERS_LIMIT = 15

#: A journey piece while tracing labels: ("access", stop, walk_s), ("walk", from, to,
#: walk_s), ("trip", trip, board_pos, alight_pos) or ("egress", stop, walk_s).
Segment = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a journey, walking or riding one trip.

    Times are timetable seconds (see :mod:`gtfs_import.schema`). For walking legs,
    ``from_stop_id`` is ``None`` when the leg starts at the origin point and ``to_stop_id``
    is ``None`` when it ends at the destination point.

    ``frequency_based`` marks a ride on a trip of ``frequencies.txt`` with
    ``exact_times=0``: the operator promises a vehicle every ``headway_s`` seconds, not the
    minute shown, so a rider should be told "every N min" rather than a time.
    """

    mode: Literal["walk", "transit"]
    from_stop_id: str | None
    to_stop_id: str | None
    departure_s: int
    arrival_s: int
    route_id: str | None = None
    route_short_name: str | None = None
    trip_id: str | None = None
    headsign: str | None = None
    intermediate_stop_ids: tuple[str, ...] = ()
    frequency_based: bool = False
    headway_s: int | None = None

    @property
    def duration_s(self) -> int:
        """Duration of the leg in seconds."""
        return self.arrival_s - self.departure_s


@dataclass(frozen=True, slots=True)
class Journey:
    """A journey from the origin point to the destination point.

    Attributes
    ----------
    departure_s, arrival_s
        Leaving the origin point and reaching the destination point (timetable seconds).
    transfers
        Number of changes between trips (0 for a direct trip or a walk).
    walking_s
        Total walking time.
    legs
        The legs in order; consecutive legs meet at the same stop.
    """

    departure_s: int
    arrival_s: int
    transfers: int
    walking_s: int
    legs: tuple[Leg, ...]

    @property
    def duration_s(self) -> int:
        """Door-to-door duration in seconds."""
        return self.arrival_s - self.departure_s

    @property
    def trips(self) -> int:
        """Number of transit legs."""
        return sum(1 for leg in self.legs if leg.mode == "transit")


class TransitRouter:
    """Reusable journey search on one timetable (RAPTOR).

    Parameters
    ----------
    tt
        The timetable; it is not copied and must not be modified while the router lives.

    Examples
    --------
    >>> router = TransitRouter(tt)  # doctest: +SKIP
    >>> router.depart_after({"StopArea:OCE87613000": 0}, {"StopArea:OCE87611000": 0},
    ...                     seconds_at(tt, "20250124", 7 * 3600))  # doctest: +SKIP
    """

    def __init__(self, tt: Timetable) -> None:
        self.tt = tt
        self._forward = forward_arrays(tt)
        self._backward = reverse_arrays(self._forward)
        self._index = {s: i for i, s in enumerate(tt.stop_ids.tolist())}
        # Several feeds: ids are "<feed>:<id>"; a bare id is accepted when one feed has it.
        self._bare: dict[str, list[int]] = {}
        if len(tt.feed_names) > 1:
            for i, s in enumerate(tt.stop_ids.tolist()):
                self._bare.setdefault(s.split(":", 1)[1], []).append(i)
        children: dict[int, list[int]] = {}
        for child, parent in enumerate(tt.stop_parent.tolist()):
            if parent >= 0:
                children.setdefault(parent, []).append(child)
        self._children = children
        served = np.zeros(tt.n_stops, dtype=bool)
        served[tt.pattern_stops] = True
        ok = served & np.isfinite(tt.stop_lat) & np.isfinite(tt.stop_lon)
        self._served = np.flatnonzero(ok)
        self._tree = cKDTree(_unit_xyz(tt.stop_lat[self._served], tt.stop_lon[self._served]))

    def walks_from_point(
        self,
        lat: float,
        lon: float,
        max_walk_m: float = 1000.0,
        walk_speed_kmh: float = WALK_SPEED_KMH,
        detour_factor: float = WALK_DETOUR_FACTOR,
    ) -> dict[str, int]:
        """Served stops within ``max_walk_m`` (straight line) of a point, with walk seconds.

        The result is ready for the ``origins`` or ``destinations`` of a query:
        ``router.depart_after(router.walks_from_point(44.45, 1.44), ...)``. Empty when no
        stop is near enough (the caller may then offer a ride to a station instead).
        """
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise QueryError(f"not a WGS84 point: lat={lat}, lon={lon}")
        if max_walk_m < 0 or walk_speed_kmh <= 0 or detour_factor < 1:
            raise QueryError("max_walk_m >= 0, walk_speed_kmh > 0 and detour_factor >= 1 needed")
        here = _unit_xyz(np.array([lat]), np.array([lon]))[0]
        found = self._tree.query_ball_point(here, r=max_walk_m / EARTH_RADIUS_M)
        out = {}
        for j in found:
            s = int(self._served[j])
            chord = float(np.linalg.norm(self._tree.data[j] - here)) * EARTH_RADIUS_M
            out[str(self.tt.stop_ids[s])] = int(
                np.ceil(chord * detour_factor / (walk_speed_kmh / 3.6))
            )
        return out

    # -- queries ------------------------------------------------------------------------

    def depart_after(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        depart_s: int,
        max_transfers: int = 4,
    ) -> list[Journey]:
        """Earliest-arrival journeys leaving the origin point at or after ``depart_s``.

        Parameters
        ----------
        origins
            Stops reachable from the origin point, with the walk to each in seconds
            (0 when the origin is the stop). A station id stands for all its stops. With
            several feeds, ids are ``"<feed name>:<id>"``; a bare id is accepted when only
            one feed publishes it.
        destinations
            Stops from which the destination point is reached, with the walk from each.
        depart_s
            Earliest departure from the origin point, timetable seconds.
        max_transfers
            Most changes between trips allowed.

        Returns
        -------
        list[Journey]
            The Pareto set of arrival time × transfers, fewest transfers first (each next
            journey arrives strictly earlier). Empty when the destination is not reachable.
            Each journey leaves the origin as late as its first trip allows.
        """
        return self._query(origins, destinations, depart_s, max_transfers, backward=False)

    def arrive_by(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        arrive_s: int,
        max_transfers: int = 4,
    ) -> list[Journey]:
        """Latest-departure journeys reaching the destination point by ``arrive_s``.

        Parameters are those of :meth:`depart_after`, with ``arrive_s`` the latest arrival
        at the destination point.

        Returns
        -------
        list[Journey]
            The Pareto set of departure time × transfers, fewest transfers first (each
            next journey leaves strictly later). Each journey reaches the destination as
            early as its last trip allows.
        """
        return self._query(origins, destinations, arrive_s, max_transfers, backward=True)

    # -- internals ------------------------------------------------------------------------

    def _walks(self, walks: StopWalks, what: str) -> dict[int, int]:
        items = walks.items() if isinstance(walks, Mapping) else walks
        out: dict[int, int] = {}
        for stop_id, seconds in items:
            idx = self._index.get(str(stop_id))
            if idx is None:
                bare = self._bare.get(str(stop_id), [])
                if len(bare) > 1:
                    names = ", ".join(str(self.tt.stop_ids[i]) for i in bare)
                    raise QueryError(f"{what}: stop id {stop_id!r} is ambiguous ({names})")
                if not bare:
                    raise QueryError(f"{what}: unknown stop id {stop_id!r}")
                idx = bare[0]
            if not np.isfinite(seconds) or seconds < 0:
                raise QueryError(f"{what}: walk time to {stop_id!r} must be >= 0 s, got {seconds}")
            for s in [idx, *self._children.get(idx, [])]:
                out[s] = min(out.get(s, 2**31), int(round(seconds)))
        if not out:
            raise QueryError(f"{what}: no stop given")
        return out

    def _query(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        time_s: int,
        max_transfers: int,
        *,
        backward: bool,
    ) -> list[Journey]:
        if not 0 <= int(max_transfers) <= _MAX_TRANSFERS_LIMIT:
            raise QueryError(f"max_transfers must be between 0 and {_MAX_TRANSFERS_LIMIT}")
        if abs(int(time_s)) > 2**30:
            raise QueryError(f"time {time_s} s is out of range")
        orig = self._walks(origins, "origins")
        dest = self._walks(destinations, "destinations")
        # Backward: search from the destinations, in reversed time.
        access, egress = (dest, orig) if backward else (orig, dest)
        ra = self._backward if backward else self._forward
        start = -int(time_s) if backward else int(time_s)
        labels = raptor_labels(
            ra,
            np.fromiter(access.keys(), np.int32, len(access)),
            np.fromiter(access.values(), np.int64, len(access)),
            np.fromiter(egress.keys(), np.int32, len(egress)),
            np.fromiter(egress.values(), np.int64, len(egress)),
            start,
            int(max_transfers) + 1,
        )
        journeys = []
        for stop, rnd in _pareto_ends(labels, egress):
            segments = _trace(labels, ra, rnd, stop, access)
            segments.append(("egress", stop, egress[stop]))
            if backward:
                segments = [_flip(seg, ra) for seg in reversed(segments)]
            else:
                segments = [_unrow(seg, ra) for seg in segments]
            journeys.append(self._journey(segments, int(time_s), backward))
        return journeys

    def _journey(self, segments: list[Segment], time_s: int, backward: bool) -> Journey:
        tt = self.tt
        n = len(segments)
        start = [0] * n
        end = [0] * n
        fixed = [seg[0] == "trip" for seg in segments]
        for i, seg in enumerate(segments):
            if seg[0] == "trip":
                t, bp, ap = seg[1], seg[2], seg[3]
                start[i] = int(tt.departure_s[tt.trip_time_offset[t] + bp])
                end[i] = int(tt.arrival_s[tt.trip_time_offset[t] + ap])
        first = fixed.index(True) if any(fixed) else None
        if first is None:
            # A walk only: from the given time forward, or backward from the deadline.
            clock = time_s
            order = range(n - 1, -1, -1) if backward else range(n)
            for i in order:
                d = segments[i][-1]
                if backward:
                    start[i], end[i] = clock - d, clock
                    clock -= d
                else:
                    start[i], end[i] = clock, clock + d
                    clock += d
        else:
            clock = start[first]
            for i in range(first - 1, -1, -1):  # leave as late as the first trip allows
                start[i], end[i] = clock - segments[i][-1], clock
                clock = start[i]
            clock = end[first]
            for i in range(first + 1, n):
                if not fixed[i]:
                    start[i], end[i] = clock, clock + segments[i][-1]
                clock = end[i]
        legs = []
        for i, seg in enumerate(segments):
            kind = seg[0]
            if kind == "trip":
                t, bp, ap = seg[1], seg[2], seg[3]
                p = tt.trip_pattern[t]
                stops = tt.stop_ids[
                    tt.pattern_stops[
                        tt.pattern_stop_offset[p] + bp : tt.pattern_stop_offset[p] + ap + 1
                    ]
                ]
                r = tt.trip_route[t]
                headway = int(tt.trip_headway_s[t])
                legs.append(
                    Leg(
                        "transit",
                        str(stops[0]),
                        str(stops[-1]),
                        start[i],
                        end[i],
                        route_id=str(tt.route_ids[r]),
                        route_short_name=str(tt.route_short_names[r]) or None,
                        trip_id=str(tt.trip_ids[t]),
                        headsign=str(tt.trip_headsigns[t]) or None,
                        intermediate_stop_ids=tuple(str(s) for s in stops[1:-1]),
                        frequency_based=headway > 0,
                        headway_s=headway or None,
                    )
                )
            elif seg[-1] == 0 and kind in ("access", "egress"):
                continue  # the point is the stop itself
            else:
                a = None if kind == "access" else str(tt.stop_ids[seg[1]])
                b = (
                    None
                    if kind == "egress"
                    else str(tt.stop_ids[seg[2] if kind == "walk" else seg[1]])
                )
                legs.append(Leg("walk", a, b, start[i], end[i]))
        n_trips = sum(fixed)
        walking = sum(leg.duration_s for leg in legs if leg.mode == "walk")
        return Journey(
            departure_s=start[0],
            arrival_s=end[-1],
            transfers=max(0, n_trips - 1),
            walking_s=walking,
            legs=tuple(legs),
        )


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    xyz: np.ndarray = np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    return xyz


def _pareto_ends(labels: Labels, egress: dict[int, int]) -> list[tuple[int, int]]:
    """(destination stop, round) of each Pareto-optimal journey, fewest trips first."""
    stops = np.fromiter(egress.keys(), np.int64, len(egress))
    walk = np.fromiter(egress.values(), np.int64, len(egress))
    arr = np.minimum(labels.t_arr[:, stops], labels.w_arr[:, stops]).astype(np.int64)
    total = np.where(arr == NO_TIME, np.iinfo(np.int64).max, arr + walk[None, :])
    out = []
    best = np.iinfo(np.int64).max
    for k in range(total.shape[0]):
        j = int(np.argmin(total[k]))
        if total[k, j] < best:
            best = int(total[k, j])
            out.append((int(stops[j]), k))
    return out


def _trace(
    labels: Labels,
    ra: RoutingArrays,
    rnd: int,
    stop: int,
    access: dict[int, int],
) -> list[Segment]:
    """Segments from the origin to ``stop`` for the label of round ``rnd`` (kernel rows).

    Follows the labels' own links (``t_src``, ``w_from``): each trip label names the label
    it was boarded from, so the journey is the one the kernel found, transfer rules and
    change times included.
    """
    t_arr, w_arr = labels.t_arr, labels.w_arr
    segments: list[Segment] = []
    s, r = stop, rnd
    walked = int(w_arr[r, s]) < int(t_arr[r, s])
    while True:
        if walked:
            u = int(labels.w_from[r, s])
            segments.append(("walk", u, s, int(w_arr[r, s]) - int(t_arr[r, u])))
            s = u
        if r == 0:
            segments.append(("access", s, access[s]))
            break
        row = int(labels.t_trip[r, s])
        if row < 0:  # pragma: no cover - would be a kernel bug
            raise AssertionError(f"no trip label to trace at stop {s}, round {r}")
        bp, ap = int(labels.t_board[r, s]), int(labels.t_alight[r, s])
        segments.append(("trip", row, bp, ap))
        code = int(labels.t_src[r, s])
        s = int(ra.pattern_stops[_pattern_offset(ra, row) + bp])
        r, walked = code // 2, bool(code % 2)
    segments.reverse()
    return segments


def _pattern_offset(ra: RoutingArrays, row: int) -> int:
    p = int(np.searchsorted(ra.pattern_trip_offset, row, side="right")) - 1
    return int(ra.pattern_stop_offset[p])


def _pattern_len(ra: RoutingArrays, row: int) -> int:
    p = int(np.searchsorted(ra.pattern_trip_offset, row, side="right")) - 1
    return int(ra.pattern_stop_offset[p + 1] - ra.pattern_stop_offset[p])


def _unrow(seg: Segment, ra: RoutingArrays) -> Segment:
    """Kernel trip row -> timetable trip (forward arrays)."""
    if seg[0] == "trip":
        return ("trip", int(ra.trip_index[seg[1]]), seg[2], seg[3])
    return seg


def _flip(seg: Segment, ra: RoutingArrays) -> Segment:
    """A segment of the reversed search, as the same segment in real time."""
    kind = seg[0]
    if kind == "trip":
        n = _pattern_len(ra, seg[1])
        return ("trip", int(ra.trip_index[seg[1]]), n - 1 - seg[3], n - 1 - seg[2])
    if kind == "walk":
        return ("walk", seg[2], seg[1], seg[3])
    if kind == "access":
        return ("egress", seg[1], seg[2])
    return ("access", seg[1], seg[2])
