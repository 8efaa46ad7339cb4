"""Rate limiting of the public APIs: JSON 429 with Retry-After, in each blueprint's error format."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask


@pytest.fixture
def limited_app(tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app with the real limiter on (3 requests a minute); no database or territory needed."""
    from app import create_app
    from app.extensions import limiter

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
            "TERRITORY_DIR": str(tmp_path / "t"),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "API_RATE_LIMIT": "3 per minute",
        }
    )
    limiter.reset()
    yield app
    # Flask-Limiter keeps "enabled" on the shared extension object: leave it as the other tests expect.
    limiter.reset()
    limiter.enabled = False


@pytest.mark.parametrize(
    "path,standard",
    [
        ("/api/v1/openapi.json", False),
        ("/api/covoiturage/v1/status", True),
    ],
)
def test_over_the_limit_gets_429_with_retry_after(limited_app, path, standard):
    client = limited_app.test_client()
    codes = [client.get(path).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = client.get(path)
    assert r.status_code == 429
    assert r.mimetype == "application/json"
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    body = r.get_json()
    if standard:
        assert list(body) == ["error"]
    else:
        assert body["status"] == 429 and "error" in body


def test_limit_is_per_client(limited_app):
    client = limited_app.test_client()
    for _ in range(4):
        client.get("/api/covoiturage/v1/status", environ_overrides={"REMOTE_ADDR": "10.0.0.1"})
    other = client.get("/api/covoiturage/v1/status", environ_overrides={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 200
