"""Compact timetable arrays for routing, built from one or several feeds for given dates.

Layout (all ``int32`` unless said; ``S`` stops, ``R`` routes, ``T`` trips, ``P`` patterns)
-----------------------------------------------------------------------------------------
* A *trip* is one run of a GTFS trip on one service day (a trip of ``frequencies.txt`` has
  one run per departure). Its times are seconds elapsed since "noon minus 12 h" of
  ``base_date`` in ``timezone`` (see :mod:`gtfs_import.schema`): the run of service day
  ``D`` of a feed in zone ``Z`` is shifted by the real time between the two origins
  (:func:`gtfs_import.service_days.day_origin_s`), 23 h or 25 h across a clock change, and
  a feed in another zone is placed on the same clock.
* Each feed keeps its own id namespace: with several feeds, ids are ``"<feed name>:<id>"``
  (``feed_names``); stations shared between feeds are joined by footpaths
  (:mod:`gtfs_import.stations`), never merged by id.
* A *pattern* is a maximal group of trips with the same stop sequence, the same
  pickup/drop-off permissions and no overtaking (each trip is no earlier than the previous
  one at every stop): RAPTOR's "routes". Trips of pattern ``p`` are the contiguous indices
  ``pattern_trip_offset[p] .. pattern_trip_offset[p+1]``, sorted by departure; its stops are
  ``pattern_stops[pattern_stop_offset[p] .. pattern_stop_offset[p+1]]``.
* Times of trip ``t`` at its ``i``-th stop are ``arrival_s[trip_time_offset[t] + i]`` and
  ``departure_s[...]``.
* ``stop_patterns[stop_pattern_offset[s] ..]`` lists the patterns serving stop ``s`` and
  ``stop_pattern_pos`` the position of ``s`` in each (a loop gives two entries).
* Footpaths (walking transfers, never a stop to itself) are a CSR graph
  ``foot_offset``/``foot_to``/``foot_s``. Changing at stop ``s`` takes ``stop_change_s[s]``
  (``min_change_s`` unless ``transfers.txt`` says otherwise); a computed footpath takes at
  least ``min_change_s``, one given by ``transfers.txt`` takes what it says.
* Transfer rules restricted to trips or routes (:mod:`gtfs_import.transfers`) are a CSR
  table by boarding stop: ``xfer_offset`` and ``xfer_from_stop``, ``xfer_from_trip``,
  ``xfer_to_trip``, ``xfer_from_route``, ``xfer_to_route`` (``-1`` for any), ``xfer_min_s``
  (``-1`` forbidden), most specific first. Trips are matched by ``trip_gtfs``, the index of
  the GTFS trip (shared by its runs and days).
* ``trip_headway_s`` is ``0`` for a run at an exact time, else the headway of a
  frequency-based trip (``exact_times=0``): its times are indicative.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import gtfs_kit
import numpy as np
import pandas as pd

from gtfs_import.errors import FeedError, TimetableError
from gtfs_import.footpaths import apply_stop_rules, footpath_csr, nearby_pairs, walk_seconds
from gtfs_import.frequencies import expand_frequency_trips, frequency_runs
from gtfs_import.schema import (
    INDEX_DTYPE,
    MAX_TRANSFER_WALK_M,
    MIN_CHANGE_S,
    NO_INDEX,
    TIME_DTYPE,
    WALK_DETOUR_FACTOR,
    WALK_SPEED_KMH,
)
from gtfs_import.service_days import (
    DEFAULT_TIMEZONE,
    as_date,
    day_origin_s,
    feed_timezone,
    zone,
)
from gtfs_import.shapes import FeedShapes, place_stops, read_shapes
from gtfs_import.stations import StationRef, join_footpaths, joined_places, linked_places
from gtfs_import.tables import expand_calendar, parse_times
from gtfs_import.transfers import specificity
from gtfs_import.transfers import transfer_rules as _transfer_rules

EARTH_RADIUS_M = 6_371_000.0

#: Default greatest distance between two places of different feeds joined by name.
JOIN_STATIONS_M = 300.0


class Timetable(NamedTuple):
    """Routing arrays of one or several feeds over some dates (see the module docstring)."""

    base_date: str
    min_change_s: int
    timezone: str
    dates: np.ndarray
    feed_names: np.ndarray
    feed_timezones: np.ndarray
    stop_ids: np.ndarray
    stop_feed: np.ndarray
    stop_change_s: np.ndarray
    stop_names: np.ndarray
    stop_lat: np.ndarray
    stop_lon: np.ndarray
    stop_parent: np.ndarray
    route_ids: np.ndarray
    route_short_names: np.ndarray
    route_long_names: np.ndarray
    route_types: np.ndarray
    trip_ids: np.ndarray
    trip_headsigns: np.ndarray
    trip_route: np.ndarray
    trip_gtfs: np.ndarray
    trip_headway_s: np.ndarray
    trip_day: np.ndarray
    trip_pattern: np.ndarray
    trip_time_offset: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    pattern_stop_offset: np.ndarray
    pattern_stops: np.ndarray
    pattern_pickup: np.ndarray
    pattern_dropoff: np.ndarray
    pattern_trip_offset: np.ndarray
    pattern_route: np.ndarray
    stop_pattern_offset: np.ndarray
    stop_patterns: np.ndarray
    stop_pattern_pos: np.ndarray
    foot_offset: np.ndarray
    foot_to: np.ndarray
    foot_s: np.ndarray
    xfer_offset: np.ndarray
    xfer_from_stop: np.ndarray
    xfer_from_trip: np.ndarray
    xfer_to_trip: np.ndarray
    xfer_from_route: np.ndarray
    xfer_to_route: np.ndarray
    xfer_min_s: np.ndarray
    stop_wheelchair: np.ndarray
    trip_wheelchair: np.ndarray
    trip_shape: np.ndarray
    shape_offset: np.ndarray
    shape_lat: np.ndarray
    shape_lon: np.ndarray
    event_shape_lat: np.ndarray
    event_shape_lon: np.ndarray
    event_shape_next: np.ndarray

    @staticmethod
    def scalar_fields() -> tuple[str, ...]:
        """Fields that are Python scalars rather than arrays."""
        return ("base_date", "min_change_s", "timezone")

    @property
    def origin_utc_s(self) -> int:
        """UTC POSIX seconds of timetable second 0: "noon minus 12 h" of ``base_date``."""
        return day_origin_s(as_date(self.base_date), self.timezone)

    @property
    def n_stops(self) -> int:
        """Number of stops."""
        return len(self.stop_ids)

    @property
    def n_trips(self) -> int:
        """Number of trips (runs of a GTFS trip on a day)."""
        return len(self.trip_ids)

    @property
    def n_patterns(self) -> int:
        """Number of patterns."""
        return len(self.pattern_route)


def seconds_at(tt: Timetable, date: str | dt.date, time_s: int) -> int:
    """Timetable seconds of GTFS time ``time_s`` of service day ``date`` in ``tt.timezone``.

    GTFS arithmetic: "noon minus 12 h" of ``date`` plus ``time_s``, so ``seconds_at(tt, d,
    8 * 3600)`` is 08:00 on the clock even on the days clocks change.

    >>> seconds_at(tt, "20250124", 8 * 3600)  # doctest: +SKIP
    """
    return day_origin_s(as_date(date), tt.timezone) - tt.origin_utc_s + int(time_s)


def datetime_at(tt: Timetable, time_s: int) -> dt.datetime:
    """Aware datetime (in ``tt.timezone``) of timetable seconds."""
    utc = dt.datetime.fromtimestamp(tt.origin_utc_s + int(time_s), tz=dt.UTC)
    return utc.astimezone(zone(tt.timezone))


def seconds_of(tt: Timetable, when: dt.datetime) -> int:
    """Timetable seconds of an aware datetime (any zone); naive datetimes are refused."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("seconds_of needs an aware datetime")
    return math.floor(when.timestamp()) - tt.origin_utc_s


