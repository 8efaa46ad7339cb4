"""The ride model: validation, slot expansion, mileage cap."""

from __future__ import annotations

import datetime as dt

import pytest

from matching.errors import RideError
from matching.model import (
    DriverTrip,
    Purpose,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
    expand_weekly_slots,
    local_day,
    mileage_eur,
)

T0 = 1_737_964_800  # Monday 27 January 2025, 08:00 UTC


def _need(**kw: object) -> RideNeed:
    args: dict[str, object] = {
        "need_id": "n",
        "pickup_lat": 44.45,
        "pickup_lon": 1.44,
        "dropoff_lat": 44.46,
        "dropoff_lon": 1.45,
        "earliest_pickup_s": T0,
        "latest_arrival_s": T0 + 3600,
    }
    args.update(kw)
    return RideNeed(**args)  # type: ignore[arg-type]


def test_need_defaults_and_priority() -> None:
    need = _need()
    assert need.priority == 0
    assert need.return_pickup_s is None
    assert _need(purpose=Purpose.MEDICAL).priority == 1
    assert _need(purpose=Purpose.EMPLOYMENT).priority == 1
    assert _need(return_mode=ReturnMode.AFTER_WAIT, return_wait_s=600).return_pickup_s == T0 + 4200
    at = _need(return_mode=ReturnMode.AT_TIME, return_at_s=T0 + 7200)
    assert at.return_pickup_s == T0 + 7200


@pytest.mark.parametrize(
    "kw",
    [
        {"pickup_lat": 91.0},
        {"dropoff_lon": float("nan")},
        {"latest_arrival_s": T0},
        {"seats": 0},
        {"return_mode": ReturnMode.AT_TIME},
        {"return_mode": ReturnMode.AT_TIME, "return_at_s": T0},
        {"return_at_s": T0 + 9000},
        {"return_wait_s": -1},
    ],
)
def test_bad_needs_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(RideError):
        _need(**kw)


def test_bad_offers_are_refused() -> None:
    with pytest.raises(RideError, match="window"):
        DriverTrip("t", "d", 44.4, 1.4, 44.5, 1.5, T0 + 10, T0)
    with pytest.raises(RideError, match="empty"):
        VolunteerAvailability("v", 44.4, 1.4, ((T0, T0),))
    with pytest.raises(RideError, match="max_distance_km"):
        VolunteerAvailability("v", 44.4, 1.4, ((T0, T0 + 1),), max_distance_km=0)


def test_volunteer_windows_are_sorted() -> None:
    v = VolunteerAvailability("v", 44.4, 1.4, ((T0 + 100, T0 + 200), (T0, T0 + 50)))
    assert v.windows_sorted == ((T0, T0 + 50), (T0 + 100, T0 + 200))


def test_expand_weekly_slots_merges_and_honours_dst() -> None:
    # Monday morning + afternoon, Wednesday evening, over the week of the switch to summer
    # time (Sunday 30 March 2025).
    windows = expand_weekly_slots(
        [(0, "morning"), (0, "afternoon"), (2, "evening")], dt.date(2025, 3, 24), 14
    )
    utc = [
        (dt.datetime.fromtimestamp(a, dt.UTC), dt.datetime.fromtimestamp(b, dt.UTC))
        for a, b in windows
    ]
    assert len(utc) == 4
    assert utc[0] == (
        dt.datetime(2025, 3, 24, 7, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 24, 17, tzinfo=dt.UTC),
    )
    assert utc[1] == (
        dt.datetime(2025, 3, 26, 17, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 26, 20, tzinfo=dt.UTC),
    )
    # After the switch, 8:00 local is 6:00 UTC.
    assert utc[2][0] == dt.datetime(2025, 3, 31, 6, tzinfo=dt.UTC)
    with pytest.raises(RideError):
        expand_weekly_slots([(7, "morning")], dt.date(2025, 3, 24), 1)
    with pytest.raises(RideError):
        expand_weekly_slots([(0, "night")], dt.date(2025, 3, 24), 1)


def test_mileage_is_capped_at_32_cents() -> None:
    assert mileage_eur(10_000) == pytest.approx(3.2)
    assert mileage_eur(10_000, 0.2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="0.32"):
        mileage_eur(10_000, 0.33)


def test_local_day() -> None:
    # 23:30 UTC on 27 January is already the 28th in Paris.
    assert local_day(T0 + 15.5 * 3600).isoformat() == "2025-01-28"  # type: ignore[arg-type]
