"""A binary min-heap of (int64 key, int32 value) pairs on preallocated arrays (numba).

Used with lazy deletion by every Dijkstra-like search: a node is pushed again when its key
decreases and stale entries are skipped when popped, so the capacity must be at least one
plus the number of successful relaxations (the number of edges searched is always enough).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True)
def heap_push(
    keys: npt.NDArray[np.int64], vals: npt.NDArray[np.int32], size: int, key: int, val: int
) -> int:
    """Push ``(key, val)``; return the new size (capacity is not checked)."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    vals[i] = val
    return size + 1


@njit(cache=True)
def heap_pop(
    keys: npt.NDArray[np.int64], vals: npt.NDArray[np.int32], size: int
) -> tuple[int, int, int]:
    """Pop the smallest pair; return ``(key, val, new_size)``. ``size`` must be > 0."""
    key = keys[0]
    val = vals[0]
    size -= 1
    if size > 0:
        last_key = keys[size]
        last_val = vals[size]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            if child + 1 < size and keys[child + 1] < keys[child]:
                child += 1
            if keys[child] >= last_key:
                break
            keys[i] = keys[child]
            vals[i] = vals[child]
            i = child
        keys[i] = last_key
        vals[i] = last_val
    return key, val, size
