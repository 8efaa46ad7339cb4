"""Service-day arithmetic ("noon minus 12 h") across clock changes and in other time zones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

import gtfs_import
from gtfs_import import datetime_at, seconds_at, seconds_of
from tests.gtfs_import.conftest import CAHORS, TOULOUSE, day_stop_times, seconds
from tests.gtfs_import.feeds import line_feed

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC

STOPS = [("A", "Alpha", 44.40, 1.40), ("B", "Bravo", 44.50, 1.50), ("C", "Charlie", 44.60, 1.60)]


def utc(when: dt.datetime) -> dt.datetime:
    """In UTC: aware datetimes in a repeated hour (fold) never compare equal across zones."""
    return when.astimezone(UTC)


def gtfs_instant(day: str, hhmmss: str, tz: ZoneInfo) -> dt.datetime:
    """The GTFS reference definition, straight from zoneinfo: noon of ``day`` − 12 h + t."""
    noon = dt.datetime.combine(dt.datetime.strptime(day, "%Y%m%d").date(), dt.time(12), tz)
    return (noon.astimezone(UTC) - dt.timedelta(hours=12)) + dt.timedelta(seconds=seconds(hhmmss))


def night_feed(tmp_path, day_before: str, day: str, early: str = "05:00:00"):  # type: ignore[no-untyped-def]
    """A night train A→B running through 02:00–03:00, and a morning bus B→C (30 min)."""
    end = seconds(early) + 1800
    trips = [
        ("night", "N", "Nuit", [("A", "24:30:00"), ("B", "27:30:00")]),
        (
            "early",
            "E",
            "Matin",
            [("B", early), ("C", f"{end // 3600:02d}:{end % 3600 // 60:02d}:00")],
        ),
    ]
    return line_feed(tmp_path, STOPS, trips, [day_before, day])


@pytest.mark.parametrize(
    "day_before,day,hours_between",
    [("20250329", "20250330", 23), ("20251025", "20251026", 25)],
    ids=["march", "october"],
)
def test_service_days_across_a_clock_change(tmp_path, day_before, day, hours_between):
    feed = night_feed(tmp_path, day_before, day)
    tt = gtfs_import.build_timetable(feed, [day_before, day])
    assert tt.timezone == "Europe/Paris"
    # Consecutive service days are 23 h (March) or 25 h (October) apart, not 86 400 s.
    assert seconds_at(tt, day, 0) - seconds_at(tt, day_before, 0) == hours_between * 3600
    router = gtfs_import.TransitRouter(tt)
    # The night train of the day before runs across the change: its times are elapsed time
    # since that day's origin, so it lands at the instants zoneinfo gives.
    (direct,) = router.depart_after({"A": 0}, {"B": 0}, seconds_at(tt, day_before, 20 * 3600))
    (leg,) = direct.legs
    assert leg.trip_id == "night"
    assert utc(datetime_at(tt, leg.departure_s)) == gtfs_instant(day_before, "24:30:00", PARIS)
    assert utc(datetime_at(tt, leg.arrival_s)) == gtfs_instant(day_before, "27:30:00", PARIS)
    assert leg.arrival_s - leg.departure_s == 3 * 3600  # three real hours, whatever the clock
    # A journey mixing the two service days: night train (day before), early bus (day).
    journeys = router.depart_after({"A": 0}, {"C": 0}, seconds_at(tt, day_before, 20 * 3600))
    mixed = journeys[-1]
    night, early = mixed.legs
    assert (night.trip_id, early.trip_id) == ("night", "early")
    assert utc(datetime_at(tt, early.departure_s)) == gtfs_instant(day, "05:00:00", PARIS)
    assert utc(datetime_at(tt, early.arrival_s)) == gtfs_instant(day, "05:30:00", PARIS)
    wait = gtfs_instant(day, "05:00:00", PARIS) - gtfs_instant(day_before, "27:30:00", PARIS)
    assert early.departure_s - night.arrival_s == wait.total_seconds()
    for leg in mixed.legs:
        back = seconds_of(tt, datetime_at(tt, leg.departure_s))
        assert back == leg.departure_s


def test_march_change_can_or_cannot_connect(tmp_path):
    # 27:30 of 29 March (04:30 CEST) is after 03:40 of 30 March (03:40 CEST): no connection.
    feed = night_feed(tmp_path, "20250329", "20250330", early="03:40:00")
    tt = gtfs_import.build_timetable(feed, ["20250329", "20250330"])
    router = gtfs_import.TransitRouter(tt)
    assert not router.depart_after({"A": 0}, {"C": 0}, seconds_at(tt, "20250329", 20 * 3600))
    # On 26 October 27:30 of Saturday is 02:30 CET, before 03:40 CET on Sunday: it connects.
    feed = night_feed(tmp_path / "oct", "20251025", "20251026", early="03:40:00")
    tt = gtfs_import.build_timetable(feed, ["20251025", "20251026"])
    (journey,) = gtfs_import.TransitRouter(tt).depart_after(
        {"A": 0}, {"C": 0}, seconds_at(tt, "20251025", 20 * 3600)
    )
    assert utc(datetime_at(tt, journey.arrival_s)) == dt.datetime(2025, 10, 26, 3, 10, tzinfo=UTC)


def test_arrive_by_across_the_october_change(tmp_path):
    feed = night_feed(tmp_path, "20251025", "20251026")
    tt = gtfs_import.build_timetable(feed, ["20251025", "20251026"])
    deadline = seconds_of(tt, dt.datetime(2025, 10, 26, 6, 0, tzinfo=PARIS))
    journeys = gtfs_import.TransitRouter(tt).arrive_by({"A": 0}, {"C": 0}, deadline)
    assert journeys
    first = journeys[0].legs[0]
    assert utc(datetime_at(tt, first.departure_s)) == gtfs_instant("20251025", "24:30:00", PARIS)


def test_a_feed_in_new_york_is_read_in_its_zone(tmp_path):
    # 9 March 2025: clocks go forward in the USA (not in Europe).
    trips = [
        ("late", "L", "Late", [("A", "23:30:00"), ("B", "26:30:00")]),
        ("morning", "M", "Morning", [("B", "08:00:00"), ("C", "08:30:00")]),
    ]
    feed = line_feed(tmp_path, STOPS, trips, ["20250308", "20250309"], timezone="America/New_York")
    assert gtfs_import.feed_timezone(feed) == "America/New_York"
    tt = gtfs_import.build_timetable(feed, ["20250308", "20250309"])
    assert tt.timezone == "America/New_York"
    router = gtfs_import.TransitRouter(tt)
    journeys = router.depart_after({"A": 0}, {"C": 0}, seconds_at(tt, "20250308", 20 * 3600))
    late, morning = journeys[-1].legs
    assert utc(datetime_at(tt, late.arrival_s)) == gtfs_instant("20250308", "26:30:00", NEW_YORK)
    assert utc(datetime_at(tt, morning.departure_s)) == gtfs_instant(
        "20250309", "08:00:00", NEW_YORK
    )
    assert datetime_at(tt, morning.departure_s).replace(tzinfo=None) == dt.datetime(
        2025, 3, 9, 8, 0
    )
    # On a Paris clock the same timetable keeps the same instants.
    paris = gtfs_import.build_timetable(feed, ["20250308", "20250309"], timezone="Europe/Paris")
    assert paris.feed_timezones.tolist() == ["America/New_York"]
    j = gtfs_import.TransitRouter(paris).depart_after(
        {"A": 0}, {"C": 0}, seconds_of(paris, dt.datetime(2025, 3, 8, 20, tzinfo=NEW_YORK))
    )[-1]
    assert utc(datetime_at(paris, j.arrival_s)) == gtfs_instant("20250309", "08:30:00", NEW_YORK)


def test_feeds_in_two_zones_share_one_clock(tmp_path):
    paris = line_feed(
        tmp_path / "p",
        STOPS,
        [("p", "P", "P", [("A", "08:00:00"), ("B", "09:00:00")])],
        ["20250110"],
    )
    york = line_feed(
        tmp_path / "n",
        STOPS,
        [("n", "N", "N", [("A", "08:00:00"), ("B", "09:00:00")])],
        ["20250110"],
        timezone="America/New_York",
    )
    tt = gtfs_import.build_timetable([paris, york], "20250110", feed_names=["paris", "ny"])
    starts = {
        str(tt.trip_ids[t]): int(tt.departure_s[tt.trip_time_offset[t]]) for t in range(tt.n_trips)
    }
    assert datetime_at(tt, starts["paris:p"]) == dt.datetime(2025, 1, 10, 8, tzinfo=PARIS)
    assert datetime_at(tt, starts["ny:n"]) == dt.datetime(2025, 1, 10, 8, tzinfo=NEW_YORK)
    assert starts["ny:n"] - starts["paris:p"] == 6 * 3600


def test_unknown_time_zone_is_a_feed_error(tmp_path):
    feed = line_feed(
        tmp_path,
        STOPS,
        [("t", "R", "H", [("A", "08:00:00"), ("B", "09:00:00")])],
        ["20250110"],
        timezone="Europe/Nowhere",
    )
    with pytest.raises(gtfs_import.FeedError, match="Europe/Nowhere"):
        gtfs_import.build_timetable(feed, "20250110")


def test_real_ter_feed_on_the_march_change(lot_feed):
    saturday, sunday = "20250329", "20250330"
    tt = gtfs_import.build_timetable(lot_feed, [saturday, sunday])
    gtfs_import.check_timetable(tt)
    # Every run of Sunday sits 23 h after Saturday's origin, plus its published time.
    st = day_stop_times(lot_feed, sunday)
    st = st.loc[st["run"].str.endswith(f"@{sunday}")]
    trip_len = np.diff(tt.pattern_stop_offset)[tt.trip_pattern]
    event_day = np.repeat(tt.trip_day, trip_len)
    sunday_departures = tt.departure_s[event_day == 1]
    assert len(sunday_departures) == len(st) > 0
    assert sorted(sunday_departures.tolist()) == sorted((st["dep"] + 23 * 3600).tolist())
    # A known journey: Cahors to Toulouse on Sunday morning, times as published.
    router = gtfs_import.TransitRouter(tt)
    journeys = router.depart_after({CAHORS: 0}, {TOULOUSE: 0}, seconds_at(tt, sunday, 6 * 3600))
    assert journeys
    leg = next(leg for leg in journeys[0].legs if leg.mode == "transit")
    published = st.loc[st["trip_id"] == leg.trip_id]
    departs = datetime_at(tt, leg.departure_s)
    assert departs.date() == dt.date(2025, 3, 30) and departs.utcoffset() == dt.timedelta(hours=2)
    clock = departs.hour * 3600 + departs.minute * 60 + departs.second
    assert clock in set(published["dep"].tolist())
    assert leg.arrival_s - leg.departure_s == int(
        published.loc[published["stop_id"] == leg.to_stop_id, "arr"].iloc[0]
        - published.loc[published["stop_id"] == leg.from_stop_id, "dep"].iloc[0]
    )


@pytest.mark.slow
def test_real_ter_feed_on_the_october_change(feed_2019):
    saturday, sunday = "20191026", "20191027"
    tt = gtfs_import.build_timetable(feed_2019, [saturday, sunday])
    st = day_stop_times(feed_2019, sunday)
    st = st.loc[st["run"].str.endswith(f"@{sunday}")]
    trip_len = np.diff(tt.pattern_stop_offset)[tt.trip_pattern]
    event_day = np.repeat(tt.trip_day, trip_len)
    # 25 h between the two origins: Sunday's runs are an hour later than 24 h would say.
    assert sorted(tt.departure_s[event_day == 1].tolist()) == sorted(
        (st["dep"] + 25 * 3600).tolist()
    )
    router = gtfs_import.TransitRouter(tt)
    journeys = router.depart_after({CAHORS: 0}, {TOULOUSE: 0}, seconds_at(tt, sunday, 6 * 3600))
    assert journeys
    leg = next(leg for leg in journeys[0].legs if leg.mode == "transit")
    departs = datetime_at(tt, leg.departure_s)
    assert departs.utcoffset() == dt.timedelta(hours=1)  # CET again on that Sunday
    clock = departs.hour * 3600 + departs.minute * 60 + departs.second
    assert clock in set(st.loc[st["trip_id"] == leg.trip_id, "dep"].tolist())
