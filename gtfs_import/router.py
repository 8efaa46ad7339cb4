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
    SEG_ACCESS,
    SEG_TRIP,
    SEG_WALK,
    RangeResult,
    RoutingArrays,
    forward_arrays,
    range_journeys,
    reverse_arrays,
)
from gtfs_import.schema import WALK_DETOUR_FACTOR, WALK_SPEED_KMH
from gtfs_import.shapes import leg_points
from gtfs_import.timetable import EARTH_RADIUS_M, Timetable

#: Stops with a walk time in seconds: ``{"StopPoint:OCETrain TER-87613000": 300}`` or pairs.
StopWalks = Mapping[str, float] | Iterable[tuple[str, float]]

_MAX_TRANSFERS_LIMIT = 15
#: Longest window of :meth:`TransitRouter.depart_window` and ``arrive_window``.
_MAX_WINDOW_S = 2 * 86_400

#: A journey piece while tracing labels: ("access", stop, walk_s), ("walk", from, to,
#: walk_s), ("trip", trip, board_pos, alight_pos) or ("egress", stop, walk_s).
Segment = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg of a journey, walking or riding one trip.

    Times are timetable seconds (see :mod:`gtfs_import.schema`). For walking legs,
    ``from_stop_id`` is ``None`` when the leg starts at the origin point and ``to_stop_id``
    is ``None`` when it ends at the destination point.

    ``geometry`` is the path as (lat, lon) points: for a ride, its trip's shape between the
    two stops, or the stops' own coordinates when the trip has no shape; for a walk, the
    two stops (empty when an end is the origin or destination point, which the caller
    knows better).

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
    geometry: tuple[tuple[float, float], ...] = ()

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
        *,
        trip_ok: np.ndarray | None = None,
        stop_ok: np.ndarray | None = None,
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
        trip_ok
            Optional boolean mask over the timetable's trips: a trip marked false is
            never boarded (e.g. :meth:`wheelchair_masks`).
        stop_ok
            Optional boolean mask over the timetable's stops: a stop marked false is never
            boarded at, alighted at or walked through; origins and destinations outside
            it are ignored.

        Returns
        -------
        list[Journey]
            The Pareto set of arrival time × transfers, fewest transfers first (each next
            journey arrives strictly earlier). Empty when the destination is not reachable.
            Each journey leaves the origin as late as its first trip allows.
        """
        return self._query(
            origins, destinations, depart_s, 0, max_transfers, False, trip_ok, stop_ok
        )

    def arrive_by(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        arrive_s: int,
        max_transfers: int = 4,
        *,
        trip_ok: np.ndarray | None = None,
        stop_ok: np.ndarray | None = None,
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
        return self._query(
            origins, destinations, arrive_s, 0, max_transfers, True, trip_ok, stop_ok
        )

    def depart_window(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        start_s: int,
        window_s: int,
        max_transfers: int = 4,
        *,
        trip_ok: np.ndarray | None = None,
        stop_ok: np.ndarray | None = None,
    ) -> list[Journey]:
        """Every Pareto-optimal journey for a rider free to leave during a window (rRAPTOR).

        The answer is the union of :meth:`depart_after` at every instant of
        ``[start_s, start_s + window_s]``, kept when no other journey of it leaves no
        earlier, arrives no later and changes no more often (one of them strictly). The
        departures of the window are searched latest first in one range RAPTOR run, not
        as separate queries. Journeys leave at ``start_s`` or later; the latest of them
        may leave after the window's end (it is what a query at the end would give). A
        journey on foot only, possible at any instant, is given once, leaving at
        ``start_s``. ``window_s = 0`` gives :meth:`depart_after` at ``start_s``.

        Parameters are those of :meth:`depart_after`, plus ``window_s`` (seconds, >= 0).

        Returns
        -------
        list[Journey]
            Sorted by departure, then by number of transfers.
        """
        return self._query(
            origins, destinations, start_s, window_s, max_transfers, False, trip_ok, stop_ok
        )

    def arrive_window(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        end_s: int,
        window_s: int,
        max_transfers: int = 4,
        *,
        trip_ok: np.ndarray | None = None,
        stop_ok: np.ndarray | None = None,
    ) -> list[Journey]:
        """Every Pareto-optimal journey for a rider due at some instant of a window.

        The mirror of :meth:`depart_window`: the union of :meth:`arrive_by` at every
        deadline of ``[end_s - window_s, end_s]``, Pareto-filtered on (later departure,
        earlier arrival, fewer transfers), searched in one range RAPTOR run on the
        time-reversed arrays. Journeys arrive at ``end_s`` or earlier (the earliest may
        arrive before the window); a walk-only journey is given once, arriving at
        ``end_s``. ``window_s = 0`` gives :meth:`arrive_by` at ``end_s``.

        Returns
        -------
        list[Journey]
            Sorted by departure, then by number of transfers.
        """
        return self._query(
            origins, destinations, end_s, window_s, max_transfers, True, trip_ok, stop_ok
        )

    def wheelchair_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """``(trip_ok, stop_ok)`` for a wheelchair user, to pass to any query.

        Trips with ``wheelchair_accessible = 2`` and stops with ``wheelchair_boarding = 2``
        (a child stop with 0 takes its parent station's value) are excluded; unknown (0)
        is allowed, as GTFS says it means "no information".
        """
        tt = self.tt
        stop_value = tt.stop_wheelchair.astype(np.int64)
        parent = tt.stop_parent.astype(np.int64)
        inherit = (stop_value == 0) & (parent >= 0)
        stop_value[inherit] = tt.stop_wheelchair[parent[inherit]]
        return tt.trip_wheelchair != 2, stop_value != 2

    # -- internals ------------------------------------------------------------------------

    def _stop_points(self, stops: Iterable[int]) -> tuple[tuple[float, float], ...]:
        """(lat, lon) of stops, those without coordinates left out."""
        tt = self.tt
        return tuple(
            (float(tt.stop_lat[s]), float(tt.stop_lon[s]))
            for s in stops
            if np.isfinite(tt.stop_lat[s]) and np.isfinite(tt.stop_lon[s])
        )

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

    def _mask(self, mask: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
        if mask is None:
            return None
        out = np.asarray(mask)
        if out.dtype != np.bool_ or out.shape != (n,):
            raise QueryError(
                f"{what} must be a boolean array of {n} items, got {out.dtype} {out.shape}"
            )
        return out

    def _query(
        self,
        origins: StopWalks,
        destinations: StopWalks,
        time_s: int,
        window_s: int,
        max_transfers: int,
        backward: bool,
        trip_ok: np.ndarray | None,
        stop_ok: np.ndarray | None,
    ) -> list[Journey]:
        if not 0 <= int(max_transfers) <= _MAX_TRANSFERS_LIMIT:
            raise QueryError(f"max_transfers must be between 0 and {_MAX_TRANSFERS_LIMIT}")
        if abs(int(time_s)) > 2**30:
            raise QueryError(f"time {time_s} s is out of range")
        if not 0 <= int(window_s) <= _MAX_WINDOW_S:
            raise QueryError(f"window_s must be between 0 and {_MAX_WINDOW_S} s")
        orig = self._walks(origins, "origins")
        dest = self._walks(destinations, "destinations")
        trips = self._mask(trip_ok, self.tt.n_trips, "trip_ok")
        stops = self._mask(stop_ok, self.tt.n_stops, "stop_ok")
        # Backward: search from the destinations, in reversed time.
        access, egress = (dest, orig) if backward else (orig, dest)
        ra = self._backward if backward else self._forward
        start = -int(time_s) if backward else int(time_s)
        found = range_journeys(
            ra,
            np.fromiter(access.keys(), np.int64, len(access)),
            np.fromiter(access.values(), np.int64, len(access)),
            np.fromiter(egress.keys(), np.int64, len(egress)),
            np.fromiter(egress.values(), np.int64, len(egress)),
            start,
            int(window_s),
            int(max_transfers) + 1,
            trip_ok=None if trips is None else trips[ra.trip_index],
            stop_ok=stops,
        )
        journeys = []
        for j in range(len(found.depart_s)):
            segments = _segments(found, j)
            if backward:
                segments = [_flip(seg, ra) for seg in reversed(segments)]
            else:
                segments = [_unrow(seg, ra) for seg in segments]
            at = -int(found.depart_s[j]) if backward else int(found.depart_s[j])
            journeys.append(self._journey(segments, at, backward))
        if window_s == 0:
            return journeys
        return _pareto(journeys)

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
                ev = int(tt.trip_time_offset[t])
                if tt.trip_shape[t] >= 0:
                    geometry = leg_points(
                        tt.shape_lat,
                        tt.shape_lon,
                        tt.event_shape_lat,
                        tt.event_shape_lon,
                        tt.event_shape_next,
                        ev + bp,
                        ev + ap,
                    )
                else:
                    geometry = self._stop_points(
                        tt.pattern_stops[
                            tt.pattern_stop_offset[p] + bp : tt.pattern_stop_offset[p] + ap + 1
                        ]
                    )
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
                        geometry=geometry,
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
                ends = () if a is None or b is None else self._stop_points([seg[1], seg[2]])
                legs.append(Leg("walk", a, b, start[i], end[i], geometry=ends))
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


def _segments(found: RangeResult, j: int) -> list[Segment]:
    """The segments of journey ``j`` of a range search, as tuples (kernel trip rows)."""
    out: list[Segment] = []
    for i in range(int(found.seg_offset[j]), int(found.seg_offset[j + 1])):
        kind = int(found.seg_kind[i])
        a, b, c = int(found.seg_a[i]), int(found.seg_b[i]), int(found.seg_c[i])
        if kind == SEG_ACCESS:
            out.append(("access", a, c))
        elif kind == SEG_WALK:
            out.append(("walk", a, b, c))
        elif kind == SEG_TRIP:
            out.append(("trip", a, b, c))
        else:
            out.append(("egress", a, c))
    return out


def _pareto(journeys: list[Journey]) -> list[Journey]:
    """Journeys no other one dominates (leaves no earlier, arrives no later, changes no
    more, one strictly), one per (departure, arrival, transfers), by departure then
    transfers."""
    best: dict[tuple[int, int, int], Journey] = {}
    for j in journeys:
        best.setdefault((j.departure_s, j.arrival_s, j.transfers), j)
    keys = sorted(best)
    kept = []
    for d, a, n in keys:
        dominated = any(
            d2 >= d and a2 <= a and n2 <= n and (d2, a2, n2) != (d, a, n) for d2, a2, n2 in keys
        )
        if not dominated:
            kept.append(best[(d, a, n)])
    return kept


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
