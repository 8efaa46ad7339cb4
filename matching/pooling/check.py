"""Independent checker of pooled plans: plain Python over the instance's own arrays.

It shares no code with the solver's kernels: it re-reads every route stop by stop and
recomputes loads, times, ride times, durations, detours and costs from the matrices.
"""

from __future__ import annotations

import math

from matching.pooling.model import (
    DROPOFF,
    END,
    PICKUP,
    START,
    PoolingInstance,
    PoolingPlan,
)

TOL = 1e-6


def _late(x: float, limit: float) -> bool:
    return x > limit + TOL * max(1.0, abs(limit))


def check_plan(inst: PoolingInstance, plan: PoolingPlan) -> list[str]:  # noqa: C901
    """Every broken constraint of ``plan`` as a message; an empty list means a valid plan.

    Checks: one route per vehicle from its start to its end; each request picked up once then
    dropped off once by the same vehicle; capacity, requirements, the one-rider rule, request
    caps; travel times between stops (waiting allowed), time windows, ride times, route
    durations, detour budgets; pinned requests served by a vehicle of their group;
    linked legs all-or-nothing; ``served``/``vehicle_of``
    consistent; ``serve_all``; and the objective and total distance recomputed.
    """
    errs: list[str] = []
    nr, nv = inst.n_requests, inst.n_vehicles
    pins, groups = inst.pin_group, inst.vehicle_group
    if len(plan.routes) != nv:
        return [f"plan has {len(plan.routes)} routes for {nv} vehicles"]
    seen_vehicle = [-1] * nr
    total_dist = 0.0
    base = 0.0
    spread = 0.0
    for v, rt in enumerate(plan.routes):
        where = f"vehicle {v}"
        n = len(rt.node)
        if rt.vehicle != v:
            errs.append(f"{where}: route is labelled vehicle {rt.vehicle}")
        if n < 2 or int(rt.kind[0]) != START or int(rt.kind[-1]) != END:
            errs.append(f"{where}: route must begin with START and end with END")
            continue
        if int(rt.node[0]) != int(inst.start_node[v]) or int(rt.node[-1]) != int(inst.end_node[v]):
            errs.append(f"{where}: route does not go from its start node to its end node")
        onboard: dict[int, float] = {}
        load = 0
        picked = 0
        dist = 0.0
        travel = 0.0
        home = int(inst.start_node[v])
        outing = bool(inst.is_volunteer_outing[v])
        cap = int(inst.capacity[v])
        for k in range(n):
            kind = int(rt.kind[k])
            node = int(rt.node[k])
            start = float(rt.service_start_s[k])
            if k > 0:
                prev = int(rt.node[k - 1])
                via = (
                    inst.one_rider_per_drive
                    and outing
                    and int(rt.kind[k - 1]) == DROPOFF
                    and kind == PICKUP
                )
                if via:
                    t = float(inst.travel_s[prev, home]) + float(inst.travel_s[home, node])
                    dd = float(inst.distance_m[prev, home]) + float(inst.distance_m[home, node])
                else:
                    t = float(inst.travel_s[prev, node])
                    dd = float(inst.distance_m[prev, node])
                dist += dd
                travel += t
                ready = float(rt.departure_s[k - 1]) + t
                if _late(ready, start):
                    errs.append(
                        f"{where}, stop {k}: service starts at {start} before arrival {ready}"
                    )
            if kind in (START, END):
                if k not in (0, n - 1):
                    errs.append(f"{where}, stop {k}: START/END in the middle of a route")
                if start < float(inst.earliest_start_s[v]) - TOL or _late(
                    start, float(inst.latest_end_s[v])
                ):
                    errs.append(f"{where}, stop {k}: outside the vehicle's availability")
                continue
            r = int(rt.request[k])
            if not 0 <= r < nr:
                errs.append(f"{where}, stop {k}: unknown request {r}")
                continue
            if kind == PICKUP:
                if node != int(inst.pickup_node[r]):
                    errs.append(f"{where}: request {r} picked up at the wrong node")
                if seen_vehicle[r] != -1:
                    errs.append(f"request {r} picked up twice")
                seen_vehicle[r] = v
                lo, hi = float(inst.pickup_earliest_s[r]), float(inst.pickup_latest_s[r])
                service = float(inst.pickup_service_s[r])
                if int(inst.requirement_mask[r]) & ~int(inst.capability_mask[v]):
                    errs.append(f"{where}: cannot meet the requirements of request {r}")
                if (
                    pins is not None
                    and groups is not None
                    and pins[r] >= 0
                    and int(groups[v]) != int(pins[r])
                ):
                    errs.append(
                        f"{where}: request {r} is pinned to group {int(pins[r])}, "
                        f"the vehicle is in group {int(groups[v])}"
                    )
                onboard[r] = start + service
                load += int(inst.load[r])
                picked += 1
                if inst.one_rider_per_drive and len(onboard) > 1:
                    errs.append(f"{where}: several riders on board in the one-rider model")
            elif kind == DROPOFF:
                if node != int(inst.dropoff_node[r]):
                    errs.append(f"{where}: request {r} dropped off at the wrong node")
                if r not in onboard:
                    errs.append(f"{where}: request {r} dropped off before being picked up")
                    continue
                lo, hi = float(inst.dropoff_earliest_s[r]), float(inst.dropoff_latest_s[r])
                service = float(inst.dropoff_service_s[r])
                ride = start - onboard.pop(r)
                if _late(ride, float(inst.max_ride_s[r])):
                    errs.append(
                        f"request {r}: ride of {ride} over the maximum {inst.max_ride_s[r]}"
                    )
                load -= int(inst.load[r])
            else:
                errs.append(f"{where}, stop {k}: unknown stop kind {kind}")
                continue
            if start < lo - TOL * max(1.0, abs(lo)) or _late(start, hi):
                errs.append(f"{where}: request {r} served at {start} outside [{lo}, {hi}]")
            if not math.isclose(float(rt.departure_s[k]), start + service, abs_tol=TOL):
                errs.append(f"{where}, stop {k}: departure is not service start plus dwell")
            if load > cap:
                errs.append(f"{where}, stop {k}: {load} seats taken, capacity {cap}")
            if int(rt.load_after[k]) != load:
                errs.append(f"{where}, stop {k}: reported load {rt.load_after[k]} is not {load}")
        if onboard:
            errs.append(f"{where}: requests {sorted(onboard)} never dropped off")
        duration = float(rt.service_start_s[-1]) - float(rt.service_start_s[0])
        if _late(duration, float(inst.max_duration_s[v])):
            errs.append(f"{where}: route lasts {duration}, over {inst.max_duration_s[v]}")
        added_t = travel - float(inst.travel_s[inst.start_node[v], inst.end_node[v]])
        if inst.max_added_s[v] >= 0 and _late(added_t, float(inst.max_added_s[v])):
            errs.append(f"{where}: added driving {added_t} over the budget {inst.max_added_s[v]}")
        if inst.max_requests[v] >= 0 and picked > inst.max_requests[v]:
            errs.append(f"{where}: {picked} requests over the cap {inst.max_requests[v]}")
        if inst.one_rider_per_drive and not outing and picked > 1:
            errs.append(f"{where}: a driver's trip carries several requests in the one-rider model")
        total_dist += dist
        base += float(inst.distance_m[inst.start_node[v], inst.end_node[v]])
        spread += picked * picked
    weight = 0.0
    for r in range(nr):
        served = seen_vehicle[r] >= 0
        if bool(plan.served[r]) != served:
            errs.append(f"request {r}: served flag is {bool(plan.served[r])}, routes say {served}")
        if int(plan.vehicle_of[r]) != seen_vehicle[r]:
            errs.append(
                f"request {r}: vehicle_of is {plan.vehicle_of[r]}, routes say {seen_vehicle[r]}"
            )
        if served:
            weight += float(inst.priority_weight[r])
        elif inst.serve_all:
            errs.append(f"request {r} is not served (serve_all)")
        if not served and pins is not None and pins[r] >= 0:
            errs.append(f"request {r} is pinned to group {int(pins[r])} but not served")
        j = int(inst.linked_to[r])
        if j >= 0 and served != (seen_vehicle[j] >= 0):
            errs.append(f"requests {r} and {j} are linked legs: served together or not at all")
    if not math.isclose(plan.distance_m, total_dist, rel_tol=1e-9, abs_tol=1e-6):
        errs.append(f"distance {plan.distance_m} differs from the recomputed {total_dist}")
    obj = plan.objective
    if not math.isclose(obj.served_weight, weight, rel_tol=1e-9, abs_tol=1e-9):
        errs.append(f"served weight {obj.served_weight} differs from the recomputed {weight}")
    if not math.isclose(obj.added_distance_m, total_dist - base, rel_tol=1e-9, abs_tol=1e-6):
        errs.append(f"added distance {obj.added_distance_m} differs from {total_dist - base}")
    if not math.isclose(obj.load_spread, spread, abs_tol=1e-9):
        errs.append(f"load spread {obj.load_spread} differs from the recomputed {spread}")
    return errs
