"""JSON errors, CORS, rate limiting and cache headers of the two public API blueprints.

Both blueprints are public, read-only and open to any origin (CORS ``*``, no credentials).
They share one rate limit per client address (config ``API_RATE_LIMIT``); a client over it
gets a JSON 429 with ``Retry-After`` in seconds. Errors are JSON: ``{"error": "...",
"status": 400, "parameter": "from"}`` on ``/api/v1``, and the standard's ``{"error": "..."}``
on ``/api/covoiturage/v1``; a request that fails its schema (:mod:`app.api.validation`) is a
400 in that format, as the upstream standard asks, never a 422.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import csrf, limiter
from ..services.journeys import JourneyQueryError
from . import bp, standard_bp
from .validation import ParameterError

log = logging.getLogger(__name__)

csrf.exempt(bp)
csrf.exempt(standard_bp)


def _rate_limit() -> str:
    return str(current_app.config.get("API_RATE_LIMIT", "120 per minute"))


limiter.limit(_rate_limit, scope="public-api")(bp)
limiter.limit(_rate_limit, scope="public-api")(standard_bp)


def _retry_after_s() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _api_error(status: int, message: str, parameter: str | None = None) -> tuple[Response, int]:
    body: dict[str, object] = {"error": message, "status": status}
    if parameter:
        body["parameter"] = parameter
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


def _standard_error(status: int, message: str) -> tuple[Response, int]:
    response = jsonify({"error": message})
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.errorhandler(ParameterError)
@bp.errorhandler(JourneyQueryError)
def _api_bad_parameter(exc: ParameterError | JourneyQueryError) -> tuple[Response, int]:
    return _api_error(400, str(exc), exc.parameter)


@standard_bp.errorhandler(ParameterError)
def _standard_bad_parameter(exc: ParameterError) -> tuple[Response, int]:
    return _standard_error(400, str(exc))


def _api_http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    message = (
        "Too many requests: slow down and retry later."
        if status == 429
        else (exc.description or exc.name)
    )
    response, status = _api_error(status, message)
    if status == 429:
        response.headers["Retry-After"] = str(_retry_after_s())
    return response, status


def _standard_http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 429:
        message = "Too many requests: slow down and retry later."
    response, status = _standard_error(status, message)
    if status == 429:
        response.headers["Retry-After"] = str(_retry_after_s())
    return response, status


def _api_internal(exc: InternalServerError) -> tuple[Response, int]:
    log.error("API error on %s: %s", request.path, exc.original_exception or exc)
    return _api_error(500, "Internal error: the search could not be completed.")


def _standard_internal(exc: InternalServerError) -> tuple[Response, int]:
    log.error("standard API error on %s: %s", request.path, exc.original_exception or exc)
    return _standard_error(500, "Internal error.")


# Code-specific handlers too: Flask prefers an application's handler for a code (the web
# blueprint's HTML 404/429 pages) over a blueprint's generic HTTPException handler.
_CODES = (400, 401, 403, 404, 405, 406, 413, 414, 429, 431)
for _code in (HTTPException, *_CODES):
    bp.register_error_handler(_code, _api_http_error)
    standard_bp.register_error_handler(_code, _standard_http_error)
for _code in (InternalServerError, 500):
    bp.register_error_handler(_code, _api_internal)
    standard_bp.register_error_handler(_code, _standard_internal)


def _cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = (
        "Accept, Content-Type, If-None-Match, Authorization, X-API-KEY"
    )
    response.headers["Access-Control-Expose-Headers"] = (
        "Retry-After, ETag, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
    )
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


bp.after_request(_cors)
standard_bp.after_request(_cors)


def cacheable(response: Response, max_age_s: int) -> Response:
    """Public cache headers and an ETag; answers 304 to a matching If-None-Match."""
    response.headers["Cache-Control"] = f"public, max-age={max_age_s}"
    response.add_etag()
    return response.make_conditional(request)
