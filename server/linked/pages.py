"""What an HTML page shows, built from a description: plain data for the templates.

Templates only lay out what is prepared here (Jinja escapes every value), so that pages for
people and the RDF for programs are built from the same description and cannot disagree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from server import uris
from server.labels import ALTERNATIVE_PROPERTIES, LABEL_PROPERTIES, Labels, local_name
from server.linked.resources import Description, Statement
from server.namespaces import OWL, RDF_TYPE, SKOS, XSD
from server.uris import Iris

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


@dataclass(frozen=True)
class SourceView:
    """A source as cited on a page: numbered in order of first use, listed at the end."""

    number: int
    label: str
    url: str | None
    derived: bool = False


@dataclass
class ValueView:
    text: str
    url: str | None = None
    external: bool = False
    iri: str | None = None
    language: str | None = None
    datatype: str | None = None
    sources: list[SourceView] = field(default_factory=list)
    nested: list[GroupView] = field(default_factory=list)


@dataclass
class GroupView:
    label: str
    url: str | None
    values: list[ValueView]
    key: str = ""


@dataclass
class PageContext:
    """Everything a resource page shows, already in the reader's language."""

    iri: str
    title: str
    types: list[ValueView]
    names: list[tuple[str, str, str]]
    groups: list[GroupView]
    incoming: list[GroupView]
    conflicts: list[dict]
    points: list[dict]
    timeline: list[dict]
    sources: list[SourceView]
    jsonld: str


