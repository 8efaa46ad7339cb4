"""The public APIs against their own OpenAPI document (schemathesis, through WSGI).

Each operation gets a bounded number of generated requests, valid ones and invalid ones
(schemathesis' negative mode): valid ones must be answered as documented, invalid ones
rejected with a documented 4xx, never a server error. The document is generated from the
schemas that validate requests; two tests below, driven by the document alone, check that
the bounds and enums it declares are the ones enforced, and that the Standard covoiturage
operations stay a subset of the upstream document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from tests.api import seed
from tests.api.seed import DAY, local
from tests.conftest import ROOT

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 20}


@pytest.fixture
def api_schema(app):  # type: ignore[no-untyped-def]
    # Volunteer trips, so that the standard routes have results to check against their schemas.
    d = seed.driver()
    seed.one_off(d, local(DAY, "08:00"))
    seed.regular(d, "0,1,2,3,4", "07:45")
    db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _fuzz(operation, mode: GenerationMode) -> set[int]:  # type: ignore[no-untyped-def]
    """Send a bounded number of generated requests to one operation; the status codes seen."""
    codes: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):  # type: ignore[no-untyped-def]
        codes.add(case.call_and_validate(checks=CHECKS).status_code)

    check()
    return codes


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_api_conforms_to_its_openapi_document(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /api/v1/journeys",
        "GET /api/covoiturage/v1/driver_journeys",
        "GET /api/covoiturage/v1/driver_regular_trips",
        "GET /api/covoiturage/v1/status",
        "GET /api/v1/gtfs.zip",
    }
    seen: dict[str, set[int]] = {}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid

        seen[operation.label] = _fuzz(operation, mode)
    if mode is GenerationMode.POSITIVE:
        assert 200 in seen["GET /api/v1/journeys"]
        assert 200 in seen["GET /api/covoiturage/v1/driver_journeys"]
    else:
        assert 400 in seen["GET /api/v1/journeys"]


# --- The document and the validation cannot drift ------------------------------------------------

UPSTREAM = (
    ROOT.parent / "shared" / "design" / "standard-covoiturage" / "standard-covoiturage_openapi.yaml"
)
STANDARD = "/api/covoiturage/v1"
METHODS = ("get", "post", "put", "patch", "delete")


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _baseline(op: dict[str, Any]) -> dict[str, str]:
    """A valid query: every required parameter at its documented example."""
    query = {}
    for param in op.get("parameters", []):
        if param["in"] != "query" or not param.get("required"):
            continue
        assert "example" in param, f"required parameter {param['name']} has no example"
        query[param["name"]] = _text(param["example"])
    return query


def _probes(param: dict[str, Any]) -> list[tuple[str, bool]]:
    """(value, accepted?) pairs at the edges of what a parameter's schema declares."""
    schema = param["schema"]
    out: list[tuple[str, bool]] = []
    if schema.get("type") in ("integer", "number"):
        step = 1 if schema["type"] == "integer" else 1e-6
        if "minimum" in schema:
            out += [(_text(schema["minimum"]), True), (_text(schema["minimum"] - step), False)]
        if "maximum" in schema:
            out += [(_text(schema["maximum"]), True), (_text(schema["maximum"] + step), False)]
    enum = schema.get("enum") or schema.get("items", {}).get("enum")
    if enum:
        out += [(str(value), True) for value in enum]
        out.append(("not-" + str(enum[0]), False))
    return out


def test_declared_bounds_and_enums_are_the_validated_ones(client):
    """For every query parameter of the document with bounds or an enum (new ones included):
    a value just outside is a 400 naming it, the bound itself and each enum value are not."""
    doc = client.get("/api/v1/openapi.json").get_json()
    probed = set()
    for path, method, op in _operations(doc):
        if op.get("security") or method != "get":
            continue  # the booking routes check the key first (test_standard_booking fuzzes them)
        base = _baseline(op)
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            for value, accepted in _probes(param):
                r = client.get(path, query_string={**base, param["name"]: value})
                label = f"{path}?{param['name']}={value}"
                assert r.status_code < 500, label
                if accepted:
                    assert r.status_code != 400, (label, r.get_json())
                else:
                    assert r.status_code == 400, label
                    body = r.get_json()
                    assert body.get("parameter", param["name"]) == param["name"], label
                    assert f"'{param['name']}'" in body["error"], (label, body)
                probed.add((path, param["name"]))
    # The probes reach the parameters we know of (and any added later).
    assert {
        ("/api/v1/journeys", "max_transfers"),
        ("/api/v1/journeys", "max_walk_m"),
        ("/api/v1/journeys", "modes"),
        (f"{STANDARD}/driver_journeys", "timeDelta"),
        (f"{STANDARD}/driver_journeys", "departureLat"),
        (f"{STANDARD}/driver_regular_trips", "departureWeekdays"),
        (f"{STANDARD}/driver_regular_trips", "maxDepartureDate"),
    } <= probed


