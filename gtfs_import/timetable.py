"""Compact timetable arrays for routing, built from one or several feeds for given dates.

Layout (all ``int32`` unless said; ``S`` stops, ``R`` routes, ``T`` trips, ``P`` patterns)
-----------------------------------------------------------------------------------------
* A *trip* is one run of a GTFS trip on one service day. Its times are in seconds relative
  to the midnight of ``base_date`` (see :mod:`gtfs_import.schema`), so trips of later days
  and trips past 24:00:00 need no special case.
* A *pattern* is a maximal group of trips with the same stop sequence, the same
  pickup/drop-off permissions and no overtaking (each trip is no earlier than the previous
  one at every stop): RAPTOR's "routes". Trips of pattern ``p`` are the contiguous indices
  ``pattern_trip_offset[p] .. pattern_trip_offset[p+1]``, sorted by departure; its stops are
  ``pattern_stops[pattern_stop_offset[p] .. pattern_stop_offset[p+1]]``.
* Times of trip ``t`` at its ``i``-th stop are ``arrival_s[trip_time_offset[t] + i]`` and
  ``departure_s[...]``.
* ``stop_patterns[stop_pattern_offset[s] ..]`` lists the patterns serving stop ``s`` and
  ``stop_pattern_pos`` the position of ``s`` in each (a loop gives two entries).
* Footpaths (walking transfers, in both directions, never a stop to itself) are a CSR
  graph ``foot_offset``/``foot_to``/``foot_s``. Changing at one stop takes
  ``min_change_s``; a footpath takes at least as long.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import gtfs_kit
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gtfs_import.errors import FeedError, TimetableError
from gtfs_import.schema import (
    DAY_S,
    INDEX_DTYPE,
    MAX_TRANSFER_WALK_M,
    MIN_CHANGE_S,
    NO_INDEX,
    TIME_DTYPE,
    WALK_DETOUR_FACTOR,
    WALK_SPEED_KMH,
)
from gtfs_import.tables import expand_calendar, parse_times

EARTH_RADIUS_M = 6_371_000.0


class Timetable(NamedTuple):
    """Routing arrays of one or several feeds over some dates (see the module docstring)."""

    base_date: str
    min_change_s: int
    dates: np.ndarray
    stop_ids: np.ndarray
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

    @staticmethod
    def scalar_fields() -> tuple[str, ...]:
        """Fields that are Python scalars rather than arrays."""
        return ("base_date", "min_change_s")

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
    """Timetable seconds of ``time_s`` seconds past the midnight of ``date``.

    >>> seconds_at(tt, "20250124", 8 * 3600)  # doctest: +SKIP
    """
    day = date if isinstance(date, dt.date) else dt.datetime.strptime(date, "%Y%m%d").date()
    base = dt.datetime.strptime(tt.base_date, "%Y%m%d").date()
    return (day - base).days * DAY_S + int(time_s)


def format_seconds(time_s: int) -> str:
    """``HH:MM:SS`` of timetable seconds, with hours past 24 as in GTFS (``-`` if negative)."""
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
    """GTFS trips of all feeds, before expansion over days (internal)."""

    stop: np.ndarray  # per stop time: global stop index
    pickup: np.ndarray
    dropoff: np.ndarray
    arr: np.ndarray
    dep: np.ndarray
    offset: np.ndarray  # per template: start in the arrays above (len n + 1)
    route: np.ndarray
    trip_id: np.ndarray
    headsign: np.ndarray
    service_key: np.ndarray  # "feed|service_id"


def _interpolate_blanks(trip: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Fill blank (``-1``) intermediate times linearly by position along each trip."""
    if not (times == -1).any():
        return times
    s = pd.Series(np.where(times < 0, np.nan, times.astype(float)))
    filled = s.groupby(trip).transform(lambda x: x.interpolate(limit_area="inside"))
    out: np.ndarray = filled.fillna(-1).round().to_numpy(dtype=np.int64)
    return out


