"""Dereferencing: things answer 303 See Other to their documents; documents are negotiated.

See server.uris for the URI policy. Every negotiated answer carries Vary, Content-Location (the
fixed variant chosen), Link rel="alternate" for the other variants, and validators tied to the
data version, so that 304 Not Modified answers revalidation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server import formats, uris
from server.linked.pages import page_context
from server.linked.resources import describe, description_quads, graph_sources
from server.namespaces import prefixes
from server.query.engine import select
from server.query.results import serialise_quads
from server.store.build import DATASET_PATH
from server.web import conditional
from server.web.errors import BadRequest, NotFound
from server.web.i18n import reader_language, translator
from server.web.negotiation import negotiate

MEMO_LIMIT = 64


async def per_version(request: Request, name: str, compute: Callable[[], Awaitable[Any]]) -> Any:
    """Compute something once per data version (the alignment to schema.org, the ontology...)."""
    state = request.app.state
    version = (await state.engine.data_version()).tag
    if version is None:
        return await compute()
    key = (name, version)
    if key not in state.memo:
        if len(state.memo) >= MEMO_LIMIT:
            state.memo.clear()
        state.memo[key] = await compute()
    return state.memo[key]


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"page must be a positive whole number, not '{raw}'.")
    return int(raw)


def alternates(path: str) -> str:
    return ", ".join(f'<{path}.{f.extension}>; rel="alternate"; type="{f.media_type}"' for f in uris.DOCUMENT_FORMATS)


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
        "SELECT ?term ?schema WHERE { { ?term <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?schema } UNION "
        "{ ?term <http://www.w3.org/2000/01/rdf-schema#subPropertyOf> ?schema } "
        'FILTER(STRSTARTS(STR(?schema), "http://schema.org/")) }'
    )

    async def compute() -> dict[str, str]:
        return {row["term"].value: row["schema"].value for row in await select(request.app.state.engine, query, 10_000)}

    return await per_version(request, "schema.org", compute)


async def document(request: Request) -> Response:
    """GET /doc/{rest}: the description of a thing, negotiated or as a fixed variant."""
    state = request.app.state
    base = state.settings.base_iri
    stem, fixed = uris.split_variant(request.path_params["rest"])
    iri = uris.thing_of_document(base, stem)
    fmt = fixed or negotiate(request.headers.get("accept"), uris.DOCUMENT_FORMATS)
    language, page = reader_language(request), page_number(request)
    path = f"/doc/{stem}"
    headers = {
        **conditional.validators(await state.engine.data_version(), f"doc-{fmt.key}-{language}-{page}"),
        "Vary": "Accept, Accept-Language",
        "Content-Location": f"{path}.{fmt.extension}",
        "Link": alternates(path),
    }
    if conditional.is_fresh(request, headers):
        return conditional.not_modified(headers)
    sources = await per_version(request, "graph-sources", lambda: graph_sources(state.engine))
    description = await describe(state.engine, iri, base, sources, page, state.settings.page_size)
    if not description.exists:
        raise NotFound(f"Nothing is known about <{iri}>.")
    if fmt is formats.HTML:
        words = translator(language)
        context = page_context(description, base, language, await schema_org_alignment(request), words)
        return state.templates.TemplateResponse(
            request,
            "resource.html",
            {
                "page": context,
                "description": description,
                "path": path,
                "formats": uris.DOCUMENT_FORMATS,
                "page_number": page,
            },
            headers=headers,
        )
    quads = description_quads(description, uris.document_iri(base, iri), base + DATASET_PATH)
    body = serialise_quads(quads, fmt, prefixes(base))
    return Response(body, headers=headers, media_type=fmt.media_type)
