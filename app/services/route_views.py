"""A need's pooled route as its aidant sees it: the stops in order, who else rides.

Privacy: the aidant of one rider sees the other riders by first name and commune only
(never their name, address or phone), and her own rider's stops in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Proposal, RideNeed, RideRoute


@dataclass(frozen=True)
class RouteStopLine:
    at: datetime
    kind: str  # pickup | dropoff
    leg: str  # outbound | return
    own: bool
    """A stop of the need the page is about (shown in full)."""
    who: str
    where: str


@dataclass(frozen=True)
class NeedRoute:
    route: RideRoute
    stops: list[RouteStopLine]
    others: list[str]
    """The other riders: "Paul (Gourdon)"."""


def _commune(need: RideNeed) -> str:
    b = need.beneficiary
    return b.home_commune.name if b.home_commune is not None else "commune non renseignée"


def route_for_need(need: RideNeed) -> NeedRoute | None:
    """The pending or accepted pooled route the need rides in, if any."""
    proposal = db.session.execute(
        select(Proposal).where(Proposal.need_id == need.id, Proposal.route_id.is_not(None),
                               Proposal.status.in_(("pending", "accepted"))).order_by(Proposal.id.desc())
    ).scalars().first()
    if proposal is None or proposal.route is None:
        return None
    route = proposal.route
    ids = {int(s["need"]) for s in route.stops}
    needs = {n.id: n for n in db.session.execute(select(RideNeed).where(RideNeed.id.in_(ids))).scalars()}
    lines = []
    for stop in route.stops:
        other = needs.get(int(stop["need"]))
        if other is None:
            continue
        own = other.id == need.id
        outbound = stop["leg"] == "outbound"
        place = other.pickup_label if (stop["kind"] == "pickup") == outbound else other.dropoff_label
        lines.append(RouteStopLine(
            at=datetime.fromisoformat(stop["at"]), kind=stop["kind"], leg=stop["leg"], own=own,
            who=other.beneficiary.display_name if own else other.beneficiary.first_name,
            where=place if own else _commune(other)))
    others = sorted({f"{n.beneficiary.first_name} ({_commune(n)})" for n in needs.values() if n.id != need.id})
    return NeedRoute(route, lines, others)
