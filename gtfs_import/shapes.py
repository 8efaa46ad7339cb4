"""``shapes.txt``: the drawn path of each trip, and where its stops fall on it.

A leg's geometry is the piece of its trip's shape between the boarding and the alighting
stop. The timetable stores the shapes as flat point arrays and, for every stop event of a
trip with a shape, the stop's point on the shape and the index of the first shape point
after it, so that a leg's geometry is that point, a slice of the shape, and the
alighting stop's point (:func:`leg_points`).

A stop is placed on its shape by ``shape_dist_traveled`` when both the stop times and the
shape give it, else by projecting the stops on the polyline in order: each stop on the
nearest point that is not before the previous stop's (monotone, so that a shape passing
twice near a stop is cut the right way).
"""

from __future__ import annotations

from typing import NamedTuple

import gtfs_kit
import numpy as np
import pandas as pd


class FeedShapes(NamedTuple):
    """The shapes of one feed, points sorted by sequence (internal to the timetable)."""

    ids: dict[str, int]  # shape_id -> index
    offset: np.ndarray  # per shape: first point (len n + 1)
    lat: np.ndarray
    lon: np.ndarray
    dist: np.ndarray  # shape_dist_traveled, NaN where not given


def read_shapes(feed: gtfs_kit.Feed) -> FeedShapes:
    """The shapes of a feed; empty when it has no ``shapes.txt``.

    Points with a missing coordinate are dropped.
    """
    shapes = getattr(feed, "shapes", None)
    if shapes is None or not len(shapes):
        return FeedShapes({}, np.zeros(1, np.int64), np.empty(0), np.empty(0), np.empty(0))
    df = pd.DataFrame(
        {
            "id": shapes["shape_id"].astype("string"),
            "seq": shapes["shape_pt_sequence"].astype("Int64"),
            "lat": shapes["shape_pt_lat"].astype("Float64"),
            "lon": shapes["shape_pt_lon"].astype("Float64"),
            "dist": shapes["shape_dist_traveled"].astype("Float64")
            if "shape_dist_traveled" in shapes.columns
            else pd.Series(pd.NA, index=shapes.index, dtype="Float64"),
        }
    ).dropna(subset=["id", "seq", "lat", "lon"])
    df = df.sort_values(["id", "seq"], kind="stable")
    codes, names = pd.factorize(df["id"])
    counts = np.bincount(codes, minlength=len(names))
    return FeedShapes(
        ids={str(n): i for i, n in enumerate(names)},
        offset=np.r_[0, np.cumsum(counts)].astype(np.int64),
        lat=df["lat"].to_numpy(dtype=float),
        lon=df["lon"].to_numpy(dtype=float),
        dist=df["dist"].to_numpy(dtype=float, na_value=np.nan),
    )


def place_stops(
    lat: np.ndarray,
    lon: np.ndarray,
    dist: np.ndarray,
    stop_lat: np.ndarray,
    stop_lon: np.ndarray,
    stop_dist: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the stops of one trip fall on its shape, in order.

    Parameters
    ----------
    lat, lon, dist
        The shape's points (at least two) and their ``shape_dist_traveled`` (NaN if not
        given).
    stop_lat, stop_lon, stop_dist
        The trip's stops in order and their ``shape_dist_traveled`` (NaN if not given).

    Returns
    -------
    (point_lat, point_lon, next_point)
        Each stop's point on the shape and the index (in the shape) of the first shape
        point after it; ``next_point`` never decreases along the trip.
    """
    n = len(lat)
    if n < 2:
        raise ValueError("a shape needs at least two points")
    use_dist = (
        np.isfinite(dist).all()
        and np.isfinite(stop_dist).all()
        and np.all(np.diff(dist) >= 0)
        and np.all(np.diff(stop_dist) >= 0)
    )
    if use_dist:
        seg = np.clip(np.searchsorted(dist, stop_dist, side="right") - 1, 0, n - 2)
        span = dist[seg + 1] - dist[seg]
        t = np.where(span > 0, (stop_dist - dist[seg]) / np.where(span > 0, span, 1), 0.0)
        t = np.clip(t, 0.0, 1.0)
    else:
        seg, t = _project_in_order(lat, lon, stop_lat, stop_lon)
    p_lat = lat[seg] + t * (lat[seg + 1] - lat[seg])
    p_lon = lon[seg] + t * (lon[seg + 1] - lon[seg])
    return p_lat, p_lon, (seg + 1).astype(np.int64)


def _project_in_order(
    lat: np.ndarray, lon: np.ndarray, stop_lat: np.ndarray, stop_lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Segment and position (0..1) of each stop's nearest point, never going back."""
    scale = np.cos(np.radians(float(np.mean(lat))))  # local equirectangular plane
    x, y = lon * scale, lat
    ax, ay = x[:-1], y[:-1]
    dx, dy = x[1:] - ax, y[1:] - ay
    length2 = dx * dx + dy * dy
    seg = np.zeros(len(stop_lat), np.int64)
    pos = np.zeros(len(stop_lat))
    first, first_t = 0, 0.0
    for i in range(len(stop_lat)):
        px, py = stop_lon[i] * scale, stop_lat[i]
        t = np.where(
            length2 > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(length2 > 0, length2, 1), 0
        )
        t = np.clip(t, 0.0, 1.0)
        t[first] = max(t[first], first_t)  # not before the previous stop on its segment
        d2 = (ax + t * dx - px) ** 2 + (ay + t * dy - py) ** 2
        d2[:first] = np.inf
        j = int(np.argmin(d2))
        seg[i], pos[i] = j, t[j]
        first, first_t = j, float(t[j])
    return seg, pos


def leg_points(
    shape_lat: np.ndarray,
    shape_lon: np.ndarray,
    point_lat: np.ndarray,
    point_lon: np.ndarray,
    next_point: np.ndarray,
    board_event: int,
    alight_event: int,
) -> tuple[tuple[float, float], ...]:
    """(lat, lon) of the shape between two stop events of one trip (timetable arrays).

    The boarding stop's point on the shape, the shape points after it and up to the
    alighting stop, and the alighting stop's point; no point twice in a row.
    """
    a, b = int(next_point[board_event]), int(next_point[alight_event])
    pts = [(float(point_lat[board_event]), float(point_lon[board_event]))]
    pts += zip(
        shape_lat[a:b].astype(float).tolist(), shape_lon[a:b].astype(float).tolist(), strict=True
    )
    pts.append((float(point_lat[alight_event]), float(point_lon[alight_event])))
    # A stop placed exactly on a shape point would repeat it.
    return tuple(p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1])


__all__ = ["FeedShapes", "leg_points", "place_stops", "read_shapes"]
