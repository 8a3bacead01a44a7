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
from server.web.i18n import reader_language, translator
from server.web.services import services

# The words the script of the page uses (server/static/query-ui.js), in the reader's language.
SCRIPT_WORDS = (
    "all_rows",
    "copy_this_link",
    "dated_shown",
    "dated_shown_some_missing",
    "download_graph_note",
    "download_no_form",
    "download_results_note",
    "error_busy",
    "error_failed",
    "error_refused",
    "error_syntax",
    "error_timeout",
    "error_unreachable",
    "filter_results",
    "first_page",
    "last_page",
    "next_page",
    "previous_page",
    "go_to_position",
    "link_copied",
    "link_to_query",
    "map_of_results",
    "n_results",
    "n_results_in",
    "no_coordinates_table",
    "no_dates_table",
    "no_label",
    "one_result",
    "one_result_in",
    "page_size",
    "points_shown",
    "points_shown_some_missing",
    "query_stopped",
    "response_in",
    "running",
    "shows_view",
    "simple_view",
    "table_empty",
    "table_info",
    "table_info_empty",
    "table_info_filtered",
    "table_no_match",
    "timeline_of_results",
    "truncated_rows",
    "truncated_triples",
    "view_map",
    "view_response",
    "view_table",
    "view_timeline",
)


def format_entries(*kinds: formats.Kind) -> list[dict[str, str]]:
    return [
        {"key": f.key, "label": f.label, "ext": f.extension, "mediaType": f.media_type}
        for f in formats.of_kinds(*kinds)
    ]


def render(request: Request, query: str | None = None, status_code: int = 200) -> Response:
    shared = services(request)
    settings = shared.settings
    language = reader_language(request)
    words = translator(language)
    context = {
        "script_words": {key: words[key] for key in SCRIPT_WORDS},
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
        request, "sparql.html", context, status_code=status_code, headers={"Vary": "Accept, Accept-Language"}
    )
