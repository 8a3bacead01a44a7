"""Run one query-evaluation case over the SPARQL 1.1 Protocol and compare its answer."""

from __future__ import annotations

import re

import httpx

from tests.w3c.manifest import QueryCase, ResultFormat
from tests.w3c.results import Mismatch, check, read_expected, read_response

# What to ask for: the format the expected results are written in, so the JSON, CSV and TSV
# tests exercise the endpoint's serialisers; JSON for results written as RDF (rs:ResultSet);
# N-Triples (else Turtle or RDF/XML) for graphs.
ACCEPT = {
    ResultFormat.SRX: "application/sparql-results+xml",
    ResultFormat.SRJ: "application/sparql-results+json",
    ResultFormat.TSV: "text/tab-separated-values",
    ResultFormat.CSV: "text/csv",
    ResultFormat.RESULT_SET: "application/sparql-results+json",
    ResultFormat.GRAPH: "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.8",
}
# Strings, IRIs and comments, which may contain braces or the words ORDER BY.
OPAQUE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*'
)
ORDER_KEY = re.compile(r"\s*(?:(?:ASC|DESC)\s*\(\s*[?$](\w+)\s*\)|[?$](\w+))", re.IGNORECASE)


def with_base(query: str, base: str) -> str:
    """The query with its file's public IRI as base, as the suite means it: relative IRIs in a
    query (`GRAPH <ng-01.ttl>`, `FROM <data.ttl>`) name the suite's files. The protocol has no
    base parameter, and a BASE the query declares itself still wins (it comes later)."""
    return f"BASE <{base}>\n{query}"


def order_keys(query: str) -> tuple[str, ...]:
    """The variables the outermost ORDER BY sorts on, as far as its keys are plain variables.

    Only these columns are compared in order (the usual lenient practice): rows equal on them
    may come in any order, and an expression key ends the checked prefix."""
    text = OPAQUE.sub(" ", query)
    depth, position = 0, 0
    for match in re.finditer(r"[{}]|\bORDER\s+BY\b", text, re.IGNORECASE):
        if match.group() == "{":
            depth += 1
        elif match.group() == "}":
            depth -= 1
        elif depth == 0:
            position = match.end()
            break
    else:
        return ()
    keys = []
    while key := ORDER_KEY.match(text, position):
        keys.append(key.group(1) or key.group(2))
        position = key.end()
    return tuple(keys)


def run_query_case(case: QueryCase, endpoint: str, client: httpx.Client) -> None:
    """Ask the endpoint the case's query (POST, form-encoded); raise Mismatch unless it answers right.

    The dataset must already be loaded: the query goes without default-graph-uri or
    named-graph-uri, so it runs over the store's own default graph and named graphs."""
    query = case.query.path.read_text(encoding="utf-8")
    expected = read_expected(case.result, case.result_format)
    response = client.post(
        endpoint, data={"query": with_base(query, case.query.iri)}, headers={"Accept": ACCEPT[case.result_format]}
    )
    if not response.is_success:
        raise Mismatch(f"HTTP {response.status_code}: {response.text[:500]}")
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    check(expected, read_response(media_type, response.content), order_keys(query))
