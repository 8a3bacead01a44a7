"""The SPARQL 1.1 Protocol, query operation: reading requests, choosing formats, answering.

- GET ?query=, POST application/x-www-form-urlencoded, POST application/sparql-query;
  default-graph-uri and named-graph-uri are honoured.
- Read-only: update operations (update=, application/sparql-update) are refused with 403, and
  update text sent as a query with 400.
- The answer format comes from a format parameter (format=, output= or results=, as clients send
  them) where it names one the query can be given in and Accept does not refuse it; otherwise from
  Accept, as at every peer endpoint (see choose_format). 406 names the available types. A browser
  opening /sparql?query=... gets the query UI with the query run.
- Without a query, GET answers the Service Description for machines and the UI for browsers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope
from yarl import URL

from server import formats
from server.query.engine import DataVersion, QueryAnswer, QueryRequest
from server.query.reading import QueryForm, looks_like_update, query_form, service_targets
from server.settings import Settings
from server.sparql import query_ui, service_description
from server.web.errors import BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType
from server.web.negotiation import negotiate, preference
from server.web.ratelimit import client_address
from server.web.represent import represent
from server.web.requests import read_body, utf8
from server.web.services import services

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
# One parameter under three names: Virtuoso reads format=, Joseki and Fuseki output=, others
# results=; SPARQLWrapper sends all three (and some values twice, as a name and a media type).
FORMAT_PARAMETERS = ("format", "output", "results")
EXPOSED_HEADERS = (
    "ETag, Last-Modified, Content-Location, Link, X-SPARQL-MaxRows, X-Data-Version, X-Cache, Server-Timing, Vary"
)


@dataclass(frozen=True)
class ProtocolRequest:
    """The parts of a SPARQL Protocol request, read once (form values are decoded once)."""

    query: str | None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()  # every value of the format parameters, in the order given


def _single(params: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise BadRequest(f"The parameter '{name}' was given {len(values)} times; give it once.")
    return values[0] if values else None


def _format_values(params: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(value.strip() for key, value in params if key in FORMAT_PARAMETERS and value.strip())


def _graph_iris(params: list[tuple[str, str]], name: str) -> tuple[str, ...]:
    iris = tuple(v for k, v in params if k == name)
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise BadRequest(f"{name} must be an absolute IRI; '{iri}' is not.") from None
    return iris


def form_pairs(encoded: str) -> list[tuple[str, str]]:
    """The names and values of a query string or form body, decoded as `urllib.parse.parse_qsl`
    (blank values kept) decodes them, by yarl's C decoder: a percent-encoded query costs urllib
    several microseconds of Python per request."""
    return list(URL.build(query_string=encoded, encoded=True).query.items())


def sole_query(query_string: bytes, max_bytes: int) -> str | None:
    """The query of a query string that holds nothing else (`query=...`, within the limit);
    None for any other, which read_protocol_request reads."""
    pairs = form_pairs(query_string.decode("latin-1"))
    if len(pairs) != 1 or pairs[0][0] != "query":
        return None
    query = pairs[0][1]
    return query if len(query.encode()) <= max_bytes else None


async def read_protocol_request(request: Request, max_bytes: int) -> ProtocolRequest:
    """Read a query request in any of the protocol's three forms, refusing updates."""
    url_params = form_pairs(request.scope["query_string"].decode("latin-1"))
    params = url_params
    query = None
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == SPARQL_UPDATE:
            raise Forbidden("This endpoint is read-only: SPARQL Update is not accepted.")
        if content_type == FORM:
            params = url_params + form_pairs(utf8(await read_body(request, max_bytes), "form"))
        elif content_type == SPARQL_QUERY:
            query = utf8(await read_body(request, max_bytes), "query")
        else:
            raise UnsupportedMediaType(
                f"POST a query as {FORM} (query=...) or as {SPARQL_QUERY}; "
                f"'{content_type or 'no content type'}' is not accepted."
            )
    if _single(params, "update") is not None:
        raise Forbidden("This endpoint is read-only: SPARQL Update is not accepted.")
    form_query = _single(params, "query")
    if query is not None and form_query is not None:
        raise BadRequest("Give the query either in the body or as the 'query' parameter, not both.")
    query = query if query is not None else form_query
    if query is not None and len(query.encode()) > max_bytes:
        raise PayloadTooLarge(f"The query is longer than the limit of {max_bytes} bytes.")
    return ProtocolRequest(
        query=query,
        default_graphs=_graph_iris(params, "default-graph-uri"),
        named_graphs=_graph_iris(params, "named-graph-uri"),
        formats=_format_values(params),
    )


