"""Contraction hierarchies: index built once, point-to-point and many-to-many queries."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class CHIndex(NamedTuple):
    """A contraction-hierarchy index, nodes renumbered by rank (0 = contracted first).

    ``rank[v]`` is the rank of graph node ``v`` and ``order[r]`` the node of rank ``r``.
    The upward forward graph holds, for each rank ``r``, the edges ``r -> s`` with
    ``s > r``; the upward backward graph holds the reversed edges ``r <- s`` with
    ``s > r`` (stored as ``r -> s``). ``*_middle`` is the rank of the node a shortcut
    bypasses, or ``-1`` for an edge of the road graph. ``graph_key`` holds the number of
    nodes, the number of edges and a checksum of the road graph the index was built from.
    """

    rank: npt.NDArray[np.int32]
    order: npt.NDArray[np.int32]
    fwd_indptr: npt.NDArray[np.int64]
    fwd_head: npt.NDArray[np.int32]
    fwd_time: npt.NDArray[np.int32]
    fwd_length: npt.NDArray[np.float64]
    fwd_middle: npt.NDArray[np.int32]
    bwd_indptr: npt.NDArray[np.int64]
    bwd_head: npt.NDArray[np.int32]
    bwd_time: npt.NDArray[np.int32]
    bwd_length: npt.NDArray[np.float64]
    bwd_middle: npt.NDArray[np.int32]
    graph_key: npt.NDArray[np.int64]


def check_ch(ch: CHIndex, g: object) -> None:
    """Placeholder replaced by the full checker below in the CH module."""
    raise NotImplementedError
