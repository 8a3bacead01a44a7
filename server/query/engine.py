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
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from server import formats


class QueryForm(Enum):
    """What a query returns, which decides the formats it can be answered in."""

    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"

    @property
    def kind(self) -> formats.Kind:
        return formats.Kind.RESULTS if self in (QueryForm.SELECT, QueryForm.ASK) else formats.Kind.GRAPH


@dataclass(frozen=True)
class QueryRequest:
    """A query and how its answer is wanted.

    Without default or named graphs the store's own dataset applies: the merge of all graphs as
    the default graph, and every named graph.
    """

    query: str
    result_format: formats.Format
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    max_rows: int | None = None  # the engine's cap unless an internal query needs another
    internal: bool = False  # asked by the server itself (pages, search, metadata), not a client

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


@dataclass(frozen=True)
class DataVersion:
    """Identifies the data a store serves; HTTP validators and dumps are keyed by it."""

    tag: str | None
    modified: datetime | None


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

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def execute(self, request: QueryRequest) -> QueryAnswer: ...

    async def data_version(self) -> DataVersion: ...

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        """Write the whole dataset to a file: the merge, or every graph (but those left out) for
        N-Quads and TriG."""
        ...


EXPORT_TIMEOUT = 3600.0  # a full dump of ten million triples takes about a minute

# --- Reading a query's form without parsing it ----------------------------------------------

_PROLOGUE = re.compile(
    r"""\A(?:\s+|\#[^\n]*\n?
        |BASE\s*<[^>]*>
        |PREFIX\s*[A-Za-z0-9_.\-\u00B7-\uFFFF]*:\s*<[^>]*>)*""",
    re.IGNORECASE | re.VERBOSE,
)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_UPDATE = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)


def query_form(query: str) -> QueryForm | None:
    """The form of a query, read from the first keyword after its prologue.

    None when the text is not a query at all; the engine's parser then reports the error.
    """
    rest = query[_PROLOGUE.match(query).end() :]
    match = _FORM.match(rest)
    return QueryForm(match.group(1).upper()) if match else None


def looks_like_update(query: str) -> bool:
    """True for SPARQL Update text (INSERT DATA, DELETE WHERE, LOAD, ...)."""
    rest = query[_PROLOGUE.match(query).end() :]
    return _UPDATE.match(rest) is not None


# Strings, IRIs and comments, whose text must not be mistaken for keywords.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|\#[^\n]*"
)
_SERVICE = re.compile(r"(?<![?$:\w])SERVICE(?![\w:-])", re.IGNORECASE)


def uses_service(query: str) -> bool:
    """True when the query calls another endpoint (SERVICE), outside strings, IRIs and comments."""
    return _SERVICE.search(_OPAQUE.sub(" ", query)) is not None


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


def sparql_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    """A term written for a SPARQL query (VALUES, patterns)."""
    return str(term)
