"""Set-partitioning polish: recombine the routes met during the search with HiGHS.

Every feasible route the search builds is remembered (per class of identical vehicles, the
cheapest sequence of each set of requests). At the end a MILP (scipy's HiGHS interface)
picks at most one route per vehicle so that each request is served at most once (exactly
once with ``serve_all``), linked legs together, maximising served weight then minimising
distance. Routes are feasible on their own, so any choice is a feasible plan.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csc_matrix

from matching.pooling import _kernels as K
from matching.pooling.lns import Solution


def vehicle_classes(d: K.KernelData) -> np.ndarray:
    """Class id per vehicle: vehicles with identical attributes share routes."""
    keys: dict[tuple[object, ...], int] = {}
    out = np.empty(d.v_start.shape[0], dtype=np.int64)
    for v in range(out.shape[0]):
        key = (
            int(d.v_start[v]),
            int(d.v_end[v]),
            float(d.v_early[v]),
            float(d.v_late[v]),
            float(d.v_maxdur[v]),
            int(d.v_cap[v]),
            float(d.v_maxadded[v]),
            int(d.v_maxreq[v]),
            bool(d.v_outing[v]),
            d.compat[:, v].tobytes(),
        )
        out[v] = keys.setdefault(key, len(keys))
    return out


class RoutePool:
    """The cheapest known sequence of each (vehicle class, set of requests)."""

    def __init__(self, d: K.KernelData) -> None:
        self.d = d
        self.cls = vehicle_classes(d)
        self.routes: dict[tuple[int, bytes], tuple[float, np.ndarray]] = {}

    def add(self, sol: Solution) -> None:
        d = self.d
        for v in range(sol.routes.shape[0]):
            n = int(sol.lens[v])
            if n == 0:
                continue
            seq = sol.routes[v, :n]
            nodes = np.empty(n + 2, dtype=np.int64)
            nodes[0] = d.v_start[v]
            nodes[1:-1] = d.ev_node[seq]
            nodes[-1] = d.v_end[v]
            cost = float(d.dist[nodes[:-1], nodes[1:]].sum())
            reqs = np.sort(seq[seq % 2 == 0] // 2)
            key = (int(self.cls[v]), reqs.tobytes())
            old = self.routes.get(key)
            if old is None or cost < old[0] - 1e-9:
                self.routes[key] = (cost, seq.copy())

    def solve(
        self,
        current: Solution,
        time_limit_s: float,
        serve_all: bool,
        pinned: np.ndarray | None = None,
    ) -> Solution | None:
        """The best recombination of the pool (None if HiGHS finds nothing in time).

        ``pinned`` (bool[R]) requests served in ``current`` stay served (its routes are in
        the pool, so the constraint never makes the problem infeasible)."""
        d = self.d
        n_req = d.weight.shape[0]
        nv = d.v_start.shape[0]
        keys = list(self.routes)
        if not keys or time_limit_s <= 0:
            return None
        ncls = int(self.cls.max()) + 1
        big = float(d.dist.max()) * (2 * n_req + 2 * nv) + 1.0
        rows, cols = [], []
        cost = np.empty(len(keys))
        rep = np.array([np.flatnonzero(self.cls == c)[0] for c in range(ncls)])
        base = d.dist[d.v_start[rep], d.v_end[rep]]
        for j, key in enumerate(keys):
            c, seq = self.routes[key]
            reqs = np.frombuffer(key[1], dtype=np.int64)
            rows.extend(reqs.tolist())
            cols.extend([j] * reqs.size)
            rows.append(n_req + key[0])
            cols.append(j)
            cost[j] = c - base[key[0]] - big * float(d.weight[reqs].sum())
        a = csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_req + ncls, len(keys)))
        counts = np.bincount(self.cls, minlength=ncls)
        lo = np.concatenate([np.ones(n_req) if serve_all else np.zeros(n_req), np.zeros(ncls)])
        if pinned is not None:
            lo[:n_req][pinned & (current.vehicle_of >= 0)] = 1.0
        hi = np.concatenate([np.ones(n_req), counts.astype(float)])
        cons = [LinearConstraint(a, lo, hi)]
        link = d.link
        pairs = [(r, int(link[r])) for r in range(n_req) if link[r] > r]
        if pairs:
            ar = a[:n_req].tocsr()
            first = np.array([r for r, _ in pairs], dtype=np.int64)
            second = np.array([s for _, s in pairs], dtype=np.int64)
            lk = csc_matrix(ar[first] - ar[second])
            cons.append(LinearConstraint(lk, 0.0, 0.0))
        res = milp(
            cost,
            constraints=cons,
            integrality=np.ones(len(keys)),
            bounds=Bounds(0, 1),
            options={"time_limit": float(time_limit_s), "disp": False},
        )
        if res.x is None:
            return None
        chosen = np.flatnonzero(res.x > 0.5)
        out = Solution(
            np.zeros_like(current.routes),
            np.zeros_like(current.lens),
            np.full(n_req, -1, dtype=np.int64),
        )
        free = {c: [int(u) for u in np.flatnonzero(self.cls == c)] for c in range(ncls)}
        for col in chosen:
            key = keys[int(col)]
            seq = self.routes[key][1]
            v = free[key[0]].pop(0)
            out.routes[v, : seq.size] = seq
            out.lens[v] = seq.size
            out.vehicle_of[seq[seq % 2 == 0] // 2] = v
        return out
