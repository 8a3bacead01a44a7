"""What every request must meet before the application does any work: size limits, UTF-8, rates.

Pure ASGI middleware, so a request refused here costs a few comparisons: nothing is routed,
parsed or read.

- The request target (path and query string) longer than `max_url_bytes`: 414. Header fields
  larger than `max_header_bytes` in all: 431. uvicorn's HTTP parser (httptools) sets no limit
  of its own on either, so these are the limits.
- A body larger than the route accepts: 413 when Content-Length says so, and as soon as a
  streamed body passes the limit otherwise. POST /validate takes `max_upload_bytes` (and the
  room a multipart form needs around it); every other route `max_query_bytes`. The routes check
  their own, narrower limits as they read.
- A path or query string whose percent-escapes are not UTF-8, or a path that holds a control
  character: 400 (never a 500, never a lookup of a mangled name, never a broken header).
- Per-client rate limits on the expensive operations (server.web.ratelimit): 429 with
  Retry-After.

Refusals are rendered like every other problem (server.web.problems), in the format asked for.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.settings import Settings
from server.web.errors import (
    BadRequest,
    HTTPProblem,
    PayloadTooLarge,
    RequestHeaderFieldsTooLarge,
    TooManyRequests,
    URITooLong,
)
from server.web.problems import problem_response
from server.web.ratelimit import RateLimits

MULTIPART_ALLOWANCE = 64_000  # the boundaries and part headers around a file uploaded with the form


async def refuse(problem: HTTPProblem, scope: Scope, receive: Receive, send: Send) -> None:
    await problem_response(Request(scope, receive), problem)(scope, receive, send)


def body_limit(scope: Scope, settings: Settings) -> int:
    if scope["path"] == "/validate" and scope["method"] == "POST":
        return settings.max_upload_bytes + MULTIPART_ALLOWANCE
    return settings.max_query_bytes


CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What makes the fast check below undecided: an escaped byte beyond ASCII (it may start a UTF-8
# sequence, or be no UTF-8 at all), and, in a path, an escaped or raw control character.
BEYOND_ASCII_ESCAPE = re.compile(rb"%[89a-fA-F][0-9a-fA-F]")
CONTROL_IN_PATH = re.compile(rb"[\x00-\x1f\x7f]|%[01][0-9a-fA-F]|%7[fF]")


def text_problem(scope: Scope) -> BadRequest | None:
    """A 400 when the percent-decoded path or query string is not UTF-8, or the path holds a
    control character (no IRI does, and none may reach a header such as Content-Location)."""
    for what, raw in (("path", scope.get("raw_path") or b""), ("query string", scope.get("query_string") or b"")):
        if plainly_text(raw, what):
            continue
        try:
            text = unquote_to_bytes(raw.replace(b"+", b" ") if what != "path" else raw).decode("utf-8")
        except UnicodeDecodeError as error:
            return BadRequest(f"The {what} is not valid UTF-8 once its %-escapes are decoded (byte {error.start}).")
        if what == "path" and CONTROL.search(text):
            return BadRequest("The path holds a control character, which no IRI holds.")
    return None


def plainly_text(raw: bytes, what: str) -> bool:
    """ASCII that escapes no byte beyond ASCII (nor, in a path, a control character) is UTF-8 once
    decoded: a query of a few kilobytes is then checked without decoding it."""
    if not raw.isascii() or BEYOND_ASCII_ESCAPE.search(raw):
        return False
    return what != "path" or CONTROL_IN_PATH.search(raw) is None


def size_problem(scope: Scope, settings: Settings) -> HTTPProblem | None:
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    if target > settings.max_url_bytes:
        return URITooLong(
            f"The request target is {target} bytes long; the limit is {settings.max_url_bytes}. "
            "Send long queries with POST."
        )
    header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
    if header_bytes > settings.max_header_bytes:
        return RequestHeaderFieldsTooLarge(
            f"The header fields take {header_bytes} bytes; the limit is {settings.max_header_bytes}."
        )
    return None


def declared_length(scope: Scope) -> int | None:
    """The Content-Length, None when absent; a 400 when it is not a number."""
    values = [value for name, value in scope["headers"] if name == b"content-length"]
    if not values:
        return None
    if len(set(values)) > 1 or not values[0].strip().isdigit():
        raise BadRequest("Content-Length must be one whole number.")
    return int(values[0])


class RequestGuard:
    """Limits on the request line, the headers and the body, UTF-8, and per-client rates."""

    def __init__(self, app: ASGIApp, settings: Settings, rates: RateLimits | None = None) -> None:
        self.app = app
        self.settings = settings
        self.rates = rates or RateLimits(settings)  # shared with a layer that answers before this one

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            problem = size_problem(scope, self.settings) or text_problem(scope)
            limit = body_limit(scope, self.settings)
            declared = declared_length(scope)
            if problem is None and declared is not None and declared > limit:
                problem = PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
            if problem is None and (wait := self.rates.wait(scope)) is not None:
                problem = TooManyRequests(wait.message, {"Retry-After": str(wait.seconds)})
        except BadRequest as error:
            problem = error
        if problem is not None:
            await refuse(problem, scope, receive, send)
            return
        await self.app(scope, bounded(receive, limit), send)


def bounded(receive: Receive, limit: int) -> Receive:
    """The body as the application reads it, stopped with 413 once it passes the limit."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
        return message

    return receive_within_limit
