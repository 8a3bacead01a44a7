"""The SPARQL 1.1 Service Description of /sparql: only what is true of this server.

Formats come from the format registry, limits from the settings, and the named graphs from the
store itself. Federation is not claimed (SERVICE is refused) and neither is any entailment beyond
simple entailment.
"""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request

from server import formats
from server.namespaces import DCT, RDF_TYPE, RDFS, SD, XSD, prefixes
from server.query.engine import select
from server.query.results import serialise_triples
from server.settings import Settings
from server.web.services import services

MAX_LISTED_GRAPHS = 100_000
NAME_INDEX_NOTE = (
    "An auxiliary index of name keys for reconciliation (/reconcile), in the private vocabulary "
    "urn:sistercities:index#: not data, not in the default graph and not in the dumps."
)


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def endpoint_url(request: Request) -> str:
    return str(request.url_for("sparql"))


async def named_graphs(request: Request) -> list[str]:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { } } ORDER BY ?g"
    return [row["g"].value for row in await select(services(request).engine, query, MAX_LISTED_GRAPHS)]


def describe(endpoint: str, settings: Settings, graphs: list[str]) -> list[ox.Triple]:
    """The service, its formats, features, limits and default dataset as triples."""
    iris = settings.iris
    service = _n(endpoint)
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(service, RDF_TYPE, SD.Service),
        ox.Triple(service, SD.endpoint, service),
        ox.Triple(service, SD.supportedLanguage, SD.SPARQL11Query),
        ox.Triple(service, SD.feature, SD.UnionDefaultGraph),
        ox.Triple(
            service,
            SD.defaultEntailmentRegime,
            _n("http://www.w3.org/ns/entailment/Simple"),
        ),
        ox.Triple(
            service,
            RDFS.label,
            ox.Literal("Sister Cities SPARQL endpoint", language="en"),
        ),
        ox.Triple(
            service,
            _n(iris.term("queryTimeLimit")),
            ox.Literal(f"{settings.query_timeout:g}", datatype=XSD.decimal),
        ),
        ox.Triple(
            service,
            _n(iris.term("resultRowLimit")),
            ox.Literal(str(settings.max_result_rows), datatype=XSD.integer),
        ),
        ox.Triple(service, SD.defaultDataset, dataset),
        ox.Triple(dataset, RDF_TYPE, SD.Dataset),
        ox.Triple(dataset, SD.defaultGraph, default_graph),
        ox.Triple(default_graph, RDF_TYPE, SD.Graph),
        ox.Triple(
            default_graph,
            DCT.description,
            ox.Literal(
                "The RDF merge of all named graphs but the auxiliary name index: each triple once, "
                "whichever sources state it.",
                language="en",
            ),
        ),
    ]
    for fmt in (*formats.of_kind(formats.Kind.RESULTS), *formats.of_kind(formats.Kind.GRAPH)):
        iri = (fmt.results or fmt.rdf).iri
        triples.append(ox.Triple(service, SD.resultFormat, _n(iri)))
    for graph in graphs:
        named = ox.BlankNode()
        triples += [
            ox.Triple(dataset, SD.namedGraph, named),
            ox.Triple(named, RDF_TYPE, SD.NamedGraph),
            ox.Triple(named, SD.name, _n(graph)),
        ]
        if graph == iris.name_index_graph:
            triples.append(ox.Triple(named, DCT.description, ox.Literal(NAME_INDEX_NOTE, language="en")))
    return triples


def serialise(triples: list[ox.Triple], fmt: formats.Format, settings: Settings) -> bytes:
    return serialise_triples(triples, fmt, {**prefixes(settings.base_iri), "sd": SD.iri})
