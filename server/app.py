"""create_app(settings): the one application object, with every route registered here."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from server import __version__
from server.engines import make_engine
from server.linked import browse, documents, vocabulary
from server.openapi import describe
from server.publish import catalogue, dumps, quality, sitemap, void
from server.publish.dataset import dataset_supplement
from server.publish.graphs import graph_supplement
from server.query.cache import CachingEngine
from server.query.engine import EngineError, QueryEngine
from server.query.pool import preload_into_new_processes
from server.reconcile import api as reconcile
from server.reconcile import extend, suggest
from server.reconcile import search as name_search
from server.settings import Settings
from server.sparql import protocol as sparql
from server.sparql.direct import GZIP_MINIMUM, DirectQueries
from server.sparql.examples import Examples
from server.validation import service as validation
from server.validation.validator import Shapes
from server.validation.workers import ValidationService
from server.web.errors import HTTPProblem
from server.web.guards import RequestGuard
from server.web.problems import handle_engine_error, handle_http_exception, handle_problem
from server.web.ratelimit import RateLimits
from server.web.rendered import RenderedCache
from server.web.security import SecurityHeaders
from server.web.services import Services, services
from server.web.shortcut import STATE_KEY as SHORTCUT
from server.web.shortcut import Shortcut
from server.web.static import CachedStaticFiles
from server.web.supplements import Supplements
from server.web.templating import make_templates

if TYPE_CHECKING:
    import httpx

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
READ = ["GET", "HEAD"]


async def health(request: Request) -> Response:
    """Liveness for load balancers and monitoring, with this process's figures: its caches', and
    how many lookups its HTTP protocol answered at once."""
    shared = services(request)
    engine = shared.engine
    body = {"status": "ok", "software": __version__, "data": (await engine.data_version()).tag}
    body["lookups_answered_at_once"] = request.app.direct.answered_at_once  # server.web.shortcut
    if isinstance(engine, CachingEngine):
        body["result_cache"] = engine.figures()
    if shared.rendered.enabled:
        body["rendered_cache"] = shared.rendered.figures()
    return JSONResponse(body)


async def openapi_description(request: Request) -> Response:
    """The OpenAPI description of every route (server.openapi)."""
    return JSONResponse(described(services(request).settings))


@functools.lru_cache(maxsize=4)
def described(settings: Settings) -> dict:
    return describe(settings)


SETTINGS_ENVIRONMENT = "SISTERCITIES_SERVER_SETTINGS"  # JSON, for the processes of `--http-workers`


def app_from_environment() -> Site:
    """The application of one of several HTTP processes, whose settings the parent handed down."""
    return create_app(Settings.model_validate_json(os.environ[SETTINGS_ENVIRONMENT]))


# Reads open to any origin, the protocol's headers readable by scripts.
CORS = {
    "allow_origins": ["*"],
    "allow_methods": ["GET", "HEAD", "POST", "OPTIONS"],
    "allow_headers": ["*"],
    "expose_headers": sparql.EXPOSED_HEADERS.split(", "),
    "max_age": 86400,
}


class Site(FastAPI):
    """The application: plain query requests are answered first (server.sparql.direct), before
    FastAPI's own layers, with what those and our middleware would add; the rest by them."""

    def __init__(self, direct: DirectQueries, **options: Any) -> None:
        super().__init__(**options)
        self.direct = direct

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # as Starlette sets it, for the services the endpoint's parts use
        if not await self.direct.answered(scope, receive, send):
            await super().__call__(scope, receive, send)


def middleware(settings: Settings, rates: RateLimits) -> list[Middleware]:
    """The security headers (every response carries them, CORS preflights too), CORS, the guards
    (limits on the request, UTF-8, rates) that refuse a request before any work, and gzip for
    answers of 1 KB and more."""
    return [
        Middleware(SecurityHeaders),
        Middleware(CORSMiddleware, **CORS),
        Middleware(RequestGuard, settings=settings, rates=rates),
        Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM),
    ]


def direct_queries(settings: Settings, rates: RateLimits) -> DirectQueries:
    """The direct layer, counting clients in the guards' own `rates` and adding CORS's headers."""
    cors_headers = CORSMiddleware(app=None, **CORS).simple_headers  # type: ignore[arg-type]  # its headers only
    return DirectQueries(settings=settings, rates=rates, cors_headers=cors_headers)


