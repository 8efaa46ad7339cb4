"""RAPTOR kernels (numba): earliest arrival per number of trips, over timetable arrays.

The kernels are pure (arrays in, arrays out) and know nothing of ids or DataFrames; the
public entry point is :class:`gtfs_import.TransitRouter`, which validates queries, runs
:func:`raptor_labels` and turns labels into journeys. Arrive-by queries run the same
kernel on a time-reversed copy of the arrays (:func:`reverse_arrays`).

Semantics (the reference implementations of the tests follow them):

* Round 0 places the access stops at ``depart + access_s``. Round ``k`` adds a ``k``-th
  trip: a trip can be boarded at a stop whose *ready* time is no later than its departure
  and where pickup is allowed; riding it reaches later stops where drop-off is allowed.
* Ready time: the arrival itself for access and walking arrivals, arrival plus the stop's
  change time (``stop_change_s``) after alighting at that very stop.
* After each round, footpaths are walked from the stops reached in that round by a trip
  (or by access in round 0); walks do not chain (footpaths are not transitively closed).
* Restricted transfer rules (``transfers.txt`` rows naming trips or routes, see
  :mod:`gtfs_import.transfers`) are checked when boarding: the stop's ready label
  remembers the trip it came from and where that trip was left; a rule that matches it
  and the trip to board replaces the ready time by "left at + ``min_s``", or forbids
  that trip (the next one of the pattern is tried). One label per stop and round is kept,
  so when the earliest arrival at a stop may not transfer to a trip, a later arrival at
  that stop which could is not remembered: the journey found is valid but may then not
  be the earliest.
* Each trip label remembers the label it was boarded from (``t_src``: ``2 × round``
  plus ``1`` for a walk label), so journeys are traced back exactly.
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
    stop_change_s: np.ndarray
    trip_gtfs: np.ndarray
    trip_route: np.ndarray
    xfer_offset: np.ndarray
    xfer_from_stop: np.ndarray
    xfer_from_trip: np.ndarray
    xfer_to_trip: np.ndarray
    xfer_from_route: np.ndarray
    xfer_to_route: np.ndarray
    xfer_min_s: np.ndarray


class Labels(NamedTuple):
    """RAPTOR labels, one row per round (``rounds × stops``), ``NO_TIME`` where unset.

    ``t_*``: arrival by a trip in that round (round 0: by the access walk, ``t_trip = -1``),
    with the kernel trip row, the board and alight positions in its pattern and the label
    boarded from (``t_src``: ``2 × round``, plus ``1`` for a walk label).
    ``w_*``: arrival by a footpath after that round, and the stop it was walked from.
    """

    t_arr: np.ndarray
    t_trip: np.ndarray
    t_board: np.ndarray
    t_alight: np.ndarray
    t_src: np.ndarray
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
        stop_change_s=tt.stop_change_s.astype(np.int64),
        trip_gtfs=tt.trip_gtfs,
        trip_route=tt.trip_route,
        xfer_offset=tt.xfer_offset,
        xfer_from_stop=tt.xfer_from_stop,
        xfer_from_trip=tt.xfer_from_trip,
        xfer_to_trip=tt.xfer_to_trip,
        xfer_from_route=tt.xfer_from_route,
        xfer_to_route=tt.xfer_to_route,
        xfer_min_s=tt.xfer_min_s,
    )


def reverse_arrays(ra: RoutingArrays) -> RoutingArrays:
    """Time-reversed arrays: times negated, stop sequences and footpaths reversed.

    An earliest-arrival query on the result is a latest-departure query on ``ra``:
    pickup and drop-off exchange roles, and a trip that did not overtake another still
    does not, so the order of each pattern's trips is simply reversed. A transfer from
    trip A at stop u to trip B at stop v becomes one from B at v to A at u: the rules are
    re-indexed by their ``from`` stop with ``from`` and ``to`` exchanged.
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
    x_to = np.repeat(np.arange(n_stops), np.diff(ra.xfer_offset))
    # Stable by the new boarding stop: each stop keeps its rules most specific first.
    x_order = np.argsort(ra.xfer_from_stop, kind="stable")
    x_count = np.bincount(ra.xfer_from_stop, minlength=n_stops)
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
        stop_change_s=ra.stop_change_s,
        trip_gtfs=ra.trip_gtfs,
        trip_route=ra.trip_route,
        xfer_offset=np.r_[0, np.cumsum(x_count)].astype(i32),
        xfer_from_stop=x_to[x_order].astype(i32),
        xfer_from_trip=ra.xfer_to_trip[x_order],
        xfer_to_trip=ra.xfer_from_trip[x_order],
        xfer_from_route=ra.xfer_to_route[x_order],
        xfer_to_route=ra.xfer_from_route[x_order],
        xfer_min_s=ra.xfer_min_s[x_order],
    )


