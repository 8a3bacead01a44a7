"""VoID statistics of the dataset, computed once per build, never on a request.

The figures (`Figures`) are kept with the data: for the curated data, as VoID triples in the
metadata graph <{base}graph/metadata>, one of the service's own graphs that clients' queries over
the data do not see (server.query.jobs), which a remote store loaded with `sistercities dump
--with-service-graphs` holds too; for data loaded with `sistercities load`, which go live as soon
as they are in, as a file beside the build (statistics.json), written once they are counted.
Either way the VoID description, the catalogue and the home page read them back (server.query.
statistics), and a figure is never computed while a client waits.

What is counted is the data as they are before anything of the service is added. For the curated
data the default graph is the merge of the source graphs, so the default graph is counted; for
data loaded by `sistercities load` the default graph is what was loaded into it, so the default
graph and every named graph are counted together (a triple stated in two graphs counts twice).
Each figure comes from one SPARQL query over the fresh store (five scans in all, a second at one
million triples); it happens once per build.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox

from server.namespaces import DCAT, DCT, FOAF, OWL, RDF_TYPE, SD, SKOS, VOID, XSD
from server.store.sparql_text import string
from server.uris import Iris

STATISTICS_FILE = "statistics.json"
# Below this size the example resources are the places described the most (one more scan);
# above, the first few things found, which costs nothing.
RANKED_EXAMPLES_UP_TO = 500_000
# Properties whose values date what the data are about (agreements, events, figures, sources).
DATE_PROPERTIES = ("startDate", "endDate", "signingDate", "observationDate")
_YEAR = re.compile(r"\s*(-?\d{4,})")


@dataclass(frozen=True)
class LinkTarget:
    """A dataset we link to: the Wikidata item that stands for it, and how its IRIs begin."""

    key: str
    title: str
    node: str  # the dataset, named by its own Wikidata item
    homepage: str
    predicate: str
    uri_spaces: tuple[str, ...]


LINK_TARGETS = (
    LinkTarget(
        "wikidata",
        "Wikidata",
        "http://www.wikidata.org/entity/Q2013",
        "https://www.wikidata.org/",
        OWL.sameAs.value,
        ("http://www.wikidata.org/entity/",),
    ),
    LinkTarget(
        "geonames",
        "GeoNames",
        "http://www.wikidata.org/entity/Q830106",
        "https://www.geonames.org/",
        SKOS.closeMatch.value,
        ("https://sws.geonames.org/", "http://sws.geonames.org/"),
    ),
)


def linkset_iri(iris: Iris, target: LinkTarget) -> str:
    """A linkset is a dataset of its own, named as the URI policy names datasets."""
    return f"{iris.dataset}-to-{target.key}"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=XSD.integer)


def _count(store: ox.Store, query: str) -> int:
    rows = list(store.query(query))
    return int(rows[0]["n"].value) if rows and rows[0]["n"] is not None else 0


@dataclass(frozen=True)
class Scope:
    """The data the statistics describe: the default graph only, or it and every named graph but
    the service's own (`hidden`)."""

    every_graph: bool
    hidden: tuple[str, ...] = ()

    def pattern(self, predicate: str = "?p", value: str = "?o") -> str:
        """A pattern binding ?s (and the given predicate and value) to the triples counted."""
        triple = f"?s {predicate} {value}"
        if not self.every_graph:
            return triple
        return f"{{ {triple} }} UNION {{ GRAPH ?g {{ {triple} }} {self.graph_filter()} }}"

    def graph_filter(self) -> str:
        return f"FILTER(?g NOT IN ({', '.join(f'<{g}>' for g in self.hidden)}))" if self.hidden else ""


DEFAULT_GRAPH = Scope(every_graph=False)


def subjects_and_entities(store: ox.Store, iris: Iris, scope: Scope) -> tuple[int, int]:
    """Distinct subjects, and those that are our things (under {base}id/), in one scan."""
    query = (
        f"SELECT (COUNT(*) AS ?n) (SUM(IF(isIRI(?s) && STRSTARTS(STR(?s), {string(iris.thing_space)}), 1, 0)) AS ?e) "
        f"WHERE {{ SELECT DISTINCT ?s WHERE {{ {scope.pattern()} }} }}"
    )
    row = next(iter(store.query(query)))
    return int(row["n"].value), int(row["e"].value) if row["e"] is not None else 0


