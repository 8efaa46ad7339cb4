"""Fixtures of the aidants' web platform: demo accounts, signed-in clients, a live server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import Beneficiary, Driver, Structure, User

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

AIDANT = ("aidant@demo.mobilite-lot.fr", "aidant-demo-46")  # France Services de Valbourg
CCAS = ("ccas@demo.mobilite-lot.fr", "ccas-demo-46")  # CCAS de Combelongue
COORDINATOR = ("coordination@demo.mobilite-lot.fr", "coord-demo-46")
ADMIN = ("admin@demo.mobilite-lot.fr", "admin-demo-46")


@dataclass
class Demo:
    valbourg: Structure
    ccas: Structure
    aidant: User
    ccas_aidant: User
    roseline: Beneficiary  # France Services, Lacombe-Haute, shares with partners
    sarah: Beneficiary  # CCAS, Combelongue, no sharing consent
    jeanne: Driver  # Valbourg, available every day
    sebastien: Beneficiary  # France Services, Valbourg: one confirmed and one proposed need


def seed() -> Demo:
    from app.services.demo_data import seed_demo

    seed_demo()
    one = lambda model, **kw: db.session.execute(db.select(model).filter_by(**kw)).scalar_one()  # noqa: E731
    return Demo(
        valbourg=one(Structure, name="France Services de Valbourg"),
        ccas=one(Structure, name="CCAS de Combelongue"),
        aidant=one(User, email=AIDANT[0]),
        ccas_aidant=one(User, email=CCAS[0]),
        roseline=one(Beneficiary, first_name="Roseline"),
        sarah=one(Beneficiary, first_name="Sarah"),
        jeanne=one(Driver, first_name="Jeanne"),
        sebastien=one(Beneficiary, first_name="Sébastien"),
    )


@pytest.fixture
def demo(app) -> Demo:  # type: ignore[no-untyped-def]
    """The demo structures, accounts, people and needs, on each back-end."""
    return seed()


def login(client, account: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/connexion", data={"email": account[0], "password": account[1]})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


class OwnContextClient:
    """A second person's browser: each request runs in its own application context.

    The fixtures keep one application context pushed for the whole test, so every request of
    every test client shares its ``g`` (where Flask-Login caches the signed-in user). With two
    people signed in at once that cache would leak from one to the other; in production each
    request has its own context, as here.
    """

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.client = app.test_client()

    def _call(self, method: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.app.app_context():
            return getattr(self.client, method)(*args, **kwargs)

    def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._call("get", *args, **kwargs)

    def post(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._call("post", *args, **kwargs)


def paris_today() -> date:
    """Today in the platform's time zone (Europe/Paris in the tests), as the demo seed and the
    pages count days: near midnight UTC it is not the machine's date."""
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def local_moment(days_ahead: int, at: time, tz: str = "Europe/Paris") -> datetime:
    return datetime.combine(paris_today() + timedelta(days=days_ahead), at, ZoneInfo(tz))


def sibling_app(base, **overrides):  # type: ignore[no-untyped-def]
    """Another application on the same database and territory (no rebuild), with overrides."""
    from app import create_app

    config = {key: base.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "TERRITORY_DIR", "SECRET_KEY", "TASK_QUEUE_URL", "TASK_QUEUE_IMMEDIATE",
        "ENGINE_WARM_UP", "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED")}
    config.update(TESTING=True, INSTANCE_PATH=str(Path(base.instance_path).parent / "instance-sibling"))
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The SpatiaLite app served by a real HTTP server thread on 127.0.0.1, CSRF enabled.

    It reuses the SpatiaLite instance of the ``app`` fixture (the PostGIS run is skipped):
    building a third application and territory would double the run time for nothing.
    """
    from werkzeug.serving import make_server

    if app.config["DATABASE_BACKEND"] != "spatialite":
        pytest.skip("the browser test runs on SpatiaLite")
    sapp = app
    previous = sapp.config["WTF_CSRF_ENABLED"]
    sapp.config["WTF_CSRF_ENABLED"] = True  # read per request by Flask-WTF
    server = make_server("127.0.0.1", 0, sapp, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        sapp.config["WTF_CSRF_ENABLED"] = previous
