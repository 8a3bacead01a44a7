"""What an HTML page shows, built from a description: plain data for the templates.

Templates only lay out what is prepared here (Jinja escapes every value), so that pages for
people and the RDF for programs are built from the same description and cannot disagree.

Every fact carries its sources, numbered in order of first use; a statement of an editorial graph
that draws on several sources (the comparison of conflicting claims) cites the sources of the
claims it is about (their dct:source), not every source of the graph. Names and values say which
language they are in, so a name that falls back to another language is marked as such. Numbers,
dates and durations are written in the reader's locale (server.web.formatting). Disputes are shown
wherever the disputed fact appears (server.linked.claims).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from server import uris
from server.labels import ALTERNATIVE_PROPERTIES, LABEL_PROPERTIES, Labels, local_name
from server.linked import claims
from server.linked.resources import Description, Statement
from server.namespaces import OWL, RDF_TYPE, SKOS, XSD
from server.uris import Iris
from server.web import formatting

IDENTITY_LINKS = (OWL + "sameAs", SKOS + "closeMatch")
# Shown first, in this order, when a resource has them; the rest follow by label.
LEADING = (
    "party",
    "agreementType",
    "agreementStatus",
    "signingDate",
    "startDate",
    "endDate",
    "duration",
    "dateNote",
    "observedEntity",
    "measure",
    "value",
    "valueQualifier",
    "unit",
    "observationDate",
    "location",
    "partOf",
    "governs",
    "member",
    "organization",
    "role",
    "roleTitle",
    "memberDuring",
)
NAME_PROPERTIES = {*LABEL_PROPERTIES, *ALTERNATIVE_PROPERTIES}
HIDDEN = {RDF_TYPE.value}
NO_LANGUAGE = "zxx"  # BCP 47: no linguistic content (an identifier shown for want of a name)


@dataclass(frozen=True)
class SourceView:
    """A source as cited on a page: numbered in order of first use, listed at the end."""

    number: int
    label: str
    url: str | None
    derived: bool = False
    language: str | None = None


@dataclass(frozen=True)
class DisputeMark:
    """A sign beside a value that a disputed claim is about, linking to the page's disputes."""

    claim: str
    label: str


@dataclass
class ValueView:
    text: str
    url: str | None = None
    external: bool = False
    iri: str | None = None
    language: str | None = None  # the language of the text (a literal's tag, or the chosen name's)
    datatype: str | None = None
    sources: list[SourceView] = field(default_factory=list)
    nested: list[GroupView] = field(default_factory=list)
    raw: str | None = None  # the value as written, when the page shows it formatted
    disputes: list[DisputeMark] = field(default_factory=list)


@dataclass
class GroupView:
    label: str
    url: str | None
    values: list[ValueView]
    key: str = ""
    language: str | None = None


@dataclass(frozen=True)
class NameView:
    language: str
    text: str
    kind: str  # "pref" or "alt"
    sources: tuple[SourceView, ...] = ()


@dataclass
class PageContext:
    """Everything a resource page shows, already in the reader's language."""

    iri: str
    title: str
    title_language: str | None
    types: list[ValueView]
    names: list[NameView]
    groups: list[GroupView]
    incoming: list[GroupView]
    conflicts: list[dict]
    disputes: list[dict]
    figures: list[dict]
    points: list[dict]
    unmapped: list[dict]
    timeline: list[dict]
    sources: list[SourceView]
    jsonld: str
    graph_query: str | None = None