# --- Our Standard covoiturage operations are a subset of the upstream document -----------------


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _object(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object schema ($ref, allOf and oneOf followed:
    a oneOf requires what all of its alternatives require)."""
    schema = _resolve(doc, schema)
    props = dict(schema.get("properties", {}))
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        more, req = _object(doc, part)
        props.update(more)
        required |= req
    alternatives = [_object(doc, part) for part in schema.get("oneOf", [])]
    for more, _ in alternatives:
        props.update(more)
    if alternatives:
        required |= set.intersection(*(req for _, req in alternatives))
    return props, required


def _same_type(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    mine, upstream = ours.get("type"), theirs.get("type")
    if mine and upstream:
        assert mine == upstream or (mine, upstream) == ("integer", "number"), where
    if ours.get("enum") and theirs.get("enum"):
        assert set(ours["enum"]) <= set(theirs["enum"]), where


def _subset_object(ours_doc, ours, up_doc, theirs, where: str, *, answer: bool) -> None:  # type: ignore[no-untyped-def]
    """Properties we share with the standard have its types. A request body has no property
    and requires none that the standard lacks; an answer gives all that the standard requires
    (and may add some, as the standard allows)."""
    props, required = _object(ours_doc, ours)
    up_props, up_required = _object(up_doc, theirs)
    if answer:
        assert up_required <= required, (where, up_required - required)
    else:
        assert required <= up_required, (where, required - up_required)
    for name, prop in props.items():
        if answer and name not in up_props:
            continue
        assert name in up_props, f"{where}.{name} is not in the standard"
        mine, upstream = _resolve(ours_doc, prop), _resolve(up_doc, up_props[name])
        _same_type(mine, upstream, f"{where}.{name}")
        if mine.get("type") == "object" or "properties" in mine:
            _subset_object(ours_doc, mine, up_doc, upstream, f"{where}.{name}", answer=answer)


def _body(op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def test_standard_operations_are_a_subset_of_the_upstream_document(client):
    if not Path(UPSTREAM).exists():
        pytest.skip(f"upstream OpenAPI document absent: {UPSTREAM}")
    upstream = yaml.safe_load(UPSTREAM.read_text(encoding="utf-8"))
    doc = client.get("/api/v1/openapi.json").get_json()
    checked = 0
    for path, method, op in _operations(doc):
        if not path.startswith(STANDARD):
            continue
        where = f"{method.upper()} {path}"
        up_item = upstream["paths"].get(path.removeprefix(STANDARD))
        assert up_item and method in up_item, f"{where} is not an operation of the standard"
        up_op = up_item[method]
        if "operationId" in up_op:
            assert op["operationId"] == up_op["operationId"], where
        up_params = {
            (p["name"], p["in"]): p
            for p in (_resolve(upstream, p) for p in up_op.get("parameters", []))
        }
        for param in op.get("parameters", []):
            key = (param["name"], param["in"])
            assert key in up_params, f"{where}: parameter {key} is not in the standard"
            theirs = up_params[key]
            assert not param.get("required") or theirs.get("required"), (where, key)
            _same_type(param["schema"], _resolve(upstream, theirs["schema"]), f"{where} {key}")
            if param["schema"].get("type") == "array":
                assert (param.get("style"), param.get("explode")) == (
                    theirs.get("style", "form"),
                    theirs.get("explode", True),
                ), (where, key)
        for name, up_param in up_params.items():
            if up_param.get("required"):
                assert name in {(p["name"], p["in"]) for p in op.get("parameters", [])}, (
                    f"{where}: required parameter {name} of the standard is missing"
                )
        if _body(op) is not None:
            _subset_object(doc, _body(op), upstream, _body(up_op), f"{where} body", answer=False)
        for code, response in op["responses"].items():
            up_response = up_op["responses"].get(int(code)) or up_op["responses"].get(code)
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            up_schema = (
                _resolve(upstream, up_response or {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            if schema and up_schema and code.startswith("2"):
                if schema.get("type") == "array":
                    schema, up_schema = schema["items"], _resolve(upstream, up_schema)["items"]
                _subset_object(doc, schema, upstream, up_schema, f"{where} {code}", answer=True)
        checked += 1
    assert checked >= 7
