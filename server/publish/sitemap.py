"""The sitemap and robots.txt, read by crawlers of this very host: their URLs use its origin."""

from __future__ import annotations

import hashlib
from datetime import UTC
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.query.engine import DataVersion, QueryEngine, select
from server.store.sparql_text import string
from server.uris import Iris
from server.web.errors import NotFound
from server.web.represent import represent
from server.web.requests import origin
from server.web.services import per_version, services

SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
STATIC_PAGES = ("", "sparql", "ontology", "catalog", "dumps/")


def doc_expression(iris: Iris) -> str:
    """SPARQL that binds ?doc to the IRI of each thing under {base}id/ without its fragment."""
    return (
        f"?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), {string(iris.thing_space)})) "
        'BIND(IF(CONTAINS(STR(?s), "#"), STRBEFORE(STR(?s), "#"), STR(?s)) AS ?doc)'
    )


async def thing_count(engine: QueryEngine, iris: Iris) -> int:
    rows = await select(engine, f"SELECT (COUNT(DISTINCT ?doc) AS ?n) WHERE {{ {doc_expression(iris)} }}", 1)
    return int(rows[0]["n"].value) if rows else 0


async def counted_things(request: Request) -> int:
    """The number of things, counted once per data version (a scan of every triple)."""
    shared = services(request)
    return await per_version(request, "sitemap-things", lambda: thing_count(shared.engine, shared.settings.iris))


async def thing_iris(engine: QueryEngine, iris: Iris, offset: int, limit: int) -> list[str]:
    if limit <= 0:
        return []
    pattern = doc_expression(iris)
    query = f"SELECT DISTINCT ?doc WHERE {{ {pattern} }} ORDER BY ?doc OFFSET {offset} LIMIT {limit}"
    return [row["doc"].value for row in await select(engine, query, max(limit, 1))]


def document_url(origin: str, iris: Iris, iri: str) -> str:
    """{base}id/place/kuopio -> {origin}/doc/place/kuopio, as a URI (IRIs may hold any character)."""
    path = "/doc/" + iri[len(iris.thing_space) :]
    return origin + quote(path, safe="/:@!$&'()*+,;=-._~%")


def page_count(things: int, page_size: int) -> int:
    return max(1, -(-(len(STATIC_PAGES) + things) // page_size))


def urlset(urls: list[str], lastmod: str | None) -> bytes:
    return sitemap_xml("urlset", "url", urls, lastmod)


def sitemap_index(urls: list[str], lastmod: str | None) -> bytes:
    return sitemap_xml("sitemapindex", "sitemap", urls, lastmod)


def sitemap_xml(root: str, entry: str, urls: list[str], lastmod: str | None) -> bytes:
    """A sitemap or a sitemap index: the protocol writes both alike, with their own element names."""
    stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    entries = "".join(f"<{entry}><loc>{escape(url)}</loc>{stamp}</{entry}>\n" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + entries + f"</{root}>\n"
    ).encode()


async def page_urls(engine: QueryEngine, iris: Iris, origin: str, page: int, page_size: int) -> list[str]:
    """The URLs of one sitemap page: the site's own pages first, then one per thing."""
    start, end = (page - 1) * page_size, page * page_size
    static = [f"{origin}/{path}" for path in STATIC_PAGES][start:end]
    offset = max(0, start - len(STATIC_PAGES))
    limit = end - max(start, len(STATIC_PAGES))
    things = await thing_iris(engine, iris, offset, limit)
    return static + [document_url(origin, iris, iri) for iri in things]


def sitemap_page_size(engine: QueryEngine) -> int:
    return max(1, min(SITEMAP_LIMIT, engine.max_rows))


async def xml_answer(request: Request, variant: str, build) -> Response:
    """A sitemap: its URLs name this very host, so the host is part of the variant."""
    origin_key = hashlib.sha256(origin(request).encode()).hexdigest()[:8]

    async def xml(version: DataVersion) -> bytes:
        return await build(version.modified.astimezone(UTC).isoformat() if version.modified else None)

    return await represent(request, formats.XML, f"{variant}-{origin_key}", xml, vary=None)


async def sitemap(request: Request) -> Response:
    """GET /sitemap.xml: every page of the site, or an index of sitemaps beyond 50,000 URLs."""
    engine, iris = services(request).engine, services(request).settings.iris
    here, size = origin(request), sitemap_page_size(engine)

    async def build(lastmod: str | None) -> bytes:
        pages = page_count(await counted_things(request), size)
        if pages == 1:
            return urlset(await page_urls(engine, iris, here, 1, size), lastmod)
        locations = [str(request.url_for("sitemap_page", page=n)) for n in range(1, pages + 1)]
        return sitemap_index(locations, lastmod)

    return await xml_answer(request, "sitemap", build)


async def sitemap_page(request: Request) -> Response:
    """GET /sitemap-{n}.xml: one part of a sitemap too large for one file."""
    engine, iris = services(request).engine, services(request).settings.iris
    here, size, page = origin(request), sitemap_page_size(engine), request.path_params["page"]

    async def build(lastmod: str | None) -> bytes:
        if not 1 <= page <= page_count(await counted_things(request), size):
            raise NotFound(f"There is no sitemap part {page}; see {request.url_for('sitemap')}.")
        return urlset(await page_urls(engine, iris, here, page, size), lastmod)

    return await xml_answer(request, f"sitemap-{page}", build)


async def robots(request: Request) -> Response:
    """GET /robots.txt: everything may be crawled except query URLs, which are endless."""
    text = (
        "# Sister Cities Linked Data: every page may be crawled; SPARQL query URLs may not.\n"
        "User-agent: *\n"
        "Allow: /\n"
        "Disallow: /sparql?\n"
        f"Sitemap: {origin(request)}/sitemap.xml\n"
    )
    return Response(text, media_type=formats.TEXT.media_type)
