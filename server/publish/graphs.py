"""What the service says of each named graph, for the graph's own document (/doc/graph/{name}).

Every statement of a page cites its source, and a statement's source is the graph it sits in
(data/sources.ttl says which source each graph was taken from). So every graph must have a
document, also those no curated file describes: the links derived when the store is built
(graph/derived), the graphs of the ontology files, and the service's own graphs (the statistics,
the name index). The VoID statistics give each graph's size; the graphs the service makes itself
get a title and a description in the four languages (server/web/words.toml); a graph the data do
not describe gets a title that names it. Unknown graphs stay 404.
"""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request

from server.labels import local_name
from server.namespaces import DCT, RDF_TYPE, SD, VOID, XSD
from server.query.engine import select
from server.query.statistics import stored_statistics
from server.uris import Iris
from server.web.i18n import all_words
from server.web.services import per_version, services
from server.web.supplements import Supplement, SupplementPart

SERVICE_GRAPHS = ("derived", "metadata", "name-index")  # their titles and descriptions are in web/words.toml


def in_languages(subject: ox.NamedNode, predicate: ox.NamedNode, texts: dict[str, str]) -> list[ox.Triple]:
    return [ox.Triple(subject, predicate, ox.Literal(text, language=lang)) for lang, text in texts.items()]


async def graph_sizes(request: Request) -> dict[str, int]:
    """The triples of each named graph of the data, from the statistics kept with the build."""
    shared = services(request)

    async def compute() -> dict[str, int]:
        figures = await stored_statistics(shared.engine, shared.settings.iris)
        return dict(figures.graphs) if figures else {}

    return await per_version(request, "graph-sizes", compute)


async def described_graphs(request: Request) -> set[str]:
    """The graphs the data describe themselves (data/sources.ttl): they need no title from us."""
    shared = services(request)

    async def compute() -> set[str]:
        graphs = sorted(await graph_sizes(request))
        if not graphs:
            return set()
        values = " ".join(f"<{g}>" for g in graphs)
        rows = await select(shared.engine, f"SELECT DISTINCT ?g WHERE {{ VALUES ?g {{ {values} }} ?g ?p ?o }}")
        return {row["g"].value for row in rows}

    return await per_version(request, "described-graphs", compute)


async def service_graph_exists(request: Request, iri: str) -> bool:
    async def compute() -> bool:
        rows = await select(services(request).engine, f"SELECT ?s WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }} LIMIT 1")
        return bool(rows)

    return await per_version(request, f"graph-exists-{iri}", compute)


async def graph_supplement(request: Request, iri: str) -> Supplement | None:
    """What VoID and the service say of the named graph `iri`; None for a graph that does not exist."""
    iris: Iris = services(request).settings.iris
    name = local_name(iri)
    sizes = await graph_sizes(request)
    service = name in SERVICE_GRAPHS and iri == iris.graph(name)
    if iri not in sizes and not (service and await service_graph_exists(request, iri)):
        return None
    graph, dataset = ox.NamedNode(iri), ox.NamedNode(iris.dataset)
    triples = [ox.Triple(graph, RDF_TYPE, SD.NamedGraph)]
    if iri in sizes:
        triples += [
            ox.Triple(graph, RDF_TYPE, VOID.Dataset),
            ox.Triple(graph, VOID.triples, ox.Literal(str(sizes[iri]), datatype=XSD.integer)),
            ox.Triple(dataset, VOID.subset, graph),
        ]
    words = all_words()
    if service:
        key = name.replace("-", "_")
        triples += in_languages(graph, DCT.title, words[f"graph_{key}_title"])
        triples += in_languages(graph, DCT.description, words[f"graph_{key}_description"])
    elif iri not in await described_graphs(request):
        titles = {lang: text.format(name=name) for lang, text in words["graph_named_title"].items()}
        triples += in_languages(graph, DCT.title, titles)
    void = iris.service(".well-known/void")
    title = ox.Triple(
        ox.NamedNode(void), DCT.title, ox.Literal("VoID description of Sister Cities Linked Data", language="en")
    )
    return Supplement((SupplementPart(void, (*triples, title)),), state="")
