"""The pooled route planner: several riders per car, chained services, anytime LNS.

Public API: :class:`PoolingInstance` (build it with :func:`instance_from_arrays`),
:func:`plan_routes` returning a :class:`PoolingPlan`, the independent :func:`check_plan`,
and :func:`warm_up` to compile the kernels ahead of the first plan.
"""

from matching.pooling.check import check_plan
from matching.pooling.model import (
    DROPOFF,
    END,
    NO_GROUP,
    NO_LIMIT,
    NO_LINK,
    PICKUP,
    START,
    Objective,
    PoolingError,
    PoolingInstance,
    PoolingPlan,
    RouteStops,
    instance_from_arrays,
    objective_key,
)
from matching.pooling.planner import plan_routes, warm_up

__all__ = [
    "DROPOFF",
    "END",
    "NO_GROUP",
    "NO_LIMIT",
    "NO_LINK",
    "PICKUP",
    "START",
    "Objective",
    "PoolingError",
    "PoolingInstance",
    "PoolingPlan",
    "RouteStops",
    "check_plan",
    "instance_from_arrays",
    "objective_key",
    "plan_routes",
    "warm_up",
]
