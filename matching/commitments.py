"""The day's bookings as fixed commitments, and where a new rider still fits among them.

A :class:`Commitment` is a rider already booked (proposed or confirmed) on a driver: every
later plan keeps her on that driver, her pickup within a small margin of the time she was
promised (:func:`matching.day_instance.build_day_instance` pins her legs).

:func:`insertion_candidates` answers the coordinator's question for ONE new need: which
drivers that already carry someone can still take her, with the seats and the time they
have left. It builds the small instance of those drivers and their booked riders only, lays
the bookings out with the planner's own insertion kernel and inserts the new need with
:func:`matching.pooling._kernels.best_insertion` (exact feasibility by ``schedule``); when the
riders' order in the car is what blocks the insertion, a backtracking search over insertion
positions (:func:`matching.pooling.pins.lay_out_group`, the planner's own) lays the route
out again with the new need in it. Nothing here imports Flask or a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matching.day_instance import (
    DayInstance,
    DayOptions,
    PlannedStop,
    build_day_instance,
    planned_route,
)
from matching.engine import Engine
from matching.model import DriverTrip, RideNeed, VolunteerAvailability
from matching.pooling import PICKUP, PoolingInstance, PoolingPlan
from matching.pooling import _kernels as K
from matching.pooling.lns import Solution, evaluate
from matching.pooling.pins import lay_out_group, lay_out_pins
from matching.pooling.planner import _plan, kernel_data

LEGS = ("outbound", "return")

FALLBACK_BUDGET = 4000
"""Route schedules the layout search may try when plain insertion finds no place (a few
milliseconds)."""


@dataclass(frozen=True)
class Commitment:
    """A rider already booked on a driver: fixed in every later plan."""

    need: RideNeed
    """The need as booked (:class:`matching.model.RideNeed`)."""
    vehicle_key: str
    """``DriverTrip.offer_id`` ('t12') or ``VolunteerAvailability.driver_id`` ('v3')."""
    legs: tuple[str, ...]
    """'outbound' and/or 'return', booked on this ``vehicle_key``."""
    pickup_s: int
    """Promised start of the outbound pickup (of the return pickup when legs == ('return',))."""
    return_pickup_s: int | None = None
    """Promised return pickup when 'return' is in legs with 'outbound'."""

    def __post_init__(self) -> None:
        if not self.legs or len(set(self.legs)) != len(self.legs):
            raise ValueError(f"need {self.need.need_id}: legs must be distinct and not empty")
        if any(leg not in LEGS for leg in self.legs):
            raise ValueError(f"need {self.need.need_id}: legs are 'outbound' and/or 'return'")
        both = set(self.legs) == set(LEGS)
        if both != (self.return_pickup_s is not None):
            raise ValueError(
                f"need {self.need.need_id}: return_pickup_s goes with both legs booked, only"
            )


@dataclass(frozen=True)
class InsertionCandidate:
    """The best place of a new need on a driver who already carries booked riders."""

    vehicle_key: str
    kind: str
    """'trip' or 'volunteer'."""
    pickup_s: int
    dropoff_s: int
    return_pickup_s: int | None
    """The return's pickup when it fits on the same driver too, else None."""
    return_dropoff_s: int | None
    added_distance_m: float
    added_time_s: float
    """Driving time added to the driver's route(s)."""
    stops: tuple[PlannedStop, ...]
    """The driver's stops after the insertion (booked riders and the new one), in time order."""


def insertion_candidates(
    engine: Engine,
    need: RideNeed,
    trips: Sequence[DriverTrip],
    volunteers: Sequence[VolunteerAvailability],
    commitments: Sequence[Commitment],
    options: DayOptions | None = None,
    top: int = 10,
) -> list[InsertionCandidate]:
    """For one new need, the best feasible insertion into each driver with bookings today.

    Only the drivers named by ``commitments`` are considered (``trips`` and ``volunteers``
    may hold more: they are filtered), with exactly the seats and time their booked riders
    leave: each booked pickup stays within ``options.commitment_margin_s`` of its promise.
    Returns at most ``top`` candidates, least added distance first; an empty list when the
    need fits no such driver or cannot be planned at all.
    """
    keys = {c.vehicle_key for c in commitments}
    day = build_day_instance(
        engine,
        [need],
        [t for t in trips if t.offer_id in keys],
        [v for v in volunteers if v.driver_id in keys],
        options,
        commitments,
    )
    return [cand for cand, _, _ in candidate_plans(day)][: max(top, 0)]


