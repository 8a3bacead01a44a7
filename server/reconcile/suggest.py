"""Autocomplete of entities, types and properties, and the preview card.

Autocomplete (suggest) of entities, types and properties, and the preview card of an entity."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response

from server.labels import LANGUAGES, Labels
from server.query.facts import facts_about
from server.reconcile.context import base_iri, matcher_for, require_index, respond, schema_of
from server.reconcile.keys import normalise
from server.reconcile.manifest import type_json
from server.reconcile.matching import entity_id, entity_iri
from server.reconcile.properties import PROPERTIES, property_values, string_value
from server.store.sparql_text import valid_iri
from server.uris import Iris, local_url
from server.web.errors import BadRequest, NotFound
from server.web.i18n import reader_language, translator
from server.web.requests import origin, whole_number
from server.web.services import services


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
        if not whole_number(raw):
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


# --- Preview ------------------------------------------------------------------------------------


async def card(request: Request) -> dict:
    """What the preview shows of an entity: names in four languages, types, country, code,
    coordinates, identifiers and the link to its page."""
    given = request.query_params.get("id", "").strip()
    if not given:
        raise BadRequest("Give the entity to preview as ?id=place/kuopio.")
    engine, base, schema = services(request).engine, base_iri(request), await schema_of(request)
    iri = entity_iri(base, given, (origin(request),))
    if not valid_iri(iri):
        raise NotFound(f"There is no entity {given!r}.")
    facts = await facts_about(engine, {iri}, Iris(base))
    if not facts.labels.known(iri) and not facts.types.get(iri):
        raise NotFound(f"There is no entity {given!r}.")
    wanted = ["country", "partOf", "code", "wikidata", "geonames"]
    values = (await property_values(engine, base, [iri], wanted)).get(iri, {})
    linked = {v.value for pid in ("country", "partOf") for v in values.get(pid, [])}
    linked_labels = (await facts_about(engine, linked, Iris(base))).labels if linked else Labels()
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
    templates = services(request).templates
    context = {"card": await card(request), "fragment": False}
    return templates.TemplateResponse(request, "reconcile-preview.html", context)


async def flyout(request: Request) -> Response:
    """The preview card as {"id", "html"}, for the 0.2 suggest widget's flyout."""
    info = await card(request)
    template = services(request).templates.get_template("reconcile-preview.html")
    language = reader_language(request)
    html = template.render(card=info, fragment=True, lang=language, words=translator(language))
    return respond(request, {"id": request.query_params.get("id", ""), "html": html})
