"""The service manifests of the two protocol versions (0.2 for OpenRefine, 1.0-draft)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from server import __version__
from server.labels import LANGUAGES
from server.reconcile.context import BATCH_SIZE, DEFAULT_TYPES, PREVIEW_HEIGHT, PREVIEW_WIDTH, base_iri, schema_of
from server.reconcile.schema import Schema
from server.web.i18n import reader_language
from server.web.requests import origin


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
