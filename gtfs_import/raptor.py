"""RAPTOR kernels (numba): earliest arrival per number of trips, over a window of departures.

The kernels are pure (arrays in, arrays out) and know nothing of ids or DataFrames; the
public entry point is :class:`gtfs_import.TransitRouter`, which validates queries, runs
:func:`range_journeys` and turns its segments into journeys. One kernel serves every
query: range RAPTOR (rRAPTOR) runs the departures of a window latest first, keeping the
labels of each round from one departure to the next, and a single-instant query is a
window of one departure. Arrive-by queries run the same kernel on a time-reversed copy of
the arrays (:func:`reverse_arrays`). Optional masks exclude trips (never boarded) and
stops (never boarded at, alighted at or walked to).

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
  plus ``1`` for a walk label), so journeys are traced back exactly; a journey is traced
  in the kernel as soon as it is found, before earlier departures overwrite labels.
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
    trip_ok: np.ndarray,
    use_trip_ok: bool,
) -> int:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """Earliest kernel trip row in ``lo .. end`` boardable at position ``i`` (stop ``s``).

    ``ready`` is the stop's ready time; ``came`` the timetable trip left at ``came_stop``
    at ``base`` (``-1`` after the access walk). Rows with ``trip_ok`` false are skipped
    when ``use_trip_ok``. ``end`` when no trip can be boarded.
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
        if use_trip_ok:
            while a_lo < end and not trip_ok[a_lo]:
                a_lo += 1
        return a_lo
    for j in range(a_lo, end):
        if use_trip_ok and not trip_ok[j]:
            continue
        dep = ra.departure_s[ra.trip_time_offset[j] + i]
        m = _rule_min_s(ra, s, came_stop, came, ra.trip_index[j])
        if m == _FORBIDDEN:
            continue
        need = ready if m < 0 else base + m  # no rule, or the default change
        if dep >= need:
            return j
    return end


#: Segment kinds of :class:`RangeResult` (``seg_a``, ``seg_b``, ``seg_c`` per kind):
#: access walk (stop, -, walk_s), footpath (from, to, walk_s), ride (kernel trip row,
#: board position, alight position), egress walk (stop, -, walk_s).
SEG_ACCESS, SEG_WALK, SEG_TRIP, SEG_EGRESS = 0, 1, 2, 3


class RangeResult(NamedTuple):
    """Journeys found by :func:`range_journeys`, in the kernel's time direction.

    Journey ``j`` was found by the iteration leaving at ``depart_s[j]``, in round
    ``rounds[j]`` (its number of trips); its segments, origin first, are the rows
    ``seg_offset[j] .. seg_offset[j + 1]`` of ``seg_kind`` (``SEG_*``) and ``seg_a``,
    ``seg_b``, ``seg_c``. ``n_departures`` counts the iterations run.
    """

    depart_s: np.ndarray
    rounds: np.ndarray
    seg_offset: np.ndarray
    seg_kind: np.ndarray
    seg_a: np.ndarray
    seg_b: np.ndarray
    seg_c: np.ndarray
    n_departures: int


@numba.njit(cache=True)
def _grow(a: np.ndarray, need: int) -> np.ndarray:  # pragma: no cover - compiled
    """``a`` itself when it holds ``need`` items, else a copy twice as large."""
    if need <= len(a):
        return a
    out = np.empty(max(need, 2 * len(a)), a.dtype)
    out[: len(a)] = a
    return out


