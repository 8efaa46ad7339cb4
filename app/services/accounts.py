"""Accounts: creating users and checking passwords."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, AuditLog, Structure, User, utcnow

# A hash to compare against when the e-mail is unknown, so that timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-password")


def create_user(email: str, name: str, password: str, role: str, structure: Structure | None) -> User:
    """Create a user with a hashed password (not committed)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    user = User(email=email.strip().lower(), name=name, role=role, structure=structure,
                password_hash=generate_password_hash(password))
    db.session.add(user)
    return user


def authenticate(email: str, password: str, ip: str | None = None) -> User | None:
    """The active user with this e-mail and password, or None; every attempt is audited."""
    user = db.session.execute(
        db.select(User).filter_by(email=email.strip().lower())
    ).scalar_one_or_none()
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.is_active
    db.session.add(AuditLog(user_id=user.id if user else None, actor=email[:200],
                            action="login" if ok else "login_failed", object_type="user",
                            object_id=str(user.id) if user else None, ip=ip))
    if ok and user is not None:
        user.last_login_at = utcnow()
    db.session.commit()
    return user if ok else None


class AccountError(ValueError):
    """An account change that is not allowed; the message is French, for the coordinator."""


def set_account_active(account: User, active: bool, by_user: User) -> bool:
    """Deactivate or reactivate an account (audited; commit). False when it already was so.

    A deactivated account cannot sign in, and a session already open stops working on its next
    request (Flask-Login treats an inactive user as not authenticated).
    """
    from .access import can_manage_account
    from .audit import record_audit

    if account.id == by_user.id:
        raise AccountError("Vous ne pouvez pas désactiver votre propre compte.")
    if not can_manage_account(by_user, account):
        raise AccountError("Vous ne pouvez pas gérer ce compte.")
    if bool(account.is_active_account) == active:
        return False
    account.is_active_account = active
    record_audit("reactivate" if active else "deactivate", "user", account.id, user=by_user,
                 detail={"email": account.email})
    db.session.commit()
    return True
