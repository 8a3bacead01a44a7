"""The one registry of formats and media types.

Content negotiation, the service description, the VoID and DCAT distributions, the dumps and
the "other formats" links on pages are all generated from this list. Media types and file
extensions come from pyoxigraph's own format objects, so they cannot drift from what the engine
actually writes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum

import pyoxigraph as ox


class Kind(Enum):
    """What a representation holds, which decides where a format may be offered."""

    GRAPH = "graph"  # RDF triples: resource descriptions, CONSTRUCT and DESCRIBE results
    DATASET = "dataset"  # RDF quads: dumps with their named graphs
    RESULTS = "results"  # SPARQL SELECT and ASK results
    PAGE = "page"  # HTML for people


@dataclass(frozen=True)
class Format:
    """One serialisation: its name, media type, file extension and pyoxigraph counterpart."""

    key: str
    label: str
    media_type: str
    extension: str
    kinds: frozenset[Kind]
    rdf: ox.RdfFormat | None = None
    results: ox.QueryResultsFormat | None = None
    aliases: tuple[str, ...] = ()
    # Other names a client may give it in a format parameter (format=, output=, results=), beside
    # its key and media types: what SPARQLWrapper, Virtuoso's and Jena's users send.
    names: tuple[str, ...] = ()

    def __hash__(self) -> int:
        """By the key alone, which tells formats apart: formats key the memos of negotiation and
        of answers' headers, looked up on every request, and hashing every field cost more."""
        return hash(self.key)

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.aliases)

    def is_named(self, name: str) -> bool:
        """Whether a format parameter's value ("turtle", "n3", "text/turtle; charset=utf-8") names it."""
        wanted = _essence(name).lower()
        return wanted == self.key or wanted in self.names or wanted in self.media_types


def _essence(media_type: str) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv': parameters are added when a response is sent."""
    return media_type.split(";", 1)[0].strip()


def _rdf(
    key: str,
    label: str,
    rdf: ox.RdfFormat,
    kinds: set[Kind],
    aliases: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
) -> Format:
    return Format(
        key,
        label,
        _essence(rdf.media_type),
        rdf.file_extension,
        frozenset(kinds),
        rdf=rdf,
        aliases=aliases,
        names=names,
    )


def _results(
    key: str,
    label: str,
    results: ox.QueryResultsFormat,
    aliases: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
) -> Format:
    return Format(
        key,
        label,
        _essence(results.media_type),
        results.file_extension,
        frozenset({Kind.RESULTS}),
        results=results,
        aliases=aliases,
        names=names,
    )


# N3 is a superset of Turtle, so a Turtle answer is a valid N3 answer: format=n3 gets Turtle, as
# at other endpoints. "xml" names RDF/XML only where SPARQL XML results cannot be given
# (CONSTRUCT, DESCRIBE): SPARQLWrapper asks for "xml" whatever the query form.
TURTLE = _rdf(
    "turtle",
    "Turtle",
    ox.RdfFormat.TURTLE,
    {Kind.GRAPH},
    ("application/x-turtle",),
    ("ttl", "n3", "text/n3", "text/rdf+n3", "application/n3", "application/turtle"),
)
JSON_LD = _rdf(
    "jsonld", "JSON-LD", ox.RdfFormat.JSON_LD, {Kind.GRAPH, Kind.DATASET}, names=("json-ld", "application/x-json+ld")
)
RDF_XML = _rdf(
    "rdfxml", "RDF/XML", ox.RdfFormat.RDF_XML, {Kind.GRAPH}, ("application/xml", "text/xml"), ("rdf+xml", "rdf", "xml")
)
N_TRIPLES = _rdf("ntriples", "N-Triples", ox.RdfFormat.N_TRIPLES, {Kind.GRAPH}, ("text/plain",), ("nt", "n-triples"))
TRIG = _rdf("trig", "TriG", ox.RdfFormat.TRIG, {Kind.DATASET}, ("application/x-trig",))
N_QUADS = _rdf("nquads", "N-Quads", ox.RdfFormat.N_QUADS, {Kind.DATASET}, ("text/x-nquads",), ("nq", "n-quads"))

SPARQL_JSON = _results("json", "SPARQL JSON", ox.QueryResultsFormat.JSON, ("application/json",))
SPARQL_XML = _results("xml", "SPARQL XML", ox.QueryResultsFormat.XML, ("application/xml", "text/xml"))
CSV = _results("csv", "CSV", ox.QueryResultsFormat.CSV)
TSV = _results("tsv", "TSV", ox.QueryResultsFormat.TSV)

HTML = Format("html", "HTML", "text/html", "html", frozenset({Kind.PAGE}), aliases=("application/xhtml+xml",))

# Documents that are neither RDF nor query results: never offered by negotiation of RDF, but
# named here so that every media type the server sends comes from one place.
JSON = Format("plain-json", "JSON", "application/json", "json", frozenset())
GZIP = Format("gzip", "gzip", "application/gzip", "gz", frozenset())
XML = Format("xml-document", "XML", "application/xml", "xml", frozenset())
TEXT = Format("text", "plain text", "text/plain", "txt", frozenset())
# RFC 9457: how an error is told to programs that read JSON.
PROBLEM_JSON = Format("problem-json", "problem JSON", "application/problem+json", "json", frozenset())

ALL: tuple[Format, ...] = (
    HTML,
    TURTLE,
    JSON_LD,
    RDF_XML,
    N_TRIPLES,
    TRIG,
    N_QUADS,
    SPARQL_JSON,
    SPARQL_XML,
    CSV,
    TSV,
)


@functools.cache
def of_kind(kind: Kind) -> tuple[Format, ...]:
    """Formats that can carry this kind of content, in order of preference (asked on every query)."""
    return tuple(f for f in ALL if kind in f.kinds)


@functools.cache
def of_kinds(*kinds: Kind) -> tuple[Format, ...]:
    """Formats that can carry any of these kinds, each once, in order of preference."""
    return tuple(dict.fromkeys(f for kind in kinds for f in of_kind(kind)))


def named(name: str, offered: tuple[Format, ...]) -> Format | None:
    """The offered format a format parameter's value names (by key, other name or media type), if any."""
    return next((f for f in offered if f.is_named(name)), None)


def by_key(key: str) -> Format | None:
    return _BY_KEY.get(key)


def by_extension(extension: str, kind: Kind | None = None) -> Format | None:
    """The format for a file extension ("ttl", ".ttl"), optionally only among one kind."""
    wanted = extension.lower().lstrip(".")
    candidates = of_kind(kind) if kind else ALL
    return next((f for f in candidates if f.extension == wanted), None)


def by_media_type(media_type: str, kinds: tuple[Kind, ...] = (Kind.GRAPH, Kind.DATASET)) -> Format | None:
    """The format for a Content-Type header value (parameters such as charset are ignored)."""
    essence = media_type.split(";", 1)[0].strip().lower()
    return next((f for f in ALL if essence in f.media_types and f.kinds & set(kinds)), None)


def rdf_input_formats() -> tuple[Format, ...]:
    """Formats that can be read as RDF input (for validation and uploads)."""
    return tuple(f for f in ALL if f.rdf is not None)


_BY_KEY = {f.key: f for f in ALL}
