"""POST /validate: check anyone's RDF against our shapes, for programs and for people.

The same Validator as the `validate` command, so both give the same results; it runs in a
validation worker (server.validation.workers). Nothing submitted is stored or logged.
"""

from __future__ import annotations

import contextlib

import rdflib
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import formats
from server.settings import Settings
from server.validation.validator import (
    Shapes,
)
from server.validation.workers import ValidationService
from server.web.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from server.web.negotiation import negotiate
from server.web.requests import read_body
from server.web.services import services

MULTIPART = "multipart/form-data"


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
    if declared and declared.isascii() and declared.isdigit() and int(declared) > settings.max_upload_bytes + 64_000:
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
        no_empty(data, "file" if name != "pasted data" else "pasted text")
        return data, form_format(str(form.get("format") or "auto"), name), name, True
    fmt = formats.by_media_type(content_type)
    if fmt is None or fmt.rdf is None:
        accepted = ", ".join(f.media_type for f in formats.rdf_input_formats())
        raise UnsupportedMediaType(f"Send RDF as one of {accepted}, or upload a file from the form ({MULTIPART}).")
    return no_empty(await read_body(request, settings.max_upload_bytes), "request body"), fmt, "request body", False


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
    """GET /validate: the form for people."""
    return services(request).templates.TemplateResponse(request, "validate.html", form_context(request))


def form_context(request: Request) -> dict:
    settings = services(request).settings
    return {
        "formats": formats.rdf_input_formats(),
        "max_bytes": settings.max_upload_bytes,
        "timeout": settings.validation_timeout,
        "outcome": None,
        "error": None,
    }


async def validate(request: Request) -> Response:
    """POST /validate: the SHACL report as JSON, as Turtle or as an HTML page."""
    shared = services(request)
    try:
        data, fmt, source, from_form = await submission(request, shared.settings)
        offered = (
            (formats.HTML, formats.JSON, formats.TURTLE) if from_form else (formats.JSON, formats.TURTLE, formats.HTML)
        )
        answer_format = negotiate(request.headers.get("accept"), offered)
        outcome = await shared.get(ValidationService).validate(data, fmt, source, shared.engine)
    except BadRequest as problem:
        if request.headers.get("content-type", "").startswith(MULTIPART):
            context = {**form_context(request), "error": problem.detail}
            return shared.templates.TemplateResponse(request, "validate.html", context, status_code=400)
        raise
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if answer_format is formats.TURTLE:
        return Response(outcome.turtle, headers=headers, media_type=formats.TURTLE.media_type)
    if answer_format is formats.HTML:
        context = {
            **form_context(request),
            "outcome": outcome.report,
            "source": source,
            "hints": fix_hints(shared.get(Shapes).graph),
            "by_node": by_focus_node(outcome.report),
        }
        return shared.templates.TemplateResponse(request, "validate.html", context, headers=headers)
    return JSONResponse({**outcome.report, "source": source}, headers=headers)


def by_focus_node(report: dict) -> list[tuple[str, list[dict]]]:
    """Findings grouped by the node they are about, so each problem sits next to its node."""
    grouped: dict[str, list[dict]] = {}
    for finding in report["results"]:
        grouped.setdefault(finding["focus_node"], []).append(finding)
    return list(grouped.items())
