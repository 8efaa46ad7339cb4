"""Open-data API views (/api/v1): journey search, its OpenAPI document and docs, GTFS export."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, jsonify, render_template, request

from ..services.journeys import JourneyQuery, find_journeys
from . import bp, operations
from .errors import cacheable
from .openapi import openapi_document
from .schemas.fields import page_cursor
from .schemas.journeys import DocsQuery, JourneysQuery
from .validation import ParameterError

#: Seconds a journey answer may be cached by clients and proxies.
JOURNEYS_MAX_AGE_S = 60


def _site_url() -> str:
    """The public root of the site: PUBLIC_BASE_URL behind a proxy, else the request's host."""
    return str(current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


@bp.get("/journeys", tags=["journeys"])
@bp.arguments(JourneysQuery, location="query")
@bp.doc(**operations.JOURNEYS)
def journeys(args: dict[str, Any]) -> Response:
    """Itineraries between two points: transit, volunteer rides, and both combined."""
    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    when: dt.datetime | None = args.get("when")
    cursor = args.get("page_cursor")
    if cursor is not None:
        if cursor["arrive_by"] != args["arrive_by"]:
            raise ParameterError("page_cursor", "the cursor belongs to a query with another arrive_by")
        when = cursor["when"].astimezone(tz)
    if when is None:
        when = dt.datetime.now(tz).replace(microsecond=0)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    window = dt.timedelta(minutes=args["window"])
    query = JourneyQuery(
        origin=args["origin"],
        destination=args["destination"],
        when=when,
        arrive_by=args["arrive_by"],
        max_transfers=args["max_transfers"],
        modes=frozenset(args["modes"]),
        max_walk_m=args["max_walk_m"],
        wheelchair=args["wheelchair"],
        window_s=int(window.total_seconds()),
    )
    result = find_journeys(query)
    page = result.itineraries[: args["num_itineraries"]]
    body = {
        "query": {
            "from": {"lat": query.origin[0], "lon": query.origin[1]},
            "to": {"lat": query.destination[0], "lon": query.destination[1]},
            "datetime": query.when.isoformat(timespec="seconds"),
            "arrive_by": query.arrive_by,
            "max_transfers": query.max_transfers,
            "modes": sorted(query.modes),
            "max_walk_m": query.max_walk_m,
            "wheelchair": query.wheelchair,
            "window": args["window"],
            "num_itineraries": args["num_itineraries"],
        },
        "itineraries": page,
        "notices": result.notices,
        "attribution": "Horaires : transport.data.gouv.fr (SNCF, ODbL) ; routes : © OpenStreetMap (ODbL).",
        **_cursors(query, page, window),
    }
    return cacheable(jsonify(body), JOURNEYS_MAX_AGE_S)


def _cursors(query: JourneyQuery, page: list[dict[str, Any]], window: dt.timedelta) -> dict[str, Any]:
    """Where the next and the previous pages start.

    Next: a minute after the last public-transport departure of this page (arriving by: a
    minute before its earliest arrival), so that each page moves on even when a journey lies
    past the window. Previous: the window before this one (arriving by: after it).
    """
    step = dt.timedelta(minutes=1)
    timed = [it for it in page if any(leg.get("trip_id") for leg in it["legs"])]
    nxt = None
    if timed and query.arrive_by:
        nxt = min(dt.datetime.fromisoformat(it["arrival"]) for it in timed) - step
    elif timed:
        nxt = max(dt.datetime.fromisoformat(it["departure"]) for it in timed) + step
    span = max(window, step)
    previous = query.when + span if query.arrive_by else query.when - span
    return {
        "next_page_cursor": page_cursor(nxt, query.arrive_by) if nxt is not None else None,
        "previous_page_cursor": page_cursor(previous, query.arrive_by),
    }


@bp.get("/openapi.json", tags=["open data"])
@bp.doc(**operations.OPENAPI)
def openapi() -> Response:
    """The OpenAPI 3 description of both public APIs."""
    return cacheable(jsonify(openapi_document(_site_url())), 3600)


@bp.get("/docs", tags=["open data"])
@bp.arguments(DocsQuery, location="query")
@bp.doc(**operations.DOCS)
def docs(args: dict[str, Any]) -> Response:
    """Human documentation, in French or English (``?lang=en``), rendered from the OpenAPI document."""
    lang = args["lang"]
    doc = openapi_document(_site_url())
    html = render_template("api/docs.html", doc=doc, lang=lang)
    response = current_app.make_response(html)
    response.headers["Content-Language"] = lang
    return cacheable(response, 3600)


@bp.get("/gtfs.zip", tags=["open data"])
@bp.doc(**operations.GTFS)
def gtfs_zip() -> Response:
    """Volunteers' regular trips and the solidarity service, as a GTFS feed."""
    from ..services.opendata import NothingToPublish, export_gtfs

    try:
        data = export_gtfs()
    except NothingToPublish:
        abort(404, description="No volunteer trip is published yet: the GTFS feed has no trip.")
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        'attachment; filename="mobilite-solidaire-lot-gtfs.zip"'
    )
    return cacheable(response, 3600)
