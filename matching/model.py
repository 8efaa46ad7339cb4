"""The ride model: needs, drivers' trips, volunteers' availabilities (frozen dataclasses).

Times are UNIX seconds (UTC); durations are seconds; distances metres unless ``_km``.
These classes are the convenience layer of the public API: the computation runs on the
struct-of-arrays built from them in :mod:`matching.offers`.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from matching.errors import RideError

MAX_CONTRIBUTION_EUR_PER_KM = 0.32
"""Cap of the rider's contribution to costs in social-utility transport (arrêté of
17 October 2019), also the rate used for the volunteers' mileage allowance."""

MAX_SOCIAL_TRIP_M = 100_000.0
"""Social-utility transport trips are limited to 100 km (décret 2019-850)."""

SLOT_HOURS: dict[str, tuple[int, int]] = {
    "morning": (8, 12),
    "afternoon": (12, 18),
    "evening": (18, 21),
}
"""Local hours of the availability slots of the weekday x slot grid (Mobicoop's grid)."""


class ReturnMode(enum.StrEnum):
    """Whether and when the rider is driven back to the pickup point."""

    NONE = "none"
    AFTER_WAIT = "after_wait"
    """Driven back ``return_wait_s`` after the appointment (``latest_arrival_s``)."""
    AT_TIME = "at_time"
    """Driven back from ``return_at_s`` (UNIX seconds)."""


class Requirement(enum.IntFlag):
    """What a rider needs; the same flags describe what a driver and vehicle provide."""

    NONE = 0
    ACCOMPANIMENT = 1
    """Door-to-door accompaniment (help to the door, to the practice, waiting)."""
    WHEELCHAIR = 2
    """A vehicle that takes a wheelchair."""
    NO_FRONT_SEAT = 4
    """A back seat for the rider (not the front seat)."""
    ASSISTANCE_ANIMAL = 8
    """The rider travels with an assistance dog."""


class Purpose(enum.StrEnum):
    """Purpose of a ride (Mobicoop's solidary list); two of them are served first."""

    MEDICAL = "medical"
    EMPLOYMENT = "employment"
    SOCIAL_SERVICES = "social_services"
    SHOPPING = "shopping"
    VISIT = "visit"
    OTHER = "other"


PRIORITY_PURPOSES = frozenset({Purpose.MEDICAL, Purpose.EMPLOYMENT})