def create_app(settings: Settings, engine: QueryEngine | None = None) -> Site:
    """The application over the store the settings name, or over `engine` when one is given
    (tests, benchmarks and `sistercities get` bring their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Shortcut]]:
        preload_into_new_processes(settings.workers_malloc)  # before any worker process is started
        shared.start(engine or make_engine(settings))
        validation_service = shared.get(ValidationService)
        # The validation workers load pySHACL for seconds: queries need not wait for them.
        validation_started = asyncio.create_task(validation_service.start())
        await shared.engine.start()
        warming = asyncio.create_task(warm_up(app, shared))
        try:  # the server's HTTP protocol asks the shortcut first (server.web.shortcut)
            yield {SHORTCUT: functools.partial(direct.at_once, shared.engine)}
        finally:
            warming.cancel()
            validation_started.cancel()
            await asyncio.gather(shared.engine.close(), validation_service.close())

    rates = RateLimits(settings)  # one count of each client, whichever way its request goes
    direct = direct_queries(settings, rates)
    app = Site(
        direct,
        title="Sister Cities Linked Data",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the routes are plain routes, which FastAPI's own description would leave out
        middleware=middleware(settings, rates),
    )
    templates = make_templates(app, HERE / "templates")
    shared = Services(settings, templates, rendered=RenderedCache(settings.result_cache_bytes))
    for state in (
        Examples.load(settings.queries_dir),
        Shapes(settings),
        ValidationService(settings),
        quality.QualityReports(settings),
        dumps.DumpStore(settings.cache_dir, left_out=(settings.iris.metadata_graph, settings.iris.name_index_graph)),
    ):
        shared.provide(state)
    supplements = Supplements()
    supplements.add(settings.iris.dataset, dataset_supplement)  # the catalogue's and VoID's, on its page
    supplements.add_space(settings.iris.graph(""), graph_supplement)  # every named graph has a page
    shared.provide(supplements)
    app.state.services = shared
    register_routes(app)
    app.add_exception_handler(HTTPProblem, handle_problem)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)  # unknown paths, methods
    app.add_exception_handler(EngineError, handle_engine_error)
    return app


async def warm_up(app: FastAPI, shared: Services) -> None:
    """Prepare, right after a start, what the first visitors would otherwise wait on: every
    template compiled, the home page's figures and labels, the search index opened and its name
    keys loaded. In the background, so the first answer is not delayed by it. Only cheap pages are
    asked for: the dataset's own page, for one, counts the whole store the first time."""
    import httpx  # a client library, imported only once the server answers

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for path in ("/", "/search?q=warm"):  # the pages asked for first, so first
            try:
                await client.get(path, headers={"Accept": "text/html"})
            except httpx.HTTPError as error:  # only the warmth is lost
                log.info("warming up %s: %s", path, error)
    templates = shared.templates.env
    await asyncio.to_thread(lambda: [templates.get_template(name) for name in templates.list_templates()])


@asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that asks the application directly, without a server or a socket, with the
    application started (its lifespan) for as long as the client is open."""
    import httpx  # a client library: only `sistercities get` and the tests ask in-process

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client,
    ):
        yield client


def register_routes(app: FastAPI) -> None:
    """Every route of the site, in one place (server.uris is the URI policy they follow)."""
    route = app.add_route
    route("/", browse.index, methods=READ, name="index")
    route("/health", health, methods=READ, name="health")
    route("/openapi.json", openapi_description, methods=READ, name="openapi")
    # The SPARQL 1.1 Protocol, its service description and query UI.
    route("/sparql", sparql.endpoint, methods=["GET", "HEAD", "POST"], name="sparql")
    # Linked data: things 303 to their documents; documents are negotiated.
    route("/id/{rest:path}", documents.see_other_thing, methods=READ, name="thing")
    route("/graph/{name}", documents.see_other_graph, methods=READ, name="graph")
    route("/doc/{rest:path}", documents.document, methods=READ, name="document")
    route("/ontology", vocabulary.ontology, methods=READ, name="ontology")
    route("/ontology.{ext}", vocabulary.ontology, methods=READ, name="ontology-variant")
    route("/ontology/{version}", vocabulary.ontology, methods=READ, name="ontology-version")
    route("/shapes", vocabulary.shapes, methods=READ, name="shapes")
    route("/shapes.{ext}", vocabulary.shapes, methods=READ, name="shapes-variant")
    route("/search", name_search.search, methods=READ, name="search")  # reconciliation's matching, for people
    route("/browse", browse.browse, methods=READ, name="browse")
    # For harvesters: VoID, the DCAT-AP catalogue, the quality report, dumps, sitemap.
    route("/.well-known/void", void.void_description, methods=READ, name="void")
    route("/.well-known/void.{ext}", void.void_file, methods=READ, name="void_file")
    route("/catalog", catalogue.catalogue, methods=READ, name="catalog")
    route("/catalog.{ext}", catalogue.catalogue_file, methods=READ, name="catalog_file")
    route("/validation-report", quality.validation_report, methods=READ, name="validation_report")
    route("/validation-report.{ext}", quality.validation_report_file, methods=READ, name="validation_report_file")
    route("/dumps/", dumps.listing, methods=READ, name="dumps")
    route("/dumps/{name}", dumps.dump, methods=READ, name="dump")
    route("/dumps/{version}/{name}", dumps.dump_of_version, methods=READ, name="dump_version")
    route("/sitemap.xml", sitemap.sitemap, methods=READ, name="sitemap")
    route("/sitemap-{page:int}.xml", sitemap.sitemap_page, methods=READ, name="sitemap_page")
    route("/robots.txt", sitemap.robots, methods=READ, name="robots")
    # Validation of anyone's data against our shapes.
    route("/validate", validation.form_page, methods=READ, name="validate-form")
    route("/validate/starter.ttl", validation.starter, methods=READ, name="validate-starter")
    route("/validate", validation.validate, methods=["POST"], name="validate")
    # The W3C Reconciliation Service API (OpenRefine).
    route("/reconcile", reconcile.endpoint, methods=["GET", "HEAD", "POST"], name="reconcile")
    route("/reconcile/match", reconcile.match_v1, methods=["POST"], name="reconcile-match")
    route("/reconcile/extend", reconcile.extend_v1, methods=["POST"], name="reconcile-extend")
    route("/reconcile/extend/propose", extend.propose, methods=READ, name="reconcile-propose")
    route("/reconcile/suggest/entity", suggest.suggest_entity, methods=READ, name="reconcile-suggest-entity")
    route("/reconcile/suggest/type", suggest.suggest_type, methods=READ, name="reconcile-suggest-type")
    route("/reconcile/suggest/property", suggest.suggest_property, methods=READ, name="reconcile-suggest-property")
    route("/reconcile/preview", suggest.preview, methods=READ, name="reconcile-preview")
    route("/reconcile/flyout", suggest.flyout, methods=READ, name="reconcile-flyout")
    app.mount("/static", CachedStaticFiles(directory=HERE / "static"), name="static")
