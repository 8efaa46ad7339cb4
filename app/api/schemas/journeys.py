"""Schemas of the open-data journey search (``GET /api/v1/journeys``) and of our errors."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ...services.journeys import MAX_WALK_LIMIT_M, MAX_WALK_M, MODES
from . import Body
from .fields import (
    Flag,
    Integer,
    IsoDateTime,
    LatLon,
    Number,
    PageCursor,
    between,
    choice_list,
    doc,
)

#: Search window (minutes) and page size of a journey search.
DEFAULT_WINDOW_MIN, MAX_WINDOW_MIN = 60, 240
DEFAULT_ITINERARIES, MAX_ITINERARIES = 5, 20

TRANSIT_MODES = (
    "walk", "car", "rail", "coach", "bus", "tram", "subway", "ferry", "cable_car",
    "aerial_lift", "funicular", "trolleybus", "monorail", "carpool", "taxi", "other",
)  # fmt: skip
ITINERARY_TYPES = ("transit", "combined", "solidarity", "carpool")


class JourneysQuery(Schema):
    """The query string of a journey search."""

    origin = LatLon(
        data_key="from",
        required=True,
        metadata=doc(
            "Origin as `lat,lon` (WGS84).", "Départ, `lat,lon` (WGS84).", "44.3333,1.5652"
        ),
    )
    destination = LatLon(
        data_key="to",
        required=True,
        metadata=doc(
            "Destination as `lat,lon` (WGS84).", "Arrivée, `lat,lon` (WGS84).", "43.6114,1.4536"
        ),
    )
    when = IsoDateTime(
        data_key="datetime",
        metadata=doc(
            "ISO 8601 datetime (local time of the territory when no offset); now when absent. "
            "Between 1970 and 2099.",
            "Date et heure ISO 8601 (heure locale sans décalage) ; maintenant par défaut.",
            "2025-01-24T07:00:00+01:00",
        ),
    )
    arrive_by = Flag(
        load_default=False,
        metadata=doc(
            "When true, `datetime` is the latest arrival.",
            "Si vrai, `datetime` est l'heure d'arrivée au plus tard.",
        ),
    )
    max_transfers = Integer(
        load_default=4,
        validate=between(0, 8),
        metadata=doc("Most changes between vehicles.", "Nombre maximal de correspondances."),
    )
    modes = choice_list(
        MODES,
        metadata=doc(
            "Kinds of itineraries, comma-separated (default: all).",
            "Types d'itinéraires, séparés par des virgules (par défaut : tous).",
            ["transit", "combined"],
        ),
    )
    max_walk_m = Number(
        load_default=MAX_WALK_M,
        validate=between(0, MAX_WALK_LIMIT_M),
        metadata=doc(
            "Longest walk to or from a stop, metres in a straight line (the walking time "
            "allows for detours). Beyond it, a volunteer's drive to the station is offered.",
            "Marche la plus longue jusqu'à un arrêt ou depuis un arrêt, en mètres à vol "
            "d'oiseau. Au-delà, un trajet solidaire jusqu'à la gare est proposé.",
            800,
        ),
    )
    wheelchair = Flag(
        load_default=False,
        metadata=doc(
            "When true, only stops and trips the timetable says are accessible in a "
            "wheelchair (GTFS `wheelchair_boarding`, `wheelchair_accessible`) and volunteers "
            "with an accessible vehicle; where the timetable does not say, the itinerary is "
            "kept and its legs are flagged `wheelchair: unknown`.",
            "Si vrai, seulement les arrêts et les trajets accessibles en fauteuil roulant "
            "selon les horaires, et les bénévoles au véhicule adapté ; si les horaires ne "
            "le disent pas, l'itinéraire est gardé et marqué `wheelchair: unknown`.",
        ),
    )


    window = Integer(
        load_default=DEFAULT_WINDOW_MIN,
        validate=between(0, MAX_WINDOW_MIN),
        metadata=doc(
            "Search window in minutes after `datetime` (arriving by: before it): the public "
            "transport journeys for any departure (arrival) in it that no other one beats on "
            "later departure, earlier arrival and fewer changes. 0: from that instant only.",
            "Fenêtre de recherche en minutes après `datetime` (arrivée : avant) : les trajets "
            "en transport public pour tout départ (toute arrivée) dans la fenêtre, sans ceux "
            "qu'un autre bat sur le départ, l'arrivée et les correspondances.",
            120,
        ),
    )
    num_itineraries = Integer(
        load_default=DEFAULT_ITINERARIES,
        validate=between(1, MAX_ITINERARIES),
        metadata=doc(
            "Most itineraries in one page, best first; `next_page_cursor` gives the next ones.",
            "Nombre maximal d'itinéraires par page, les meilleurs d'abord ; "
            "`next_page_cursor` donne les suivants.",
        ),
    )
    page_cursor = PageCursor(
        metadata=doc(
            "`next_page_cursor` or `previous_page_cursor` of an answer to the same query: the "
            "itineraries after (before) that page. It replaces `datetime`.",
            "Le `next_page_cursor` ou `previous_page_cursor` d'une réponse à la même requête : "
            "les itinéraires suivants (précédents). Il remplace `datetime`.",
        ),
    )


# --- Responses ----------------------------------------------------------------------------------


def _wheelchair() -> fields.String:
    """Accessibility of a leg or an itinerary, given when the query asked for ``wheelchair``."""
    return fields.String(
        validate=validate.OneOf(["yes", "no", "unknown"]),
        metadata={
            "description": "Accessible in a wheelchair according to the timetable (only with "
            "`wheelchair=true`); `unknown` where the timetable does not say."
        },
    )


class Place(Body):
    name = fields.String(required=True)
    lat = fields.Float(required=True, validate=between(-90, 90))
    lon = fields.Float(required=True, validate=between(-180, 180))
    kind = fields.String(
        required=True,
        metadata={"description": "stop, origin, destination, or the kind of a generalised place"},
    )
    stop_id = fields.String()
    generalised = fields.Boolean(
        metadata={"description": "A public place standing for a precise point."}
    )


class LineString(Body):
    type = fields.String(required=True, validate=validate.OneOf(["LineString"]))
    coordinates = fields.List(
        fields.List(fields.Float(), validate=validate.Length(2, 2)),
        required=True,
        validate=validate.Length(min=2),
    )


class LegBooking(Body):
    """How a volunteer leg is booked (by phone, with the solidarity service)."""

    method = fields.String(required=True, validate=validate.OneOf(["phone"]))
    phone = fields.String(
        required=True, metadata={"description": "The solidarity service's phone (E.164)."}
    )
    url = fields.String()
    conditions = fields.String(
        metadata={"description": "Who may book and what it costs (in French)."}
    )


class Route(Body):
    id = fields.String(required=True)
    short_name = fields.String(allow_none=True)
    long_name = fields.String(allow_none=True)
    type = fields.Integer(required=True, metadata={"description": "GTFS route type"})
    agency = fields.String(allow_none=True)


class Leg(Body):
    mode = fields.String(required=True, validate=validate.OneOf(TRANSIT_MODES))
    from_ = fields.Nested(Place, data_key="from", required=True)
    to = fields.Nested(Place, required=True)
    departure = fields.DateTime(required=True)
    arrival = fields.DateTime(required=True)
    duration_s = fields.Integer(required=True, validate=validate.Range(min=0))
    distance_m = fields.Integer(required=True, validate=validate.Range(min=0))
    route = fields.Nested(Route)
    trip_id = fields.String()
    headsign = fields.String(allow_none=True)
    frequency_based = fields.Boolean(
        metadata={
            "description": "The line runs at a headway (GTFS frequencies, exact_times 0): "
            "departure and arrival are estimates, it leaves every headway_s seconds.",
            "x-fr": "Ligne à fréquence : horaires estimés, un départ toutes les headway_s "
            "secondes.",
        }
    )
    headway_s = fields.Integer(validate=validate.Range(min=1))
    intermediate_stops = fields.List(fields.Nested(Place))
    operator = fields.String(
        validate=validate.OneOf(["volunteer", "volunteer_trip", "solidarity_service"])
    )
    seats = fields.Integer(validate=validate.Range(min=1))
    booking = fields.Nested(LegBooking)
    geometry = fields.Nested(LineString, required=True)
    wheelchair = _wheelchair()


class Itinerary(Body):
    type = fields.String(required=True, validate=validate.OneOf(ITINERARY_TYPES))
    departure = fields.DateTime(required=True)
    arrival = fields.DateTime(required=True)
    duration_s = fields.Integer(required=True, validate=validate.Range(min=0))
    transfers = fields.Integer(required=True, validate=validate.Range(min=0))
    walking_m = fields.Integer(required=True, validate=validate.Range(min=0))
    walking_s = fields.Integer(required=True, validate=validate.Range(min=0))
    legs = fields.List(fields.Nested(Leg), required=True, validate=validate.Length(min=1))
    geometry = fields.Nested(LineString, required=True)
    wheelchair = _wheelchair()


class Point(Body):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class EchoedQuery(Body):
    """The query as understood (defaults filled in)."""

    from_ = fields.Nested(Point, data_key="from", required=True)
    to = fields.Nested(Point, required=True)
    datetime = fields.DateTime(required=True)
    arrive_by = fields.Boolean(required=True)
    max_transfers = fields.Integer(required=True)
    modes = fields.List(fields.String(), required=True)
    max_walk_m = fields.Float(validate=validate.Range(min=0))
    wheelchair = fields.Boolean()
    window = fields.Integer(metadata={"description": "Search window, minutes."})
    num_itineraries = fields.Integer()


class Notice(Body):
    code = fields.String(required=True)
    message = fields.String(required=True)


class JourneysResponse(Body):
    query = fields.Nested(EchoedQuery, required=True)
    itineraries = fields.List(fields.Nested(Itinerary), required=True)
    notices = fields.List(fields.Nested(Notice), required=True)
    attribution = fields.String()
    next_page_cursor = fields.String(
        allow_none=True,
        metadata={"description": "Pass it as `page_cursor` for the itineraries after these "
                  "(arriving by: before these); null when this page holds no public transport."},
    )
    previous_page_cursor = fields.String(
        metadata={"description": "Pass it as `page_cursor` for the window before this one "
                  "(arriving by: after it)."},
    )


class ApiError(Body):
    """The error body of ``/api/v1``."""

    error = fields.String(required=True)
    status = fields.Integer(required=True)
    parameter = fields.String()


class _Language(fields.String):
    """``en`` for English; any other value (or none) is French."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        return "en" if super()._deserialize(value, attr, data, **kwargs) == "en" else "fr"


class DocsQuery(Schema):
    """The query string of the documentation page."""

    lang = _Language(
        load_default="fr",
        metadata=doc(
            "`en` for English; French otherwise.", "`en` pour l'anglais ; sinon français."
        ),
    )
