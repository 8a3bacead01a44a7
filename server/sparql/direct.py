"""The commonest request of the protocol, `GET /sparql?query=...`, answered before the framework.

A lookup costs the engine a few tens of microseconds; the general stack around it (FastAPI's and
Starlette's layers, the router, and our four middleware, each wrapping the answer as it is sent)
cost about a third of our HTTP process's time per lookup (docs/benchmarks.md). So the application
(server.app.Site) asks this layer first, before FastAPI's own layers, and it answers such a
request with the endpoint's own parts (the protocol's reading, its checks and negotiation,
`run_query` with its validators and 304s, the engine with its lane and its workers, so a runaway
query is stopped as before), adding at once what the middleware would have added: the guards'
checks and rate limit, the CORS and security headers, and gzip's `Vary`.

Anything else is left, untouched, to the general stack: another method or path, a request
without a query or with a body, a client that accepts gzip (the general stack compresses), a
request that the guards or the protocol refuse (they refuse it there, as always), and the query
UI (HTML). tests/test_direct.py holds the two ways to the same headers and bodies. (FastAPI's
OpenTelemetry instrumentation, when a deployer turns it on, sees only the general stack's requests.)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from server import formats
from server.query.engine import EngineError
from server.settings import Settings
from server.sparql.protocol import answer_format, read_protocol_request, run_query
from server.web.errors import HTTPProblem, from_engine_error
from server.web.guards import size_problem, text_problem
from server.web.problems import problem_response
from server.web.ratelimit import RateLimits
from server.web.represent import encoded, set_headers
from server.web.security import security_headers

GZIP_MINIMUM = 1024  # the size from which the general stack's gzip middleware handles an answer
PATH = "/sparql"


class DirectQueries:
    """Answers plain query requests, and says which it has answered."""

    def __init__(self, settings: Settings, rates: RateLimits, cors_headers: dict[str, str]) -> None:
        self.settings = settings
        self.rates = rates  # the guards' own, so that a client is counted once whichever way it goes
        self.cors_headers = cors_headers  # what CORS adds to a simple request's answer
        self.security_headers = encoded(security_headers(PATH))

    async def answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Whether the request was answered here; if not, nothing was sent or read."""
        response = await self.answer(scope, receive) if self.takes(scope) else None
        if response is None:
            return False
        await response(scope, receive, send)
        return True

    def takes(self, scope: Scope) -> bool:
        """A GET of /sparql with a query and no body, from a client that does not accept gzip,
        which the guards let through (checked without counting it)."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != PATH:
            return False
        if b"query=" not in scope["query_string"] or accepts_gzip(scope) or has_body(scope):
            return False
        return size_problem(scope, self.settings) is None and text_problem(scope) is None

    async def answer(self, scope: Scope, receive: Receive) -> Response | None:
        """The answer as the endpoint would give it, or None to leave the request to it."""
        request = Request(scope, receive)
        try:
            protocol = await read_protocol_request(request, self.settings.max_query_bytes)
            if protocol.query is None:
                return None
            fmt = answer_format(request, protocol, self.settings)
        except HTTPProblem:  # refused as always, by the general stack
            return None
        if fmt is formats.HTML or self.rates.wait(scope) is not None:  # the UI; a refusal counts nothing
            return None
        try:
            response = await run_query(request, protocol, fmt)
        except EngineError as error:
            response = problem_response(request, from_engine_error(error))
        except HTTPProblem as problem:
            response = problem_response(request, problem)
        self.add_middleware_headers(response, scope)
        return response

    def add_middleware_headers(self, response: Response, scope: Scope) -> None:
        """What gzip (a client that does not accept it), CORS and the security headers add, in
        their order (innermost first)."""
        vary = [value.decode("latin-1") for name, value in response.raw_headers if name == b"vary"]
        if len(response.body) >= GZIP_MINIMUM:  # as add_vary_header: the first value, and its own
            vary = [*vary[:1], "Accept-Encoding"]
        cors = self.cors_headers if request_header(scope, b"origin") is not None else {}
        set_headers(response, {**cors, "Vary": ", ".join([*vary, "Origin"])})
        present = {name for name, _ in response.raw_headers}
        response.raw_headers += [(name, value) for name, value in self.security_headers if name not in present]


def request_header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


def has_body(scope: Scope) -> bool:
    """A GET may carry a body, which the guards measure against the limit (413)."""
    return any(key in (b"content-length", b"transfer-encoding") for key, _ in scope["headers"])


def accepts_gzip(scope: Scope) -> bool:
    """As the gzip middleware reads Accept-Encoding."""
    return any(key == b"accept-encoding" and b"gzip" in value for key, value in scope["headers"])
