"""Parsing requests through the typed schemas (webargs), with our 400 instead of a 422.

The upstream Standard covoiturage answers a bad parameter with 400 and ``{"error": ...}``;
``/api/v1`` with 400 and ``{"error", "status", "parameter"}`` (:mod:`app.api.errors`). A
schema failure becomes a :class:`ParameterError` naming the first bad parameter, which each
blueprint's handler renders in its format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import flask_smorest
from flask import Request
from marshmallow import Schema, ValidationError
from webargs.core import missing
from webargs.flaskparser import FlaskParser

#: Messages of marshmallow's own fields, said the way ours are.
_PHRASES = {
    "Missing data for required field.": "is required",
    "Field may not be null.": "must not be null",
    "Invalid input type.": "has the wrong type",
    "Not a valid string.": "must be a string",
    "Not a valid UUID.": "must be a UUID",
    "Not a valid integer.": "must be an integer",
    "Not a valid number.": "must be a number",
    "Not a valid list.": "must be a list",
}


class ParameterError(ValueError):
    """A parameter or a body field is missing or malformed (answered with 400 naming it)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def _first_error(messages: Any, path: tuple[str, ...] = ()) -> tuple[str, str]:
    """(dotted field path, message) of the first failure in marshmallow's nested messages."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            # A list's item index says which element failed, not which parameter.
            step = () if isinstance(key, int) or key == "_schema" else (str(key),)
            return _first_error(value, path + step)
    if isinstance(messages, list) and messages:
        if all(isinstance(m, str) for m in messages):
            return ".".join(path), str(messages[0])
        return _first_error(messages[0], path)
    return ".".join(path), str(messages)


def describe(error: ValidationError, location: str) -> ParameterError:
    """The ParameterError of a schema failure at ``location`` (query, path, json)."""
    messages = error.messages
    if isinstance(messages, Mapping) and set(messages) == {location}:
        messages = messages[location]  # webargs files the messages under their location
    name, message = _first_error(messages)
    message = _PHRASES.get(message, message)
    if location == "json":
        if not name:
            return ParameterError("body", "the body must be a JSON object")
        return ParameterError(name, f"'{name}' {message}")
    return ParameterError(name, f"parameter '{name}' {message}")


class SchemaParser(FlaskParser):
    """webargs' Flask parser raising :class:`ParameterError` (400) on a failure."""

    DEFAULT_VALIDATION_STATUS = 400

    def handle_error(  # type: ignore[override]
        self,
        error: ValidationError,
        req: Request,
        schema: Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        messages = error.messages
        location = next(iter(messages)) if isinstance(messages, Mapping) and messages else ""
        raise describe(error, str(location))

    def _handle_invalid_json_error(
        self, error: Exception, req: Request, *a: Any, **k: Any
    ) -> NoReturn:
        raise ParameterError("body", "the body must be a JSON object")

    def load_json(self, req: Request, schema: Schema) -> Any:
        """The JSON body; an absent or non-JSON one is a 400, not an empty object."""
        data = super().load_json(req, schema)
        if data is missing:
            raise ParameterError("body", "the body must be a JSON object (application/json)")
        return data


class ApiBlueprint(flask_smorest.Blueprint):
    """A blueprint whose ``arguments`` parse with :class:`SchemaParser` and document the schema."""

    ARGUMENTS_PARSER = SchemaParser()
