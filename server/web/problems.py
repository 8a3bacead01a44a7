"""Errors rendered in one place, in the format the client asks for.

A problem is an HTML page for browsers, RFC 9457 problem JSON for clients that ask for JSON, and
plain text otherwise (what SPARQL clients print), chosen by the same negotiation as every other
answer. An error is never refused for want of an acceptable format: plain text is the fallback.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.query.engine import EngineError
from server.web.errors import HTTPProblem, from_engine_error
from server.web.negotiation import best_format
from server.web.services import services

# Plain text first: what a client that accepts anything (*/*) gets.
PROBLEM_FORMATS = (formats.TEXT, formats.PROBLEM_JSON, formats.JSON, formats.HTML)


def problem_response(request: Request, problem: HTTPProblem) -> Response:
    fmt = best_format(request.headers.get("accept"), PROBLEM_FORMATS) or formats.TEXT
    headers = {**problem.headers, "Vary": "Accept"}
    if fmt is formats.HTML:
        templates = services(request).templates
        context = {"problem": problem}
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
