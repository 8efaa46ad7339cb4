"""Journeys on the real TER feeds, checked against the timetable itself."""

from __future__ import annotations

import random

import gtfs_kit
import pandas as pd
import pytest

import gtfs_import
from tests.gtfs_import.checks import assert_valid_journey
from tests.gtfs_import.conftest import (
    BRIVE,
    CAHORS,
    DATE,
    FIGEAC,
    TOULOUSE,
    day_stop_times,
    footpaths_by_id,
    reference_trips,
    seconds,
    station_stops,
)
from tests.gtfs_import.reference import best_arrivals


def direct_rides(feed: gtfs_kit.Feed, date: str, origin: str, destination: str) -> pd.DataFrame:
    """Every direct ride origin station -> destination station on the date, with pandas."""
    st = day_stop_times(feed, date)
    o = st.loc[st["stop_id"].isin(station_stops(feed, origin)) & st["pickup"]]
    d = st.loc[st["stop_id"].isin(station_stops(feed, destination)) & st["dropoff"]]
    rides = o.merge(d, on="run", suffixes=("_o", "_d"))
    rides = rides.loc[rides["stop_sequence_o"] < rides["stop_sequence_d"]]
    return rides[["run", "trip_id_o", "dep_o", "arr_d"]].rename(
        columns={"trip_id_o": "trip_id", "dep_o": "dep", "arr_d": "arr"}
    )


@pytest.mark.parametrize("destination", [TOULOUSE, BRIVE])
@pytest.mark.parametrize("time", ["05:00:00", "07:30:00", "12:10:00", "17:45:00", "21:00:00"])
def test_depart_after_finds_the_first_direct_train(k1_feed, k1_tt, k1_router, destination, time):
    rides = direct_rides(k1_feed, DATE, CAHORS, destination)
    rides = rides.loc[rides["dep"] >= seconds(time)]
    journeys = k1_router.depart_after({CAHORS: 0}, {destination: 0}, seconds(time), max_transfers=0)
    if rides.empty:
        assert journeys == []
        return
    assert len(journeys) == 1
    (journey,) = journeys
    assert journey.arrival_s == rides["arr"].min()
    assert journey.transfers == 0
    (leg,) = journey.legs
    assert leg.trip_id in set(rides.loc[rides["arr"] == rides["arr"].min(), "trip_id"])
    st = day_stop_times(k1_feed, DATE)
    walks = {s: 0 for s in station_stops(k1_feed, CAHORS)}
    assert_valid_journey(
        journey, k1_tt, st, walks, {s: 0 for s in station_stops(k1_feed, destination)}
    )


@pytest.mark.parametrize(
    "origin,destination", [(CAHORS, TOULOUSE), (TOULOUSE, CAHORS), (CAHORS, BRIVE)]
)
@pytest.mark.parametrize("time", ["08:00:00", "13:00:00", "19:30:00"])
def test_arrive_by_finds_the_last_direct_train(k1_feed, k1_router, origin, destination, time):
    rides = direct_rides(k1_feed, DATE, origin, destination)
    rides = rides.loc[rides["arr"] <= seconds(time)]
    journeys = k1_router.arrive_by({origin: 0}, {destination: 0}, seconds(time), max_transfers=0)
    if rides.empty:
        assert journeys == []
        return
    (journey,) = journeys
    assert journey.departure_s == rides["dep"].max()
    assert journey.arrival_s <= seconds(time)


def test_walks_to_and_from_the_station_are_legs(k1_feed, k1_tt, k1_router):
    train = [s for s in station_stops(k1_feed, CAHORS) if "Train" in s][0]
    dest = [s for s in station_stops(k1_feed, TOULOUSE) if "Train" in s][0]
    depart = seconds("07:00:00")
    journeys = k1_router.depart_after({train: 600}, {dest: 300}, depart, max_transfers=0)
    rides = direct_rides(k1_feed, DATE, CAHORS, TOULOUSE)
    rides = rides.loc[rides["dep"] >= depart + 600]
    (journey,) = journeys
    assert journey.arrival_s == rides["arr"].min() + 300
    first, ride, last = journey.legs
    assert (first.mode, first.from_stop_id, first.to_stop_id, first.duration_s) == (
        "walk",
        None,
        train,
        600,
    )
    assert first.arrival_s == ride.departure_s  # leaves home as late as possible
    assert (last.mode, last.from_stop_id, last.to_stop_id, last.duration_s) == (
        "walk",
        dest,
        None,
        300,
    )
    assert journey.walking_s == 900


