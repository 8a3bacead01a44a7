"""The ontology and the shapes as published vocabularies: /ontology and /shapes.

Their IRIs are documents (hash terms name what is in them), so they are served directly: HTML
documentation for people and the Turtle, JSON-LD, RDF/XML or N-Triples source for programs,
negotiated or as fixed variants (/ontology.ttl). /ontology/{version} is the version IRI of the
ontology and answers with the same document while that version is the current one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

import pyoxigraph as ox
import rdflib
from markupsafe import Markup, escape
from rdflib.namespace import OWL, RDF, RDFS, SH
from starlette.requests import Request
from starlette.responses import Response

from server import formats, uris
from server.labels import LANGUAGES, local_name
from server.namespaces import DCT, prefixes
from server.query.engine import DataVersion, construct
from server.query.results import serialise_triples
from server.uris import Iris
from server.validation.validator import Shapes
from server.web.errors import NotFound
from server.web.i18n import reader_language, word
from server.web.negotiation import negotiate
from server.web.represent import represent
from server.web.services import per_version, services

RDF_FORMATS = (formats.TURTLE, formats.HTML, formats.JSON_LD, formats.RDF_XML, formats.N_TRIPLES)


@dataclass
class Term:
    iri: str
    kind: str
    labels: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    equivalents: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return local_name(self.iri)

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.name

    def comment(self, language: str) -> str:
        return self.comments.get(language) or self.comments.get("en", "")


KINDS = {
    str(OWL.Class): "class",
    str(OWL.ObjectProperty): "property",
    str(OWL.DatatypeProperty): "property",
    str(RDFS.Datatype): "datatype",
}
CHARACTERISTICS = {
    str(OWL.SymmetricProperty): "symmetric",
    str(OWL.TransitiveProperty): "transitive",
    str(OWL.FunctionalProperty): "functional",
}


def ontology_terms(graph: rdflib.Graph, namespace: str) -> dict[str, Term]:
    """The classes, properties and datatypes of our namespace with everything the page shows."""
    terms: dict[str, Term] = {}
    for subject, kind in graph.subject_objects(RDF.type):
        if str(subject).startswith(namespace) and str(kind) in KINDS:
            terms.setdefault(str(subject), Term(str(subject), KINDS[str(kind)]))
    for iri, term in terms.items():
        node = rdflib.URIRef(iri)
        term.labels = {o.language or "": str(o) for o in graph.objects(node, RDFS.label)}
        term.comments = {o.language or "": str(o) for o in graph.objects(node, RDFS.comment)}
        parent_property = RDFS.subClassOf if term.kind == "class" else RDFS.subPropertyOf
        term.parents = sorted(str(o) for o in graph.objects(node, parent_property) if isinstance(o, rdflib.URIRef))
        term.equivalents = sorted(str(o) for o in graph.objects(node, OWL.equivalentProperty))
        term.domains = sorted(str(o) for o in graph.objects(node, RDFS.domain))
        term.ranges = sorted(str(o) for o in graph.objects(node, RDFS.range))
        term.characteristics = sorted(
            CHARACTERISTICS[str(k)] for k in graph.objects(node, RDF.type) if str(k) in CHARACTERISTICS
        )
    for iri, term in terms.items():
        for parent in term.parents:
            if parent in terms:
                terms[parent].children.append(iri)
    return terms


def hierarchy_svg(terms: dict[str, Term], language: str, name: str = "class hierarchy") -> Markup:
    """The class hierarchy as an SVG tree (drawn here: no script, every label escaped)."""
    classes = {iri: t for iri, t in terms.items() if t.kind == "class"}
    roots = sorted(
        (i for i, t in classes.items() if not any(p in classes for p in t.parents)), key=lambda i: classes[i].name
    )
    rows: list[tuple[str, int, int | None]] = []  # (iri, depth, parent row)

    def walk(iri: str, depth: int, parent: int | None) -> None:
        row = len(rows)
        rows.append((iri, depth, parent))
        for child in sorted(classes[iri].children, key=lambda c: classes[c].name):
            walk(child, depth + 1, row)

    for root in roots:
        walk(root, 0, None)
    step, indent, height, width = 26, 28, 20, 230
    parts = []
    for row, (iri, depth, parent) in enumerate(rows):
        x, y = 8 + depth * indent, 8 + row * step
        if parent is not None:
            parent_x, parent_y = 8 + (depth - 1) * indent + 10, 8 + parent * step + height
            parts.append(f'<path d="M{parent_x},{parent_y} V{y + height / 2} H{x}" class="edge"/>')
        parts.append(
            f'<a href="#{escape(classes[iri].name)}"><rect x="{x}" y="{y}" width="{width}" height="{height}" rx="3"/>'
            f'<text x="{x + 8}" y="{y + 14}"{label_language(classes[iri], language)}>'
            f"{escape(classes[iri].label(language))}</text></a>"
        )
    total_width = 8 + max((d for _, d, _ in rows), default=0) * indent + width + 8
    total_height = 8 + len(rows) * step
    return Markup(
        f'<svg class="hierarchy" viewBox="0 0 {total_width} {total_height}" '
        f'width="{total_width}" height="{total_height}" role="img" aria-label="{escape(name)}">'
        f"{''.join(parts)}</svg>"
    )


def label_language(term: Term, language: str) -> str:
    """A lang attribute for a term's label when it is not in the page's language (an English fallback)."""
    return "" if term.labels.get(language) else ' lang="en"'


async def ontology_triples(request: Request) -> list[ox.Triple]:
    """The triples of the ontology's named graph, from the store."""
    query = (
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{services(request).settings.iris.ontology_graph}> {{ ?s ?p ?o }} }}"
    )
    return await construct(services(request).engine, query, max_rows=1_000_000)


