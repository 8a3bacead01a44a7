"""The OpenAPI description lists the real routes, and the real server answers what schemathesis
generates from it (parameters, headers and bodies of every operation) without a 5xx or a hang,
every refusal a 4xx with a message."""

from __future__ import annotations

import os
import re

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from starlette.routing import Mount, Route

from server.app import create_app, described
from server.settings import Settings
from tests.live import Server

# Per operation: 75 operations, about a thousand requests in all (more for a deeper run).
EXAMPLES = int(os.environ.get("SISTERCITIES_FUZZ_EXAMPLES_PER_OPERATION", "15"))


def test_the_description_lists_every_route_and_method() -> None:
    app = create_app(Settings())
    routes: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, Route):
            path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
            routes.setdefault(path, set()).update(m.lower() for m in route.methods or ())
        elif isinstance(route, Mount):
            routes[f"{route.path}/{{path}}"] = {"get", "head"}
    described_routes = {path: set(operations) for path, operations in described(Settings())["paths"].items()}
    assert described_routes == routes


def test_the_served_description_is_valid_openapi(fuzzed: Server) -> None:
    response = httpx.get(f"{fuzzed.url}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert "/sparql" in document["paths"] and "post" in document["paths"]["/sparql"]


SCHEMA = schemathesis.openapi.from_dict(described(Settings()))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def a_refusal_says_why(ctx, response, case) -> bool | None:
    """Every 4xx carries a message."""
    if 400 <= response.status_code < 500 and case.method.upper() != "HEAD":
        assert response.content.strip(), f"{response.status_code} without a message"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{o.method.upper()} {o.path}" for o in OPERATIONS])
def test_the_server_answers_what_its_description_allows(fuzzed: Server, operation) -> None:
    """Valid and invalid inputs generated from the description (schemathesis, on hypothesis)."""
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def answers(case) -> None:
        response = case.call(base_url=fuzzed.url, timeout=60)
        case.validate_response(response, checks=[not_a_server_error], additional_checks=[a_refusal_says_why])

    answers()