class Presenter:
    """Turns terms of one description into views in one language."""

    def __init__(self, description: Description, base_iri: str, language: str, words: dict[str, str]) -> None:
        self.d = description
        self.base = base_iri
        self.iris = Iris(base_iri)
        self.language = language
        self.words = words
        self.labels: Labels = description.facts.labels
        self.derived_graph = self.iris.derived_graph
        self.cited: dict[str, SourceView] = {}
        self.open: set[ox.NamedNode | ox.BlankNode] = set()
        self.marks = self._dispute_marks()
        for statement in (*description.all_statements(), *(s for c in description.conflicts.values() for s in c)):
            self._cite(statement)

    # Sources -------------------------------------------------------------------------------------

    def cite(self, key: str) -> SourceView:
        """The view of one source (or of a graph without a recorded source), numbered on first use."""
        if key not in self.cited:
            derived = key == self.derived_graph
            if derived:
                label, language = self.words["derived"], self.language
            elif key.startswith(self.iris.graph("")) and not self.labels.known(key):
                label, language = f"{self.words['graph']} {local_name(key)}", None
            else:
                label, language = self.labels.choose(key, self.language)
            url = uris.local_url(self.base, key) or (key if key.startswith(("http://", "https://")) else None)
            self.cited[key] = SourceView(len(self.cited) + 1, label, url, derived, language)
        return self.cited[key]

    def sources_of_graph(self, graph: str, statement: Statement) -> list[str]:
        """Who says a statement of a graph: the graph's source; for a graph that draws on several
        sources (an editorial comparison), those of them the statement is about (the sources of
        its subject and object, of the claims its subject conflicts with, or they themselves)."""
        if graph == self.derived_graph:
            return [graph]
        recorded = self.d.sources.get(graph) or [graph]
        if len(recorded) < 2:
            return recorded
        about = [t.value for t in (statement.subject, statement.object) if isinstance(t, ox.NamedNode)]
        claims = set(about) | {o for a in about for o in self.conflicting(a)}
        wanted = {s for c in claims for s in self.d.claim_sources.get(c, ())} | set(about)
        narrowed = [s for s in recorded if s in wanted]
        return narrowed or recorded

    def conflicting(self, claim: str) -> set[str]:
        found = set(self.d.conflicts) if claim == self.d.iri else set()
        found |= {o for dispute in self.d.disputes if dispute.claim == claim for o in dispute.others}
        return found

    def _cite(self, statement: Statement) -> list[SourceView]:
        """The sources of a statement, numbering each the first time it is cited."""
        views = []
        for graph in statement.graphs:
            for key in self.sources_of_graph(graph, statement):
                view = self.cite(key)
                if view not in views:
                    views.append(view)
        return views

    def all_sources(self) -> list[SourceView]:
        return sorted(self.cited.values(), key=lambda v: v.number)

    # Values --------------------------------------------------------------------------------------

    def link(self, iri: str) -> tuple[str | None, bool]:
        local = uris.local_url(self.base, iri)
        return (local, False) if local else (iri if iri.startswith(("http://", "https://")) else None, True)

    def name(self, iri: str) -> tuple[str, str | None]:
        """A resource's name in the reader's language, or another, and which language that is;
        for a resource without a name, the end of its IRI, marked as no language at all ("zxx")."""
        name, language = self.labels.choose(iri, self.language)
        return name, NO_LANGUAGE if language is None else language

    def value(
        self, term: ox.NamedNode | ox.BlankNode | ox.Literal, statement: Statement | None = None, *, expand: bool = True
    ) -> ValueView:
        sources = self._cite(statement) if statement else []
        if isinstance(term, ox.NamedNode):
            url, external = self.link(term.value)
            label, language = self.name(term.value)
            nested = self.in_place(term) if expand else []
            marks = self.marks.get(term.value, [])
            return ValueView(label, url, external, term.value, language, sources=sources, nested=nested, disputes=marks)
        if isinstance(term, ox.BlankNode):
            return ValueView("", sources=sources, nested=self.in_place(term))
        return self.literal(term, sources)

    def literal(self, term: ox.Literal, sources: list[SourceView] | None = None) -> ValueView:
        datatype = term.datatype.value
        shown_type = (
            None
            if datatype.startswith(XSD.iri) or datatype.endswith("langString")
            else self.labels.best(datatype, self.language)
        )
        text = formatting.literal(term.value, datatype, self.language)
        raw = term.value if text != term.value else None
        return ValueView(text, language=term.language, datatype=shown_type, sources=sources or [], raw=raw)

    def in_place(self, term: ox.NamedNode | ox.BlankNode) -> list[GroupView]:
        """What is said of a blank node, or of a part of another document (a hash IRI such as a
        distribution in the catalogue), shown where it is used; each once on a path, so that a
        cycle ends."""
        if term in self.open or (isinstance(term, ox.NamedNode) and "#" not in term.value):
            return []
        self.open.add(term)
        try:
            return self.groups(self.d.nested.get(term, []))
        finally:
            self.open.discard(term)

    def group(self, predicate: str, values: list[ValueView]) -> GroupView:
        label, language = self.name(predicate)
        return GroupView(label, self.link(predicate)[0], values, key=local_name(predicate), language=language)

    def groups(self, statements: list[Statement], *, skip: set[str] = frozenset()) -> list[GroupView]:
        by_predicate = self._by_predicate([s for s in statements if s.predicate.value not in skip])
        groups = [
            self.group(predicate, [self.value(s.object, s) for s in sorted(group, key=lambda s: str(s.object))])
            for predicate, group in by_predicate.items()
        ]
        order = {name: i for i, name in enumerate(LEADING)}
        return sorted(groups, key=lambda g: (order.get(g.key, len(order)), g.label.lower()))

    def incoming_groups(self) -> list[GroupView]:
        by_predicate = self._by_predicate(self.d.incoming)
        return [
            self.group(predicate, [self.value(s.subject, s, expand=False) for s in group])
            for predicate, group in sorted(by_predicate.items(), key=lambda item: self.name(item[0])[0])
        ]

    def names(self) -> list[NameView]:
        """The resource's own preferred and alternative names, each with its sources."""
        found: dict[tuple[str, str, str], list[SourceView]] = {}
        for statement in self.d.statements:
            prop = statement.predicate.value
            if prop in NAME_PROPERTIES and isinstance(statement.object, ox.Literal):
                kind = "alt" if prop in ALTERNATIVE_PROPERTIES else "pref"
                key = (statement.object.language or "", statement.object.value, kind)
                cited = found.setdefault(key, [])
                cited += [s for s in self._cite(statement) if s not in cited]
        ordered = sorted(found, key=lambda n: (n[2] != "pref", n[0], n[1]))
        return [
            NameView(language, text, kind, tuple(found[(language, text, kind)])) for language, text, kind in ordered
        ]

    def conflicts(self) -> list[dict]:
        """Each conflicting claim side by side with this one, property by property."""
        mine = self._by_predicate(self.d.statements)
        skip = NAME_PROPERTIES | HIDDEN | {self.iris.term("conflictsWith")}
        tables = []
        for other_iri, statements in sorted(self.d.conflicts.items()):
            theirs = self._by_predicate(statements)
            properties = sorted((set(mine) | set(theirs)) - skip, key=lambda p: self.name(p)[0])
            rows = [
                {
                    "property": self.name(p)[0],
                    "mine": [self.value(s.object, s) for s in mine.get(p, [])],
                    "theirs": [self.value(s.object, s) for s in theirs.get(p, [])],
                }
                for p in properties
            ]
            url, _ = self.link(other_iri)
            title, language = self.name(other_iri)
            tables.append({"title": title, "language": language, "url": url, "rows": rows})
        return tables

    @staticmethod
    def _by_predicate(statements: list[Statement]) -> dict[str, list[Statement]]:
        grouped: dict[str, list[Statement]] = defaultdict(list)
        for statement in statements:
            grouped[statement.predicate.value].append(statement)
        return grouped

    def related(self) -> dict[str, list[str]]:
        """The resource, then what it links to and what links to it, each once, with how it is
        linked (the properties' names; none for the resource itself)."""
        found: dict[str, list[str]] = {self.d.iri: []}
        for statement in self.d.statements:
            if isinstance(statement.object, ox.NamedNode) and statement.predicate.value not in HIDDEN:
                found.setdefault(statement.object.value, []).append(statement.predicate.value)
        for statement in self.d.incoming:
            if isinstance(statement.subject, ox.NamedNode):
                found.setdefault(statement.subject.value, []).append(statement.predicate.value)
        return found

    def role(self, predicates: list[str]) -> str:
        """How something is linked to the resource, in words: the properties' names."""
        return ", ".join(sorted({self.name(p)[0] for p in predicates}))

    def timeline(self) -> list[dict]:
        """Dated things: the resource itself and what it links to or is linked from."""
        dates = self.d.facts.dates
        items = []
        for iri in self.related():
            known = dates.get(iri, {})
            start = known.get("startDate") or known.get("signingDate")
            if start is None:
                continue
            end = known.get("endDate")
            url, _ = self.link(iri)
            label, language = self.name(iri)
            shown = formatting.literal(start.value, start.datatype.value, self.language)
            if end is not None:
                shown += " – " + formatting.literal(end.value, end.datatype.value, self.language)
            items.append(
                {
                    "start": start.value,
                    "end": end.value if end else None,
                    "when": shown,
                    "label": label,
                    "language": language,
                    "url": url,
                    "self": iri == self.d.iri,
                }
            )
        return sorted(items, key=lambda i: i["start"])

    def _dispute_marks(self) -> dict[str, list[DisputeMark]]:
        """Values a disputed claim is about (its other parties), and the claims themselves."""
        marks: dict[str, list[DisputeMark]] = {}
        for dispute in self.d.disputes:
            for iri in (*dispute.partners, dispute.claim, *dispute.others):
                # One sign per value, naming the first disputed claim; the disputes list has them all.
                marks.setdefault(iri, [DisputeMark(dispute.claim, self.name(dispute.claim)[0])])
        return marks


