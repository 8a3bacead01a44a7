"""Typed errors that carry their HTTP status, rendered in one place.

A problem is rendered as HTML for browsers, as RFC 9457 problem JSON for clients that ask for
JSON, and as plain text otherwise (what SPARQL clients print). Engine errors map to statuses
here too, so that route code only raises. Unexpected exceptions are not caught: they are bugs,
and Starlette answers them with a 500.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from server.query.engine import (
    EngineBusy,
    EngineError,
    EngineUnavailable,
    QueryFailed,
    QuerySyntaxError,
    QueryTimeout,
)

if TYPE_CHECKING:
    from server.formats import Format


class HTTPProblem(Exception):
    """An error to show to the client, with its status and a sentence saying what went wrong."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(HTTPProblem):
    status, title = 400, "Bad Request"


class Forbidden(HTTPProblem):
    status, title = 403, "Forbidden"


class NotFound(HTTPProblem):
    status, title = 404, "Not Found"


class MethodNotAllowed(HTTPProblem):
    status, title = 405, "Method Not Allowed"


class PayloadTooLarge(HTTPProblem):
    status, title = 413, "Content Too Large"


class UnsupportedMediaType(HTTPProblem):
    status, title = 415, "Unsupported Media Type"


class ServiceUnavailable(HTTPProblem):
    status, title = 503, "Service Unavailable"


class BadGateway(HTTPProblem):
    status, title = 502, "Bad Gateway"


class NotAcceptable(HTTPProblem):
    status, title = 406, "Not Acceptable"

    def __init__(self, offered: Sequence[Format]) -> None:
        listed = ", ".join(f.media_type for f in offered)
        super().__init__(f"None of the requested media types can be served here. Available: {listed}.")
        self.available = [f.media_type for f in offered]


def from_engine_error(error: EngineError) -> HTTPProblem:
    """The HTTP status of each engine error; a query's own fault is always a 4xx."""
    if isinstance(error, QuerySyntaxError):
        return BadRequest(str(error))
    if isinstance(error, QueryTimeout):
        return ServiceUnavailable(str(error))
    if isinstance(error, EngineBusy):
        return ServiceUnavailable(str(error), {"Retry-After": "5"})
    if isinstance(error, EngineUnavailable):
        return BadGateway(str(error))
    if isinstance(error, QueryFailed):
        return BadRequest(str(error))
    raise TypeError(f"no HTTP status for {type(error).__name__}")


def problem_response(request: Request, problem: HTTPProblem) -> Response:
    accept = parse_accept_header(request.headers.get("accept", ""), MIMEAccept)
    choice = accept.best_match(["text/plain", "application/problem+json", "application/json", "text/html"])
    headers = {**problem.headers, "Vary": "Accept"}
    if choice == "text/html" and accept["text/html"] >= accept["text/plain"]:
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "problem.html",
            {"problem": problem},
            status_code=problem.status,
            headers=headers,
        )
    if choice in ("application/problem+json", "application/json"):
        body = {
            "type": "about:blank",
            "title": problem.title,
            "status": problem.status,
            "detail": problem.detail,
        }
        return Response(json.dumps(body), problem.status, headers, media_type="application/problem+json")
    return Response(
        f"{problem.status} {problem.title}: {problem.detail}\n",
        problem.status,
        headers,
        media_type="text/plain",
    )


async def handle_problem(request: Request, problem: HTTPProblem) -> Response:
    return problem_response(request, problem)


async def handle_engine_error(request: Request, error: EngineError) -> Response:
    return problem_response(request, from_engine_error(error))
