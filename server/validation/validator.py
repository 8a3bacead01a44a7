"""SHACL validation used by the `validate` command, POST /validate and the tests.

It follows pySHACL's contract (conforms, report graph, report text) and its exit codes: 0 the
data conform, 1 they do not (including RDF that does not parse), 2 the check could not run.

Submitted data are validated together with our ontology and published data, so that a
municipality's file may link to our IRIs (a sc:party that is our Shanghai) and still be checked
against the types those IRIs have; only the nodes that the submitted data describe are reported.
Parsing goes through pyoxigraph, whose errors carry a line and column; in the formats that are
written line by line (Turtle, TriG, N-Triples, N-Quads, N3) the parser is fed a line at a time,
so that every node is known by the line where it is first described and every problem carries it.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, RDFS, SH, XSD

from server import formats
from server.namespaces import prefixes
from server.query.engine import QueryEngine, select
from server.query.local import LocalEngine
from server.settings import DEFAULT_BASE_IRI, Settings
from server.store.build import open_store, rebase
from server.store.dataset import Dataset
from server.store.sparql_text import chunks, values_clause

if TYPE_CHECKING:
    from rdflib.plugins.sparql.sparql import Query

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


class ValidationError(Exception):
    """The check could not run (exit code 2): a missing file, an unknown format."""


@dataclass(frozen=True)
class RdfSyntaxError(Exception):
    """Input that is not RDF in the format it claims to be, with where the parser stopped."""

    source: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(n) for n in (self.line, self.column) if n is not None)
        return f"{self.source}:{where}: {self.message}" if where else f"{self.source}: {self.message}"


# --- Reading RDF --------------------------------------------------------------------------


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> rdflib.term.Node:
    """Convert a pyoxigraph term; plain literals stay plain so that rdflib compares them right."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return rdflib.Literal(term.value, datatype=None if datatype == str(XSD.string) else rdflib.URIRef(datatype))


# The formats written line by line, whose statements can be traced to the line they are on.
LINE_FORMATS = ("turtle", "trig", "ntriples", "nquads", "n3")


class LineReader(io.RawIOBase):
    """Bytes handed to the parser one line at a time, so that what it has read says where it is."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.lines = data.splitlines(keepends=True)
        self.line = 0  # the number of the last line handed over

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.line >= len(self.lines):
            return 0
        chunk = self.lines[self.line]
        if len(chunk) > len(buffer):  # a line longer than the parser's buffer: hand it over in parts
            buffer[:] = chunk[: len(buffer)]
            self.lines[self.line] = chunk[len(buffer) :]
            return len(buffer)
        self.line += 1
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass
class Positions:
    """Where things are in a submission: the line on which each subject is first described, and
    on which each IRI is first used (in any place)."""

    subjects: dict[rdflib.term.Node, int] = field(default_factory=dict)
    terms: dict[str, int] = field(default_factory=dict)

    def of(self, node: rdflib.term.Node | None) -> int | None:
        if node is None:
            return None
        return self.subjects.get(node) or (self.terms.get(str(node)) if isinstance(node, rdflib.URIRef) else None)


def parse_rdf(
    data: bytes,
    fmt: formats.Format,
    source: str,
    base_iri: str = DEFAULT_BASE_IRI,
    positions: Positions | None = None,
) -> rdflib.Graph:
    """Parse bytes in an RDF format into an rdflib graph (named graphs are merged); with
    `positions`, note where each node is in formats written line by line."""
    if fmt.rdf is None:
        raise ValidationError(f"{source}: {fmt.label} is not an RDF format")
    graph = rdflib.Graph()
    reader = LineReader(data) if positions is not None and fmt.key in LINE_FORMATS else None
    try:
        for quad in ox.parse(reader if reader is not None else data, format=fmt.rdf, base_iri=None):
            triple = tuple(to_rdflib(rebase(t, DEFAULT_BASE_IRI, base_iri)) for t in quad.triple)
            graph.add(triple)
            if reader is not None:
                positions.subjects.setdefault(triple[0], reader.line)
                for term in triple:
                    if isinstance(term, rdflib.URIRef):
                        positions.terms.setdefault(str(term), reader.line)
    except SyntaxError as error:
        raise RdfSyntaxError(source, parser_message(error.msg), error.lineno, error.offset) from error
    except (ValueError, UnicodeDecodeError) as error:
        raise RdfSyntaxError(source, str(error)) from error
    return graph


def parser_message(message: str) -> str:
    """pyoxigraph's message without the position it repeats ('Parser error at line 3 ...: ')."""
    if message.startswith("Parser error") and ": " in message:
        message = message.split(": ", 1)[1]
    return message.split(" (line")[0]


