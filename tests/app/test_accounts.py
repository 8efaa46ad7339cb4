"""Accounts on a real deployment: no demo accounts there, the first administrator from the command
line, the password policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import AuditLog, Structure, User
from app.services.accounts import WeakPassword, check_password_policy, create_user


@pytest.mark.parametrize("password", [
    "court-46", "onze-caract", "aaaaaaaaaaaaaaaa", "abababababababab", "123456789012", "azertyuiopqs",
    "agent@example.fr", "AGENT@EXAMPLE.FR-46", "agent",
])
def test_weak_passwords_are_refused_with_a_french_reason(password):
    with pytest.raises(WeakPassword) as refused:
        check_password_policy(password, "agent@example.fr")
    assert any(word in str(refused.value) for word in ("court", "simple", "adresse"))


@pytest.mark.parametrize("password", ["le causse est vert en mai", "Valbourg-2026-été", "vin lot sol mur"])
def test_passphrases_and_long_passwords_are_accepted(password):
    check_password_policy(password, "agent@example.fr")


def _real_territory_app(app, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The same database with a real (non-demo) territory active: its manifest says so."""
    from app.services.territory import FORMAT_VERSION
    from tests.web.conftest import sibling_app

    folder = tmp_path / "territories" / "lot-2026"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"format_version": FORMAT_VERSION, "name": "lot", "is_demo": False}), encoding="utf-8")
    (tmp_path / "territories" / "current").symlink_to(folder)
    return sibling_app(app, TERRITORY_DIR=str(tmp_path / "territories"))


def test_demo_seed_creates_nothing_on_a_real_territory(app, tmp_path):
    from app.services.demo_data import NotDemoTerritory, seed_demo

    real = _real_territory_app(app, tmp_path)
    with real.app_context():  # the fixture's context is the demo app's: the command would use it
        result = real.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "Territoire réel : aucun compte ni aucune donnée de démonstration" in result.output
    assert "accounts create-admin" in result.output
    assert "admin-demo-46" not in result.output
    assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == 0
    assert db.session.execute(db.select(db.func.count()).select_from(Structure)).scalar_one() == 0
    with real.app_context(), pytest.raises(NotDemoTerritory):
        seed_demo()


def test_demo_seed_on_the_demo_territory_prints_the_accounts(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.mobilite-lot.fr" in result.output and "admin-demo-46" in result.output
    assert db.session.execute(db.select(User).filter_by(email="admin@demo.mobilite-lot.fr")).scalar_one()


def test_create_admin_from_the_command_line(app, tmp_path):
    real = _real_territory_app(app, tmp_path)
    runner = real.test_cli_runner()
    context = real.app_context()
    context.push()  # the fixture's context is the demo app's: the commands would use it
    try:
        _create_admin(real, runner)
    finally:
        context.pop()


def _create_admin(real, runner) -> None:  # type: ignore[no-untyped-def]
    weak = runner.invoke(args=["accounts", "create-admin", "--email", "dsi@lot.fr", "--name", "Chloé DSI",
                               "--password", "lot46"])
    assert weak.exit_code != 0 and "trop court" in weak.output
    bad = runner.invoke(args=["accounts", "create-admin", "--email", "dsi.lot.fr", "--name", "Chloé DSI",
                              "--password", "la vallée du Lot au printemps"])
    assert bad.exit_code != 0 and "Adresse électronique invalide" in bad.output
    assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == 0

    # Prompted twice, hidden, when not given as an option.
    prompted = runner.invoke(args=["accounts", "create-admin", "--email", " DSI@Lot.fr ", "--name", "Chloé DSI"],
                             input="la vallée du Lot au printemps\nla vallée du Lot au printemps\n")
    assert prompted.exit_code == 0, prompted.output
    assert "Administrateur créé : Chloé DSI <dsi@lot.fr>." in prompted.output
    admin = db.session.execute(db.select(User).filter_by(email="dsi@lot.fr")).scalar_one()
    assert admin.role == "admin" and admin.structure_id is None and admin.is_active_account
    assert not admin.must_change_password  # chosen by the administrator herself
    assert check_password_hash(admin.password_hash, "la vallée du Lot au printemps")
    assert db.session.execute(db.select(AuditLog).filter_by(action="create", object_id=str(admin.id))).scalar_one()

    again = runner.invoke(args=["accounts", "create-admin", "--email", "dsi@lot.fr", "--name", "Autre",
                                "--password", "une autre phrase de passe"])
    assert again.exit_code != 0 and "existe déjà" in again.output

    with real.test_client() as client:
        signed_in = client.post("/connexion", data={"email": "dsi@lot.fr", "password": "la vallée du Lot au printemps"})
        assert signed_in.status_code == 302


def test_create_user_refuses_a_weak_password_and_marks_temporary_ones(app):
    with pytest.raises(WeakPassword):
        create_user("agent@example.fr", "Agent", "trop-court", "aidant", None)
    user = create_user("agent@example.fr", "Agent", "un mot de passe provisoire", "aidant", None, temporary=True)
    db.session.commit()
    assert user.must_change_password and user.password_changed_at is not None
