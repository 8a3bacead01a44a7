"""W3C test manifests into plain records: what to query, over which dataset, expecting what.

Relative IRIs in a manifest resolve against its public IRI
(`http://www.w3.org/2009/sparql/docs/tests/data-sparql11/<folder>/manifest.ttl`), not the local
path, because the expected results name graphs and resources by those public IRIs
(`bindings/graph.ttl` expects `?g` to be `<.../bindings/data01.ttl>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from tests.w3c.dataset import DataFile, Dataset

PUBLIC_BASE = "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DAWGT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"

# Entry types that evaluate a query over a dataset and compare the results. A CSV test is one
# whose expected results are CSV text (the csv-tsv-res folder); every other type is skipped.
EVALUATION_TYPES = {MF.QueryEvaluationTest, MF.CSVResultFormatTest}
# Protocol parameters and media types that make a request a SPARQL Update operation.
UPDATE_PARAMETERS = {"update", "using-graph-uri", "using-named-graph-uri"}
UPDATE_MEDIA_TYPE = "application/sparql-update"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
# The first keyword after the prologue (comments, BASE and PREFIX declarations).
FIRST_KEYWORD = re.compile(
    r"(?:\s|#[^\n]*)*(?:(?:BASE\s*<[^>]*>|PREFIX\s+[^:\s]*:\s*<[^>]*>)(?:\s|#[^\n]*)*)*([A-Za-z]+)", re.IGNORECASE
)


class ManifestError(ValueError):
    """A manifest says something the harness cannot turn into a case."""


class ResultFormat(StrEnum):
    """How the expected results are written, which also decides what to ask the endpoint for."""

    SRX = "srx"  # SPARQL Query Results XML
    SRJ = "srj"  # SPARQL 1.1 Query Results JSON
    TSV = "tsv"
    CSV = "csv"  # CSV text: strings only, compared with CSV's loss of term types
    RESULT_SET = "result-set"  # solutions or a boolean in the rs: vocabulary, as Turtle or RDF/XML
    GRAPH = "graph"  # the RDF graph a CONSTRUCT or DESCRIBE query returns


@dataclass(frozen=True)
class QueryCase:
    """A query-evaluation test: run `query` over `dataset`, compare with `result`."""

    iri: str
    name: str
    folder: str
    test_type: str  # local name: QueryEvaluationTest or CSVResultFormatTest
    approval: str | None  # dawgt:approval local name (Approved, Proposed, ...); None when unset
    requires: tuple[str, ...]  # mf:requires IRIs (none in the SPARQL 1.1 evaluation folders)
    query: DataFile
    dataset: Dataset
    result: DataFile
    result_format: ResultFormat

    @property
    def id(self) -> str:
        return f"{self.folder}/{local_name(self.iri)}"


@dataclass(frozen=True)
class Skipped:
    """A manifest entry this harness does not run, and why."""

    iri: str
    folder: str
    test_type: str
    reason: str

    @property
    def id(self) -> str:
        return f"{self.folder}/{local_name(self.iri)}"


@dataclass(frozen=True)
class HttpRequest:
    """One request of a protocol test and what its response must be."""

    method: str
    target: str  # ht:absolutePath without the manifest's `/sparql/` prefix, e.g. "?query=ASK%20%7B%7D"
    headers: tuple[tuple[str, str], ...]
    text: str | None  # the body as the manifest writes it (cnt:chars)
    encoding: str  # and how it is encoded on the wire (cnt:characterEncoding)
    expected_status: frozenset[int]  # status classes: {2, 3} means 2xx or 3xx
    expected_format: str | None  # "boolean", "tabular" or "RDF"
    expected_boolean: bool | None

    @property
    def content_type(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "content-type"), None)

    @property
    def body(self) -> bytes | None:
        return self.text.encode(self.encoding) if self.text is not None else None

    @property
    def media_type(self) -> str:
        return (self.content_type or "").split(";")[0].strip().lower()

    @property
    def is_update(self) -> bool:
        """An update operation, whatever the request's mistakes: by media type, by an update
        parameter in the URL or a form body, or by a direct body that is not a query."""
        if self.media_type == UPDATE_MEDIA_TYPE:
            return True
        parameters = parse_qsl(urlsplit(self.target).query)
        text = self.text
        form = parse_qsl(text) if text is not None and self.media_type in ("", FORM_MEDIA_TYPE) else []
        if any(name in UPDATE_PARAMETERS for name, _ in parameters + form):
            return True
        direct = text is not None and self.media_type != FORM_MEDIA_TYPE and not form
        return direct and not is_query(text or "")


@dataclass(frozen=True)
class ProtocolCase:
    """A SPARQL Protocol test: requests sent in order over `dataset`."""

    iri: str
    name: str
    approval: str | None
    dataset: Dataset
    requests: tuple[HttpRequest, ...]

    @property
    def id(self) -> str:
        return f"protocol/{local_name(self.iri)}"

    @property
    def read_only(self) -> bool:
        return not any(request.is_update for request in self.requests)


def is_query(text: str) -> bool:
    """Whether SPARQL text is a query (SELECT, ASK, CONSTRUCT, DESCRIBE) rather than an update."""
    found = FIRST_KEYWORD.match(text)
    return found is not None and found.group(1).upper() in QUERY_FORMS


def local_name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class Manifest:
    """One folder's manifest.ttl, parsed with its public IRI as the base."""

    def __init__(self, suites: Path, folder: str) -> None:
        self.folder = folder
        self.directory = suites / folder
        self.base = f"{PUBLIC_BASE}{folder}/"
        self.iri = URIRef(self.base + "manifest.ttl")
        self.graph = Graph().parse(self.directory / "manifest.ttl", format="turtle", publicID=str(self.iri))

    def entries(self) -> list[URIRef]:
        """The tests the manifest lists, in its order (only listed entries are tests)."""
        head = self.required(self.iri, MF.entries)
        return [URIRef(str(entry)) for entry in Collection(self.graph, head)]

    def required(self, subject: Node, predicate: URIRef) -> Node:
        """The one value the manifest must give, or a ManifestError naming what is missing."""
        value = self.graph.value(subject, predicate)
        if value is None:
            raise ManifestError(f"{self.folder}/manifest.ttl: {subject} has no {predicate}")
        return value

    def file(self, iri: Node) -> DataFile:
        """The local file behind a public IRI of this folder."""
        text = str(iri)
        if not text.startswith(self.base):
            raise ManifestError(f"{text} is not a file of {self.folder}/")
        return DataFile(self.directory / text[len(self.base) :], text)

    def approval(self, entry: URIRef) -> str | None:
        value = self.graph.value(entry, DAWGT.approval)
        return local_name(str(value)) if value is not None else None

    def name(self, entry: URIRef) -> str:
        return str(self.graph.value(entry, MF.name) or local_name(str(entry)))

    def named_graph(self, node: Node) -> tuple[str, DataFile]:
        """A graphData value: a file named by its own IRI, or `[ qt:graph <file> ; rdfs:label "name" ]`."""
        if isinstance(node, URIRef):
            return str(node), self.file(node)
        graph = self.graph.value(node, QT.graph) or self.graph.value(node, UT.graph)
        label = self.graph.value(node, RDFS.label)
        if graph is None:
            raise ManifestError(f"graph data without a file in {self.folder}/manifest.ttl")
        return str(label or graph), self.file(graph)


