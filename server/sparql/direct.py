"""The commonest request of the protocol, `GET /sparql?query=...`, answered before the framework.

A lookup costs the engine a few tens of microseconds; the general stack around it (FastAPI's and
Starlette's layers, the router, and our four middleware, each wrapping the answer as it is sent)
cost about a third of our HTTP process's time per lookup (docs/benchmarks.md). So the application
(server.app.Site) asks this layer first, before FastAPI's own layers, and it answers such a
request with the endpoint's own parts (the protocol's reading, its checks and negotiation, the
engine with its lane and its workers, so a runaway query is stopped as before), adding at once
what the middleware would have added: the guards' checks and rate limit, the CORS and security
headers, and gzip's `Vary`. The headers of an answer depend on little (the data version, the
format, the answer's flags, an Origin, its size against gzip's threshold): they are made once
for each such combination, by the endpoint's own functions, and the answer is sent with them
without building a Response. A request with validators goes through `run_query` (its 304s).

Before either, the HTTP protocol itself asks `at_once` (server.web.shortcut): a lookup that names
nothing but its query, and that the engine answers without waiting (a small bounded lookup in
the lane), is answered there with the same headers, without an ASGI task or messages; whatever
`at_once` declines comes here as before.

Anything else is left, untouched, to the general stack: another method or path, a request
without a query or with a body, a client that accepts gzip (the general stack compresses), a
request that the guards or the protocol refuse (they refuse it there, as always), and the query
UI (HTML). tests/test_direct.py holds the three ways to the same headers and bodies. (FastAPI's
OpenTelemetry instrumentation, when a deployer turns it on, sees only the general stack's requests.)
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from server import formats
from server.query.engine import DataVersion, EngineError, QueryAnswer, QueryEngine, QueryRequest
from server.settings import Settings
from server.sparql.protocol import (
    ANSWER_CACHING,
    ProtocolRequest,
    answer_format,
    answer_response,
    client_query,
    plain_answer_format,
    query_request,
    read_protocol_request,
    run_query,
    sole_query,
)
from server.web.errors import HTTPProblem, from_engine_error
from server.web.guards import size_problem, text_problem
from server.web.problems import problem_response
from server.web.ratelimit import RateLimits
from server.web.represent import BUILDS, encoded, representation_headers, set_headers
from server.web.security import security_headers
from server.web.services import services
from server.web.shortcut import Headers

GZIP_MINIMUM = 1024  # the size from which the general stack's gzip middleware handles an answer
PATH = "/sparql"
HEADER_SETS = 256  # the headers of answers kept, by what they depend on (see DirectQueries.headers)


class DirectQueries:
    """Answers plain query requests, and says which it has answered."""

    def __init__(self, settings: Settings, rates: RateLimits, cors_headers: dict[str, str]) -> None:
        self.settings = settings
        self.rates = rates  # the guards' own, so that a client is counted once whichever way it goes
        self.cors_headers = cors_headers  # what CORS adds to a simple request's answer
        self.security_headers = encoded(security_headers(PATH))
        self.headers = functools.lru_cache(maxsize=HEADER_SETS)(self._headers)
        self.endpoint = settings.iris.service("sparql")  # relative IRIs in a query resolve against it
        self.answered_at_once = 0  # by this process, for monitoring (GET /health)

    async def answered(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Whether the request was answered here; if not, nothing was sent or read."""
        if not self.takes(scope):
            return False
        request = Request(scope, receive)
        read = await self.read(request)
        if read is None:
            return False
        if is_conditional(scope):  # validators to compare: answered as the endpoint answers (304s)
            response = await self.endpoint_answer(request, *read)
            await response(scope, receive, send)
        else:
            await self.send_answer(request, query_request(request, *read), send)
        return True

    def takes(self, scope: Scope) -> bool:
        """A GET of /sparql with a query and no body, from a client that does not accept gzip,
        which the guards let through (checked without counting it)."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != PATH:
            return False
        if b"query=" not in scope["query_string"] or accepts_gzip(scope) or has_body(scope):
            return False
        return size_problem(scope, self.settings) is None and text_problem(scope) is None

    async def read(self, request: Request) -> tuple[ProtocolRequest, formats.Format] | None:
        """The request's query and answer format, or None to leave the request to the endpoint:
        no query, a refusal (the endpoint refuses it as always), the query UI, the rate limit
        (a refusal counts nothing)."""
        try:
            protocol = await read_protocol_request(request, self.settings.max_query_bytes)
            if protocol.query is None:
                return None
            fmt = answer_format(request, protocol, self.settings)
        except HTTPProblem:
            return None
        if fmt is formats.HTML or self.rates.wait(request.scope) is not None:
            return None
        return protocol, fmt

    async def endpoint_answer(self, request: Request, protocol: ProtocolRequest, fmt: formats.Format) -> Response:
        """The answer as the endpoint gives it, with what the middleware would add."""
        try:
            response = await run_query(request, protocol, fmt)
        except (EngineError, HTTPProblem) as error:
            response = refusal(request, error)
        return self.as_middleware_leaves(response, request.scope)

    def at_once(self, engine: QueryEngine, scope: Scope) -> tuple[Headers, bytes] | None:
        """The whole answer, for the HTTP protocol to send at once (server.web.shortcut), to a
        plain lookup that names nothing but its query and that the engine answers without
        waiting; None leaves the request to the ways above. The request is counted (rate limit)
        only once it is known to be answered here, so that it is never counted twice."""
        if not self.takes(scope) or is_conditional(scope):
            return None
        query = sole_query(scope["query_string"], self.settings.max_query_bytes)
        accept = request_header(scope, b"accept")
        fmt = self.plain_format(query, accept.decode("latin-1") if accept else None) if query is not None else None
        if fmt is None or fmt is formats.HTML:
            return None
        at_once = engine.answer_at_once(client_query(query, fmt, self.endpoint, scope))
        if at_once is None or self.rates.wait(scope) is not None:
            return None
        try:
            answer = at_once.answer()
        except EngineError:  # not seen from a lookup that planned; the ways above report it
            return None
        self.answered_at_once += 1
        return self.answer_headers(at_once.version, answer, scope), answer.body

    def plain_format(self, query: str, accept: str | None) -> formats.Format | None:
        """The format of a plain lookup's answer, or None where the endpoint would refuse it."""
        try:
            return plain_answer_format(query, accept, self.settings)
        except HTTPProblem:
            return None

    def answer_headers(self, version: DataVersion, answer: QueryAnswer, scope: Scope) -> Headers:
        """The headers of an answer, its length first."""
        flags = (answer.truncated, answer.max_rows, answer.cached, answer.in_lane)
        big = len(answer.body) >= GZIP_MINIMUM
        headers = self.headers(version, answer.result_format, flags, has_origin(scope), big)
        return [(b"content-length", str(len(answer.body)).encode()), *headers]

    async def send_answer(self, request: Request, query: QueryRequest, send: Send) -> None:
        """The answer sent at once, with headers made once for all answers alike (the endpoint's
        way builds and rewrites a Response for each: a fifth of a lookup's time in the app)."""
        try:
            version, answer = await evaluated(services(request).engine, query)
        except (EngineError, HTTPProblem) as error:
            response = self.as_middleware_leaves(refusal(request, error), request.scope)
            await response(request.scope, request.receive, send)
            return
        headers = self.answer_headers(version, answer, request.scope)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _headers(
        self, version: DataVersion, fmt: formats.Format, flags: tuple, origin: bool, big: bool
    ) -> list[tuple[bytes, bytes]]:
        """The headers of an answer but its length, as the endpoint's way makes them: they depend
        only on the data version, the format, the answer's flags (truncated, max_rows, cached,
        in_lane), whether the request has an Origin and whether the answer is gzip's size."""
        response = answer_response(QueryAnswer(b"", fmt, *flags), {})
        set_headers(response, representation_headers(version, fmt.key, headers=ANSWER_CACHING))
        self.add_middleware_headers(response, origin, big)
        return [(name, value) for name, value in response.raw_headers if name != b"content-length"]

    def as_middleware_leaves(self, response: Response, scope: Scope) -> Response:
        """A built response with what the middleware would add to it for this request."""
        self.add_middleware_headers(response, has_origin(scope), len(response.body) >= GZIP_MINIMUM)
        return response

    def add_middleware_headers(self, response: Response, origin: bool, big: bool) -> None:
        """What gzip (a client that does not accept it), CORS and the security headers add, in
        their order (innermost first)."""
        vary = [value.decode("latin-1") for name, value in response.raw_headers if name == b"vary"]
        if big:  # as add_vary_header: the first value, and its own
            vary = [*vary[:1], "Accept-Encoding"]
        cors = self.cors_headers if origin else {}
        set_headers(response, {**cors, "Vary": ", ".join([*vary, "Origin"])})
        present = {name for name, _ in response.raw_headers}
        response.raw_headers += [(name, value) for name, value in self.security_headers if name not in present]


