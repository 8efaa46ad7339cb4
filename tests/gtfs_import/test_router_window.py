"""Range queries (rRAPTOR) and masks against brute force on random small timetables."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gtfs_import
from tests.gtfs_import.checks import assert_valid_journey
from tests.gtfs_import.conftest import day_stop_times, footpaths_by_id, reference_trips
from tests.gtfs_import.reference import Event, best_arrivals
from tests.gtfs_import.synthetic import DATE, make_feed
from tests.gtfs_import.test_router_random import N_STOPS, queries, timetables

#: (departure, arrival, transfers, trips): the last one tells a walk from a direct trip.
Key = tuple[int, int, int, int]


def _key(j: gtfs_import.Journey) -> Key:
    return (j.departure_s, j.arrival_s, j.transfers, j.trips)


def _pareto(keys: set[Key]) -> set[Key]:
    return {
        k
        for k in keys
        if not any(o[:3] != k[:3] and o[0] >= k[0] and o[1] <= k[1] and o[2] <= k[2] for o in keys)
    }


def _instants(
    tt: gtfs_import.Timetable, walks: dict[str, int], start: int, end: int, backward: bool
) -> list[int]:
    """Every instant where the answer of a single query may change, plus both ends.

    A departure (an arrival, backward) of any trip at any stop, shifted by every walk
    from the point to a stop and by that walk plus any footpath: a superset of the
    times at which a first trip is caught exactly.
    """
    ids = tt.stop_ids.tolist()
    offsets = set()
    for stop, w in walks.items():
        offsets.add(w)
        u = ids.index(stop)
        for e in range(tt.foot_offset[u], tt.foot_offset[u + 1]):
            offsets.add(w + int(tt.foot_s[e]))
    events = tt.arrival_s if backward else tt.departure_s
    times = {start, end}
    for t in set(events.tolist()):
        for o in offsets:
            x = t + o if backward else t - o
            if start <= x <= end:
                times.add(x)
    return sorted(times)


def brute_force_window(
    router: gtfs_import.TransitRouter,
    origins: dict[str, int],
    dests: dict[str, int],
    time_s: int,
    window_s: int,
    max_transfers: int,
    backward: bool,
) -> set[Key]:
    """Single queries at every instant of the window, then Pareto filtering; the walk
    on foot only is kept once, at the window's near end (``time_s``)."""
    tt = router.tt
    if backward:
        lo, hi = time_s - window_s, time_s
        instants = _instants(tt, dests, lo, hi, backward=True)
        keys = {
            _key(j) for t in instants for j in router.arrive_by(origins, dests, t, max_transfers)
        }
        return {k for k in _pareto(keys) if k[3] > 0 or _is_walk_at(k, time_s, backward)}
    instants = _instants(tt, origins, time_s, time_s + window_s, backward=False)
    keys = {
        _key(j) for t in instants for j in router.depart_after(origins, dests, t, max_transfers)
    }
    return {k for k in _pareto(keys) if k[3] > 0 or _is_walk_at(k, time_s, backward)}


def _is_walk_at(k: Key, at: int, backward: bool) -> bool:
    return (k[1] if backward else k[0]) == at


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timetables(), queries(), st.sampled_from([0, 120]), st.integers(0, 4 * 3600), st.booleans())
def test_window_equals_brute_force(timetable, query, min_change_s, window_s, backward):
    stops, trips, parents = timetable
    origins, dests, time_s, max_transfers = query
    feed = make_feed(stops, trips, parents)
    tt = gtfs_import.build_timetable(feed, DATE, min_change_s=min_change_s)
    router = gtfs_import.TransitRouter(tt)
    if backward:
        got = router.arrive_window(origins, dests, time_s, window_s, max_transfers)
    else:
        got = router.depart_window(origins, dests, time_s, window_s, max_transfers)
    expected = brute_force_window(router, origins, dests, time_s, window_s, max_transfers, backward)
    assert {_key(j) for j in got} == expected
    assert len(got) == len(expected), "one journey per (departure, arrival, transfers)"
    assert [(j.departure_s, j.transfers) for j in got] == sorted(
        (j.departure_s, j.transfers) for j in got
    )
    st_ = day_stop_times(feed, DATE)
    for j in got:
        assert_valid_journey(j, tt, st_, origins, dests)
        if backward:
            assert j.arrival_s <= time_s
        else:
            assert j.departure_s >= time_s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timetables(), queries(), st.booleans())
def test_zero_window_is_the_single_query(timetable, query, backward):
    stops, trips, parents = timetable
    origins, dests, time_s, max_transfers = query
    router = gtfs_import.TransitRouter(
        gtfs_import.build_timetable(make_feed(stops, trips, parents), DATE)
    )
    if backward:
        single = router.arrive_by(origins, dests, time_s, max_transfers)
        window = router.arrive_window(origins, dests, time_s, 0, max_transfers)
    else:
        single = router.depart_after(origins, dests, time_s, max_transfers)
        window = router.depart_window(origins, dests, time_s, 0, max_transfers)
    assert sorted(map(_key, single)) == sorted(map(_key, window))


