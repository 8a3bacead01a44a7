"""Typed errors that carry their HTTP status; route code only raises them.

Engine errors map to statuses here too. They are rendered in one place, server.web.problems.
Unexpected exceptions are not caught: they are bugs, and Starlette answers them with a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.query.engine import (
    ClientOverShare,
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


class PayloadTooLarge(HTTPProblem):
    status, title = 413, "Content Too Large"


class URITooLong(HTTPProblem):
    status, title = 414, "URI Too Long"


class TooManyRequests(HTTPProblem):
    status, title = 429, "Too Many Requests"


class RequestHeaderFieldsTooLarge(HTTPProblem):
    status, title = 431, "Request Header Fields Too Large"


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
    if isinstance(error, ClientOverShare):
        return TooManyRequests(str(error), {"Retry-After": str(error.retry_after)})
    if isinstance(error, EngineUnavailable):
        return BadGateway(str(error))
    if isinstance(error, QueryFailed):
        return BadRequest(str(error))
    raise TypeError(f"no HTTP status for {type(error).__name__}")
