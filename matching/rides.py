"""Public ride API: the model's dataclasses, ``match_need`` and ``assign_batch``.

The computation lives in :mod:`matching.offers` (arrays), :mod:`matching._feasibility`
(numba kernels), :mod:`matching.matcher` and :mod:`matching.assignment`; this module is
the one place the app imports them from.
"""

from __future__ import annotations

from matching.assignment import AssignedRide, Assignment, UnservedNeed, assign_batch
from matching.matcher import Candidate, MatchResult, ReasonCount, match_need
from matching.model import (
    MAX_CONTRIBUTION_EUR_PER_KM,
    MAX_SOCIAL_TRIP_M,
    PRIORITY_PURPOSES,
    SLOT_HOURS,
    DriverTrip,
    Purpose,
    Requirement,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
    expand_weekly_slots,
    local_day,
    mileage_eur,
)
from matching.offers import OfferSet, build_offer_set
from matching.reasons import Reason

__all__ = [
    "MAX_CONTRIBUTION_EUR_PER_KM",
    "MAX_SOCIAL_TRIP_M",
    "PRIORITY_PURPOSES",
    "SLOT_HOURS",
    "AssignedRide",
    "Assignment",
    "Candidate",
    "DriverTrip",
    "MatchResult",
    "OfferSet",
    "Purpose",
    "Reason",
    "ReasonCount",
    "Requirement",
    "ReturnMode",
    "RideNeed",
    "UnservedNeed",
    "VolunteerAvailability",
    "assign_batch",
    "build_offer_set",
    "expand_weekly_slots",
    "local_day",
    "match_need",
    "mileage_eur",
]