def format_of_file(path: Path) -> formats.Format:
    fmt = next(
        (f for f in formats.rdf_input_formats() if f.extension == path.suffix.lower().lstrip(".")),
        None,
    )
    if fmt is None:
        known = ", ".join(f".{f.extension}" for f in formats.rdf_input_formats())
        raise ValidationError(f"{path}: unknown RDF file extension (expected one of {known})")
    return fmt


def read_file(path: Path, base_iri: str = DEFAULT_BASE_IRI, positions: Positions | None = None) -> rdflib.Graph:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValidationError(f"{path}: {error.strerror}") from error
    return parse_rdf(data, format_of_file(path), str(path), base_iri, positions)


def read_files(
    paths: Iterable[Path], base_iri: str = DEFAULT_BASE_IRI, positions: Positions | None = None
) -> tuple[rdflib.Graph, dict[rdflib.term.Node, str]]:
    """Merge files into one graph and remember which file first describes each subject (and, with
    `positions`, on which line)."""
    merged, origin = rdflib.Graph(), {}
    for path in paths:
        found = Positions() if positions is not None else None
        graph = read_file(path, base_iri, found)
        for subject in graph.subjects(unique=True):
            if subject not in origin:
                origin[subject] = str(path)
                if found is not None and subject in found.subjects:
                    positions.subjects[subject] = found.subjects[subject]
        if found is not None:
            for term, line in found.terms.items():
                positions.terms.setdefault(term, line)
        merged += graph
    return merged, origin


# --- Reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One validation result, in the terms a person fixing the data needs."""

    severity: str
    focus_node: str
    result_path: str | None
    value: str | None
    message: str
    source_shape: str
    node_shape: str
    constraint: str
    file: str | None = None
    line: int | None = None  # where the focus node is first described, in formats written line by line


@dataclass(frozen=True)
class Report:
    conforms: bool
    findings: tuple[Finding, ...]
    graph: rdflib.Graph = field(repr=False, compare=False)

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    def as_text(self) -> str:
        lines = [
            f"{f.file or '-'}{f':{f.line}' if f.line else ''}: {f.severity}: {f.focus_node}"
            + (f" {f.result_path}" if f.result_path else "")
            + (f" = {f.value}" if f.value else "")
            + f"\n    {f.message}\n    (shape {f.node_shape})"
            for f in self.findings
        ]
        verdict = "Conforms" if self.conforms else "Does not conform"
        summary = f"{verdict}: {self.count('Violation')} violation(s), {self.count('Warning')} warning(s)."
        return "\n".join([*lines, summary]) + "\n"

    def as_dict(self) -> dict:
        return {
            "conforms": self.conforms,
            "violations": self.count("Violation"),
            "warnings": self.count("Warning"),
            "results": [asdict(f) for f in self.findings],
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2) + "\n"

    def as_turtle(self) -> str:
        """The report as a SHACL validation report (sh:ValidationReport) in Turtle."""
        return self.graph.serialize(format="turtle")


