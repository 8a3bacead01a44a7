"""SHACL validation used by the `validate` command, POST /validate and the tests.

It follows pySHACL's contract (conforms, report graph, report text) and its exit codes: 0 the
data conform, 1 they do not (including RDF that does not parse), 2 the check could not run.

Submitted data are validated together with our ontology and published data, so that a
municipality's file may link to our IRIs (a sc:party that is our Shanghai) and still be checked
against the types those IRIs have; only the nodes that the submitted data describe are reported.
Parsing goes through pyoxigraph, whose errors carry a line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import rdflib
from rdflib.namespace import RDF, SH, XSD

from server import formats
from server.namespaces import prefixes
from server.settings import DEFAULT_BASE_IRI, Settings
from server.store import Dataset, rebase

RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
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


def parse_rdf(data: bytes, fmt: formats.Format, source: str, base_iri: str = DEFAULT_BASE_IRI) -> rdflib.Graph:
    """Parse bytes in an RDF format into an rdflib graph (named graphs are merged)."""
    if fmt.rdf is None:
        raise ValidationError(f"{source}: {fmt.label} is not an RDF format")
    graph = rdflib.Graph()
    try:
        for quad in ox.parse(data, format=fmt.rdf, base_iri=None):
            graph.add(tuple(to_rdflib(rebase(t, DEFAULT_BASE_IRI, base_iri)) for t in quad.triple))
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


def read_file(path: Path, base_iri: str = DEFAULT_BASE_IRI) -> rdflib.Graph:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValidationError(f"{path}: {error.strerror}") from error
    return parse_rdf(data, format_of_file(path), str(path), base_iri)


def read_files(
    paths: Iterable[Path], base_iri: str = DEFAULT_BASE_IRI
) -> tuple[rdflib.Graph, dict[rdflib.term.Node, str]]:
    """Merge files into one graph and remember which file first describes each subject."""
    merged, origin = rdflib.Graph(), {}
    for path in paths:
        graph = read_file(path, base_iri)
        for subject in graph.subjects(unique=True):
            origin.setdefault(subject, str(path))
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


@dataclass(frozen=True)
class Report:
    conforms: bool
    findings: tuple[Finding, ...]
    graph: rdflib.Graph = field(repr=False, compare=False)

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    def as_text(self) -> str:
        lines = [
            f"{f.file or '-'}: {f.severity}: {f.focus_node}"
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
        """The sh:ValidationReport, with skolemised blank nodes turned back into blank nodes."""
        return self.graph.de_skolemize().serialize(format="turtle")


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


SKOLEM_PREFIX = "https://rdflib.github.io/.well-known/genid/rdflib/"


def short(node: rdflib.term.Node | None, namespaces: rdflib.namespace.NamespaceManager) -> str | None:
    """A node as a person would write it: a prefixed name, a literal, or _:id for blank nodes."""
    if node is None:
        return None
    if isinstance(node, rdflib.URIRef) and str(node).startswith(SKOLEM_PREFIX):
        return f"_:{str(node)[len(SKOLEM_PREFIX) :]}"
    if isinstance(node, rdflib.URIRef):
        try:
            return node.n3(namespaces)
        except ValueError:
            return str(node)
    return node.n3() if isinstance(node, rdflib.Literal) else f"_:{node}"


def findings_of(report: rdflib.Graph, shapes: rdflib.Graph, origin: dict) -> Iterator[Finding]:
    namespaces = shapes.namespace_manager
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        source_shape = report.value(result, SH.sourceShape)
        value = report.value(result, SH.value)
        yield Finding(
            severity=str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
            focus_node=short(focus, namespaces) or "",
            result_path=short(report.value(result, SH.resultPath), namespaces),
            value=None if value == focus else short(value, namespaces),
            message=str(report.value(result, SH.resultMessage) or ""),
            source_shape=short(source_shape, namespaces) or "",
            node_shape=short(owning_node_shape(shapes, source_shape), namespaces) or "",
            constraint=short(report.value(result, SH.sourceConstraintComponent), namespaces) or "",
            file=origin.get(focus),
        )


# --- The validator ------------------------------------------------------------------------


class Validator:
    """Checks RDF against the shapes, in the context of our ontology and published data."""

    def __init__(self, shapes: rdflib.Graph, context: rdflib.Graph, context_origin: dict | None = None) -> None:
        self.shapes = shapes
        self.context = context
        self.context_origin = context_origin or {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Validator:
        dataset = Dataset.from_settings(settings)
        shapes, _ = read_files(sorted(settings.shapes_dir.glob("*.ttl")), settings.base_iri)
        context, origin = read_files((f.path for f in dataset.files), settings.base_iri)
        for prefix, namespace in prefixes(settings.base_iri).items():
            shapes.bind(prefix, namespace, override=True, replace=True)
        return cls(shapes, context, origin)

    def _run(self, graph: rdflib.Graph, focus: list | None, origin: dict) -> Report:
        conforms, report_graph, _ = pyshacl.validate(
            graph,
            shacl_graph=self.shapes,
            inference="none",
            advanced=True,
            allow_warnings=True,
            focus_nodes=focus,
        )
        ranked = sorted(
            findings_of(report_graph, self.shapes, origin),
            key=lambda f: (
                SEVERITY_ORDER.get(f.severity, 9),
                f.file or "",
                f.focus_node,
                f.result_path or "",
                f.message,
            ),
        )
        return Report(bool(conforms), tuple(ranked), report_graph)

    def validate_published(self) -> Report:
        """Check our own ontology and data, every node of them."""
        return self._run(self.context, None, self.context_origin)

    def validate(self, data: rdflib.Graph, origin: dict | None = None) -> Report:
        """Check submitted data; only the nodes it describes are reported on.

        Blank nodes are skolemised first, because pySHACL takes focus nodes only as IRIs.
        """
        skolemised = data.skolemize()
        origin = {(n.skolemize() if isinstance(n, rdflib.BNode) else n): f for n, f in (origin or {}).items()}
        focus = sorted(set(skolemised.subjects()))
        if not focus:
            return Report(True, (), rdflib.Graph())
        return self._run(self.context + skolemised, focus, origin)


def check_published_data(settings: Settings) -> Report | None:
    """Validate the published data once per data version; None when this version passed before.

    The outcome is remembered in the cache directory, so restarts of an unchanged checkout do not
    pay for a full SHACL run.
    """
    marker = settings.cache_dir / f"validated-{Dataset.from_settings(settings).version}.json"
    if marker.exists():
        return None
    report = Validator.from_settings(settings).validate_published()
    if report.conforms:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(report.as_json(), encoding="utf-8")
    return report
