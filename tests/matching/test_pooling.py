"""Tests of the pooled route planner: exact references, the checker, the model's rules."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from matching.pooling import (
    DROPOFF,
    PICKUP,
    PoolingError,
    PoolingInstance,
    check_plan,
    instance_from_arrays,
    plan_routes,
    warm_up,
)
from matching.pooling import _kernels as K
from matching.pooling import _repair as KR
from matching.pooling.planner import kernel_data
from tests.conftest import SHARED_DATA

CORDEAU = SHARED_DATA / "darp" / "cordeau-laporte-a"


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


# ---------------------------------------------------------------- reference implementations


def lp_feasible(inst: PoolingInstance, v: int, seq: list[int]) -> bool:
    """Whether a schedule exists for the event sequence (HiGHS LP, no shared code)."""
    n = len(seq)
    nodes = [int(inst.start_node[v])]
    early = [float(inst.earliest_start_s[v])]
    late = [float(inst.latest_end_s[v])]
    service = [0.0]
    for e in seq:
        r = e // 2
        if e % 2 == 0:
            nodes.append(int(inst.pickup_node[r]))
            early.append(float(inst.pickup_earliest_s[r]))
            late.append(float(inst.pickup_latest_s[r]))
            service.append(float(inst.pickup_service_s[r]))
        else:
            nodes.append(int(inst.dropoff_node[r]))
            early.append(float(inst.dropoff_earliest_s[r]))
            late.append(float(inst.dropoff_latest_s[r]))
            service.append(float(inst.dropoff_service_s[r]))
    nodes.append(int(inst.end_node[v]))
    early.append(float(inst.earliest_start_s[v]))
    late.append(float(inst.latest_end_s[v]))
    rows, rhs = [], []
    for k in range(n + 1):
        row = np.zeros(n + 2)
        row[k] = 1.0
        row[k + 1] = -1.0
        rows.append(row)
        rhs.append(-(service[k] + float(inst.travel_s[nodes[k], nodes[k + 1]])))
    where = {e: k + 1 for k, e in enumerate(seq)}
    for e in seq:
        if e % 2 == 1 and np.isfinite(inst.max_ride_s[e // 2]):
            row = np.zeros(n + 2)
            row[where[e]] = 1.0
            row[where[e - 1]] = -1.0
            rows.append(row)
            rhs.append(float(inst.max_ride_s[e // 2]) + service[where[e - 1]])
    if np.isfinite(inst.max_duration_s[v]):
        row = np.zeros(n + 2)
        row[n + 1] = 1.0
        row[0] = -1.0
        rows.append(row)
        rhs.append(float(inst.max_duration_s[v]))
    res = linprog(
        np.zeros(n + 2),
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        bounds=list(zip(early, late, strict=True)),
        method="highs",
    )
    return res.status == 0


def sequences(requests: tuple[int, ...]) -> list[list[int]]:
    """Every order of the pickups and drop-offs with each pickup before its drop-off."""
    events = [e for r in requests for e in (2 * r, 2 * r + 1)]
    out = []
    for perm in itertools.permutations(events):
        pos = {e: k for k, e in enumerate(perm)}
        if all(pos[2 * r] < pos[2 * r + 1] for r in requests):
            out.append(list(perm))
    return out


def route_ok(inst: PoolingInstance, v: int, seq: list[int]) -> bool:
    load = 0
    for e in seq:
        r = e // 2
        if e % 2 == 0 and int(inst.requirement_mask[r]) & ~int(inst.capability_mask[v]):
            return False
        load += int(inst.load[r]) if e % 2 == 0 else -int(inst.load[r])
        if load > inst.capacity[v]:
            return False
    return lp_feasible(inst, v, seq)


def seq_distance(inst: PoolingInstance, v: int, seq: list[int]) -> float:
    nodes = [int(inst.start_node[v])]
    nodes += [
        int(inst.pickup_node[e // 2] if e % 2 == 0 else inst.dropoff_node[e // 2]) for e in seq
    ]
    nodes.append(int(inst.end_node[v]))
    return float(sum(inst.distance_m[a, b] for a, b in itertools.pairwise(nodes)))


def brute_force(inst: PoolingInstance) -> tuple[float, float]:
    """(best served weight, least added distance for it) by enumeration."""
    nr, nv = inst.n_requests, inst.n_vehicles
    best_route: dict[tuple[int, tuple[int, ...]], float] = {}
    for v in range(nv):
        for size in range(nr + 1):
            for subset in itertools.combinations(range(nr), size):
                costs = [
                    seq_distance(inst, v, s) for s in sequences(subset) if route_ok(inst, v, s)
                ]
                if costs:
                    best_route[(v, subset)] = min(costs) - float(inst.base_distance_m[v])
    best = (0.0, 0.0)
    for assign in itertools.product(range(-1, nv), repeat=nr):
        subsets = [tuple(r for r in range(nr) if assign[r] == v) for v in range(nv)]
        if any((v, subsets[v]) not in best_route for v in range(nv)):
            continue
        weight = float(sum(inst.priority_weight[r] for r in range(nr) if assign[r] >= 0))
        added = sum(best_route[(v, subsets[v])] for v in range(nv))
        if (-weight, added) < (-best[0], best[1]):
            best = (weight, added)
    return best


def random_instance(seed: int, nr: int, nv: int, **kw: object) -> PoolingInstance:
    rng = np.random.default_rng(seed)
    n = 2 * nr + nv
    xy = rng.uniform(0, 10, size=(n, 2))
    travel = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    pe = rng.uniform(0, 30, nr)
    direct = travel[np.arange(nr), nr + np.arange(nr)]
    args: dict[str, object] = dict(
        pickup_node=np.arange(nr),
        dropoff_node=nr + np.arange(nr),
        pickup_earliest_s=pe,
        pickup_latest_s=pe + rng.uniform(0, 15, nr),
        dropoff_earliest_s=0.0,
        dropoff_latest_s=pe + direct + rng.uniform(5, 30, nr),
        start_node=2 * nr + np.arange(nv),
        end_node=2 * nr + np.arange(nv),
        earliest_start_s=0.0,
        latest_end_s=120.0,
        capacity=rng.integers(1, 3, nv),
        service_s=1.0,
        max_ride_s=direct * 1.5 + 3.0,
        max_duration_s=rng.uniform(40, 120, nv),
        priority_weight=rng.choice([1.0, 2.0], nr),
    )
    args.update(kw)
    return instance_from_arrays(travel, travel, **args)  # type: ignore[arg-type]


# ---------------------------------------------------------------- exactness


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nr=st.integers(1, 4))
def test_schedule_kernel_agrees_with_an_lp(seed: int, nr: int) -> None:
    inst = random_instance(seed, nr, 1, capacity=9)
    d = kernel_data(inst)
    rng = np.random.default_rng(seed)
    all_seqs = sequences(tuple(range(nr)))
    for idx in rng.choice(len(all_seqs), size=min(6, len(all_seqs)), replace=False):
        seq = all_seqs[int(idx)]
        b = np.empty(len(seq) + 2)
        pos = np.zeros(nr, dtype=np.int64)
        got = K.schedule(d, 0, np.array(seq, dtype=np.int64), len(seq), b, pos)
        assert got == lp_feasible(inst, 0, seq), seq


def test_small_plans_against_brute_force() -> None:
    """On 150 tiny instances (1-3 requests, 2 vehicles, fixed seeds): every plan is feasible and
    never better than the exact optimum (which would mean a wrong checker or brute force), and
    the planner, a heuristic, reaches the optimum almost always.

    Measured when written (seeds 0-399): the served weight was optimal in 99.6 % of the
    instances and the added distance in 94 % (worst 1.6x the optimum): the search misses some
    exchanges between two routes; the thresholds below keep it from getting worse.
    """
    weight_optimal = distance_optimal = total = 0
    for seed in range(50):
        for nr in (1, 2, 3):
            inst = random_instance(seed, nr, 2)
            plan = plan_routes(inst, time_limit_s=30.0, seed=seed, max_iterations=300)
            assert check_plan(inst, plan) == []
            weight, added = brute_force(inst)
            assert plan.objective.served_weight <= weight + 1e-9
            total += 1
            if plan.objective.served_weight == pytest.approx(weight):
                weight_optimal += 1
                assert plan.objective.added_distance_m >= added - 1e-6
                distance_optimal += plan.objective.added_distance_m == pytest.approx(
                    added, abs=1e-6
                )
    assert weight_optimal >= 0.98 * total, (weight_optimal, total)
    assert distance_optimal >= 0.90 * total, (distance_optimal, total)


# ---------------------------------------------------------------- the checker


def _two_riders(**kw: object) -> PoolingInstance:
    # nodes: 0 home, 1 village A, 2 village B, 3 hospital
    travel = np.array(
        [[0, 10, 12, 30], [10, 0, 4, 25], [12, 4, 0, 22], [30, 25, 22, 0]], dtype=float
    )
    args: dict[str, object] = dict(
        pickup_node=[1, 2],
        dropoff_node=[3, 3],
        pickup_earliest_s=[0.0, 0.0],
        pickup_latest_s=[100.0, 100.0],
        dropoff_earliest_s=[0.0, 0.0],
        dropoff_latest_s=[60.0, 60.0],
        start_node=[0],
        end_node=[0],
        earliest_start_s=0.0,
        latest_end_s=200.0,
        capacity=3,
        max_ride_s=40.0,
    )
    args.update(kw)
    return instance_from_arrays(travel, travel, **args)  # type: ignore[arg-type]


def test_checker_accepts_a_plan_and_catches_each_violation() -> None:
    inst = _two_riders()
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=100)
    assert plan.n_served == 2
    assert check_plan(inst, plan) == []
    rt = plan.routes[0]
    assert max(rt.load_after) == 2  # pooled: both on board

    def broken(**kw: object) -> list[str]:
        return check_plan(dataclasses.replace(inst, **kw), plan)

    assert any("capacity" in m for m in broken(capacity=np.array([1])))
    assert any("outside" in m for m in broken(dropoff_latest_s=np.array([30.0, 30.0])))
    assert any("ride of" in m for m in broken(max_ride_s=np.array([10.0, 10.0])))
    assert any("lasts" in m for m in broken(max_duration_s=np.array([20.0])))
    assert any("added driving" in m for m in broken(max_added_s=np.array([5.0])))
    assert any("requirements" in m for m in broken(requirement_mask=np.array([2, 0])))
    assert any("one-rider" in m for m in broken(one_rider_per_drive=True))
    assert any("over the cap" in m for m in broken(max_requests=np.array([1])))
    assert any("availability" in m for m in broken(latest_end_s=np.array([50.0])))
    # a cost that does not add up, a stop moved before it can be reached
    assert any("distance" in m for m in check_plan(inst, dataclasses.replace(plan, distance_m=1.0)))
    early = rt.service_start_s.copy()
    early[2] -= 5.0
    moved = dataclasses.replace(plan, routes=(rt._replace(service_start_s=early),))
    assert any("before arrival" in m for m in check_plan(inst, moved))


def test_checker_catches_a_broken_link_and_serve_all() -> None:
    inst = _two_riders(dropoff_latest_s=[60.0, 23.0])  # rider 1 cannot reach in time
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=100)
    assert plan.served.tolist() == [True, False]
    assert check_plan(inst, plan) == []
    linked = dataclasses.replace(inst, linked_to=np.array([1, 0]))
    assert any("linked legs" in m for m in check_plan(linked, plan))
    assert any(
        "serve_all" in m for m in check_plan(dataclasses.replace(inst, serve_all=True), plan)
    )


# ---------------------------------------------------------------- the model's rules


def test_one_rider_switch_carries_one_rider_at_a_time() -> None:
    inst = _two_riders(pickup_latest_s=[30.0, 30.0], dropoff_latest_s=[45.0, 45.0])
    pooled = plan_routes(inst, time_limit_s=30.0, max_iterations=100)
    alone = plan_routes(
        dataclasses.replace(inst, one_rider_per_drive=True), time_limit_s=30.0, max_iterations=100
    )
    assert check_plan(dataclasses.replace(inst, one_rider_per_drive=True), alone) == []
    assert pooled.n_served == 2
    assert alone.n_served == 1
    for rt in alone.routes:
        onboard = np.cumsum(np.where(rt.kind == PICKUP, 1, np.where(rt.kind == DROPOFF, -1, 0)))
        assert onboard.max() <= 1


def test_one_rider_volunteer_goes_home_between_services() -> None:
    inst = _two_riders(dropoff_latest_s=[100.0, 200.0], latest_end_s=400.0)
    one = dataclasses.replace(inst, one_rider_per_drive=True)
    plan = plan_routes(one, time_limit_s=30.0, max_iterations=100)
    assert plan.n_served == 2
    assert check_plan(one, plan) == []
    # two round trips from home: 10+25+30 and 12+22+30
    assert plan.distance_m == pytest.approx(65.0 + 64.0)


def test_linked_legs_are_served_together_or_not_at_all() -> None:
    # rider 0 to the hospital and back (request 1), the return only after 150: too late
    travel = np.array([[0, 10, 30], [10, 0, 25], [30, 25, 0]], dtype=float)
    common: dict[str, object] = dict(
        pickup_node=[1, 2],
        dropoff_node=[2, 1],
        pickup_earliest_s=[0.0, 150.0],
        pickup_latest_s=[50.0, 200.0],
        dropoff_earliest_s=0.0,
        dropoff_latest_s=[60.0, 300.0],
        start_node=[0],
        end_node=[0],
        earliest_start_s=0.0,
        latest_end_s=140.0,
        capacity=1,
    )
    free = instance_from_arrays(travel, travel, **common)  # type: ignore[arg-type]
    assert plan_routes(free, time_limit_s=30.0, max_iterations=100).served.tolist() == [True, False]
    linked = instance_from_arrays(travel, travel, linked_to=[1, 0], **common)  # type: ignore[arg-type]
    plan = plan_routes(linked, time_limit_s=30.0, max_iterations=100)
    assert plan.served.tolist() == [False, False]
    assert check_plan(linked, plan) == []
    # with a second driver available later, both legs are served (by different vehicles)
    two = instance_from_arrays(
        travel,
        travel,
        linked_to=[1, 0],
        **{
            **common,
            "start_node": [0, 0],
            "end_node": [0, 0],
            "earliest_start_s": [0.0, 100.0],
            "latest_end_s": [140.0, 400.0],
        },  # type: ignore[arg-type]
    )
    plan = plan_routes(two, time_limit_s=30.0, max_iterations=100)
    assert plan.served.tolist() == [True, True]
    assert plan.vehicle_of[0] != plan.vehicle_of[1]
    assert check_plan(two, plan) == []


def test_requirements_pick_the_capable_vehicle_and_priority_comes_first() -> None:
    wheelchair = 2
    inst = _two_riders(
        start_node=[0, 0],
        end_node=[0, 0],
        capacity=[1, 1],
        capability_mask=[0, wheelchair],
        requirement_mask=[wheelchair, 0],
    )
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=100)
    assert plan.served.tolist() == [True, True]
    assert plan.vehicle_of[0] == 1
    assert check_plan(inst, plan) == []
    # one seat, two riders, cannot pool: the priority rider (weight 2) is the one served
    one = _two_riders(
        capacity=1,
        pickup_latest_s=[30.0, 30.0],
        dropoff_latest_s=[45.0, 45.0],
        priority_weight=[1.0, 2.0],
    )
    plan = plan_routes(one, time_limit_s=30.0, max_iterations=100)
    assert plan.served.tolist() == [False, True]


def test_detour_budget_of_a_drivers_own_trip() -> None:
    # a driver from node 1 to node 3 (25); the rider at node 2 -> 3 adds 4 + 22 - 25 = 1
    inst = _two_riders(
        pickup_node=[2],
        dropoff_node=[3],
        pickup_earliest_s=[0.0],
        pickup_latest_s=[100.0],
        dropoff_earliest_s=[0.0],
        dropoff_latest_s=[100.0],
        start_node=[1],
        end_node=[3],
    )
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=100)
    assert plan.n_served == 1
    assert plan.objective.added_distance_m == pytest.approx(1.0)
    tight = dataclasses.replace(inst, max_added_s=np.array([0.5]))
    assert plan_routes(tight, time_limit_s=30.0, max_iterations=100).n_served == 0


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(PoolingError, match="square"):
        instance_from_arrays(
            np.zeros((2, 3)),
            np.zeros((2, 3)),
            pickup_node=[0],
            dropoff_node=[1],
            pickup_earliest_s=0,
            pickup_latest_s=1,
            dropoff_earliest_s=0,
            dropoff_latest_s=1,
            start_node=[0],
            end_node=[0],
            earliest_start_s=0,
            latest_end_s=1,
            capacity=1,
        )
    with pytest.raises(PoolingError, match="symmetric"):
        _two_riders(linked_to=[1, -1])
    with pytest.raises(PoolingError, match="window is empty"):
        _two_riders(pickup_earliest_s=[50.0, 0.0], pickup_latest_s=[10.0, 100.0])
    with pytest.raises(PoolingError, match="index"):
        _two_riders(pickup_node=[1, 9])
    with pytest.raises(ValueError, match="time_limit_s"):
        plan_routes(_two_riders(), time_limit_s=-1.0)


# ---------------------------------------------------------------- the Cordeau benchmark


def test_cordeau_a2_16_is_solved_feasibly() -> None:
    path = CORDEAU / "a2-16.txt"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    from benchmarks.darp import _json_routes, recheck_routes
    from matching.pooling.cordeau import read_cordeau

    ci = read_cordeau(path)
    plan = plan_routes(ci.instance, time_limit_s=20.0, max_iterations=400)
    assert plan.n_served == 16
    assert check_plan(ci.instance, plan) == []
    problems, cost = recheck_routes(path, _json_routes(plan))
    assert problems == []
    assert cost == pytest.approx(plan.distance_m)
    assert 294.25 - 0.01 <= plan.distance_m <= 294.25 * 1.05


def test_warm_up_compiles_every_kernel_called_from_python() -> None:
    import re

    from numba.core.registry import CPUDispatcher

    # every kernel the Python side of the planner calls (callees are compiled with them)
    folder = Path(K.__file__).parent
    called = set()
    for name in ("planner.py", "lns.py", "polish.py", "pins.py", "../commitments.py"):
        text = (folder / name).read_text()
        called |= {(K, n) for n in re.findall(r"\bK\.(\w+)\(", text)}
        called |= {(KR, n) for n in re.findall(r"\bKR\.(\w+)\(", text)}
    kernels = {(m, n) for m, n in called if isinstance(getattr(m, n), CPUDispatcher)}
    names = {n for _, n in kernels}
    assert {"repair", "relocate", "solo_feasible", "schedule", "removal_gains"} <= names
    assert [n for m, n in sorted(kernels, key=str) if not getattr(m, n).signatures] == []


def test_read_cordeau_refuses_a_malformed_file(tmp_path: Path) -> None:
    from matching.pooling.cordeau import read_cordeau

    bad = tmp_path / "bad.txt"
    bad.write_text("2 4 480 3\n0 0 0 0 0 0 1440\n")
    with pytest.raises(PoolingError, match="first line"):
        read_cordeau(bad)
    bad.write_text("1 2 480 3 30\n0 0 0 0 0 0 1440\n1 1 1 3 1 0 1440\n")
    with pytest.raises(PoolingError, match="node lines"):
        read_cordeau(bad)


def test_first_plan_only_and_empty_instances() -> None:
    inst = _two_riders()
    first = plan_routes(inst, time_limit_s=30.0, first_plan_only=True)
    assert first.iterations == 0
    assert check_plan(inst, first) == []
    no_riders = _two_riders(
        pickup_node=np.zeros(0, dtype=np.int64),
        dropoff_node=np.zeros(0, dtype=np.int64),
        pickup_earliest_s=np.zeros(0),
        pickup_latest_s=np.zeros(0),
        dropoff_earliest_s=np.zeros(0),
        dropoff_latest_s=np.zeros(0),
    )
    plan = plan_routes(no_riders, time_limit_s=1.0)
    assert plan.n_served == 0 and plan.proven_optimal
    assert check_plan(no_riders, plan) == []
    no_cars = _two_riders(
        start_node=np.zeros(0, dtype=np.int64),
        end_node=np.zeros(0, dtype=np.int64),
        earliest_start_s=np.zeros(0),
        latest_end_s=np.zeros(0),
        capacity=np.zeros(0),
    )
    plan = plan_routes(no_cars, time_limit_s=1.0)
    assert plan.served.tolist() == [False, False]
    assert check_plan(no_cars, plan) == []


# ---------------------------------------------------------------- pinned requests (bookings)


def _pinned(seed: int, nr: int = 8, nv: int = 4) -> PoolingInstance:
    """A random instance whose first requests are booked: each pinned to the group of the
    vehicle that served it in a free plan (so every pin fits)."""
    free = random_instance(seed, nr, nv, capacity=3)
    plan = plan_routes(free, time_limit_s=30.0, seed=seed, max_iterations=50)
    pins = np.full(nr, -1)
    served = np.flatnonzero(plan.served)[:3]
    pins[served] = plan.vehicle_of[served] // 2  # groups of two vehicles: {0, 1}, {2, 3}
    # each booked pickup keeps the time it had, +- 2
    start = {
        int(rt.request[k]): float(rt.service_start_s[k])
        for rt in plan.routes
        for k in range(rt.node.size)
        if rt.kind[k] == PICKUP
    }
    lo = free.pickup_earliest_s.copy()
    hi = free.pickup_latest_s.copy()
    for r in served:
        lo[r] = max(lo[r], start[int(r)] - 2.0)
        hi[r] = min(hi[r], start[int(r)] + 2.0)
    return dataclasses.replace(
        free,
        pickup_earliest_s=lo,
        pickup_latest_s=hi,
        priority_weight=np.where(pins >= 0, 100.0, free.priority_weight),
        pin_group=pins,
        vehicle_group=np.arange(nv) // 2,
    )


def test_pinned_requests_stay_in_their_group_across_seeds() -> None:
    for base in range(6):
        inst = _pinned(base)
        assert inst.pin_group is not None and inst.vehicle_group is not None
        pinned = np.flatnonzero(inst.pin_group >= 0)
        assert pinned.size
        for seed in range(4):
            plan = plan_routes(inst, time_limit_s=30.0, seed=seed, max_iterations=150)
            assert check_plan(inst, plan) == []
            assert plan.broken_pins == ()
            v = plan.vehicle_of[pinned]
            assert np.all(v >= 0)
            assert np.array_equal(inst.vehicle_group[v], inst.pin_group[pinned])


def test_a_pin_that_fits_nowhere_is_reported_not_raised() -> None:
    # rider 1 is booked on vehicle 1's group but vehicle 1 cannot reach her in time
    inst = _two_riders(
        start_node=[0, 3],
        end_node=[0, 3],
        earliest_start_s=[0.0, 90.0],
        pin_group=[-1, 0],
        vehicle_group=[-1, 0],
    )
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=50)
    assert plan.broken_pins == (1,)
    assert plan.vehicle_of[1] == -1 and plan.vehicle_of[0] == 0
    assert any("pinned" in e and "not served" in e for e in check_plan(inst, plan))


def test_checker_reports_a_pinned_request_on_the_wrong_vehicle() -> None:
    free = _two_riders(start_node=[0, 0], end_node=[0, 0], capacity=[1, 1])
    plan = plan_routes(free, time_limit_s=30.0, max_iterations=50)
    assert plan.served.all()
    wrong = dataclasses.replace(
        free,
        pin_group=np.array([1 - plan.vehicle_of[0], -1]),
        vehicle_group=np.array([0, 1]),
    )
    errs = check_plan(wrong, plan)
    assert any("pinned to group" in e for e in errs), errs
    assert check_plan(free, plan) == []


def test_unused_pins_change_nothing() -> None:
    for seed in range(5):
        inst = random_instance(seed, 6, 3)
        none = dataclasses.replace(
            inst, pin_group=np.full(6, -1, dtype=np.int64), vehicle_group=np.zeros(3, np.int64)
        )
        a = plan_routes(inst, time_limit_s=30.0, seed=seed, max_iterations=80)
        b = plan_routes(none, time_limit_s=30.0, seed=seed, max_iterations=80)
        assert np.array_equal(a.vehicle_of, b.vehicle_of)
        assert a.objective == b.objective
        for ra, rb in zip(a.routes, b.routes, strict=True):
            assert np.array_equal(ra.request, rb.request)
            assert np.array_equal(ra.service_start_s, rb.service_start_s)


def test_pickup_target_is_kept_when_the_route_allows_it() -> None:
    inst = _two_riders(pickup_latest_s=[100.0, 100.0], dropoff_latest_s=[200.0, 200.0])
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=50)
    rt = plan.routes[0]
    early = {
        int(rt.request[k]): float(rt.service_start_s[k])
        for k in range(rt.node.size)
        if rt.kind[k] == PICKUP
    }
    # ask for the first pickup 20 later: the least schedule would move it back
    first = min(early, key=early.__getitem__)
    target = np.full(2, np.nan)
    target[first] = early[first] + 20.0
    aimed = dataclasses.replace(inst, pickup_target_s=target)
    plan2 = plan_routes(aimed, time_limit_s=30.0, max_iterations=50)
    assert check_plan(aimed, plan2) == []
    rt2 = plan2.routes[0]
    got = {
        int(rt2.request[k]): float(rt2.service_start_s[k])
        for k in range(rt2.node.size)
        if rt2.kind[k] == PICKUP
    }
    assert got[first] == pytest.approx(target[first])
    # an unreachable target (past the window) gives the latest feasible start instead
    target[first] = 1e4
    late = dataclasses.replace(inst, pickup_target_s=target)
    plan3 = plan_routes(late, time_limit_s=30.0, max_iterations=50)
    assert check_plan(late, plan3) == []
    rt3 = plan3.routes[0]
    k = int(np.flatnonzero((rt3.kind == PICKUP) & (rt3.request == first))[0])
    assert rt3.service_start_s[k] > got[first]


def test_pin_arrays_are_validated() -> None:
    with pytest.raises(PoolingError, match="pin_group must have shape"):
        _two_riders(pin_group=[0], vehicle_group=[0])
    with pytest.raises(PoolingError, match="vehicle_group must have shape"):
        _two_riders(pin_group=[0, -1], vehicle_group=[0, 0])
    with pytest.raises(PoolingError, match="pinned or both free"):
        _two_riders(linked_to=[1, 0], pin_group=[0, -1], vehicle_group=[0])
    with pytest.raises(PoolingError, match=">= 0 or -1"):
        _two_riders(pin_group=[-3, 0], vehicle_group=[0])
    with pytest.raises(PoolingError, match="pickup_target_s"):
        _two_riders(pickup_target_s=[np.inf, np.nan])
    inst = _two_riders(pin_group=[0, -1])  # vehicle_group defaults to "no group"
    assert inst.vehicle_group is not None and inst.vehicle_group.tolist() == [-1]
    assert plan_routes(inst, time_limit_s=30.0, max_iterations=20).broken_pins == (0,)