@st.composite
def masks(draw: st.DrawFn, n_trips: int) -> tuple[list[bool], list[bool]]:
    trip_ok = [draw(st.integers(0, 3)) > 0 for _ in range(n_trips)]
    stop_ok = [draw(st.integers(0, 4)) > 0 for _ in range(N_STOPS)]
    return trip_ok, stop_ok


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timetables(), queries(), st.data())
def test_masks_equal_reference_without_the_masked(timetable, query, data):
    """A masked trip is never boarded, a masked stop never used; what is found instead is
    the best journey of the timetable without them (plain reference)."""
    stops, trips, parents = timetable
    origins, dests, depart, max_transfers = query
    feed = make_feed(stops, trips, parents)
    tt = gtfs_import.build_timetable(feed, DATE)
    router = gtfs_import.TransitRouter(tt)
    trip_flags, stop_flags = data.draw(masks(len(trips)))
    bad_trips = {f"t{t}" for t, ok in enumerate(trip_flags) if not ok}
    bad_stops = {f"s{i}" for i, ok in enumerate(stop_flags) if not ok}
    trip_ok = np.array([str(t) not in bad_trips for t in tt.trip_ids])
    stop_ok = np.array([str(s) not in bad_stops for s in tt.stop_ids])
    journeys = router.depart_after(
        origins, dests, depart, max_transfers, trip_ok=trip_ok, stop_ok=stop_ok
    )
    ref_trips = [
        [
            Event(
                e.stop,
                e.arrival_s,
                e.departure_s,
                e.pickup and e.stop not in bad_stops,
                e.dropoff and e.stop not in bad_stops,
            )
            for e in trip
        ]
        for trip, tid in zip(reference_trips(feed, DATE), _run_trip_ids(feed), strict=True)
        if tid not in bad_trips
    ]
    foot = {
        u: [(v, d) for v, d in paths if v not in bad_stops]
        for u, paths in footpaths_by_id(tt).items()
        if u not in bad_stops
    }
    access = {s: w for s, w in origins.items() if s not in bad_stops}
    egress = {s: w for s, w in dests.items() if s not in bad_stops}
    expected = best_arrivals(
        ref_trips, foot, access, egress, depart, max_transfers + 1, tt.min_change_s
    )
    got = [
        min((j.arrival_s for j in journeys if j.trips <= k), default=float("inf"))
        for k in range(max_transfers + 2)
    ]
    assert got == expected
    st_ = day_stop_times(feed, DATE)
    window = router.depart_window(
        origins, dests, depart, 3600, max_transfers, trip_ok=trip_ok, stop_ok=stop_ok
    )
    for j in [*journeys, *window]:
        assert_valid_journey(j, tt, st_, origins, dests)
        for leg in j.legs:
            assert leg.trip_id not in bad_trips
            assert leg.from_stop_id not in bad_stops and leg.to_stop_id not in bad_stops


def _run_trip_ids(feed) -> list[str]:
    """GTFS trip id of each run of :func:`reference_trips`, in the same order."""
    stop_times = day_stop_times(feed, DATE)
    return [str(g["trip_id"].iloc[0]) for _, g in stop_times.groupby("run", sort=False)]


def test_mask_errors():
    feed = make_feed(
        [("a", 44.40, 1.44), ("b", 44.50, 1.44)],
        [[("a", "8:00:00", "8:00:00", 0, 0), ("b", "8:10:00", "8:10:00", 0, 0)]],
    )
    router = gtfs_import.TransitRouter(gtfs_import.build_timetable(feed, DATE))
    try:
        router.depart_after({"a": 0}, {"b": 0}, 0, trip_ok=np.ones(5, bool))
    except gtfs_import.QueryError as exc:
        assert "trip_ok" in str(exc)
    else:
        raise AssertionError("a mask of the wrong size must be refused")
    for bad in (np.ones(2, int), np.ones(3, bool)):
        try:
            router.depart_window({"a": 0}, {"b": 0}, 0, 60, stop_ok=bad)
        except gtfs_import.QueryError as exc:
            assert "stop_ok" in str(exc)
        else:
            raise AssertionError("a bad stop mask must be refused")
    try:
        router.depart_window({"a": 0}, {"b": 0}, 0, -1)
    except gtfs_import.QueryError as exc:
        assert "window_s" in str(exc)
    else:
        raise AssertionError("a negative window must be refused")
    # The only trip masked: nothing; its stops masked: nothing either.
    assert router.depart_after({"a": 0}, {"b": 0}, 0, trip_ok=np.zeros(1, bool)) == []
    assert router.depart_window({"a": 0}, {"b": 0}, 0, 9 * 3600, stop_ok=np.zeros(2, bool)) == []


def test_warm_up_runs_every_query_kind():
    assert gtfs_import.warm_up() > 0
