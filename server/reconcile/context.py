"""What every reconciliation route shares: limits, schema, matcher, parameters, JSONP.

What every reconciliation route shares: limits, the schema and matcher of the current data,
and reading parameters from the query string, a form or a JSON body; answering JSON or JSONP."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.query.engine import select
from server.reconcile.keys import NAME_KEYS
from server.reconcile.matching import Matcher
from server.reconcile.properties import PROPERTIES
from server.reconcile.schema import Schema, load_schema
from server.store.name_table import NameTable
from server.web.errors import BadRequest, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType
from server.web.i18n import reader_language
from server.web.requests import read_body
from server.web.services import per_version, services

BATCH_SIZE = 50  # queries per batch (the manifest's batchSize)
MAX_LIMIT = 100  # candidates per query
MAX_EXTEND_IDS = 1_000
MAX_QUERY_CHARS = 1_000
DEFAULT_TYPES = ("City", "AdministrativeArea", "Place", "Organisation", "Event", "PartnershipAgreement")
PREVIEW_WIDTH, PREVIEW_HEIGHT = 420, 220
CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
QUANTIFIERS = ("any", "all", "none")


def base_iri(request: Request) -> str:
    return services(request).settings.base_iri


async def schema_of(request: Request) -> Schema:
    engine, base = services(request).engine, base_iri(request)
    return await per_version(request, "reconcile-schema", lambda: load_schema(engine, base))


async def name_table(request: Request) -> NameTable | None:
    """The search index beside the build being served (server.store.name_table), if it has one."""
    engine = services(request).engine

    async def opened() -> NameTable | None:
        return NameTable.open((await engine.data_version()).home, NAME_KEYS)

    return await per_version(request, "name-table", opened)


async def require_index(request: Request) -> None:
    """Name matching needs the search index or the name index graph; say so clearly when the store
    has neither."""
    if await name_table(request) is not None:
        return
    graph = services(request).settings.iris.name_index_graph

    async def present() -> bool:
        query = f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT 1"
        return bool(await select(services(request).engine, query, 1))

    if not await per_version(request, "reconcile-index", present):
        raise ServiceUnavailable(
            f"The store has no name index (names.sqlite beside it, or the graph <{graph}>), which name "
            "matching needs. Load the data again with this version of the server (`sistercities load`)."
        )


async def matcher_for(request: Request, language: str | None = None) -> Matcher:
    return Matcher(
        services(request).engine,
        base_iri(request),
        await schema_of(request),
        language or reader_language(request),
        await name_table(request),
    )


def respond(request: Request, body: Any, status: int = 200) -> Response:
    """JSON, or JSONP when a GET names a `callback` (the 0.2 protocol allows it)."""
    callback = request.query_params.get("callback")
    if callback is not None and request.method in ("GET", "HEAD"):
        if len(callback) > 100 or not CALLBACK.fullmatch(callback):
            raise BadRequest("callback must be a JavaScript identifier such as jQuery123_456 or cb.results.")
        text = f"/**/{callback}({json.dumps(body, ensure_ascii=False)});"
        headers = {"X-Content-Type-Options": "nosniff"}
        return Response(text, status, headers, media_type="application/javascript")
    return JSONResponse(body, status)


async def request_body(request: Request) -> bytes:
    return await read_body(request, services(request).settings.max_query_bytes)


async def parameters(request: Request) -> dict[str, str]:
    """The query string and, for POST, the form (url-encoded or multipart) or a JSON object."""
    found = dict(request.query_params)
    if request.method != "POST":
        return found
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        data = parse_json((await request_body(request)).decode("utf-8", "replace"), "The request body")
        if not isinstance(data, dict):
            raise BadRequest("A JSON request body must be an object with `queries` or `extend`.")
        found.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
        return found
    if media_type == "application/x-www-form-urlencoded":
        form = parse_qsl((await request_body(request)).decode("utf-8", "replace"), keep_blank_values=True)
        found.update(form)
        return found
    if media_type == "multipart/form-data":
        found.update(await multipart_fields(request))
        return found
    if media_type:
        raise UnsupportedMediaType(
            f"Send the form as application/x-www-form-urlencoded (queries=... or extend=...), not {media_type}."
        )
    return found


async def multipart_fields(request: Request) -> dict[str, str]:
    """The text fields of a multipart form, each part within the body limit."""
    limit = services(request).settings.max_query_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
    try:
        form = await request.form(max_part_size=limit)
    except Exception as error:  # noqa: BLE001 - python-multipart raises several kinds for bad forms
        raise BadRequest(f"The form could not be read: {error}") from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None


def property_id(pid: str) -> str:
    """ "country", "sc:country" or the full IRI of sc:country are all "country"."""
    text = pid.strip()
    for separator in ("#", "sc:"):
        if separator in text and text.rsplit(separator, 1)[-1] in PROPERTIES:
            return text.rsplit(separator, 1)[-1]
    return text
