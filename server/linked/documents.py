"""Dereferencing: things answer 303 See Other to their documents; documents are negotiated.

See server.uris for the URI policy. Every negotiated answer carries Vary, Content-Location (the
fixed variant chosen), Link rel="alternate" for the other variants, and validators tied to the
data version, so that 304 Not Modified answers revalidation.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server import formats, uris
from server.linked.pages import page_context
from server.linked.resources import describe, description_quads, graph_sources
from server.namespaces import RDFS, SCHEMA, prefixes
from server.query.engine import DataVersion, select
from server.query.results import serialise_quads
from server.store.sparql_text import is_iri
from server.web.errors import NotFound
from server.web.i18n import reader_language, translator
from server.web.negotiation import negotiate
from server.web.represent import represent
from server.web.requests import page_number
from server.web.services import per_version, services
from server.web.supplements import Supplements

PATH_SAFE = "/!$&'()*+,;=:@~"  # the characters a path may hold as they are (RFC 3986)


async def see_other_thing(request: Request) -> Response:
    """GET /id/{rest}: a thing, not a document: 303 to the document about it."""
    return see_other(request, f"/doc/{request.path_params['rest']}")


async def see_other_graph(request: Request) -> Response:
    """GET /graph/{name}: a named graph: 303 to the document describing it."""
    return see_other(request, f"/doc/graph/{request.path_params['name']}")


def see_other(request: Request, path: str) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(path + query, status_code=303, headers={"Cache-Control": "public, max-age=86400"})


async def schema_org_alignment(request: Request) -> dict[str, str]:
    """Our classes and properties mapped to the schema.org terms they specialise."""
    query = (
        f"SELECT ?term ?schema WHERE {{ {{ ?term <{RDFS + 'subClassOf'}> ?schema }} UNION "
        f"{{ ?term <{RDFS + 'subPropertyOf'}> ?schema }} "
        f'FILTER(STRSTARTS(STR(?schema), "{SCHEMA.iri}")) }}'
    )

    async def compute() -> dict[str, str]:
        return {row["term"].value: row["schema"].value for row in await select(services(request).engine, query, 10_000)}

    return await per_version(request, "schema.org", compute)


async def place_classes(request: Request) -> frozenset[str]:
    """sc:Place and its subclasses: the things a map could draw, if they had coordinates."""
    place = services(request).settings.iris.term("Place")
    query = f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS + 'subClassOf'}>* <{place}> }}"

    async def compute() -> frozenset[str]:
        return frozenset(row["c"].value for row in await select(services(request).engine, query, 10_000))

    return await per_version(request, "place-classes", compute)


async def document(request: Request) -> Response:
    """GET /doc/{rest}: the description of a thing, negotiated or as a fixed variant."""
    shared = services(request)
    iris = shared.settings.iris
    stem, fixed = uris.split_variant(request.path_params["rest"])
    iri = uris.thing_of_document(iris.base, stem)
    if not is_iri(iri):
        raise NotFound(f"There is no document at /doc/{stem}: <{iri}> is not an IRI.")
    fmt = fixed or negotiate(request.headers.get("accept"), uris.DOCUMENT_FORMATS)
    language, page = reader_language(request), page_number(request)
    path = quote(f"/doc/{stem}", safe=PATH_SAFE)  # as it goes into headers and links: ASCII, percent-encoded
    supplement = await shared.get(Supplements).about(request, iri)

    async def build(_: DataVersion) -> bytes | Response:
        sources = await per_version(request, "graph-sources", lambda: graph_sources(shared.engine))
        size = shared.settings.page_size
        description = await describe(shared.engine, iri, iris, sources, page, size, supplement)
        if not description.exists:
            raise NotFound(f"Nothing is known about <{iri}>.")
        if fmt is formats.HTML:
            words = translator(language)
            alignment, places = await schema_org_alignment(request), await place_classes(request)
            context = page_context(description, iris.base, language, alignment, words, places)
            page_data = {"page": context, "description": description, "path": path}
            extra = {"formats": uris.DOCUMENT_FORMATS, "page_number": page}
            return shared.templates.TemplateResponse(request, "resource.html", {**page_data, **extra})
        quads = description_quads(description, uris.document_iri(iris.base, iri), iris.dataset)
        return serialise_quads(quads, fmt, prefixes(iris.base))

    headers = {"Content-Location": f"{path}.{fmt.extension}", "Link": uris.alternate_links(path, uris.DOCUMENT_FORMATS)}
    variant = f"doc-{fmt.key}-{language}-{page}" + (f"-{supplement.state}" if supplement else "")
    return await represent(request, fmt, variant, build, vary="Accept, Accept-Language", headers=headers)
