"""Matching one need: ranked feasible candidates, or the reasons why there is none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from matching.engine import Engine
from matching.model import (
    MAX_CONTRIBUTION_EUR_PER_KM,
    DriverTrip,
    RideNeed,
    VolunteerAvailability,
    mileage_eur,
)
from matching.offers import (
    Evaluation,
    NeedArrays,
    OfferSet,
    build_need_arrays,
    build_offer_set,
    evaluate,
)
from matching.reasons import Reason


@dataclass(frozen=True)
class Candidate:
    """One way to serve a need.

    ``added_time_s`` / ``added_distance_m`` is the driving the service adds: a trip's
    detour (both legs when there is a return), or a volunteer's whole round trip from home.
    ``rider_contribution_eur`` is what the rider may be asked (rate x the rider's own km);
    ``mileage_allowance_eur`` what the driver may be reimbursed (rate x added km).
    """

    kind: Literal["trip", "volunteer"]
    offer_id: str
    driver_id: str
    pickup_s: int
    dropoff_s: int
    added_time_s: int
    added_distance_m: float
    total_distance_m: float
    rider_distance_m: float
    rider_contribution_eur: float
    mileage_allowance_eur: float
    leave_s: int
    """When the driver sets off (volunteer: leaves home; trip: departs)."""
    end_s: int
    """When the driver's service ends (volunteer: back home; trip: at the drop-off or, with a
    return by another trip, at the return drop-off)."""
    return_offer_id: str | None = None
    return_driver_id: str | None = None
    return_pickup_s: int | None = None
    return_dropoff_s: int | None = None


@dataclass(frozen=True)
class ReasonCount:
    """How many offers failed on a reason (the first failing check of each offer)."""

    code: str
    count: int
    description: str


@dataclass(frozen=True)
class MatchResult:
    """Ranked candidates for a need and, for every rejected offer, the reason counts."""

    need_id: str
    candidates: tuple[Candidate, ...]
    reasons: tuple[ReasonCount, ...]
    direct_time_s: int
    direct_distance_m: float
    pickup_gap_m: float
    dropoff_gap_m: float

    @property
    def feasible(self) -> bool:
        """Whether at least one candidate exists."""
        return bool(self.candidates)


def _check_rate(rate: float) -> None:
    if not 0 <= rate <= MAX_CONTRIBUTION_EUR_PER_KM:
        raise ValueError(
            f"rate {rate} €/km outside 0..{MAX_CONTRIBUTION_EUR_PER_KM} €/km"
            " (cap of the arrêté of 17 October 2019)"
        )


def candidate_from_rows(
    needs: NeedArrays,
    offers: OfferSet,
    ev: Evaluation,
    k: int,
    k_return: int | None,
    rate: float,
) -> Candidate:
    """The candidate made of evaluation row ``k`` (and, for a trip, return row ``k_return``)."""
    rows = ev.rows
    lens = ev.row_lengths
    n = int(rows[k, 0])
    o = int(rows[k, 1])
    has_return = bool(needs.ret[n] >= 0)
    rider_m = float(needs.ride.length_m[n])
    if has_return:
        rider_m += float(needs.back.length_m[n])
    added_t = int(rows[k, 9])
    added_m = float(lens[k, 0])
    total_m = float(lens[k, 1])
    end_s = int(rows[k, 8])
    if o >= offers.n_trips:
        kind: Literal["trip", "volunteer"] = "volunteer"
        ret_offer = offers.offer_ids[o] if has_return else None
        ret_driver = offers.driver_ids[o] if has_return else None
        ret_pick = int(rows[k, 6]) if has_return else None
        ret_drop = int(rows[k, 7]) if has_return else None
    else:
        kind = "trip"
        ret_offer = ret_driver = None
        ret_pick = ret_drop = None
        if k_return is not None:
            r_o = int(rows[k_return, 1])
            added_t += int(rows[k_return, 9])
            added_m += float(lens[k_return, 0])
            total_m += float(lens[k_return, 1])
            end_s = int(rows[k_return, 8])
            ret_offer = offers.offer_ids[r_o]
            ret_driver = offers.driver_ids[r_o]
            ret_pick = int(rows[k_return, 4])
            ret_drop = int(rows[k_return, 5])
    return Candidate(
        kind=kind,
        offer_id=offers.offer_ids[o],
        driver_id=offers.driver_ids[o],
        pickup_s=int(rows[k, 4]),
        dropoff_s=int(rows[k, 5]),
        added_time_s=added_t,
        added_distance_m=added_m,
        total_distance_m=total_m,
        rider_distance_m=rider_m,
        rider_contribution_eur=mileage_eur(rider_m, rate),
        mileage_allowance_eur=mileage_eur(added_m, rate),
        leave_s=int(rows[k, 3]),
        end_s=end_s,
        return_offer_id=ret_offer,
        return_driver_id=ret_driver,
        return_pickup_s=ret_pick,
        return_dropoff_s=ret_drop,
    )


def need_candidates(
    n: int, needs: NeedArrays, offers: OfferSet, ev: Evaluation, rate: float
) -> tuple[list[Candidate], set[int]]:
    """Every candidate of need ``n`` (unranked), and the outbound trips with no return.

    A trip candidate of a need with a return is paired with the return trip (another
    offer) that adds the least driving.
    """
    lo, hi = int(ev.row_indptr[n]), int(ev.row_indptr[n + 1])
    rows = ev.rows
    has_return = bool(needs.ret[n] >= 0)
    returns = sorted(
        (k for k in range(lo, hi) if rows[k, 2] == 1),
        key=lambda k: (int(rows[k, 9]), float(ev.row_lengths[k, 0])),
    )
    out: list[Candidate] = []
    no_return: set[int] = set()
    for k in range(lo, hi):
        o = int(rows[k, 1])
        if rows[k, 2] == 1:
            continue
        k_ret = None
        if has_return and o < offers.n_trips:
            k_ret = next((r for r in returns if rows[r, 1] != o), None)
            if k_ret is None:
                no_return.add(o)
                continue
        out.append(candidate_from_rows(needs, offers, ev, k, k_ret, rate))
    return out, no_return


def need_reasons(
    n: int, offers: OfferSet, ev: Evaluation, no_return: set[int]
) -> tuple[ReasonCount, ...]:
    """Reason counts of need ``n`` over all offers (feasible ones counted as ``feasible``)."""
    if offers.n_offers == 0:
        r = Reason.NO_OFFER
        return (ReasonCount(r.code, 1, r.description),)
    codes = ev.status[n].astype(np.int64)
    for o in no_return:
        codes[o] = int(Reason.NO_RETURN)
    counts = np.bincount(codes, minlength=len(Reason))
    return tuple(
        ReasonCount(Reason(i).code, int(c), Reason(i).description)
        for i, c in enumerate(counts.tolist())
        if c and i != Reason.FEASIBLE
    )


def rank_key(c: Candidate) -> tuple[int, float, int, str]:
    """Candidates are ranked by added driving time, then added distance, pickup, id."""
    return (c.added_time_s, c.added_distance_m, c.pickup_s, c.offer_id)


def match_need(
    engine: Engine,
    need: RideNeed,
    trips: Sequence[DriverTrip],
    volunteers: Sequence[VolunteerAvailability],
    top: int = 10,
    *,
    offers: OfferSet | None = None,
    rate_eur_per_km: float = MAX_CONTRIBUTION_EUR_PER_KM,
    timezone: str = "Europe/Paris",
) -> MatchResult:
    """The ranked feasible candidates for one need, or the reasons why there is none.

    Parameters
    ----------
    engine : Engine
    need : RideNeed
    trips, volunteers : sequences
        The offers; ignored when ``offers`` (a prebuilt :class:`OfferSet` of the same
        offers, see :func:`matching.offers.build_offer_set`) is given.
    top : int
        How many candidates to return at most.
    rate_eur_per_km : float
        Mileage rate for the rider's contribution and the driver's allowance, at most
        0.32 €/km (``ValueError`` above).

    Returns
    -------
    MatchResult
        Reasons count, for every offer, the first check it fails; with a return, an
        outbound trip with no return trip counts as ``no_return``.
    """
    _check_rate(rate_eur_per_km)
    if top < 0:
        raise ValueError("top must be >= 0")
    if offers is None:
        offers = build_offer_set(engine, trips, volunteers)
    needs = build_need_arrays(engine, [need], timezone)
    ev = evaluate(needs, offers)
    cands, no_return = need_candidates(0, needs, offers, ev, rate_eur_per_km)
    cands.sort(key=rank_key)
    return MatchResult(
        need_id=need.need_id,
        candidates=tuple(cands[:top]),
        reasons=need_reasons(0, offers, ev, no_return),
        direct_time_s=int(needs.ride.time_s[0]),
        direct_distance_m=float(needs.ride.length_m[0]),
        pickup_gap_m=float(needs.pickup_gap_m[0]),
        dropoff_gap_m=float(needs.dropoff_gap_m[0]),
    )
