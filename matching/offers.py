"""Struct-of-arrays views of needs and offers, and the evaluation of every pair.

:func:`build_offer_set` snaps the day's offers and keeps their CH buckets, so that each new
need costs a handful of upward searches; :func:`evaluate` runs the feasibility kernel of
:mod:`matching._feasibility` on a set of needs against an offer set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matching import _feasibility as kernels
from matching.ch import BucketIndex, Table
from matching.engine import Engine
from matching.graph import INF_TIME
from matching.model import DriverTrip, RideNeed, VolunteerAvailability, local_day

_NO_LIMIT_S = np.int64(1) << 40

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OfferSet:
    """The offers of a period as arrays: trips first (``0..n_trips-1``), then volunteers."""

    trips: tuple[DriverTrip, ...]
    volunteers: tuple[VolunteerAvailability, ...]
    offer_ids: tuple[str, ...]
    driver_ids: tuple[str, ...]
    n_trips: int
    start_node: I32
    end_node: I32
    start_gap_m: F64
    seats: I64
    caps: I64
    dep_earliest: I64
    dep_latest: I64
    max_detour: I64
    max_dist_m: F64
    max_dur_s: I64
    max_rides: I64
    w_indptr: I64
    w_start: I64
    w_end: I64
    direct: Table
    starts: BucketIndex
    ends: BucketIndex

    @property
    def n_offers(self) -> int:
        """Number of offers (trips and volunteers)."""
        return len(self.offer_ids)


def build_offer_set(
    engine: Engine, trips: Sequence[DriverTrip], volunteers: Sequence[VolunteerAvailability]
) -> OfferSet:
    """Snap the offers and prepare their arrays and CH buckets (reuse across needs)."""
    trips = tuple(trips)
    volunteers = tuple(volunteers)
    n_t = len(trips)
    n_o = n_t + len(volunteers)
    start_lat = np.array([t.origin_lat for t in trips] + [v.home_lat for v in volunteers])
    start_lon = np.array([t.origin_lon for t in trips] + [v.home_lon for v in volunteers])
    end_lat = np.array([t.destination_lat for t in trips] + [v.home_lat for v in volunteers])
    end_lon = np.array([t.destination_lon for t in trips] + [v.home_lon for v in volunteers])
    if n_o:
        starts = engine.snap(start_lat, start_lon)
        ends = engine.snap(end_lat, end_lon)
        start_node, start_gap, end_node = starts.nodes, starts.gap_m, ends.nodes
    else:
        start_node = end_node = np.empty(0, dtype=np.int32)
        start_gap = np.empty(0)
    w_counts = [0] * n_t + [len(v.windows_sorted) for v in volunteers]
    w_indptr = np.zeros(n_o + 1, dtype=np.int64)
    np.cumsum(w_counts, out=w_indptr[1:])
    windows = [w for v in volunteers for w in v.windows_sorted]
    direct = Table(np.zeros(n_o, dtype=np.int32), np.zeros(n_o))
    if n_t:
        trip_direct = engine.pairwise(start_node[:n_t], end_node[:n_t])
        direct.time_s[:n_t] = trip_direct.time_s
        direct.length_m[:n_t] = trip_direct.length_m
    return OfferSet(
        trips=trips,
        volunteers=volunteers,
        offer_ids=tuple([t.offer_id for t in trips] + [v.driver_id for v in volunteers]),
        driver_ids=tuple([t.driver_id for t in trips] + [v.driver_id for v in volunteers]),
        n_trips=n_t,
        start_node=start_node,
        end_node=end_node,
        start_gap_m=start_gap,
        seats=np.array([t.seats for t in trips] + [v.seats for v in volunteers], dtype=np.int64),
        caps=np.array(
            [int(t.capabilities) for t in trips] + [int(v.capabilities) for v in volunteers],
            dtype=np.int64,
        ),
        dep_earliest=np.array(
            [t.departure_earliest_s for t in trips] + [0] * len(volunteers), dtype=np.int64
        ),
        dep_latest=np.array(
            [t.departure_latest_s for t in trips] + [0] * len(volunteers), dtype=np.int64
        ),
        max_detour=np.array(
            [t.max_detour_s for t in trips] + [0] * len(volunteers), dtype=np.int64
        ),
        max_dist_m=np.array(
            [np.inf] * n_t
            + [
                np.inf if v.max_distance_km is None else v.max_distance_km * 1000.0
                for v in volunteers
            ]
        ),
        max_dur_s=np.array(
            [_NO_LIMIT_S] * n_t
            + [_NO_LIMIT_S if v.max_duration_s is None else v.max_duration_s for v in volunteers],
            dtype=np.int64,
        ),
        max_rides=np.array([1] * n_t + [v.max_rides_per_day for v in volunteers], dtype=np.int64),
        w_indptr=w_indptr,
        w_start=np.array([w[0] for w in windows], dtype=np.int64),
        w_end=np.array([w[1] for w in windows], dtype=np.int64),
        direct=direct,
        starts=engine.buckets(start_node, toward=False),
        ends=engine.buckets(end_node, toward=True),
    )


@dataclass(frozen=True)
class NeedArrays:
    """A batch of needs as arrays (snapped, with their direct and reverse rides)."""

    needs: tuple[RideNeed, ...]
    pickup_node: I32
    dropoff_node: I32
    pickup_gap_m: F64
    dropoff_gap_m: F64
    earliest: I64
    latest: I64
    ret: I64
    ret_slack: I64
    seats: I64
    req: I64
    priority: I64
    day: I64
    ride: Table
    back: Table


def build_need_arrays(
    engine: Engine, needs: Sequence[RideNeed], timezone: str = "Europe/Paris"
) -> NeedArrays:
    """Snap the needs and compute their direct rides (and reverse rides for returns)."""
    needs = tuple(needs)
    n = len(needs)
    pick = engine.snap([x.pickup_lat for x in needs], [x.pickup_lon for x in needs])
    drop = engine.snap([x.dropoff_lat for x in needs], [x.dropoff_lon for x in needs])
    ret = np.array(
        [-1 if x.return_pickup_s is None else x.return_pickup_s for x in needs], dtype=np.int64
    )
    ride = engine.pairwise(pick.nodes, drop.nodes)
    has_ret = ret >= 0
    back = Table(np.full(n, INF_TIME, dtype=np.int32), np.full(n, np.inf))
    if has_ret.any():
        rev = engine.pairwise(drop.nodes[has_ret], pick.nodes[has_ret])
        back.time_s[has_ret] = rev.time_s
        back.length_m[has_ret] = rev.length_m
    return NeedArrays(
        needs=needs,
        pickup_node=pick.nodes,
        dropoff_node=drop.nodes,
        pickup_gap_m=pick.gap_m,
        dropoff_gap_m=drop.gap_m,
        earliest=np.array([x.earliest_pickup_s for x in needs], dtype=np.int64),
        latest=np.array([x.latest_arrival_s for x in needs], dtype=np.int64),
        ret=ret,
        ret_slack=np.array([x.return_slack_s for x in needs], dtype=np.int64),
        seats=np.array([x.seats for x in needs], dtype=np.int64),
        req=np.array([int(x.requirements) for x in needs], dtype=np.int64),
        priority=np.array([x.priority for x in needs], dtype=np.int64),
        day=np.array(
            [local_day(x.earliest_pickup_s, timezone).toordinal() for x in needs], dtype=np.int64
        ),
        ride=ride,
        back=back,
    )


@dataclass(frozen=True)
class Evaluation:
    """Every pair's status, and one row per feasible (need, offer, leg).

    ``rows`` columns: need, offer, leg (0 outbound or volunteer service, 1 return by a
    trip), leave/departure, pickup, drop-off, return pickup, return drop-off, end of the
    driver's service, added driving time; ``row_lengths``: added and total length (m).
    ``row_indptr[n]:row_indptr[n+1]`` are the rows of need ``n``.
    """

    status: npt.NDArray[np.int8]
    status_return: npt.NDArray[np.int8]
    rows: I64
    row_indptr: I64
    row_lengths: F64


def need_data(needs: NeedArrays) -> kernels.NeedData:
    """The needs' arrays as the feasibility kernel reads them."""
    return kernels.NeedData(
        needs.ride.time_s,
        needs.ride.length_m,
        needs.back.time_s,
        needs.back.length_m,
        needs.earliest,
        needs.latest,
        needs.ret,
        needs.ret_slack,
        needs.seats,
        needs.req,
    )


