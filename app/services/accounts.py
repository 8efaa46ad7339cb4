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