def _feed_templates(
    feed: gtfs_kit.Feed, k: int, stop_index: dict[str, int], route_index: dict[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stop times and trips of one feed mapped to global indices; bad trips dropped."""
    st = feed.stop_times
    trips = feed.trips
    cols = {
        "trip_id": st["trip_id"].astype("string"),
        "stop_sequence": st["stop_sequence"].astype("Int64"),
        "stop": st["stop_id"].astype("string").map(stop_index),
        "arr": parse_times(st["arrival_time"]),
        "dep": parse_times(st["departure_time"]),
        "pickup": (st["pickup_type"].fillna(0).to_numpy(dtype=np.int64) != 1)
        if "pickup_type" in st.columns
        else np.ones(len(st), dtype=bool),
        "dropoff": (st["drop_off_type"].fillna(0).to_numpy(dtype=np.int64) != 1)
        if "drop_off_type" in st.columns
        else np.ones(len(st), dtype=bool),
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
            "route": trips["route_id"].astype("string").map(route_index),
            "service_key": f"{k}|" + trips["service_id"].astype("string"),
            "headsign": (
                trips["trip_headsign"].astype("string")
                if "trip_headsign" in trips.columns
                else pd.Series(pd.NA, index=trips.index, dtype="string")
            ),
        }
    )
    if "trip_short_name" in trips.columns:
        tr["headsign"] = tr["headsign"].fillna(trips["trip_short_name"].astype("string"))
    tr = tr.dropna(subset=["route"]).drop_duplicates("trip_id")
    tr = tr.loc[tr["trip_id"].isin(set(df["trip_id"]))]
    df = df.loc[df["trip_id"].isin(set(tr["trip_id"]))]
    return df, tr


def _collect(
    feeds: Sequence[gtfs_kit.Feed],
) -> tuple[pd.DataFrame, pd.DataFrame, _Templates]:
    stop_frames, route_frames = [], []
    for feed in feeds:
        s = feed.stops
        stop_frames.append(
            pd.DataFrame(
                {
                    "stop_id": _str(s["stop_id"]),
                    "name": _str(s["stop_name"]) if "stop_name" in s.columns else "",
                    "lat": s["stop_lat"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                    "lon": s["stop_lon"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
                    "parent": _str(s["parent_station"]) if "parent_station" in s.columns else "",
                }
            )
        )
        r = feed.routes
        route_frames.append(
            pd.DataFrame(
                {
                    "route_id": _str(r["route_id"]),
                    "short": _str(r["route_short_name"]) if "route_short_name" in r.columns else "",
                    "long": _str(r["route_long_name"]) if "route_long_name" in r.columns else "",
                    "type": r["route_type"].fillna(-1).to_numpy(dtype=np.int64),
                }
            )
        )
    # A stop or route id published by several feeds (a shared station) is one stop.
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
    for k, feed in enumerate(feeds):
        st, tr = _feed_templates(feed, k, stop_index, route_index)
        st_frames.append(st.assign(trip_key=f"{k}|" + st["trip_id"]))
        trip_frames.append(tr.assign(trip_key=f"{k}|" + tr["trip_id"]))
    st = pd.concat(st_frames, ignore_index=True)
    tr = pd.concat(trip_frames, ignore_index=True).reset_index(drop=True)
    order = {key: i for i, key in enumerate(tr["trip_key"])}
    st = st.assign(template=st["trip_key"].map(order).to_numpy(dtype=np.int64))
    st = st.sort_values(["template", "stop_sequence"], kind="stable")
    counts = np.bincount(st["template"].to_numpy(), minlength=len(tr))
    templates = _Templates(
        stop=st["stop"].to_numpy(dtype=np.int64),
        pickup=st["pickup"].to_numpy(dtype=bool),
        dropoff=st["dropoff"].to_numpy(dtype=bool),
        arr=st["arr"].to_numpy(dtype=np.int64),
        dep=st["dep"].to_numpy(dtype=np.int64),
        offset=np.r_[0, np.cumsum(counts)].astype(np.int64),
        route=tr["route"].to_numpy(dtype=np.int64),
        trip_id=_str(tr["trip_id"]),
        headsign=_str(tr["headsign"]),
        service_key=_str(tr["service_key"]),
    )
    return stops, routes, templates


def _footpaths(
    lat: np.ndarray,
    lon: np.ndarray,
    parent: np.ndarray,
    served: np.ndarray,
    min_change_s: int,
    max_walk_m: float,
    walk_speed_kmh: float,
    detour_factor: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walking transfers between served stops: nearby ones and stops of one station."""
    idx = np.flatnonzero(served & ~np.isnan(lat) & ~np.isnan(lon))
    la, lo = np.radians(lat[idx]), np.radians(lon[idx])
    xyz = EARTH_RADIUS_M * np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    pairs = (
        cKDTree(xyz).query_pairs(r=max_walk_m, output_type="ndarray")
        if len(idx)
        else np.empty((0, 2), dtype=np.int64)
    )
    src = [idx[pairs[:, 0]]] if len(pairs) else []
    dst = [idx[pairs[:, 1]]] if len(pairs) else []
    # Stops of one station are connected whatever the published coordinates say.
    kids = np.flatnonzero(served & (parent >= 0))
    if len(kids):
        by_parent = pd.Series(kids).groupby(parent[kids])
        for _, members in by_parent:
            m = members.to_numpy()
            if len(m) > 1:
                a, b = np.meshgrid(m, m)
                keep = a < b
                src.append(a[keep])
                dst.append(b[keep])
    if not src:
        empty = np.empty(0, dtype=INDEX_DTYPE)
        return np.zeros(len(lat) + 1, dtype=INDEX_DTYPE), empty, empty
    u = np.concatenate(src)
    v = np.concatenate(dst)
    u, v = np.r_[u, v], np.r_[v, u]
    p1, p2 = np.radians(lat[u]), np.radians(lat[v])
    dl = np.radians(lon[v] - lon[u])
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    dist = np.nan_to_num(dist, nan=0.0)
    walk = np.ceil(dist * detour_factor / (walk_speed_kmh / 3.6))
    dur = np.maximum(walk, min_change_s).astype(np.int64)
    df = pd.DataFrame({"u": u, "v": v, "d": dur}).groupby(["u", "v"], as_index=False)["d"].min()
    df = df.loc[df["u"] != df["v"]].sort_values(["u", "v"])
    counts = np.bincount(df["u"].to_numpy(), minlength=len(lat))
    offset = np.r_[0, np.cumsum(counts)].astype(INDEX_DTYPE)
    return offset, df["v"].to_numpy(dtype=INDEX_DTYPE), df["d"].to_numpy(dtype=INDEX_DTYPE)


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


def build_timetable(
    feeds: gtfs_kit.Feed | Sequence[gtfs_kit.Feed],
    dates: str | dt.date | Iterable[str | dt.date],
    *,
    min_change_s: int = MIN_CHANGE_S,
    max_walk_m: float = MAX_TRANSFER_WALK_M,
    walk_speed_kmh: float = WALK_SPEED_KMH,
    detour_factor: float = WALK_DETOUR_FACTOR,
    include_previous_night: bool = True,
) -> Timetable:
    """Build routing arrays of one or several feeds for some service dates.

    Parameters
    ----------
    feeds
        One feed or several (e.g. TER and coaches); a stop id shared by several feeds is
        one stop.
    dates
        One date or several (``YYYYMMDD`` or :class:`datetime.date`); the earliest is the
        ``base_date`` of the time convention (module :mod:`gtfs_import.schema`).
    min_change_s
        Minimum time to change vehicles at a stop; also the least duration of a footpath.
    max_walk_m, walk_speed_kmh, detour_factor
        Stops closer than ``max_walk_m`` (straight line) are joined by a footpath taking
        ``distance × detour_factor / speed``; stops of one parent station are always joined.
    include_previous_night
        Also include the trips of the day before ``base_date`` that run past midnight, with
        negative start times, so that a journey at 00:30 can use them.

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
    days = _dates(dates)
    base = days[0]
    wanted = list(days)
    if include_previous_night:
        wanted = [base - dt.timedelta(days=1), *wanted]
    stops, routes, tpl = _collect(feed_list)
    # Which template runs on which day (offset from base), per feed.
    inst_t, inst_day = [], []
    key_to_templates = pd.Series(np.arange(len(tpl.route))).groupby(tpl.service_key).agg(list)
    for k, feed in enumerate(feed_list):
        active = expand_calendar(feed, wanted)
        for service_id, date in zip(active["service_id"], active["date"], strict=True):
            templates = key_to_templates.get(f"{k}|{service_id}")
            if templates is None:
                continue
            day = (dt.datetime.strptime(date, "%Y%m%d").date() - base).days
            inst_t.extend(templates)
            inst_day.extend([day] * len(templates))
    t_idx = np.asarray(inst_t, dtype=np.int64)
    t_day = np.asarray(inst_day, dtype=np.int64)
    if len(t_idx):
        last_arr = tpl.arr[tpl.offset[t_idx + 1] - 1]
        keep = (t_day >= 0) | (last_arr + t_day * DAY_S >= 0)  # previous night: past midnight
        t_idx, t_day = t_idx[keep], t_day[keep]
    # Patterns: same stops and permissions, then split into chains without overtaking.
    pattern_key: dict[bytes, int] = {}
    tpl_pattern = np.empty(len(tpl.route), dtype=np.int64)
    for i in range(len(tpl.route)):
        a, b = tpl.offset[i], tpl.offset[i + 1]
        key = tpl.stop[a:b].tobytes() + tpl.pickup[a:b].tobytes() + tpl.dropoff[a:b].tobytes()
        tpl_pattern[i] = pattern_key.setdefault(key, len(pattern_key))
    first_dep = tpl.dep[tpl.offset[t_idx]] + t_day * DAY_S
    order = np.lexsort((first_dep, tpl_pattern[t_idx]))
    t_idx, t_day = t_idx[order], t_day[order]
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
        shift = (t_day[rows] * DAY_S)[:, None]
        times = np.concatenate([tpl.arr[pos] + shift, tpl.dep[pos] + shift], axis=1)
        for chain in _fifo_chains(times):
            trip_rows.append(rows[chain])
    n_pat = len(trip_rows)
    sel = np.concatenate(trip_rows) if trip_rows else np.empty(0, dtype=np.int64)
    trip_t, trip_d = t_idx[sel], t_day[sel]
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
    shift = trip_d[tm_trip] * DAY_S
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
    lat = stops["lat"].to_numpy(dtype=float)
    lon = stops["lon"].to_numpy(dtype=float)
    foot_offset, foot_to, foot_s = _footpaths(
        lat, lon, stop_parent, served, min_change_s, max_walk_m, walk_speed_kmh, detour_factor
    )
    i32 = INDEX_DTYPE
    tt = Timetable(
        base_date=base.strftime("%Y%m%d"),
        min_change_s=int(min_change_s),
        dates=np.array([d.strftime("%Y%m%d") for d in days]),
        stop_ids=stops["stop_id"].to_numpy(dtype=str),
        stop_names=stops["name"].to_numpy(dtype=str),
        stop_lat=lat,
        stop_lon=lon,
        stop_parent=stop_parent.astype(i32),
        route_ids=routes["route_id"].to_numpy(dtype=str),
        route_short_names=routes["short"].to_numpy(dtype=str),
        route_long_names=routes["long"].to_numpy(dtype=str),
        route_types=routes["type"].to_numpy(dtype=i32),
        trip_ids=tpl.trip_id[trip_t] if len(trip_t) else np.empty(0, dtype=str),
        trip_headsigns=tpl.headsign[trip_t] if len(trip_t) else np.empty(0, dtype=str),
        trip_route=tpl.route[trip_t].astype(i32),
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
        foot_offset=foot_offset,
        foot_to=foot_to,
        foot_s=foot_s,
    )
    check_timetable(tt)
    return tt


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
    no overtaking within a pattern, and footpaths (no self-loop, durations at least
    ``min_change_s``).
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
    if np.any(tt.foot_s < tt.min_change_s):
        _fail("a footpath shorter than min_change_s")
    if not math.isfinite(float(tt.min_change_s)) or tt.min_change_s < 0:
        _fail("min_change_s must be >= 0")