class Presenter:
    """Turns terms of one description into views in one language."""

    def __init__(
        self, description: Description, base_iri: str, language: str, derived_graph: str, derived_label: str
    ) -> None:
        self.d = description
        self.base = base_iri
        self.language = language
        self.labels: Labels = description.facts.labels
        self.derived_graph = derived_graph
        self.derived_label = derived_label
        self.cited: dict[str, SourceView] = {}
        self.open: set[ox.NamedNode | ox.BlankNode] = set()
        for statement in (*description.all_statements(), *(s for c in description.conflicts.values() for s in c)):
            self._cite(statement)

    def _cite(self, statement: Statement) -> list[SourceView]:
        """The sources of a statement, numbering each the first time it is cited."""
        views = []
        for graph in statement.graphs:
            keys = [graph] if graph == self.derived_graph else self.d.sources.get(graph, [])
            for key in keys:
                if key not in self.cited:
                    label = self.derived_label if key == self.derived_graph else self.labels.best(key, self.language)
                    self.cited[key] = SourceView(
                        len(self.cited) + 1, label, uris.local_url(self.base, key), key == self.derived_graph
                    )
                if self.cited[key] not in views:
                    views.append(self.cited[key])
        return views

    def link(self, iri: str) -> tuple[str | None, bool]:
        local = uris.local_url(self.base, iri)
        return (local, False) if local else (iri if iri.startswith(("http://", "https://")) else None, True)

    def sources_of(self, statement: Statement) -> list[SourceView]:
        return self._cite(statement)

    def value(
        self, term: ox.NamedNode | ox.BlankNode | ox.Literal, statement: Statement | None = None, *, expand: bool = True
    ) -> ValueView:
        sources = self.sources_of(statement) if statement else []
        if isinstance(term, ox.NamedNode):
            url, external = self.link(term.value)
            label = self.labels.best(term.value, self.language)
            nested = self.in_place(term) if expand else []
            return ValueView(label, url, external, term.value, sources=sources, nested=nested)
        if isinstance(term, ox.BlankNode):
            return ValueView("", sources=sources, nested=self.in_place(term))
        datatype = term.datatype.value
        shown_type = (
            None
            if datatype.startswith(XSD.iri) or datatype.endswith("langString")
            else self.labels.best(datatype, self.language)
        )
        return ValueView(term.value, language=term.language, datatype=shown_type, sources=sources)

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

    def groups(self, statements: list[Statement], *, skip: set[str] = frozenset()) -> list[GroupView]:
        by_predicate = self._by_predicate([s for s in statements if s.predicate.value not in skip])
        groups = [
            GroupView(
                self.labels.best(predicate, self.language),
                self.link(predicate)[0],
                [self.value(s.object, s) for s in sorted(group, key=lambda s: str(s.object))],
                key=local_name(predicate),
            )
            for predicate, group in by_predicate.items()
        ]
        order = {name: i for i, name in enumerate(LEADING)}
        return sorted(groups, key=lambda g: (order.get(g.key, len(order)), g.label.lower()))

    def incoming_groups(self) -> list[GroupView]:
        by_predicate = self._by_predicate(self.d.incoming)
        return [
            GroupView(
                self.labels.best(predicate, self.language),
                self.link(predicate)[0],
                [self.value(s.subject, s, expand=False) for s in group],
                key=local_name(predicate),
            )
            for predicate, group in sorted(
                by_predicate.items(), key=lambda item: self.labels.best(item[0], self.language)
            )
        ]

    def names(self) -> list[tuple[str, str, str]]:
        """(language, name, kind) of the resource itself: preferred and alternative names."""
        found = []
        for statement in self.d.statements:
            prop = statement.predicate.value
            if prop in NAME_PROPERTIES and isinstance(statement.object, ox.Literal):
                kind = "alt" if prop in ALTERNATIVE_PROPERTIES else "pref"
                found.append((statement.object.language or "", statement.object.value, kind))
        return sorted(set(found), key=lambda n: (n[2] != "pref", n[0], n[1]))

    def conflicts(self) -> list[dict]:
        """Each conflicting claim side by side with this one, property by property."""
        mine = self._by_predicate(self.d.statements)
        skip = NAME_PROPERTIES | HIDDEN | {Iris(self.base).term("conflictsWith")}
        tables = []
        for other_iri, statements in sorted(self.d.conflicts.items()):
            theirs = self._by_predicate(statements)
            properties = sorted((set(mine) | set(theirs)) - skip, key=lambda p: self.labels.best(p, self.language))
            rows = [
                {
                    "property": self.labels.best(p, self.language),
                    "mine": [self.value(s.object, s) for s in mine.get(p, [])],
                    "theirs": [self.value(s.object, s) for s in theirs.get(p, [])],
                }
                for p in properties
            ]
            url, _ = self.link(other_iri)
            tables.append({"title": self.labels.best(other_iri, self.language), "url": url, "rows": rows})
        return tables

    @staticmethod
    def _by_predicate(statements: list[Statement]) -> dict[str, list[Statement]]:
        grouped: dict[str, list[Statement]] = defaultdict(list)
        for statement in statements:
            grouped[statement.predicate.value].append(statement)
        return grouped

    def related(self) -> list[str]:
        """The resource, then what it links to and what links to it, each once."""
        linked = [
            t.value
            for s in (*self.d.statements, *self.d.incoming)
            for t in (s.object, s.subject)
            if isinstance(t, ox.NamedNode)
        ]
        return list(dict.fromkeys([self.d.iri, *linked]))

    def points(self) -> list[dict]:
        """The resource and the places it links to (or that link to it) that have coordinates."""
        coordinates = self.d.facts.coordinates
        points = []
        for iri in self.related():
            if iri in coordinates:
                lat, long = coordinates[iri]
                url, _ = self.link(iri)
                points.append(
                    {
                        "lat": lat,
                        "long": long,
                        "label": self.labels.best(iri, self.language),
                        "url": url,
                        "self": iri == self.d.iri,
                    }
                )
        return points

    def timeline(self) -> list[dict]:
        """Dated things: the resource itself and what it links to or is linked from."""
        dates = self.d.facts.dates
        items = []
        for iri in self.related():
            if iri not in dates:
                continue
            known = dates[iri]
            start = known.get("startDate") or known.get("signingDate")
            if start is None:
                continue
            end = known.get("endDate")
            url, _ = self.link(iri)
            items.append(
                {
                    "start": start.value,
                    "end": end.value if end else None,
                    "label": self.labels.best(iri, self.language),
                    "url": url,
                    "self": iri == self.d.iri,
                }
            )
        return sorted(items, key=lambda i: i["start"])

    def all_sources(self) -> list[SourceView]:
        return sorted(self.cited.values(), key=lambda v: v.number)


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


def page_context(
    description: Description, base_iri: str, language: str, alignment: dict[str, str], words: dict[str, str]
) -> PageContext:
    presenter = Presenter(description, base_iri, language, Iris(base_iri).derived_graph, words["derived"])
    title = presenter.labels.best(description.iri, language)
    types = [presenter.value(ox.NamedNode(t)) for t in sorted(description.facts.types.get(description.iri, ()))]
    return PageContext(
        iri=description.iri,
        title=title,
        types=types,
        names=presenter.names(),
        groups=presenter.groups(description.statements, skip=NAME_PROPERTIES | HIDDEN),
        incoming=presenter.incoming_groups(),
        conflicts=presenter.conflicts(),
        points=presenter.points(),
        timeline=presenter.timeline(),
        sources=presenter.all_sources(),
        jsonld=schema_org(description, alignment, title, language),
    )
