"""RAPTOR against the plain connection scan on random small timetables (hypothesis)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gtfs_import
from tests.gtfs_import.checks import assert_valid_journey
from tests.gtfs_import.conftest import day_stop_times, footpaths_by_id, reference_trips
from tests.gtfs_import.reference import best_arrivals
from tests.gtfs_import.synthetic import DATE, hms, make_feed

N_STOPS = 6


@st.composite
def timetables(draw: st.DrawFn) -> tuple:
    # Stops on a line every 0.003° of latitude (~330 m): neighbours are within walking
    # distance, stops two apart are not.
    stops = [
        (f"s{i}", 44.4 + 0.003 * i * draw(st.sampled_from([1, 1, 3])), 1.44) for i in range(N_STOPS)
    ]
    parents = {"s4": "P", "s5": "P"} if draw(st.booleans()) else {}
    trips = []
    for _ in range(draw(st.integers(1, 8))):
        n = draw(st.integers(2, 4))
        seq = draw(st.permutations(range(N_STOPS)))[:n]
        t = (
            draw(st.integers(0, 40)) * 120
            + 6 * 3600
            + draw(st.sampled_from([0, 86_400 - 6 * 3600 - 600]))
        )
        events = []
        for k, s in enumerate(seq):
            if k:
                t += draw(st.integers(1, 15)) * 60
            dwell = draw(st.sampled_from([0, 0, 60]))
            pickup = 1 if k < n - 1 and draw(st.integers(0, 5)) == 0 else 0
            dropoff = 1 if k > 0 and draw(st.integers(0, 5)) == 0 else 0
            events.append((f"s{s}", hms(t), hms(t + dwell), pickup, dropoff))
            t += dwell
        trips.append(events)
    return stops, trips, parents


@st.composite
def queries(draw: st.DrawFn) -> tuple:
    origins = draw(
        st.dictionaries(
            st.sampled_from([f"s{i}" for i in range(N_STOPS)]),
            st.sampled_from([0, 0, 90, 400]),
            min_size=1,
            max_size=2,
        )
    )
    dests = draw(
        st.dictionaries(
            st.sampled_from([f"s{i}" for i in range(N_STOPS)]),
            st.sampled_from([0, 0, 60, 500]),
            min_size=1,
            max_size=2,
        )
    )
    time = draw(st.integers(5 * 3600, 25 * 3600))
    return origins, dests, time, draw(st.integers(0, 3))


def _per_round(journeys: list[gtfs_import.Journey], n: int, pick) -> list:
    return [pick([j for j in journeys if j.trips <= k]) for k in range(n)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timetables(), queries(), st.sampled_from([0, 120]))
def test_depart_after_equals_reference(timetable, query, min_change_s):
    stops, trips, parents = timetable
    origins, dests, depart, max_transfers = query
    feed = make_feed(stops, trips, parents)
    tt = gtfs_import.build_timetable(feed, DATE, min_change_s=min_change_s)
    journeys = gtfs_import.TransitRouter(tt).depart_after(origins, dests, depart, max_transfers)
    expected = best_arrivals(
        reference_trips(feed, DATE),
        footpaths_by_id(tt),
        origins,
        dests,
        depart,
        max_transfers + 1,
        min_change_s,
    )
    got = _per_round(
        journeys, max_transfers + 2, lambda js: min((j.arrival_s for j in js), default=float("inf"))
    )
    assert got == expected
    # A Pareto set: more trips only for a strictly earlier arrival.
    assert [j.trips for j in journeys] == sorted({j.trips for j in journeys})
    assert all(a.arrival_s > b.arrival_s for a, b in zip(journeys, journeys[1:], strict=False))
    st_ = day_stop_times(feed, DATE)
    for j in journeys:
        assert j.departure_s >= depart
        assert_valid_journey(j, tt, st_, origins, dests)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timetables(), queries(), st.sampled_from([0, 120]))
def test_arrive_by_equals_reference(timetable, query, min_change_s):
    """Each arrive-by journey is feasible, and no later departure reaches in time."""
    stops, trips, parents = timetable
    origins, dests, deadline, max_transfers = query
    feed = make_feed(stops, trips, parents)
    tt = gtfs_import.build_timetable(feed, DATE, min_change_s=min_change_s)
    journeys = gtfs_import.TransitRouter(tt).arrive_by(origins, dests, deadline, max_transfers)
    ref_trips, foot = reference_trips(feed, DATE), footpaths_by_id(tt)

    def arrival(depart: int, k: int) -> float:
        return best_arrivals(ref_trips, foot, origins, dests, depart, k, min_change_s)[k]

    st_ = day_stop_times(feed, DATE)
    for j in journeys:
        assert j.arrival_s <= deadline
        assert_valid_journey(j, tt, st_, origins, dests)
        assert arrival(j.departure_s, j.trips) <= deadline
        assert arrival(j.departure_s + 1, j.trips) > deadline
    # Nothing missed: with k trips, the latest departure found by bisection on the reference.
    for k in range(max_transfers + 2):
        lo, hi = -2 * 86_400, deadline + 1
        if arrival(lo, k) > deadline:
            assert all(j.trips > k for j in journeys)
            continue
        while hi - lo > 1:  # arrival(lo) <= deadline < arrival(hi)
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if arrival(mid, k) <= deadline else (lo, mid)
        assert max(j.departure_s for j in journeys if j.trips <= k) == lo


def test_trip_past_midnight_is_used_on_both_days():
    stops = [("a", 44.40, 1.44), ("b", 44.50, 1.44)]
    trips = [[("a", "23:50:00", "23:50:00", 0, 0), ("b", "24:20:00", "24:20:00", 0, 0)]]
    feed = make_feed(stops, trips)
    tt = gtfs_import.build_timetable(feed, DATE)
    (j,) = gtfs_import.TransitRouter(tt).depart_after({"a": 0}, {"b": 0}, 23 * 3600)
    assert j.arrival_s == 24 * 3600 + 20 * 60
    # The next day, the same run is found at 00:20 "yesterday's service + 24 h".
    next_day = gtfs_import.build_timetable(feed, "20250107")
    (j,) = gtfs_import.TransitRouter(next_day).depart_after({"a": 0}, {"b": 0}, -3600)
    assert (j.departure_s, j.arrival_s) == (-600, 20 * 60)
    assert gtfs_import.format_seconds(j.arrival_s) == "00:20:00"
    without = gtfs_import.build_timetable(feed, "20250107", include_previous_night=False)
    assert without.n_trips == 0


@pytest.mark.parametrize("dropoff,expected", [(0, 1), (1, 0)])
def test_no_drop_off_means_no_alighting(dropoff, expected):
    stops = [("a", 44.40, 1.44), ("b", 44.50, 1.44), ("c", 44.60, 1.44)]
    trips = [
        [
            ("a", "8:00:00", "8:00:00", 0, 0),
            ("b", "8:10:00", "8:10:00", 0, dropoff),
            ("c", "8:20:00", "8:20:00", 0, 0),
        ]
    ]
    router = gtfs_import.TransitRouter(gtfs_import.build_timetable(make_feed(stops, trips), DATE))
    assert len(router.depart_after({"a": 0}, {"b": 0}, 7 * 3600)) == expected


@st.composite
def stop_rules(draw: st.DrawFn) -> list[dict]:
    """Random ``transfers.txt`` rows without trips or routes (types 1, 2 and 3)."""
    rows = []
    names = [f"s{i}" for i in range(N_STOPS)]
    for _ in range(draw(st.integers(0, 5))):
        frm = draw(st.sampled_from(names))
        to = frm if draw(st.booleans()) else draw(st.sampled_from(names))
        kind = draw(st.sampled_from([1, 2, 2, 3]))
        minimum = draw(st.sampled_from([0, 30, 300, 900])) if kind == 2 else None
        rows.append(
            {
                "from_stop_id": frm,
                "to_stop_id": to,
                "transfer_type": kind,
                "min_transfer_time": minimum,
            }
        )
    return rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timetables(), queries(), stop_rules())
def test_transfer_rules_equal_reference(timetable, query, rules):
    """Change times and footpaths of ``transfers.txt`` against the plain reference."""
    stops, trips, parents = timetable
    origins, dests, depart, max_transfers = query
    feed = make_feed(stops, trips, parents)
    feed.transfers = pd.DataFrame(
        rules, columns=["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]
    ).astype({"transfer_type": "Int32", "min_transfer_time": "Int32"})
    tt = gtfs_import.build_timetable(feed, DATE)
    gtfs_import.check_timetable(tt)
    change = {str(s): int(c) for s, c in zip(tt.stop_ids, tt.stop_change_s, strict=True)}
    wanted = {str(s): tt.min_change_s for s in tt.stop_ids}
    for row in rules:  # same-stop rules set the change time, the last one wins
        if row["from_stop_id"] == row["to_stop_id"]:
            kind, minimum = row["transfer_type"], row["min_transfer_time"]
            if kind == 1:
                wanted[row["from_stop_id"]] = 0
            elif kind == 3:
                wanted[row["from_stop_id"]] = 2**30
            elif minimum is not None:
                wanted[row["from_stop_id"]] = minimum
    assert change == wanted
    journeys = gtfs_import.TransitRouter(tt).depart_after(origins, dests, depart, max_transfers)
    expected = best_arrivals(
        reference_trips(feed, DATE),
        footpaths_by_id(tt),
        origins,
        dests,
        depart,
        max_transfers + 1,
        tt.min_change_s,
        change,
    )
    got = _per_round(
        journeys, max_transfers + 2, lambda js: min((j.arrival_s for j in js), default=float("inf"))
    )
    assert got == expected
    st_ = day_stop_times(feed, DATE)
    for j in journeys:
        assert_valid_journey(j, tt, st_, origins, dests)
