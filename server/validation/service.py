"""POST /validate: check anyone's RDF against our shapes, for programs and for people.

The same Validator as the `validate` command, so both give the same results; it runs in a
validation worker (server.validation.workers). Nothing submitted is stored or logged.

The form is made to be iterated with: the text stays in it after each check, every problem says
on which line its node is (and shows that line), a syntax error names the line where the mistake
most likely is, IRIs of ours that the published data do not know get the terms they probably
mean (server.validation.hints), and a starter file shows the expected shape, sources included
(/validate/starter.ttl, or the form filled with it: /validate?starter).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import rdflib
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import formats
from server.settings import Settings
from server.validation import hints
from server.validation.validator import Shapes
from server.validation.workers import UnreadableRdf, ValidationService
from server.web.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from server.web.negotiation import negotiate
from server.web.requests import read_body
from server.web.services import services

MULTIPART = "multipart/form-data"
STARTER = Path(__file__).with_name("starter.ttl")
STARTER_NAME = "twin-cities-starter.ttl"
PASTED = "pasted data"  # the name of text pasted into the form (the page says it in the reader's words)
SHOWN_TEXT_BYTES = 1_000_000  # an uploaded file goes back into the form when it is no larger


# --- HTTP --------------------------------------------------------------------------------------


def fix_hints(shapes: rdflib.Graph) -> dict[str, str]:
    """How to meet each node shape, in its own words (sh:description), by prefixed name."""
    hints = {}
    for shape, description in shapes.subject_objects(rdflib.SH.description):
        with contextlib.suppress(ValueError):
            hints[shape.n3(shapes.namespace_manager)] = str(description)
    return hints


@dataclass(frozen=True)
class Submission:
    """The RDF sent, its format, a name for it, and whether it came from the HTML form (with the
    format chosen there, so that the form shows it again)."""

    data: bytes
    fmt: formats.Format
    source: str
    from_form: bool
    choice: str = "auto"


async def submission(request: Request, settings: Settings) -> Submission:
    """The RDF sent, from the form (a file or pasted text) or as the request body."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > settings.max_upload_bytes + 64_000:
        raise PayloadTooLarge(f"Submissions are limited to {settings.max_upload_bytes} bytes.")
    if content_type == MULTIPART:
        form = await request.form(max_files=1, max_fields=8, max_part_size=settings.max_upload_bytes)
        upload, text = form.get("file"), form.get("data")
        if isinstance(upload, UploadFile) and upload.filename:
            data, name = await upload.read(settings.max_upload_bytes + 1), upload.filename
        elif isinstance(text, str) and text.strip():
            data, name = text.encode(), PASTED
        else:
            raise BadRequest("Choose a file or paste some RDF to check.")
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"Submissions are limited to {settings.max_upload_bytes} bytes.")
        no_empty(data, "file" if name != "pasted data" else "pasted text")
        choice = str(form.get("format") or "auto")
        return Submission(data, form_format(choice, name), name, True, choice)
    fmt = formats.by_media_type(content_type)
    if fmt is None or fmt.rdf is None:
        accepted = ", ".join(f.media_type for f in formats.rdf_input_formats())
        raise UnsupportedMediaType(f"Send RDF as one of {accepted}, or upload a file from the form ({MULTIPART}).")
    return Submission(
        no_empty(await read_body(request, settings.max_upload_bytes), "request body"), fmt, "request body", False
    )


def no_empty(data: bytes, source: str) -> bytes:
    """Nothing (or only white space) is no data to give a verdict on: a 400, not `conforms: true`."""
    if not data.strip():
        raise BadRequest(f"No data: the {source} is empty. Send RDF to check.")
    return data


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
    """GET /validate: the form for people (?starter fills it with the starter file)."""
    context = form_context(request)
    if "starter" in request.query_params:
        context["text"], context["choice"] = STARTER.read_text(encoding="utf-8"), "turtle"
    return services(request).templates.TemplateResponse(request, "validate.html", context)


async def starter(request: Request) -> Response:
    """GET /validate/starter.ttl: a small correct file in the expected shape, to start from."""
    headers = {"Content-Disposition": f'attachment; filename="{STARTER_NAME}"', "Cache-Control": "public, max-age=3600"}
    return Response(STARTER.read_bytes(), headers=headers, media_type=formats.TURTLE.media_type)


def form_context(request: Request) -> dict:
    settings = services(request).settings
    return {
        "formats": formats.rdf_input_formats(),
        "max_bytes": settings.max_upload_bytes,
        "timeout": settings.validation_timeout,
        "outcome": None,
        "error": None,
        "text": "",
        "choice": "auto",
        "near_misses": [],
    }


def shown_text(sent: Submission | None) -> str:
    """What goes back into the form's text box: the text checked, if it is text and not too long."""
    if sent is None or len(sent.data) > SHOWN_TEXT_BYTES:
        return ""
    try:
        return sent.data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


async def validate(request: Request) -> Response:
    """POST /validate: the SHACL report as JSON, as Turtle or as an HTML page."""
    shared = services(request)
    sent = None
    try:
        sent = await submission(request, shared.settings)
        offered = (
            (formats.HTML, formats.JSON, formats.TURTLE)
            if sent.from_form
            else (formats.JSON, formats.TURTLE, formats.HTML)
        )
        answer_format = negotiate(request.headers.get("accept"), offered)
        checked = await shared.get(ValidationService).validate(sent.data, sent.fmt, sent.source, shared.engine)
    except BadRequest as problem:
        if request.headers.get("content-type", "").startswith(MULTIPART):
            text = shown_text(sent)
            context = {**form_context(request), "error": problem.detail, "text": text}
            if sent is not None:
                context["choice"] = sent.choice
            if isinstance(problem, UnreadableRdf):
                context["syntax"] = hints.syntax_hint(text, problem.error)
            return shared.templates.TemplateResponse(request, "validate.html", context, status_code=400)
        raise
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if answer_format is formats.TURTLE:
        return Response(checked.turtle, headers=headers, media_type=formats.TURTLE.media_type)
    near_misses = await hints.near_misses(request, checked.types, checked.lines)
    if answer_format is formats.HTML:
        text = shown_text(sent)
        context = {
            **form_context(request),
            "outcome": checked.report,
            "source": sent.source if sent.source != PASTED else None,
            "hints": fix_hints(shared.get(Shapes).graph),
            "by_node": by_focus_node(checked.report),
            "text": text,
            "choice": sent.choice,
            "line_text": lambda line: hints.line_text(text, line),
            "near_misses": near_misses,
            "suggested": {m.iri: m.suggestions for m in near_misses},
            "short": lambda iri: hints.shortened(iri, hints.prefixes_in(text)),
            "node": lambda written: hints.as_written(written, hints.prefixes_in(text)),
        }
        return shared.templates.TemplateResponse(request, "validate.html", context, headers=headers)
    unknown = [{"iri": m.iri, "line": m.line, "suggestions": list(m.suggestions)} for m in near_misses]
    return JSONResponse({**checked.report, "source": sent.source, "unknown_terms": unknown}, headers=headers)


def by_focus_node(report: dict) -> list[tuple[str, list[dict]]]:
    """Findings grouped by the node they are about, so each problem sits next to its node; the
    nodes in the order they appear in the submission."""
    grouped: dict[str, list[dict]] = {}
    for finding in sorted(report["results"], key=lambda f: f.get("line") or 0):
        grouped.setdefault(finding["focus_node"], []).append(finding)
    return list(grouped.items())