def schema_org(description: Description, alignment: dict[str, str], title: str, language: str) -> str:
    """schema.org JSON-LD for search engines, from our terms' alignment to schema.org."""
    labels = description.facts.labels
    types = sorted(
        {local_name(alignment[t]) for t in description.facts.types.get(description.iri, ()) if t in alignment}
    )
    data: dict = {"@context": "https://schema.org", "@type": types or "Thing", "@id": description.iri, "name": title}
    for statement in description.statements:
        predicate, term = statement.predicate.value, statement.object
        if predicate in IDENTITY_LINKS and isinstance(term, ox.NamedNode):
            data.setdefault("sameAs", []).append(term.value)
        elif predicate in alignment:
            key = local_name(alignment[predicate])
            value = (
                term.value
                if isinstance(term, ox.Literal)
                else (
                    {"@id": term.value, "name": labels.best(term.value, language)}
                    if isinstance(term, ox.NamedNode)
                    else None
                )
            )
            if value is not None:
                data.setdefault(key, []).append(value)
    if description.iri in description.facts.coordinates:
        lat, long = description.facts.coordinates[description.iri]
        data["geo"] = {"@type": "GeoCoordinates", "latitude": lat, "longitude": long}
    data = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in data.items()}
    # Safe inside <script>: no "</script>" or HTML comment can be formed by the data.
    return json.dumps(data, ensure_ascii=False, indent=1).replace("<", "\\u003c").replace(">", "\\u003e")