def format_seconds(time_s: int) -> str:
    """``HH:MM:SS`` of timetable seconds, with hours past 24 as in GTFS (``-`` if negative).

    This is the GTFS time of the base date (elapsed since its "noon minus 12 h"); for the
    wall clock on a clock-change day, use :func:`datetime_at`.
    """
    sign = "-" if time_s < 0 else ""
    t = abs(int(time_s))
    return f"{sign}{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def _dates(dates: str | dt.date | Iterable[str | dt.date]) -> list[dt.date]:
    items: Iterable[str | dt.date]
    items = [dates] if isinstance(dates, str | dt.date) else dates
    out = []
    for d in items:
        out.append(d if isinstance(d, dt.date) else dt.datetime.strptime(str(d), "%Y%m%d").date())
    if not out:
        raise ValueError("build_timetable needs at least one date")
    return sorted(set(out))


def _str(series: pd.Series) -> np.ndarray:
    out: np.ndarray = series.astype("string").fillna("").to_numpy(dtype=str)
    return out


class _Templates(NamedTuple):
    """GTFS trips of all feeds (one per run of a frequency-based trip), before days."""

    stop: np.ndarray  # per stop time: global stop index
    pickup: np.ndarray
    dropoff: np.ndarray
    arr: np.ndarray
    dep: np.ndarray
    offset: np.ndarray  # per template: start in the arrays above (len n + 1)
    route: np.ndarray
    trip_id: np.ndarray  # namespaced GTFS trip id
    headsign: np.ndarray
    service_key: np.ndarray  # "feed|service_id"
    feed: np.ndarray  # feed index
    gtfs: np.ndarray  # index of the GTFS trip (shared by the runs of a frequency trip)
    headway: np.ndarray  # headway of a frequency-based run, else 0
    wheelchair: np.ndarray  # wheelchair_accessible (0 unknown, 1 yes, 2 no)
    shape: np.ndarray  # index into the shapes of all feeds, -1 for none
    sdist: np.ndarray  # per stop time: shape_dist_traveled (NaN if not given)