def to_rdflib(triples: list[ox.Triple]) -> rdflib.Graph:
    return rdflib.Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode(), format="nt")


async def vocabulary(request: Request, path: str, build_rdf, build_page) -> Response:
    """/ontology or /shapes: negotiated or a fixed variant (/ontology.ttl), documentation for people."""
    fmt = uris.VARIANT_EXTENSIONS.get(request.path_params.get("ext", "")) or negotiate(
        request.headers.get("accept"), RDF_FORMATS
    )
    language = reader_language(request)

    async def build(_: DataVersion) -> bytes | Response:
        return await build_page(language) if fmt is formats.HTML else await build_rdf(fmt)

    headers = {"Content-Location": f"{path}.{fmt.extension}", "Link": uris.alternate_links(path, RDF_FORMATS)}
    variant = f"{path.strip('/')}-{fmt.key}-{language}"
    return await represent(request, fmt, variant, build, vary="Accept, Accept-Language", headers=headers)


async def ontology(request: Request) -> Response:
    """GET /ontology[.ext] and the version IRI /ontology/{version}."""
    shared = services(request)
    iris = shared.settings.iris
    triples = await per_version(request, "ontology-triples", lambda: ontology_triples(request))
    graph = await per_version(request, "ontology-graph", lambda: _as_graph(triples))
    ontology_iri = rdflib.URIRef(iris.ontology)
    version = request.path_params.get("version")
    if version is not None and str(graph.value(ontology_iri, OWL.versionInfo)) != version:
        raise NotFound(f"Version {version} of the ontology is not the one published here.")

    async def build_rdf(fmt: formats.Format) -> bytes:
        return serialise_triples(triples, fmt, prefixes(iris.base))

    async def build_page(language: str) -> Response:
        context = ontology_page(graph, iris, language)
        return shared.templates.TemplateResponse(request, "ontology.html", context)

    return await vocabulary(request, "/ontology", build_rdf, build_page)


def ontology_page(graph: rdflib.Graph, iris: Iris, language: str) -> dict:
    """What the ontology's documentation shows, in the reader's language."""
    base, ontology_iri = iris.base, rdflib.URIRef(iris.ontology)
    terms = ontology_terms(graph, iris.ontology_namespace)
    return {
        "meta": {p: _literals(graph, ontology_iri, p) for p in ("title", "description", "created", "modified")},
        "version": str(graph.value(ontology_iri, OWL.versionInfo) or ""),
        "version_iri": str(graph.value(ontology_iri, OWL.versionIRI) or ""),
        "licence": str(graph.value(ontology_iri, rdflib.URIRef(DCT + "license")) or ""),
        "ontology_iri": str(ontology_iri),
        "classes": sorted((t for t in terms.values() if t.kind == "class"), key=lambda t: t.name),
        "properties": sorted((t for t in terms.values() if t.kind == "property"), key=lambda t: t.name),
        "datatypes": sorted((t for t in terms.values() if t.kind == "datatype"), key=lambda t: t.name),
        "terms": terms,
        "by_domain": term_index(terms),
        "diagram": hierarchy_svg(terms, language, word(language, "class_hierarchy")),
        "short": lambda iri: _short(iri, base),
        "href": lambda iri: uris.local_url(base, iri) or iri,
        "formats": RDF_FORMATS,
        "all_languages": LANGUAGES,
    }


async def _as_graph(triples: list[ox.Triple]) -> rdflib.Graph:
    return to_rdflib(triples)


def _literals(graph: rdflib.Graph, subject: rdflib.URIRef, name: str) -> dict[str, str]:
    predicate = rdflib.URIRef(DCT + name)
    return {o.language or "": str(o) for o in graph.objects(subject, predicate)}


