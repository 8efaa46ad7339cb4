"""Tests of the pooled planner's construction: candidate vehicles, regret insertion with
cached insertion costs (against a plain full re-evaluation), and the relocation search."""

from __future__ import annotations

import numpy as np
import pytest

from matching.pooling import (
    PoolingInstance,
    check_plan,
    instance_from_arrays,
    plan_routes,
    warm_up,
)
from matching.pooling import _kernels as K
from matching.pooling import _repair as KR
from matching.pooling.lns import Solution, evaluate
from matching.pooling.planner import kernel_data


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def random_instance(seed: int, nr: int, nv: int, linked: bool = False) -> PoolingInstance:
    """Random points in a 10 x 10 square, mixed windows, capacities, requirements, weights."""
    rng = np.random.default_rng(seed)
    n = 2 * nr + nv
    xy = rng.uniform(0, 10, size=(n, 2))
    travel = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    pe = rng.uniform(0, 60, nr)
    direct = travel[np.arange(nr), nr + np.arange(nr)]
    link = np.full(nr, -1)
    if linked:
        for a in range(0, nr - 1, 4):  # every fourth request has a return leg
            link[a], link[a + 1] = a + 1, a
    return instance_from_arrays(
        travel,
        travel,
        pickup_node=np.arange(nr),
        dropoff_node=nr + np.arange(nr),
        pickup_earliest_s=pe,
        pickup_latest_s=pe + rng.uniform(0, 20, nr),
        dropoff_earliest_s=0.0,
        dropoff_latest_s=pe + direct + rng.uniform(5, 40, nr),
        start_node=2 * nr + np.arange(nv),
        end_node=2 * nr + np.arange(nv),
        earliest_start_s=rng.uniform(0, 30, nv),
        latest_end_s=rng.uniform(60, 150, nv),
        capacity=rng.integers(1, 4, nv),
        service_s=1.0,
        max_ride_s=direct * 1.5 + 3.0,
        requirement_mask=rng.choice([0, 0, 0, 1], nr),
        capability_mask=rng.choice([0, 1], nv),
        priority_weight=rng.choice([1.0, 1.0, 2.0], nr),
        linked_to=link,
    )


def _empty(inst: PoolingInstance) -> Solution:
    nr, nv = inst.n_requests, inst.n_vehicles
    return Solution(
        routes=np.zeros((nv, 2 * nr), dtype=np.int64),
        lens=np.zeros(nv, dtype=np.int64),
        vehicle_of=np.full(nr, -1, dtype=np.int64),
    )


def reference_repair(d: K.KernelData, sol: Solution, pending: list[int], k_regret: int) -> None:
    """Regret-k insertion that re-evaluates every request in every route at every step (no
    cache, no candidate lists): the rule :func:`KR.repair` must follow exactly."""
    nv = sol.routes.shape[0]
    width = sol.routes.shape[1]
    n_req = d.weight.shape[0]

    def best_in(v: int, r: int) -> tuple[float, int, int]:
        seq, n = sol.routes[v], int(sol.lens[v])
        b, slack = np.empty(width + 4), np.empty(width + 4)
        pos = np.zeros(n_req, dtype=np.int64)
        if not K.route_state(d, v, seq, n, b, slack, pos):
            raise AssertionError("a route became infeasible")
        buf = np.empty(width + 2, dtype=np.int64)
        loads = np.empty(width + 4, dtype=np.int64)
        c, i, j = K.best_insertion(
            d, v, seq, n, r, 0.0, b, slack, buf, np.empty(width + 4), pos, loads
        )
        return float(c), int(i), int(j)

    def put(v: int, r: int, i: int, j: int) -> None:
        K._insert(sol.routes, sol.lens, v, r, i, j, np.empty(width + 2, dtype=np.int64))
        sol.vehicle_of[r] = v

    alive = list(pending)
    while alive:
        chosen = None
        key = (-1.0, -1.0, -np.inf)
        for r in alive:
            opts = [best_in(v, r) for v in range(nv)]
            costs = sorted(o[0] for o in opts)
            if costs[0] == np.inf:
                continue
            bv = min(range(nv), key=lambda v: (opts[v][0], v))
            reg = 0.0
            if k_regret > 1:
                for h in range(1, min(k_regret, nv)):
                    reg += KR.BIG_REGRET if costs[h] == np.inf else costs[h] - costs[0]
            cand = (float(d.weight[r]), reg, -costs[0])
            if cand > key:
                key, chosen = cand, (r, bv, opts[bv][1], opts[bv][2])
        if chosen is None:
            break
        r, v, i, j = chosen
        put(v, r, i, j)
        alive.remove(r)
        partner = int(d.link[r])
        if partner >= 0 and sol.vehicle_of[partner] < 0:
            opts = [best_in(u, partner) for u in range(nv)]
            pv = min(range(nv), key=lambda u: (opts[u][0], u))
            if partner in alive:
                alive.remove(partner)
            if opts[pv][0] < np.inf:
                put(pv, partner, opts[pv][1], opts[pv][2])
            else:
                K.remove_request(sol.routes, sol.lens, v, r)
                sol.vehicle_of[r] = -1


