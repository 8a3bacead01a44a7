"""Queries over an existing SPARQL 1.1 endpoint, for data that outgrow one machine.

The remote store (Oxigraph server, Fuseki, Virtuoso, QLever, ...) holds our N-Quads dump as it
is: the named graphs of the sources and a default graph that is their merge. No option such as
"union default graph" is needed (or wanted: it would count each fact once per source).
Answers are asked for in SPARQL TSV or N-Triples, read as a stream only up to the row cap (then
the connection is closed) and converted natively to the requested format, exactly as in the
embedded mode. The time limit bounds the wait; stopping the remote evaluation is up to the
remote store's own limits.
"""

from __future__ import annotations

import asyncio
import time
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
    DataVersion,
    EngineUnavailable,
    QueryAnswer,
    QueryFailed,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    syntax_error_from,
)
from server.query.reading import QueryForm, query_form
from server.uris import Iris

VERSION_TTL_SECONDS = 30.0


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
    ) -> None:
        self.endpoint = endpoint
        self.query_timeout = query_timeout
        self.max_rows = max_rows
        self.base_iri = base_iri
        self.prefixes = prefixes
        self.client: httpx.AsyncClient | None = None
        self._version: tuple[float, DataVersion] | None = None

    def launch(self) -> None:
        pass

    async def start(self) -> None:
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(self.query_timeout, connect=10.0))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        if not request.internal:
            check_syntax(request)
        form = query_form(request.query)
        wire = self._wire_format(form, request.result_format)
        try:
            async with asyncio.timeout(self.query_timeout):
                body, received, truncated = await self._post(request, wire)
        except TimeoutError:
            raise QueryTimeout(self.query_timeout) from None
        except httpx.TransportError as error:
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
            return formats.TSV
        if form in (QueryForm.CONSTRUCT, QueryForm.DESCRIBE):
            return formats.N_TRIPLES
        return wanted

    async def _post(self, request: QueryRequest, wire: formats.Format) -> tuple[bytes, formats.Format, bool]:
        # On the query's first line, so that the remote store's positions match ours; a later BASE
        # in the query itself still wins (a prologue may declare several).
        query = f"BASE <{request.base_iri}> {request.query}" if request.base_iri else request.query
        fields = [("query", query)]
        fields += [("default-graph-uri", g) for g in request.default_graphs]
        fields += [("named-graph-uri", g) for g in request.named_graphs]
        headers = {"Accept": wire.media_type, "Content-Type": "application/x-www-form-urlencoded"}
        async with self.client.stream(
            "POST", self.endpoint, content=urlencode(fields).encode(), headers=headers
        ) as response:
            if response.status_code >= 400:
                await self._raise_for(response)
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
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
            except results.CapReached:
                pass
            return sink.text(), received, sink.capped

    async def _raise_for(self, response: httpx.Response) -> None:
        text = (await response.aread()).decode("utf-8", "replace").strip()[:2000]
        if response.status_code == 400:
            raise QuerySyntaxError(text or "The SPARQL store rejected the query.")
        if response.status_code in (503, 504, 408):
            raise QueryTimeout(self.query_timeout)
        if response.status_code >= 500:
            raise EngineUnavailable(f"The SPARQL store answered {response.status_code}: {text}")
        raise QueryFailed(f"The SPARQL store answered {response.status_code}: {text}")

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
        TSV rows of a SELECT over the default graph and the named graphs (but those left out),
        then convert natively."""
        with_graphs = fmt in (formats.N_QUADS, formats.TRIG)
        if with_graphs:
            skip = f"FILTER(?g NOT IN ({', '.join(f'<{g}>' for g in left_out)}))" if left_out else ""
            query = f"SELECT ?s ?p ?o ?g WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH ?g {{ ?s ?p ?o }} {skip} }} }}"
            wire = formats.TSV
        else:
            query, wire = "CONSTRUCT WHERE { ?s ?p ?o }", formats.N_TRIPLES
        raw = path.with_suffix(path.suffix + ".download")
        headers = {"Accept": wire.media_type, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            async with (
                asyncio.timeout(EXPORT_TIMEOUT),
                self.client.stream(
                    "POST", self.endpoint, content=urlencode({"query": query}).encode(), headers=headers
                ) as response,
            ):
                if response.status_code >= 400:
                    await self._raise_for(response)
                with raw.open("wb") as sink:
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
            await asyncio.to_thread(self._convert_export, raw, with_graphs, fmt, path)
        except TimeoutError:
            raise QueryTimeout(EXPORT_TIMEOUT) from None
        except httpx.TransportError as error:
            raise EngineUnavailable(f"The SPARQL store at {self.endpoint} cannot be reached: {error}") from error
        finally:
            raw.unlink(missing_ok=True)

    def _convert_export(self, raw: Path, with_graphs: bool, fmt: formats.Format, path: Path) -> None:
        if with_graphs:
            rows = ox.parse_query_results(path=raw, format=ox.QueryResultsFormat.TSV)
            items = (ox.Quad(r["s"], r["p"], r["o"], r["g"] or ox.DefaultGraph()) for r in rows)
        else:
            items = ox.parse(path=raw, format=ox.RdfFormat.N_TRIPLES)
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
