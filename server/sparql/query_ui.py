"""The query UI at /sparql for people: YASGUI bound to this endpoint.

The query UI at /sparql for people: YASGUI bound to this endpoint, examples one click away.

The formats it offers for download and the languages it labels IRIs in come from the server's
own registries (server.formats, server.labels), so the UI cannot offer what the endpoint lacks.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.labels import LANGUAGES
from server.namespaces import prefixes
from server.sparql.examples import Examples
from server.web.services import services


def format_entries(*kinds: formats.Kind) -> list[dict[str, str]]:
    return [
        {"key": f.key, "label": f.label, "ext": f.extension, "mediaType": f.media_type}
        for f in formats.of_kinds(*kinds)
    ]


def render(request: Request, query: str | None = None, status_code: int = 200) -> Response:
    shared = services(request)
    settings = shared.settings
    context = {
        "endpoint": str(request.url_for("sparql")),
        "prefixes": prefixes(settings.base_iri),
        "base_iri": settings.base_iri,
        "examples": shared.get(Examples).items,
        "query": query,
        "query_timeout": settings.query_timeout,
        "max_result_rows": settings.max_result_rows,
        "result_formats": format_entries(formats.Kind.RESULTS),
        "graph_formats": format_entries(formats.Kind.GRAPH, formats.Kind.DATASET),
        "languages_list": list(LANGUAGES),
    }
    return shared.templates.TemplateResponse(
        request, "sparql.html", context, status_code=status_code, headers={"Vary": "Accept"}
    )
