"""A ride confirmation the aidant prints for the rider: plain French, large type, only what she needs."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..services import access
from ..services import rides as rides_service
from ..services.audit import record_audit
from . import bp


@bp.get("/besoins/<int:need_id>/confirmation")
@login_required
def need_confirmation(need_id: int) -> str:
    """The printable confirmation of a confirmed ride (404 while no driver has accepted)."""
    ride = access.need_or_404(current_user, need_id)
    proposal = rides_service.confirmed_proposal(ride)
    if proposal is None or ride.status not in ("confirmed", "done"):
        abort(404)
    record_audit("print", "ride_need", ride.id, user=current_user,
                 detail={"beneficiary": ride.beneficiary_id, "proposal": proposal.id})
    db.session.commit()
    return render_template("web/confirmation.html", need=ride, proposal=proposal)
