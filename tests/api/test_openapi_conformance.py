"""The public APIs against their own OpenAPI document (schemathesis, through WSGI).

Each operation gets a bounded number of generated requests, valid ones and invalid ones
(schemathesis' negative mode): valid ones must be answered as documented, invalid ones
rejected with a documented 4xx, never a server error.
"""

from __future__ import annotations

import pytest
import schemathesis
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
