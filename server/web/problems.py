"""Errors rendered in one place, in the format the client asks for.

A problem is an HTML page for browsers, RFC 9457 problem JSON for clients that ask for JSON, and
plain text otherwise (what SPARQL clients print), chosen by the same negotiation as every other
answer. An error is never refused for want of an acceptable format: plain text is the fallback.
Starlette's own errors (an unknown path, a method a route does not take) go through the same
renderer, so a browser that follows a broken link gets a page in its language with a search box.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.query.engine import EngineError
from server.web.errors import HTTPProblem, NotFound, from_engine_error
from server.web.negotiation import best_format
from server.web.services import services

# Plain text first: what a client that accepts anything (*/*) gets.
PROBLEM_FORMATS = (formats.TEXT, formats.PROBLEM_JSON, formats.JSON, formats.HTML)


def problem_response(request: Request, problem: HTTPProblem) -> Response:
    fmt = best_format(request.headers.get("accept"), PROBLEM_FORMATS) or formats.TEXT
    headers = {**problem.headers, "Vary": "Accept"}
    if fmt is formats.HTML:
        templates = services(request).templates
        context = {"problem": problem, "path": request.url.path}
        return templates.TemplateResponse(request, "problem.html", context, status_code=problem.status, headers=headers)
    if fmt in (formats.PROBLEM_JSON, formats.JSON):
        body = {"type": "about:blank", "title": problem.title, "status": problem.status, "detail": problem.detail}
        return Response(json.dumps(body), problem.status, headers, media_type=formats.PROBLEM_JSON.media_type)
    text = f"{problem.status} {problem.title}: {problem.detail}\n"
    return Response(text, problem.status, headers, media_type=formats.TEXT.media_type)


async def handle_problem(request: Request, problem: HTTPProblem) -> Response:
    return problem_response(request, problem)


async def handle_engine_error(request: Request, error: EngineError) -> Response:
    return problem_response(request, from_engine_error(error))


class StarletteProblem(HTTPProblem):
    """One of Starlette's own errors, with its status."""

    def __init__(self, status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers)
        self.status, self.title = status, title


async def handle_http_exception(request: Request, error: HTTPException) -> Response:
    """Starlette's errors (no route for the path: 404; a method the route does not take: 405)."""
    if error.status_code == 404:
        problem: HTTPProblem = NotFound(f"There is nothing at {request.url.path}.")
    else:
        known = {status.value: status.phrase for status in HTTPStatus}
        title = known.get(error.status_code, "Error")
        problem = StarletteProblem(error.status_code, title, str(error.detail), dict(error.headers or {}))
    return problem_response(request, problem)
