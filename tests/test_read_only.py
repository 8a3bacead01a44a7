"""Everything public is read-only: SPARQL Update is refused whatever the encoding, with a clear
status and message, and the data are the same afterwards; and inputs that are not data get a 4xx,
not a verdict (an empty body posted to /validate is no proof of conformance)."""

from __future__ import annotations

import httpx
import pytest

UPDATE = "INSERT DATA { <https://example.org/s> <https://example.org/p> <https://example.org/o> }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
FORM = "application/x-www-form-urlencoded"

# (how it is sent, the request, the status): 403 for the protocol's update operation (update=, a
# sparql-update body), 400 for update text sent as a query.
UPDATES = [
    ("GET ?update=", ("GET", {"update": UPDATE}, None, None), 403),
    ("POST form update=", ("POST", None, {"update": UPDATE}, None), 403),
    ("POST form update= and query=", ("POST", None, {"update": UPDATE, "query": "ASK {}"}, None), 403),
    ("POST application/sparql-update", ("POST", None, UPDATE, "application/sparql-update"), 403),
    ("sparql-update, parameters", ("POST", None, UPDATE, "application/sparql-update; charset=utf-8"), 403),
    ("sparql-update in capitals", ("POST", None, UPDATE, "APPLICATION/SPARQL-UPDATE"), 403),
    ("sparql-query body, ?update=", ("POST", {"update": UPDATE}, "ASK {}", "application/sparql-query"), 403),
    ("GET ?query=INSERT", ("GET", {"query": UPDATE}, None, None), 400),
    ("POST form query=INSERT", ("POST", None, {"query": UPDATE}, None), 400),
    ("sparql-query body INSERT", ("POST", None, UPDATE, "application/sparql-query"), 400),
    ("mixed case", ("GET", {"query": "InSeRt DaTa { <a:s> <a:p> <a:o> }"}, None, None), 400),
    (
        "prologue first",
        ("GET", {"query": "PREFIX e: <https://example.org/>\nBASE <https://e/> " + UPDATE}, None, None),
        400,
    ),
    ("comments first", ("GET", {"query": "# a comment\n  # another\n" + UPDATE}, None, None), 400),
    ("DELETE WHERE", ("GET", {"query": "DELETE WHERE { ?s ?p ?o }"}, None, None), 400),
    (
        "DELETE/INSERT WHERE",
        ("GET", {"query": "DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }"}, None, None),
        400,
    ),
    ("WITH", ("GET", {"query": "WITH <a:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }"}, None, None), 400),
    ("CLEAR ALL", ("GET", {"query": "CLEAR ALL"}, None, None), 400),
    ("DROP", ("POST", None, {"query": "DROP GRAPH <https://w3id.org/sistercities/graph/sources>"}, None), 400),
    ("CREATE", ("GET", {"query": "CREATE GRAPH <a:g>"}, None, None), 400),
    (
        "COPY / MOVE / ADD",
        ("GET", {"query": "COPY DEFAULT TO <a:g> ; MOVE <a:g> TO <a:h> ; ADD <a:h> TO <a:i>"}, None, None),
        400,
    ),
    ("LOAD", ("GET", {"query": "LOAD <http://127.0.0.1:9/x>"}, None, None), 400),
    ("query; then an update", ("GET", {"query": "ASK {} ; " + UPDATE}, None, None), 400),
    ("\\u-escaped keyword", ("GET", {"query": "\\u0049NSERT DATA { <a:s> <a:p> <a:o> }"}, None, None), 400),
]


@pytest.mark.parametrize(("encoding", "request_", "status"), UPDATES, ids=[u[0] for u in UPDATES])
def test_updates_are_refused_whatever_the_encoding(http: httpx.Client, encoding: str, request_, status: int) -> None:
    method, params, body, content_type = request_
    before = http.get("/sparql", params={"query": COUNT}, headers={"Accept": "text/csv"}).text
    if isinstance(body, dict):
        response = http.request(method, "/sparql", params=params, data=body)
    else:
        headers = {"Content-Type": content_type} if content_type else {}
        response = http.request(method, "/sparql", params=params, content=body, headers=headers)
    assert response.status_code == status, (encoding, response.status_code, response.text)
    message = response.text.lower()
    assert "update" in message or "read-only" in message or "syntax" in message or "expected" in message, message
    after = http.get("/sparql", params={"query": COUNT}, headers={"Accept": "text/csv"}).text
    assert after == before


@pytest.mark.parametrize("body", [b"", b" ", b"\n\n\t \r\n"], ids=["empty", "a space", "white space"])
@pytest.mark.parametrize("media_type", ["text/turtle", "application/ld+json", "application/n-triples"])
def test_an_empty_submission_is_400_not_a_verdict(http: httpx.Client, body: bytes, media_type: str) -> None:
    response = http.post("/validate", content=body, headers={"Content-Type": media_type})
    assert response.status_code == 400, response.text
    assert "no data" in response.text.lower()
    assert "conforms" not in response.text


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("text/turtle", b"# only a comment\n"),
        ("text/turtle", b"@prefix sc: <https://w3id.org/sistercities/ontology#> .\n"),
        ("application/ld+json", b"{}"),
        ("application/ld+json", b"[]"),
        ("application/rdf+xml", b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'),
    ],
    ids=["comment", "prefixes", "empty object", "empty list", "empty rdf:RDF"],
)
def test_a_submission_without_statements_is_400(http: httpx.Client, media_type: str, body: bytes) -> None:
    response = http.post("/validate", content=body, headers={"Content-Type": media_type})
    assert response.status_code == 400, response.text
    assert "no data" in response.text.lower()


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        ({"data": "", "format": "auto"}, None),
        ({"data": "   \n ", "format": "turtle"}, None),
        ({"format": "auto"}, {"file": ("empty.ttl", b"")}),
        ({"format": "auto"}, {"file": ("blank.ttl", b"  \n")}),
    ],
    ids=["empty text", "white space", "empty file", "blank file"],
)
def test_the_form_with_nothing_in_it_is_400(http: httpx.Client, fields: dict, files) -> None:
    response = http.post(
        "/validate", data=fields, files=files or {"unused": ("", b"")}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 400
    assert "conforms" not in response.text.lower() or "error" in response.text.lower()
