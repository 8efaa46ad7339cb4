"""The solidarity mobility platform of the Lot: Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI commands.

    ``config`` overrides the settings read from the environment (tests pass their database
    URL and instance folder this way).
    """
    instance_path = (config or {}).get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from .config import load_config

    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    from .database import backend_name, engine_options

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config["DATABASE_BACKEND"] = backend_name(url)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        url, app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )

    _init_extensions(app)

    from . import web
    from .api import bp as api_bp
    from .api import standard_bp
    from .sms import bp as sms_bp

    app.register_blueprint(web.bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(standard_bp, url_prefix="/api/covoiturage/v1")
    app.register_blueprint(sms_bp, url_prefix="/sms")

    from .cli import register_cli

    register_cli(app)

    from .security import init_proxy_fix, init_security
    from .web.error_pages import init_error_pages

    init_security(app)

    from .observability import init_observability

    init_observability(app)
    init_error_pages(app)
    init_proxy_fix(app)
    return app


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables)
    from .database import install_spatialite_loader
    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    if app.config["DATABASE_BACKEND"] == "spatialite":
        with app.app_context():
            install_spatialite_loader(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    from .security import init_sessions

    init_sessions(app)  # before the CSRF check: an idle session leads to sign-in, not to a 400
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)

    @login_manager.user_loader
    def _load_user(session_id: str) -> models.User | None:
        user_id = session_id.partition(".")[0]
        if not user_id.isdigit():
            return None
        user = db.session.get(models.User, int(user_id))
        if user is None or user.get_id() != session_id:
            return None  # the password changed since this session began
        return user
