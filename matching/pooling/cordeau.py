"""Reader of the Cordeau dial-a-ride instances (the classic DARP benchmark format).

First line ``vehicles nodes(=2n) max_route_duration capacity max_ride_time``, then one line
per node ``id x y service load tw_start tw_end``: node 0 the depot, ``1..n`` pickups,
``i + n`` the drop-off of request ``i`` (a trailing copy of the depot, ``2n + 1``, is ignored).
Times are minutes; travel time and cost are the Euclidean distance, kept as floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.pooling.model import PoolingError, PoolingInstance, instance_from_arrays


@dataclass(frozen=True)
class CordeauInstance:
    """A parsed instance: its name, the pooling instance and the raw node table."""

    name: str
    instance: PoolingInstance
    xy: np.ndarray
    """float64[2n + 1, 2] coordinates of the nodes (node ids are row numbers)."""
    service: np.ndarray
    load: np.ndarray
    tw: np.ndarray
    """float64[2n + 1, 2] time windows of the nodes."""
    vehicles: int
    capacity: int
    max_route_duration: float
    max_ride_time: float


def read_cordeau(path: str | Path) -> CordeauInstance:
    """Parse a Cordeau-format file into a serve-all, distance-minimising pooling instance.

    Raises
    ------
    PoolingError
        If the file is malformed (with the file and the line).
    """
    path = Path(path)
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    if not lines or len(lines[0]) != 5:
        raise PoolingError(f"{path}: the first line must hold 5 numbers")
    try:
        nv, nn, dur, cap, ride = (float(x) for x in lines[0])
        rows = np.array([[float(x) for x in ln[:7]] for ln in lines[1:]])
    except ValueError as exc:
        raise PoolingError(f"{path}: not a number ({exc})") from None
    n2 = int(nn)
    if n2 % 2 or rows.ndim != 2 or rows.shape[1] != 7 or rows.shape[0] < n2 + 1:
        raise PoolingError(f"{path}: expected {n2 + 1} node lines of 7 numbers")
    rows = rows[: n2 + 1]
    if not np.array_equal(rows[:, 0], np.arange(n2 + 1)):
        raise PoolingError(f"{path}: node ids must be 0..{n2} in order")
    n = n2 // 2
    xy = rows[:, 1:3]
    diff = xy[:, None, :] - xy[None, :, :]
    euclid = np.sqrt((diff**2).sum(axis=2))
    tw = rows[:, 5:7]
    service = rows[:, 3]
    load = rows[:, 4]
    pick = np.arange(1, n + 1)
    drop = pick + n
    inst = instance_from_arrays(
        euclid,
        euclid,
        pickup_node=pick,
        dropoff_node=drop,
        pickup_earliest_s=tw[pick, 0],
        pickup_latest_s=tw[pick, 1],
        dropoff_earliest_s=tw[drop, 0],
        dropoff_latest_s=tw[drop, 1],
        service_s=service[pick],
        dropoff_service_s=service[drop],
        load=load[pick].astype(np.int64),
        max_ride_s=ride,
        start_node=np.zeros(int(nv), dtype=np.int64),
        end_node=np.zeros(int(nv), dtype=np.int64),
        earliest_start_s=tw[0, 0],
        latest_end_s=tw[0, 1],
        capacity=int(cap),
        max_duration_s=dur,
        serve_all=True,
    )
    return CordeauInstance(
        name=path.stem,
        instance=inst,
        xy=xy,
        service=service,
        load=load,
        tw=tw,
        vehicles=int(nv),
        capacity=int(cap),
        max_route_duration=dur,
        max_ride_time=ride,
    )