def grouped(store: ox.Store, query: str, key: str) -> list[tuple[ox.NamedNode, int]]:
    return [(row[key], int(row["n"].value)) for row in store.query(query) if isinstance(row[key], ox.NamedNode)]


def class_partitions(store: ox.Store, scope: Scope) -> list[tuple[ox.NamedNode, int]]:
    """Each class with the number of its distinct instances."""
    query = f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {scope.pattern('a', '?c')} }} GROUP BY ?c ORDER BY ?c"
    return grouped(store, query, "c")


def property_partitions(store: ox.Store, scope: Scope) -> list[tuple[ox.NamedNode, int]]:
    """Each property with the number of triples that use it."""
    return grouped(store, f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ {scope.pattern()} }} GROUP BY ?p ORDER BY ?p", "p")


def graph_sizes(store: ox.Store, scope: Scope) -> list[tuple[ox.NamedNode, int]]:
    """Each named graph of the data (one per source file, and the derived links) with its size."""
    query = (
        f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {scope.graph_filter()} }} GROUP BY ?g ORDER BY ?g"
    )
    return grouped(store, query, "g")


def link_count(store: ox.Store, target: LinkTarget) -> int:
    spaces = " || ".join(f"STRSTARTS(STR(?o), {string(space)})" for space in target.uri_spaces)
    return _count(
        store, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{target.predicate}> ?o FILTER(isIRI(?o) && ({spaces})) }}"
    )


def year_of(value: str) -> int | None:
    match = _YEAR.match(value)
    return int(match.group(1)) if match else None


def temporal_coverage(store: ox.Store, iris: Iris) -> tuple[int, int] | None:
    """The earliest and latest year among the dates of agreements, events, figures and sources."""
    properties = [f"<{iris.term(name)}>" for name in DATE_PROPERTIES] + [f"<{DCT.issued.value}>"]
    query = f"SELECT DISTINCT ?d WHERE {{ VALUES ?p {{ {' '.join(properties)} }} ?s ?p ?d FILTER(isLiteral(?d)) }}"
    years = [year for row in store.query(query) if (year := year_of(row["d"].value)) is not None]
    return (min(years), max(years)) if years else None