def owning_node_shape(shapes: rdflib.Graph, shape: rdflib.term.Node) -> rdflib.term.Node:
    """The named node shape a result's source shape belongs to (itself if it is one).

    Shared property shapes (used by several node shapes) are their own owners.
    """
    seen, frontier = set(), [shape]
    while frontier:
        node = frontier.pop(0)
        if (node, RDF.type, SH.NodeShape) in shapes and isinstance(node, rdflib.URIRef):
            return node
        parents = set(shapes.subjects(None, node)) - seen
        if len(parents) > 1 and isinstance(node, rdflib.URIRef):
            return node
        seen |= parents
        frontier.extend(parents)
    return shape


def short(node: rdflib.term.Node | None, namespaces: rdflib.namespace.NamespaceManager) -> str | None:
    """A node as a person would write it: a prefixed name, a literal, or _:id for blank nodes."""
    if node is None:
        return None
    if isinstance(node, rdflib.URIRef):
        try:
            return node.n3(namespaces)
        except ValueError:
            return str(node)
    return node.n3() if isinstance(node, rdflib.Literal) else f"_:{node}"


def path_text(report: rdflib.Graph, path: rdflib.term.Node | None, namespaces) -> str | None:
    """A SHACL property path as people write it: 'sc:party', 'sc:organiser | sc:host', '^org:member'."""
    if path is None or not isinstance(path, rdflib.BNode):
        return short(path, namespaces)
    alternatives = report.value(path, SH.alternativePath)
    if alternatives is not None:
        return " | ".join(path_text(report, p, namespaces) for p in rdflib.collection.Collection(report, alternatives))
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + path_text(report, inverse, namespaces)
    if report.value(path, RDF.first) is not None:
        return "/".join(path_text(report, p, namespaces) for p in rdflib.collection.Collection(report, path))
    for modifier, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = report.value(path, modifier)
        if inner is not None:
            return f"({path_text(report, inner, namespaces)}){mark}"
    return short(path, namespaces)


def findings_of(
    report: rdflib.Graph, shapes: rdflib.Graph, origin: dict, positions: Positions | None = None
) -> Iterator[Finding]:
    namespaces = shapes.namespace_manager
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        source_shape = report.value(result, SH.sourceShape)
        value = report.value(result, SH.value)
        yield Finding(
            severity=str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
            focus_node=short(focus, namespaces) or "",
            result_path=path_text(report, report.value(result, SH.resultPath), namespaces),
            value=None if value == focus else short(value, namespaces),
            message=str(report.value(result, SH.resultMessage) or ""),
            source_shape=short(source_shape, namespaces) or "",
            node_shape=short(owning_node_shape(shapes, source_shape), namespaces) or "",
            constraint=short(report.value(result, SH.sourceConstraintComponent), namespaces) or "",
            file=origin.get(focus),
            line=positions.of(focus) if positions is not None else None,
        )


def read_shapes(settings: Settings) -> rdflib.Graph:
    """The shapes graph, with the project's prefixes bound so reports use readable names."""
    shapes, _ = read_files(sorted(settings.shapes_dir.glob("*.ttl")), settings.base_iri)
    for prefix, namespace in prefixes(settings.base_iri).items():
        shapes.bind(prefix, namespace, override=True, replace=True)
    return shapes