@numba.njit(cache=True)
def _departure_times(
    ra: RoutingArrays,
    access: np.ndarray,
    start_s: int,
    end_s: int,
    trip_ok: np.ndarray,
    use_trip_ok: bool,
    stop_ok: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """Departure times of the range iterations, latest first.

    ``end_s``, then every time strictly inside ``(start_s, end_s)`` at which leaving the
    origin point catches a first trip exactly (its departure minus the access walk, and
    a footpath from an access stop), then ``start_s``. Between two of these times every
    query gives the same transit journeys as at the later one.
    """
    n_stops = len(ra.stop_pattern_offset) - 1
    off = access.copy()
    for u in range(n_stops):
        if access[u] == _NO_TIME:
            continue
        for e in range(ra.foot_offset[u], ra.foot_offset[u + 1]):
            v = ra.foot_to[e]
            if stop_ok[v] and access[u] + ra.foot_s[e] < off[v]:
                off[v] = access[u] + ra.foot_s[e]
    times = np.empty(64, np.int64)
    n = 0
    for v in range(n_stops):
        if off[v] == _NO_TIME or not stop_ok[v]:
            continue
        lo_s = start_s + off[v]
        for j in range(ra.stop_pattern_offset[v], ra.stop_pattern_offset[v + 1]):
            p = ra.stop_patterns[j]
            pos = ra.stop_pattern_pos[j]
            if not ra.pattern_pickup[ra.pattern_stop_offset[p] + pos]:
                continue
            lo = ra.pattern_trip_offset[p]
            hi = ra.pattern_trip_offset[p + 1]
            while lo < hi:  # first trip leaving at or after start + walk
                mid = (lo + hi) // 2
                if ra.departure_s[ra.trip_time_offset[mid] + pos] > lo_s:
                    hi = mid
                else:
                    lo = mid + 1
            for t in range(lo, ra.pattern_trip_offset[p + 1]):
                dep = ra.departure_s[ra.trip_time_offset[t] + pos] - off[v]
                if dep >= end_s:
                    break
                if use_trip_ok and not trip_ok[t]:
                    continue
                times = _grow(times, n + 1)
                times[n] = dep
                n += 1
    inner = np.unique(times[:n])[::-1]
    out = np.empty(len(inner) + 2, np.int64)
    out[0] = end_s
    m = 1
    for x in inner:
        out[m] = x
        m += 1
    if start_s < end_s:
        out[m] = start_s
        m += 1
    return out[:m]


@numba.njit(cache=True)
def _foot_s(ra: RoutingArrays, u: int, v: int) -> int:  # pragma: no cover - compiled
    """Duration of the footpath ``u -> v`` (the shortest, when several are listed)."""
    best = _NO_TIME
    for e in range(ra.foot_offset[u], ra.foot_offset[u + 1]):
        if ra.foot_to[e] == v and ra.foot_s[e] < best:
            best = ra.foot_s[e]
    return best


@numba.njit(cache=True)
def _settle_arrival(best_t: np.ndarray, k: int, s: int, a: int) -> None:  # pragma: no cover
    """Record arrival ``a`` at ``s`` for round ``k`` and every later round it improves."""
    for j in range(k, best_t.shape[0]):
        if a >= best_t[j, s]:
            break  # later rounds are never worse than this one
        best_t[j, s] = a


@numba.njit(cache=True)
def _settle_ready(
    ready: np.ndarray,
    r_code: np.ndarray,
    r_trip: np.ndarray,
    r_stop: np.ndarray,
    r_base: np.ndarray,
    has_rules: bool,
    k: int,
    s: int,
    value: int,
    code: int,
    came: int,
    came_stop: int,
    base: int,
) -> bool:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """Set the ready label of ``s`` for round ``k`` and the later rounds it improves."""
    if value >= ready[k, s]:
        return False
    for j in range(k, ready.shape[0]):
        if value >= ready[j, s]:
            break
        ready[j, s] = value
        r_code[j, s] = code
        if has_rules:
            r_trip[j, s] = came
            r_stop[j, s] = came_stop
            r_base[j, s] = base
    return True


@numba.njit(cache=True)
def _trace(
    ra: RoutingArrays,
    t_trip: np.ndarray,
    t_board: np.ndarray,
    t_alight: np.ndarray,
    t_src: np.ndarray,
    w_from: np.ndarray,
    access: np.ndarray,
    egress: np.ndarray,
    k: int,
    stop: int,
    walked: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Segments (origin first) of the label of round ``k`` at destination stop ``stop``.

    Follows the labels' own links (``t_src``, ``w_from``): each trip label names the label
    it was boarded from, so the journey is the one the kernel found.
    """
    cap = 2 * k + 4
    kind = np.empty(cap, np.int32)
    sa = np.empty(cap, np.int32)
    sb = np.empty(cap, np.int32)
    sc = np.empty(cap, np.int32)
    kind[0] = SEG_EGRESS
    sa[0] = stop
    sb[0] = -1
    sc[0] = egress[stop]
    n = 1
    s = np.int64(stop)
    r = np.int64(k)
    on_foot = walked
    for _ in range(k + 2):  # one round less each pass; the access ends it
        if on_foot:
            u = np.int64(w_from[r, s])
            kind[n] = SEG_WALK
            sa[n] = u
            sb[n] = s
            sc[n] = _foot_s(ra, u, s)
            n = n + 1
            s = u
        if r == 0:
            kind[n] = SEG_ACCESS
            sa[n] = s
            sb[n] = -1
            sc[n] = access[s]
            n = n + 1
            break
        row = np.int64(t_trip[r, s])
        bp = np.int64(t_board[r, s])
        kind[n] = SEG_TRIP
        sa[n] = row
        sb[n] = bp
        sc[n] = t_alight[r, s]
        n = n + 1
        code = np.int64(t_src[r, s])
        p = np.int64(np.searchsorted(ra.pattern_trip_offset, row, side="right")) - 1
        s = np.int64(ra.pattern_stops[ra.pattern_stop_offset[p] + bp])
        r = code // 2
        on_foot = code % 2 == 1
    return kind[:n][::-1].copy(), sa[:n][::-1].copy(), sb[:n][::-1].copy(), sc[:n][::-1].copy()


@numba.njit(cache=True)
def _range_raptor(
    ra: RoutingArrays,
    access: np.ndarray,
    egress: np.ndarray,
    departures: np.ndarray,
    n_rounds: int,
    trip_ok: np.ndarray,
    use_trip_ok: bool,
    stop_ok: np.ndarray,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:  # pragma: no cover - compiled; covered with NUMBA_DISABLE_JIT=1
    """rRAPTOR over ``departures`` (latest first); see :func:`range_journeys`.

    Labels are kept per round across the departures: ``best_t[k, s]`` and
    ``ready[k, s]`` are the earliest arrival and ready time at ``s`` with at most ``k``
    trips, leaving at the current departure or later. An earlier departure only has to
    improve on them, so each iteration after the first touches little.
    """
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
    best_t = np.full(shape, _NO_TIME, np.int32)
    # The ready label of each stop and round: time, label code (for tracing) and, when
    # the timetable has restricted transfer rules, the trip it came from (timetable
    # index, -1 after access), the stop and the time that trip was left.
    ready = np.full(shape, _NO_TIME, np.int32)
    r_code = np.full(shape, -1, np.int32)
    has_rules = len(ra.xfer_from_stop) > 0
    rshape = shape if has_rules else (1, 1)
    r_trip = np.full(rshape, -1, np.int64)
    r_stop = np.full(rshape, -1, np.int64)
    r_base = np.full(rshape, _NO_TIME, np.int64)
    dest_best = np.full(n_rounds + 1, _NO_TIME, np.int64)
    marked = np.zeros(n_stops, np.bool_)
    in_reached = np.zeros(n_stops, np.bool_)
    reached = np.empty(n_stops, np.int32)
    first_pos = np.full(n_pat, -1, np.int64)
    queue = np.empty(n_pat, np.int32)
    egress_stops = np.flatnonzero(egress != _NO_TIME)
    access_stops = np.flatnonzero(access != _NO_TIME)
    j_dep = np.empty(8, np.int64)
    j_rounds = np.empty(8, np.int32)
    j_off = np.zeros(9, np.int64)
    seg_kind = np.empty(64, np.int32)
    seg_a = np.empty(64, np.int32)
    seg_b = np.empty(64, np.int32)
    seg_c = np.empty(64, np.int32)
    n_j = 0
    n_seg = 0
    n_dep = len(departures)
    for it in range(n_dep):
        tau = departures[it]
        last = it == n_dep - 1
        marked[:] = False
        target = _NO_TIME
        for k in range(n_rounds + 1):
            if dest_best[k] < target:
                target = dest_best[k]
            target_before = target
            n_reached = 0
            if k == 0:
                for s in access_stops:
                    a = tau + access[s]
                    if a >= best_t[0, s]:
                        continue
                    t_arr[0, s] = a
                    t_trip[0, s] = _NO_INDEX
                    _settle_arrival(best_t, 0, s, a)
                    if _settle_ready(
                        ready, r_code, r_trip, r_stop, r_base, has_rules, 0, s, a, 0, -1, s, a
                    ):
                        marked[s] = True
                    reached[n_reached] = s
                    in_reached[s] = True
                    n_reached += 1
                    if egress[s] != _NO_TIME and a + egress[s] < target:
                        target = a + egress[s]
            else:
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
                        if not stop_ok[s]:
                            continue
                        if cur >= 0 and ra.pattern_dropoff[off + i]:
                            a = ra.arrival_s[ra.trip_time_offset[cur] + i]
                            # Compared with trip arrivals only: footpaths start from trip
                            # arrivals, so one that is not the earliest arrival may still
                            # lead to an earlier walk (walks do not chain).
                            if a < target and a < best_t[k, s]:
                                t_arr[k, s] = a
                                t_trip[k, s] = cur
                                t_board[k, s] = board
                                t_alight[k, s] = i
                                t_src[k, s] = board_code
                                _settle_arrival(best_t, k, s, a)
                                if egress[s] != _NO_TIME and a + egress[s] < target:
                                    target = a + egress[s]
                                if _settle_ready(
                                    ready,
                                    r_code,
                                    r_trip,
                                    r_stop,
                                    r_base,
                                    has_rules,
                                    k,
                                    s,
                                    a + ra.stop_change_s[s],
                                    2 * k,
                                    ra.trip_index[cur],
                                    s,
                                    a,
                                ):
                                    marked[s] = True
                                if not in_reached[s]:
                                    in_reached[s] = True
                                    reached[n_reached] = s
                                    n_reached += 1
                        r = ready[k - 1, s]
                        if r == _NO_TIME or not ra.pattern_pickup[off + i]:
                            continue
                        came = r_trip[k - 1, s] if has_rules else -1
                        constrained = came >= 0 and ra.xfer_offset[s] < ra.xfer_offset[s + 1]
                        least = r_base[k - 1, s] if constrained else r
                        if cur >= 0 and least > ra.departure_s[ra.trip_time_offset[cur] + i]:
                            continue
                        # Earliest trip boardable here, among those before the current one.
                        end = cur if cur >= 0 else hi
                        if constrained:
                            found = _board(
                                ra,
                                s,
                                i,
                                lo,
                                end,
                                r,
                                came,
                                r_stop[k - 1, s],
                                r_base[k - 1, s],
                                trip_ok,
                                use_trip_ok,
                            )
                        else:  # the common case, inline: a binary search on departures
                            found = lo
                            a_hi = end
                            while found < a_hi:
                                mid = (found + a_hi) // 2
                                if ra.departure_s[ra.trip_time_offset[mid] + i] >= r:
                                    a_hi = mid
                                else:
                                    found = mid + 1
                            if use_trip_ok:
                                while found < end and not trip_ok[found]:
                                    found += 1
                        if found < end:
                            cur = found
                            board = i
                            board_code = r_code[k - 1, s]
            for j in range(n_reached):
                in_reached[reached[j]] = False
            # Footpaths from the stops reached by a trip (or access) in this round.
            for j in range(n_reached):
                u = reached[j]
                a_u = t_arr[k, u]
                row = t_trip[k, u]
                came = ra.trip_index[row] if row >= 0 else -1
                for e in range(ra.foot_offset[u], ra.foot_offset[u + 1]):
                    v = ra.foot_to[e]
                    a = a_u + ra.foot_s[e]
                    if a >= target or a >= ready[k, v] or not stop_ok[v]:
                        continue
                    w_arr[k, v] = a
                    w_from[k, v] = u
                    _settle_ready(
                        ready,
                        r_code,
                        r_trip,
                        r_stop,
                        r_base,
                        has_rules,
                        k,
                        v,
                        a,
                        2 * k + 1,
                        came,
                        u,
                        a_u,
                    )
                    marked[v] = True
                    if egress[v] != _NO_TIME and a + egress[v] < target:
                        target = a + egress[v]
            if target < target_before and (k > 0 or last):
                # This round improved the best arrival with at most k trips: a journey.
                best_s = -1
                walked = False
                for s in egress_stops:
                    if t_arr[k, s] != _NO_TIME and t_arr[k, s] + egress[s] == target:
                        best_s, walked = s, False
                        break
                    if w_arr[k, s] != _NO_TIME and w_arr[k, s] + egress[s] == target:
                        best_s, walked = s, True
                        break
                kind, sa, sb, sc = _trace(
                    ra, t_trip, t_board, t_alight, t_src, w_from, access, egress, k, best_s, walked
                )
                j_dep = _grow(j_dep, n_j + 1)
                j_rounds = _grow(j_rounds, n_j + 1)
                j_off = _grow(j_off, n_j + 2)
                m = len(kind)
                seg_kind = _grow(seg_kind, n_seg + m)
                seg_a = _grow(seg_a, n_seg + m)
                seg_b = _grow(seg_b, n_seg + m)
                seg_c = _grow(seg_c, n_seg + m)
                seg_kind[n_seg : n_seg + m] = kind
                seg_a[n_seg : n_seg + m] = sa
                seg_b[n_seg : n_seg + m] = sb
                seg_c[n_seg : n_seg + m] = sc
                n_seg += m
                j_dep[n_j] = tau
                j_rounds[n_j] = k
                j_off[n_j + 1] = n_seg
                n_j += 1
            if target < dest_best[k]:
                dest_best[k] = target
        for k in range(1, n_rounds + 1):  # rounds not run: no better than fewer trips
            if dest_best[k - 1] < dest_best[k]:
                dest_best[k] = dest_best[k - 1]
    return (
        j_dep[:n_j],
        j_rounds[:n_j],
        j_off[: n_j + 1],
        seg_kind[:n_seg],
        seg_a[:n_seg],
        seg_b[:n_seg],
        seg_c[:n_seg],
    )


def range_journeys(
    ra: RoutingArrays,
    access_stop: np.ndarray,
    access_s: np.ndarray,
    egress_stop: np.ndarray,
    egress_s: np.ndarray,
    start_s: int,
    window_s: int,
    n_rounds: int,
    trip_ok: np.ndarray | None = None,
    stop_ok: np.ndarray | None = None,
) -> RangeResult:
    """Run rRAPTOR over a departure window; validate the inputs first.

    The departures of the window are processed latest first (:func:`_departure_times`),
    labels kept from one to the next; each improvement of the best arrival with at most
    ``k`` trips is a journey, traced at once. ``window_s = 0`` is plain RAPTOR at
    ``start_s``. The journeys of rounds ``>= 1`` are those of every single query in the
    window (before the Pareto filtering on departure the caller does); a walk-only journey
    (round 0) is reported once, leaving at ``start_s``.

    Parameters
    ----------
    ra
        Routing arrays (:func:`forward_arrays` or :func:`reverse_arrays`); change times
        and transfer rules come with them.
    access_stop, access_s
        Stops where the journey can start and the walk to each (seconds, >= 0).
    egress_stop, egress_s
        Stops where it can end and the walk from each (seconds, >= 0).
    start_s, window_s
        The window of departures, timetable seconds (``window_s >= 0``).
    n_rounds
        Maximum number of trips (transfers + 1).
    trip_ok
        Per kernel trip row: may be boarded (default: all).
    stop_ok
        Per stop: may be boarded at, alighted at, walked to or from (default: all).
        Access and egress stops outside the mask are ignored.

    Returns
    -------
    RangeResult
    """
    n_stops = len(ra.stop_pattern_offset) - 1
    n_trips = len(ra.trip_time_offset)
    access_stop = np.asarray(access_stop, dtype=np.int64)
    egress_stop = np.asarray(egress_stop, dtype=np.int64)
    access_s = np.asarray(access_s, dtype=np.int64)
    egress_s = np.asarray(egress_s, dtype=np.int64)
    for name, stops, walk in (("access", access_stop, access_s), ("egress", egress_stop, egress_s)):
        if len(stops) != len(walk):
            raise ValueError(f"{name}: {len(stops)} stops but {len(walk)} walk times")
        if len(stops) and (stops.min() < 0 or stops.max() >= n_stops):
            raise ValueError(f"{name}: stop index out of range 0..{n_stops - 1}")
        if len(walk) and (walk.min() < 0 or walk.max() > 2**30):
            raise ValueError(f"{name}: walk times must be between 0 and 2**30 s")
    if abs(int(start_s)) > 2**30 or not 0 <= int(window_s) <= 2**30 - abs(int(start_s)):
        raise ValueError(f"start_s={start_s}, window_s={window_s} are out of range")
    if n_rounds < 0:
        raise ValueError("n_rounds must be >= 0")
    stop_mask = _mask(stop_ok, n_stops, "stop_ok")
    trip_mask = _mask(trip_ok, n_trips, "trip_ok")
    access = np.full(n_stops, _NO_TIME, np.int64)
    np.minimum.at(access, access_stop, access_s)
    egress = np.full(n_stops, _NO_TIME, np.int64)
    np.minimum.at(egress, egress_stop, egress_s)
    access[~stop_mask] = _NO_TIME
    egress[~stop_mask] = _NO_TIME
    use_trip_ok = trip_ok is not None
    departures = _departure_times(
        ra, access, int(start_s), int(start_s) + int(window_s), trip_mask, use_trip_ok, stop_mask
    )
    out = _range_raptor(
        ra, access, egress, departures, int(n_rounds), trip_mask, use_trip_ok, stop_mask
    )
    return RangeResult(*out, n_departures=len(departures))


def _mask(mask: np.ndarray | None, n: int, name: str) -> np.ndarray:
    if mask is None:
        return np.ones(n, np.bool_)
    out = np.asarray(mask)
    if out.dtype != np.bool_ or out.shape != (n,):
        raise ValueError(
            f"{name} must be a boolean array of {n} items, got {out.dtype} {out.shape}"
        )
    return np.ascontiguousarray(out)