def candidate_plans(
    day: DayInstance,
) -> list[tuple[InsertionCandidate, PoolingInstance, PoolingPlan]]:
    """Each candidate with the plan it stands for, for the independent checker.

    ``day`` holds the new need first (``day.needs[0]``) and the bookings. The plan of a
    candidate serves its vehicle group's bookings and the new need; it belongs to an
    instance where the new need's legs are unlinked (the return may go to another driver)
    and the other groups' bookings are free (they are not in that plan).
    """
    inst = day.instance
    if inst.pin_group is None or inst.vehicle_group is None:
        return []
    legs = {int(day.request_leg[r]): r for r in np.flatnonzero(day.request_need == 0)}
    if 0 not in legs:
        return []  # the new need itself is not plannable
    r_out, r_back = int(legs[0]), (int(legs[1]) if 1 in legs else -1)
    unlinked = inst.linked_to.copy()
    unlinked[[r for r in (r_out, r_back) if r >= 0]] = -1
    inst = dataclasses.replace(inst, linked_to=unlinked)
    assert inst.pin_group is not None and inst.vehicle_group is not None
    d = kernel_data(inst)
    base = _lay_out(d, inst)
    out = []
    for g in range(int(inst.vehicle_group.max()) + 1):
        group = np.flatnonzero(inst.vehicle_group == g)
        own = np.flatnonzero(inst.pin_group == g)
        if group.size == 0 or np.any(base.vehicle_of[own] < 0):
            continue  # a booking of this driver no longer fits: nothing to offer
        sol = _insert_in_group(d, base, group, r_out, r_back)
        if sol is None:
            sol = _replan_group(d, inst, base, group, own, r_out, r_back)
        if sol is None:
            continue
        mine = dataclasses.replace(inst, pin_group=np.where(inst.pin_group == g, g, -1))
        cand, plan = _candidate(day, mine, kernel_data(mine), base, sol, group, r_out, r_back)
        out.append((cand, mine, plan))
    out.sort(key=lambda t: (t[0].added_distance_m, t[0].vehicle_key))
    return out


def _lay_out(d: K.KernelData, inst: PoolingInstance) -> Solution:
    """The bookings alone, laid out as the planner lays them out first."""
    nr, nv = inst.n_requests, inst.n_vehicles
    sol = Solution(
        np.zeros((nv, max(2 * nr, 2)), dtype=np.int64),
        np.zeros(nv, dtype=np.int64),
        np.full(nr, -1, dtype=np.int64),
    )
    if nv and inst.has_pins:
        lay_out_pins(d, inst, sol)
    return sol


def _best_in(
    d: K.KernelData, sol: Solution, group: np.ndarray, r: int
) -> tuple[float, int, int, int]:
    """(added distance, vehicle, i, j) of the cheapest insertion of ``r`` in the group."""
    width = sol.routes.shape[1]
    b = np.empty(width + 4)
    slack = np.empty(width + 4)
    b2 = np.empty(width + 4)
    buf = np.empty(width + 2, dtype=np.int64)
    loads = np.empty(width + 4, dtype=np.int64)
    pos = np.zeros(max(sol.vehicle_of.shape[0], 1), dtype=np.int64)
    best = (np.inf, -1, -1, -1)
    for v in group:
        seq, n = sol.routes[v], int(sol.lens[v])
        if not K.route_state(d, int(v), seq, n, b, slack, pos):
            continue
        c, i, j = K.best_insertion(d, int(v), seq, n, r, 0.0, b, slack, buf, b2, pos, loads)
        if c < best[0]:
            best = (float(c), int(v), int(i), int(j))
    return best


def _insert_in_group(
    d: K.KernelData, base: Solution, group: np.ndarray, r_out: int, r_back: int
) -> Solution | None:
    """The bookings' layout plus the new need by cheapest insertion (None: no place)."""
    sol = base.copy()
    for r in (r_out, r_back):
        if r < 0:
            continue
        cost, v, i, j = _best_in(d, sol, group, r)
        if v < 0:
            if r == r_out:
                return None
            continue  # the return does not fit this driver: another one may take it
        buf = np.empty(sol.routes.shape[1] + 2, dtype=np.int64)
        K._insert(sol.routes, sol.lens, v, r, i, j, buf)
        sol.vehicle_of[r] = v
    return sol


