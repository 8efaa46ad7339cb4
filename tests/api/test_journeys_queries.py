"""A journey search reads the database in a bounded number of statements, whatever the number
of volunteers and trips (no query per trip, per driver or per commune)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Commune
from tests.api import seed
from tests.api.seed import DAY, MONTBRUN, VALBOURG_HOSPITAL, local

FEW, MANY = 3, 18  # MANY within one page (num_itineraries at most 20)
WHEN = local(DAY, "08:10")


def _publish(n: int, first: int = 0) -> None:
    """``n`` volunteers (numbered from ``first``), each with a one-off trip around :data:`WHEN` and a regular trip; every
    third one known by her commune only (no home point), communes taken in turn."""
    communes = [
        c.insee
        for c in db.session.query(Commune)
        .filter(Commune.merged_into_insee.is_(None))
        .order_by(Commune.insee)
    ]
    for i in range(first, first + n):
        d = seed.driver(first=f"Bénévole{i}", phone=f"+3361{i:07d}")
        if i % 3 == 2:
            d.home_geom = None
            d.home_commune_insee = communes[i % len(communes)]
        seed.one_off(d, WHEN - dt.timedelta(minutes=10) + dt.timedelta(minutes=i % 5))
        seed.regular(d, "1", "08:05")
    db.session.commit()
    db.session.remove()  # what the seeding loaded must not spare the search a query


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements run on the application's engine inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _journeys(client: Any) -> Any:
    return client.get(
        "/api/v1/journeys",
        query_string={
            "from": f"{MONTBRUN[0] + 0.001},{MONTBRUN[1]}",
            "to": f"{VALBOURG_HOSPITAL[0]},{VALBOURG_HOSPITAL[1]}",
            "datetime": WHEN.isoformat(),
            "modes": "solidarity",
            "num_itineraries": 20,
        },
    )


def _driver_journeys(client: Any) -> Any:
    return client.get(
        "/api/covoiturage/v1/driver_journeys",
        query_string={
            "departureLat": MONTBRUN[0] + 0.002,
            "departureLng": MONTBRUN[1],
            "arrivalLat": VALBOURG_HOSPITAL[0],
            "arrivalLng": VALBOURG_HOSPITAL[1],
            "departureDate": int(WHEN.timestamp()),
            "timeDelta": 1800,
        },
    )


def _carpools(response: Any) -> int:
    body = response.get_json()
    if isinstance(body, list):  # the Standard covoiturage answer
        return len(body)
    return sum(1 for it in body["itineraries"] if it["type"] == "carpool")


def _count(client: Any, search: Any) -> tuple[int, int]:
    """(statements, volunteer trips found) of one search, caches warm and the session empty."""
    assert search(client).status_code == 200  # territory, places and communes read once
    db.session.remove()
    with _statements() as seen:
        response = search(client)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.remove()
    return len(seen), _carpools(response)


@pytest.mark.parametrize("search", [_journeys, _driver_journeys], ids=["journeys", "standard"])
def test_statements_do_not_grow_with_published_trips(app, client, search):  # type: ignore[no-untyped-def]
    _publish(FEW)
    few, found_few = _count(client, search)
    _publish(MANY - FEW, first=FEW)
    many, found_many = _count(client, search)
    # The trips were all read and matched: the search did more work, not more queries.
    assert found_few >= FEW
    assert found_many >= MANY
    assert many == few, f"{few} statements with {FEW} trips, {many} with {MANY}"
