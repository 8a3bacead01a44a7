"""The VoID description of the dataset at /.well-known/void.

The VoID description of the dataset at /.well-known/void: what is true of it, and the
statistics stored when the store was built (server.store.statistics), read back with one query."""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.namespaces import DCT, FOAF, RDF, RDFS, VOID
from server.publish import dumps
from server.publish.stored import example_places, stored_metadata
from server.publish.terms import CC_BY, DESCRIPTION, TITLE, in_language, namespace_of, node, serialise, triple
from server.query.engine import DataVersion
from server.uris import Iris
from server.web.negotiation import negotiate
from server.web.represent import represent
from server.web.services import services


def dump_url(iris: Iris, spec: dumps.DumpSpec) -> str:
    return iris.service(f"dumps/{spec.name}")


def void_triples(iris: Iris, stored: list[ox.Triple], examples: list[str]) -> list[ox.Triple]:
    """The VoID description: what is true of the dataset, and the stored statistics."""
    dataset = node(iris.dataset)
    document = node(iris.service(".well-known/void"))
    triples = [
        triple(document, RDF.type, VOID.DatasetDescription),
        triple(document, DCT.title, in_language("VoID description of Sister Cities Linked Data", "en")),
        triple(document, FOAF.primaryTopic, dataset),
        triple(dataset, RDF.type, VOID.Dataset),
        *(triple(dataset, DCT.title, in_language(text, lang)) for lang, text in TITLE.items()),
        *(triple(dataset, DCT.description, in_language(text, lang)) for lang, text in DESCRIPTION.items()),
        triple(dataset, DCT.license, CC_BY),
        triple(dataset, DCT.publisher, node(iris.publisher)),
        triple(dataset, FOAF.homepage, node(iris.base)),
        triple(dataset, VOID.sparqlEndpoint, node(iris.service("sparql"))),
        triple(dataset, VOID.uriSpace, ox.Literal(iris.thing_space)),
        triple(dataset, RDFS.seeAlso, node(iris.service("catalog"))),
    ]
    for spec in dumps.DUMPS:
        triples.append(triple(dataset, VOID.dataDump, node(dump_url(iris, spec))))
    for fmt in dict.fromkeys(spec.fmt for spec in dumps.DUMPS):
        triples.append(triple(dataset, VOID.feature, node(fmt.rdf.iri)))
    for example in examples:
        triples.append(triple(dataset, VOID.exampleResource, node(example)))
    used = {
        namespace_of(t.object.value)
        for t in stored
        if t.predicate in (VOID["class"], VOID.property) and isinstance(t.object, ox.NamedNode)
    }
    for namespace in sorted(used):
        triples.append(triple(dataset, VOID.vocabulary, node(namespace)))
    return triples + stored


async def void_description(request: Request) -> Response:
    """GET /.well-known/void: the VoID description with the stored statistics."""
    fmt = negotiate(request.headers.get("accept"), formats.of_kind(formats.Kind.GRAPH))
    shared = services(request)
    iris = shared.settings.iris

    async def build(_: DataVersion) -> bytes:
        stored = await stored_metadata(shared.engine, iris)
        return serialise(void_triples(iris, stored, await example_places(shared.engine, iris)), fmt, iris.base)

    return await represent(request, fmt, f"void-{fmt.key}", build)
