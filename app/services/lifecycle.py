"""Life cycle of proposals and needs: unanswered proposals lapse, past days are closed.

Two periodic tasks of the queue (:mod:`app.tasks`) call this module:

- :func:`expire_due` (every 5 minutes): a pending proposal or pooled route past its
  ``expires_at`` lapses; the need goes back to 'searching' when nobody else is asked, and when
  the aidant chose so (``RideNeed.auto_next``) the next candidate is proposed at once;
- :func:`close_past_days` (just after midnight, local time): needs still open on a day that is
  over become 'unserved' with the reason, so the territory's gaps are counted.

The status changes themselves live in :mod:`app.services.rides` (the only module that changes
a status); this module finds what is due and decides what comes next. Every function takes
``now`` so that tests, and a replay after an outage, decide the moment.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Driver, Proposal, RideNeed, RideRoute, aware_utc, utcnow
from . import rides

log = logging.getLogger(__name__)

PAST_DAY_REASON = "Aucune solution trouvée avant la date du trajet"


@dataclass
class ExpiryReport:
    """What one run of :func:`expire_due` did (ids), for the task's log line and the tests."""

    proposals: list[int] = field(default_factory=list)
    routes: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    auto_proposed: dict[int, int] = field(default_factory=dict)  # need id -> new proposal id
    exhausted: list[int] = field(default_factory=list)  # auto_next needs with nobody left to ask
    failed: list[str] = field(default_factory=list)

    def add(self, lapsed: rides.Lapsed) -> None:
        self.proposals.extend(lapsed.proposal_ids)
        self.reopened.extend(n for n in lapsed.reopened_need_ids if n not in self.reopened)


@dataclass
class EndOfDayReport:
    """What one run of :func:`close_past_days` did (ids)."""

    unserved: list[int] = field(default_factory=list)
    routes: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # changed by someone meanwhile


@dataclass(frozen=True)
class ExpiryNotice:
    """A proposal that lapsed without an answer, as the aidant following the need sees it."""

    need_id: int
    rider: str
    driver: str
    expired_at: datetime
    ride_at: datetime
    route_code: str | None
    need_status: str
    next_driver: str | None  # the driver the need is proposed to now (automatically or not)
    message_fr: str




def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _short(first_name: str, last_name: str | None) -> str:
    return f"{first_name} {last_name[:1]}." if last_name else first_name


# --- Expiry ------------------------------------------------------------------------------------

def expire_due(now: datetime | None = None) -> ExpiryReport:
    """Let every pending proposal and route whose ``expires_at`` has come lapse; commit.

    Each lapse is its own transaction (one failing SMS does not hold the others back). The
    needs that went back to 'searching' with ``auto_next`` are proposed to the next candidate.
    """
    now = aware_utc(now or utcnow())
    report = ExpiryReport()
    due = db.session.execute(
        select(Proposal.id).where(Proposal.status == "pending", Proposal.route_id.is_(None),
                                  Proposal.expires_at.is_not(None), Proposal.expires_at <= now)
        .order_by(Proposal.expires_at, Proposal.id)).scalars().all()
    for proposal_id in due:
        proposal = db.session.get(Proposal, proposal_id)
        if proposal is None:
            continue
        try:
            report.add(rides.expire_proposal(proposal, now=now))
        except rides.NotificationFailed as exc:
            log.error("proposal %s could not expire: %s", proposal_id, exc)
            report.failed.append(f"proposal {proposal_id}: {exc}")
    routes = db.session.execute(
        select(RideRoute.id).where(RideRoute.status == "pending", RideRoute.expires_at.is_not(None),
                                   RideRoute.expires_at <= now)
        .order_by(RideRoute.expires_at, RideRoute.id)).scalars().all()
    for route_id in routes:
        route = db.session.get(RideRoute, route_id)
        if route is None:
            continue
        try:
            lapsed = rides.expire_route(route, now=now)
        except rides.NotificationFailed as exc:
            log.error("route %s could not expire: %s", route_id, exc)
            report.failed.append(f"route {route_id}: {exc}")
            continue
        if lapsed.proposal_ids:
            report.routes.append(route_id)
        report.add(lapsed)
    for need_id in report.reopened:
        need = db.session.get(RideNeed, need_id)
        if need is None or not need.auto_next:
            continue
        try:
            proposal = propose_next(need, now=now)
        except rides.NotificationFailed as exc:
            log.error("need %s: next candidate not proposed: %s", need_id, exc)
            report.failed.append(f"need {need_id}: {exc}")
            continue
        if proposal is not None:
            report.auto_proposed[need_id] = proposal.id
        elif need.status == "searching":
            report.exhausted.append(need_id)
    return report