@dataclass(frozen=True)
class Figures:
    """The statistics of one build: dataset totals, partitions, graphs, coverage, links, examples."""

    triples: int
    entities: int
    subjects: int
    objects: int
    classes: tuple[tuple[str, int], ...]
    properties: tuple[tuple[str, int], ...]
    graphs: tuple[tuple[str, int], ...]
    coverage: tuple[int, int] | None
    links: dict[str, int] = field(default_factory=dict)
    examples: tuple[str, ...] = ()

    def save(self, directory: Path) -> None:
        """Write beside a build, under a temporary name first, so that the file is whole or absent."""
        pending = directory / f".{STATISTICS_FILE}.{os.getpid()}"
        pending.write_text(json.dumps(asdict(self)), encoding="utf-8")
        pending.replace(directory / STATISTICS_FILE)

    @classmethod
    def read(cls, directory: Path) -> Figures | None:
        try:
            data = json.loads((directory / STATISTICS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        pairs = {key: tuple(tuple(item) for item in data[key]) for key in ("classes", "properties", "graphs")}
        coverage = tuple(data["coverage"]) if data.get("coverage") else None
        return cls(**{**data, **pairs, "coverage": coverage, "examples": tuple(data.get("examples", ()))})


def example_resources(store: ox.Store, iris: Iris, triples: int, limit: int = 3) -> tuple[str, ...]:
    """A few things of ours to show: the places with the most statements when the data are small,
    otherwise the first things found."""
    if triples <= RANKED_EXAMPLES_UP_TO:
        query = (
            f"SELECT ?s (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER(isIRI(?s) && "
            f"STRSTARTS(STR(?s), {string(iris.thing('place/'))})) }} GROUP BY ?s ORDER BY DESC(?n) ?s LIMIT {limit}"
        )
    else:
        query = (
            f"SELECT DISTINCT ?s WHERE {{ ?s a ?c FILTER(isIRI(?s) && STRSTARTS(STR(?s), "
            f"{string(iris.thing_space)})) }} LIMIT {limit}"
        )
    return tuple(row["s"].value for row in store.query(query))


def compute(store: ox.Store, iris: Iris, scope: Scope = DEFAULT_GRAPH) -> Figures:
    """Every figure, each from its own query; the queries run side by side (pyoxigraph releases
    the GIL while it scans), since each is a scan of its own."""
    asked = {
        "properties": lambda: property_partitions(store, scope),
        "classes": lambda: class_partitions(store, scope),
        "subjects": lambda: subjects_and_entities(store, iris, scope),
        "objects": lambda: _count(store, f"SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {{ {scope.pattern()} }}"),
        "graphs": lambda: graph_sizes(store, scope),
        "coverage": lambda: temporal_coverage(store, iris),
        "links": lambda: {target.key: link_count(store, target) for target in LINK_TARGETS},
    }
    with ThreadPoolExecutor(max_workers=min(len(asked), os.cpu_count() or 2)) as pool:
        running = {name: pool.submit(ask) for name, ask in asked.items()}
        found = {name: future.result() for name, future in running.items()}
    triples = sum(count for _, count in found["properties"])
    named = {
        key: tuple((term.value, count) for term, count in found[key]) for key in ("classes", "properties", "graphs")
    }
    subjects, entities = found["subjects"]
    return Figures(
        triples=triples,
        entities=entities,
        subjects=subjects,
        objects=found["objects"],
        **named,
        coverage=found["coverage"],
        links=found["links"],
        examples=example_resources(store, iris, triples),
    )


def statistics_triples(figures: Figures, iris: Iris) -> Iterator[ox.Triple]:
    """The figures as VoID statements about the dataset."""
    dataset = _n(iris.dataset)
    totals = {
        "triples": figures.triples,
        "entities": figures.entities,
        "distinctSubjects": figures.subjects,
        "distinctObjects": figures.objects,
        "classes": len(figures.classes),
        "properties": len(figures.properties),
    }
    yield ox.Triple(dataset, RDF_TYPE, VOID.Dataset)
    for name, value in totals.items():
        yield ox.Triple(dataset, _n(VOID + name), _integer(value))
    for cls, count in figures.classes:
        partition = ox.BlankNode()
        yield ox.Triple(dataset, VOID.classPartition, partition)
        yield ox.Triple(partition, VOID["class"], _n(cls))
        yield ox.Triple(partition, VOID.entities, _integer(count))
    for prop, count in figures.properties:
        partition = ox.BlankNode()
        yield ox.Triple(dataset, VOID.propertyPartition, partition)
        yield ox.Triple(partition, VOID.property, _n(prop))
        yield ox.Triple(partition, VOID.triples, _integer(count))
    for graph, count in figures.graphs:
        subset = ox.BlankNode()
        yield ox.Triple(dataset, VOID.subset, subset)
        yield ox.Triple(subset, RDF_TYPE, VOID.Dataset)
        yield ox.Triple(subset, SD.name, _n(graph))
        yield ox.Triple(subset, VOID.triples, _integer(count))
    if figures.coverage is not None:
        period = ox.BlankNode()
        yield ox.Triple(dataset, DCT.temporal, period)
        yield ox.Triple(period, RDF_TYPE, DCT.PeriodOfTime)
        yield ox.Triple(period, DCAT.startDate, ox.Literal(f"{figures.coverage[0]:04d}", datatype=XSD.gYear))
        yield ox.Triple(period, DCAT.endDate, ox.Literal(f"{figures.coverage[1]:04d}", datatype=XSD.gYear))
    for example in figures.examples:
        yield ox.Triple(dataset, VOID.exampleResource, _n(example))
    yield from linkset_triples(figures.links, iris, dataset)


def linkset_triples(counts: dict[str, int], iris: Iris, dataset: ox.NamedNode) -> Iterator[ox.Triple]:
    for target in LINK_TARGETS:
        linkset, other = _n(linkset_iri(iris, target)), _n(target.node)
        yield ox.Triple(dataset, VOID.subset, linkset)
        yield ox.Triple(linkset, RDF_TYPE, VOID.Linkset)
        yield ox.Triple(linkset, VOID.subjectsTarget, dataset)
        yield ox.Triple(linkset, VOID.objectsTarget, other)
        yield ox.Triple(linkset, VOID.linkPredicate, _n(target.predicate))
        yield ox.Triple(linkset, VOID.triples, _integer(counts[target.key]))
        yield ox.Triple(other, RDF_TYPE, VOID.Dataset)
        yield ox.Triple(other, DCT.title, ox.Literal(target.title, language="en"))
        yield ox.Triple(other, FOAF.homepage, _n(target.homepage))
        for space in target.uri_spaces:
            yield ox.Triple(other, VOID.uriSpace, ox.Literal(space))


class _Statements:
    """Triples by subject and predicate, to read VoID back."""

    def __init__(self, triples: list[ox.Triple]) -> None:
        self.about: dict = {}
        for t in triples:
            self.about.setdefault(t.subject, {}).setdefault(t.predicate, []).append(t.object)

    def all(self, node, prop: ox.NamedNode) -> list:
        return self.about.get(node, {}).get(prop, [])

    def one(self, node, prop: ox.NamedNode):
        return next(iter(self.all(node, prop)), None)

    def number(self, node, prop: ox.NamedNode) -> int:
        found = self.one(node, prop)
        return int(found.value) if found is not None else 0

    def pairs(self, node, link: ox.NamedNode, key: ox.NamedNode, count: ox.NamedNode) -> tuple[tuple[str, int], ...]:
        """(key, count) of each node linked from `node` that has a key: partitions, subsets."""
        linked = [n for n in self.all(node, link) if self.one(n, key) is not None]
        return tuple(sorted((self.one(n, key).value, self.number(n, count)) for n in linked))


def figures_of(triples: list[ox.Triple], iris: Iris) -> Figures | None:
    """The figures back from their VoID statements (as the metadata graph keeps them)."""
    known, dataset = _Statements(triples), _n(iris.dataset)
    if known.one(dataset, VOID.triples) is None:
        return None
    links = dict(known.pairs(dataset, VOID.subset, VOID.linkPredicate, VOID.triples))
    period = known.one(dataset, DCT.temporal)
    years = [known.one(period, DCAT.startDate), known.one(period, DCAT.endDate)] if period is not None else []
    return Figures(
        triples=known.number(dataset, VOID.triples),
        entities=known.number(dataset, VOID.entities),
        subjects=known.number(dataset, VOID.distinctSubjects),
        objects=known.number(dataset, VOID.distinctObjects),
        classes=known.pairs(dataset, VOID.classPartition, VOID["class"], VOID.entities),
        properties=known.pairs(dataset, VOID.propertyPartition, VOID.property, VOID.triples),
        graphs=known.pairs(dataset, VOID.subset, SD.name, VOID.triples),
        coverage=(int(years[0].value), int(years[1].value)) if len(years) == 2 and None not in years else None,
        links={target.key: links.get(target.predicate, 0) for target in LINK_TARGETS},
        examples=tuple(sorted(e.value for e in known.all(dataset, VOID.exampleResource))),
    )


def write_statistics(store: ox.Store, iris: Iris, scope: Scope = DEFAULT_GRAPH) -> Figures:
    """Compute the statistics of the data and add them to the metadata graph, as VoID. Call it
    once the data and derived links are loaded, before anything of the service is added."""
    figures = compute(store, iris, scope)
    graph = ox.NamedNode(iris.metadata_graph)
    store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in statistics_triples(figures, iris))
    return figures
