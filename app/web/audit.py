"""The audit trail of one person, for administrators: who viewed, changed, exported, erased."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Beneficiary, Driver
from ..services import access
from ..services.audit import ACTION_FR, OBJECT_FR, person_audit_trail, record_audit
from . import bp

_KINDS = {"personnes": ("beneficiary", Beneficiary), "benevoles": ("driver", Driver)}


@bp.get("/administration/journal/<any(personnes, benevoles):kind>/<int:person_id>")
@login_required
@access.roles_required("admin")
def audit_trail(kind: str, person_id: int) -> str:
    """Administrators only; the trail of an erased person stays readable (by its number)."""
    object_type, model = _KINDS[kind]
    person_id = access.id_or_404(person_id)
    person = db.session.get(model, person_id)
    rows = person_audit_trail(object_type, person_id)
    # Reading the trail is itself recorded (it says who looked at whom).
    record_audit("view_audit", object_type, person_id, user=current_user)
    db.session.commit()
    return render_template("web/audit.html", kind=kind, object_type=object_type, person=person,
                           person_id=person_id, rows=rows, action_fr=ACTION_FR, object_fr=OBJECT_FR)
