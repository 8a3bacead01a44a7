"""Queries over an existing SPARQL 1.1 endpoint, for data that outgrow one machine.

The remote store (Oxigraph server, Fuseki, Virtuoso, QLever, ...) holds our N-Quads dump as it
is: the named graphs of the sources and a default graph that is their merge. No option such as
"union default graph" is needed (or wanted: it would count each fact once per source).
Answers are asked for in SPARQL TSV or N-Triples, read as a stream only up to the row cap (then
the connection is closed) and converted natively to the requested format, exactly as in the
embedded mode. The time limit bounds the wait; stopping the remote evaluation is up to the
remote store's own limits.

Stores whose default graph is the union of all their graphs (Virtuoso) hold the dump's default
graph in a graph of its own, named by `sparql_default_graph`: every query that names no dataset
is then sent with it as `default-graph-uri`, and with the store's other graphs (but the store's
own system graphs) as `named-graph-uri`, so that `GRAPH ?g` ranges over the dump's graphs only.
A store whose TSV is not SPARQL TSV (Virtuoso's quotes IRIs as strings and drops datatypes) is
asked for SPARQL JSON instead, from its first such answer on; its rows are then capped here.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from server import formats
from server.namespaces import DCT, OWL
from server.query import results
from server.query.engine import (
    EXPORT_TIMEOUT,
    AtOnce,
    DataVersion,
    EngineUnavailable,
    QueryAnswer,
    QueryFailed,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    syntax_error_from,
)
from server.query.reading import QueryForm, names_dataset, query_form, uses_named_graphs
from server.query.wire import Client, WireError
from server.uris import Iris

VERSION_TTL_SECONDS = 30.0
# Graphs a store keeps for itself, never data of ours: Virtuoso's schemas and service descriptions.
STORE_OWN_GRAPHS = ("http://www.openlinksw.com/", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/")
# Virtuoso names blank nodes in SPARQL JSON "nodeID://b1", which is no blank node label: read as "b1".
VIRTUOSO_BLANK_NODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')
# Virtuoso refuses a query whose estimated time exceeds its limit (500, SQL state 42000 or S1T00).
VIRTUOSO_TOO_LONG = re.compile(r"estimated execution time .* exceeds the limit|\bS1T00\b")
# An empty graph pattern, `GRAPH ?g { }`, which Virtuoso answers with one row where ?g is unbound.
EMPTY_GRAPH_PATTERN = re.compile(r"GRAPH\s*([?$]\w+)\s*\{\s*\}", re.IGNORECASE)
# Virtuoso 7.2 takes seconds over DISTINCT ?g of GRAPH ?g with no dataset given, and GROUP BY ?g milliseconds.
GRAPHS_QUERY = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


_PARSER = ox.Store()  # empty: a query is parsed and planned here, never evaluated


def check_syntax(request: QueryRequest) -> None:
    """Parse a client's query here first, so that a syntax error is reported with its line and
    column exactly as the embedded engine reports it, whatever the remote store would say.

    SELECT, CONSTRUCT and DESCRIBE answers are evaluated lazily, so nothing is computed; an ASK
    is answered at once, even over nothing (a product of VALUES blocks), so it is left to the
    remote store."""
    if query_form(request.query) in (None, QueryForm.ASK):
        return
    try:
        _PARSER.query(request.query, base_iri=request.base_iri)
    except SyntaxError as error:
        raise syntax_error_from(error) from None


class RemoteEngine:
    """A QueryEngine that forwards queries to a SPARQL 1.1 Protocol endpoint."""

    def __init__(
        self,
        endpoint: str,
        query_timeout: float,
        max_rows: int,
        base_iri: str,
        prefixes: dict[str, str],
        default_graph: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.default_graph = default_graph
        self.standard_tsv = True  # until the store answers TSV that is not SPARQL TSV
        self._graphs: tuple[float, tuple[str, ...]] | None = None
        self.query_timeout = query_timeout
        self.max_rows = max_rows
        self.base_iri = base_iri
        self.prefixes = prefixes
        self.client: httpx.AsyncClient | None = None  # for exports
        self.wire = Client(endpoint)  # for queries
        self._version: tuple[float, DataVersion] | None = None

    def launch(self) -> None:
        pass

    async def start(self) -> None:
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(self.query_timeout, connect=10.0))

    async def close(self) -> None:
        await self.wire.close()
        if self.client is not None:
            await self.client.aclose()

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        return None  # every answer comes over the network

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        if not request.internal:
            check_syntax(request)
        form = query_form(request.query)
        try:
            async with asyncio.timeout(self.query_timeout):
                if request.internal and self.default_graph is not None and EMPTY_GRAPH_PATTERN.search(request.query):
                    request = replace(request, query=await self._listing_graphs(request.query))
                body, received, truncated = await self._fetch(request, form, await self._dataset(request))
        except TimeoutError:
            raise QueryTimeout(self.query_timeout) from None
        except (WireError, OSError, asyncio.IncompleteReadError) as error:
            raise EngineUnavailable(f"The SPARQL store at {self.endpoint} cannot be reached: {error}") from error
        return QueryAnswer(
            self._convert(body, received, request.result_format),
            request.result_format,
            truncated,
            (request.max_rows or self.max_rows) if truncated else None,
        )

    def _wire_format(self, form: QueryForm | None, wanted: formats.Format) -> formats.Format:
        """Ask in a line-per-row format whenever rows may have to be capped."""
        if form is QueryForm.SELECT:
            return formats.TSV if self.standard_tsv else formats.SPARQL_JSON
        if form in (QueryForm.CONSTRUCT, QueryForm.DESCRIBE):
            return formats.N_TRIPLES
        return wanted

    async def _dataset(self, request: QueryRequest) -> list[tuple[str, str]]:
        """The protocol's dataset fields: the request's own, or for a store whose default graph is
        the union of its graphs, the graph holding the dump's default graph and the data's graphs
        (unless the query names its dataset with FROM / FROM NAMED, which the store then keeps)."""
        if request.has_dataset:
            fields = [("default-graph-uri", g) for g in request.default_graphs]
            return fields + [("named-graph-uri", g) for g in request.named_graphs]
        if self.default_graph is None or names_dataset(request.query):
            return []
        if not uses_named_graphs(request.query):  # a shorter request, which the store reads faster
            return [("default-graph-uri", self.default_graph)]
        named = [("named-graph-uri", g) for g in await self._data_graphs()]
        return [("default-graph-uri", self.default_graph), *named]

    async def _listing_graphs(self, query: str) -> str:
        """Our own listings of graphs (`GRAPH ?g { }`) with the graphs named, since Virtuoso
        answers the empty pattern with one row where ?g is unbound."""
        values = " ".join(f"<{g}>" for g in await self._data_graphs())
        return EMPTY_GRAPH_PATTERN.sub(lambda m: f"VALUES {m.group(1)} {{ {values} }}", query)

    async def _data_graphs(self) -> tuple[str, ...]:
        """The store's graphs but the default graph's and its own, re-read at most every 30 seconds."""
        now = time.monotonic()
        if self._graphs and now - self._graphs[0] < VERSION_TTL_SECONDS:
            return self._graphs[1]
        listing = QueryRequest(GRAPHS_QUERY, formats.TSV, max_rows=1 << 20, internal=True)
        body, _, _ = await self._fetch(listing, QueryForm.SELECT, [])
        try:
            rows = ox.parse_query_results(body, ox.QueryResultsFormat.TSV)
            names = sorted(
                r["g"].value
                for r in rows
                if isinstance(r["g"], ox.NamedNode)
                and r["g"].value != self.default_graph
                and not r["g"].value.startswith(STORE_OWN_GRAPHS)
            )
        except (SyntaxError, ValueError) as error:
            raise QueryFailed(f"The SPARQL store's list of graphs could not be read: {error}") from error
        self._graphs = (now, tuple(names))
        return self._graphs[1]

    async def _fetch(
        self, request: QueryRequest, form: QueryForm | None, dataset: list[tuple[str, str]]
    ) -> tuple[bytes, formats.Format, bool]:
        """Ask the store; SELECT rows come back as SPARQL TSV, capped, whatever the store sent."""
        body, received, truncated = await self._post(request, self._wire_format(form, request.result_format), dataset)
        if received is formats.TSV and not is_sparql_tsv(body):
            self.standard_tsv = False
            body, received, truncated = await self._post(
                request, self._wire_format(form, request.result_format), dataset
            )
        if form is QueryForm.SELECT and received.results is not None and received is not formats.TSV:
            body, truncated = self._capped_rows(body, received, request.max_rows or self.max_rows)
            received = formats.TSV
        return body, received, truncated

    def _capped_rows(self, body: bytes, received: formats.Format, max_rows: int) -> tuple[bytes, bool]:
        """SELECT results in a structured format (JSON, XML), read whole, as SPARQL TSV of at most max_rows rows."""
        if received is formats.SPARQL_JSON:
            body = VIRTUOSO_BLANK_NODE.sub(rb"\1", body)
        try:
            return results.capped_solutions_tsv(ox.parse_query_results(body, received.results), max_rows)
        except (SyntaxError, ValueError) as error:
            raise QueryFailed(f"The SPARQL store's answer could not be read as {received.label}: {error}") from error

    async def _post(
        self, request: QueryRequest, wire: formats.Format, dataset: list[tuple[str, str]]
    ) -> tuple[bytes, formats.Format, bool]:
        # On the query's first line, so that the remote store's positions match ours; a later BASE
        # in the query itself still wins (a prologue may declare several).
        query = f"BASE <{request.base_iri}> {request.query}" if request.base_iri else request.query
        fields = [("query", query), *dataset]
        headers = {"Accept": wire.media_type, "Content-Type": "application/x-www-form-urlencoded"}
        async with self.wire.post(urlencode(fields).encode(), headers) as response:
            if response.status >= 400:
                text = (await response.read()).decode("utf-8", "replace")
                self._raise_for_status(response.status, text)
            if response.headers.get("x-sql-state"):  # Virtuoso's "anytime" answer: cut short, unsaid
                raise QueryTimeout(self.query_timeout)
            received = (
                formats.by_media_type(
                    response.headers.get("content-type", wire.media_type),
                    (formats.Kind.RESULTS, formats.Kind.GRAPH, formats.Kind.DATASET),
                )
                or wire
            )
            line_based = received in (formats.TSV, formats.N_TRIPLES)
            extra_header_line = 1 if received is formats.TSV else 0
            max_rows = request.max_rows or self.max_rows
            sink = results.LineCappedBuffer(max_rows + extra_header_line if line_based else 2**62)
            try:
                async for chunk in response.chunks():
                    sink.write(chunk)
            except results.CapReached:
                pass
            return sink.text(), received, sink.capped

    async def _raise_for(self, response: httpx.Response) -> None:
        self._raise_for_status(response.status_code, (await response.aread()).decode("utf-8", "replace"))

    def _raise_for_status(self, status: int, text: str) -> None:
        text = text.strip()[:2000]
        if status == 400:
            raise QuerySyntaxError(text or "The SPARQL store rejected the query.")
        if status in (503, 504, 408) or VIRTUOSO_TOO_LONG.search(text):
            raise QueryTimeout(self.query_timeout)
        if status >= 500:
            raise EngineUnavailable(f"The SPARQL store answered {status}: {text}")
        raise QueryFailed(f"The SPARQL store answered {status}: {text}")

    def _convert(self, body: bytes, received: formats.Format, wanted: formats.Format) -> bytes:
        try:
            if received.results is not None and received.results != wanted.results:
                if received is not formats.TSV:
                    body = ox.parse_query_results(body, received.results).serialize(format=ox.QueryResultsFormat.TSV)
                return results.solutions_as(body, wanted)
            if received.rdf is not None and received.rdf != wanted.rdf:
                if received is not formats.N_TRIPLES:
                    body = ox.serialize(ox.parse(body, format=received.rdf), format=ox.RdfFormat.N_TRIPLES)
                return results.triples_as(body, wanted, self.prefixes)
        except (SyntaxError, ValueError) as error:
            raise QueryFailed(f"The SPARQL store's answer could not be read as {received.label}: {error}") from error
        return body

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        """Stream the whole remote dataset to a file: the merge as N-Triples, or every quad as
        TSV rows (SPARQL JSON from a store whose TSV is not SPARQL TSV) of a SELECT over the default
        graph and the named graphs (but those left out), then convert natively."""
        with_graphs = fmt in (formats.N_QUADS, formats.TRIG)
        if with_graphs:
            skip = f"FILTER(?g NOT IN ({', '.join(f'<{g}>' for g in left_out)}))" if left_out else ""
            query = f"SELECT ?s ?p ?o ?g WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} {skip} }} }}"
        else:
            query = "CONSTRUCT WHERE { ?s ?p ?o }"
        raw = path.with_suffix(path.suffix + ".download")
        try:
            async with asyncio.timeout(EXPORT_TIMEOUT):
                dataset = await self._dataset(QueryRequest(query, formats.TSV))
                wire = await self._download(query, dataset, with_graphs, raw)
            await asyncio.to_thread(self._convert_export, raw, wire, fmt, path)
        except TimeoutError:
            raise QueryTimeout(EXPORT_TIMEOUT) from None
        except (httpx.TransportError, WireError, OSError) as error:
            raise EngineUnavailable(f"The SPARQL store at {self.endpoint} cannot be reached: {error}") from error
        finally:
            raw.unlink(missing_ok=True)

    async def _download(
        self, query: str, dataset: list[tuple[str, str]], with_graphs: bool, raw: Path
    ) -> formats.Format:
        """The whole answer into `raw`, asked again in SPARQL JSON if the store's TSV is not SPARQL TSV."""
        while True:
            wire = (formats.TSV if self.standard_tsv else formats.SPARQL_JSON) if with_graphs else formats.N_TRIPLES
            headers = {"Accept": wire.media_type, "Content-Type": "application/x-www-form-urlencoded"}
            content = urlencode([("query", query), *dataset]).encode()
            async with self.client.stream("POST", self.endpoint, content=content, headers=headers) as response:
                if response.status_code >= 400:
                    await self._raise_for(response)
                with raw.open("wb") as sink:
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
            with raw.open("rb") as head:
                if wire is not formats.TSV or is_sparql_tsv(head.read(1)):
                    return wire
            self.standard_tsv = False

    def _convert_export(self, raw: Path, wire: formats.Format, fmt: formats.Format, path: Path) -> None:
        if wire is formats.SPARQL_JSON:
            body = VIRTUOSO_BLANK_NODE.sub(rb"\1", raw.read_bytes())
            rows = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
        elif wire is formats.TSV:
            rows = ox.parse_query_results(path=raw, format=ox.QueryResultsFormat.TSV)
        if wire is formats.N_TRIPLES:
            items = ox.parse(path=raw, format=ox.RdfFormat.N_TRIPLES)
        else:
            items = (ox.Quad(r["s"], r["p"], r["o"], r["g"] or ox.DefaultGraph()) for r in rows)
        named = self.prefixes if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
        ox.serialize(items, path, format=fmt.rdf, prefixes=named)

    async def data_version(self) -> DataVersion:
        """The version the loaded dump records about itself, re-read at most every 30 seconds."""
        now = time.monotonic()
        if self._version and now - self._version[0] < VERSION_TTL_SECONDS:
            return self._version[1]
        iris = Iris(self.base_iri)
        graph, dataset = iris.metadata_graph, iris.dataset
        query = (
            f"SELECT ?version ?modified WHERE {{ GRAPH <{graph}> {{ <{dataset}> "
            f"<{OWL + 'versionInfo'}> ?version ; <{DCT + 'modified'}> ?modified }} }} LIMIT 1"
        )
        version = DataVersion(None, None)
        try:
            answer = await self.execute(QueryRequest(query, formats.TSV))
            rows = list(ox.parse_query_results(answer.body, ox.QueryResultsFormat.TSV))
            if rows:
                modified = datetime.fromisoformat(rows[0]["modified"].value)
                version = DataVersion(rows[0]["version"].value, modified)
        except (QueryFailed, QuerySyntaxError, QueryTimeout, EngineUnavailable, ValueError):
            pass
        self._version = (now, version)
        return version


def is_sparql_tsv(body: bytes) -> bool:
    """Whether a TSV answer is SPARQL TSV: its header names variables as ?x (or is empty)."""
    return body[:1] in (b"?", b"\n", b"\r", b"")