@pytest.mark.parametrize("k_regret", [1, 2, 3])
def test_cached_regret_insertion_equals_full_re_evaluation(k_regret: int) -> None:
    for seed in range(12):
        inst = random_instance(seed, nr=14, nv=4, linked=seed % 2 == 1)
        d = kernel_data(inst)
        # the reference tries every vehicle whose requirements fit, not only the candidates
        plain = d._replace(
            compat=((inst.requirement_mask[:, None] & ~inst.capability_mask[None, :]) == 0)
            & (inst.load[:, None] <= inst.capacity[None, :])
        )
        order = np.random.default_rng(seed).permutation(inst.n_requests)
        got, want = _empty(inst), _empty(inst)
        KR.repair(d, got.routes, got.lens, got.vehicle_of, order.astype(np.int64), k_regret, 0.0)
        reference_repair(plain, want, [int(r) for r in order], k_regret)
        assert got.vehicle_of.tolist() == want.vehicle_of.tolist(), seed
        assert got.lens.tolist() == want.lens.tolist(), seed
        for v in range(inst.n_vehicles):
            n = int(got.lens[v])
            assert got.routes[v, :n].tolist() == want.routes[v, :n].tolist(), (seed, v)


def test_cached_repair_of_a_partial_plan_equals_full_re_evaluation() -> None:
    """What the search does: remove some requests from a plan and reinsert them."""
    for seed in range(8):
        inst = random_instance(100 + seed, nr=16, nv=4)
        d = kernel_data(inst)
        base = _empty(inst)
        KR.repair(d, base.routes, base.lens, base.vehicle_of, np.arange(16, dtype=np.int64), 2, 0.0)
        rng = np.random.default_rng(seed)
        served = np.flatnonzero(base.vehicle_of >= 0)
        for r in rng.choice(served, size=min(5, served.size), replace=False):
            K.remove_request(base.routes, base.lens, base.vehicle_of[r], r)
            base.vehicle_of[r] = -1
        pending = np.flatnonzero(base.vehicle_of < 0).astype(np.int64)
        got, want = base.copy(), base.copy()
        KR.repair(d, got.routes, got.lens, got.vehicle_of, pending, 2, 0.0)
        reference_repair(d, want, [int(r) for r in pending], 2)
        assert got.vehicle_of.tolist() == want.vehicle_of.tolist(), seed
        assert np.array_equal(got.routes, want.routes), seed


def test_candidate_vehicles_are_those_that_can_serve_the_request_alone() -> None:
    for seed in range(5):
        inst = random_instance(seed, nr=10, nv=5)
        d = kernel_data(inst)
        b, pos = np.empty(4), np.zeros(inst.n_requests, dtype=np.int64)
        for r in range(inst.n_requests):
            for v in range(inst.n_vehicles):
                fits = not int(inst.requirement_mask[r]) & ~int(inst.capability_mask[v])
                seq = np.array([2 * r, 2 * r + 1], dtype=np.int64)
                plain = d._replace(compat=np.ones_like(d.compat))
                alone = fits and bool(K.schedule(plain, v, seq, 2, b, pos))
                assert bool(d.compat[r, v]) == alone, (seed, r, v)


