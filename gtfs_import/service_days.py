"""Service days and time zones: where a GTFS time of a service day falls on the real clock.

GTFS times are not wall-clock times: a time ``t`` of service day ``D`` is the instant
``(local noon of D) - 12 h + t`` in the time zone of the feed's agency (GTFS reference,
"Field Types: Time"). On most days that is local midnight plus ``t``; on the day clocks go
forward (last Sunday of March in the EU) "noon minus 12 h" is 23:00 of the day before, and
on the day they go back (last Sunday of October) it is 01:00, so a trip of the next service
day is 23 h or 25 h after the same trip of the day before, not 24 h. Every shift between
service days in :mod:`gtfs_import` goes through :func:`day_origin_s`.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import gtfs_kit
import pandas as pd

from gtfs_import.errors import FeedError

#: Zone used for a feed whose ``agency.txt`` gives none (callers may pass their own).
DEFAULT_TIMEZONE = "Europe/Paris"

_NOON_S = 12 * 3600


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The :class:`zoneinfo.ZoneInfo` of an IANA name; :class:`FeedError` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FeedError(f"unknown time zone {name!r} (an IANA name is expected)") from exc


def as_date(value: str | dt.date) -> dt.date:
    """A :class:`datetime.date` from ``YYYYMMDD`` or a date."""
    if isinstance(value, dt.date):
        return value
    return dt.datetime.strptime(str(value), "%Y%m%d").date()


@lru_cache(maxsize=4096)
def day_origin_s(day: dt.date, timezone: str) -> int:
    """UTC POSIX seconds of "noon minus 12 h" of service day ``day`` in ``timezone``.

    >>> day_origin_s(dt.date(2025, 3, 30), "Europe/Paris") - day_origin_s(
    ...     dt.date(2025, 3, 29), "Europe/Paris")
    82800
    """
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone(timezone))
    return int(noon.timestamp()) - _NOON_S


def feed_timezone(feed: gtfs_kit.Feed, default: str | None = DEFAULT_TIMEZONE) -> str:
    """The time zone of a feed's service days: ``agency_timezone`` of its agencies.

    GTFS requires every agency of a feed to share one zone; the first non-blank one is used
    (:func:`gtfs_import.validate_feed` reports feeds that disagree).

    Parameters
    ----------
    feed
        The feed.
    default
        Zone used when ``agency.txt`` or its ``agency_timezone`` is missing; ``None`` makes
        that a :class:`FeedError`.

    Raises
    ------
    FeedError
        If the zone is not a known IANA name, or missing without a default.
    """
    agency = feed.agency
    name: str | None = None
    if agency is not None and "agency_timezone" in agency.columns:
        values = agency["agency_timezone"].astype("string").str.strip().dropna()
        values = values[values != ""]
        if len(values):
            name = str(values.iloc[0])
    if name is None:
        if default is None:
            raise FeedError("agency.txt gives no agency_timezone")
        name = default
    zone(name)
    return name


def day_shifts(
    days: pd.Series | list[dt.date], timezones: list[str], reference_s: int
) -> dict[tuple[int, dt.date], int]:
    """Seconds from ``reference_s`` to the origin of each (feed, day), per feed zone.

    ``timezones[k]`` is the zone of feed ``k``; the result maps ``(k, day)`` to
    ``day_origin_s(day, timezones[k]) - reference_s`` for every day given.
    """
    out: dict[tuple[int, dt.date], int] = {}
    for k, tz in enumerate(timezones):
        for day in days:
            out[(k, day)] = day_origin_s(day, tz) - reference_s
    return out