def test_transfer_cahors_figeac_matches_reference(lot_feed, lot_tt, lot_router):
    trips = reference_trips(lot_feed, DATE)
    foot = footpaths_by_id(lot_tt)
    origin = {s: 0 for s in station_stops(lot_feed, CAHORS)}
    dest = {s: 0 for s in station_stops(lot_feed, FIGEAC)}
    st = day_stop_times(lot_feed, DATE)
    for time in ("06:00:00", "10:00:00", "14:00:00"):
        journeys = lot_router.depart_after({CAHORS: 0}, {FIGEAC: 0}, seconds(time), max_transfers=3)
        expected = best_arrivals(trips, foot, origin, dest, seconds(time), 4, lot_tt.min_change_s)
        assert journeys, "Cahors -> Figeac is reachable by changing trains"
        assert journeys[0].transfers >= 1  # no direct train between these lines
        for j in journeys:
            assert j.arrival_s == expected[j.trips]
            assert_valid_journey(j, lot_tt, st, origin, dest)
        assert journeys[-1].arrival_s == min(expected)


def test_random_queries_on_the_lot_lines_match_reference(lot_feed, lot_tt, lot_router):
    """RAPTOR equals the plain connection scan on a sample of real queries."""
    trips = reference_trips(lot_feed, DATE)
    foot = footpaths_by_id(lot_tt)
    st = day_stop_times(lot_feed, DATE)
    served = sorted(set(st["stop_id"]))
    rng = random.Random(46)
    for _ in range(25):
        o, d = rng.sample(served, 2)
        access, egress = {o: rng.choice([0, 300])}, {d: rng.choice([0, 240])}
        depart = rng.randrange(seconds("05:00:00"), seconds("20:00:00"), 60)
        max_transfers = rng.randrange(0, 4)
        journeys = lot_router.depart_after(access, egress, depart, max_transfers=max_transfers)
        expected = best_arrivals(
            trips, foot, access, egress, depart, max_transfers + 1, lot_tt.min_change_s
        )
        got = [
            min((j.arrival_s for j in journeys if j.trips <= k), default=float("inf"))
            for k in range(max_transfers + 2)
        ]
        assert got == expected, (o, d, depart)
        for j in journeys:
            assert_valid_journey(j, lot_tt, st, access, egress)


def test_coach_replacement_day_changes_between_coach_and_train(k1_feed):
    """On 2025-03-04 coaches replace some K1 trains: stops of one station are joined by a
    footpath, and journeys mixing coach and train still match the reference."""
    date = "20250304"
    tt = gtfs_import.build_timetable(k1_feed, date)
    router = gtfs_import.TransitRouter(tt)
    ids = tt.stop_ids.tolist()
    train, car = (
        ids.index("StopPoint:OCETrain TER-87613000"),
        ids.index("StopPoint:OCECar TER-87613000"),
    )
    span = slice(tt.foot_offset[train], tt.foot_offset[train + 1])
    walks = dict(zip(tt.foot_to[span].tolist(), tt.foot_s[span].tolist(), strict=True))
    assert walks[car] == tt.min_change_s  # same coordinates: the change time
    trips = reference_trips(k1_feed, date)
    foot = footpaths_by_id(tt)
    st = day_stop_times(k1_feed, date)
    assert st["stop_id"].str.contains("Car TER").any()
    rng = random.Random(3)
    served = sorted(set(st["stop_id"]))
    for _ in range(15):
        o, d = rng.sample(served, 2)
        depart = rng.randrange(seconds("05:00:00"), seconds("20:00:00"), 60)
        journeys = router.depart_after({o: 0}, {d: 0}, depart, max_transfers=2)
        expected = best_arrivals(trips, foot, {o: 0}, {d: 0}, depart, 3, tt.min_change_s)
        got = [
            min((j.arrival_s for j in journeys if j.trips <= k), default=float("inf"))
            for k in range(4)
        ]
        assert got == expected, (o, d, depart)
        for j in journeys:
            assert_valid_journey(j, tt, st, {o: 0}, {d: 0})


def test_query_errors(k1_router):
    with pytest.raises(gtfs_import.QueryError, match="unknown stop id 'nowhere'"):
        k1_router.depart_after({"nowhere": 0}, {TOULOUSE: 0}, 0)
    with pytest.raises(gtfs_import.QueryError, match=">= 0"):
        k1_router.depart_after({CAHORS: -5}, {TOULOUSE: 0}, 0)
    with pytest.raises(gtfs_import.QueryError, match="max_transfers"):
        k1_router.arrive_by({CAHORS: 0}, {TOULOUSE: 0}, 0, max_transfers=-1)
    with pytest.raises(gtfs_import.QueryError, match="no stop"):
        k1_router.arrive_by({}, {TOULOUSE: 0}, 0)


