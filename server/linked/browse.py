"""The home page, browsing by kind of thing, and search by name.

The home page, browsing by kind of thing, and search by name in any of the four languages."""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server.labels import Labels
from server.namespaces import RDFS, SKOS
from server.query.engine import select
from server.query.facts import facts_about
from server.query.statistics import stored_statistics
from server.uris import local_url
from server.web.errors import BadRequest
from server.web.i18n import reader_language
from server.web.requests import page_number
from server.web.services import services

SEARCH_LIMIT = 100
SEARCHED_NAMES = (SKOS + "prefLabel", SKOS + "altLabel", SKOS + "hiddenLabel", RDFS + "label")


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
    classes, triples = await counts(request)
    labels = await labels_of(request, {iri for iri, _ in classes})
    language = reader_language(request)
    context = {"classes": [(iri, labels.best(iri, language), n) for iri, n in classes], "triples": triples}
    return services(request).templates.TemplateResponse(request, "index.html", context)


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
    page, size = page_number(request), shared.settings.page_size
    query = (
        f"SELECT DISTINCT ?s WHERE {{ ?s a ?type . ?type <{RDFS + 'subClassOf'}>* {cls} FILTER(isIRI(?s)) }} "
        f"LIMIT {size + 1} OFFSET {(page - 1) * size}"
    )
    found = [row["s"].value for row in await select(shared.engine, query)]
    labels = await labels_of(request, {*found, class_iri})
    language = reader_language(request)
    base = shared.settings.base_iri
    items = sorted(
        ((labels.best(i, language), local_url(base, i) or i, i) for i in found[:size]), key=lambda t: t[0].lower()
    )
    context = {
        "title": labels.best(class_iri, language),
        "class_iri": class_iri,
        "items": items,
        "page_number": page,
        "more": len(found) > size,
    }
    return shared.templates.TemplateResponse(request, "browse.html", context)


async def search(request: Request) -> Response:
    """GET /search?q=...: things whose names contain the words, in any language, ignoring case."""
    words = request.query_params.get("q", "").strip()
    if len(words) > 200:
        raise BadRequest("The search text is longer than 200 characters.")
    shared = services(request)
    results = []
    if words:
        needle = str(ox.Literal(words.lower()))
        # A path of the name properties: the store reads only their triples (not all, then filters).
        names = "|".join(f"<{p}>" for p in SEARCHED_NAMES)
        query = (
            f"SELECT DISTINCT ?s WHERE {{ ?s {names} ?name "
            f"FILTER(isIRI(?s) && CONTAINS(LCASE(STR(?name)), {needle})) }} LIMIT {SEARCH_LIMIT}"
        )
        found = [row["s"].value for row in await select(shared.engine, query)]
        facts = await facts_about(shared.engine, set(found), shared.settings.iris)
        type_labels = await labels_of(request, {t for i in found for t in facts.types.get(i, ())})
        language = reader_language(request)
        base = shared.settings.base_iri
        results = sorted(
            (
                facts.labels.best(i, language),
                local_url(base, i) or i,
                sorted(type_labels.best(t, language) for t in facts.types.get(i, ()) if "ontology#" in t),
            )
            for i in found
        )
    context = {"q": words, "results": results}
    return shared.templates.TemplateResponse(request, "search.html", context)
