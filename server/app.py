"""create_app(settings): the one application object, with every route registered here."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from server import __version__
from server.linked import browse, documents, vocabulary
from server.namespaces import prefixes
from server.publish import metadata
from server.query.cache import CachingEngine, with_cache
from server.query.engine import DataVersion, EngineError, QueryEngine
from server.query.pool import preload_into_workers
from server.query.remote import RemoteEngine
from server.query.workers import ForkingZygote, StoreSpec, WorkerPool, read_only_openers
from server.reconcile import api as reconcile
from server.settings import Settings
from server.sparql import protocol as sparql
from server.sparql.examples import load_examples
from server.store.build import Dataset, ensure_disk_store
from server.validation import service as validation_service
from server.validation.service import ValidationService
from server.validation.validator import read_shapes
from server.web.errors import HTTPProblem, handle_engine_error, handle_problem
from server.web.templating import make_templates

HERE = Path(__file__).resolve().parent


def make_engine(settings: Settings) -> QueryEngine:
    """The store's engine behind the result cache (unless the cache is turned off)."""
    return with_cache(make_store_engine(settings), settings.result_cache_bytes)


def make_store_engine(settings: Settings) -> QueryEngine:
    """The embedded store (in memory or on disk) or a remote SPARQL endpoint."""
    namespaces = prefixes(settings.base_iri)
    if settings.sparql_endpoint:
        return RemoteEngine(
            settings.sparql_endpoint,
            settings.query_timeout,
            settings.max_result_rows,
            settings.base_iri,
            namespaces,
        )
    dataset = Dataset.from_settings(settings)
    version = DataVersion(dataset.version, dataset.last_modified)
    if settings.store_dir is not None:
        ensure_disk_store(dataset, settings.store_dir)
        factory = read_only_openers(settings.store_dir, namespaces)
    else:
        factory = ForkingZygote(StoreSpec(settings.model_dump_json()), namespaces)
    return WorkerPool(
        factory,
        settings.query_workers,
        settings.query_timeout,
        settings.max_result_rows,
        version,
        reserved=settings.reserved_workers,
    )


async def health(request: Request) -> Response:
    """Liveness for load balancers and monitoring, with this process's result cache figures."""
    engine = request.app.state.engine
    body = {"status": "ok", "software": __version__, "data": (await engine.data_version()).tag}
    if isinstance(engine, CachingEngine):
        body["result_cache"] = engine.figures()
    return JSONResponse(body)


SETTINGS_ENVIRONMENT = "SISTERCITIES_SERVER_SETTINGS"  # JSON, for the processes of `--http-workers`


def app_from_environment() -> FastAPI:
    """The application of one of several HTTP processes, whose settings the parent handed down."""
    return create_app(Settings.model_validate_json(os.environ[SETTINGS_ENVIRONMENT]))


def middleware() -> list[Middleware]:
    """CORS outermost (reads open to any origin, the protocol's headers readable by scripts), then
    gzip for answers of 1 KB and more."""
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=sparql.EXPOSED_HEADERS.split(", "),
            max_age=86400,
        ),
        Middleware(GZipMiddleware, minimum_size=1024),
    ]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        preload_into_workers(settings.worker_malloc)  # before any worker process is started
        app.state.engine = make_engine(settings)
        app.state.validation = ValidationService(settings)
        await asyncio.gather(app.state.engine.start(), app.state.validation.start())
        try:
            yield
        finally:
            await asyncio.gather(app.state.engine.close(), app.state.validation.close())

    app = FastAPI(
        title="Sister Cities Linked Data",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        middleware=middleware(),
    )
    app.state.settings = settings
    app.state.templates = make_templates(app, HERE / "templates")
    app.state.examples = load_examples(settings.queries_dir)
    app.state.shapes = read_shapes(settings)
    app.state.memo = {}  # derived once per data version (see documents.per_version)

    read = ["GET", "HEAD"]
    app.add_route("/sparql", sparql.endpoint, methods=["GET", "HEAD", "POST"], name="sparql")
    app.add_route("/", browse.index, methods=read, name="index")
    app.add_route("/search", browse.search, methods=read, name="search")
    app.add_route("/browse", browse.browse, methods=read, name="browse")
    # Things 303 to their documents; documents are negotiated (server/uris.py is the policy).
    app.add_route("/id/{rest:path}", documents.see_other_thing, methods=read, name="thing")
    app.add_route("/graph/{name}", documents.see_other_graph, methods=read, name="graph")
    app.add_route("/doc/{rest:path}", documents.document, methods=read, name="document")
    app.add_route("/ontology", vocabulary.ontology, methods=read, name="ontology")
    app.add_route("/ontology.{ext}", vocabulary.ontology, methods=read, name="ontology-variant")
    app.add_route("/ontology/{version}", vocabulary.ontology, methods=read, name="ontology-version")
    app.add_route("/shapes", vocabulary.shapes, methods=read, name="shapes")
    app.add_route("/shapes.{ext}", vocabulary.shapes, methods=read, name="shapes-variant")
    app.add_route("/validate", validation_service.form_page, methods=read, name="validate-form")
    app.add_route("/validate", validation_service.validate, methods=["POST"], name="validate")
    app.add_route("/health", health, methods=read, name="health")
    metadata.register(app)  # VoID, DCAT catalogue, validation report, /dumps/, sitemap, robots.txt
    reconcile.register(app)  # W3C Reconciliation Service API (OpenRefine) at /reconcile
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_exception_handler(HTTPProblem, handle_problem)
    app.add_exception_handler(EngineError, handle_engine_error)
    return app
