"""``frequencies.txt``: schedule-based (exact_times=1) and headway-based (exact_times=0) lines."""

from __future__ import annotations

import pytest

import gtfs_import
from gtfs_import import seconds_at
from tests.gtfs_import.feeds import line_feed

DAY = "20250115"
STOPS = [("A", "Alpha", 44.40, 1.40), ("B", "Bravo", 44.45, 1.45), ("C", "Charlie", 44.5, 1.5)]
# The template's own times only give the travel times: 10 min A→B, 5 min B→C.
TEMPLATE = [("A", "05:00:00"), ("B", "05:10:00"), ("C", "05:15:00")]


def shuttle(tmp_path, exact_times: str):  # type: ignore[no-untyped-def]
    frequencies = [
        {
            "trip_id": "shuttle",
            "start_time": "06:00:00",
            "end_time": "07:00:00",
            "headway_secs": 900,
            "exact_times": exact_times,
        },
        {
            "trip_id": "shuttle",
            "start_time": "17:00:00",
            "end_time": "17:40:00",
            "headway_secs": 1200,
            "exact_times": exact_times,
        },
    ]
    return line_feed(
        tmp_path,
        STOPS,
        [("shuttle", "S", "Navette", TEMPLATE), ("plain", "P", "Direct", TEMPLATE)],
        [DAY],
        extra={"frequencies": frequencies},
    )


def departures(tt: gtfs_import.Timetable, trip_id: str) -> list[int]:
    return sorted(
        int(tt.departure_s[tt.trip_time_offset[t]]) - seconds_at(tt, DAY, 0)
        for t in range(tt.n_trips)
        if tt.trip_ids[t] == trip_id and tt.trip_day[t] == 0
    )


@pytest.mark.parametrize("exact_times", ["1", "0", ""])
def test_frequency_trip_runs_every_headway(tmp_path, exact_times):
    tt = gtfs_import.build_timetable(shuttle(tmp_path, exact_times), DAY)
    gtfs_import.check_timetable(tt)
    h = 3600
    # start, start + headway, ... strictly before end_time; the template time is not a run.
    assert departures(tt, "shuttle") == [6 * h, 6 * h + 900, 6 * h + 1800, 6 * h + 2700] + [
        17 * h,
        17 * h + 1200,
    ]
    assert departures(tt, "plain") == [5 * h]
    router = gtfs_import.TransitRouter(tt)
    (journey,) = router.depart_after({"A": 0}, {"C": 0}, seconds_at(tt, DAY, 6 * h + 20 * 60))
    (leg,) = journey.legs
    assert leg.trip_id == "shuttle"
    assert leg.departure_s == seconds_at(tt, DAY, 6 * h + 30 * 60)
    assert leg.arrival_s - leg.departure_s == 15 * 60  # travel times of the template
    if exact_times == "1":
        assert not leg.frequency_based and leg.headway_s is None
    else:  # headway-based: the leg says "every 15 min", not a promised minute
        assert leg.frequency_based and leg.headway_s == 900


def test_frequency_runs_table(tmp_path):
    runs = gtfs_import.frequency_runs(shuttle(tmp_path, "0"))
    assert runs["run"].tolist() == list(range(6))
    assert set(runs["headway_s"]) == {900, 1200}
    plain = line_feed(tmp_path / "none", STOPS, [("plain", "P", "Direct", TEMPLATE)], [DAY])
    assert gtfs_import.frequency_runs(plain).empty


def test_a_later_window_boards_the_next_run(tmp_path):
    tt = gtfs_import.build_timetable(shuttle(tmp_path, "1"), DAY)
    router = gtfs_import.TransitRouter(tt)
    (journey,) = router.depart_after({"B": 0}, {"C": 0}, seconds_at(tt, DAY, 16 * 3600))
    # The 17:00 run reaches B at 17:10.
    assert journey.legs[0].departure_s == seconds_at(tt, DAY, 17 * 3600 + 600)