#: Returned by :func:`_rule_min_s` when no restricted rule matches.
_NO_RULE = -3
_FORBIDDEN = -1
_DEFAULT = -2


@numba.njit(cache=True)
def _rule_min_s(
    ra: RoutingArrays, s: int, from_stop: int, from_trip: int, to_trip: int
) -> int:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """``min_s`` of the most specific rule for boarding timetable trip ``to_trip`` at ``s``.

    ``from_trip`` was left at ``from_stop``; :data:`_NO_RULE` when no rule matches.
    """
    fg = ra.trip_gtfs[from_trip]
    tg = ra.trip_gtfs[to_trip]
    fr = ra.trip_route[from_trip]
    tr = ra.trip_route[to_trip]
    for e in range(ra.xfer_offset[s], ra.xfer_offset[s + 1]):
        if ra.xfer_from_stop[e] != from_stop:
            continue
        if ra.xfer_from_trip[e] >= 0 and ra.xfer_from_trip[e] != fg:
            continue
        if ra.xfer_to_trip[e] >= 0 and ra.xfer_to_trip[e] != tg:
            continue
        if ra.xfer_from_route[e] >= 0 and ra.xfer_from_route[e] != fr:
            continue
        if ra.xfer_to_route[e] >= 0 and ra.xfer_to_route[e] != tr:
            continue
        return int(ra.xfer_min_s[e])
    return _NO_RULE


@numba.njit(cache=True)
def _walk_round(
    k: int,
    ra: RoutingArrays,
    t_arr: np.ndarray,
    t_trip: np.ndarray,
    w_arr: np.ndarray,
    w_from: np.ndarray,
    reached: np.ndarray,
    n_reached: int,
    best_arr: np.ndarray,
    ready: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    egress: np.ndarray,
    target: int,
    marked: np.ndarray,
) -> int:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """Relax footpaths from the stops reached by a trip (or access) in round ``k``."""
    best_ready, r_trip, r_stop, r_base, r_code = ready
    for j in range(n_reached):
        u = reached[j]
        a_u = t_arr[k, u]
        row = t_trip[k, u]
        came = ra.trip_index[row] if row >= 0 else -1
        for e in range(ra.foot_offset[u], ra.foot_offset[u + 1]):
            v = ra.foot_to[e]
            a = a_u + ra.foot_s[e]
            if a >= target or a >= best_ready[v]:
                continue
            w_arr[k, v] = a
            w_from[k, v] = u
            best_ready[v] = a
            r_trip[v] = came
            r_stop[v] = u
            r_base[v] = a_u
            r_code[v] = 2 * k + 1
            marked[v] = True
            if a < best_arr[v]:
                best_arr[v] = a
                if egress[v] != _NO_TIME and a + egress[v] < target:
                    target = a + egress[v]
    return target


@numba.njit(cache=True)
def _board(
    ra: RoutingArrays,
    s: int,
    i: int,
    lo: int,
    end: int,
    ready: int,
    came: int,
    came_stop: int,
    base: int,
) -> int:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """Earliest kernel trip row in ``lo .. end`` boardable at position ``i`` (stop ``s``).

    ``ready`` is the stop's ready time; ``came`` the timetable trip left at ``came_stop``
    at ``base`` (``-1`` after the access walk). ``end`` when no trip can be boarded.
    """
    constrained = came >= 0 and ra.xfer_offset[s] < ra.xfer_offset[s + 1]
    r = base if constrained else ready  # a restricted rule may allow less than the usual
    a_lo = lo
    a_hi = end
    while a_lo < a_hi:
        mid = (a_lo + a_hi) // 2
        if ra.departure_s[ra.trip_time_offset[mid] + i] >= r:
            a_hi = mid
        else:
            a_lo = mid + 1
    if not constrained:
        return a_lo
    for j in range(a_lo, end):
        dep = ra.departure_s[ra.trip_time_offset[j] + i]
        m = _rule_min_s(ra, s, came_stop, came, ra.trip_index[j])
        if m == _FORBIDDEN:
            continue
        need = ready if m < 0 else base + m  # no rule, or the default change
        if dep >= need:
            return j
    return end


