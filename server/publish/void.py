"""The VoID description of the dataset at /.well-known/void.

The VoID description of the dataset at /.well-known/void: what is true of it, and the
statistics stored when the store was built (server.store.statistics), read back with one query."""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.namespaces import DCT, FOAF, OWL, RDF, RDFS, VOID
from server.publish import dumps
from server.publish.terms import (
    CC_BY,
    DESCRIPTION,
    TITLE,
    date_time,
    in_language,
    namespace_of,
    node,
    serialise,
    triple,
)
from server.publish.views import void_view
from server.query.engine import DataVersion
from server.query.facts import facts_about
from server.query.statistics import stored_statistics
from server.store.statistics import Figures, statistics_triples
from server.uris import Iris
from server.web.errors import NotFound
from server.web.i18n import reader_language
from server.web.negotiation import negotiate
from server.web.represent import by_extension, represent, variant_headers
from server.web.services import services


def dump_url(iris: Iris, spec: dumps.DumpSpec) -> str:
    return iris.service(f"dumps/{spec.name}")


def void_triples(iris: Iris, figures: Figures | None, version: DataVersion) -> list[ox.Triple]:
    """The VoID description: what is true of the dataset, its version, and the stored statistics."""
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
    if version.tag:
        triples.append(triple(dataset, OWL.versionInfo, ox.Literal(version.tag)))
    if version.modified:
        triples.append(triple(dataset, DCT.modified, date_time(version.modified)))
    for spec in dumps.DUMPS:
        triples.append(triple(dataset, VOID.dataDump, node(dump_url(iris, spec))))
    for fmt in dict.fromkeys(spec.fmt for spec in dumps.DUMPS):
        triples.append(triple(dataset, VOID.feature, node(fmt.rdf.iri)))
    if figures is not None:
        used = {namespace_of(term) for term, _ in (*figures.classes, *figures.properties)}
        triples += [triple(dataset, VOID.vocabulary, node(namespace)) for namespace in sorted(used)]
        triples += statistics_triples(figures, iris)
    return triples


GRAPH_FORMATS = formats.of_kind(formats.Kind.GRAPH)
VOID_FORMATS = (*GRAPH_FORMATS, formats.HTML)  # RDF unless a page is preferred: programs get Turtle
VOID_PATH = "/.well-known/void"


async def void_response(request: Request, fmt: formats.Format, negotiated: bool) -> Response:
    shared = services(request)
    iris = shared.settings.iris
    language = reader_language(request)

    async def build(version: DataVersion) -> bytes | Response:
        triples = void_triples(iris, await stored_statistics(shared.engine, iris), version)
        if fmt is formats.HTML:
            named = {t.object.value for t in triples if isinstance(t.object, ox.NamedNode)}
            labels = (await facts_about(shared.engine, named, iris)).labels
            context = {"view": void_view(triples, iris, language, labels), "formats": GRAPH_FORMATS}
            return shared.templates.TemplateResponse(request, "void.html", context)
        return serialise(triples, fmt, iris.base)

    headers = variant_headers(VOID_PATH, fmt, VOID_FORMATS, negotiated)
    variant = f"void-{fmt.key}-{language if fmt is formats.HTML else ''}"
    vary = "Accept, Accept-Language" if negotiated else ("Accept-Language" if fmt is formats.HTML else None)
    return await represent(request, fmt, variant, build, vary=vary, headers=headers)


async def void_description(request: Request) -> Response:
    """GET /.well-known/void: the VoID description with the stored statistics (Turtle by default,
    a page for browsers)."""
    return await void_response(request, negotiate(request.headers.get("accept"), VOID_FORMATS), True)


async def void_file(request: Request) -> Response:
    """GET /.well-known/void.ttl, .rdf, .jsonld, .nt, .html: VoID in one fixed format."""
    fmt = by_extension(request.path_params["ext"], VOID_FORMATS)
    if fmt is None:
        offered = ", ".join(f"{VOID_PATH}.{f.extension}" for f in VOID_FORMATS)
        raise NotFound(f"The VoID description is published as {offered} (or {VOID_PATH}, negotiated).")
    return await void_response(request, fmt, False)
