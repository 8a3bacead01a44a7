"""Run one SPARQL 1.1 Protocol test: send its requests in order, check each response.

The manifest's paths start with `/sparql/`; what follows (the query string) is appended to the
endpoint under test. Requests go exactly as written (method, headers, body bytes), with no
Accept header of our own, because choosing a format is part of what the tests check.
"""

from __future__ import annotations

import csv
import io

import httpx
import pyoxigraph as ox

from tests.w3c.manifest import HttpRequest, ProtocolCase
from tests.w3c.results import RDF_MEDIA_TYPES, RESULTS_MEDIA_TYPES, Mismatch

# The formats each mf:expectedFormat allows, as the manifest's test names list them.
BOOLEAN_TYPES = {"application/sparql-results+xml", "application/sparql-results+json"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/tab-separated-values", "text/csv"}
RDF_TYPES = {"application/rdf+xml", "text/turtle", "application/n-triples", "text/plain"}
RDFA_TYPES = {"application/xhtml+xml", "text/html"}  # RDFa: accepted by media type, not parsed


def run_protocol_case(case: ProtocolCase, endpoint: str, client: httpx.Client) -> None:
    """Raise Mismatch at the first response that is not what the manifest expects."""
    for number, request in enumerate(case.requests, start=1):
        response = send(client, endpoint, request)
        problem = response_problem(request, response)
        if problem:
            raise Mismatch(f"request {number} ({request.method} {request.target[:100]!r}): {problem}")


def send(client: httpx.Client, endpoint: str, request: HttpRequest) -> httpx.Response:
    """The request as the manifest writes it, its path's `/sparql/` replaced by the endpoint."""
    url = request_url(endpoint, request.target)
    return client.request(request.method, url, headers=list(request.headers), content=request.body)


def request_url(endpoint: str, target: str) -> str:
    if target.startswith("?") and "?" in endpoint:
        return f"{endpoint}&{target[1:]}"
    return endpoint + target


def response_problem(request: HttpRequest, response: httpx.Response) -> str | None:
    """What is wrong with the response: its status class, then its format, then its boolean."""
    if response.status_code // 100 not in request.expected_status:
        allowed = " or ".join(f"{code}xx" for code in sorted(request.expected_status))
        return f"HTTP {response.status_code}, expected {allowed}: {response.text[:300]}"
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.expected_format is not None:
        problem = format_problem(request.expected_format, media_type, response.content)
        if problem:
            return problem
    if request.expected_boolean is not None:
        answer = boolean_answer(media_type, response.content)
        if answer != request.expected_boolean:
            return f"answer {answer}, expected {request.expected_boolean}"
    return None


def format_problem(expected: str, media_type: str, content: bytes) -> str | None:
    """Whether the body is in a format mf:expectedFormat allows and parses as one."""
    allowed = {"boolean": BOOLEAN_TYPES, "tabular": TABULAR_TYPES, "RDF": RDF_TYPES | RDFA_TYPES}[expected]
    if media_type not in allowed:
        return f"Content-Type {media_type or '(none)'} is not a {expected} format ({', '.join(sorted(allowed))})"
    try:
        if expected == "boolean":
            if boolean_answer(media_type, content) is None:
                return "solutions where a boolean was expected"
        elif media_type == "text/csv":
            next(csv.reader(io.StringIO(content.decode("utf-8"))))
        elif expected == "tabular":
            parsed = ox.parse_query_results(content, RESULTS_MEDIA_TYPES[media_type])
            if isinstance(parsed, ox.QueryBoolean):
                return "a boolean where solutions were expected"
        elif media_type not in RDFA_TYPES:
            list(ox.parse(content, RDF_MEDIA_TYPES.get(media_type, ox.RdfFormat.N_TRIPLES)))
    except (SyntaxError, ValueError, StopIteration) as error:
        return f"the {media_type} body does not parse: {error}"
    return None


def boolean_answer(media_type: str, content: bytes) -> bool | None:
    """The boolean of an ASK answer, or None when the body is not one."""
    if media_type not in BOOLEAN_TYPES:
        return None
    parsed = ox.parse_query_results(content, RESULTS_MEDIA_TYPES[media_type])
    return bool(parsed) if isinstance(parsed, ox.QueryBoolean) else None