def test_a_request_only_one_far_vehicle_can_serve_is_served() -> None:
    """Five vehicles next to the rider lack the wheelchair lift she needs; the only one with
    it lives far away and must leave early: the restriction keeps it, the plan uses it."""
    nv = 6
    # nodes: 0 pickup, 1 drop-off, 2..6 the near homes, 7 the far home
    xy = np.array([[0, 0], [5, 0]] + [[0, 1 + k * 0.1] for k in range(nv - 1)] + [[80, 0]])
    travel = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    inst = instance_from_arrays(
        travel,
        travel,
        pickup_node=[0, 0],
        dropoff_node=[1, 1],
        pickup_earliest_s=[100.0, 100.0],
        pickup_latest_s=[110.0, 110.0],
        dropoff_earliest_s=0.0,
        dropoff_latest_s=[130.0, 130.0],
        start_node=np.arange(2, 2 + nv),
        end_node=np.arange(2, 2 + nv),
        earliest_start_s=0.0,
        latest_end_s=400.0,
        capacity=1,
        requirement_mask=[1, 0],
        capability_mask=[0] * (nv - 1) + [1],
    )
    d = kernel_data(inst)
    assert np.flatnonzero(d.compat[0]).tolist() == [nv - 1]
    plan = plan_routes(inst, time_limit_s=30.0, max_iterations=20)
    assert check_plan(inst, plan) == []
    assert plan.vehicle_of[0] == nv - 1
    assert plan.served.all()
    # the same far vehicle when it is the only one that can be on time (no requirement)
    late = instance_from_arrays(
        travel,
        travel,
        pickup_node=[0],
        dropoff_node=[1],
        pickup_earliest_s=[100.0],
        pickup_latest_s=[110.0],
        dropoff_earliest_s=0.0,
        dropoff_latest_s=[130.0],
        start_node=np.arange(2, 2 + nv),
        end_node=np.arange(2, 2 + nv),
        earliest_start_s=[150.0] * (nv - 1) + [0.0],
        latest_end_s=400.0,
        capacity=1,
    )
    assert np.flatnonzero(kernel_data(late).compat[0]).tolist() == [nv - 1]
    plan = plan_routes(late, time_limit_s=30.0, first_plan_only=True)
    assert plan.vehicle_of.tolist() == [nv - 1]
    assert check_plan(late, plan) == []


def test_relocation_never_worsens_and_keeps_every_route_feasible() -> None:
    for seed in range(10):
        inst = random_instance(200 + seed, nr=16, nv=4, linked=True)
        d = kernel_data(inst)
        sol = _empty(inst)
        # a deliberately poor plan: requests in a random order, no regret
        order = np.random.default_rng(seed).permutation(16).astype(np.int64)
        KR.repair(d, sol.routes, sol.lens, sol.vehicle_of, order, 1, 0.5)
        base = float(inst.base_distance_m.sum())
        before = evaluate(d, sol, base)
        served = sol.vehicle_of >= 0
        changed = np.ones(inst.n_vehicles, dtype=np.bool_)
        saved = KR.relocate(d, sol.routes, sol.lens, sol.vehicle_of, changed, 1)
        saved += KR.relocate(d, sol.routes, sol.lens, sol.vehicle_of, changed, 10)
        # resumed to the end: a fresh full pass finds nothing more
        assert KR.relocate(d, sol.routes, sol.lens, sol.vehicle_of, np.ones_like(changed), 1) == 0
        after = evaluate(d, sol, base)
        assert (sol.vehicle_of >= 0).tolist() == served.tolist()
        assert saved >= 0.0
        assert after.added_distance_m == pytest.approx(before.added_distance_m - saved)
        b, pos = np.empty(40), np.zeros(16, dtype=np.int64)
        for v in range(inst.n_vehicles):
            assert K.schedule(d, v, sol.routes[v], int(sol.lens[v]), b, pos)
            for e in sol.routes[v, : sol.lens[v]]:
                assert sol.vehicle_of[e // 2] == v
