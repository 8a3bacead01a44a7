"""The home page and browsing by kind of thing.

Search by name is reconciliation's matching, so it
lives with it (server.reconcile.search)."""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.labels import Labels
from server.namespaces import RDFS
from server.query.engine import DataVersion, select
from server.query.facts import facts_about
from server.query.statistics import stored_statistics
from server.uris import local_url
from server.web.errors import BadRequest
from server.web.i18n import reader_language
from server.web.represent import represent
from server.web.requests import page_number
from server.web.services import services


async def counts(request: Request) -> tuple[list[tuple[str, int]], int | None]:
    """How many things of each of our classes, most first, and how many triples: from the
    statistics kept with the build (no scan on a request); (nothing, None) when it has none."""
    shared = services(request)
    iris = shared.settings.iris
    figures = await stored_statistics(shared.engine, iris)
    if figures is None:
        return [], None
    ours = [(cls, n) for cls, n in figures.classes if cls.startswith(iris.ontology_namespace)]
    return sorted(ours, key=lambda item: (-item[1], item[0])), figures.triples


async def labels_of(request: Request, iris: set[str]) -> Labels:
    shared = services(request)
    return (await facts_about(shared.engine, iris, shared.settings.iris)).labels


async def index(request: Request) -> Response:
    """GET /: what kinds of things there are, and how many of each."""
    language = reader_language(request)

    async def build(_: DataVersion) -> Response:
        classes, triples = await counts(request)
        labels = await labels_of(request, {iri for iri, _ in classes})
        context = {"classes": [(iri, *labels.choose(iri, language), n) for iri, n in classes], "triples": triples}
        return services(request).templates.TemplateResponse(request, "index.html", context)

    return await represent(request, formats.HTML, f"home-{language}", build, vary="Accept-Language")


async def browse(request: Request) -> Response:
    """GET /browse?class=IRI: the things of a class (and its subclasses), a page at a time.

    Pages follow the store's own order, as Datasette pages a table by rowid, and each page is
    sorted by name: with ORDER BY, every page sorted all the things of the class first (0.4-1.8 s
    per page at one million triples, against 0.2 ms for the first page without). The order is
    stable for a data version, so pages neither repeat nor skip anything.
    """
    class_iri = request.query_params.get("class", "")
    try:
        cls = ox.NamedNode(class_iri)
    except ValueError:
        raise BadRequest("Give the class to browse as ?class= with an absolute IRI.") from None
    shared = services(request)
    language, page = reader_language(request), page_number(request)

    async def build(_: DataVersion) -> Response:
        context = await browse_context(request, class_iri, cls, page, language)
        return shared.templates.TemplateResponse(request, "browse.html", context)

    return await represent(request, formats.HTML, f"browse-{language}-{page}", build, vary="Accept-Language")


async def browse_context(request: Request, class_iri: str, cls: ox.NamedNode, page: int, language: str) -> dict:
    """One page of the things of a class, sorted by name in the reader's language."""
    shared = services(request)
    size = shared.settings.page_size
    query = (
        f"SELECT DISTINCT ?s WHERE {{ ?s a ?type . ?type <{RDFS + 'subClassOf'}>* {cls} FILTER(isIRI(?s)) }} "
        f"LIMIT {size + 1} OFFSET {(page - 1) * size}"
    )
    found = [row["s"].value for row in await select(shared.engine, query)]
    labels = await labels_of(request, {*found, class_iri})
    base = shared.settings.base_iri
    items = sorted(
        ((labels.best(i, language), local_url(base, i) or i, i) for i in found[:size]), key=lambda t: t[0].lower()
    )
    return {
        "title": labels.best(class_iri, language),
        "class_iri": class_iri,
        "items": items,
        "page_number": page,
        "more": len(found) > size,
    }
