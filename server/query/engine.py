"""The one small interface between request handling and the store.

Everything the server needs from a SPARQL store goes through `QueryEngine.execute`: the
protocol endpoint, resource pages, metadata and reconciliation alike. Two implementations exist:
worker processes over the embedded pyoxigraph store (server.query.workers) and a client of any remote
SPARQL 1.1 endpoint (server.query.remote), so the rest of the server never knows which one it talks to.

Answers come back already serialised in the requested format: pyoxigraph writes them natively,
and a remote store sends them over HTTP, so no result is ever rebuilt row by row in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from server import formats


@dataclass(frozen=True)
class QueryRequest:
    """A query and how its answer is wanted.

    Without default or named graphs the store's own dataset applies: its default graph, and its
    named graphs; a client's query does not see the graphs the service keeps for itself (the
    statistics, the version record, indexes) unless it names them.
    """

    query: str
    result_format: formats.Format
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    max_rows: int | None = None  # the engine's cap unless an internal query needs another
    internal: bool = False  # asked by the server itself (pages, search, metadata), not a client
    base_iri: str | None = None  # relative IRIs in the query resolve against it (the endpoint's IRI)
    client: str | None = None  # who asks (an IP address), for each client's share of the workers

    @property
    def has_dataset(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    result_format: formats.Format
    truncated: bool = False
    max_rows: int | None = None
    cached: bool = False  # answered from the result cache (server.query.cache), not by the store
    in_lane: bool = False  # a bounded lookup answered in the HTTP process (server.query.lane)


@dataclass(frozen=True)
class DataVersion:
    """Identifies the data a store serves; HTTP validators and dumps are keyed by it. `home` is
    the directory of the build on disk, where what was counted after it went live is kept."""

    tag: str | None
    modified: datetime | None
    home: str | None = None


@dataclass(frozen=True)
class AtOnce:
    """A query the engine can answer in the calling thread without waiting, over `version`:
    `answer()` evaluates it (see QueryEngine.answer_at_once)."""

    version: DataVersion
    answer: Callable[[], QueryAnswer]


class EngineError(Exception):
    """Base of the errors an engine reports; each maps to one HTTP status."""


@dataclass
class QuerySyntaxError(EngineError):
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f" at line {self.line}, column {self.column}" if self.line else ""
        return f"Syntax error{where}: {self.message}"


@dataclass
class QueryTimeout(EngineError):
    seconds: float

    def __str__(self) -> str:
        return f"The query ran longer than the limit of {self.seconds:g} seconds and was stopped."


@dataclass
class EngineBusy(EngineError):
    seconds: float

    def __str__(self) -> str:
        return f"All query workers stayed busy for {self.seconds:g} seconds; try again later."


@dataclass
class ClientOverShare(EngineError):
    """This client already holds its share of the query workers: it may ask again when one of its
    queries is over, while other clients' queries go on."""

    share: int
    retry_after: int

    def __str__(self) -> str:
        workers = "one query" if self.share == 1 else f"{self.share} queries"
        return (
            f"You already have {workers} running, your share of the query workers; "
            f"send this one when it is over (retry after {self.retry_after} s)."
        )


@dataclass
class EngineUnavailable(EngineError):
    message: str = field(default="The SPARQL store cannot be reached.")

    def __str__(self) -> str:
        return self.message


@dataclass
class QueryFailed(EngineError):
    """The store could not evaluate an otherwise valid query (a type error in the engine...)."""

    message: str

    def __str__(self) -> str:
        return self.message


class QueryEngine(Protocol):
    """Evaluates read-only SPARQL queries within a time limit and a cap on result rows."""

    query_timeout: float
    max_rows: int

    def launch(self) -> None:
        """Set whatever the engine starts going (processes), without waiting: `start` waits."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def execute(self, request: QueryRequest) -> QueryAnswer: ...

    async def data_version(self) -> DataVersion: ...

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        """The request as one to answer here and now, if it needs no waiting at all (a bounded
        lookup over the data version being served, an answer remembered); None otherwise, and
        `execute` answers it. Deciding costs no evaluation, so that the caller may count the
        request (rate limits) between deciding and answering."""
        ...

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        """Write the whole dataset to a file: the merge, or every graph (but those left out) for
        N-Quads and TriG."""
        ...


EXPORT_TIMEOUT = 3600.0  # a full dump of ten million triples takes about a minute


def syntax_error_from(error: SyntaxError) -> QuerySyntaxError:
    """pyoxigraph's query errors read 'error at 3:7: expected ...'; keep line and column apart."""
    match = re.match(r"error at (\d+):(\d+): (.*)", str(error), re.DOTALL)
    if match:
        return QuerySyntaxError(match.group(3), int(match.group(1)), int(match.group(2)))
    return QuerySyntaxError(str(error))


def graph_terms(iris: tuple[str, ...]) -> list[ox.NamedNode]:
    return [ox.NamedNode(iri) for iri in iris]


async def select(engine: QueryEngine, query: str, max_rows: int | None = None) -> list[ox.QuerySolution]:
    """Run an internal SELECT and return its rows as pyoxigraph solutions (read from TSV)."""
    answer = await engine.execute(QueryRequest(query, formats.TSV, max_rows=max_rows, internal=True))
    return list(ox.parse_query_results(answer.body, ox.QueryResultsFormat.TSV))


async def construct(engine: QueryEngine, query: str, max_rows: int | None = None) -> list[ox.Triple]:
    """Run an internal CONSTRUCT and return its triples (read from N-Triples)."""
    answer = await engine.execute(QueryRequest(query, formats.N_TRIPLES, max_rows=max_rows, internal=True))
    return list(ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES))