def offer_data(offers: OfferSet) -> kernels.OfferData:
    """The offers' arrays as the feasibility kernel reads them."""
    return kernels.OfferData(
        offers.n_trips,
        offers.seats,
        offers.caps,
        offers.dep_earliest,
        offers.dep_latest,
        offers.direct.time_s,
        offers.direct.length_m,
        offers.max_detour,
        offers.max_dist_m,
        offers.max_dur_s,
        offers.w_indptr,
        offers.w_start,
        offers.w_end,
    )


def evaluate(needs: NeedArrays, offers: OfferSet) -> Evaluation:
    """Evaluate every (need, offer) pair with the feasibility kernel."""
    n_n = len(needs.needs)
    n_o = offers.n_offers
    par = n_n > 1
    # The offers' forward buckets answer "offer start -> point" for each need point as one
    # backward search; every table comes out indexed [need, offer].
    a = offers.starts.times_from_point(needs.pickup_node, parallel=par)
    b = offers.ends.times_from(needs.dropoff_node, parallel=par)
    # Return legs need pickup -> offer end and offer start -> drop-off, only for the needs
    # with a return; the other rows are never read by the kernel.
    has_ret = needs.ret >= 0
    c = Table(np.empty((n_n, n_o), dtype=np.int32), np.empty((n_n, n_o)))
    e = Table(np.empty((n_n, n_o), dtype=np.int32), np.empty((n_n, n_o)))
    if has_ret.all():
        c = offers.ends.times_from(needs.pickup_node, parallel=par)
        e = offers.starts.times_from_point(needs.dropoff_node, parallel=par)
    elif has_ret.any():
        sub_c = offers.ends.times_from(needs.pickup_node[has_ret], parallel=par)
        sub_e = offers.starts.times_from_point(needs.dropoff_node[has_ret], parallel=par)
        c.time_s[has_ret] = sub_c.time_s
        c.length_m[has_ret] = sub_c.length_m
        e.time_s[has_ret] = sub_e.time_s
        e.length_m[has_ret] = sub_e.length_m
    return evaluate_tables(needs, offers, a, b, c, e, parallel=par)


def evaluate_tables(
    needs: NeedArrays,
    offers: OfferSet,
    a: Table,
    b: Table,
    c: Table,
    e: Table,
    *,
    parallel: bool = True,
) -> Evaluation:
    """Run the feasibility kernel on every (need, offer) pair, given the four tables.

    ``a``: offer start -> pickup, ``b``: drop-off -> offer end, ``c``: pickup -> offer end
    and ``e``: offer start -> drop-off (the return legs), each indexed ``[need, offer]``.
    :func:`evaluate` computes them with the CH; a benchmark may compute them with another
    router and reuse the same kernel.
    """
    kernel = kernels.evaluate_pairs if parallel else kernels.evaluate_pairs_serial
    status, status_ret, rows, indptr, lengths = kernel(
        kernels.PairTables(
            a.time_s, a.length_m, b.time_s, b.length_m, c.time_s, c.length_m, e.time_s, e.length_m
        ),
        need_data(needs),
        offer_data(offers),
    )
    return Evaluation(status, status_ret, rows, indptr, lengths)
