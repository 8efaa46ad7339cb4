"""Accounts: creating users, checking and changing passwords, reset links, activation."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, AuditLog, Structure, User, utcnow

# A hash to compare against when the e-mail is unknown, so that timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-password")

PASSWORD_MIN_LENGTH = 12
PASSWORD_RULE_FR = (
    f"{PASSWORD_MIN_LENGTH} caractères au moins ; une phrase de quelques mots est idéale "
    "(par exemple « le causse est vert en mai »)."
)


class AccountError(ValueError):
    """An account change that is not allowed; the message is French, for the coordinator."""


class WeakPassword(AccountError):
    """A password refused by the policy; the message says why, in French."""


def check_password_policy(password: str, email: str | None = None) -> None:
    """Raise WeakPassword unless ``password`` is acceptable.

    The rule is deliberately short (NIST SP 800-63B): a length of 12 or more, which a passphrase
    of a few words meets easily, no composition rules, and none of the obvious guesses (the
    e-mail or its name part alone, one character repeated or a run like ``123456789012``).
    """
    if len(password) < PASSWORD_MIN_LENGTH:
        raise WeakPassword(f"Mot de passe trop court : {PASSWORD_RULE_FR}")
    lowered = password.lower()
    if email:
        address = email.strip().lower()
        local = address.split("@", 1)[0]
        if address in lowered or lowered.strip() == local:
            raise WeakPassword("Le mot de passe ne doit pas contenir votre adresse électronique.")
    if len(set(lowered)) < 5:
        raise WeakPassword("Mot de passe trop simple : utilisez des mots ou des caractères variés.")
    if lowered in "0123456789012345678901234567890" or lowered in "azertyuiopqsdfghjklmwxcvbn":
        raise WeakPassword("Mot de passe trop simple : évitez les suites de touches du clavier.")


def create_user(email: str, name: str, password: str, role: str, structure: Structure | None,
                *, temporary: bool = False) -> User:
    """Create a user with a hashed password (not committed).

    ``temporary``: the password was chosen by someone else (an administrator creating the
    account) and must be changed at first sign-in.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    check_password_policy(password, email)
    user = User(email=email.strip().lower(), name=name, role=role, structure=structure,
                password_hash=generate_password_hash(password), must_change_password=temporary,
                password_changed_at=utcnow())
    db.session.add(user)
    return user


def find_user(email: str) -> User | None:
    """The account with this e-mail (case and spaces ignored), or None."""
    return db.session.execute(
        db.select(User).filter_by(email=email.strip().lower())
    ).scalar_one_or_none()


def authenticate(email: str, password: str, ip: str | None = None) -> User | None:
    """The active user with this e-mail and password, or None; every attempt is audited."""
    user = find_user(email)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None and user.is_active
    db.session.add(AuditLog(user_id=user.id if user else None, actor=email[:200],
                            action="login" if ok else "login_failed", object_type="user",
                            object_id=str(user.id) if user else None, ip=ip))
    if ok and user is not None:
        user.last_login_at = utcnow()
    db.session.commit()
    return user if ok else None


def _set_password(user: User, new_password: str) -> None:
    check_password_policy(new_password, user.email)
    if check_password_hash(user.password_hash, new_password):
        raise WeakPassword("Choisissez un mot de passe différent de l'actuel.")
    user.password_hash = generate_password_hash(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    # Any reset link still pending is void once the password changed.
    user.password_reset_token_hash = None
    user.password_reset_expires_at = None


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a signed-in user's password after checking the current one (audited; commit)."""
    from .audit import record_audit

    if not check_password_hash(user.password_hash, current_password):
        raise AccountError("Le mot de passe actuel est incorrect.")
    _set_password(user, new_password)
    record_audit("password_change", "user", user.id, user=user)
    db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_reset_token(account: User, by_user: User, valid_hours: int) -> str:
    """A new single-use reset token for ``account`` (audited; commit); returns the clear token.

    Only its hash is stored, and a new token replaces (invalidates) the previous one. The
    current password keeps working until the link is used.
    """
    from .access import can_manage_account
    from .audit import record_audit

    if account.id != by_user.id and not can_manage_account(by_user, account):
        raise AccountError("Vous ne pouvez pas gérer ce compte.")
    if not account.is_active_account:
        raise AccountError("Ce compte est désactivé : réactivez-le d'abord.")
    token = secrets.token_urlsafe(32)
    account.password_reset_token_hash = _token_hash(token)
    account.password_reset_expires_at = utcnow() + timedelta(hours=valid_hours)
    record_audit("password_reset_link", "user", account.id, user=by_user,
                 detail={"email": account.email, "valid_hours": valid_hours})
    db.session.commit()
    return token


def user_for_reset_token(token: str) -> User | None:
    """The active account whose pending reset token is ``token`` and not expired, or None."""
    if not token or len(token) > 200:
        return None
    user = db.session.execute(
        db.select(User).filter_by(password_reset_token_hash=_token_hash(token))
    ).scalar_one_or_none()
    if user is None or not user.is_active_account or user.password_reset_expires_at is None:
        return None
    if user.password_reset_expires_at <= utcnow():
        return None
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link, which is then used up (audited; commit)."""
    from .audit import record_audit

    user = user_for_reset_token(token)
    if user is None:
        raise AccountError("Ce lien de réinitialisation n'est plus valable : demandez-en un nouveau "
                           "à votre coordinateur ou à l'administrateur.")
    _set_password(user, new_password)
    record_audit("password_reset", "user", user.id, user=user)
    db.session.commit()
    return user


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


def create_first_admin(email: str, name: str, password: str) -> User:
    """The administrator of a new deployment (commit); refuses an e-mail already used."""
    from .audit import record_audit

    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email.strip()):
        raise AccountError(f"Adresse électronique invalide : {email!r}.")
    if find_user(email) is not None:
        raise AccountError(f"Un compte existe déjà avec l'adresse {email.strip().lower()}.")
    user = create_user(email, name, password, "admin", None)
    db.session.flush()
    record_audit("create", "user", user.id, actor="flask accounts create-admin",
                 detail={"role": "admin"})
    db.session.commit()
    return user