def graph_query(base_iri: str, iri: str) -> str | None:
    """For a named graph's page: a query that lists what the graph says."""
    if not iri.startswith(Iris(base_iri).graph("")):
        return None
    return f"SELECT ?s ?p ?o WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }} LIMIT 500"


def page_context(
    description: Description,
    base_iri: str,
    language: str,
    alignment: dict[str, str],
    words: dict[str, str],
    place_classes: frozenset[str] = frozenset(),
) -> PageContext:
    presenter = Presenter(description, base_iri, language, words)
    title, title_language = presenter.name(description.iri)
    types = [presenter.value(ox.NamedNode(t)) for t in sorted(description.facts.types.get(description.iri, ()))]
    points, unmapped = claims.places(presenter, place_classes)
    return PageContext(
        iri=description.iri,
        title=title,
        title_language=title_language,
        types=types,
        names=presenter.names(),
        groups=presenter.groups(description.statements, skip=NAME_PROPERTIES | HIDDEN),
        incoming=presenter.incoming_groups(),
        conflicts=presenter.conflicts(),
        disputes=claims.disputes(presenter),
        figures=claims.figures(presenter),
        points=points,
        unmapped=unmapped,
        timeline=presenter.timeline(),
        sources=presenter.all_sources(),
        jsonld=schema_org(description, alignment, title, language),
        graph_query=graph_query(base_iri, description.iri),
    )