def _short(iri: str, base: str) -> str:
    for prefix, namespace in prefixes(base).items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


# --- Shapes -----------------------------------------------------------------------------------


@dataclass
class ShapeView:
    name: str
    label: str
    description: str
    targets: list[str]
    severity: str
    rules: list[dict]


def describe_constraint(graph: rdflib.Graph, node: rdflib.term.Node, base: str, language: str = "en") -> str:
    """A property shape's constraints in a few words: 'exactly 2 · class sc:AdministrativeArea'."""
    say = partial(word, language)
    parts = []
    low, high = graph.value(node, SH.minCount), graph.value(node, SH.maxCount)
    if low is not None and high is not None and low == high:
        parts.append(say("rule_exactly", n=int(low)))
    else:
        if low is not None:
            parts.append(say("rule_at_least", n=int(low)))
        if high is not None:
            parts.append(say("rule_none") if int(high) == 0 else say("rule_at_most", n=int(high)))
    for name in ("class", "datatype", "nodeKind", "pattern", "minInclusive", "maxInclusive"):
        for value in graph.objects(node, SH[name]):
            parts.append(f"{say('rule_' + name)} {_short(str(value), base)}")
    if graph.value(node, SH.uniqueLang):
        parts.append(say("rule_one_per_language"))
    if graph.value(node, SH["or"]) is not None:
        parts.append(say("rule_one_of_several"))
    return " · ".join(parts)


def path_text(graph: rdflib.Graph, path: rdflib.term.Node, base: str) -> str:
    if isinstance(path, rdflib.URIRef):
        return _short(str(path), base)
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return " | ".join(_short(str(p), base) for p in rdflib.collection.Collection(graph, alternatives))
    return "(path)"


def shape_views(graph: rdflib.Graph, base: str, language: str = "en") -> list[ShapeView]:
    """The node shapes and their rules. A rule gets an anchor (for links from validation reports)
    only when it is a named property shape, and only where it first appears: shared property
    shapes are used by several node shapes, and an id is unique in a page."""
    views, anchored = [], set()
    for shape in sorted(set(graph.subjects(RDF.type, SH.NodeShape)), key=str):
        if not isinstance(shape, rdflib.URIRef):
            continue
        targets = [_short(str(t), base) for p in (SH.targetClass, SH.targetSubjectsOf) for t in graph.objects(shape, p)]
        rules = []
        for prop in graph.objects(shape, SH.property):
            path = graph.value(prop, SH.path)
            rules.append(
                {
                    "path": path_text(graph, path, base) if path is not None else "",
                    "constraint": describe_constraint(graph, prop, base, language),
                    "message": str(graph.value(prop, SH.message) or ""),
                    "name": anchor(prop, anchored),
                }
            )
        for constraint in graph.objects(shape, SH.sparql):
            rules.append(
                {
                    "path": "",
                    "constraint": "SPARQL",
                    "message": str(graph.value(constraint, SH.message) or ""),
                    "name": anchor(constraint, anchored),
                }
            )
        severity = graph.value(shape, SH.severity)
        views.append(
            ShapeView(
                local_name(str(shape)),
                str(graph.value(shape, RDFS.label) or local_name(str(shape))),
                str(graph.value(shape, SH.description) or ""),
                targets,
                local_name(str(severity)) if severity else "Violation",
                rules,
            )
        )
    return views


def anchor(node: rdflib.term.Node, taken: set[str]) -> str:
    """The id of a rule's row: the local name of a named shape the first time it appears, else none."""
    if not isinstance(node, rdflib.URIRef):
        return ""
    name = local_name(str(node))
    if not name or name in taken:
        return ""
    taken.add(name)
    return name


async def shapes(request: Request) -> Response:
    """GET /shapes[.ext]: the SHACL shapes, documented for people and as RDF for programs."""
    shared = services(request)
    iris = shared.settings.iris
    graph = shared.get(Shapes).graph

    async def build_rdf(fmt: formats.Format) -> bytes:
        triples = list(ox.parse(graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES))
        return serialise_triples(triples, fmt, prefixes(iris.base))

    async def build_page(language: str) -> Response:
        context = {"shapes": shape_views(graph, iris.base, language), "formats": RDF_FORMATS, "shapes_iri": iris.shapes}
        return shared.templates.TemplateResponse(request, "shapes.html", context)

    return await vocabulary(request, "/shapes", build_rdf, build_page)


def term_index(terms: dict[str, Term]) -> dict[str, list[str]]:
    """Properties by the class they apply to (their domain), for the class entries."""
    index: dict[str, list[str]] = defaultdict(list)
    for iri, term in terms.items():
        for domain in term.domains:
            index[domain].append(iri)
    return index