def _check_coord(what: str, lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        raise RideError(f"{what} must be finite WGS84 degrees, got ({lat}, {lon})")


@dataclass(frozen=True)
class RideNeed:
    """A person's need for a ride: from a pickup point to an appointment, maybe back."""

    need_id: str
    pickup_lat: float
    pickup_lon: float
    dropoff_lat: float
    dropoff_lon: float
    earliest_pickup_s: int
    latest_arrival_s: int
    return_mode: ReturnMode = ReturnMode.NONE
    return_wait_s: int = 0
    return_at_s: int | None = None
    return_slack_s: int = 1800
    """How long past the return time the rider accepts to be picked up by a driver's trip."""
    seats: int = 1
    requirements: Requirement = Requirement.NONE
    purpose: Purpose = Purpose.OTHER

    def __post_init__(self) -> None:
        _check_coord("pickup", self.pickup_lat, self.pickup_lon)
        _check_coord("dropoff", self.dropoff_lat, self.dropoff_lon)
        if self.latest_arrival_s <= self.earliest_pickup_s:
            raise RideError(f"need {self.need_id}: latest_arrival_s must follow earliest_pickup_s")
        if self.seats < 1:
            raise RideError(f"need {self.need_id}: seats must be >= 1")
        if self.return_slack_s < 0 or self.return_wait_s < 0:
            raise RideError(f"need {self.need_id}: return_wait_s and return_slack_s must be >= 0")
        if self.return_mode == ReturnMode.AT_TIME:
            if self.return_at_s is None or self.return_at_s < self.latest_arrival_s:
                raise RideError(
                    f"need {self.need_id}: return_at_s must be given and not before the arrival"
                )
        elif self.return_at_s is not None:
            raise RideError(f"need {self.need_id}: return_at_s only goes with return_mode at_time")

    @property
    def priority(self) -> int:
        """1 for medical and employment purposes, served first; 0 otherwise."""
        return 1 if self.purpose in PRIORITY_PURPOSES else 0

    @property
    def return_pickup_s(self) -> int | None:
        """When the rider is ready to be driven back, or None without return."""
        if self.return_mode == ReturnMode.AFTER_WAIT:
            return self.latest_arrival_s + self.return_wait_s
        if self.return_mode == ReturnMode.AT_TIME:
            return self.return_at_s
        return None


@dataclass(frozen=True)
class DriverTrip:
    """A driver's own trip (e.g. a commute) into which a rider can be inserted."""

    offer_id: str
    driver_id: str
    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float
    departure_earliest_s: int
    departure_latest_s: int
    seats: int = 3
    max_detour_s: int = 900
    capabilities: Requirement = Requirement.NONE

    def __post_init__(self) -> None:
        _check_coord("origin", self.origin_lat, self.origin_lon)
        _check_coord("destination", self.destination_lat, self.destination_lon)
        if self.departure_latest_s < self.departure_earliest_s:
            raise RideError(f"trip {self.offer_id}: departure window ends before it starts")
        if self.seats < 0 or self.max_detour_s < 0:
            raise RideError(f"trip {self.offer_id}: seats and max_detour_s must be >= 0")


@dataclass(frozen=True)
class VolunteerAvailability:
    """A volunteer driver available for dedicated round trips from home.

    ``windows`` are absolute ``(start_s, end_s)`` periods (see :func:`expand_weekly_slots`):
    the whole service, from leaving home to being back, must fit in one of them.
    """

    driver_id: str
    home_lat: float
    home_lon: float
    windows: tuple[tuple[int, int], ...]
    max_distance_km: float | None = 20.0
    """Farthest road distance from home to the pickup or the drop-off point."""
    max_duration_s: int | None = None
    """Longest drive from home to the pickup or from the drop-off point back home."""
    seats: int = 3
    capabilities: Requirement = Requirement.ACCOMPANIMENT
    max_rides_per_day: int = 2
    windows_sorted: tuple[tuple[int, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_coord("home", self.home_lat, self.home_lon)
        for start, end in self.windows:
            if end <= start:
                raise RideError(f"volunteer {self.driver_id}: window ({start}, {end}) is empty")
        if self.max_distance_km is not None and self.max_distance_km <= 0:
            raise RideError(f"volunteer {self.driver_id}: max_distance_km must be > 0")
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise RideError(f"volunteer {self.driver_id}: max_duration_s must be > 0")
        if self.seats < 0 or self.max_rides_per_day < 0:
            raise RideError(f"volunteer {self.driver_id}: seats and max_rides_per_day >= 0")
        object.__setattr__(self, "windows_sorted", tuple(sorted(self.windows)))


def expand_weekly_slots(
    slots: Iterable[tuple[int, str]],
    first_day: dt.date,
    n_days: int,
    timezone: str = "Europe/Paris",
) -> tuple[tuple[int, int], ...]:
    """Expand a weekday x slot grid into absolute availability windows.

    Parameters
    ----------
    slots : iterable of (weekday, slot)
        ``weekday`` 0 = Monday .. 6 = Sunday; ``slot`` one of ``morning`` (8–12),
        ``afternoon`` (12–18), ``evening`` (18–21), local time.
    first_day : datetime.date
        First local day to expand.
    n_days : int
        Number of days, from ``first_day``.
    timezone : str
        IANA zone of the local hours (daylight saving time is honoured).

    Returns
    -------
    tuple of (start_s, end_s)
        Sorted UNIX-second windows; adjacent slots of a day are merged (morning +
        afternoon gives 8–18) so that a ride may straddle noon.
    """
    zone = ZoneInfo(timezone)
    wanted: set[tuple[int, str]] = set()
    for weekday, slot in slots:
        if not 0 <= weekday <= 6:
            raise RideError(f"weekday must be 0 (Monday) .. 6 (Sunday), got {weekday}")
        if slot not in SLOT_HOURS:
            raise RideError(f"unknown slot {slot!r}: use one of {sorted(SLOT_HOURS)}")
        wanted.add((weekday, slot))
    windows: list[tuple[int, int]] = []
    for k in range(n_days):
        day = first_day + dt.timedelta(days=k)
        for slot, (h0, h1) in sorted(SLOT_HOURS.items(), key=lambda item: item[1]):
            if (day.weekday(), slot) not in wanted:
                continue
            start = int(dt.datetime.combine(day, dt.time(h0), zone).timestamp())
            end = int(dt.datetime.combine(day, dt.time(h1), zone).timestamp())
            if windows and windows[-1][1] == start:
                windows[-1] = (windows[-1][0], end)
            else:
                windows.append((start, end))
    return tuple(windows)


def mileage_eur(distance_m: float, rate_eur_per_km: float = MAX_CONTRIBUTION_EUR_PER_KM) -> float:
    """Mileage amount in euros for ``distance_m``, at a rate capped at 0.32 €/km.

    Raises
    ------
    ValueError
        When the rate is negative or above :data:`MAX_CONTRIBUTION_EUR_PER_KM`.
    """
    if not 0 <= rate_eur_per_km <= MAX_CONTRIBUTION_EUR_PER_KM:
        raise ValueError(
            f"rate {rate_eur_per_km} €/km outside 0..{MAX_CONTRIBUTION_EUR_PER_KM} €/km"
            " (arrêté of 17 October 2019)"
        )
    return round(distance_m / 1000.0 * rate_eur_per_km, 2)


def local_day(timestamp_s: int, timezone: str = "Europe/Paris") -> dt.date:
    """The local calendar day of a UNIX time (the unit of the volunteers' daily cap)."""
    return dt.datetime.fromtimestamp(timestamp_s, ZoneInfo(timezone)).date()
