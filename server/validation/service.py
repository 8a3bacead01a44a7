"""POST /validate: check anyone's RDF against our shapes, for programs and for people.

The same Validator as the `validate` command, so both give the same results. pySHACL cannot be
interrupted, so validation runs in a worker process that is killed at the time limit; the worker
parses the submission, tells us which IRIs it mentions, we look their types up in the store
(which may be remote), and it validates. Nothing submitted is stored or logged.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph as ox
import rdflib
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import formats
from server.query.engine import QueryEngine, select
from server.query.pool import PoolBusy, ProcessPool, Spawner
from server.settings import Settings
from server.sparql.protocol import read_body
from server.validation.validator import (
    RdfSyntaxError,
    ValidationError,
    Validator,
    iris_in,
    parse_rdf,
    write_published_report,
)
from server.web.errors import BadRequest, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType
from server.web.negotiation import negotiate

TYPE_BATCH = 500
WORKER_START_SECONDS = 30.0
PUBLISHED_REPORT_SECONDS = 600.0
BUSY = "All validation workers are busy; try again shortly."
MULTIPART = "multipart/form-data"


# --- In the worker -----------------------------------------------------------------------------


def validation_worker_main(conn: Connection, settings_json: str) -> None:
    """Parse a submission, report the IRIs it mentions, then validate it with their types."""
    settings = Settings.model_validate_json(settings_json)
    validator = Validator.from_settings(settings)
    conn.send("ready")
    graph: rdflib.Graph | None = None
    source = ""
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            job = conn.recv()
            if job[0] == "parse":
                _, data, format_key, source = job
                try:
                    graph = parse_rdf(data, formats.by_key(format_key), source, settings.base_iri)
                except RdfSyntaxError as error:
                    conn.send(("syntax", error.message, error.line, error.column))
                    continue
                except ValidationError as error:
                    conn.send(("failed", str(error)))
                    continue
                conn.send(("iris", sorted(str(i) for i in iris_in(graph))))
            elif job[0] == "published":
                report = write_published_report(settings)
                conn.send(("published", report.conforms))
            elif job[0] == "validate":
                types = [(rdflib.URIRef(s), rdflib.URIRef(t)) for s, t in job[1]]
                report = validator.validate(graph, dict.fromkeys(graph.subjects(), source), types)
                conn.send(("report", report.as_dict(), report.as_turtle()))
                graph = None


# --- In the server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    report: dict
    turtle: str


async def types_of(engine: QueryEngine, iris: list[str]) -> list[tuple[str, str]]:
    """The rdf:type statements the published data make about the IRIs a submission mentions."""
    found = []
    for start in range(0, len(iris), TYPE_BATCH):
        values = " ".join(f"<{iri}>" for iri in iris[start : start + TYPE_BATCH])
        rows = await select(engine, f"SELECT ?s ?type WHERE {{ VALUES ?s {{ {values} }} ?s a ?type }}", 100_000)
        found += [(row["s"].value, row["type"].value) for row in rows if isinstance(row["type"], ox.NamedNode)]
    return found


class ValidationService:
    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.validation_timeout
        spawner = Spawner(validation_worker_main, (settings.model_dump_json(),))
        # A replacement worker takes a few seconds to start (it loads pySHACL and the shapes).
        wait = max(settings.validation_timeout, WORKER_START_SECONDS)
        self.pool = ProcessPool(spawner, settings.validation_workers, acquire_timeout=wait)

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        await self.pool.close()

    async def publish_report(self) -> None:
        """Validate the published files in a worker (pySHACL would hold the event loop's GIL for
        seconds in a thread) and keep the report in the cache directory."""
        try:
            async with self.pool.lease() as worker:
                await self.pool.call(worker, ("published",), max(self.timeout, PUBLISHED_REPORT_SECONDS))
        except PoolBusy:
            raise ServiceUnavailable(
                "All validation workers are busy; try again shortly.", {"Retry-After": "5"}
            ) from None
        except TimeoutError:
            raise ServiceUnavailable("Validating the published data took too long and was stopped.") from None

    async def validate(self, data: bytes, fmt: formats.Format, source: str, engine: QueryEngine) -> Outcome:
        try:
            async with self.pool.lease() as worker:
                reply = await self.pool.call(worker, ("parse", data, fmt.key, source), self.timeout)
                if reply[0] == "iris":
                    types = await types_of(engine, reply[1])
                    reply = await self.pool.call(worker, ("validate", types), self.timeout)
        except PoolBusy:
            raise ServiceUnavailable(
                "All validation workers are busy; try again shortly.", {"Retry-After": "5"}
            ) from None
        except TimeoutError:
            raise ServiceUnavailable(f"Validation took longer than {self.timeout:g} seconds and was stopped.") from None
        if reply[0] == "syntax":
            _, message, line, column = reply
            raise BadRequest(str(RdfSyntaxError(source, message, line, column)))
        if reply[0] == "failed":
            raise BadRequest(reply[1])
        return Outcome(reply[1], reply[2])


# --- HTTP --------------------------------------------------------------------------------------


def fix_hints(shapes: rdflib.Graph) -> dict[str, str]:
    """How to meet each node shape, in its own words (sh:description), by prefixed name."""
    hints = {}
    for shape, description in shapes.subject_objects(rdflib.SH.description):
        with contextlib.suppress(ValueError):
            hints[shape.n3(shapes.namespace_manager)] = str(description)
    return hints


async def submission(request: Request, settings: Settings) -> tuple[bytes, formats.Format, str, bool]:
    """The RDF sent, its format and a name for it; True when it came from the HTML form."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + 64_000:
        raise PayloadTooLarge(f"Submissions are limited to {settings.max_upload_bytes} bytes.")
    if content_type == MULTIPART:
        form = await request.form(max_files=1, max_fields=8, max_part_size=settings.max_upload_bytes)
        upload, text = form.get("file"), form.get("data")
        if isinstance(upload, UploadFile) and upload.filename:
            data, name = await upload.read(settings.max_upload_bytes + 1), upload.filename
        elif isinstance(text, str) and text.strip():
            data, name = text.encode(), "pasted data"
        else:
            raise BadRequest("Choose a file or paste some RDF to check.")
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"Submissions are limited to {settings.max_upload_bytes} bytes.")
        return data, form_format(str(form.get("format") or "auto"), name), name, True
    fmt = formats.by_media_type(content_type)
    if fmt is None or fmt.rdf is None:
        accepted = ", ".join(f.media_type for f in formats.rdf_input_formats())
        raise UnsupportedMediaType(f"Send RDF as one of {accepted}, or upload a file from the form ({MULTIPART}).")
    return await read_body(request, settings.max_upload_bytes), fmt, "request body", False


