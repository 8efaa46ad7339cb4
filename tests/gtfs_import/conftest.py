"""Fixtures of the GTFS tests: real feeds (skipped when absent) and reference trips."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import gtfs_kit
import pandas as pd
import pytest

import gtfs_import
from tests.conftest import shared_file
from tests.gtfs_import.reference import Event

K1 = "gtfs/ter-k1-toulouse-cahors-brive-2025-01.zip"
LOT = "gtfs/ter-lines-serving-lot-2025-01.zip"
FRANCE = "gtfs/sncf-ter-2025-01.zip"
TER_2019 = "gtfs/sncf-ter-2019-09.zip"

#: A Friday within the 2025 feeds.
DATE = "20250124"
CAHORS = "StopArea:OCE87613000"
TOULOUSE = "StopArea:OCE87611004"
BRIVE = "StopArea:OCE87594002"
FIGEAC = "StopArea:OCE87613091"


@pytest.fixture(scope="session")
def k1_feed() -> gtfs_kit.Feed:
    return gtfs_import.read_feed(shared_file(K1))


@pytest.fixture(scope="session")
def lot_feed() -> gtfs_kit.Feed:
    return gtfs_import.read_feed(shared_file(LOT))


@pytest.fixture(scope="session")
def feed_2019() -> gtfs_kit.Feed:
    return gtfs_import.read_feed(shared_file(TER_2019))


@pytest.fixture(scope="session")
def france_feed() -> gtfs_kit.Feed:
    return gtfs_import.read_feed(shared_file(FRANCE))


@pytest.fixture(scope="session")
def k1_tt(k1_feed: gtfs_kit.Feed) -> gtfs_import.Timetable:
    return gtfs_import.build_timetable(k1_feed, DATE)


@pytest.fixture(scope="session")
def lot_tt(lot_feed: gtfs_kit.Feed) -> gtfs_import.Timetable:
    return gtfs_import.build_timetable(lot_feed, DATE)


@pytest.fixture(scope="session")
def k1_router(k1_tt: gtfs_import.Timetable) -> gtfs_import.TransitRouter:
    return gtfs_import.TransitRouter(k1_tt)


@pytest.fixture(scope="session")
def lot_router(lot_tt: gtfs_import.Timetable) -> gtfs_import.TransitRouter:
    return gtfs_import.TransitRouter(lot_tt)


def seconds(hhmmss: str) -> int:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return h * 3600 + m * 60 + s


def day_stop_times(feed: gtfs_kit.Feed, date: str) -> pd.DataFrame:
    """Stop times of the trips running on ``date`` (with gtfs-kit's own calendar logic),
    plus the previous day's trips shifted by -24 h, with times in seconds and flags."""
    frames = []
    prev = (dt.datetime.strptime(date, "%Y%m%d") - dt.timedelta(days=1)).strftime("%Y%m%d")
    for day, shift in ((prev, -86_400), (date, 0)):
        trips = gtfs_kit.trips.get_trips(feed, day)
        st = feed.stop_times.loc[feed.stop_times["trip_id"].isin(trips["trip_id"])].copy()
        st["arr"] = st["arrival_time"].map(gtfs_kit.helpers.timestr_to_seconds) + shift
        st["dep"] = st["departure_time"].map(gtfs_kit.helpers.timestr_to_seconds) + shift
        st["run"] = st["trip_id"] + f"@{day}"
        if shift:  # only the previous day's trips still running after midnight
            st = st.loc[st.groupby("run")["arr"].transform("max") >= 0]
        frames.append(st)
    st = pd.concat(frames, ignore_index=True)
    st["pickup"] = st["pickup_type"].fillna(0).astype(int) != 1
    st["dropoff"] = st["drop_off_type"].fillna(0).astype(int) != 1
    return st.sort_values(["run", "stop_sequence"]).reset_index(drop=True)


def reference_trips(feed: gtfs_kit.Feed, date: str) -> list[list[Event]]:
    st = day_stop_times(feed, date)
    out = []
    for _, g in st.groupby("run", sort=False):
        out.append(
            [
                Event(s, int(a), int(d), bool(p), bool(o))
                for s, a, d, p, o in zip(
                    g["stop_id"], g["arr"], g["dep"], g["pickup"], g["dropoff"], strict=True
                )
            ]
        )
    return out


def footpaths_by_id(tt: gtfs_import.Timetable) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for u in range(tt.n_stops):
        for e in range(tt.foot_offset[u], tt.foot_offset[u + 1]):
            out.setdefault(str(tt.stop_ids[u]), []).append(
                (str(tt.stop_ids[tt.foot_to[e]]), int(tt.foot_s[e]))
            )
    return out


def station_stops(feed: gtfs_kit.Feed, station: str) -> list[str]:
    stops = feed.stops
    return stops.loc[
        (stops["parent_station"] == station) | (stops["stop_id"] == station), "stop_id"
    ].tolist()


def iter_legs_pairs(
    journey: gtfs_import.Journey,
) -> Iterator[tuple[gtfs_import.Leg, gtfs_import.Leg]]:
    yield from zip(journey.legs, journey.legs[1:], strict=False)