async def evaluated(engine: QueryEngine, query: QueryRequest) -> tuple[DataVersion, QueryAnswer]:
    """The answer and the data version it comes from: evaluated again (a few times at most) when
    another version went live meanwhile, as `represent` builds again, so that the validators
    name the data the answer comes from."""
    version = await engine.data_version()
    answer = await engine.execute(query)
    for _ in range(BUILDS - 1):
        latest = await engine.data_version()
        if latest == version:
            break
        version, answer = latest, await engine.execute(query)
    return version, answer


def refusal(request: Request, error: EngineError | HTTPProblem) -> Response:
    """The problem the endpoint answers for an engine's error or a refusal."""
    return problem_response(request, from_engine_error(error) if isinstance(error, EngineError) else error)


def request_header(scope: Scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key == name), None)


def has_origin(scope: Scope) -> bool:
    return request_header(scope, b"origin") is not None


def is_conditional(scope: Scope) -> bool:
    """A request with validators (If-None-Match, If-Modified-Since), which may be answered 304."""
    return any(key in (b"if-none-match", b"if-modified-since") for key, _ in scope["headers"])


def has_body(scope: Scope) -> bool:
    """A GET may carry a body, which the guards measure against the limit (413)."""
    return any(key in (b"content-length", b"transfer-encoding") for key, _ in scope["headers"])


def accepts_gzip(scope: Scope) -> bool:
    """As the gzip middleware reads Accept-Encoding."""
    return any(key == b"accept-encoding" and b"gzip" in value for key, value in scope["headers"])