def form_format(choice: str, filename: str) -> formats.Format:
    if choice != "auto":
        fmt = formats.by_key(choice)
        if fmt is None or fmt.rdf is None:
            raise BadRequest(f"Unknown format '{choice}'.")
        return fmt
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "ttl"
    fmt = next((f for f in formats.rdf_input_formats() if f.extension == extension), None)
    if fmt is None:
        raise BadRequest(f"Cannot tell the format of '{filename}' from its name; choose it in the form.")
    return fmt


async def form_page(request: Request) -> Response:
    """GET /validate: the form for people."""
    return request.app.state.templates.TemplateResponse(request, "validate.html", form_context(request))


def form_context(request: Request) -> dict:
    settings = request.app.state.settings
    return {
        "formats": formats.rdf_input_formats(),
        "max_bytes": settings.max_upload_bytes,
        "timeout": settings.validation_timeout,
        "outcome": None,
        "error": None,
    }


async def validate(request: Request) -> Response:
    """POST /validate: the SHACL report as JSON, as Turtle or as an HTML page."""
    state = request.app.state
    try:
        data, fmt, source, from_form = await submission(request, state.settings)
        offered = (
            (formats.HTML, formats.JSON, formats.TURTLE) if from_form else (formats.JSON, formats.TURTLE, formats.HTML)
        )
        answer_format = negotiate(request.headers.get("accept"), offered)
        outcome = await state.validation.validate(data, fmt, source, state.engine)
    except BadRequest as problem:
        if request.headers.get("content-type", "").startswith(MULTIPART):
            context = {**form_context(request), "error": problem.detail}
            return state.templates.TemplateResponse(request, "validate.html", context, status_code=400)
        raise
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if answer_format is formats.TURTLE:
        return Response(outcome.turtle, headers=headers, media_type="text/turtle; charset=utf-8")
    if answer_format is formats.HTML:
        context = {
            **form_context(request),
            "outcome": outcome.report,
            "source": source,
            "hints": fix_hints(state.shapes),
            "by_node": by_focus_node(outcome.report),
        }
        return state.templates.TemplateResponse(request, "validate.html", context, headers=headers)
    return JSONResponse({**outcome.report, "source": source}, headers=headers)


def by_focus_node(report: dict) -> list[tuple[str, list[dict]]]:
    """Findings grouped by the node they are about, so each problem sits next to its node."""
    grouped: dict[str, list[dict]] = {}
    for finding in report["results"]:
        grouped.setdefault(finding["focus_node"], []).append(finding)
    return list(grouped.items())
