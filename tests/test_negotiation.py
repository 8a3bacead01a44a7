"""Table-driven content negotiation: Accept header and kind of answer -> format, or 406."""

from __future__ import annotations

import pytest

from server import formats
from server.query.reading import QueryForm
from server.sparql.protocol import offered_formats
from server.web.errors import NotAcceptable
from server.web.negotiation import best_format, negotiate, negotiate_language, preference
from server.web.problems import PROBLEM_FORMATS

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
SELECT_GET = offered_formats(QueryForm.SELECT, allow_html=True)
SELECT_POST = offered_formats(QueryForm.SELECT, allow_html=False)
GRAPH = offered_formats(QueryForm.CONSTRUCT, allow_html=False)

CASES = [
    # (Accept, offered, expected media type or None for 406)
    (None, SELECT_POST, "application/sparql-results+json"),
    ("", SELECT_POST, "application/sparql-results+json"),
    ("*/*", SELECT_POST, "application/sparql-results+json"),
    ("application/sparql-results+xml", SELECT_POST, "application/sparql-results+xml"),
    (
        "application/sparql-results+json;charset=utf-8",
        SELECT_POST,
        "application/sparql-results+json",
    ),
    ("text/csv", SELECT_POST, "text/csv"),
    ("TEXT/CSV", SELECT_POST, "text/csv"),
    ("text/tab-separated-values", SELECT_POST, "text/tab-separated-values"),
    ("text/*", SELECT_POST, "text/csv"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.4", SELECT_POST, "text/csv"),
    (
        "application/sparql-results+json;q=0, */*;q=0.1",
        SELECT_POST,
        "application/sparql-results+xml",
    ),
    ("application/json", SELECT_POST, "application/sparql-results+json"),
    ("application/xml", SELECT_POST, "application/sparql-results+xml"),
    ("text/turtle", SELECT_POST, None),
    ("image/png", SELECT_POST, None),
    (FIREFOX, SELECT_GET, "text/html"),
    (CHROME, SELECT_GET, "text/html"),
    (FIREFOX, SELECT_POST, "application/sparql-results+xml"),
    (None, GRAPH, "text/turtle"),
    ("*/*", GRAPH, "text/turtle"),
    ("application/ld+json", GRAPH, "application/ld+json"),
    ("application/rdf+xml", GRAPH, "application/rdf+xml"),
    ("application/n-triples", GRAPH, "application/n-triples"),
    ("application/n-quads", GRAPH, "application/n-quads"),
    ("application/trig", GRAPH, "application/trig"),
    ("text/plain", GRAPH, "application/n-triples"),
    ("application/x-turtle", GRAPH, "text/turtle"),
    ("application/rdf+xml;q=0.9, text/turtle;q=0.8", GRAPH, "application/rdf+xml"),
    ("text/turtle;q=0, application/*", GRAPH, "application/ld+json"),
    ("application/sparql-results+json", GRAPH, None),
]


@pytest.mark.parametrize(("accept", "offered", "expected"), CASES, ids=[f"{c[0]!r}-{len(c[1])}" for c in CASES])
def test_negotiation_table(accept: str | None, offered: tuple[formats.Format, ...], expected: str | None) -> None:
    if expected is None:
        with pytest.raises(NotAcceptable) as refused:
            negotiate(accept, offered)
        assert refused.value.status == 406
        assert all(f.media_type in refused.value.detail for f in offered)
    else:
        assert negotiate(accept, offered).media_type == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (FIREFOX, "text/html"),
        (CHROME, "text/html"),
        ("*/*", "text/plain"),
        (None, "text/plain"),
        ("application/json", "application/problem+json"),
        ("application/problem+json", "application/problem+json"),
        ("application/sparql-results+json", "text/plain"),
    ],
)
def test_errors_are_pages_for_browsers_and_text_for_curl(accept: str | None, expected: str) -> None:
    fmt = best_format(accept, PROBLEM_FORMATS) or formats.TEXT
    assert (formats.PROBLEM_JSON if fmt is formats.JSON else fmt).media_type == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("fi-FI,fi;q=0.9,en;q=0.8", "fi"),
        ("sv", "sv"),
        ("zh-CN", "zh"),
        ("de, fr;q=0.5", "en"),
        ("de, sv;q=0.2", "sv"),
        ("en-GB", "en"),
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_language(header, ["en", "fi", "sv", "zh"]) == expected


@pytest.mark.parametrize(
    ("accept", "fmt", "expected"),
    [
        (None, formats.CSV, 1.0),
        ("*/*", formats.CSV, 1.0),
        (FIREFOX, formats.CSV, 0.8),
        ("text/csv;q=0, */*", formats.CSV, 0.0),
        ("application/sparql-results+json", formats.CSV, 0.0),
        ("text/*;q=0.5, text/csv;q=0.7", formats.CSV, 0.7),
        ("application/xml;q=0.3", formats.RDF_XML, 0.3),  # through an alias
    ],
)
def test_preference_of_one_format(accept: str | None, fmt: formats.Format, expected: float) -> None:
    assert preference(accept, fmt) == expected


@pytest.mark.parametrize(
    ("name", "offered", "expected"),
    [
        ("xml", SELECT_POST, formats.SPARQL_XML),
        ("xml", GRAPH, formats.RDF_XML),  # SPARQLWrapper's default for CONSTRUCT and DESCRIBE
        ("n3", GRAPH, formats.TURTLE),
        ("N3", GRAPH, formats.TURTLE),
        ("json-ld", GRAPH, formats.JSON_LD),
        ("rdf+xml", GRAPH, formats.RDF_XML),
        ("text/tab-separated-values", SELECT_POST, formats.TSV),
        ("text/csv; charset=utf-8", SELECT_POST, formats.CSV),
        ("turtle", SELECT_POST, None),
        ("json", GRAPH, None),
        ("bogus", GRAPH, None),
    ],
)
def test_format_parameter_names(
    name: str, offered: tuple[formats.Format, ...], expected: formats.Format | None
) -> None:
    assert formats.named(name, offered) is expected
