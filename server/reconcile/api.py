"""The W3C Entity Reconciliation Service API at /reconcile, for OpenRefine.

The W3C Entity Reconciliation Service API at /reconcile, for OpenRefine and other clients.

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
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.reconcile.context import (
    BATCH_SIZE,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    QUANTIFIERS,
    base_iri,
    matcher_for,
    parameters,
    parse_json,
    property_id,
    request_body,
    require_index,
    respond,
    schema_of,
)
from server.reconcile.extend import extension, parse_extend, value_v02
from server.reconcile.manifest import manifest_v02, manifest_v1
from server.reconcile.matching import Candidate, Condition, Query, entity_id
from server.reconcile.properties import PROPERTIES
from server.reconcile.schema import Schema
from server.web.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from server.web.requests import origin

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
    return parse_json((await request_body(request)).decode("utf-8", "replace"), "The request body")


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
