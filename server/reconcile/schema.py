"""The ontology's classes as reconciliation offers them: labels and hierarchy.

The classes of the ontology as reconciliation offers them: labels in four languages, the hierarchy."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from server.labels import Labels, local_name
from server.namespaces import OWL, RDFS
from server.query.engine import QueryEngine, select
from server.reconcile.keys import normalise
from server.uris import Iris


@dataclass
class Schema:
    """The classes of the ontology: labels in four languages and the subclass hierarchy."""

    base_iri: str
    labels: Labels
    parents: dict[str, set[str]]  # direct superclasses of every class (ours and others)

    @property
    def namespace(self) -> str:
        return Iris(self.base_iri).ontology_namespace

    @property
    def classes(self) -> list[str]:
        """Our own classes (those in the ontology's namespace), sorted."""
        found = {c for c in self.parents if c.startswith(self.namespace)} | {
            c for c in self.labels.names if c.startswith(self.namespace)
        }
        return sorted(c for c in found if self.labels.known(c))

    def descendants(self, iri: str) -> set[str]:
        """The class and all its subclasses."""
        children: dict[str, set[str]] = defaultdict(set)
        for child, supers in self.parents.items():
            for parent in supers:
                children[parent].add(child)
        found, frontier = {iri}, [iri]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return found

    def type_iri(self, type_id: str) -> str:
        """A type as given by a client: "City", "sc:City", an IRI, or a class label ("kaupunki")."""
        text = type_id.strip()
        if text.startswith(("http://", "https://", "urn:")):
            return text
        if text.startswith("sc:"):
            text = text[3:]
        if self.labels.known(self.namespace + text):
            return self.namespace + text
        key = normalise(text)
        for iri in self.classes:
            if normalise(local_name(iri)) == key or any(
                normalise(name) == key for names in self.labels.names[iri].values() for _, name in names
            ):
                return iri
        return self.namespace + text

    def type_id(self, iri: str) -> str:
        return iri[len(self.namespace) :] if iri.startswith(self.namespace) else iri

    def own_types(self, types: Iterable[str]) -> list[str]:
        """Of a candidate's types, ours, most specific first (a subclass before its superclass)."""
        ours = sorted(t for t in set(types) if t.startswith(self.namespace))
        depth = {t: len(self.ancestors(t)) for t in ours}
        return sorted(ours, key=lambda t: (-depth[t], t))

    def ancestors(self, iri: str) -> set[str]:
        found, frontier = set(), [iri]
        while frontier:
            for parent in self.parents.get(frontier.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    frontier.append(parent)
        return found


async def load_schema(engine: QueryEngine, base_iri: str) -> Schema:
    namespace = Iris(base_iri).ontology_namespace
    hierarchy, labelled = await asyncio.gather(
        select(
            engine, f"SELECT ?c ?super WHERE {{ ?c <{RDFS.subClassOf.value}> ?super FILTER(isIRI(?super)) }}", 100_000
        ),
        select(
            engine,
            f"SELECT ?c ?label WHERE {{ ?c a ?kind ; <{RDFS.label.value}> ?label "
            f'VALUES ?kind {{ <{OWL.Class.value}> <{RDFS.Class.value}> }} FILTER(STRSTARTS(STR(?c), "{namespace}")) }}',
            100_000,
        ),
    )
    parents: dict[str, set[str]] = defaultdict(set)
    for row in hierarchy:
        parents[row["c"].value].add(row["super"].value)
    labels = Labels()
    for row in labelled:
        labels.add(row["c"].value, RDFS + "label", row["label"].value, row["label"].language)
    return Schema(base_iri, labels, dict(parents))