def offered_formats(form: QueryForm | None, allow_html: bool) -> tuple[formats.Format, ...]:
    """Formats an answer can be given in; HTML is the query UI showing the answer."""
    kind = form.kind if form else formats.Kind.RESULTS
    offered = formats.of_kinds(kind, formats.Kind.DATASET) if kind is formats.Kind.GRAPH else formats.of_kind(kind)
    return (*offered, formats.HTML) if allow_html else offered


def choose_format(request: Request, protocol: ProtocolRequest, offered: tuple[formats.Format, ...]) -> formats.Format:
    """The format parameters choose within what Accept allows; otherwise Accept decides.

    - Each value names a format by key ("csv"), other name ("n3", "json-ld", "xml") or media type,
      for this kind of query: "xml" is SPARQL XML for SELECT and ASK, RDF/XML for CONSTRUCT and
      DESCRIBE. Repeating a format, under any name, is no contradiction.
    - A value that names no format this query can be given in (format=turtle for a SELECT, a name
      we do not know) is left out, as peers ignore it.
    - One format named that Accept does not refuse (q=0, or not named even by a wildcard): that one.
    - Several named: the one Accept prefers; 400 when it prefers none of them over the others.
    - Otherwise Accept decides among everything offered (406 when it accepts none of them).
    """
    accept = request.headers.get("accept")
    named = tuple(dict.fromkeys(f for value in protocol.formats if (f := formats.named(value, offered)) is not None))
    wanted = {f: preference(accept, f) for f in named}
    best = max(wanted.values(), default=0.0)
    if best > 0:
        favourites = [f for f, q in wanted.items() if q == best]
        if len(favourites) == 1:
            return favourites[0]
        given = " and ".join(f.key for f in favourites)
        raise BadRequest(
            f"The format parameters ask for {given}, which differ, and Accept prefers neither: "
            "name one format, or say in Accept which you prefer."
        )
    return negotiate(accept, offered)


def check_query(query: str, settings: Settings) -> None:
    if not query.strip():
        raise BadRequest("The query is empty.")
    if looks_like_update(query):
        raise BadRequest("This is a SPARQL Update, which this read-only endpoint does not accept; send a query.")
    check_federation(query, settings)


def check_federation(query: str, settings: Settings) -> None:
    """SERVICE makes the engine fetch the URL it names: refused unless every endpoint called is
    named by a full http(s) IRI whose host is on the `outbound_allow` list (never in remote mode,
    where the remote store would make the call)."""
    targets = service_targets(query)
    if not targets:
        return
    allowed = settings.outbound_hosts if not settings.sparql_endpoint else frozenset()
    if not allowed:
        raise BadRequest("Federated queries (SERVICE) are not allowed on this public endpoint.")
    for target in targets:
        if target is None or not outbound_allowed(target, allowed):
            named = f"<{target}>" if target else "an endpoint not named by a full IRI"
            raise BadRequest(f"Federated queries (SERVICE) may only call the endpoints allowed here; not {named}.")


def outbound_allowed(iri: str, allowed: frozenset[str]) -> bool:
    """An absolute http(s) IRI whose host, or host:port, is on the list."""
    try:
        url = urlsplit(iri)
        port = url.port
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or not url.hostname:
        return False
    host = url.hostname.lower()
    return host in allowed or (port is not None and f"{host}:{port}" in allowed)


def answer_headers(answer: QueryAnswer) -> dict[str, str]:
    headers = {"Vary": "Accept", "Access-Control-Expose-Headers": EXPOSED_HEADERS}
    if answer.truncated:
        headers["X-SPARQL-MaxRows"] = str(answer.max_rows)
    if answer.cached:
        headers["X-Cache"] = "HIT"
    if answer.in_lane:  # W3C Server Timing: which way the query went, for clients and tests
        headers["Server-Timing"] = 'lane;desc="bounded lookup, answered without a query worker"'
    return headers