def _replan_group(
    d: K.KernelData,
    inst: PoolingInstance,
    base: Solution,
    group: np.ndarray,
    own: np.ndarray,
    r_out: int,
    r_back: int,
) -> Solution | None:
    """Lay the group out again, its bookings and the new outbound in the order of their
    pickups, every position tried (backtracking): finds a place that needs the booked
    riders' order changed. None when there is none (or the search budget runs out)."""
    if _best_in(d, _empty(base, group), group, r_out)[1] < 0:
        return None  # not even an empty car of this driver can take her
    requests = np.append(own, r_out)
    when = inst.pickup_earliest_s[requests].copy()
    if inst.pickup_target_s is not None:
        target = inst.pickup_target_s[requests]
        when = np.where(np.isnan(target), when, target)
    requests = requests[np.argsort(when, kind="stable")]
    sol = lay_out_group(d, base, group, requests, budget=FALLBACK_BUDGET)
    if sol is None:
        return None
    if r_back >= 0:
        cost, v, i, j = _best_in(d, sol, group, r_back)
        if v >= 0:
            buf = np.empty(sol.routes.shape[1] + 2, dtype=np.int64)
            K._insert(sol.routes, sol.lens, v, r_back, i, j, buf)
            sol.vehicle_of[r_back] = v
    return sol


def _empty(sol: Solution, group: np.ndarray) -> Solution:
    out = sol.copy()
    out.lens[group] = 0
    return out


def _candidate(
    day: DayInstance,
    inst: PoolingInstance,
    d: K.KernelData,
    base: Solution,
    sol: Solution,
    group: np.ndarray,
    r_out: int,
    r_back: int,
) -> tuple[InsertionCandidate, PoolingPlan]:
    """The candidate of one group and its plan (the group's routes only)."""
    mine = Solution(
        np.zeros_like(sol.routes), np.zeros_like(sol.lens), np.full_like(sol.vehicle_of, -1)
    )
    mine.routes[group] = sol.routes[group]
    mine.lens[group] = sol.lens[group]
    in_group = np.isin(sol.vehicle_of, group)
    mine.vehicle_of[in_group] = sol.vehicle_of[in_group]
    obj = evaluate(d, mine, float(inst.base_distance_m.sum()))
    plan = _plan(d, inst, mine, obj)
    by_time = d._replace(dist=d.travel)
    added_m = added_s = 0.0
    for v in group:
        v = int(v)
        added_m += K.route_distance(d, v, mine.routes[v], int(mine.lens[v]))
        added_m -= K.route_distance(d, v, base.routes[v], int(base.lens[v]))
        added_s += K.route_distance(by_time, v, mine.routes[v], int(mine.lens[v]))
        added_s -= K.route_distance(by_time, v, base.routes[v], int(base.lens[v]))
    stops = sorted(
        (s for v in group if mine.lens[v] for s in planned_route(day, plan.routes[v]).stops),
        key=lambda s: (s.service_start_s, s.kind != "dropoff"),
    )
    times: dict[tuple[int, str], int] = {}
    for v in group:
        rt = plan.routes[int(v)]
        for k in range(rt.node.shape[0]):
            r = int(rt.request[k])
            if r in (r_out, r_back):
                kind = "pickup" if int(rt.kind[k]) == PICKUP else "dropoff"
                times[(r, kind)] = int(round(float(rt.service_start_s[k])))
    v0 = int(sol.vehicle_of[r_out])
    cand = InsertionCandidate(
        vehicle_key=day.vehicle_offer[v0],
        kind=day.vehicle_kind[v0],
        pickup_s=times[(r_out, "pickup")],
        dropoff_s=times[(r_out, "dropoff")],
        return_pickup_s=times.get((r_back, "pickup")),
        return_dropoff_s=times.get((r_back, "dropoff")),
        added_distance_m=float(added_m),
        added_time_s=float(added_s),
        stops=tuple(stops),
    )
    return cand, plan
