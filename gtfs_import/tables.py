"""Plain tables out of a feed: stops, routes, service days, parsed stop times.

Every function takes a :class:`gtfs_kit.Feed` and returns a new DataFrame; none mutates
its input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import gtfs_kit
import numpy as np
import pandas as pd

from gtfs_import.schema import ROUTES_TABLE_DTYPES, STOPS_TABLE_DTYPES

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _column(df: pd.DataFrame, name: str, dtype: str) -> pd.Series:
    if name in df.columns:
        return df[name].astype(dtype)
    return pd.Series(pd.NA, index=df.index, dtype=dtype)


def stops_table(feed: gtfs_kit.Feed) -> pd.DataFrame:
    """Stops of a feed as a plain table, ready to be stored.

    Returns
    -------
    pandas.DataFrame
        Columns and dtypes of :data:`gtfs_import.schema.STOPS_TABLE_DTYPES`: ``stop_id``,
        ``stop_code``, ``name``, ``lat``, ``lon``, ``location_type`` (0 stop/platform,
        1 station...), ``parent_station``, ``wheelchair_boarding`` (0 unknown, 1 yes, 2 no),
        ``zone_id``. Coordinates are copied as published: see :func:`validate_feed` for
        stops whose latitude and longitude are swapped.
    """
    stops = feed.stops
    out = pd.DataFrame(
        {
            "stop_id": _column(stops, "stop_id", "string"),
            "stop_code": _column(stops, "stop_code", "string"),
            "name": _column(stops, "stop_name", "string"),
            "lat": _column(stops, "stop_lat", "Float64").astype("float64"),
            "lon": _column(stops, "stop_lon", "Float64").astype("float64"),
            "location_type": _column(stops, "location_type", "Int32").fillna(0),
            "parent_station": _column(stops, "parent_station", "string"),
            "wheelchair_boarding": _column(stops, "wheelchair_boarding", "Int32"),
            "zone_id": _column(stops, "zone_id", "string"),
        }
    )
    return out.astype(STOPS_TABLE_DTYPES).reset_index(drop=True)


def routes_table(feed: gtfs_kit.Feed) -> pd.DataFrame:
    """Routes of a feed with their agency name, as a plain table ready to be stored.

    Returns
    -------
    pandas.DataFrame
        Columns and dtypes of :data:`gtfs_import.schema.ROUTES_TABLE_DTYPES`: ``route_id``,
        ``agency_id``, ``agency_name``, ``short_name``, ``long_name``, ``route_type``
        (GTFS code: 2 rail, 3 bus...), ``color`` and ``text_color`` as ``#RRGGBB`` or NA.
    """
    routes = feed.routes
    agency_id = _column(routes, "agency_id", "string")
    agency = feed.agency
    if agency is not None and "agency_name" in agency.columns:
        agency_ids = _column(agency, "agency_id", "string")
        names = dict(zip(agency_ids, agency["agency_name"].astype("string"), strict=True))
        if len(agency) == 1:  # agency_id is optional when a feed has one agency
            agency_id = agency_id.fillna(agency_ids.iloc[0])
            names.setdefault(agency_ids.iloc[0], agency["agency_name"].iloc[0])
        agency_name = agency_id.map(names).astype("string")
    else:
        agency_name = pd.Series(pd.NA, index=routes.index, dtype="string")

    def colour(name: str) -> pd.Series:
        raw = _column(routes, name, "string").str.strip().str.lstrip("#")
        ok = raw.str.fullmatch(r"[0-9A-Fa-f]{6}").fillna(False).astype(bool)
        return ("#" + raw.str.upper()).where(ok, pd.NA).astype("string")

    out = pd.DataFrame(
        {
            "route_id": _column(routes, "route_id", "string"),
            "agency_id": agency_id,
            "agency_name": agency_name,
            "short_name": _column(routes, "route_short_name", "string"),
            "long_name": _column(routes, "route_long_name", "string"),
            "route_type": _column(routes, "route_type", "Int32"),
            "color": colour("route_color"),
            "text_color": colour("route_text_color"),
        }
    )
    return out.astype(ROUTES_TABLE_DTYPES).reset_index(drop=True)


def parse_times(values: pd.Series) -> np.ndarray:
    """Parse GTFS ``H:MM:SS`` times (hours may exceed 23) into seconds.

    Returns
    -------
    numpy.ndarray
        int64 seconds past the service day's midnight; ``-1`` for a blank value and ``-2``
        for an unparsable one (so that callers can tell them apart).
    """
    s = values.astype("string").str.strip()
    parts = s.str.extract(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    ok = parts[0].notna().to_numpy()
    out = np.full(len(s), -2, dtype=np.int64)
    if ok.any():
        h = parts.loc[ok, 0].astype("int64").to_numpy()
        m = parts.loc[ok, 1].astype("int64").to_numpy()
        sec = parts.loc[ok, 2].astype("int64").to_numpy()
        out[ok] = h * 3600 + m * 60 + sec
    out[s.isna().to_numpy()] = -1
    return out


def _as_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.datetime.strptime(str(value), "%Y%m%d").date()


def expand_calendar(feed: gtfs_kit.Feed, dates: Iterable[str | dt.date]) -> pd.DataFrame:
    """Which services run on which of the given dates.

    Applies ``calendar.txt`` (weekday flags within ``start_date``..``end_date``) then the
    exceptions of ``calendar_dates.txt`` (1 adds the date, 2 removes it); either table may
    be absent (SNCF feeds only have ``calendar_dates.txt``).

    Parameters
    ----------
    feed
        The feed.
    dates
        Dates as ``YYYYMMDD`` strings or :class:`datetime.date`.

    Returns
    -------
    pandas.DataFrame
        Columns ``service_id`` (string) and ``date`` (``YYYYMMDD`` string), one row per
        service running on a date, sorted.
    """
    wanted = sorted({_as_date(d) for d in dates})
    frames = []
    cal = feed.calendar
    if cal is not None and len(cal) and wanted:
        start = pd.to_datetime(cal["start_date"].astype("string"), format="%Y%m%d", errors="coerce")
        end = pd.to_datetime(cal["end_date"].astype("string"), format="%Y%m%d", errors="coerce")
        for day in wanted:
            ts = pd.Timestamp(day)
            flag = cal[_WEEKDAYS[day.weekday()]].fillna(0).astype("int64").to_numpy() == 1
            within = ((start <= ts) & (end >= ts)).fillna(False).to_numpy(dtype=bool)
            ids = cal.loc[flag & within, "service_id"].astype("string")
            frames.append(pd.DataFrame({"service_id": ids, "date": day.strftime("%Y%m%d")}))
    base = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({"service_id": pd.Series([], dtype="string"), "date": []})
    )
    base["date"] = base["date"].astype("string")
    cd = feed.calendar_dates
    if cd is not None and len(cd) and wanted:
        keys = {d.strftime("%Y%m%d") for d in wanted}
        cd = cd.loc[
            cd["date"].astype("string").isin(keys), ["service_id", "date", "exception_type"]
        ]
        cd = cd.astype({"service_id": "string", "date": "string"})
        added = cd.loc[cd["exception_type"] == 1, ["service_id", "date"]]
        removed = cd.loc[cd["exception_type"] == 2, ["service_id", "date"]]
        base = pd.concat([base, added], ignore_index=True)
        if len(removed):
            key = base["service_id"] + "|" + base["date"]
            gone = set(removed["service_id"] + "|" + removed["date"])
            base = base.loc[~key.isin(gone)]
    base = base.drop_duplicates().sort_values(["date", "service_id"]).reset_index(drop=True)
    return base.astype({"service_id": "string", "date": "string"})


def feed_dates(feed: gtfs_kit.Feed) -> list[str]:
    """All dates (``YYYYMMDD``) on which at least one service of the feed runs."""
    return list(gtfs_kit.calendar.get_dates(feed))