class Shapes:
    """The published shapes: what /shapes documents and the validation form explains, read when
    first asked for (parsing them is not worth delaying the server's start)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def graph(self) -> rdflib.Graph:
        return read_shapes(self.settings)


# --- The validator ------------------------------------------------------------------------

TypeResolver = Callable[[Iterable[rdflib.URIRef]], Iterable[tuple[rdflib.URIRef, rdflib.URIRef]]]
TYPE_LOOKUP_BATCH = 500


async def types_of(engine: QueryEngine, iris: Iterable[str]) -> list[tuple[str, str]]:
    """The rdf:type statements the published data make about some IRIs, a few hundred per query."""
    queries = [
        f"SELECT ?s ?type WHERE {{ {values_clause('s', batch)} ?s a ?type }}"
        for batch in chunks(sorted(set(iris)), TYPE_LOOKUP_BATCH)
    ]
    found = []
    for rows in await asyncio.gather(*(select(engine, query, 100_000) for query in queries)):
        found += [(s.value, cls.value) for s, cls in rows if isinstance(cls, ox.NamedNode)]
    return found


def class_hierarchy(ontology: rdflib.Graph) -> rdflib.Graph:
    """Only the rdfs:subClassOf axioms: all that sh:class needs besides the types themselves.

    Keeping concepts and labels out means none of them is validated again with every submission.
    """
    hierarchy = rdflib.Graph()
    for triple in ontology.triples((None, RDFS.subClassOf, None)):
        if isinstance(triple[2], rdflib.URIRef):
            hierarchy.add(triple)
    return hierarchy


def iris_in(graph: rdflib.Graph) -> set[rdflib.URIRef]:
    return {t for triple in graph for t in triple if isinstance(t, rdflib.URIRef)}


def result_closure(report: rdflib.Graph, node: rdflib.term.Node) -> Iterator[tuple]:
    """A validation result and what hangs off it in blank nodes (paths, nested details)."""
    for triple in report.triples((node, None, None)):
        yield triple
        if isinstance(triple[2], rdflib.BNode):
            yield from result_closure(report, triple[2])


@lru_cache(maxsize=512)
def prepared(text: str, namespaces: tuple[tuple[str, str], ...]) -> Query:
    # rdflib's SPARQL parser takes a quarter of a second to import: only validations need it.
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(text, initNs=dict(namespaces))


class PreparedQueryGraph(rdflib.Graph):
    """A view of a graph whose SPARQL queries are parsed once per text.

    pySHACL evaluates a SPARQL-based constraint with the same query text for every focus node
    (binding $this), and rdflib parses a text anew each time: parsing took most of a validation's
    time. A prepared query is what rdflib makes of the text before evaluating it (with the graph's
    prefixes, as Graph.query would use), so the answers are the same.
    """

    def query(self, query_object, *args, **kwargs):
        if isinstance(query_object, str) and not kwargs.get("initNs") and not kwargs.get("base"):
            namespaces = tuple(sorted((prefix, str(iri)) for prefix, iri in self.namespaces()))
            query_object = prepared(query_object, namespaces)
        return super().query(query_object, *args, **kwargs)


class Validator:
    """Checks RDF against the shapes.

    Our own data are checked as a whole. Submitted data are checked together with the class
    hierarchy of the ontology and the rdf:type of each published IRI (place, concept, ...) they
    mention, looked up in the store, so that `sc:party place:shanghai` is known to point to a
    city; the published data themselves are never loaded for this.
    """

    def __init__(
        self,
        shapes: rdflib.Graph,
        vocabulary: rdflib.Graph,
        resolve_types: TypeResolver,
        read_published: Callable[[], tuple[rdflib.Graph, dict]] | None = None,
    ) -> None:
        self.shapes = shapes
        self.vocabulary = vocabulary
        self.resolve_types = resolve_types
        self._read_published = read_published

    @classmethod
    def from_settings(cls, settings: Settings) -> Validator:
        """A validator for the CLI and tests: types are looked up in a store built from the files."""
        dataset = Dataset.from_settings(settings)
        shapes = read_shapes(settings)
        ontology, _ = read_files(sorted(settings.ontology_dir.glob("*.ttl")), settings.base_iri)
        vocabulary = class_hierarchy(ontology)
        engine: list[LocalEngine] = []

        def resolve(iris: Iterable[rdflib.URIRef]) -> list[tuple[rdflib.URIRef, rdflib.URIRef]]:
            if not engine:
                engine.append(LocalEngine(open_store(dataset, None), prefixes(settings.base_iri)))
            found = asyncio.run(types_of(engine[0], map(str, iris)))
            return [(rdflib.URIRef(s), rdflib.URIRef(cls)) for s, cls in found]

        def read_published() -> tuple[rdflib.Graph, dict]:
            return read_files((f.path for f in dataset.files), settings.base_iri)

        return cls(shapes, vocabulary, resolve, read_published)

    @cached_property
    def published(self) -> tuple[rdflib.Graph, dict]:
        """Our ontology and data as one graph, with the file that describes each subject."""
        if self._read_published is None:
            raise ValidationError("this validator has no access to the published files")
        return self._read_published()

    @property
    def context(self) -> rdflib.Graph:
        return self.published[0]

    def _run(self, graph: rdflib.Graph, origin: dict, keep: set | None, positions: Positions | None = None) -> Report:
        """Validate the whole graph (no focus nodes: pySHACL then skips nested shapes), report `keep`."""
        import pyshacl  # here: loading it takes a good part of a second, and only validation needs it

        _, full_report, _ = pyshacl.validate(
            PreparedQueryGraph(store=graph.store, identifier=graph.identifier),
            shacl_graph=self.shapes,
            inference="none",
            advanced=True,
            allow_warnings=True,
            inplace=True,
        )
        report = rdflib.Graph(namespace_manager=self.shapes.namespace_manager)
        root = rdflib.BNode()
        report.add((root, RDF.type, SH.ValidationReport))
        for result in full_report.subjects(RDF.type, SH.ValidationResult):
            if keep is None or full_report.value(result, SH.focusNode) in keep:
                report.add((root, SH.result, result))
                for triple in result_closure(full_report, result):
                    report.add(triple)
        findings = tuple(
            sorted(
                findings_of(report, self.shapes, origin, positions),
                key=lambda f: (
                    SEVERITY_ORDER.get(f.severity, 9),
                    f.file or "",
                    f.line or 0,
                    f.focus_node,
                    f.result_path or "",
                    f.message,
                ),
            )
        )
        conforms = not any(f.severity == "Violation" for f in findings)
        report.add((root, SH.conforms, rdflib.Literal(conforms)))
        return Report(conforms, findings, report)

    def validate_published(self) -> Report:
        """Check our own ontology and data, every node of them."""
        graph, origin = self.published
        return self._run(graph + rdflib.Graph(), origin, None)

    def validate(
        self,
        data: rdflib.Graph,
        origin: dict | None = None,
        types: Iterable[tuple[rdflib.URIRef, rdflib.URIRef]] | None = None,
        positions: Positions | None = None,
    ) -> Report:
        """Check submitted data; only the nodes it describes are reported on.

        `types` are the rdf:type statements of the published IRIs the data mention; without
        them they are looked up with the validator's resolver.
        """
        keep = set(data.subjects())
        if not keep:
            return Report(True, (), rdflib.Graph())
        graph = self.vocabulary + data
        for subject, cls in types if types is not None else self.resolve_types(iris_in(data)):
            graph.add((subject, RDF.type, cls))
        return self._run(graph, origin or {}, keep, positions)


def published_report_paths(settings: Settings, version: str) -> tuple[Path, Path]:
    """Where the report of one version of the published data is kept: Turtle and JSON."""
    directory = settings.cache_dir / "validation"
    return directory / f"{version}.ttl", directory / f"{version}.json"


def write_published_report(settings: Settings) -> Report:
    """Validate the published files and keep the report (Turtle and JSON) under their version."""
    version = Dataset.from_settings(settings).version
    report = Validator.from_settings(settings).validate_published()
    for path, text in zip(
        published_report_paths(settings, version), (report.as_turtle(), report.as_json()), strict=True
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        pending = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pending.write_text(text, encoding="utf-8")
        pending.replace(path)
    return report


def check_published_data(settings: Settings) -> Report | None:
    """Validate the published data once per data version; None when this version was checked before.

    The report is kept in the cache directory, so restarts of an unchanged checkout do not pay for
    a full SHACL run, and the server publishes the same report at /validation-report.
    """
    _, known = published_report_paths(settings, Dataset.from_settings(settings).version)
    if known.exists() and json.loads(known.read_text(encoding="utf-8"))["conforms"]:
        return None
    return write_published_report(settings)