@numba.njit(cache=True)
def _raptor(
    ra: RoutingArrays,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    depart_s: int,
    n_rounds: int,
) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """RAPTOR rounds; returns the arrays of :class:`Labels` (see :func:`raptor_labels`)."""
    n_stops = len(ra.stop_pattern_offset) - 1
    n_pat = len(ra.pattern_trip_offset) - 1
    shape = (n_rounds + 1, n_stops)
    t_arr = np.full(shape, _NO_TIME, np.int32)
    t_trip = np.full(shape, _NO_INDEX, np.int32)
    t_board = np.full(shape, _NO_INDEX, np.int32)
    t_alight = np.full(shape, _NO_INDEX, np.int32)
    t_src = np.full(shape, _NO_INDEX, np.int32)
    w_arr = np.full(shape, _NO_TIME, np.int32)
    w_from = np.full(shape, _NO_INDEX, np.int32)
    best_arr = np.full(n_stops, _NO_TIME, np.int64)
    best_t = np.full(n_stops, _NO_TIME, np.int64)
    # The ready label of each stop: time, trip it came from (timetable index, -1 after
    # access), stop and time that trip was left, and the label code (for tracing).
    best_ready = np.full(n_stops, _NO_TIME, np.int64)
    r_trip = np.full(n_stops, -1, np.int64)
    r_stop = np.full(n_stops, -1, np.int64)
    r_base = np.full(n_stops, _NO_TIME, np.int64)
    r_code = np.full(n_stops, -1, np.int32)
    has_rules = len(ra.xfer_from_stop) > 0
    ready = (best_ready, r_trip, r_stop, r_base, r_code)
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
            r_stop[s] = s
            r_base[s] = a
            r_code[s] = 0
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
        t_trip,
        w_arr,
        w_from,
        reached,
        n_reached,
        best_arr,
        ready,
        egress,
        target,
        marked,
    )
    for k in range(1, n_rounds + 1):
        ready_prev = best_ready.copy()
        code_prev = r_code.copy()
        # Where a ready label came from is only read at stops with restricted rules.
        trip_prev, stop_prev, base_prev = r_trip, r_stop, r_base
        if has_rules:
            trip_prev, stop_prev, base_prev = r_trip.copy(), r_stop.copy(), r_base.copy()
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
            board_code = -1
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
                        t_src[k, s] = board_code
                        best_t[s] = a
                        if a < best_arr[s]:
                            best_arr[s] = a
                            if egress[s] != _NO_TIME and a + egress[s] < target:
                                target = a + egress[s]
                        if a + ra.stop_change_s[s] < best_ready[s]:
                            best_ready[s] = a + ra.stop_change_s[s]
                            r_trip[s] = ra.trip_index[cur]
                            r_stop[s] = s
                            r_base[s] = a
                            r_code[s] = 2 * k
                            marked[s] = True
                        if not in_reached[s]:
                            in_reached[s] = True
                            reached[n_reached] = s
                            n_reached += 1
                r = ready_prev[s]
                if r == _NO_TIME or not ra.pattern_pickup[off + i]:
                    continue
                came = trip_prev[s]
                constrained = came >= 0 and ra.xfer_offset[s] < ra.xfer_offset[s + 1]
                least = base_prev[s] if constrained else r
                if cur >= 0 and least > ra.departure_s[ra.trip_time_offset[cur] + i]:
                    continue
                # Earliest trip boardable here, among those before the current one.
                end = cur if cur >= 0 else hi
                if constrained:
                    found = _board(ra, s, i, lo, end, r, came, stop_prev[s], base_prev[s])
                else:  # the common case, inline: a binary search on departures
                    found = lo
                    a_hi = end
                    while found < a_hi:
                        mid = (found + a_hi) // 2
                        if ra.departure_s[ra.trip_time_offset[mid] + i] >= r:
                            a_hi = mid
                        else:
                            found = mid + 1
                if found < end:
                    cur = found
                    board = i
                    board_code = code_prev[s]
        for j in range(n_reached):
            in_reached[reached[j]] = False
        target = _walk_round(
            k,
            ra,
            t_arr,
            t_trip,
            w_arr,
            w_from,
            reached,
            n_reached,
            best_arr,
            ready,
            egress,
            target,
            marked,
        )
    return t_arr, t_trip, t_board, t_alight, t_src, w_arr, w_from


def raptor_labels(
    ra: RoutingArrays,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    depart_s: int,
    n_rounds: int,
) -> Labels:
    """Run RAPTOR for ``n_rounds`` trips at most; validate the inputs first.

    Parameters
    ----------
    ra
        Routing arrays (:func:`forward_arrays` or :func:`reverse_arrays`); change times
        and transfer rules come with them.
    access_stop, access_s
        Stops where the journey can start and the walk to each (seconds, >= 0).
    egress_stop, egress_s
        Stops where it can end and the walk from each (seconds, >= 0); they only prune the
        search (a label later than the best known arrival is not expanded).
    depart_s
        Departure time, timetable seconds.
    n_rounds
        Maximum number of trips (transfers + 1).

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
    )
    return Labels(*out)
