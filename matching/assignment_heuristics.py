"""Fast primal heuristics of the batch assignment: a feasible plan before (or without) a proof.

The batch model (:mod:`matching.assignment`) has two kinds of constraints: packing rows
(``A_i . x <= u_i``: a need served once, a trip's one seat, a volunteer's daily cap, no two
overlapping services) and balance rows (``x_out - sum x_ret = 0``: a need served outbound by
a trip has its return served by another trip). A greedy pass takes candidate columns in a
given order and keeps each one whose rows still have room; a column that heads a balance row
is taken only together with the cheapest return that still fits. Any order gives a feasible
plan: by level-1 weight (:func:`greedy_order`) before any LP, or by LP value
(:func:`lp_order`), which rounds a fractional LP optimum and repairs it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.sparse import csc_matrix, csr_matrix

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

NO_ROW = -1
"""``head_row`` of a column that heads no balance row."""

_TOL = 1e-9


class GreedyModel(NamedTuple):
    """The constraint matrix of a batch arranged for the greedy kernel.

    ``col_ptr``/``col_row``/``col_val``: the matrix by column (CSC). ``upper``: right-hand
    sides of the packing rows. ``is_balance``: balance rows (``lower == upper == 0``).
    ``head_row``: the balance row a column heads (coefficient +1), or :data:`NO_ROW`.
    ``tail_ptr``/``tail_col``: per balance row, its tail columns (coefficient -1), each of
    which may be taken only as that row's partner. ``is_head``: the columns a pass may start
    from (every column but the tails). ``row_ptr``/``row_col``: the matrix by row (CSR
    pattern), to find which taken columns fill a row.
    """

    col_ptr: I64
    col_row: I64
    col_val: F64
    upper: F64
    is_balance: B
    head_row: I64
    tail_ptr: I64
    tail_col: I64
    is_head: B
    row_ptr: I64
    row_col: I64


def greedy_model(matrix: csr_matrix, lower: F64, upper: F64) -> GreedyModel:
    """Arrange a batch's constraints for :func:`greedy_fill`.

    Raises
    ------
    ValueError
        When a row is neither a packing row (``lower = -inf``) nor a balance row
        (``lower = upper = 0`` with coefficients +1 on at most one head per column and -1 on
        tails), or a tail column sits in more than one balance row.
    """
    n_rows, n_cols = matrix.shape
    if lower.shape != (n_rows,) or upper.shape != (n_rows,):
        raise ValueError("lower and upper need one value per constraint row")
    is_balance = np.isfinite(lower)
    if np.any(is_balance & ((lower != 0.0) | (upper != 0.0))):
        raise ValueError("a two-sided row must be a balance row: lower = upper = 0")
    if np.any(~is_balance & ~np.isfinite(upper)):
        raise ValueError("a packing row needs a finite upper bound")
    csc = csc_matrix(matrix)
    csc.sort_indices()
    col_ptr = csc.indptr.astype(np.int64)
    col_row = csc.indices.astype(np.int64)
    col_val = csc.data.astype(np.float64)
    col_of_entry = np.repeat(np.arange(n_cols, dtype=np.int64), np.diff(col_ptr))
    on_balance = is_balance[col_row]
    if np.any(on_balance & (np.abs(col_val) != 1.0)):
        raise ValueError("balance rows take coefficients +1 (head) or -1 (tail) only")
    heads = on_balance & (col_val > 0)
    tails = on_balance & (col_val < 0)
    if np.any(np.bincount(col_of_entry[heads], minlength=n_cols) > 1):
        raise ValueError("a column heads at most one balance row")
    tail_count = np.bincount(col_of_entry[tails], minlength=n_cols)
    if np.any(tail_count > 1):
        raise ValueError("a tail column sits in one balance row only")
    if np.any((tail_count > 0) & (np.bincount(col_of_entry[heads], minlength=n_cols) > 0)):
        raise ValueError("a column is either a head or a tail of balance rows")
    head_row = np.full(n_cols, NO_ROW, dtype=np.int64)
    head_row[col_of_entry[heads]] = col_row[heads]
    tail_rows = col_row[tails]
    tail_cols = col_of_entry[tails]
    csr = csr_matrix(matrix)
    csr.sort_indices()
    order = np.argsort(tail_rows, kind="stable")
    tail_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail_rows, minlength=n_rows), out=tail_ptr[1:])
    return GreedyModel(
        col_ptr,
        col_row,
        col_val,
        np.where(is_balance, 0.0, upper).astype(np.float64),
        is_balance,
        head_row,
        tail_ptr,
        tail_cols[order].astype(np.int64),
        tail_count == 0,
        csr.indptr.astype(np.int64),
        csr.indices.astype(np.int64),
    )


class PlanState(NamedTuple):
    """A plan being built, changed in place by the kernels.

    ``chosen``: the taken columns. ``activity``: each row's left-hand side. ``partner``: the
    return taken with a head column (-1 when none). ``served_head``: per need, the head
    column serving it (-1 when unserved; empty in the greedy pass, which does not use it).
    """

    chosen: B
    activity: F64
    partner: I64
    served_head: I64


class NeedColumns(NamedTuple):
    """The columns seen from the needs, for the local search.

    ``col_need``: the need of each column. ``need_ptr``/``need_col``: per need, its head
    columns, cheapest first (CSR). ``weight``/``cost``: level-1 weight and level-2 cost per
    column.
    """

    col_need: I64
    need_ptr: I64
    need_col: I64
    weight: F64
    cost: F64


@njit(cache=True)
def _fits(k: int, activity: F64, gm_ptr: I64, gm_row: I64, gm_val: F64, upper: F64, bal: B) -> bool:
    # The helpers called for every column take the arrays they read, not named tuples:
    # reading arrays out of tuples in each of these calls (likely a reference count each)
    # made the local search 1.5 times slower; the tuples stop at the kernels' entry points
    # and at the recursive _place.
    for j in range(gm_ptr[k], gm_ptr[k + 1]):
        i = gm_row[j]
        if not bal[i] and activity[i] + gm_val[j] > upper[i] + _TOL:
            return False
    return True


@njit(cache=True)
def _shift(k: int, activity: F64, gm_ptr: I64, gm_row: I64, gm_val: F64, sign: float) -> None:
    for j in range(gm_ptr[k], gm_ptr[k + 1]):
        activity[gm_row[j]] += sign * gm_val[j]


@njit(cache=True)
def _insert(
    k: int,
    chosen: B,
    activity: F64,
    partner: I64,
    col_ptr: I64,
    col_row: I64,
    col_val: F64,
    upper: F64,
    is_balance: B,
    head_row: I64,
    tail_ptr: I64,
    tail_col: I64,
    cost: F64,
) -> bool:
    """Take head ``k`` (and the cheapest return that fits when it heads a balance row) if
    it fits; record the return in ``partner[k]``."""
    if chosen[k] or not _fits(k, activity, col_ptr, col_row, col_val, upper, is_balance):
        return False
    # The head's rows are counted while its partner is looked for (a shared seat).
    _shift(k, activity, col_ptr, col_row, col_val, 1.0)
    e = head_row[k]
    if e < 0:
        chosen[k] = True
        partner[k] = -1
        return True
    best = -1
    for idx in range(tail_ptr[e], tail_ptr[e + 1]):
        r = tail_col[idx]
        if chosen[r] or not _fits(r, activity, col_ptr, col_row, col_val, upper, is_balance):
            continue
        if best < 0 or cost[r] < cost[best]:
            best = r
    if best < 0:
        _shift(k, activity, col_ptr, col_row, col_val, -1.0)
        return False
    _shift(best, activity, col_ptr, col_row, col_val, 1.0)
    chosen[k] = True
    chosen[best] = True
    partner[k] = best
    return True


@njit(cache=True)
def _put(
    k: int, r: int, chosen: B, activity: F64, partner: I64, col_ptr: I64, col_row: I64, col_val: F64
) -> None:
    """Take head ``k`` and its return ``r`` (or -1) back, unchecked (restoring a state)."""
    _shift(k, activity, col_ptr, col_row, col_val, 1.0)
    chosen[k] = True
    partner[k] = r
    if r >= 0:
        _shift(r, activity, col_ptr, col_row, col_val, 1.0)
        chosen[r] = True


@njit(cache=True)
def _remove(
    k: int, chosen: B, activity: F64, partner: I64, col_ptr: I64, col_row: I64, col_val: F64
) -> None:
    """Drop head ``k`` and its return."""
    _shift(k, activity, col_ptr, col_row, col_val, -1.0)
    chosen[k] = False
    r = partner[k]
    if r >= 0:
        _shift(r, activity, col_ptr, col_row, col_val, -1.0)
        chosen[r] = False
    partner[k] = -1


@njit(cache=True)
def _greedy_fill_kernel(order: I64, st: PlanState, gm: GreedyModel, cost: F64) -> None:
    """Take the columns of ``order`` that still fit (in place on ``st``)."""
    chosen = st.chosen
    activity = st.activity
    partner = st.partner
    col_ptr = gm.col_ptr
    col_row = gm.col_row
    col_val = gm.col_val
    upper = gm.upper
    is_balance = gm.is_balance
    head_row = gm.head_row
    tail_ptr = gm.tail_ptr
    tail_col = gm.tail_col
    for k in order:
        _insert(
            k, chosen, activity, partner, col_ptr, col_row, col_val, upper, is_balance,
            head_row, tail_ptr, tail_col, cost,
        )  # fmt: skip


_MAX_BLOCKERS = 8
"""Most needs in the way of one column that the local search tries to displace."""


@njit(cache=True)
def _blockers(
    k: int,
    chosen: B,
    activity: F64,
    col_ptr: I64,
    col_row: I64,
    col_val: F64,
    upper: F64,
    is_balance: B,
    row_ptr: I64,
    row_col: I64,
    col_need: I64,
    out: I64,
) -> int:
    """The needs whose taken columns fill a row that ``k`` does not fit (written to ``out``,
    at most its length); returns how many."""
    n = 0
    for j in range(col_ptr[k], col_ptr[k + 1]):
        i = col_row[j]
        if is_balance[i] or activity[i] + col_val[j] <= upper[i] + _TOL:
            continue
        for jj in range(row_ptr[i], row_ptr[i + 1]):
            c = row_col[jj]
            if not chosen[c]:
                continue
            v = col_need[c]
            seen = False
            for m in range(n):
                if out[m] == v:
                    seen = True
                    break
            if not seen:
                if n == out.shape[0]:
                    return n
                out[n] = v
                n += 1
    return n


@njit(cache=True)
def _place(
    u: int,
    depth: int,
    top_weight: float,
    in_chain: B,
    st: PlanState,
    gm: GreedyModel,
    nc: NeedColumns,
) -> bool:
    """Serve the unserved need ``u``, if need be by taking the place of a need in its way
    (one whose removal alone makes room), which is served elsewhere in turn (up to ``depth`` needs down the chain) or, at
    the end of the chain, dropped when it weighs less than ``top_weight`` (the need the
    chain started from). The state is unchanged when it fails."""
    chosen = st.chosen
    activity = st.activity
    partner = st.partner
    served_head = st.served_head
    col_ptr = gm.col_ptr
    col_row = gm.col_row
    col_val = gm.col_val
    upper = gm.upper
    is_balance = gm.is_balance
    head_row = gm.head_row
    tail_ptr = gm.tail_ptr
    tail_col = gm.tail_col
    need_ptr = nc.need_ptr
    need_col = nc.need_col
    cost = nc.cost
    for idx in range(need_ptr[u], need_ptr[u + 1]):
        k = need_col[idx]
        if _insert(
            k, chosen, activity, partner, col_ptr, col_row, col_val, upper, is_balance,
            head_row, tail_ptr, tail_col, cost,
        ):  # fmt: skip
            served_head[u] = k
            return True
    if depth <= 0:
        return False
    in_chain[u] = True
    blockers = np.empty(_MAX_BLOCKERS, dtype=np.int64)
    for idx in range(need_ptr[u], need_ptr[u + 1]):
        k = need_col[idx]
        n_blockers = _blockers(
            k, chosen, activity, col_ptr, col_row, col_val, upper, is_balance, gm.row_ptr,
            gm.row_col, nc.col_need, blockers,
        )  # fmt: skip
        for b in range(n_blockers):
            v = blockers[b]
            if in_chain[v] or served_head[v] < 0:
                continue
            hv = served_head[v]
            rv = partner[hv]
            _remove(hv, chosen, activity, partner, col_ptr, col_row, col_val)
            served_head[v] = -1
            if not _insert(
                k, chosen, activity, partner, col_ptr, col_row, col_val, upper, is_balance,
                head_row, tail_ptr, tail_col, cost,
            ):  # fmt: skip
                _put(hv, rv, chosen, activity, partner, col_ptr, col_row, col_val)
                served_head[v] = hv
                continue
            served_head[u] = k
            if top_weight > nc.weight[hv] or _place(
                v, depth - 1, top_weight, in_chain, st, gm, nc
            ):  # fmt: skip
                in_chain[u] = False
                return True
            _remove(k, chosen, activity, partner, col_ptr, col_row, col_val)
            served_head[u] = -1
            _put(hv, rv, chosen, activity, partner, col_ptr, col_row, col_val)
            served_head[v] = hv
    in_chain[u] = False
    return False


@njit(cache=True)
def _improve_kernel(
    st: PlanState, gm: GreedyModel, nc: NeedColumns, max_passes: int, depth: int
) -> int:
    """Local search; returns the number of moves made (see :func:`improve_plan`)."""
    chosen = st.chosen
    activity = st.activity
    partner = st.partner
    served_head = st.served_head
    col_ptr = gm.col_ptr
    col_row = gm.col_row
    col_val = gm.col_val
    upper = gm.upper
    is_balance = gm.is_balance
    head_row = gm.head_row
    tail_ptr = gm.tail_ptr
    tail_col = gm.tail_col
    need_ptr = nc.need_ptr
    need_col = nc.need_col
    weight = nc.weight
    cost = nc.cost
    moves = 0
    n_needs = need_ptr.shape[0] - 1
    in_chain = np.zeros(n_needs, dtype=np.bool_)
    for _ in range(max_passes):
        improved = False
        # Level 1: place an unserved need, moving the needs in its way along a chain.
        for u in range(n_needs):
            if served_head[u] >= 0 or need_ptr[u] == need_ptr[u + 1]:
                continue
            if _place(u, depth, weight[need_col[need_ptr[u]]], in_chain, st, gm, nc):
                improved = True
                moves += 1
        # Level 2: move a served need to a cheaper way of serving it that fits.
        for v in range(n_needs):
            hv = served_head[v]
            if hv < 0:
                continue
            rv = partner[hv]
            old = cost[hv] + (cost[rv] if rv >= 0 else 0.0)
            _remove(hv, chosen, activity, partner, col_ptr, col_row, col_val)
            placed = False
            for idx in range(need_ptr[v], need_ptr[v + 1]):
                h = need_col[idx]
                if h == hv or weight[h] < weight[hv] or cost[h] >= old:
                    continue
                if _insert(
                    h, chosen, activity, partner, col_ptr, col_row, col_val, upper,
                    is_balance, head_row, tail_ptr, tail_col, cost,
                ):  # fmt: skip
                    r = partner[h]
                    if cost[h] + (cost[r] if r >= 0 else 0.0) < old:
                        served_head[v] = h
                        placed = True
                        improved = True
                        moves += 1
                        break
                    _remove(h, chosen, activity, partner, col_ptr, col_row, col_val)
            if not placed:
                _put(hv, rv, chosen, activity, partner, col_ptr, col_row, col_val)
        if not improved:
            break
    return moves


def greedy_fill(
    gm: GreedyModel, order: I64, cost: F64, start: B | None = None
) -> npt.NDArray[np.bool_]:
    """A feasible plan: ``start`` (feasible, or none) plus every column of ``order`` that fits.

    Parameters
    ----------
    gm : GreedyModel
        From :func:`greedy_model`.
    order : int64 array
        Head columns to try, first first (tails in it are skipped: they come with a head).
    cost : float64 array
        Per column; among the returns that fit a head, the cheapest is taken.
    start : bool array, optional
        Columns already taken; must be feasible.

    Returns
    -------
    bool array
        The chosen columns.
    """
    n_cols = gm.head_row.shape[0]
    if cost.shape != (n_cols,):
        raise ValueError("cost needs one value per column")
    order = np.asarray(order, dtype=np.int64)
    if order.size and (order.min() < 0 or order.max() >= n_cols):
        raise ValueError("order holds a column out of range")
    chosen = np.zeros(n_cols, dtype=np.bool_) if start is None else start.astype(np.bool_)
    activity = np.zeros(gm.upper.shape[0])
    for k in np.flatnonzero(chosen):
        activity[gm.col_row[gm.col_ptr[k] : gm.col_ptr[k + 1]]] += gm.col_val[
            gm.col_ptr[k] : gm.col_ptr[k + 1]
        ]
    order = order[gm.is_head[order]]
    _greedy_fill_kernel(
        order,
        PlanState(
            chosen, activity, np.full(n_cols, -1, dtype=np.int64), np.empty(0, dtype=np.int64)
        ),
        gm,
        np.ascontiguousarray(cost, dtype=np.float64),
    )
    return chosen


def _activity(gm: GreedyModel, chosen: B) -> F64:
    x = chosen.astype(np.float64)
    activity = np.zeros(gm.upper.shape[0])
    col_of_entry = np.repeat(np.arange(x.shape[0]), np.diff(gm.col_ptr))
    np.add.at(activity, gm.col_row, gm.col_val * x[col_of_entry])
    return activity


def improve_plan(
    gm: GreedyModel,
    chosen: B,
    weight: F64,
    cost: F64,
    col_need: I64,
    max_passes: int = 3,
    depth: int = 2,
) -> tuple[B, int]:
    """Local search from a feasible plan; returns the improved plan and the moves made.

    Level 1: each unserved need tries its ways of being served (cheapest first); when a
    served need whose removal alone makes room is in the way, it takes that need's place and the displaced need is
    served elsewhere in the same way, down a chain of at most ``depth`` displaced needs (a
    gain of one need); a displaced need lighter than the one the chain started from (a
    priority need) may instead be dropped. Level 2: each served need
    moves to a cheaper way that fits. Every move keeps the plan feasible; passes repeat
    while they improve, at most ``max_passes`` times.

    Parameters
    ----------
    gm : GreedyModel
    chosen : bool array
        A feasible plan (e.g. from :func:`greedy_fill`); not modified.
    weight, cost : float64 arrays
        Level-1 weight (higher is better) and level-2 cost (lower is better) per column.
    col_need : int64 array
        The need of each column; a need's heads must exclude each other (a packing row).
    max_passes : int
    """
    n_cols = gm.head_row.shape[0]
    for name, arr in (("weight", weight), ("cost", cost), ("col_need", col_need)):
        if arr.shape != (n_cols,):
            raise ValueError(f"{name} needs one value per column")
    if max_passes < 0 or depth < 0:
        raise ValueError("max_passes and depth must be >= 0")
    out = chosen.astype(np.bool_)
    n_needs = int(col_need.max(initial=-1)) + 1
    heads = np.flatnonzero(gm.is_head)
    served_head = np.full(n_needs, -1, dtype=np.int64)
    taken = heads[out[heads]]
    if np.unique(col_need[taken]).shape[0] != taken.shape[0]:
        raise ValueError("two taken columns serve the same need")
    served_head[col_need[taken]] = taken
    partner = np.full(n_cols, -1, dtype=np.int64)
    for k in taken[gm.head_row[taken] >= 0].tolist():
        e = int(gm.head_row[k])
        tails = gm.tail_col[gm.tail_ptr[e] : gm.tail_ptr[e + 1]]
        partner[k] = int(tails[out[tails]][0])
    order = heads[np.lexsort((cost[heads], col_need[heads]))]
    need_ptr = np.zeros(n_needs + 1, dtype=np.int64)
    np.cumsum(np.bincount(col_need[order], minlength=n_needs), out=need_ptr[1:])
    moves = _improve_kernel(
        PlanState(out, _activity(gm, out), partner, served_head),
        gm,
        NeedColumns(
            np.ascontiguousarray(col_need, dtype=np.int64),
            need_ptr,
            order.astype(np.int64),
            np.ascontiguousarray(weight, dtype=np.float64),
            np.ascontiguousarray(cost, dtype=np.float64),
        ),
        max_passes,
        depth,
    )
    return out, int(moves)


def greedy_order(weight: F64, added: F64, row_need: I64) -> I64:
    """Columns by level-1 weight (highest first), then by how few options their need has
    (the hardest needs to place first), then by added driving (least first)."""
    options = np.bincount(row_need[weight > 0], minlength=int(row_need.max(initial=-1)) + 1)
    return np.lexsort((added, options[row_need], -weight)).astype(np.int64)


def lp_order(x: F64, weight: F64, added: F64) -> tuple[I64, F64]:
    """Columns by LP value (rounded to 1e-6, largest first), then weight, then added driving:
    the columns at 1 come first (they fit together), then the fractional ones.

    Returns the order and the partner cost for :func:`greedy_fill`: the return of largest LP
    value first (the LP's own return keeps the seats of the other heads free), then the
    cheapest.
    """
    value = np.round(x, 6)
    order = np.lexsort((added, -weight, -value)).astype(np.int64)
    scale = 10.0 * (float(np.abs(added).max(initial=0.0)) + 1.0)
    return order, added - scale * value


def warm_up_heuristics() -> None:
    """Compile the greedy kernel on a two-column problem (balance row, seat row)."""
    matrix = csr_matrix(np.array([[1.0, -1.0], [1.0, 1.0]]))
    gm = greedy_model(matrix, np.array([0.0, -np.inf]), np.array([0.0, 2.0]))
    chosen = greedy_fill(gm, np.array([0, 1], dtype=np.int64), np.zeros(2))
    improve_plan(gm, chosen, np.array([1.0, 0.0]), np.zeros(2), np.array([0, 0]))
