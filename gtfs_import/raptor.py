"""RAPTOR kernels (numba): earliest arrival per number of trips, over timetable arrays.

The kernels are pure (arrays in, arrays out) and know nothing of ids or DataFrames; the
public entry point is :class:`gtfs_import.TransitRouter`, which validates queries, runs
:func:`raptor_labels` and turns labels into journeys. Arrive-by queries run the same
kernel on a time-reversed copy of the arrays (:func:`reverse_arrays`).

Semantics (the reference implementations of the tests follow them):

* Round 0 places the access stops at ``depart + access_s``. Round ``k`` adds a ``k``-th
  trip: a trip can be boarded at a stop whose *ready* time is no later than its departure
  and where pickup is allowed; riding it reaches later stops where drop-off is allowed.
* Ready time: the arrival itself for access and walking arrivals, arrival plus
  ``min_change_s`` after alighting at that very stop.
* After each round, footpaths are walked from the stops reached in that round by a trip
  (or by access in round 0); walks do not chain (footpaths are not transitively closed).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from gtfs_import.schema import NO_INDEX, NO_TIME
from gtfs_import.timetable import Timetable

_NO_TIME = int(NO_TIME)
_NO_INDEX = int(NO_INDEX)


class RoutingArrays(NamedTuple):
    """The numeric arrays a RAPTOR query reads (see :mod:`gtfs_import.timetable`).

    ``trip_index[row]`` is the :class:`Timetable` trip of kernel trip ``row`` (identity for
    forward arrays, a permutation for reversed ones).
    """

    pattern_stop_offset: np.ndarray
    pattern_stops: np.ndarray
    pattern_pickup: np.ndarray
    pattern_dropoff: np.ndarray
    pattern_trip_offset: np.ndarray
    trip_time_offset: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    stop_pattern_offset: np.ndarray
    stop_patterns: np.ndarray
    stop_pattern_pos: np.ndarray
    foot_offset: np.ndarray
    foot_to: np.ndarray
    foot_s: np.ndarray
    trip_index: np.ndarray


class Labels(NamedTuple):
    """RAPTOR labels, one row per round (``rounds × stops``), ``NO_TIME`` where unset.

    ``t_*``: arrival by a trip in that round (round 0: by the access walk, ``t_trip = -1``),
    with the kernel trip row and the board and alight positions in its pattern.
    ``w_*``: arrival by a footpath after that round, and the stop it was walked from.
    """

    t_arr: np.ndarray
    t_trip: np.ndarray
    t_board: np.ndarray
    t_alight: np.ndarray
    w_arr: np.ndarray
    w_from: np.ndarray


def forward_arrays(tt: Timetable) -> RoutingArrays:
    """The routing arrays of a timetable, in its own time direction."""
    return RoutingArrays(
        pattern_stop_offset=tt.pattern_stop_offset,
        pattern_stops=tt.pattern_stops,
        pattern_pickup=tt.pattern_pickup.astype(np.bool_),
        pattern_dropoff=tt.pattern_dropoff.astype(np.bool_),
        pattern_trip_offset=tt.pattern_trip_offset,
        trip_time_offset=tt.trip_time_offset,
        arrival_s=tt.arrival_s,
        departure_s=tt.departure_s,
        stop_pattern_offset=tt.stop_pattern_offset,
        stop_patterns=tt.stop_patterns,
        stop_pattern_pos=tt.stop_pattern_pos,
        foot_offset=tt.foot_offset,
        foot_to=tt.foot_to,
        foot_s=tt.foot_s,
        trip_index=np.arange(len(tt.trip_time_offset), dtype=np.int32),
    )


def reverse_arrays(ra: RoutingArrays) -> RoutingArrays:
    """Time-reversed arrays: times negated, stop sequences and footpaths reversed.

    An earliest-arrival query on the result is a latest-departure query on ``ra``:
    pickup and drop-off exchange roles, and a trip that did not overtake another still
    does not, so the order of each pattern's trips is simply reversed.
    """
    i32 = np.int32
    pso, pto, tto = ra.pattern_stop_offset, ra.pattern_trip_offset, ra.trip_time_offset
    n_pat = len(pto) - 1
    pat_len = np.diff(pso)
    ev_pat = np.repeat(np.arange(n_pat), pat_len)
    pos = np.arange(len(ra.pattern_stops)) - pso[ev_pat]
    src = pso[ev_pat] + pat_len[ev_pat] - 1 - pos
    n_trips = len(tto)
    n_in_pat = np.diff(pto)
    trip_pat = np.repeat(np.arange(n_pat), n_in_pat)
    tpos = np.arange(n_trips) - pto[trip_pat]
    perm = pto[trip_pat] + n_in_pat[trip_pat] - 1 - tpos
    trip_len = pat_len[trip_pat]
    ev_trip = np.repeat(np.arange(n_trips), trip_len)
    epos = np.arange(len(ra.arrival_s)) - tto[ev_trip]
    esrc = tto[ev_trip] + trip_len[ev_trip] - 1 - epos
    n_stops = len(ra.stop_pattern_offset) - 1
    foot_from = np.repeat(np.arange(n_stops), np.diff(ra.foot_offset))
    order = np.lexsort((foot_from, ra.foot_to))
    return RoutingArrays(
        pattern_stop_offset=pso,
        pattern_stops=ra.pattern_stops[src],
        pattern_pickup=ra.pattern_dropoff[src],
        pattern_dropoff=ra.pattern_pickup[src],
        pattern_trip_offset=pto,
        trip_time_offset=tto[perm].astype(i32),
        arrival_s=(-ra.departure_s[esrc]).astype(i32),
        departure_s=(-ra.arrival_s[esrc]).astype(i32),
        stop_pattern_offset=ra.stop_pattern_offset,
        stop_patterns=ra.stop_patterns,
        stop_pattern_pos=(pat_len[ra.stop_patterns] - 1 - ra.stop_pattern_pos).astype(i32),
        foot_offset=np.r_[0, np.cumsum(np.bincount(ra.foot_to, minlength=n_stops))].astype(i32),
        foot_to=foot_from[order].astype(i32),
        foot_s=ra.foot_s[order],
        trip_index=ra.trip_index[perm].astype(i32),
    )


@numba.njit(cache=True)
def _walk_round(
    k: int,
    ra: RoutingArrays,
    t_arr: np.ndarray,
    w_arr: np.ndarray,
    w_from: np.ndarray,
    reached: np.ndarray,
    n_reached: int,
    best_arr: np.ndarray,
    best_ready: np.ndarray,
    egress: np.ndarray,
    target: int,
    marked: np.ndarray,
) -> int:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """Relax footpaths from the stops reached by a trip (or access) in round ``k``."""
    for j in range(n_reached):
        u = reached[j]
        a_u = t_arr[k, u]
        for e in range(ra.foot_offset[u], ra.foot_offset[u + 1]):
            v = ra.foot_to[e]
            a = a_u + ra.foot_s[e]
            if a >= target or a >= best_ready[v]:
                continue
            w_arr[k, v] = a
            w_from[k, v] = u
            best_ready[v] = a
            marked[v] = True
            if a < best_arr[v]:
                best_arr[v] = a
                if egress[v] != _NO_TIME and a + egress[v] < target:
                    target = a + egress[v]
    return target


@numba.njit(cache=True)
def _raptor(
    ra: RoutingArrays,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    depart_s: int,
    n_rounds: int,
    min_change_s: int,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """RAPTOR rounds; returns the arrays of :class:`Labels` (see :func:`raptor_labels`)."""
    n_stops = len(ra.stop_pattern_offset) - 1
    n_pat = len(ra.pattern_trip_offset) - 1
    shape = (n_rounds + 1, n_stops)
    t_arr = np.full(shape, _NO_TIME, np.int32)
    t_trip = np.full(shape, _NO_INDEX, np.int32)
    t_board = np.full(shape, _NO_INDEX, np.int32)
    t_alight = np.full(shape, _NO_INDEX, np.int32)
    w_arr = np.full(shape, _NO_TIME, np.int32)
    w_from = np.full(shape, _NO_INDEX, np.int32)
    best_arr = np.full(n_stops, _NO_TIME, np.int64)
    best_ready = np.full(n_stops, _NO_TIME, np.int64)
    best_t = np.full(n_stops, _NO_TIME, np.int64)
    egress = np.full(n_stops, _NO_TIME, np.int64)
    marked = np.zeros(n_stops, np.bool_)
    in_reached = np.zeros(n_stops, np.bool_)
    reached = np.empty(n_stops, np.int32)
    first_pos = np.full(n_pat, -1, np.int64)
    queue = np.empty(n_pat, np.int32)
    target = _NO_TIME
    for i in range(len(egress_stop)):
        s = egress_stop[i]
        if egress_s[i] < egress[s]:
            egress[s] = egress_s[i]
    for i in range(len(access_stop)):
        s = access_stop[i]
        a = depart_s + access_s[i]
        if a < t_arr[0, s]:
            t_arr[0, s] = a
    n_reached = 0
    for s in range(n_stops):
        if t_arr[0, s] != _NO_TIME:
            a = t_arr[0, s]
            best_arr[s] = a
            best_ready[s] = a
            best_t[s] = a
            marked[s] = True
            reached[n_reached] = s
            n_reached += 1
            if egress[s] != _NO_TIME and a + egress[s] < target:
                target = a + egress[s]
    target = _walk_round(
        0,
        ra,
        t_arr,
        w_arr,
        w_from,
        reached,
        n_reached,
        best_arr,
        best_ready,
        egress,
        target,
        marked,
    )
    for k in range(1, n_rounds + 1):
        ready_prev = best_ready.copy()
        n_queue = 0
        any_marked = False
        for s in range(n_stops):
            if not marked[s]:
                continue
            any_marked = True
            marked[s] = False
            for j in range(ra.stop_pattern_offset[s], ra.stop_pattern_offset[s + 1]):
                p = ra.stop_patterns[j]
                pos = ra.stop_pattern_pos[j]
                if first_pos[p] == -1:
                    queue[n_queue] = p
                    n_queue += 1
                    first_pos[p] = pos
                elif pos < first_pos[p]:
                    first_pos[p] = pos
        if not any_marked:
            break
        n_reached = 0
        for q in range(n_queue):
            p = queue[q]
            start = first_pos[p]
            first_pos[p] = -1
            off = ra.pattern_stop_offset[p]
            n = ra.pattern_stop_offset[p + 1] - off
            lo = ra.pattern_trip_offset[p]
            hi = ra.pattern_trip_offset[p + 1]
            cur = -1
            board = -1
            for i in range(start, n):
                s = ra.pattern_stops[off + i]
                if cur >= 0 and ra.pattern_dropoff[off + i]:
                    a = ra.arrival_s[ra.trip_time_offset[cur] + i]
                    # Compared with trip arrivals only: footpaths start from trip
                    # arrivals, so one that is not the earliest arrival may still lead
                    # to an earlier walk (walks do not chain).
                    if a < target and a < best_t[s]:
                        t_arr[k, s] = a
                        t_trip[k, s] = cur
                        t_board[k, s] = board
                        t_alight[k, s] = i
                        best_t[s] = a
                        if a < best_arr[s]:
                            best_arr[s] = a
                            if egress[s] != _NO_TIME and a + egress[s] < target:
                                target = a + egress[s]
                        if a + min_change_s < best_ready[s]:
                            best_ready[s] = a + min_change_s
                            marked[s] = True
                        if not in_reached[s]:
                            in_reached[s] = True
                            reached[n_reached] = s
                            n_reached += 1
                r = ready_prev[s]
                if r == _NO_TIME or not ra.pattern_pickup[off + i]:
                    continue
                if cur >= 0 and r > ra.departure_s[ra.trip_time_offset[cur] + i]:
                    continue
                # Earliest trip leaving at or after r, among those before the current one.
                a_lo = lo
                a_hi = cur if cur >= 0 else hi
                end = a_hi
                while a_lo < a_hi:
                    mid = (a_lo + a_hi) // 2
                    if ra.departure_s[ra.trip_time_offset[mid] + i] >= r:
                        a_hi = mid
                    else:
                        a_lo = mid + 1
                if a_lo < end:
                    cur = a_lo
                    board = i
        for j in range(n_reached):
            in_reached[reached[j]] = False
        target = _walk_round(
            k,
            ra,
            t_arr,
            w_arr,
            w_from,
            reached,
            n_reached,
            best_arr,
            best_ready,
            egress,
            target,
            marked,
        )
    return t_arr, t_trip, t_board, t_alight, w_arr, w_from


def raptor_labels(
    ra: RoutingArrays,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    depart_s: int,
    n_rounds: int,
    min_change_s: int,
) -> Labels:
    """Run RAPTOR for ``n_rounds`` trips at most; validate the inputs first.

    Parameters
    ----------
    ra
        Routing arrays (:func:`forward_arrays` or :func:`reverse_arrays`).
    access_stop, access_s
        Stops where the journey can start and the walk to each (seconds, >= 0).
    egress_stop, egress_s
        Stops where it can end and the walk from each (seconds, >= 0); they only prune the
        search (a label later than the best known arrival is not expanded).
    depart_s
        Departure time, timetable seconds.
    n_rounds
        Maximum number of trips (transfers + 1).
    min_change_s
        Change time at one stop.

    Returns
    -------
    Labels
    """
    n_stops = len(ra.stop_pattern_offset) - 1
    access_stop = np.ascontiguousarray(access_stop, dtype=np.int32)
    egress_stop = np.ascontiguousarray(egress_stop, dtype=np.int32)
    access_s = np.ascontiguousarray(access_s, dtype=np.int64)
    egress_s = np.ascontiguousarray(egress_s, dtype=np.int64)
    for name, stops, walk in (("access", access_stop, access_s), ("egress", egress_stop, egress_s)):
        if len(stops) != len(walk):
            raise ValueError(f"{name}: {len(stops)} stops but {len(walk)} walk times")
        if len(stops) and (stops.min() < 0 or stops.max() >= n_stops):
            raise ValueError(f"{name}: stop index out of range 0..{n_stops - 1}")
        if len(walk) and (walk.min() < 0 or walk.max() > 2**30):
            raise ValueError(f"{name}: walk times must be between 0 and 2**30 s")
    if abs(int(depart_s)) > 2**30:
        raise ValueError(f"depart_s={depart_s} is out of range")
    if n_rounds < 0:
        raise ValueError("n_rounds must be >= 0")
    out = _raptor(
        ra,
        access_stop,
        access_s,
        egress_stop,
        egress_s,
        int(depart_s),
        int(n_rounds),
        int(min_change_s),
    )
    return Labels(*out)