def _interpolate_blanks(trip: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Fill blank (``-1``) intermediate times linearly by position along each trip."""
    if not (times == -1).any():
        return times
    s = pd.Series(np.where(times < 0, np.nan, times.astype(float)))
    filled = s.groupby(trip).transform(lambda x: x.interpolate(limit_area="inside"))
    out: np.ndarray = filled.fillna(-1).round().to_numpy(dtype=np.int64)
    return out


def _feed_templates(
    feed: gtfs_kit.Feed,
    k: int,
    prefix: str,
    stop_index: dict[str, int],
    route_index: dict[str, int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stop times and trips of one feed mapped to global indices; bad trips dropped."""
    st = feed.stop_times
    trips = feed.trips
    cols = {
        "trip_id": st["trip_id"].astype("string"),
        "stop_sequence": st["stop_sequence"].astype("Int64"),
        "stop": (prefix + st["stop_id"].astype("string")).map(stop_index),
        "arr": parse_times(st["arrival_time"]),
        "dep": parse_times(st["departure_time"]),
        "pickup": (st["pickup_type"].fillna(0).to_numpy(dtype=np.int64) != 1)
        if "pickup_type" in st.columns
        else np.ones(len(st), dtype=bool),
        "dropoff": (st["drop_off_type"].fillna(0).to_numpy(dtype=np.int64) != 1)
        if "drop_off_type" in st.columns
        else np.ones(len(st), dtype=bool),
        "sdist": st["shape_dist_traveled"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if "shape_dist_traveled" in st.columns
        else np.full(len(st), np.nan),
    }
    df = pd.DataFrame(cols).sort_values(["trip_id", "stop_sequence"], kind="stable")
    df["arr"] = np.where(df["arr"] == -1, df["dep"], df["arr"])
    df["dep"] = np.where(df["dep"] == -1, df["arr"], df["dep"])
    tid = df["trip_id"].to_numpy(dtype=object)
    df["arr"] = _interpolate_blanks(tid, df["arr"].to_numpy())
    df["dep"] = _interpolate_blanks(tid, df["dep"].to_numpy())
    # Trips with an unknown stop, a bad time or times going backwards are left out:
    # validate_feed reports each of them as an error.
    arr = df["arr"].to_numpy()
    dep = df["dep"].to_numpy()
    bad_row = df["stop"].isna().to_numpy() | (arr < 0) | (dep < 0) | (dep < arr)
    same = np.r_[False, tid[1:] == tid[:-1]]
    back = np.zeros(len(df), dtype=bool)
    back[1:] = same[1:] & (arr[1:] < dep[:-1])
    bad_trips = set(tid[bad_row | back])
    counts = df.groupby("trip_id", sort=False).size()
    bad_trips |= set(counts.index[counts < 2])
    df = df.loc[~df["trip_id"].isin(bad_trips)]
    tr = pd.DataFrame(
        {
            "trip_id": trips["trip_id"].astype("string"),
            "route": (prefix + trips["route_id"].astype("string")).map(route_index),
            "service_key": f"{k}|" + trips["service_id"].astype("string"),
            "headsign": (
                trips["trip_headsign"].astype("string")
                if "trip_headsign" in trips.columns
                else pd.Series(pd.NA, index=trips.index, dtype="string")
            ),
            "wheelchair": _int_column(trips, "wheelchair_accessible"),
            "shape": (
                trips["shape_id"].astype("string")
                if "shape_id" in trips.columns
                else pd.Series(pd.NA, index=trips.index, dtype="string")
            ),
        }
    )
    if "trip_short_name" in trips.columns:
        tr["headsign"] = tr["headsign"].fillna(trips["trip_short_name"].astype("string"))
    tr = tr.dropna(subset=["route"]).drop_duplicates("trip_id")
    tr = tr.loc[tr["trip_id"].isin(set(df["trip_id"]))]
    df = df.loc[df["trip_id"].isin(set(tr["trip_id"]))]
    return expand_frequency_trips(df, tr, frequency_runs(feed))


def _int_column(df: pd.DataFrame, column: str) -> np.ndarray:
    """An optional integer column, 0 where blank or absent (GTFS "no information")."""
    if column not in df.columns:
        return np.zeros(len(df), dtype=np.int64)
    out: np.ndarray = df[column].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    return out


def _feed_names(feeds: Sequence[gtfs_kit.Feed], names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [str(k) for k in range(len(feeds))]
    out = [str(n) for n in names]
    if len(out) != len(feeds):
        raise ValueError(f"{len(out)} feed_names for {len(feeds)} feeds")
    if len(set(out)) != len(out) or any(not n or ":" in n for n in out):
        raise ValueError("feed_names must be distinct, non-empty and without ':'")
    return out


def _collect(
    feeds: Sequence[gtfs_kit.Feed], prefixes: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame, _Templates, dict[str, int], list[FeedShapes]]:
    """Stops, routes and trip templates of all feeds, ids namespaced by ``prefixes``.

    Also returns the index of each namespaced GTFS trip id (for ``transfers.txt``) and
    the shapes of each feed (templates index them all, one feed after the other).
    """
    stop_frames, route_frames = [], []
    for k, (feed, prefix) in enumerate(zip(feeds, prefixes, strict=True)):
        s = feed.stops
        parent = _str(s["parent_station"]) if "parent_station" in s.columns else np.full(len(s), "")
        stop_frames.append(
            pd.DataFrame(
                {
                    "stop_id": np.char.add(prefix, _str(s["stop_id"])),
                    "name": _str(s["stop_name"]) if "stop_name" in s.columns else "",
                    "lat": s["stop_lat"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                    "lon": s["stop_lon"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                    "parent": np.where(parent != "", np.char.add(prefix, parent), ""),
                    "wheelchair": _int_column(s, "wheelchair_boarding"),
                    "feed": k,
                }
            )
        )
        r = feed.routes
        route_frames.append(
            pd.DataFrame(
                {
                    "route_id": np.char.add(prefix, _str(r["route_id"])),
                    "short": _str(r["route_short_name"]) if "route_short_name" in r.columns else "",
                    "long": _str(r["route_long_name"]) if "route_long_name" in r.columns else "",
                    "type": r["route_type"].fillna(-1).to_numpy(dtype=np.int64),
                }
            )
        )
    # Ids are namespaced per feed, so a duplicate can only come from one feed repeating a row.
    stops = (
        pd.concat(stop_frames, ignore_index=True).drop_duplicates("stop_id").reset_index(drop=True)
    )
    routes = (
        pd.concat(route_frames, ignore_index=True)
        .drop_duplicates("route_id")
        .reset_index(drop=True)
    )
    stop_index = {s: i for i, s in enumerate(stops["stop_id"])}
    route_index = {r: i for i, r in enumerate(routes["route_id"])}
    st_frames, trip_frames = [], []
    shapes = [read_shapes(feed) for feed in feeds]
    shape_base = np.r_[0, np.cumsum([len(sh.offset) - 1 for sh in shapes])]
    for k, (feed, prefix) in enumerate(zip(feeds, prefixes, strict=True)):
        st, tr = _feed_templates(feed, k, prefix, stop_index, route_index)
        st_frames.append(st.assign(trip_key=f"{k}|" + st["run_key"]))
        local = tr["shape"].map(shapes[k].ids).astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
        trip_frames.append(
            tr.assign(
                trip_key=f"{k}|" + tr["run_key"],
                name=prefix + tr["trip_id"],
                feed=np.int64(k),
                shape_index=np.where(local >= 0, local + shape_base[k], -1),
            )
        )
    st = pd.concat(st_frames, ignore_index=True)
    tr = pd.concat(trip_frames, ignore_index=True).reset_index(drop=True)
    order = {key: i for i, key in enumerate(tr["trip_key"])}
    st = st.assign(template=st["trip_key"].map(order).to_numpy(dtype=np.int64))
    st = st.sort_values(["template", "stop_sequence"], kind="stable")
    counts = np.bincount(st["template"].to_numpy(), minlength=len(tr))
    gtfs, gtfs_names = pd.factorize(tr["name"].astype("string"))
    templates = _Templates(
        stop=st["stop"].to_numpy(dtype=np.int64),
        pickup=st["pickup"].to_numpy(dtype=bool),
        dropoff=st["dropoff"].to_numpy(dtype=bool),
        arr=st["arr"].to_numpy(dtype=np.int64),
        dep=st["dep"].to_numpy(dtype=np.int64),
        offset=np.r_[0, np.cumsum(counts)].astype(np.int64),
        route=tr["route"].to_numpy(dtype=np.int64),
        trip_id=_str(tr["name"]),
        headsign=_str(tr["headsign"]),
        service_key=_str(tr["service_key"]),
        feed=tr["feed"].to_numpy(dtype=np.int64),
        gtfs=np.asarray(gtfs, dtype=np.int64),
        headway=tr["headway_s"].to_numpy(dtype=np.int64),
        wheelchair=tr["wheelchair"].to_numpy(dtype=np.int64),
        shape=tr["shape_index"].to_numpy(dtype=np.int64),
        sdist=st["sdist"].to_numpy(dtype=float),
    )
    trip_index = {str(name): i for i, name in enumerate(gtfs_names)}
    return stops, routes, templates, trip_index, shapes


def _fifo_chains(times: np.ndarray) -> list[list[int]]:
    """Split rows (trips sorted by first departure) into chains without overtaking."""
    chains: list[list[int]] = []
    last: list[np.ndarray] = []
    for i in range(len(times)):
        for c, prev in enumerate(last):
            if np.all(times[i] >= prev):
                chains[c].append(i)
                last[c] = times[i]
                break
        else:
            chains.append([i])
            last.append(times[i])
    return chains


class _Transfers(NamedTuple):
    """Footpaths, change times and restricted transfer rules of a timetable (internal)."""

    foot_offset: np.ndarray
    foot_to: np.ndarray
    foot_s: np.ndarray
    stop_change_s: np.ndarray
    xfer: pd.DataFrame  # restricted rules sorted by boarding stop, most specific first
    xfer_offset: np.ndarray


def _transfers(
    feeds: Sequence[gtfs_kit.Feed],
    prefixes: Sequence[str],
    names: Sequence[str],
    stops: pd.DataFrame,
    routes: pd.DataFrame,
    tpl: _Templates,
    trip_index: dict[str, int],
    stop_parent: np.ndarray,
    served: np.ndarray,
    *,
    min_change_s: int,
    max_walk_m: float,
    walk_speed_kmh: float,
    detour_factor: float,
    join_stations_m: float,
    station_links: Iterable[tuple[StationRef, StationRef]],
) -> _Transfers:
    n_stops = len(stops)
    lat = stops["lat"].to_numpy(dtype=float)
    lon = stops["lon"].to_numpy(dtype=float)
    stop_feed = stops["feed"].to_numpy(dtype=np.int64)
    stop_index = {s: i for i, s in enumerate(stops["stop_id"])}
    route_index = {r: i for i, r in enumerate(routes["route_id"])}

    def timed(pairs: pd.DataFrame) -> pd.DataFrame:
        u = pairs["u"].to_numpy(np.int64)
        v = pairs["v"].to_numpy(np.int64)
        d = walk_seconds(lat, lon, u, v, min_change_s, walk_speed_kmh, detour_factor)
        return pd.DataFrame({"u": u, "v": v, "d": d})

    foot = [timed(nearby_pairs(lat, lon, stop_parent, served, max_walk_m))]
    place = np.where(stop_parent >= 0, stop_parent, np.arange(n_stops))
    joined = joined_places(
        stop_feed, stops["name"].to_numpy(dtype=str), lat, lon, place, join_stations_m
    )
    linked = linked_places(station_links, names, stop_index, prefixes)
    joined += [(int(place[a]), int(place[b])) for a, b in linked]
    if joined:
        foot.append(timed(join_footpaths(joined, place, served)))
    members: dict[int, list[int]] = {}
    for child, parent in enumerate(stop_parent.tolist()):
        if parent >= 0:
            members.setdefault(parent, []).append(child)
    trip_ends = {
        int(g): (int(tpl.stop[tpl.offset[i]]), int(tpl.stop[tpl.offset[i + 1] - 1]))
        for i, g in enumerate(tpl.gtfs.tolist())
    }
    rules = pd.concat(
        [
            _transfer_rules(feed, prefix, stop_index, members, route_index, trip_index, trip_ends)
            for feed, prefix in zip(feeds, prefixes, strict=True)
        ],
        ignore_index=True,
    )
    general = (rules[["from_trip", "to_trip", "from_route", "to_route"]] < 0).all(axis=1)
    plain, restricted = rules.loc[general], rules.loc[~general]
    change = np.full(n_stops, min_change_s, dtype=np.int64)
    walk_pairs = plain.loc[plain["from_stop"] != plain["to_stop"], ["from_stop", "to_stop"]]
    walk = timed(walk_pairs.set_axis(["u", "v"], axis=1))
    all_foot = pd.concat(foot, ignore_index=True)
    all_foot = all_foot.groupby(["u", "v"], as_index=False)["d"].min()
    all_foot, change = apply_stop_rules(all_foot, change, plain, walk)
    foot_offset, foot_to, foot_s = footpath_csr(all_foot, n_stops)
    restricted = restricted.assign(rank=-specificity(restricted))
    restricted = restricted.sort_values(["to_stop", "rank"], kind="stable").drop(columns="rank")
    counts = np.bincount(restricted["to_stop"].to_numpy(np.int64), minlength=n_stops)
    return _Transfers(
        foot_offset=foot_offset,
        foot_to=foot_to,
        foot_s=foot_s,
        stop_change_s=change,
        xfer=restricted.reset_index(drop=True),
        xfer_offset=np.r_[0, np.cumsum(counts)].astype(INDEX_DTYPE),
    )


def build_timetable(
    feeds: gtfs_kit.Feed | Sequence[gtfs_kit.Feed],
    dates: str | dt.date | Iterable[str | dt.date],
    *,
    min_change_s: int = MIN_CHANGE_S,
    max_walk_m: float = MAX_TRANSFER_WALK_M,
    walk_speed_kmh: float = WALK_SPEED_KMH,
    detour_factor: float = WALK_DETOUR_FACTOR,
    include_previous_night: bool = True,
    feed_names: Sequence[str] | None = None,
    timezone: str | None = None,
    default_timezone: str = DEFAULT_TIMEZONE,
    join_stations_m: float = JOIN_STATIONS_M,
    station_links: Iterable[tuple[StationRef, StationRef]] = (),
) -> Timetable:
    """Build routing arrays of one or several feeds for some service dates.

    Parameters
    ----------
    feeds
        One feed or several (e.g. TER and coaches). Each keeps its own ids: with several
        feeds every stop, route and trip id becomes ``"<feed name>:<id>"``.
    dates
        One date or several (``YYYYMMDD`` or :class:`datetime.date`); the earliest is the
        ``base_date`` of the time convention (module :mod:`gtfs_import.schema`).
    min_change_s
        Minimum time to change vehicles at a stop, unless ``transfers.txt`` gives one;
        also the least duration of a computed footpath.
    max_walk_m, walk_speed_kmh, detour_factor
        Stops closer than ``max_walk_m`` (straight line) are joined by a footpath taking
        ``distance × detour_factor / speed``; stops of one parent station are always joined.
    include_previous_night
        Also include the trips of the day before ``base_date`` that run past midnight, with
        negative start times, so that a journey at 00:30 can use them.
    feed_names
        Names of the feeds' id namespaces (default ``"0"``, ``"1"``...); unused with one
        feed, whose ids stay as published.
    timezone
        Zone of the timetable's clock (:func:`seconds_at`, :func:`datetime_at`); default the
        first feed's ``agency_timezone``. Each feed's service days are read in its own
        agency's zone whatever this is.
    default_timezone
        Zone of a feed whose ``agency.txt`` gives none.
    join_stations_m
        Places (stations, or stops without a station) of two feeds with the same
        normalised name and at most this far apart are joined by footpaths
        (:mod:`gtfs_import.stations`); ``0`` turns the rule off.
    station_links
        Explicit joins ``((feed, stop_id), (feed, stop_id))``, feed as a name of
        ``feed_names`` or an index, ``stop_id`` as published.

    Returns
    -------
    Timetable
        Checked by :func:`check_timetable`. Trips with errors reported by
        :func:`gtfs_import.validate_feed` (unknown stops, unparsable or backward times,
        fewer than two stops) are left out.
    """
    feed_list = [feeds] if isinstance(feeds, gtfs_kit.Feed) else list(feeds)
    if not feed_list:
        raise ValueError("build_timetable needs at least one feed")
    names = _feed_names(feed_list, feed_names)
    prefixes = [""] if len(feed_list) == 1 else [f"{n}:" for n in names]
    zones = [feed_timezone(f, default_timezone) for f in feed_list]
    tt_zone = timezone or zones[0]
    zone(tt_zone)
    days = _dates(dates)
    base = days[0]
    origin = day_origin_s(base, tt_zone)
    wanted = list(days)
    if include_previous_night:
        wanted = [base - dt.timedelta(days=1), *wanted]
    stops, routes, tpl, trip_index, feed_shapes = _collect(feed_list, prefixes)
    # Which template runs on which day, and the seconds from the timetable's origin to
    # "noon minus 12 h" of that day in its feed's zone.
    inst_t, inst_day, inst_shift = [], [], []
    key_to_templates = pd.Series(np.arange(len(tpl.route))).groupby(tpl.service_key).agg(list)
    for k, feed in enumerate(feed_list):
        active = expand_calendar(feed, wanted)
        for service_id, date in zip(active["service_id"], active["date"], strict=True):
            templates = key_to_templates.get(f"{k}|{service_id}")
            if templates is None:
                continue
            day = as_date(date)
            inst_t.extend(templates)
            inst_day.extend([(day - base).days] * len(templates))
            inst_shift.extend([day_origin_s(day, zones[k]) - origin] * len(templates))
    t_idx = np.asarray(inst_t, dtype=np.int64)
    t_day = np.asarray(inst_day, dtype=np.int64)
    t_shift = np.asarray(inst_shift, dtype=np.int64)
    if len(t_idx):
        last_arr = tpl.arr[tpl.offset[t_idx + 1] - 1]
        keep = (t_day >= 0) | (last_arr + t_shift >= 0)  # previous night: past midnight
        t_idx, t_day, t_shift = t_idx[keep], t_day[keep], t_shift[keep]
    # Patterns: same stops and permissions, then split into chains without overtaking.
    pattern_key: dict[bytes, int] = {}
    tpl_pattern = np.empty(len(tpl.route), dtype=np.int64)
    for i in range(len(tpl.route)):
        a, b = tpl.offset[i], tpl.offset[i + 1]
        key = tpl.stop[a:b].tobytes() + tpl.pickup[a:b].tobytes() + tpl.dropoff[a:b].tobytes()
        tpl_pattern[i] = pattern_key.setdefault(key, len(pattern_key))
    first_dep = tpl.dep[tpl.offset[t_idx]] + t_shift
    order = np.lexsort((first_dep, tpl_pattern[t_idx]))
    t_idx, t_day, t_shift = t_idx[order], t_day[order], t_shift[order]
    groups = tpl_pattern[t_idx]
    bounds = (
        np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
        if len(groups)
        else np.zeros(1, np.int64)
    )
    trip_rows: list[np.ndarray] = []  # per final pattern: rows into t_idx
    for g in range(len(bounds) - 1):
        rows = np.arange(bounds[g], bounds[g + 1])
        t0 = t_idx[rows[0]]
        n = tpl.offset[t0 + 1] - tpl.offset[t0]
        pos = tpl.offset[t_idx[rows]][:, None] + np.arange(n)[None, :]
        shift = t_shift[rows][:, None]
        times = np.concatenate([tpl.arr[pos] + shift, tpl.dep[pos] + shift], axis=1)
        for chain in _fifo_chains(times):
            trip_rows.append(rows[chain])
    n_pat = len(trip_rows)
    sel = np.concatenate(trip_rows) if trip_rows else np.empty(0, dtype=np.int64)
    trip_t, trip_d, trip_shift = t_idx[sel], t_day[sel], t_shift[sel]
    pat_sizes = np.array([len(r) for r in trip_rows], dtype=np.int64)
    trip_pattern = np.repeat(np.arange(n_pat), pat_sizes)
    pattern_trip_offset = np.r_[0, np.cumsum(pat_sizes)]
    pat_tpl = trip_t[pattern_trip_offset[:-1]] if n_pat else np.empty(0, dtype=np.int64)
    pat_len = tpl.offset[pat_tpl + 1] - tpl.offset[pat_tpl]
    pattern_stop_offset = np.r_[0, np.cumsum(pat_len)]
    ev_pat = np.repeat(np.arange(n_pat), pat_len)
    ev_src = tpl.offset[pat_tpl][ev_pat] + (
        np.arange(pattern_stop_offset[-1]) - pattern_stop_offset[ev_pat]
    )
    pattern_stops = tpl.stop[ev_src]
    trip_len = tpl.offset[trip_t + 1] - tpl.offset[trip_t]
    trip_time_offset = np.r_[0, np.cumsum(trip_len)][:-1]
    tm_trip = np.repeat(np.arange(len(trip_t)), trip_len)
    tm_src = tpl.offset[trip_t][tm_trip] + (np.arange(trip_len.sum()) - trip_time_offset[tm_trip])
    shift = trip_shift[tm_trip]
    arrival_s = tpl.arr[tm_src] + shift
    departure_s = tpl.dep[tm_src] + shift
    if len(arrival_s) and (
        np.abs(arrival_s).max() >= 2**31 - 1 or np.abs(departure_s).max() >= 2**31 - 1
    ):
        raise FeedError("times overflow 32-bit seconds; build the timetable over fewer dates")
    # Stop -> (pattern, position)
    sp_order = np.lexsort((np.arange(len(pattern_stops)), pattern_stops))
    n_stops = len(stops)
    stop_pattern_offset = np.r_[0, np.cumsum(np.bincount(pattern_stops, minlength=n_stops))]
    stop_patterns = ev_pat[sp_order]
    stop_pattern_pos = (np.arange(len(pattern_stops)) - pattern_stop_offset[ev_pat])[sp_order]
    parent_index = {s: i for i, s in enumerate(stops["stop_id"])}
    stop_parent = np.array(
        [parent_index.get(p, -1) if p else -1 for p in stops["parent"]], dtype=np.int64
    )
    served = np.zeros(n_stops, dtype=bool)
    served[pattern_stops] = True
    xf = _transfers(
        feed_list,
        prefixes,
        names,
        stops,
        routes,
        tpl,
        trip_index,
        stop_parent,
        served,
        min_change_s=min_change_s,
        max_walk_m=max_walk_m,
        walk_speed_kmh=walk_speed_kmh,
        detour_factor=detour_factor,
        join_stations_m=join_stations_m,
        station_links=station_links,
    )
    shp = _shape_arrays(
        tpl,
        feed_shapes,
        trip_t,
        stops["lat"].to_numpy(dtype=float),
        stops["lon"].to_numpy(dtype=float),
    )
    i32 = INDEX_DTYPE
    tt = Timetable(
        base_date=base.strftime("%Y%m%d"),
        min_change_s=int(min_change_s),
        timezone=tt_zone,
        dates=np.array([d.strftime("%Y%m%d") for d in days]),
        feed_names=np.array(names, dtype=str),
        feed_timezones=np.array(zones, dtype=str),
        stop_ids=stops["stop_id"].to_numpy(dtype=str),
        stop_feed=stops["feed"].to_numpy(dtype=i32),
        stop_change_s=xf.stop_change_s.astype(i32),
        stop_names=stops["name"].to_numpy(dtype=str),
        stop_lat=stops["lat"].to_numpy(dtype=float),
        stop_lon=stops["lon"].to_numpy(dtype=float),
        stop_parent=stop_parent.astype(i32),
        route_ids=routes["route_id"].to_numpy(dtype=str),
        route_short_names=routes["short"].to_numpy(dtype=str),
        route_long_names=routes["long"].to_numpy(dtype=str),
        route_types=routes["type"].to_numpy(dtype=i32),
        trip_ids=tpl.trip_id[trip_t] if len(trip_t) else np.empty(0, dtype=str),
        trip_headsigns=tpl.headsign[trip_t] if len(trip_t) else np.empty(0, dtype=str),
        trip_route=tpl.route[trip_t].astype(i32),
        trip_gtfs=tpl.gtfs[trip_t].astype(i32),
        trip_headway_s=tpl.headway[trip_t].astype(i32),
        trip_day=trip_d.astype(i32),
        trip_pattern=trip_pattern.astype(i32),
        trip_time_offset=trip_time_offset.astype(i32),
        arrival_s=arrival_s.astype(TIME_DTYPE),
        departure_s=departure_s.astype(TIME_DTYPE),
        pattern_stop_offset=pattern_stop_offset.astype(i32),
        pattern_stops=pattern_stops.astype(i32),
        pattern_pickup=tpl.pickup[ev_src].astype(np.bool_),
        pattern_dropoff=tpl.dropoff[ev_src].astype(np.bool_),
        pattern_trip_offset=pattern_trip_offset.astype(i32),
        pattern_route=tpl.route[pat_tpl].astype(i32),
        stop_pattern_offset=stop_pattern_offset.astype(i32),
        stop_patterns=stop_patterns.astype(i32),
        stop_pattern_pos=stop_pattern_pos.astype(i32),
        foot_offset=xf.foot_offset,
        foot_to=xf.foot_to,
        foot_s=xf.foot_s,
        xfer_offset=xf.xfer_offset,
        **{
            f"xfer_{c}": xf.xfer[c].to_numpy(dtype=i32)
            for c in ("from_stop", "from_trip", "to_trip", "from_route", "to_route", "min_s")
        },
        stop_wheelchair=stops["wheelchair"].to_numpy(dtype=np.int8),
        trip_wheelchair=tpl.wheelchair[trip_t].astype(np.int8),
        trip_shape=shp.tpl_shape[trip_t].astype(i32),
        shape_offset=shp.offset.astype(i32),
        shape_lat=shp.lat,
        shape_lon=shp.lon,
        event_shape_lat=shp.ev_lat[tm_src],
        event_shape_lon=shp.ev_lon[tm_src],
        event_shape_next=shp.ev_next[tm_src].astype(i32),
    )
    check_timetable(tt)
    return tt


class _ShapeArrays(NamedTuple):
    """The timetable's shape fields, events indexed like the templates' stop times."""

    tpl_shape: np.ndarray  # per template: index among the kept shapes, -1 for none
    offset: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    ev_lat: np.ndarray
    ev_lon: np.ndarray
    ev_next: np.ndarray


def _shape_arrays(
    tpl: _Templates,
    feed_shapes: Sequence[FeedShapes],
    used: np.ndarray,
    stop_lat: np.ndarray,
    stop_lon: np.ndarray,
) -> _ShapeArrays:
    """Shapes of the templates ``used``, and each of their stops placed on its shape.

    A trip keeps no shape when it names an unknown one, the shape has fewer than two
    points, or a stop without coordinates must be projected.
    """
    bases = np.r_[0, np.cumsum([len(f.lat) for f in feed_shapes])].astype(np.int64)
    offset = np.concatenate(
        [f.offset[:-1] + b for f, b in zip(feed_shapes, bases, strict=False)] + [bases[-1:]]
    )
    lat = np.concatenate([np.empty(0), *(f.lat for f in feed_shapes)])
    lon = np.concatenate([np.empty(0), *(f.lon for f in feed_shapes)])
    dist = np.concatenate([np.empty(0), *(f.dist for f in feed_shapes)])
    n_ev = len(tpl.stop)
    ev_lat = np.full(n_ev, np.nan, np.float32)
    ev_lon = np.full(n_ev, np.nan, np.float32)
    ev_next = np.full(n_ev, NO_INDEX, np.int64)
    tpl_shape = np.full(len(tpl.shape), NO_INDEX, np.int64)
    kept: dict[int, int] = {}
    kept_start: list[int] = []
    n_points = 0
    cache: dict[tuple[int, bytes, bytes], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for t in np.unique(used).tolist():
        sh = int(tpl.shape[t])
        if sh < 0:
            continue
        a, b = int(tpl.offset[t]), int(tpl.offset[t + 1])
        p0, p1 = int(offset[sh]), int(offset[sh + 1])
        stops, sd = tpl.stop[a:b], tpl.sdist[a:b]
        if p1 - p0 < 2:
            continue
        key = (sh, stops.tobytes(), sd.tobytes())
        placed = cache.get(key)
        if placed is None:
            by_dist = np.isfinite(sd).all() and np.isfinite(dist[p0:p1]).all()
            if not by_dist and not (
                np.isfinite(stop_lat[stops]).all() and np.isfinite(stop_lon[stops]).all()
            ):
                continue
            placed = place_stops(
                lat[p0:p1], lon[p0:p1], dist[p0:p1], stop_lat[stops], stop_lon[stops], sd
            )
            cache[key] = placed
        if sh not in kept:
            kept[sh] = len(kept)
            kept_start.append(n_points)
            n_points += p1 - p0
        tpl_shape[t] = kept[sh]
        ev_lat[a:b], ev_lon[a:b] = placed[0], placed[1]
        ev_next[a:b] = placed[2] + kept_start[kept[sh]]
    order = list(kept)
    sizes = np.array([int(offset[s + 1] - offset[s]) for s in order], dtype=np.int64)
    points = (
        np.concatenate([np.arange(offset[s], offset[s + 1]) for s in order])
        if order
        else np.empty(0, np.int64)
    )
    return _ShapeArrays(
        tpl_shape=tpl_shape,
        offset=np.r_[0, np.cumsum(sizes)].astype(np.int64),
        lat=lat[points].astype(np.float32),
        lon=lon[points].astype(np.float32),
        ev_lat=ev_lat,
        ev_lon=ev_lon,
        ev_next=ev_next,
    )


def _fail(message: str) -> None:
    raise TimetableError(f"timetable invariant broken: {message}")


def _check_offsets(name: str, offset: np.ndarray, n_items: int, n_total: int) -> None:
    if len(offset) != n_items + 1:
        _fail(f"{name} has length {len(offset)}, expected {n_items + 1}")
    if n_items + 1 and (offset[0] != 0 or offset[-1] != n_total):
        _fail(f"{name} must start at 0 and end at {n_total}")
    if np.any(np.diff(offset) < 0):
        _fail(f"{name} decreases")


def check_timetable(tt: Timetable) -> None:
    """Verify every invariant of a timetable; raise :class:`TimetableError` on the first broken.

    Checks sizes and dtypes, offsets, index ranges, the stop → pattern index against the
    patterns, times (dwell ``arrival <= departure``, no travel back in time along a trip),
    no overtaking within a pattern, footpaths (no self-loop, no negative duration), change
    times, time zones and the restricted transfer rules.
    """
    n_s, n_t, n_p = tt.n_stops, tt.n_trips, tt.n_patterns
    for name in ("stop_names", "stop_lat", "stop_lon", "stop_parent"):
        if len(getattr(tt, name)) != n_s:
            _fail(f"{name} has {len(getattr(tt, name))} rows for {n_s} stops")
    for name in ("trip_headsigns", "trip_route", "trip_day", "trip_pattern", "trip_time_offset"):
        if len(getattr(tt, name)) != n_t:
            _fail(f"{name} has {len(getattr(tt, name))} rows for {n_t} trips")
    for name in (
        "stop_parent",
        "trip_route",
        "trip_pattern",
        "trip_time_offset",
        "pattern_stop_offset",
        "pattern_stops",
        "pattern_trip_offset",
        "pattern_route",
        "stop_pattern_offset",
        "stop_patterns",
        "stop_pattern_pos",
        "foot_offset",
        "foot_to",
        "foot_s",
        "arrival_s",
        "departure_s",
        "stop_feed",
        "stop_change_s",
        "trip_gtfs",
        "trip_headway_s",
        "xfer_offset",
        "xfer_from_stop",
        "xfer_from_trip",
        "xfer_to_trip",
        "xfer_from_route",
        "xfer_to_route",
        "xfer_min_s",
    ):
        if getattr(tt, name).dtype != np.int32:
            _fail(f"{name} has dtype {getattr(tt, name).dtype}, expected int32")
    if len(tt.stop_ids) and len(set(tt.stop_ids.tolist())) != n_s:
        _fail("stop ids are not unique")
    if np.any((tt.stop_parent < NO_INDEX) | (tt.stop_parent >= n_s)):
        _fail("stop_parent out of range")
    if np.any((tt.trip_route < 0) | (tt.trip_route >= len(tt.route_ids))):
        _fail("trip_route out of range")
    _check_offsets("pattern_stop_offset", tt.pattern_stop_offset, n_p, len(tt.pattern_stops))
    _check_offsets("pattern_trip_offset", tt.pattern_trip_offset, n_p, n_t)
    _check_offsets("stop_pattern_offset", tt.stop_pattern_offset, n_s, len(tt.stop_patterns))
    _check_offsets("foot_offset", tt.foot_offset, n_s, len(tt.foot_to))
    if len(tt.pattern_pickup) != len(tt.pattern_stops) or len(tt.pattern_dropoff) != len(
        tt.pattern_stops
    ):
        _fail("pattern_pickup/pattern_dropoff do not match pattern_stops")
    if np.any((tt.pattern_stops < 0) | (tt.pattern_stops >= n_s)):
        _fail("pattern_stops out of range")
    pat_len = np.diff(tt.pattern_stop_offset)
    if np.any(pat_len < 2):
        _fail("a pattern has fewer than two stops")
    if not np.array_equal(
        tt.trip_pattern, np.repeat(np.arange(n_p), np.diff(tt.pattern_trip_offset))
    ):
        _fail("trip_pattern disagrees with pattern_trip_offset")
    trip_len = pat_len[tt.trip_pattern] if n_t else np.empty(0, dtype=np.int64)
    if not np.array_equal(tt.trip_time_offset, np.r_[0, np.cumsum(trip_len)][:-1].astype(np.int32)):
        _fail("trip_time_offset disagrees with pattern lengths")
    n_ev = int(trip_len.sum())
    if len(tt.arrival_s) != n_ev or len(tt.departure_s) != n_ev:
        _fail(f"arrival_s/departure_s have {len(tt.arrival_s)} rows, expected {n_ev}")
    if np.any(tt.departure_s < tt.arrival_s):
        _fail("a departure before its arrival at the same stop")
    ev_trip = np.repeat(np.arange(n_t), trip_len)
    same = ev_trip[1:] == ev_trip[:-1]
    if np.any(same & (tt.arrival_s[1:] < tt.departure_s[:-1])):
        _fail("a trip travels back in time")
    # No overtaking: consecutive trips of a pattern are ordered at every stop.
    ev_pos = np.arange(n_ev) - tt.trip_time_offset[ev_trip] if n_ev else np.empty(0, dtype=np.int64)
    nxt = ev_trip + 1
    has_next = np.zeros(n_ev, dtype=bool)
    if n_ev:
        has_next = (nxt < n_t) & (
            tt.trip_pattern[np.minimum(nxt, n_t - 1)] == tt.trip_pattern[ev_trip]
        )
    ev = np.flatnonzero(has_next)
    other = tt.trip_time_offset[nxt[ev]] + ev_pos[ev]
    if np.any(tt.departure_s[other] < tt.departure_s[ev]) or np.any(
        tt.arrival_s[other] < tt.arrival_s[ev]
    ):
        _fail("a trip overtakes another in its pattern")
    # Stop -> pattern index agrees with the patterns.
    sp_stop = np.repeat(np.arange(n_s), np.diff(tt.stop_pattern_offset))
    if np.any((tt.stop_patterns < 0) | (tt.stop_patterns >= n_p)):
        _fail("stop_patterns out of range")
    pos_ok = (tt.stop_pattern_pos >= 0) & (tt.stop_pattern_pos < pat_len[tt.stop_patterns])
    if not np.all(pos_ok):
        _fail("stop_pattern_pos out of range")
    at = tt.pattern_stop_offset[tt.stop_patterns] + tt.stop_pattern_pos
    if not np.array_equal(tt.pattern_stops[at], sp_stop):
        _fail("stop_patterns/stop_pattern_pos disagree with pattern_stops")
    if len(tt.stop_patterns) != len(tt.pattern_stops):
        _fail("every (pattern, position) must be indexed once by its stop")
    foot_from = np.repeat(np.arange(n_s), np.diff(tt.foot_offset))
    if np.any((tt.foot_to < 0) | (tt.foot_to >= n_s)):
        _fail("foot_to out of range")
    if np.any(foot_from == tt.foot_to):
        _fail("a footpath from a stop to itself")
    if np.any(tt.foot_s < 0):
        _fail("a footpath with a negative duration")
    if not math.isfinite(float(tt.min_change_s)) or tt.min_change_s < 0:
        _fail("min_change_s must be >= 0")
    if np.any(tt.stop_change_s < 0):
        _fail("a negative change time at a stop")
    _check_rules(tt)


def _check_rules(tt: Timetable) -> None:
    """Invariants of feeds, time zones, runs and restricted transfer rules."""
    n_s, n_t = tt.n_stops, tt.n_trips
    n_f = len(tt.feed_names)
    try:
        for name in [tt.timezone, *tt.feed_timezones.tolist()]:
            zone(str(name))
    except FeedError as exc:
        _fail(str(exc))
    if len(tt.feed_timezones) != n_f or n_f == 0:
        _fail("feed_names and feed_timezones must have one entry per feed")
    if len(tt.stop_feed) != n_s or len(tt.stop_change_s) != n_s:
        _fail("stop_feed/stop_change_s must have one row per stop")
    if np.any((tt.stop_feed < 0) | (tt.stop_feed >= n_f)):
        _fail("stop_feed out of range")
    if len(tt.trip_gtfs) != n_t or len(tt.trip_headway_s) != n_t:
        _fail("trip_gtfs/trip_headway_s must have one row per trip")
    if np.any(tt.trip_gtfs < 0) or np.any(tt.trip_headway_s < 0):
        _fail("trip_gtfs and trip_headway_s must be >= 0")
    n_x = len(tt.xfer_from_stop)
    _check_offsets("xfer_offset", tt.xfer_offset, n_s, n_x)
    for name in (
        "xfer_from_trip",
        "xfer_to_trip",
        "xfer_from_route",
        "xfer_to_route",
        "xfer_min_s",
    ):
        if len(getattr(tt, name)) != n_x:
            _fail(f"{name} has {len(getattr(tt, name))} rows for {n_x} transfer rules")
    if np.any((tt.xfer_from_stop < 0) | (tt.xfer_from_stop >= n_s)):
        _fail("xfer_from_stop out of range")
    for end in ("from", "to"):
        route = getattr(tt, f"xfer_{end}_route")
        if np.any((route < -1) | (route >= len(tt.route_ids))):
            _fail(f"xfer_{end}_route out of range")
        # GTFS trip indices may name trips that do not run on the timetable's dates.
        if np.any(getattr(tt, f"xfer_{end}_trip") < -1):
            _fail(f"xfer_{end}_trip out of range")
    if np.any(tt.xfer_min_s < -2):
        _fail("xfer_min_s must be seconds, -1 (forbidden) or -2 (default)")
    _check_accessibility_and_shapes(tt)


def _check_accessibility_and_shapes(tt: Timetable) -> None:
    """Invariants of the wheelchair fields and of the shapes."""
    for name, n in (("stop_wheelchair", tt.n_stops), ("trip_wheelchair", tt.n_trips)):
        values = getattr(tt, name)
        if len(values) != n or values.dtype != np.int8:
            _fail(f"{name} must be int8 with {n} rows")
        if np.any((values < 0) | (values > 2)):
            _fail(f"{name} must be 0, 1 or 2")
    n_sh = len(tt.shape_offset) - 1
    _check_offsets("shape_offset", tt.shape_offset, n_sh, len(tt.shape_lat))
    if len(tt.shape_lon) != len(tt.shape_lat):
        _fail("shape_lat and shape_lon differ in length")
    if len(tt.trip_shape) != tt.n_trips or np.any(
        (tt.trip_shape < NO_INDEX) | (tt.trip_shape >= n_sh)
    ):
        _fail("trip_shape out of range")
    n_ev = len(tt.arrival_s)
    for name in ("event_shape_lat", "event_shape_lon", "event_shape_next"):
        if len(getattr(tt, name)) != n_ev:
            _fail(f"{name} has {len(getattr(tt, name))} rows for {n_ev} stop events")
    for name in ("trip_shape", "shape_offset", "event_shape_next"):
        if getattr(tt, name).dtype != np.int32:
            _fail(f"{name} has dtype {getattr(tt, name).dtype}, expected int32")
    trip_len = np.diff(tt.pattern_stop_offset)[tt.trip_pattern]
    ev_shape = np.repeat(tt.trip_shape, trip_len)
    has = ev_shape >= 0
    nxt = tt.event_shape_next
    if np.any(nxt[~has] != NO_INDEX):
        _fail("a stop event of a trip without shape points into the shapes")
    lo = tt.shape_offset[ev_shape[has]] + 1
    hi = tt.shape_offset[ev_shape[has] + 1]
    if np.any((nxt[has] < lo) | (nxt[has] > hi)):
        _fail("event_shape_next outside its trip's shape")
    same = np.repeat(np.arange(tt.n_trips), trip_len)
    step = (same[1:] == same[:-1]) & has[1:]
    if np.any(nxt[1:][step] < nxt[:-1][step]):
        _fail("stops go backwards along their trip's shape")
