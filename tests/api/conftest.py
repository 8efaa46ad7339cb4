"""Fixtures of the API tests: the real K1 TER feed, its timetable read with pandas, drive times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from app.services.journeys import haversine_m
from tests.conftest import shared_file
from tests.gtfs_import.conftest import day_stop_times, station_stops

K1 = "gtfs/ter-k1-toulouse-cahors-brive-2025-01.zip"
TER_2019 = "gtfs/sncf-ter-2019-09.zip"
CAHORS_AREA_COMMUNES = "communes/lot46_cahors_area_communes.csv"
TZ = ZoneInfo("Europe/Paris")
DATE = dt.date(2025, 1, 24)  # a Friday within the 2025 feeds
CAHORS = "StopArea:OCE87613000"
TOULOUSE = "StopArea:OCE87611004"
BRIVE = "StopArea:OCE87594002"
LALBENQUE_FONTANES = "StopArea:OCE87613323"
#: Lalbenque village (commune centre), 4 km from its station.
LALBENQUE_VILLAGE = (44.3333, 1.5652)
#: A fake road: straight line × 1.3 at 50 km/h (the real engine is tested in test_real_territory).
ROAD_FACTOR, ROAD_SPEED_M_S = 1.3, 50 / 3.6


def fake_drive_times(
    source: tuple[float, float], targets: Sequence[tuple[float, float]]
) -> list[float]:
    """Drive seconds along a fake road (deterministic, so that tests can recompute it)."""
    return [haversine_m(source, t) * ROAD_FACTOR / ROAD_SPEED_M_S for t in targets]


def at(hhmm: str, day: dt.date = DATE) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=TZ)


@pytest.fixture(scope="session")
def k1_path() -> Path:
    return shared_file(K1)


@pytest.fixture(scope="session")
def k1_feed(k1_path: Path):  # type: ignore[no-untyped-def]
    import gtfs_import

    return gtfs_import.read_feed(k1_path)


@pytest.fixture(scope="session")
def k1_service(k1_path: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from app.services.transit import transit_service_from_files

    return transit_service_from_files([k1_path], TZ, tmp_path_factory.mktemp("tt-cache"))


@pytest.fixture(scope="session")
def k1_stop_times(k1_feed) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Stop times of the trips running on DATE and the day after (the service searches both),
    times in seconds from DATE's midnight (gtfs-kit's own calendar logic)."""
    today = day_stop_times(k1_feed, DATE.strftime("%Y%m%d"))
    tomorrow = day_stop_times(k1_feed, (DATE + dt.timedelta(days=1)).strftime("%Y%m%d"))
    tomorrow = tomorrow.assign(arr=tomorrow["arr"] + 86_400, dep=tomorrow["dep"] + 86_400)
    both = pd.concat([today, tomorrow], ignore_index=True)
    return both.drop_duplicates(subset=["run", "stop_sequence"]).reset_index(drop=True)


def station_position(feed, station: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    row = feed.stops.loc[feed.stops["stop_id"] == station].iloc[0]
    return float(row["stop_lat"]), float(row["stop_lon"])


def direct_rides(feed, stop_times: pd.DataFrame, origin: str, destination: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Every direct ride between two stations on DATE: trip_id, dep, arr (seconds), headsign."""
    st = stop_times
    o = st.loc[st["stop_id"].isin(station_stops(feed, origin)) & st["pickup"]]
    d = st.loc[st["stop_id"].isin(station_stops(feed, destination)) & st["dropoff"]]
    rides = o.merge(d, on="run", suffixes=("_o", "_d"))
    rides = rides.loc[rides["stop_sequence_o"] < rides["stop_sequence_d"]]
    rides = rides.rename(columns={"trip_id_o": "trip_id", "dep_o": "dep", "arr_d": "arr"})[
        ["trip_id", "dep", "arr"]
    ]
    heads = feed.trips.set_index("trip_id")["trip_headsign"]
    rides["headsign"] = rides["trip_id"].map(heads)
    return rides.reset_index(drop=True)


def seconds_of(iso: str) -> int:
    """Seconds since midnight of DATE (local) of an ISO datetime."""
    when = dt.datetime.fromisoformat(iso).astimezone(TZ)
    return int((when - dt.datetime.combine(DATE, dt.time(), tzinfo=TZ)).total_seconds())
