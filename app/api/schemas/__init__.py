"""Typed request and response schemas of the public APIs (marshmallow).

They validate what the views read and, through apispec, write the OpenAPI document
(:mod:`app.api.openapi`), so that the two cannot drift.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema


class Body(Schema):
    """A JSON object: fields not declared are ignored, and the document allows them."""

    class Meta:
        unknown = EXCLUDE
