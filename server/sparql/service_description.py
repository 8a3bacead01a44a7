"""The SPARQL 1.1 Service Description of /sparql: only what is true of this server.

Formats come from the format registry, limits from the settings, and the named graphs from the
store itself. Federation is not claimed (SERVICE is refused) and neither is any entailment beyond
simple entailment.
"""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request

from server import formats
from server.namespaces import NAME_INDEX_GRAPH, prefixes
from server.query.engine import select
from server.query.results import serialise_triples
from server.settings import Settings

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD = "http://www.w3.org/2001/XMLSchema#"
MAX_LISTED_GRAPHS = 100_000
DCT_DESCRIPTION = "http://purl.org/dc/terms/description"
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
    return [row["g"].value for row in await select(request.app.state.engine, query, MAX_LISTED_GRAPHS)]


def describe(endpoint: str, settings: Settings, graphs: list[str]) -> list[ox.Triple]:
    """The service, its formats, features, limits and default dataset as triples."""
    sc = settings.base_iri + "ontology#"
    service = _n(endpoint)
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(service, RDF_TYPE, _n(SD + "Service")),
        ox.Triple(service, _n(SD + "endpoint"), service),
        ox.Triple(service, _n(SD + "supportedLanguage"), _n(SD + "SPARQL11Query")),
        ox.Triple(service, _n(SD + "feature"), _n(SD + "UnionDefaultGraph")),
        ox.Triple(
            service,
            _n(SD + "defaultEntailmentRegime"),
            _n("http://www.w3.org/ns/entailment/Simple"),
        ),
        ox.Triple(
            service,
            _n("http://www.w3.org/2000/01/rdf-schema#label"),
            ox.Literal("Sister Cities SPARQL endpoint", language="en"),
        ),
        ox.Triple(
            service,
            _n(sc + "queryTimeLimit"),
            ox.Literal(f"{settings.query_timeout:g}", datatype=_n(XSD + "decimal")),
        ),
        ox.Triple(
            service,
            _n(sc + "resultRowLimit"),
            ox.Literal(str(settings.max_result_rows), datatype=_n(XSD + "integer")),
        ),
        ox.Triple(service, _n(SD + "defaultDataset"), dataset),
        ox.Triple(dataset, RDF_TYPE, _n(SD + "Dataset")),
        ox.Triple(dataset, _n(SD + "defaultGraph"), default_graph),
        ox.Triple(default_graph, RDF_TYPE, _n(SD + "Graph")),
        ox.Triple(
            default_graph,
            _n(DCT_DESCRIPTION),
            ox.Literal(
                "The RDF merge of all named graphs but the auxiliary name index: each triple once, "
                "whichever sources state it.",
                language="en",
            ),
        ),
    ]
    for fmt in (*formats.of_kind(formats.Kind.RESULTS), *formats.of_kind(formats.Kind.GRAPH)):
        iri = (fmt.results or fmt.rdf).iri
        triples.append(ox.Triple(service, _n(SD + "resultFormat"), _n(iri)))
    for graph in graphs:
        named = ox.BlankNode()
        triples += [
            ox.Triple(dataset, _n(SD + "namedGraph"), named),
            ox.Triple(named, RDF_TYPE, _n(SD + "NamedGraph")),
            ox.Triple(named, _n(SD + "name"), _n(graph)),
        ]
        if graph == settings.base_iri + NAME_INDEX_GRAPH:
            triples.append(ox.Triple(named, _n(DCT_DESCRIPTION), ox.Literal(NAME_INDEX_NOTE, language="en")))
    return triples


def serialise(triples: list[ox.Triple], fmt: formats.Format, settings: Settings) -> bytes:
    return serialise_triples(triples, fmt, {**prefixes(settings.base_iri), "sd": SD})
