"""Footpaths and change times of a timetable: nearby stops, stations, joins, ``transfers.txt``.

A footpath ``u → v`` is a walk a rider may take between two trips. They come from, in
order (a later source overrides an earlier one for the same pair):

1. distance: served stops closer than ``max_walk_m`` (straight line), walked at
   ``walk_speed_kmh`` with a ``detour_factor``, never faster than the change time;
2. stations: stops of one parent station, whatever their published coordinates;
3. joins between feeds (:mod:`gtfs_import.stations`), timed like 1;
4. ``transfers.txt`` rules between two stops without trip or route
   (:mod:`gtfs_import.transfers`): a minimum time replaces the walk, a forbidden
   transfer removes it, a recommended one adds it if missing.

The same rules between a stop and itself set that stop's change time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gtfs_import.schema import INDEX_DTYPE
from gtfs_import.transfers import DEFAULT, FORBIDDEN, FORBIDDEN_CHANGE_S

EARTH_RADIUS_M = 6_371_000.0


def walk_seconds(
    lat: np.ndarray,
    lon: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    min_change_s: int,
    walk_speed_kmh: float,
    detour_factor: float,
) -> np.ndarray:
    """Walking time ``u → v`` (haversine × detour / speed), at least ``min_change_s``."""
    p1, p2 = np.radians(lat[u]), np.radians(lat[v])
    dl = np.radians(lon[v] - lon[u])
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    dist = np.nan_to_num(dist, nan=0.0)
    walk = np.ceil(dist * detour_factor / (walk_speed_kmh / 3.6))
    out: np.ndarray = np.maximum(walk, min_change_s).astype(np.int64)
    return out


def nearby_pairs(
    lat: np.ndarray, lon: np.ndarray, parent: np.ndarray, served: np.ndarray, max_walk_m: float
) -> pd.DataFrame:
    """Pairs ``(u, v)``, both directions, of served stops near each other or in one station."""
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
        for _, members in pd.Series(kids).groupby(parent[kids]):
            m = members.to_numpy()
            if len(m) > 1:
                a, b = np.meshgrid(m, m)
                keep = a < b
                src.append(a[keep])
                dst.append(b[keep])
    if not src:
        return pd.DataFrame({"u": np.empty(0, np.int64), "v": np.empty(0, np.int64)})
    u = np.concatenate(src).astype(np.int64)
    v = np.concatenate(dst).astype(np.int64)
    return pd.DataFrame({"u": np.r_[u, v], "v": np.r_[v, u]})


def apply_stop_rules(
    foot: pd.DataFrame,
    change_s: np.ndarray,
    rules: pd.DataFrame,
    walk: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Apply ``transfers.txt`` rules without trips or routes to footpaths and change times.

    Parameters
    ----------
    foot
        Footpaths ``u``, ``v``, ``d`` (seconds).
    change_s
        Change time per stop (not modified: a new array is returned).
    rules
        Rules of :func:`gtfs_import.transfers.transfer_rules` without trips or routes.
    walk
        Walk time ``d`` for each ``(u, v)`` of ``rules`` with ``u != v``, used for a
        recommended transfer (type 0) between stops without a footpath.
    """
    change = change_s.copy()
    same = rules.loc[rules["from_stop"] == rules["to_stop"]]
    for s, m in zip(same["from_stop"], same["min_s"], strict=True):
        if m == FORBIDDEN:
            change[s] = FORBIDDEN_CHANGE_S
        elif m >= 0:
            change[s] = m
    between = rules.loc[rules["from_stop"] != rules["to_stop"]].merge(
        walk, left_on=["from_stop", "to_stop"], right_on=["u", "v"], how="left"
    )
    if not len(between):
        return foot, change
    key = foot["u"].to_numpy(np.int64) * (1 << 32) + foot["v"].to_numpy(np.int64)
    rkey = between["from_stop"].to_numpy(np.int64) * (1 << 32) + between["to_stop"].to_numpy(
        np.int64
    )
    # One rule per pair: the last row of transfers.txt wins.
    last = ~pd.Series(rkey).duplicated(keep="last").to_numpy()
    between, rkey = between.loc[last], rkey[last]
    foot = foot.loc[~np.isin(key, rkey)]
    m = between["min_s"].to_numpy(np.int64)
    d = np.where(m >= 0, m, between["d"].to_numpy(np.float64, na_value=np.nan))
    # A recommended transfer keeps an existing walk; a forbidden one is dropped.
    keep = (m != FORBIDDEN) & ((m >= 0) | (m == DEFAULT))
    added = pd.DataFrame(
        {
            "u": between["from_stop"].to_numpy(np.int64)[keep],
            "v": between["to_stop"].to_numpy(np.int64)[keep],
            "d": d[keep].astype(np.int64),
        }
    )
    return pd.concat([foot, added], ignore_index=True), change


def footpath_csr(foot: pd.DataFrame, n_stops: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays ``offset, to, seconds`` of footpaths (shortest per pair, no self-loop)."""
    if not len(foot):
        empty = np.empty(0, dtype=INDEX_DTYPE)
        return np.zeros(n_stops + 1, dtype=INDEX_DTYPE), empty, empty
    df = foot.groupby(["u", "v"], as_index=False)["d"].min()
    df = df.loc[df["u"] != df["v"]].sort_values(["u", "v"])
    counts = np.bincount(df["u"].to_numpy(), minlength=n_stops)
    offset = np.r_[0, np.cumsum(counts)].astype(INDEX_DTYPE)
    return offset, df["v"].to_numpy(dtype=INDEX_DTYPE), df["d"].to_numpy(dtype=INDEX_DTYPE)
