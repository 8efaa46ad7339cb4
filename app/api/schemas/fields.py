"""Marshmallow fields of the public API's query strings: each parses and documents one format.

Limits, enums, patterns and defaults are declared once, on the field; the parser
(:mod:`app.api.validation`) turns a failure into our 400, and apispec puts the same
declarations in the OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import fields, validate
from webargs.fields import DelimitedList

#: Dates the API accepts (timestamps and ISO datetimes), in UTC seconds.
MIN_UNIX_S = 0
MAX_UNIX_S = 4_102_444_800  # 2100-01-01
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

_LATLON = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d{1,18}\s*$")
_TIME_OF_DAY = r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$"


def between(minimum: float, maximum: float) -> validate.Range:
    """Inclusive bounds, documented as ``minimum``/``maximum``."""
    return validate.Range(minimum, maximum, error="must be between {min} and {max}, got {input}")


def doc(en: str, fr: str, example: Any = None, **extra: Any) -> dict[str, Any]:
    """Field metadata: English description, French text (``x-fr``), example."""
    out: dict[str, Any] = {"description": en, "x-fr": fr, **extra}
    if example is not None:
        out["example"] = example
    return out


class Integer(fields.Integer):
    """A decimal integer (at most 18 digits, no fraction, no underscores)."""

    default_error_messages = {"invalid": "must be an integer"}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> int:
        if isinstance(value, str) and not _INTEGER.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kw)  # type: ignore[no-any-return]


class Number(fields.Float):
    """A finite decimal number."""

    default_error_messages = {"invalid": "must be a number", "special": "must be a finite number"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)


class Flag(fields.Boolean):
    """``true``/``false`` (also 1/0, yes/no, any case)."""

    default_error_messages = {"invalid": "must be true or false"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(truthy={"true", "1", "yes"}, falsy={"false", "0", "no"}, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> bool:
        if isinstance(value, str):
            value = value.strip().lower()
        return super()._deserialize(value, attr, data, **kw)  # type: ignore[no-any-return]


class LatLon(fields.String):
    """A ``lat,lon`` pair in WGS84 degrees, as a (lat, lon) tuple."""

    default_error_messages = {
        "required": "is required, as 'lat,lon' in WGS84 degrees (e.g. 44.4508,1.4405)",
        "invalid": "must be 'lat,lon' in decimal degrees",
        "range": "is out of range: latitude in [-90, 90], longitude in [-180, 180]",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata.setdefault("pattern", _LATLON.pattern)  # documented; applied below

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> tuple[float, float]:
        text = super()._deserialize(value, attr, data, **kw)
        if text.strip() == "":
            raise self.make_error("required")
        m = _LATLON.match(text)
        if not m:
            raise self.make_error("invalid")
        lat, lon = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise self.make_error("range")
        return lat, lon


class IsoDateTime(fields.DateTime):
    """An ISO 8601 datetime between 1970 and 2099; naive when it has no offset (local time)."""

    default_error_messages = {
        "invalid": "must be an ISO 8601 datetime such as 2025-01-24T08:30:00+01:00",
        "range": "must be between 1970 and 2099",
    }

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> dt.datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise self.make_error("invalid") from None
        # A naive time is the territory's local time (the view sets its zone); bounding it as
        # if UTC is off by hours at most, which does not matter in 1970 or 2100.
        utc = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        if not MIN_UNIX_S <= utc.timestamp() < MAX_UNIX_S:
            raise self.make_error("range")
        return when


class TimeOfDay(fields.String):
    """``HH:MM:SS``, as seconds past midnight."""

    default_error_messages = {"invalid": "must be a time of day HH:MM:SS"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata.setdefault("pattern", _TIME_OF_DAY)  # documented; applied below

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> int:
        text = super()._deserialize(value, attr, data, **kw).strip()
        m = re.match(_TIME_OF_DAY, text)
        if not m:
            raise self.make_error("invalid")
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


class _Choice(fields.String):
    """One of ``choices``, compared after trimming and changing case."""

    def __init__(self, choices: Iterable[str], *, upper: bool, **kwargs: Any) -> None:
        self.choices = tuple(choices)
        self.upper = upper
        super().__init__(
            validate=validate.OneOf(self.choices, error="unknown value {input!r}"), **kwargs
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kw).strip()
        return text.upper() if self.upper else text.lower()


def choice_list(choices: Iterable[str], *, upper: bool = False, **kwargs: Any) -> DelimitedList:
    """A comma-separated list of values among ``choices`` (``style: form, explode: false``);
    all of them when absent."""
    values = tuple(choices)
    metadata = {"default": list(values), **kwargs.pop("metadata", {})}
    return DelimitedList(
        _Choice(values, upper=upper),
        load_default=lambda: list(values),
        validate=validate.Length(min=1, error="takes at least one value"),
        metadata=metadata,
        error_messages={"invalid": f"takes a comma-separated list of {', '.join(values)}"},
        **kwargs,
    )


class JsonNumber(fields.Float):
    """A JSON number in a request body: not a string, not a boolean, finite."""

    default_error_messages = {"invalid": "must be a number"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kw)  # type: ignore[no-any-return]


class JsonInteger(fields.Integer):
    """A JSON integer in a request body (not a string, a fraction or a boolean)."""

    default_error_messages = {"invalid": "must be an integer"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class PageCursor(fields.String):
    """An opaque page cursor of the journey search: where the next page starts and in which
    direction (base64url of a small JSON object), decoded to ``{"when": aware datetime,
    "arrive_by": bool}``."""

    default_error_messages = {"invalid": "is not a cursor given by this API"}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kw: Any
    ) -> dict[str, Any]:
        text = super()._deserialize(value, attr, data, **kw)
        try:
            if len(text) > 200:
                raise ValueError("too long")
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            when = dt.datetime.fromisoformat(raw["when"])
            if when.tzinfo is None or not isinstance(raw["arrive_by"], bool):
                raise ValueError("incomplete")
            if not 1970 <= when.year <= 2099:
                raise ValueError("out of range")
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise self.make_error("invalid") from None
        return {"when": when, "arrive_by": raw["arrive_by"]}


def page_cursor(when: dt.datetime, arrive_by: bool) -> str:
    """The cursor of a page starting at ``when`` (see :class:`PageCursor`)."""
    raw = json.dumps({"when": when.isoformat(timespec="seconds"), "arrive_by": arrive_by})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
