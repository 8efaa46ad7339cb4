"""Query-string parsing for the public API: each helper names the parameter it rejects."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from .errors import ParameterError

_LATLON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
#: Dates the API accepts (timestamps and ISO datetimes), in UTC seconds.
MIN_UNIX_S = 0
MAX_UNIX_S = 4_102_444_800  # 2100-01-01


def latlon(args: Mapping[str, str], name: str) -> tuple[float, float]:
    """A required ``lat,lon`` pair in WGS84 degrees."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        raise ParameterError(
            name,
            f"parameter '{name}' is required, as 'lat,lon' in WGS84 degrees (e.g. 44.4508,1.4405)",
        )
    m = _LATLON.match(raw)
    if not m:
        raise ParameterError(
            name, f"parameter '{name}' must be 'lat,lon' in decimal degrees, got {raw[:60]!r}"
        )
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ParameterError(
            name,
            f"parameter '{name}' is out of range: latitude in [-90, 90], longitude in [-180, 180]",
        )
    return lat, lon


def number(
    args: Mapping[str, str],
    name: str,
    *,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """A number (required when ``default`` is None), within bounds."""
    raw = args.get(name)
    if raw is None:
        if default is None:
            raise ParameterError(name, f"parameter '{name}' is required (a number)")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ParameterError(
            name, f"parameter '{name}' must be a number, got {raw[:60]!r}"
        ) from None
    if not math.isfinite(value):
        raise ParameterError(name, f"parameter '{name}' must be a finite number")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParameterError(
            name, f"parameter '{name}' must be between {minimum} and {maximum}, got {value}"
        )
    return value


def integer(
    args: Mapping[str, str],
    name: str,
    *,
    default: int | None = None,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An integer (None when absent and no default), within bounds."""
    raw = args.get(name)
    if raw is None:
        if required:
            raise ParameterError(name, f"parameter '{name}' is required (an integer)")
        return default
    if not re.fullmatch(r"[+-]?\d{1,18}", raw.strip()):
        raise ParameterError(name, f"parameter '{name}' must be an integer, got {raw[:60]!r}")
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParameterError(
            name, f"parameter '{name}' must be between {minimum} and {maximum}, got {value}"
        )
    return value


def boolean(args: Mapping[str, str], name: str, default: bool = False) -> bool:
    """``true``/``false`` (also 1/0, yes/no)."""
    raw = args.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in {"true", "1", "yes"}:
        return True
    if low in {"false", "0", "no"}:
        return False
    raise ParameterError(name, f"parameter '{name}' must be true or false, got {raw[:60]!r}")


def iso_datetime(args: Mapping[str, str], name: str, tz: ZoneInfo) -> dt.datetime:
    """An ISO 8601 datetime (local time of ``tz`` when it has no offset); now when absent."""
    raw = args.get(name)
    if raw is None:
        return dt.datetime.now(tz).replace(microsecond=0)
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            name,
            f"parameter '{name}' must be an ISO 8601 datetime such as 2025-01-24T08:30:00+01:00, got {raw[:60]!r}",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    if not MIN_UNIX_S <= value.timestamp() < MAX_UNIX_S:
        raise ParameterError(name, f"parameter '{name}' must be between 1970 and 2099")
    return value


def csv_choices(
    args: Mapping[str, str], name: str, choices: tuple[str, ...], *, upper: bool = False
) -> list[str]:
    """A comma-separated list of values among ``choices``; all of them when absent."""
    raw = args.get(name)
    if raw is None:
        return list(choices)
    items = [x.strip().upper() if upper else x.strip().lower() for x in raw.split(",") if x.strip()]
    bad = [x for x in items if x not in choices]
    if bad or not items:
        raise ParameterError(
            name,
            f"parameter '{name}' takes a comma-separated list of {', '.join(choices)}; "
            f"unknown: {', '.join(bad)[:80] or '(empty)'}",
        )
    return list(dict.fromkeys(items))


def time_of_day(args: Mapping[str, str], name: str) -> int:
    """A required ``HH:MM:SS`` time of day, as seconds past midnight."""
    raw = args.get(name)
    if raw is None:
        raise ParameterError(name, f"parameter '{name}' is required, as HH:MM:SS")
    m = _TIME_OF_DAY.match(raw.strip())
    if not m:
        raise ParameterError(
            name, f"parameter '{name}' must be a time of day HH:MM:SS, got {raw[:60]!r}"
        )
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
