"""Snapping coordinates to the nearest graph node (a k-d tree built once per graph)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from matching.graph import RoadGraph

EARTH_RADIUS_M = 6_371_008.8


def _unit_vectors(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    # 3-D unit vectors: the chord between two points is a monotone function of their
    # great-circle distance, so the k-d tree's nearest neighbour is the true nearest node
    # anywhere on Earth (no projection zone to pick).
    la = np.radians(lat)
    lo = np.radians(lon)
    cos_la = np.cos(la)
    return np.column_stack((cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la)))


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres (broadcasting over arrays)."""
    la1, lo1, la2, lo2 = (
        np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2)
    )
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def _check_points(
    lat: npt.ArrayLike, lon: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if la.shape != lo.shape or la.ndim != 1:
        raise ValueError("lat and lon must be scalars or 1-D arrays of the same length")
    if not (np.all(np.isfinite(la)) and np.all(np.isfinite(lo))):
        raise ValueError("lat and lon must be finite")
    if la.size and (np.abs(la).max() > 90 or np.abs(lo).max() > 180):
        raise ValueError("lat must lie in [-90, 90] and lon in [-180, 180]")
    return la, lo


class NodeIndex:
    """Nearest-node index of a graph; build once, query many times (thread-safe reads)."""

    def __init__(self, g: RoadGraph) -> None:
        if g.n_nodes == 0:
            raise ValueError("cannot snap to an empty graph")
        self.n_nodes = g.n_nodes
        self._tree = cKDTree(_unit_vectors(g.node_lat, g.node_lon))

    def query(
        self, lat: npt.ArrayLike, lon: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """Nearest node of each point and its straight-line distance in metres."""
        la, lo = _check_points(lat, lon)
        chord, nodes = self._tree.query(_unit_vectors(la, lo))
        dist_m = 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord) / 2, 0.0, 1.0))
        return np.asarray(nodes, dtype=np.int32), dist_m


def nearest_nodes(
    g: RoadGraph,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    *,
    index: NodeIndex | None = None,
    return_dist: bool = False,
) -> npt.NDArray[np.int32] | tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Nearest graph node of each point (like :func:`osmnx.nearest_nodes`).

    Parameters
    ----------
    g : RoadGraph
    lat, lon : float or array_like
        WGS84 degrees; scalars give 1-element arrays.
    index : NodeIndex, optional
        A prebuilt index of ``g``; without it one is built (O(n log n)): pass one, or use
        :class:`matching.engine.Engine`, when snapping repeatedly.
    return_dist : bool
        Also return the straight-line distance to the node in metres.
    """
    idx = index if index is not None else NodeIndex(g)
    if idx.n_nodes != g.n_nodes:
        raise ValueError("index was built on another graph")
    nodes, dist = idx.query(lat, lon)
    return (nodes, dist) if return_dist else nodes
