"""VoID statistics of the dataset, computed once when a store is built and kept in it.

They are written into the metadata graph <{base}graph/metadata>, one of the service's own graphs
that clients' queries over the data do not see (server.query.jobs), about the dataset
<{base}id/dataset/sister-cities>; the VoID description reads them back with one query, and a
remote store loaded with `sistercities dump --with-service-graphs` holds them too.

What is counted is the data as they are before anything of the service is added. For the curated
data the default graph is the merge of the source graphs, so the default graph is counted; for
data loaded by `sistercities load` the default graph is what was loaded into it, so the default
graph and every named graph are counted together (a triple stated in two graphs counts twice).
Each figure comes from one SPARQL query over the fresh store (five scans in all, a second at one
million triples); it happens once per build.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph as ox

from server.namespaces import DCAT, DCT, FOAF, OWL, RDF_TYPE, SD, SKOS, VOID, XSD
from server.store.sparql_text import string
from server.uris import Iris

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
    """The data the statistics describe: the default graph only, or it and every named graph."""

    every_graph: bool

    def pattern(self, predicate: str = "?p", value: str = "?o") -> str:
        """A pattern binding ?s (and the given predicate and value) to the triples counted."""
        triple = f"?s {predicate} {value}"
        return f"{{ {triple} }} UNION {{ GRAPH ?g {{ {triple} }} }}" if self.every_graph else triple


DEFAULT_GRAPH, EVERY_GRAPH = Scope(every_graph=False), Scope(every_graph=True)


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


def graph_sizes(store: ox.Store) -> list[tuple[ox.NamedNode, int]]:
    """Each named graph (one per source file, and the derived links) with its number of triples."""
    return grouped(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g", "g")


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


def figures(store: ox.Store, iris: Iris, scope: Scope) -> dict:
    """Every figure, each from its own query; the queries run side by side (pyoxigraph releases
    the GIL while it scans), since each is a scan of its own."""
    asked = {
        "properties": lambda: property_partitions(store, scope),
        "classes": lambda: class_partitions(store, scope),
        "subjects": lambda: subjects_and_entities(store, iris, scope),
        "objects": lambda: _count(store, f"SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE {{ {scope.pattern()} }}"),
        "graphs": lambda: graph_sizes(store),
        "coverage": lambda: temporal_coverage(store, iris),
        "links": lambda: {target.key: link_count(store, target) for target in LINK_TARGETS},
    }
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        running = {name: pool.submit(ask) for name, ask in asked.items()}
        return {name: future.result() for name, future in running.items()}


def statistics_triples(store: ox.Store, iris: Iris, scope: Scope = DEFAULT_GRAPH) -> Iterator[ox.Triple]:
    """The VoID description of the data in the store as they are now."""
    dataset = _n(iris.dataset)
    found = figures(store, iris, scope)
    properties, classes, (subjects, entities) = found["properties"], found["classes"], found["subjects"]
    totals = {
        "triples": sum(count for _, count in properties),
        "entities": entities,
        "distinctSubjects": subjects,
        "distinctObjects": found["objects"],
        "classes": len(classes),
        "properties": len(properties),
    }
    yield ox.Triple(dataset, RDF_TYPE, VOID.Dataset)
    for name, value in totals.items():
        yield ox.Triple(dataset, _n(VOID + name), _integer(value))
    for cls, count in classes:
        partition = ox.BlankNode()
        yield ox.Triple(dataset, VOID.classPartition, partition)
        yield ox.Triple(partition, VOID["class"], cls)
        yield ox.Triple(partition, VOID.entities, _integer(count))
    for prop, count in properties:
        partition = ox.BlankNode()
        yield ox.Triple(dataset, VOID.propertyPartition, partition)
        yield ox.Triple(partition, VOID.property, prop)
        yield ox.Triple(partition, VOID.triples, _integer(count))
    for graph, count in found["graphs"]:
        subset = ox.BlankNode()
        yield ox.Triple(dataset, VOID.subset, subset)
        yield ox.Triple(subset, RDF_TYPE, VOID.Dataset)
        yield ox.Triple(subset, SD.name, graph)
        yield ox.Triple(subset, VOID.triples, _integer(count))
    coverage = found["coverage"]
    if coverage is not None:
        period = ox.BlankNode()
        yield ox.Triple(dataset, DCT.temporal, period)
        yield ox.Triple(period, RDF_TYPE, DCT.PeriodOfTime)
        yield ox.Triple(period, DCAT.startDate, ox.Literal(f"{coverage[0]:04d}", datatype=XSD.gYear))
        yield ox.Triple(period, DCAT.endDate, ox.Literal(f"{coverage[1]:04d}", datatype=XSD.gYear))
    yield from linkset_triples(found["links"], iris, dataset)


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


def write_statistics(store: ox.Store, iris: Iris, scope: Scope = DEFAULT_GRAPH) -> int:
    """Compute the statistics of the data and add them to the metadata graph; returns the number
    of triples of the data. Call it once the data and derived links are loaded, before anything of
    the service is added."""
    graph, counted = ox.NamedNode(iris.metadata_graph), ox.NamedNode(iris.dataset)
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in statistics_triples(store, iris, scope)]
    store.extend(quads)
    return next(int(q.object.value) for q in quads if q.subject == counted and q.predicate == VOID.triples)
