"""The W3C Entity Reconciliation Service API at /reconcile, for OpenRefine and other clients.

Two versions of the protocol share one endpoint, /reconcile:

- **0.2** (what OpenRefine speaks; https://www.w3.org/community/reports/reconciliation/CG-FINAL-specs-0.2-20230410/):
  GET /reconcile is the manifest (JSONP with `callback`); GET or POST `queries=` (a JSON batch,
  form-encoded) answers candidates keyed by query id; `extend=` fetches property values.
- **1.0-draft** (https://reconciliation-api.github.io/specs/1.0-draft/), where it differs: POST
  /reconcile/match and /reconcile/extend take JSON bodies and answer in the draft's shapes. Its
  manifest (which cannot also be a valid 0.2 manifest: the two disagree on `suggest` and
  `extend`) is GET /reconcile?version=1.0-draft.

Routes shared by both: /reconcile/suggest/{entity,type,property}?prefix=, /reconcile/preview?id=
(an HTML card for an iframe), /reconcile/flyout?id= (the same card as JSON, for the 0.2 suggest
widget) and /reconcile/extend/propose?type=.

Identifiers. An entity's id is its IRI after {base}id/ ("place/kuopio"; the identifierSpace is
{base}id/), short enough for a spreadsheet; the view template {origin}/id/{{id}} dereferences on
whichever host serves the API (a 303 to /doc/place/kuopio). Types and properties have the ids of
our ontology terms after the schemaSpace {base}ontology# ("City", "country"); the few columns
that are not ontology terms (coordinates, wikidata, geonames, code, label_xx) are listed by
/reconcile/suggest/property. Any of these inputs also accepts a full IRI.

Matching itself (keys, variants, the name index, scores) is server/reconcile/matching.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import __version__
from server.labels import LANGUAGES, Labels
from server.linked.documents import per_version
from server.query.engine import select
from server.reconcile.matching import (
    PROPERTIES,
    Candidate,
    Condition,
    Matcher,
    Query,
    Schema,
    entity_facts,
    entity_id,
    entity_iri,
    index_graph,
    load_schema,
    normalise,
    property_values,
    string_value,
    valid_iri,
)
from server.uris import local_url
from server.web.errors import BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType
from server.web.i18n import reader_language

BATCH_SIZE = 50  # queries per batch (the manifest's batchSize)
MAX_LIMIT = 100  # candidates per query
MAX_EXTEND_IDS = 1_000
MAX_QUERY_CHARS = 1_000
DEFAULT_TYPES = ("City", "AdministrativeArea", "Place", "Organisation", "Event", "PartnershipAgreement")
PREVIEW_WIDTH, PREVIEW_HEIGHT = 420, 220
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
QUANTIFIERS = ("any", "all", "none")


def register(app) -> None:
    read = ["GET", "HEAD"]
    app.add_route("/reconcile", endpoint, methods=["GET", "HEAD", "POST"], name="reconcile")
    app.add_route("/reconcile/match", match_v1, methods=["POST"], name="reconcile-match")
    app.add_route("/reconcile/extend", extend_v1, methods=["POST"], name="reconcile-extend")
    app.add_route("/reconcile/extend/propose", propose, methods=read, name="reconcile-propose")
    app.add_route("/reconcile/suggest/entity", suggest_entity, methods=read, name="reconcile-suggest-entity")
    app.add_route("/reconcile/suggest/type", suggest_type, methods=read, name="reconcile-suggest-type")
    app.add_route("/reconcile/suggest/property", suggest_property, methods=read, name="reconcile-suggest-property")
    app.add_route("/reconcile/preview", preview, methods=read, name="reconcile-preview")
    app.add_route("/reconcile/flyout", flyout, methods=read, name="reconcile-flyout")


# --- Context ----------------------------------------------------------------------------------


def base_iri(request: Request) -> str:
    return request.app.state.settings.base_iri


def origin(request: Request) -> str:
    """Where this server is reached ("http://127.0.0.1:8000"), for URLs that must resolve here."""
    return str(request.base_url).rstrip("/")


async def schema_of(request: Request) -> Schema:
    engine, base = request.app.state.engine, base_iri(request)
    return await per_version(request, "reconcile-schema", lambda: load_schema(engine, base))


async def require_index(request: Request) -> None:
    """Name matching needs the name index graph; say so clearly when the store lacks it."""
    graph = index_graph(base_iri(request))

    async def present() -> bool:
        query = f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT 1"
        return bool(await select(request.app.state.engine, query, 1))

    if not await per_version(request, "reconcile-index", present):
        raise ServiceUnavailable(
            f"The store has no name index (the graph <{graph}>), which name matching needs. "
            "Rebuild the store with this version of the server (or load a dump that includes the graph)."
        )


async def matcher_for(request: Request, language: str | None = None) -> Matcher:
    return Matcher(
        request.app.state.engine, base_iri(request), await schema_of(request), language or reader_language(request)
    )


def respond(request: Request, body: Any, status: int = 200) -> Response:
    """JSON, or JSONP when a GET names a `callback` (the 0.2 protocol allows it)."""
    callback = request.query_params.get("callback")
    if callback is not None and request.method in ("GET", "HEAD"):
        if len(callback) > 100 or not _CALLBACK.fullmatch(callback):
            raise BadRequest("callback must be a JavaScript identifier such as jQuery123_456 or cb.results.")
        text = f"/**/{callback}({json.dumps(body, ensure_ascii=False)});"
        headers = {"X-Content-Type-Options": "nosniff"}
        return Response(text, status, headers, media_type="application/javascript")
    return JSONResponse(body, status)


async def read_body(request: Request) -> bytes:
    limit = request.app.state.settings.max_query_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return body


async def parameters(request: Request) -> dict[str, str]:
    """The query string and, for POST, the form (url-encoded or multipart) or a JSON object."""
    found = dict(request.query_params)
    if request.method != "POST":
        return found
    body = await read_body(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        data = parse_json(body.decode("utf-8", "replace"), "The request body")
        if not isinstance(data, dict):
            raise BadRequest("A JSON request body must be an object with `queries` or `extend`.")
        found.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
        return found
    if media_type not in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        raise UnsupportedMediaType(
            f"Send the form as application/x-www-form-urlencoded (queries=... or extend=...), not {media_type}."
        )
    try:
        form = await request.form()
    except Exception as error:  # noqa: BLE001 - python-multipart raises several kinds for bad forms
        raise BadRequest(f"The form could not be read: {error}") from None
    found.update({k: v for k, v in form.items() if isinstance(v, str)})
    return found


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None


# --- The 0.2 endpoint -----------------------------------------------------------------------------


async def endpoint(request: Request) -> Response:
    """GET: the manifest; `queries=`: reconciliation; `extend=`: data extension; `query=`: one query."""
    params = await parameters(request)
    if "queries" in params:
        ids, queries = parse_batch_v02(params["queries"], await schema_of(request))
        results = await run_queries(request, queries)
        schema = await schema_of(request)
        answers = zip(ids, results, strict=True)
        body = {qid: {"result": [candidate_json(request, schema, c) for c in found]} for qid, found in answers}
        return respond(request, body)
    if "extend" in params:
        ids, pids, settings = parse_extend(parse_json(params["extend"], "extend"))
        meta, rows = await extension(request, ids, pids, settings)
        body = {
            "meta": meta,
            "rows": {
                i: {pid: [value_v02(v) for v in values] for pid, values in row.items()} for i, row in rows.items()
            },
        }
        return respond(request, body)
    if "query" in params:  # 0.1: one query, as text or as a JSON object
        raw = params["query"]
        single = parse_json(raw, "query") if raw.lstrip().startswith("{") else {"query": raw}
        _, queries = parse_batch_v02(json.dumps({"q": single}), await schema_of(request))
        schema = await schema_of(request)
        found = (await run_queries(request, queries))[0]
        return respond(request, {"result": [candidate_json(request, schema, c) for c in found]})
    if params.get("version") == "1.0-draft":
        return respond(request, await manifest_v1(request))
    return respond(request, await manifest_v02(request))


async def run_queries(request: Request, queries: list[Query]) -> list[list[Candidate]]:
    if any((q.text or "").strip() for q in queries):
        await require_index(request)
    matcher = await matcher_for(request)
    return await matcher.match(queries, origins=(origin(request),))


def parse_batch_v02(raw: str, schema: Schema) -> tuple[list[str], list[Query]]:
    data = parse_json(raw, "queries")
    if not isinstance(data, dict):
        raise BadRequest('queries must be a JSON object mapping query ids to queries: {"q0": {"query": "Kuopio"}}.')
    check_batch_size(len(data))
    ids, queries = [], []
    for qid, item in data.items():
        ids.append(qid)
        queries.append(parse_query_v02(qid, item, schema))
    return ids, queries


def check_batch_size(size: int) -> None:
    if size > BATCH_SIZE:
        raise PayloadTooLarge(
            f"The batch has {size} queries; this service answers at most {BATCH_SIZE} at a time "
            "(batchSize in the manifest). Send them in smaller batches."
        )


def parse_query_v02(qid: str, item: Any, schema: Schema) -> Query:
    where = f"Query {qid!r}"
    if isinstance(item, str):
        item = {"query": item}
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be a JSON object with a `query` string, not {type(item).__name__}.")
    text = item.get("query")
    if text is not None and not isinstance(text, str):
        raise BadRequest(f"{where}: `query` must be a string.")
    if text is not None and len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"{where}: `query` is longer than {MAX_QUERY_CHARS} characters.")
    types = item.get("type")
    if types is None:
        types = []
    elif isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise BadRequest(f"{where}: `type` must be a type id or a list of type ids.")
    strict = item.get("type_strict")
    if strict is not None and strict not in ("any", "should", "all"):
        raise BadRequest(f"{where}: `type_strict` must be one of any, should, all.")
    properties = item.get("properties", [])
    if not isinstance(properties, list):
        raise BadRequest(f"{where}: `properties` must be a list of {{pid, v}} objects.")
    conditions = []
    for n, prop in enumerate(properties):
        if not isinstance(prop, dict) or "v" not in prop or not isinstance(prop.get("pid"), str):
            raise BadRequest(f"{where}: properties[{n}] must be an object with `pid` (a string) and `v`.")
        conditions.append(condition(where, prop["pid"], prop["v"]))
    if not (text or "").strip() and not conditions and text is None:
        raise BadRequest(f"{where} needs a `query` string or at least one property.")
    return Query(
        text or "",
        tuple(schema.type_iri(t) for t in types if t.strip()),
        parse_limit(where, item.get("limit")),
        conditions,
    )


def parse_limit(where: str, value: Any) -> int:
    if value is None:
        return 10
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or value != value:
        raise BadRequest(f"{where}: `limit` must be a positive number, not {json.dumps(value)}.")
    return min(int(value), MAX_LIMIT) or 1


def condition(where: str, pid: str, value: Any, required: bool = False, quantifier: str = "any") -> Condition:
    pid = property_id(pid)
    if pid not in PROPERTIES:
        raise BadRequest(f"{where}: unknown property {pid!r}; this service knows {', '.join(PROPERTIES)}.")
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str | int | float | bool) and not (isinstance(v, dict) and isinstance(v.get("id"), str)):
            raise BadRequest(f"{where}: the values of {pid!r} must be strings, numbers, booleans or {{id: ...}}.")
    return Condition(pid, values, required, quantifier)


def property_id(pid: str) -> str:
    """ "country", "sc:country" or the full IRI of sc:country are all "country"."""
    text = pid.strip()
    for separator in ("#", "sc:"):
        if separator in text and text.rsplit(separator, 1)[-1] in PROPERTIES:
            return text.rsplit(separator, 1)[-1]
    return text


def candidate_json(request: Request, schema: Schema, candidate: Candidate) -> dict:
    base = base_iri(request)
    features = [
        {"id": "name", "name": "name similarity (0-100)", "value": candidate.name_score},
        {"id": "exact", "name": "exact name, variant, code or identifier", "value": candidate.kind in EXACT_FEATURE},
    ]
    features += [  # only the properties the candidate has values for: met or not
        {"id": f"property_{pid}", "name": f"{pid} matches", "value": met}
        for pid, met in candidate.conditions.items()
        if met is not None
    ]
    body = {
        "id": entity_id(base, candidate.iri),
        "name": candidate.name,
        "score": candidate.score,
        "match": candidate.match,
        "type": [{"id": schema.type_id(t), "name": schema.labels.best(t, "en")} for t in candidate.types],
        "features": features,
    }
    if candidate.description:
        body["description"] = candidate.description
    return body


EXACT_FEATURE = ("id", "code", "wikidata", "geonames", "name", "variant", "government")


# --- The 1.0-draft routes ------------------------------------------------------------------------


async def json_body(request: Request) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(f"Send a JSON body (Content-Type: application/json), not {media_type or 'none'}.")
    return parse_json((await read_body(request)).decode("utf-8", "replace"), "The request body")


async def match_v1(request: Request) -> Response:
    """POST /reconcile/match {"queries": [{"type", "limit", "conditions": [...]}]} (1.0-draft)."""
    data = await json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list):
        raise BadRequest('The body must be an object with a list of queries: {"queries": [{"conditions": [...]}]}.')
    check_batch_size(len(data["queries"]))
    schema = await schema_of(request)
    queries = [parse_query_v1(n, item, schema) for n, item in enumerate(data["queries"])]
    results = await run_queries(request, queries)
    body = {"results": [{"candidates": [candidate_json(request, schema, c) for c in found]} for found in results]}
    return JSONResponse(body)


def parse_query_v1(n: int, item: Any, schema: Schema) -> Query:
    where = f"queries[{n}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with `conditions`.")
    conditions = item.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise BadRequest(f"{where}: `conditions` must be a non-empty list.")
    type_id = item.get("type")
    if type_id is not None and not isinstance(type_id, str):
        raise BadRequest(f"{where}: `type` must be one type id (a string).")
    names, constraints = [], []
    for m, cond in enumerate(conditions):
        at = f"{where}.conditions[{m}]"
        if not isinstance(cond, dict) or "propertyValue" not in cond:
            raise BadRequest(f"{at} must be an object with `matchType` and `propertyValue`.")
        kind, value = cond.get("matchType"), cond["propertyValue"]
        required, quantifier = cond.get("required", False), cond.get("matchQuantifier", "any")
        if not isinstance(required, bool):
            raise BadRequest(f"{at}: `required` must be true or false.")
        if quantifier not in QUANTIFIERS:
            raise BadRequest(f"{at}: `matchQuantifier` must be one of any, all, none.")
        if kind == "name":
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) for v in values):
                raise BadRequest(f"{at}: a name condition's `propertyValue` must be a string.")
            names.extend(values)
        elif kind == "property":
            if not isinstance(cond.get("propertyId"), str):
                raise BadRequest(f"{at}: a property condition needs `propertyId`.")
            constraints.append(condition(at, cond["propertyId"], value, required, quantifier))
        else:
            raise BadRequest(f"{at}: `matchType` must be name or property.")
    text = " ".join(names)
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"{where}: the name is longer than {MAX_QUERY_CHARS} characters.")
    types = (schema.type_iri(type_id),) if type_id and type_id.strip() else ()
    return Query(text, types, parse_limit(where, item.get("limit")), constraints)


async def extend_v1(request: Request) -> Response:
    """POST /reconcile/extend {"ids": [...], "properties": [{"id": ...}]} (1.0-draft)."""
    ids, pids, settings = parse_extend(await json_body(request))
    meta, rows = await extension(request, ids, pids, settings, with_language=True)
    body = {
        "meta": meta,
        "rows": [
            {"id": i, "properties": [{"id": pid, "values": values} for pid, values in row.items()]}
            for i, row in rows.items()
        ],
    }
    return JSONResponse(body)


# --- Manifests ------------------------------------------------------------------------------------


async def type_objects(request: Request, schema: Schema, type_ids: Iterable[str]) -> list[dict]:
    return [type_json(schema, schema.type_iri(t), reader_language(request)) for t in type_ids]


def type_json(schema: Schema, iri: str, language: str = "en", broader: bool = True) -> dict:
    body = {"id": schema.type_id(iri), "name": schema.labels.best(iri, language)}
    if broader:
        parents = sorted(p for p in schema.parents.get(iri, ()) if p.startswith(schema.namespace))
        if parents:
            body["broader"] = [type_json(schema, p, language, broader=False) for p in parents]
    return body


PROPERTY_SETTINGS_HELP = {
    "limit": "How many values to fetch per row at most (0: all of them).",
    "lang": "The language of the names of linked entities (countries, partners, ...).",
}


def language_choices() -> list[dict]:
    names = {"en": "English", "fi": "suomi", "sv": "svenska", "zh": "中文"}
    return [{"value": code, "name": names[code]} for code in LANGUAGES]


async def manifest_v02(request: Request) -> dict:
    schema, here, base = await schema_of(request), origin(request), base_iri(request)
    return {
        "versions": ["0.2"],
        "name": "Sister Cities Linked Data",
        "identifierSpace": base + "id/",
        "schemaSpace": base + "ontology#",
        "documentation": here + "/",
        "serviceVersion": __version__,
        "view": {"url": here + "/id/{{id}}"},
        "defaultTypes": await type_objects(request, schema, DEFAULT_TYPES),
        "preview": {"url": here + "/reconcile/preview?id={{id}}", "width": PREVIEW_WIDTH, "height": PREVIEW_HEIGHT},
        "suggest": {
            "entity": {
                "service_url": here,
                "service_path": "/reconcile/suggest/entity",
                "flyout_service_path": "/reconcile/flyout?id=${id}",
            },
            "type": {"service_url": here, "service_path": "/reconcile/suggest/type"},
            "property": {"service_url": here, "service_path": "/reconcile/suggest/property"},
        },
        "extend": {
            "propose_properties": {"service_url": here, "service_path": "/reconcile/extend/propose"},
            "property_settings": [
                {
                    "name": "limit",
                    "label": "Limit",
                    "type": "number",
                    "default": 0,
                    "help_text": PROPERTY_SETTINGS_HELP["limit"],
                },
                {
                    "name": "lang",
                    "label": "Language",
                    "type": "select",
                    "default": "en",
                    "help_text": PROPERTY_SETTINGS_HELP["lang"],
                    "choices": language_choices(),
                },
            ],
        },
        "batchSize": BATCH_SIZE,
    }


async def manifest_v1(request: Request) -> dict:
    schema, here = await schema_of(request), origin(request)
    return {
        "versions": ["1.0-draft"],
        "name": "Sister Cities Linked Data",
        "lang": "en",
        "documentation": here + "/",
        "serviceVersion": __version__,
        "view": {"url": here + "/id/{+id}"},
        "defaultTypes": await type_objects(request, schema, DEFAULT_TYPES),
        "preview": {"width": PREVIEW_WIDTH, "height": PREVIEW_HEIGHT},
        "suggest": {"entity": True, "type": True, "property": True},
        "extend": {
            "proposeProperties": True,
            "propertySettings": [
                {
                    "id": "limit",
                    "name": "Limit",
                    "type": "number",
                    "default": 0,
                    "helpText": PROPERTY_SETTINGS_HELP["limit"],
                },
                {
                    "id": "lang",
                    "name": "Language",
                    "type": "select",
                    "default": "en",
                    "helpText": PROPERTY_SETTINGS_HELP["lang"],
                    "choices": language_choices(),
                },
            ],
        },
        "batchSize": BATCH_SIZE,
        "standardizedScore": True,
    }


# --- Suggest ------------------------------------------------------------------------------------


def paging(request: Request, default: int = 10) -> tuple[str, int, int]:
    params = request.query_params
    prefix = params.get("prefix")
    if prefix is None:
        raise BadRequest("Give the text to complete as ?prefix=.")
    if len(prefix) > 200:
        raise BadRequest("The prefix is longer than 200 characters.")
    numbers = {}
    for name, fallback in (("limit", default), ("offset", params.get("cursor", "0"))):
        raw = params.get(name, str(fallback))
        if not raw.isdigit():
            raise BadRequest(f"{name} must be a whole number, not {raw!r}.")
        numbers[name] = int(raw)
    return prefix, max(1, min(numbers["limit"], 50)), min(numbers["offset"], 1_000)


async def suggest_entity(request: Request) -> Response:
    prefix, limit, offset = paging(request)
    schema = await schema_of(request)
    types = tuple(schema.type_iri(t) for t in request.query_params.getlist("type") if t.strip())
    found = []
    if prefix.strip():
        await require_index(request)
        matcher = await matcher_for(request)
        found = await matcher.suggest(prefix, types, limit, offset, origins=(origin(request),))
    base = base_iri(request)
    result = []
    for c in found:
        item = {"id": entity_id(base, c.iri), "name": c.name}
        if c.description:
            item["description"] = c.description
        item["notable"] = [{"id": schema.type_id(t), "name": schema.labels.best(t, "en")} for t in c.types]
        result.append(item)
    return respond(request, {"result": result})


def prefix_matches(prefix: str, texts: Iterable[str]) -> int | None:
    """How well a prefix completes any of the texts: 0 exact, 1 start, 2 start of a word; None if not."""
    key = normalise(prefix)
    best = None
    for text in texts:
        own = normalise(text)
        if own == key:
            rank = 0
        elif own.startswith(key):
            rank = 1
        elif any(word.startswith(key) for word in own.split()):
            rank = 2
        else:
            continue
        best = rank if best is None else min(best, rank)
    return best


async def suggest_type(request: Request) -> Response:
    prefix, limit, offset = paging(request, default=20)
    schema, language = await schema_of(request), reader_language(request)
    ranked = []
    for iri in schema.classes:
        names = [name for names in schema.labels.names[iri].values() for _, name in names]
        rank = prefix_matches(prefix, [schema.type_id(iri), *names])
        if rank is not None:
            ranked.append((rank, schema.labels.best(iri, language).lower(), iri))
    result = [type_json(schema, iri, language) for _, _, iri in sorted(ranked)[offset : offset + limit]]
    return respond(request, {"result": result})


async def suggest_property(request: Request) -> Response:
    prefix, limit, offset = paging(request, default=20)
    ranked = []
    for order, prop in enumerate(PROPERTIES.values()):
        rank = prefix_matches(prefix, [prop.id, prop.name])
        if rank is not None:
            ranked.append((rank, order, prop))
    result = [
        {"id": p.id, "name": p.name, "description": p.description}
        for _, _, p in sorted(ranked)[offset : offset + limit]
    ]
    return respond(request, {"result": result})


# --- Data extension ------------------------------------------------------------------------------


def parse_extend(data: Any) -> tuple[list[str], list[str], dict[str, dict]]:
    if not isinstance(data, dict):
        raise BadRequest('extend must be an object: {"ids": ["place/kuopio"], "properties": [{"id": "country"}]}.')
    ids, properties = data.get("ids"), data.get("properties")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("extend: `ids` must be a list of entity ids.")
    if len(ids) > MAX_EXTEND_IDS:
        raise PayloadTooLarge(f"extend: at most {MAX_EXTEND_IDS} ids at a time, not {len(ids)}.")
    if not isinstance(properties, list) or not properties:
        raise BadRequest("extend: `properties` must be a non-empty list of {id, settings} objects.")
    pids, settings = [], {}
    for n, prop in enumerate(properties):
        if not isinstance(prop, dict) or not isinstance(prop.get("id"), str):
            raise BadRequest(f"extend: properties[{n}] must be an object with an `id`.")
        pid = property_id(prop["id"])
        if pid not in PROPERTIES:
            raise BadRequest(f"extend: unknown property {prop['id']!r}; this service offers {', '.join(PROPERTIES)}.")
        options = prop.get("settings") or {}
        if not isinstance(options, dict):
            raise BadRequest(f"extend: the settings of {pid!r} must be an object.")
        limit = options.get("limit", 0)
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise BadRequest(f"extend: the limit of {pid!r} must be a whole number.") from None
        language = options.get("lang", "en")
        if language not in LANGUAGES:
            raise BadRequest(f"extend: the language of {pid!r} must be one of {', '.join(LANGUAGES)}.")
        pids.append(pid)
        settings[pid] = {"limit": max(limit, 0), "lang": language}
    return list(dict.fromkeys(ids)), list(dict.fromkeys(pids)), settings


async def extension(
    request: Request, ids: list[str], pids: list[str], settings: dict[str, dict], with_language: bool = False
) -> tuple[list[dict], dict[str, dict[str, list[dict]]]]:
    """The values of some properties of some entities, as reconciliation values ({id, name} for
    entities, {str} for the rest): meta and rows keyed by the ids as given."""
    engine, base, schema = request.app.state.engine, base_iri(request), await schema_of(request)
    iris = {i: entity_iri(base, i, (origin(request),)) for i in ids}
    values = await property_values(engine, base, [i for i in iris.values() if valid_iri(i)], pids)
    linked = {v.value for by in values.values() for vs in by.values() for v in vs if isinstance(v, ox.NamedNode)}
    labels = (await entity_facts(engine, base, linked)).labels if linked else Labels()
    rows: dict[str, dict[str, list[dict]]] = {}
    for given, iri in iris.items():
        row = {}
        for pid in pids:
            prop, found = PROPERTIES[pid], values.get(iri, {}).get(pid, [])
            limit = settings[pid]["limit"]
            cells = [
                extension_value(prop.kind, pid, v, base, labels, settings[pid]["lang"], with_language) for v in found
            ]
            row[pid] = cells[:limit] if limit else cells
        rows[given] = row
    meta = []
    for pid in pids:
        prop = PROPERTIES[pid]
        column = {"id": pid, "name": prop.name}
        if prop.kind == "entity" and prop.value_type:
            column["type"] = type_json(schema, schema.type_iri(prop.value_type), broader=False)
        meta.append(column)
    return meta, rows


def extension_value(kind, pid, term, base, labels: Labels, language: str, with_language: bool) -> dict:
    if kind == "entity":
        return {"id": entity_id(base, term.value), "name": labels.best(term.value, language)}
    cell = {"str": string_value(pid, term)}
    if with_language and getattr(term, "language", None):
        cell["lang"] = term.language
    return cell


def value_v02(cell: dict) -> dict:
    return {k: v for k, v in cell.items() if k != "lang"}


async def propose(request: Request) -> Response:
    """GET /reconcile/extend/propose?type=City: the properties worth fetching for a type."""
    schema = await schema_of(request)
    type_id = request.query_params.get("type", "").strip()
    raw_limit = request.query_params.get("limit", "")
    if raw_limit and not raw_limit.isdigit():
        raise BadRequest(f"limit must be a whole number, not {raw_limit!r}.")
    proposed = list(PROPERTIES.values())
    if type_id:
        iri = schema.type_iri(type_id)
        related = schema.ancestors(iri) | {iri}
        proposed = [
            p
            for p in PROPERTIES.values()
            if any(schema.type_iri(d) in related or iri in schema.ancestors(schema.type_iri(d)) for d in p.domains)
        ]
    if raw_limit:
        proposed = proposed[: int(raw_limit)]
    body: dict = {
        "type": type_id,
        "properties": [{"id": p.id, "name": p.name, "description": p.description} for p in proposed],
    }
    if raw_limit:
        body["limit"] = int(raw_limit)
    return respond(request, body)


# --- Preview ------------------------------------------------------------------------------------


async def card(request: Request) -> dict:
    """What the preview shows of an entity: names in four languages, types, country, code,
    coordinates, identifiers and the link to its page."""
    given = request.query_params.get("id", "").strip()
    if not given:
        raise BadRequest("Give the entity to preview as ?id=place/kuopio.")
    engine, base, schema = request.app.state.engine, base_iri(request), await schema_of(request)
    iri = entity_iri(base, given, (origin(request),))
    if not valid_iri(iri):
        raise NotFound(f"There is no entity {given!r}.")
    facts = await entity_facts(engine, base, {iri})
    if not facts.labels.known(iri) and not facts.types.get(iri):
        raise NotFound(f"There is no entity {given!r}.")
    wanted = ["country", "partOf", "code", "wikidata", "geonames"]
    values = (await property_values(engine, base, [iri], wanted)).get(iri, {})
    linked = {v.value for pid in ("country", "partOf") for v in values.get(pid, [])}
    linked_labels = (await entity_facts(engine, base, linked)).labels if linked else Labels()
    language = reader_language(request)
    names = []
    for lang in LANGUAGES:
        found = facts.labels.names.get(iri, {}).get(lang)
        if found:
            names.append((lang, found[0][1]))
    return {
        "id": entity_id(base, iri),
        "name": facts.labels.best(iri, language),
        "names": names,
        "types": [schema.labels.best(t, language) for t in schema.own_types(facts.types.get(iri, ()))],
        "country": [linked_labels.best(v.value, language) for v in values.get("country", [])],
        "part_of": [linked_labels.best(v.value, language) for v in values.get("partOf", [])],
        "codes": [string_value("code", v) for v in values.get("code", [])],
        "wikidata": [(string_value("wikidata", v), v.value) for v in values.get("wikidata", [])],
        "geonames": [(string_value("geonames", v), v.value) for v in values.get("geonames", [])],
        "coordinates": facts.coordinates.get(iri),
        "page": origin(request) + (local_url(base, iri) or ""),
        "iri": iri,
    }


async def preview(request: Request) -> Response:
    templates = request.app.state.templates
    context = {"card": await card(request), "fragment": False}
    return templates.TemplateResponse(request, "reconcile-preview.html", context)


async def flyout(request: Request) -> Response:
    """The preview card as {"id", "html"}, for the 0.2 suggest widget's flyout."""
    info = await card(request)
    template = request.app.state.templates.get_template("reconcile-preview.html")
    html = template.render(card=info, fragment=True)
    return respond(request, {"id": request.query_params.get("id", ""), "html": html})
