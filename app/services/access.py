"""Who may see what: the one place every view asks before showing or changing a record.

Rules
-----
- An administrator sees everything.
- A coordinator or an aidant sees the people and ride needs of her structure, and those of the
  people who live in a commune her structure covers *and* who agreed to their data being shared
  with partner structures (consent recorded on the beneficiary). Nobody else's.
- Volunteer drivers are visible to their own structure and to the structures covering the
  commune they live in (partners must be able to ask them). This one rule
  (:func:`driver_filter`) decides everywhere: the volunteers list and profile, a need's
  candidates (the engine is only given visible drivers), proposals (a driver who is not visible
  cannot be proposed: 404), the day planning, and the name and phone of a driver on a need's page.
  A structure that follows a need but may not see the driver who was asked (a partner's driver,
  or one an administrator asked) reads only her first name and "bénévole d'une structure
  partenaire" (:func:`driver_label`): never her surname nor her phone.
- A record that exists but is not visible answers exactly like a record that does not exist
  (404), so guessing identifiers in URLs reveals nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, false, or_, select, true

from ..extensions import db
from ..models import Beneficiary, Driver, Proposal, RideNeed, Structure, User
from ..models.core import structure_communes

F = TypeVar("F", bound=Callable[..., Any])

# Identifiers are 32-bit integers on both back-ends: a larger number from a URL or a form names
# no record (and must not reach PostgreSQL, which would refuse it with an error).
MAX_ID = 2**31 - 1


def id_or_404(value: int) -> int:
    """``value`` when it can be a row id, else 404 (ids past the database's integers are no one's)."""
    if not 0 < value <= MAX_ID:
        abort(404)
    return value


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.role == "admin")


def is_coordinator(user: User) -> bool:
    """Coordinators and administrators may see the dashboard and manage accounts."""
    return bool(user.is_authenticated and user.role in ("coordinator", "admin"))


def _covered_communes(user: User):  # type: ignore[no-untyped-def]
    """A sub-select of the INSEE codes covered by the user's structure."""
    return select(structure_communes.c.commune_insee).where(
        structure_communes.c.structure_id == user.structure_id
    )


def covered_insee(user: User) -> set[str]:
    """INSEE codes of the communes the user's structure covers (all for an administrator)."""
    if user.structure_id is None:
        return set()
    return set(db.session.execute(_covered_communes(user)).scalars())


def beneficiary_filter(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the beneficiaries ``user`` may see."""
    if is_admin(user):
        return true()
    if user.structure_id is None:
        return false()
    return or_(
        Beneficiary.structure_id == user.structure_id,
        Beneficiary.consent_sharing_at.is_not(None)
        & Beneficiary.home_commune_insee.in_(_covered_communes(user)),
    )


def need_filter(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the ride needs ``user`` may see (those of visible people)."""
    if is_admin(user):
        return true()
    if user.structure_id is None:
        return false()
    visible = select(Beneficiary.id).where(beneficiary_filter(user))
    return or_(RideNeed.structure_id == user.structure_id, RideNeed.beneficiary_id.in_(visible))


def driver_filter(user: User) -> ColumnElement[bool]:
    """SQL condition selecting the volunteer drivers ``user`` may see."""
    if is_admin(user):
        return true()
    if user.structure_id is None:
        return false()
    return or_(Driver.structure_id == user.structure_id,
               Driver.home_commune_insee.in_(_covered_communes(user)))


PARTNER_DRIVER_FR = "bénévole d'une structure partenaire"


def visible_driver_ids(user: User, driver_ids: Iterable[int]) -> set[int]:
    """Those of ``driver_ids`` that ``user`` may see (one query)."""
    wanted = {int(i) for i in driver_ids if i is not None and 0 < int(i) <= MAX_ID}
    if not wanted:
        return set()
    return set(db.session.execute(
        select(Driver.id).where(Driver.id.in_(wanted), driver_filter(user))).scalars())


def can_see_driver(user: User, driver: Driver) -> bool:
    return driver.id in visible_driver_ids(user, [driver.id])


def driver_label(driver: Driver, visible: bool) -> str:
    """How a driver is named to someone: full name if visible, else first name and partner."""
    if visible:
        return driver.display_name
    return f"{driver.first_name}, {PARTNER_DRIVER_FR}"


def can_see_beneficiary(user: User, beneficiary: Beneficiary) -> bool:
    return db.session.execute(
        select(Beneficiary.id).where(Beneficiary.id == beneficiary.id, beneficiary_filter(user))
    ).first() is not None


def beneficiary_or_404(user: User, beneficiary_id: int) -> Beneficiary:
    """The beneficiary if ``user`` may see it; 404 otherwise (absent or another structure's)."""
    found = db.session.execute(
        select(Beneficiary).where(Beneficiary.id == id_or_404(beneficiary_id), beneficiary_filter(user))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def need_or_404(user: User, need_id: int) -> RideNeed:
    found = db.session.execute(
        select(RideNeed).where(RideNeed.id == id_or_404(need_id), need_filter(user))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def proposal_or_404(user: User, proposal_id: int) -> Proposal:
    found = db.session.execute(
        select(Proposal).join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(Proposal.id == id_or_404(proposal_id), need_filter(user))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def driver_or_404(user: User, driver_id: int) -> Driver:
    found = db.session.execute(
        select(Driver).where(Driver.id == id_or_404(driver_id), driver_filter(user))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def can_edit_driver(user: User, driver: Driver) -> bool:
    """Only the driver's own structure (or an administrator) changes a volunteer's profile."""
    return is_admin(user) or driver.structure_id == user.structure_id


def can_edit_beneficiary(user: User, beneficiary: Beneficiary) -> bool:
    """Every structure that follows the person may update it; erasure is the owner's."""
    return can_see_beneficiary(user, beneficiary)


def can_erase_beneficiary(user: User, beneficiary: Beneficiary) -> bool:
    return is_admin(user) or beneficiary.structure_id == user.structure_id


def can_manage_account(user: User, account: User) -> bool:
    """Deactivate or reactivate ``account``: an administrator anyone's, a coordinator those of
    her own structure; nobody her own (she would lock herself out)."""
    if not user.is_authenticated or account.id == user.id:
        return False
    if is_admin(user):
        return True
    return (user.role == "coordinator" and user.structure_id is not None
            and account.structure_id == user.structure_id and account.role != "admin")


def account_or_404(user: User, account_id: int) -> User:
    """An account ``user`` may list (administrator: all; coordinator: her structure's), else 404."""
    account = db.session.get(User, id_or_404(account_id))
    if account is None or not is_coordinator(user):
        abort(404)
    if not is_admin(user) and (user.structure_id is None or account.structure_id != user.structure_id):
        abort(404)
    return account


def dashboard_structure_ids(user: User) -> list[int] | None:
    """Structures whose figures the user's dashboard covers (None: all, for an administrator)."""
    if is_admin(user):
        return None
    return [user.structure_id] if user.structure_id is not None else []


def structures_visible(user: User) -> list[Structure]:
    query = select(Structure).order_by(Structure.name)
    if not is_admin(user):
        query = query.where(Structure.id == user.structure_id)
    return list(db.session.execute(query).scalars())


def roles_required(*roles: str) -> Callable[[F], F]:
    """View decorator: signed in with one of ``roles``; anyone else gets 404 (hidden page)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
