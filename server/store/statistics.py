"""VoID statistics of the dataset, computed once when a store is built and stored in it.

They are written into the metadata graph <{base}graph/metadata> (and the default graph, which is
the merge of all graphs) about the dataset <{base}id/dataset/sister-cities>, so that they travel
with the N-Quads dump: a remote SPARQL store loaded with it answers the same statistics, and the
VoID description only reads them back with a query.

What is counted is the default graph as it is before the metadata are added: the merge of the
source graphs with the derived links. The version record and the statistics themselves are not
counted, so any copy of the data can check the numbers (everything in the default graph that is
not in the metadata graph). Each number comes from one SPARQL query over the fresh store, which
takes milliseconds on the bundled data and seconds at ten million triples; it happens once per
data version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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


def totals(store: ox.Store, iris: Iris) -> dict[str, int]:
    """The dataset-wide counts of the default graph."""
    entity_space = string(iris.thing_space)
    return {
        "triples": _count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
        "entities": _count(
            store,
            "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o "
            f"FILTER(isIRI(?s) && STRSTARTS(STR(?s), {entity_space})) }}",
        ),
        "distinctSubjects": _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"),
        "distinctObjects": _count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }"),
        "classes": _count(store, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }"),
        "properties": _count(store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }"),
    }


def grouped(store: ox.Store, query: str, key: str) -> list[tuple[ox.NamedNode, int]]:
    return [(row[key], int(row["n"].value)) for row in store.query(query) if isinstance(row[key], ox.NamedNode)]


def class_partitions(store: ox.Store) -> list[tuple[ox.NamedNode, int]]:
    """Each class with the number of its distinct instances."""
    return grouped(store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c ORDER BY ?c", "c")


def property_partitions(store: ox.Store) -> list[tuple[ox.NamedNode, int]]:
    """Each property with the number of triples that use it."""
    return grouped(store, "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p", "p")


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


def statistics_triples(store: ox.Store, iris: Iris) -> Iterator[ox.Triple]:
    """The VoID description of the store's default graph as it is now."""
    dataset = _n(iris.dataset)
    yield ox.Triple(dataset, RDF_TYPE, VOID.Dataset)
    for name, value in totals(store, iris).items():
        yield ox.Triple(dataset, _n(VOID + name), _integer(value))
    for cls, count in class_partitions(store):
        partition = ox.BlankNode()
        yield ox.Triple(dataset, VOID.classPartition, partition)
        yield ox.Triple(partition, VOID["class"], cls)
        yield ox.Triple(partition, VOID.entities, _integer(count))
    for prop, count in property_partitions(store):
        partition = ox.BlankNode()
        yield ox.Triple(dataset, VOID.propertyPartition, partition)
        yield ox.Triple(partition, VOID.property, prop)
        yield ox.Triple(partition, VOID.triples, _integer(count))
    for graph, count in graph_sizes(store):
        subset = ox.BlankNode()
        yield ox.Triple(dataset, VOID.subset, subset)
        yield ox.Triple(subset, RDF_TYPE, VOID.Dataset)
        yield ox.Triple(subset, SD.name, graph)
        yield ox.Triple(subset, VOID.triples, _integer(count))
    coverage = temporal_coverage(store, iris)
    if coverage is not None:
        period = ox.BlankNode()
        yield ox.Triple(dataset, DCT.temporal, period)
        yield ox.Triple(period, RDF_TYPE, DCT.PeriodOfTime)
        yield ox.Triple(period, DCAT.startDate, ox.Literal(f"{coverage[0]:04d}", datatype=XSD.gYear))
        yield ox.Triple(period, DCAT.endDate, ox.Literal(f"{coverage[1]:04d}", datatype=XSD.gYear))
    yield from linkset_triples(store, iris, dataset)


def linkset_triples(store: ox.Store, iris: Iris, dataset: ox.NamedNode) -> Iterator[ox.Triple]:
    for target in LINK_TARGETS:
        linkset, other = _n(linkset_iri(iris, target)), _n(target.node)
        yield ox.Triple(dataset, VOID.subset, linkset)
        yield ox.Triple(linkset, RDF_TYPE, VOID.Linkset)
        yield ox.Triple(linkset, VOID.subjectsTarget, dataset)
        yield ox.Triple(linkset, VOID.objectsTarget, other)
        yield ox.Triple(linkset, VOID.linkPredicate, _n(target.predicate))
        yield ox.Triple(linkset, VOID.triples, _integer(link_count(store, target)))
        yield ox.Triple(other, RDF_TYPE, VOID.Dataset)
        yield ox.Triple(other, DCT.title, ox.Literal(target.title, language="en"))
        yield ox.Triple(other, FOAF.homepage, _n(target.homepage))
        for space in target.uri_spaces:
            yield ox.Triple(other, VOID.uriSpace, ox.Literal(space))


def in_graphs(triples: Iterable[ox.Triple], iris: Iris) -> Iterator[ox.Quad]:
    """Each triple in the metadata graph and in the default graph (the merge)."""
    graphs = (ox.NamedNode(iris.metadata_graph), ox.DefaultGraph())
    for triple in triples:
        for graph in graphs:
            yield ox.Quad(triple.subject, triple.predicate, triple.object, graph)


def write_statistics(store: ox.Store, iris: Iris) -> int:
    """Compute the statistics of the store's default graph and add them to it; returns how many
    triples describe them. Call it once the data and derived links are loaded, before anything
    else is added to the metadata graph."""
    triples = list(statistics_triples(store, iris))
    store.extend(in_graphs(triples, iris))
    return len(triples)