def propose_next(need: RideNeed, *, now: datetime | None = None) -> Proposal | None:
    """Propose a searching need to its best candidate not asked yet (the aidant's choice
    ``auto_next``); commit. Drivers who declined or let a proposal lapse are not asked again,
    nor drivers the SMS rules keep from texting now. The need's history says it was automatic,
    or that nobody is left. None when nothing was proposed.
    """
    from .matching import candidates_for_need
    from .notifications import MIN_NOTICE, SmsRuleError, check_proposal_sms

    now = aware_utc(now or utcnow())
    db.session.refresh(need)
    if need.status != "searching":
        return None
    if aware_utc(need.requested_at) - now < MIN_NOTICE:
        rides.record_event(need, actor="système", data={"auto_next": True},
                           note="Pas de proposition automatique : le trajet est trop proche, "
                                "appelez directement un bénévole.")
        db.session.commit()
        return None
    asked = set(db.session.execute(select(Proposal.driver_id).where(
        Proposal.need_id == need.id, Proposal.status.in_(("pending", "declined", "expired")))).scalars())
    outcome = candidates_for_need(need)
    passed: list[str] = []
    for candidate in outcome.candidates:
        driver: Driver = candidate.driver
        if driver.id in asked:
            continue
        name = _short(driver.first_name, driver.last_name)
        try:
            check_proposal_sms(driver, candidate.pickup_at, now=now)
            proposal = rides.propose_ride(need, driver, candidate=candidate)
        except rides.NeedChanged:
            return None  # someone acted on the need meanwhile: leave it to her
        except rides.NotificationFailed:
            raise
        except (SmsRuleError, rides.RideError) as exc:
            passed.append(f"{name} ({exc})")
            db.session.rollback()
            continue
        rides.record_event(need, actor="système", data={"auto_next": True, "proposal": proposal.id},
                           note=f"Proposé automatiquement à {name} : l'aidant a choisi de proposer le "
                                "bénévole suivant sans attendre.")
        db.session.commit()
        return proposal
    note = "Proposition automatique impossible : plus aucun bénévole disponible à qui proposer ce trajet"
    if passed:
        note += " (écartés : " + " ; ".join(passed) + ")"
    rides.record_event(need, actor="système", note=note + ". Reprendre la recherche.",
                       data={"auto_next": True, "proposal": None})
    db.session.commit()
    return None


def recent_expiries(structure_ids: Iterable[int] | None, since: datetime, *, limit: int = 50) -> list[ExpiryNotice]:
    """Proposals that lapsed since ``since`` on needs of these structures (None: all), newest
    first: what the aidant must see on her dashboard (who did not answer, what happens now)."""
    from .notifications import fr_day, fr_hour

    query = (select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id)
             .where(Proposal.status == "expired", Proposal.answered_at >= aware_utc(since))
             .order_by(Proposal.answered_at.desc(), Proposal.id.desc()).limit(limit))
    if structure_ids is not None:
        query = query.where(RideNeed.structure_id.in_(list(structure_ids)))
    notices = []
    for proposal in db.session.execute(query).scalars():
        need = proposal.need
        rider = _short(need.beneficiary.first_name, need.beneficiary.last_name)
        driver = _short(proposal.driver.first_name, proposal.driver.last_name)
        current = db.session.execute(
            select(Proposal).where(Proposal.need_id == need.id, Proposal.status == "pending")
            .order_by(Proposal.id.desc())).scalars().first()
        next_driver = _short(current.driver.first_name, current.driver.last_name) if current else None
        ride_at = aware_utc(need.requested_at)
        what = f"Proposition à {driver} pour le trajet de {rider} ({fr_day(ride_at)} {fr_hour(ride_at)}) " \
               "expirée sans réponse"
        if next_driver:
            then = f" : maintenant proposé à {next_driver}."
        elif need.status == "searching":
            then = " : trajet à nouveau à pourvoir."
        else:
            then = f" ({rides.STATUS_FR.get(need.status, need.status).lower()})."
        route = proposal.route
        notices.append(ExpiryNotice(
            need_id=need.id, rider=rider, driver=driver, expired_at=aware_utc(proposal.answered_at or since),
            ride_at=ride_at, route_code=route.code if route is not None else None, need_status=need.status,
            next_driver=next_driver, message_fr=what + then))
    return notices


# --- End of day --------------------------------------------------------------------------------

def close_past_days(now: datetime | None = None) -> EndOfDayReport:
    """Needs still open (new, searching, proposed) on a local day that is over become
    'unserved' with :data:`PAST_DAY_REASON`, their pending proposals withdrawn; pending routes
    of those days lapse. Confirmed needs are left for an aidant to mark done. Commit.
    """
    now = aware_utc(now or utcnow())
    tz = _tz()
    today = now.astimezone(tz).date()
    start_of_today = datetime.combine(today, time(0), tzinfo=tz).astimezone(UTC)
    report = EndOfDayReport()
    routes = db.session.execute(select(RideRoute.id).where(
        RideRoute.status == "pending", RideRoute.day < today).order_by(RideRoute.id)).scalars().all()
    for route_id in routes:
        route = db.session.get(RideRoute, route_id)
        if route is not None and rides.expire_route(route, now=now, end_of_day=True).proposal_ids:
            report.routes.append(route_id)
    needs = db.session.execute(select(RideNeed.id).where(
        RideNeed.status.in_(rides.OPEN_STATUSES), RideNeed.requested_at < start_of_today)
        .order_by(RideNeed.requested_at, RideNeed.id)).scalars().all()
    for need_id in needs:
        need = db.session.get(RideNeed, need_id)
        if need is None:
            continue
        try:
            rides.mark_unserved(need, PAST_DAY_REASON, None)
        except rides.NeedChanged:
            report.skipped.append(need_id)
            continue
        report.unserved.append(need_id)
    return report