def evaluation_entries(suites: Path, folders: tuple[str, ...]) -> list[QueryCase | Skipped]:
    """Every listed entry of the folders' manifests: a case to run, or a skip with its reason."""
    found: list[QueryCase | Skipped] = []
    for folder in folders:
        manifest = Manifest(suites, folder)
        found += [_evaluation_entry(manifest, entry) for entry in manifest.entries()]
    return found


def _evaluation_entry(manifest: Manifest, entry: URIRef) -> QueryCase | Skipped:
    test_type = manifest.graph.value(entry, RDF.type)
    kind = local_name(str(test_type))
    if test_type not in EVALUATION_TYPES:
        reason = f"mf:{kind} is not a query-evaluation test (no dataset and no results to compare)"
        return Skipped(str(entry), manifest.folder, kind, reason)
    action = manifest.required(entry, MF.action)
    result = manifest.required(entry, MF.result)
    default = [manifest.file(data) for data in manifest.graph.objects(action, QT.data)]
    named = dict(manifest.named_graph(node) for node in manifest.graph.objects(action, QT.graphData))
    result_file = manifest.file(result)
    return QueryCase(
        iri=str(entry),
        name=manifest.name(entry),
        folder=manifest.folder,
        test_type=kind,
        approval=manifest.approval(entry),
        requires=tuple(sorted(str(value) for value in manifest.graph.objects(entry, MF.requires))),
        query=manifest.file(manifest.required(action, QT.query)),
        dataset=Dataset.of(default, named),
        result=result_file,
        result_format=result_format(result_file),
    )