def answer_response(answer: QueryAnswer, extra: dict[str, str]) -> Response:
    headers = {**extra, **answer_headers(answer)}
    return Response(answer.body, headers=headers, media_type=answer.result_format.media_type)


# A GET's answer is not kept as a page: the result cache keeps the answer, and its headers tell how it was made.
ANSWER_CACHING = {"Cache-Control": "public, no-cache"}


def query_request(request: Request, protocol: ProtocolRequest, fmt: formats.Format) -> QueryRequest:
    """What the engine is asked for a protocol request (see client_query)."""
    endpoint = services(request).settings.iris.service("sparql")
    graphs = (protocol.default_graphs, protocol.named_graphs)
    return client_query(protocol.query, fmt, endpoint, request.scope, *graphs)


def client_query(
    query: str,
    fmt: formats.Format,
    endpoint: str,
    scope: Scope,
    default_graphs: tuple[str, ...] = (),
    named_graphs: tuple[str, ...] = (),
) -> QueryRequest:
    """What the engine is asked: the query over the protocol's dataset, relative IRIs resolved
    against the endpoint, the client named for its share of the workers."""
    graphs = (default_graphs, named_graphs)
    return QueryRequest(query, fmt, *graphs, base_iri=endpoint, client=client_address(scope))


async def run_query(request: Request, protocol: ProtocolRequest, fmt: formats.Format) -> Response:
    """Answer a query; a GET is a representation of the data like any other (304 when the client
    already holds this version of the answer), a POST is answered afresh."""
    engine = services(request).engine
    query = query_request(request, protocol, fmt)

    async def build(_: DataVersion) -> Response:
        return answer_response(await engine.execute(query), {})

    if request.method not in ("GET", "HEAD"):
        return await build(await engine.data_version())
    return await represent(request, fmt, fmt.key, build, headers=ANSWER_CACHING, keep=False)


async def service_description_or_ui(request: Request, protocol: ProtocolRequest) -> Response:
    """GET /sparql without a query: the Service Description for machines, the UI for people."""
    offered = (*formats.of_kinds(formats.Kind.GRAPH, formats.Kind.DATASET), formats.HTML)
    fmt = choose_format(request, protocol, offered)
    if fmt is formats.HTML:
        return query_ui.render(request)
    settings = services(request).settings

    async def build(_: DataVersion) -> bytes:
        graphs = await service_description.named_graphs(request)
        triples = service_description.describe(service_description.endpoint_url(request), settings, graphs)
        return service_description.serialise(triples, fmt, settings)

    return await represent(request, fmt, f"sd-{fmt.key}", build)


async def endpoint(request: Request) -> Response:
    """GET, HEAD and POST /sparql."""
    settings = services(request).settings
    protocol = await read_protocol_request(request, settings.max_query_bytes)
    if protocol.query is None:
        if request.method == "POST":
            raise BadRequest("No query was sent: give it as the 'query' parameter or as the request body.")
        return await service_description_or_ui(request, protocol)
    fmt = answer_format(request, protocol, settings)
    if fmt is formats.HTML:
        return query_ui.render(request, protocol.query)
    return await run_query(request, protocol, fmt)


def plain_answer_format(query: str, accept: str | None, settings: Settings) -> formats.Format:
    """answer_format for a GET that names no format: Accept alone chooses among the query's formats."""
    check_query(query, settings)
    return negotiate(accept, offered_formats(query_form(query), allow_html=True))


def answer_format(request: Request, protocol: ProtocolRequest, settings: Settings) -> formats.Format:
    """The format the request's query is to be answered in (HTML: the query UI showing it), once
    the query is checked: 400 for an empty one, an update or a federated call not allowed, 406
    when no format it can be given in is acceptable."""
    query = protocol.query or ""
    check_query(query, settings)
    offered = offered_formats(query_form(query), allow_html=request.method in ("GET", "HEAD"))
    return choose_format(request, protocol, offered)
