"""Data extension: property values of reconciled entities as spreadsheet columns.

Data extension: property values of reconciled entities as spreadsheet columns, and the
properties proposed for a type."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server.labels import LANGUAGES, Labels
from server.query.facts import facts_about
from server.reconcile.context import MAX_EXTEND_IDS, base_iri, property_id, respond, schema_of
from server.reconcile.manifest import type_json
from server.reconcile.matching import entity_id, entity_iri
from server.reconcile.properties import PROPERTIES, property_values, string_value
from server.store.sparql_text import valid_iri
from server.uris import Iris
from server.web.errors import BadRequest, PayloadTooLarge
from server.web.requests import origin, whole_number
from server.web.services import services


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
    engine, base, schema = services(request).engine, base_iri(request), await schema_of(request)
    iris = {i: entity_iri(base, i, (origin(request),)) for i in ids}
    values = await property_values(engine, base, [i for i in iris.values() if valid_iri(i)], pids)
    linked = {v.value for by in values.values() for vs in by.values() for v in vs if isinstance(v, ox.NamedNode)}
    labels = (await facts_about(engine, linked, Iris(base))).labels if linked else Labels()
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
    if raw_limit and not whole_number(raw_limit):
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