def result_format(result: DataFile) -> ResultFormat:
    """The format of an expected-results file; RDF files are either an rs:ResultSet or a graph."""
    by_suffix = {".srx": ResultFormat.SRX, ".srj": ResultFormat.SRJ, ".tsv": ResultFormat.TSV, ".csv": ResultFormat.CSV}
    if result.path.suffix in by_suffix:
        return by_suffix[result.path.suffix]
    a, result_set = ox.NamedNode(str(RDF.type)), ox.NamedNode(RS + "ResultSet")
    if any(triple.predicate == a and triple.object == result_set for triple in result.triples()):
        return ResultFormat.RESULT_SET
    return ResultFormat.GRAPH


def protocol_cases(suites: Path, folder: str = "protocol") -> list[ProtocolCase]:
    """Every listed test of the protocol manifest, update operations included (see `read_only`)."""
    manifest = Manifest(suites, folder)
    return [_protocol_case(manifest, entry) for entry in manifest.entries()]


def _protocol_case(manifest: Manifest, entry: URIRef) -> ProtocolCase:
    if manifest.graph.value(entry, RDF.type) != MF.ProtocolTest:
        raise ManifestError(f"{entry} is not an mf:ProtocolTest")
    named = dict(manifest.named_graph(node) for node in manifest.graph.objects(entry, UT.graphData))
    action = manifest.required(entry, MF.action)
    requests = Collection(manifest.graph, manifest.required(action, HT.requests))
    return ProtocolCase(
        iri=str(entry),
        name=manifest.name(entry),
        approval=manifest.approval(entry),
        dataset=Dataset.of([], named),
        requests=tuple(_request(manifest.graph, node) for node in requests),
    )


def _request(graph: Graph, node: Node) -> HttpRequest:
    path = str(graph.value(node, HT.absolutePath))
    if not path.startswith("/sparql/"):
        raise ManifestError(f"request path {path} does not start with /sparql/")
    response = graph.value(node, HT.resp)
    body = graph.value(node, HT.body)
    boolean = graph.value(response, MF.expectedBoolean)
    expected_format = graph.value(response, MF.expectedFormat)
    return HttpRequest(
        method=str(graph.value(node, HT.methodName)),
        target=path.removeprefix("/sparql/"),
        headers=_headers(graph, graph.value(node, HT.headers)),
        text=str(graph.value(body, CNT.chars)) if body is not None else None,
        encoding=str(graph.value(body, CNT.characterEncoding) or "UTF-8"),
        expected_status=frozenset(_status_class(code) for code in graph.objects(response, MF.expectedStatus)),
        expected_format=str(expected_format) if expected_format is not None else None,
        expected_boolean=bool(boolean.toPython()) if isinstance(boolean, Literal) else None,
    )


def _status_class(code: Node) -> int:
    """hts:StatusCode2xx -> 2."""
    found = re.fullmatch(r"StatusCode(\d)xx", local_name(str(code)))
    if found is None:
        raise ManifestError(f"unknown status class {code}")
    return int(found.group(1))


def _headers(graph: Graph, head: Node | None) -> tuple[tuple[str, str], ...]:
    if head is None:
        return ()
    return tuple(
        (str(graph.value(header, HT.fieldName)), str(graph.value(header, HT.fieldValue)))
        for header in Collection(graph, head)
    )
