"""The query UI at /sparql for people: YASGUI bound to this endpoint, examples one click away."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.namespaces import prefixes


def render(request: Request, query: str | None = None, status_code: int = 200) -> Response:
    state = request.app.state
    settings = state.settings
    context = {
        "endpoint": str(request.url_for("sparql")),
        "prefixes": prefixes(settings.base_iri),
        "base_iri": settings.base_iri,
        "examples": state.examples,
        "query": query,
        "query_timeout": settings.query_timeout,
        "max_result_rows": settings.max_result_rows,
    }
    return state.templates.TemplateResponse(
        request, "sparql.html", context, status_code=status_code, headers={"Vary": "Accept"}
    )