def test_unreachable_gives_no_journey(k1_router):
    assert k1_router.depart_after({CAHORS: 0}, {TOULOUSE: 0}, seconds("30:00:00")) == []


def test_walk_only_journey(k1_router, k1_feed):
    train, car = sorted(station_stops(k1_feed, CAHORS))[1:]
    (journey,) = k1_router.depart_after({train: 0}, {train: 60}, 1000)
    assert (journey.departure_s, journey.arrival_s, journey.transfers) == (1000, 1060, 0)
    (journey,) = k1_router.arrive_by({train: 30}, {train: 0}, 5000)
    assert (journey.departure_s, journey.arrival_s) == (4970, 5000)


@pytest.mark.slow
def test_2019_feed_cahors_brive(feed_2019):
    """The 2019 feed (sub-folder archive, calendar.txt + exceptions, coach line
    Montauban-Cahors-Brive) routes like its own stop times say."""
    date = "20190920"
    tt = gtfs_import.build_timetable(feed_2019, date)
    router = gtfs_import.TransitRouter(tt)
    rides = direct_rides(feed_2019, date, CAHORS, BRIVE)
    assert len(rides) > 3
    st = day_stop_times(feed_2019, date)
    for time in ("06:00:00", "11:00:00", "16:00:00"):
        later = rides.loc[rides["dep"] >= seconds(time)]
        journeys = router.depart_after({CAHORS: 0}, {BRIVE: 0}, seconds(time), max_transfers=0)
        assert [j.arrival_s for j in journeys] == ([later["arr"].min()] if len(later) else [])
        for j in journeys:
            assert_valid_journey(
                j,
                tt,
                st,
                {s: 0 for s in station_stops(feed_2019, CAHORS)},
                {s: 0 for s in station_stops(feed_2019, BRIVE)},
            )


@pytest.mark.slow
def test_whole_france_matches_reference(france_feed):
    tt = gtfs_import.build_timetable(france_feed, DATE)
    router = gtfs_import.TransitRouter(tt)
    trips = reference_trips(france_feed, DATE)
    foot = footpaths_by_id(tt)
    st = day_stop_times(france_feed, DATE)
    origin = {s: 0 for s in station_stops(france_feed, CAHORS)}
    for dest_station, time in (
        ("StopArea:OCE87751008", "06:00:00"),
        ("StopArea:OCE87613091", "09:00:00"),
    ):
        dest = {s: 0 for s in station_stops(france_feed, dest_station)}
        journeys = router.depart_after(
            {CAHORS: 0}, {dest_station: 0}, seconds(time), max_transfers=3
        )
        expected = best_arrivals(trips, foot, origin, dest, seconds(time), 4, tt.min_change_s)
        got = [
            min((j.arrival_s for j in journeys if j.trips <= k), default=float("inf"))
            for k in range(5)
        ]
        assert got == expected
        for j in journeys:
            assert_valid_journey(j, tt, st, origin, dest)


def test_from_a_point_to_a_point(lot_feed, lot_tt, lot_router):
    """Door to door: Cahors town centre to the centre of Figeac, by arrive-by."""
    access = lot_router.walks_from_point(44.4475, 1.4410, max_walk_m=1500)
    egress = lot_router.walks_from_point(44.6086, 2.0317, max_walk_m=1500)
    assert (
        "StopPoint:OCETrain TER-87613000" in access
        and access["StopPoint:OCETrain TER-87613000"] > 300
    )
    assert lot_router.walks_from_point(44.0, 0.0, max_walk_m=500) == {}
    deadline = seconds("20:00:00")
    journeys = lot_router.arrive_by(access, egress, deadline, max_transfers=3)
    assert journeys
    trips, foot = reference_trips(lot_feed, DATE), footpaths_by_id(lot_tt)
    st = day_stop_times(lot_feed, DATE)
    for j in journeys:
        assert j.legs[0].from_stop_id is None and j.legs[-1].to_stop_id is None
        assert_valid_journey(j, lot_tt, st, access, egress)
        k = j.trips
        assert (
            best_arrivals(trips, foot, access, egress, j.departure_s, k, lot_tt.min_change_s)[k]
            <= deadline
        )
        assert (
            best_arrivals(trips, foot, access, egress, j.departure_s + 1, k, lot_tt.min_change_s)[k]
            > deadline
        )
    with pytest.raises(gtfs_import.QueryError, match="WGS84"):
        lot_router.walks_from_point(144.0, 1.0)
