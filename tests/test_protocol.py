"""The SPARQL 1.1 Protocol over HTTP against the real server."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import parse_qsl, quote

import httpx
import hypothesis
import pyoxigraph as ox
import pytest
import rdflib
from hypothesis import strategies as st
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from server.sparql.protocol import form_pairs

BASE = "https://w3id.org/sistercities/"
SC = f"PREFIX sc: <{BASE}ontology#>\n"
TWINS_OF_SHANGHAI = SC + f"SELECT ?city WHERE {{ <{BASE}id/place/shanghai> sc:twinnedWith ?city }} ORDER BY ?city"
KUOPIO = f"{BASE}id/place/kuopio"
FORM = "application/x-www-form-urlencoded"


def cities(body: bytes, fmt: ox.QueryResultsFormat = ox.QueryResultsFormat.JSON) -> list[str]:
    return [row["city"].value.rsplit("/", 1)[-1] for row in ox.parse_query_results(body, fmt)]


# Shanghai's partners named in agreements in force (seed 001: Casablanca, St Petersburg, Espoo,
# Barcelona, Houston, Mumbai; seed 002: Espoo and the eleven cities of the 2020 forum); Kuopio's 2002
# claim is disputed (Business Kuopio: Pudong, 2012), so Kuopio is not among them.
ARTICLE_TWINS = [
    "antwerp",
    "bangkok",
    "barcelona",
    "budapest",
    "buenos-aires",
    "casablanca",
    "chicago",
    "dubai",
    "espoo",
    "houston",
    "london",
    "moscow",
    "mumbai",
    "osaka",
    "phnom-penh",
    "port-of-spain",
    "saint-petersburg",
]


def crawl_only_twins_of_shanghai() -> list[str]:
    """Shanghai's P190 partners in the 2016 Wikidata crawl that the dataset knows only from the crawl
    (minimal nodes place/wikidata-q...), read from the table of the crawl's pairs. The crawl's partners
    that are our places (Espoo, Dubai, London, ...) are all among ARTICLE_TWINS."""
    table = Path(__file__).resolve().parent.parent / "data" / "reference" / "wikidata-p190-2016.tsv"
    pairs = [
        r
        for r in csv.DictReader(table.open(encoding="utf-8"), delimiter="\t")
        if "Q8686" in (r["subject_qid"], r["object_qid"])
    ]
    assert len(pairs) == 75
    ours = {r[f"{end}_entity_id"] for r in pairs for end in ("subject", "object")} - {"shanghai", ""}
    assert ours <= set(ARTICLE_TWINS) and len(ours) == 11
    others = {r[f"{end}_qid"] for r in pairs for end in ("subject", "object") if not r[f"{end}_entity_id"]}
    return [f"wikidata-{qid.lower()}" for qid in others]


EXPECTED_TWINS = sorted(ARTICLE_TWINS + crawl_only_twins_of_shanghai())


# --- The three ways of sending a query ----------------------------------------------------


def test_get_query(http: httpx.Client) -> None:
    response = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/sparql-results+json"
    assert cities(response.content) == EXPECTED_TWINS


def test_post_form(http: httpx.Client) -> None:
    response = http.post("/sparql", data={"query": TWINS_OF_SHANGHAI})
    assert response.status_code == 200
    assert cities(response.content) == EXPECTED_TWINS


def test_post_form_decodes_percent_once(http: httpx.Client) -> None:
    query = 'SELECT ?s WHERE { VALUES ?s { "100%25 sure" } }'
    response = http.post("/sparql", data={"query": query}, headers={"Accept": "text/tab-separated-values"})
    assert response.status_code == 200
    assert '"100%25 sure"' in response.text


def test_post_direct(http: httpx.Client) -> None:
    response = http.post("/sparql", content=TWINS_OF_SHANGHAI, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200
    assert cities(response.content) == EXPECTED_TWINS


def test_head(http: httpx.Client) -> None:
    response = http.head("/sparql", params={"query": TWINS_OF_SHANGHAI})
    assert response.status_code == 200
    assert response.content == b""
    assert "ETag" in response.headers


# --- The RDF dataset of a request --------------------------------------------------------

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def count(response: httpx.Response) -> int:
    return int(next(iter(ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)))["n"].value)


def test_default_graph_uri_restricts_the_default_graph(http: httpx.Client, store: ox.Store) -> None:
    graph = f"{BASE}graph/004-sme2go-shandong-trip"
    expected = sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
    everything = count(http.get("/sparql", params={"query": COUNT}))
    only_one = count(http.get("/sparql", params={"query": COUNT, "default-graph-uri": graph}))
    assert only_one == expected < everything


def test_named_graph_uri_restricts_the_named_graphs(http: httpx.Client) -> None:
    graphs = [f"{BASE}graph/003-beijing-mayor-visit-helsinki", f"{BASE}graph/sources"]
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    response = http.post("/sparql", data={"query": query, "named-graph-uri": graphs})
    found = [row["g"].value for row in ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)]
    assert found == sorted(graphs)
    assert count(http.get("/sparql", params=[("query", COUNT), ("named-graph-uri", graphs[0])])) == 0


def test_graph_parameters_with_a_direct_post(http: httpx.Client) -> None:
    graph = f"{BASE}graph/sources"
    response = http.post(
        "/sparql",
        params={"default-graph-uri": graph},
        content=COUNT,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert 0 < count(response) < count(http.get("/sparql", params={"query": COUNT}))


# --- Result formats ------------------------------------------------------------------------

RESULT_FORMATS = [
    ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ("text/csv", ox.QueryResultsFormat.CSV),
    ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
]


@pytest.mark.parametrize(("media_type", "fmt"), RESULT_FORMATS)
def test_select_in_every_results_format(http: httpx.Client, media_type: str, fmt: ox.QueryResultsFormat) -> None:
    response = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert "Accept" in response.headers["vary"]
    if fmt == ox.QueryResultsFormat.CSV:
        assert response.text.splitlines()[1:] == [f"{BASE}id/place/{c}" for c in EXPECTED_TWINS]
    else:
        assert cities(response.content, fmt) == EXPECTED_TWINS


@pytest.mark.parametrize(("media_type", "fmt"), RESULT_FORMATS[:2])
def test_ask_in_json_and_xml(http: httpx.Client, media_type: str, fmt: ox.QueryResultsFormat) -> None:
    response = http.get("/sparql", params={"query": f"ASK {{ <{KUOPIO}> ?p ?o }}"}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert bool(ox.parse_query_results(response.content, fmt)) is True


GRAPH_FORMATS = [
    ("text/turtle", ox.RdfFormat.TURTLE),
    ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/trig", ox.RdfFormat.TRIG),
    ("application/n-quads", ox.RdfFormat.N_QUADS),
]


@pytest.mark.parametrize(("media_type", "fmt"), GRAPH_FORMATS)
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
def test_graph_answers_in_every_rdf_format(http: httpx.Client, media_type: str, fmt: ox.RdfFormat, form: str) -> None:
    query = f"DESCRIBE <{KUOPIO}>" if form == "DESCRIBE" else f"CONSTRUCT WHERE {{ <{KUOPIO}> ?p ?o }}"
    response = http.get("/sparql", params={"query": query}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    subjects = {q.subject for q in ox.parse(response.content, format=fmt)}
    assert ox.NamedNode(KUOPIO) in subjects
    assert all(s == ox.NamedNode(KUOPIO) or isinstance(s, ox.BlankNode) for s in subjects)


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_format_parameter_for_browsers(http: httpx.Client) -> None:
    response = http.get(
        "/sparql",
        params={"query": TWINS_OF_SHANGHAI, "format": "csv"},
        headers={"Accept": BROWSER_ACCEPT},
    )
    assert response.headers["content-type"].startswith("text/csv")
    response = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI, "format": "application/sparql-results+xml"})
    assert response.headers["content-type"] == "application/sparql-results+xml"


# The rules of the format parameters (format=, output=, results=), as README "The SPARQL endpoint"
# states them: (parameters, Accept) -> the answer's media type, or 400.
JSON_RESULTS, XML_RESULTS = "application/sparql-results+json", "application/sparql-results+xml"
FORMAT_PARAMETER_RULES = [
    # SPARQLWrapper repeats a format under three names, as a name and as a media type
    (
        "format=tsv&format=text/tab-separated-values&output=tsv&results=tsv",
        "text/tab-separated-values",
        "text/tab-separated-values",
    ),
    ("format=csv&output=csv&results=csv", None, "text/csv"),
    ("output=xml", "*/*", XML_RESULTS),
    ("results=json", None, JSON_RESULTS),
    # a format a SELECT cannot be given in, or a name nobody knows: Accept decides, as at peer endpoints
    ("format=turtle", "text/csv", "text/csv"),
    ("format=n3", None, JSON_RESULTS),
    ("format=bogus", XML_RESULTS, XML_RESULTS),
    ("format=turtle&format=csv", None, "text/csv"),
    # the parameter chooses among what Accept allows; a format Accept refuses is not forced on it
    ("format=csv", BROWSER_ACCEPT, "text/csv"),
    ("format=csv", f"{JSON_RESULTS}", JSON_RESULTS),
    ("format=csv", "text/csv;q=0, */*", JSON_RESULTS),
    # different formats: Accept chooses among them; when it prefers none, a 400 says so
    ("format=json&format=csv", "text/csv", "text/csv"),
    ("format=json&output=csv", f"{JSON_RESULTS}, text/csv;q=0.5", JSON_RESULTS),
    ("format=json&format=csv", None, 400),
    ("format=json&format=csv", "*/*", 400),
    ("format=json&results=xml", "text/tab-separated-values", "text/tab-separated-values"),
    ("format=json&format=csv", "image/png", 406),
]


@pytest.mark.parametrize(("parameters", "accept", "expected"), FORMAT_PARAMETER_RULES)
def test_format_parameter_rules(http: httpx.Client, parameters: str, accept: str | None, expected: str | int) -> None:
    url = f"/sparql?{parameters}&query={quote(TWINS_OF_SHANGHAI)}"
    response = http.get(url, headers={"Accept": accept} if accept else {})
    if isinstance(expected, int):
        assert response.status_code == expected, response.text
        if expected == 400:
            assert "json and csv" in response.text and "Accept" in response.text
        return
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == expected


@pytest.mark.parametrize(
    ("parameters", "accept", "expected"),
    [
        ("format=xml&output=xml&results=xml", "application/rdf+xml", "application/rdf+xml"),  # SPARQLWrapper's default
        ("format=xml", None, "application/rdf+xml"),  # "xml" of a graph is RDF/XML
        ("format=n3", None, "text/turtle"),  # N3 is answered with Turtle, its subset
        ("format=text/n3", None, "text/turtle"),
        ("format=json-ld&format=application/ld+json", "application/ld+json", "application/ld+json"),
        ("format=rdf+xml&format=application/rdf+xml", "application/rdf+xml", "application/rdf+xml"),
        ("format=json", "*/*", "text/turtle"),  # no JSON results for a graph: Accept decides
        ("format=csv", "application/n-triples", "application/n-triples"),
        ("format=ntriples", None, "application/n-triples"),
        ("format=nt", None, "application/n-triples"),
    ],
)
def test_format_parameter_of_graph_queries(
    http: httpx.Client, parameters: str, accept: str | None, expected: str
) -> None:
    url = f"/sparql?{parameters}&query={quote(f'CONSTRUCT WHERE {{ <{KUOPIO}> ?p ?o }}')}"
    response = http.get(url, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == expected


def test_format_parameters_in_a_post_body(http: httpx.Client) -> None:
    body = f"query={quote(TWINS_OF_SHANGHAI)}&format=tsv&format=text%2Ftab-separated-values&output=tsv"
    response = http.post("/sparql", content=body, headers={"Content-Type": FORM, "Accept": "text/tab-separated-values"})
    assert response.status_code == 200
    assert cities(response.content, ox.QueryResultsFormat.TSV) == EXPECTED_TWINS


def test_not_acceptable_names_the_available_types(http: httpx.Client) -> None:
    response = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text and "text/csv" in response.text
    assert "Accept" in response.headers["vary"]


def test_browser_opening_a_query_url_gets_the_query_ui(http: httpx.Client) -> None:
    response = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI}, headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "twinnedWith" in response.text


# --- Bad input ---------------------------------------------------------------------------


def test_syntax_error_names_the_position(http: httpx.Client) -> None:
    response = http.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s ?p }"})
    assert response.status_code == 400
    assert "line 2" in response.text and "column" in response.text


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": {"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}},
        {
            "content": "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
            "headers": {"Content-Type": "application/sparql-update"},
        },
    ],
    ids=["update-parameter", "sparql-update-body"],
)
def test_update_operations_are_refused(http: httpx.Client, request_kwargs: dict) -> None:
    response = http.post("/sparql", **request_kwargs)
    assert response.status_code == 403
    assert "read-only" in response.text


def test_update_sent_as_a_query_is_refused(http: httpx.Client) -> None:
    response = http.get("/sparql", params={"query": "DELETE WHERE { ?s ?p ?o }"})
    assert response.status_code == 400
    assert "read-only" in response.text
    assert count(http.get("/sparql", params={"query": COUNT})) > 0


def test_federated_queries_are_refused(http: httpx.Client) -> None:
    response = http.get(
        "/sparql",
        params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }"},
    )
    assert response.status_code == 400
    assert "SERVICE" in response.text


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": "SELECT * {}", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"content": "SELECT * {}", "headers": {}}, 415),
        ({"content": b"query=SELECT%20\xe9", "headers": {"Content-Type": FORM}}, 400),
        ({"data": {"query": ""}}, 400),
        (
            {"content": "query=ASK%20%7B%7D&query=ASK%20%7B%7D", "headers": {"Content-Type": FORM}},
            400,
        ),
        ({"data": {"query": "ASK {}", "default-graph-uri": "not an iri"}}, 400),
        ({"content": "", "headers": {"Content-Type": FORM}}, 400),
        (
            {
                "content": "SELECT * {}" + " " * 1_100_000,
                "headers": {"Content-Type": "application/sparql-query"},
            },
            413,
        ),
    ],
    ids=[
        "text-plain",
        "no-content-type",
        "bad-utf8",
        "empty",
        "repeated",
        "bad-graph-iri",
        "no-query",
        "too-large",
    ],
)
def test_bad_requests_get_clear_errors(http: httpx.Client, kwargs: dict, status: int) -> None:
    response = http.post("/sparql", **kwargs)
    assert response.status_code == status, response.text
    assert response.text.startswith(f"{status} ")


def test_errors_for_browsers_are_pages_and_for_programs_problem_json(http: httpx.Client) -> None:
    page = http.post(
        "/sparql",
        data={"query": "SELEC"},
        headers={"Accept": "text/html,application/xml;q=0.9,*/*;q=0.8"},
    )
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    problem = http.get(
        "/sparql",
        params={"query": "SELEC"},
        headers={"Accept": "application/sparql-results+json, application/problem+json"},
    )
    assert problem.status_code == 400
    assert json.loads(problem.text)["status"] == 400


# --- Service description and HTTP features -----------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"


def test_service_description_for_machines(http: httpx.Client, server_url: str) -> None:
    response = http.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    service = rdflib.URIRef(f"{server_url}/sparql")
    assert (service, rdflib.RDF.type, rdflib.URIRef(SD + "Service")) in graph
    assert (service, rdflib.URIRef(SD + "endpoint"), service) in graph
    formats_listed = set(graph.objects(service, rdflib.URIRef(SD + "resultFormat")))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV") in formats_listed
    assert rdflib.URIRef("http://www.w3.org/ns/formats/Turtle") in formats_listed
    limits = {p.split("#")[-1]: o.toPython() for p, o in graph.predicate_objects(service) if "ontology#" in p}
    assert limits == {"queryTimeLimit": 30, "resultRowLimit": 100000}
    names = set(graph.objects(None, rdflib.URIRef(SD + "name")))
    assert rdflib.URIRef(f"{BASE}graph/000-business-kuopio-shanghai-network") in names
    assert (
        service,
        rdflib.URIRef(SD + "feature"),
        rdflib.URIRef(SD + "BasicFederatedQuery"),
    ) not in graph


def test_service_description_without_accept_is_turtle(http: httpx.Client) -> None:
    response = http.get("/sparql", headers={"Accept": ""})
    assert response.headers["content-type"].startswith("text/turtle")


def test_query_ui_for_browsers(http: httpx.Client) -> None:
    response = http.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_cors_for_reads(http: httpx.Client) -> None:
    response = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI}, headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "X-SPARQL-MaxRows" in response.headers["access-control-expose-headers"]
    preflight = http.options(
        "/sparql",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_gzip_when_asked(server_url: str) -> None:
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 500"
    with httpx.Client(base_url=server_url) as client:
        raw = client.get("/sparql", params={"query": query}, headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        plain = client.get("/sparql", params={"query": query}, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert raw.content == plain.content  # httpx has decoded the gzip body


def test_conditional_requests_get_304(http: httpx.Client) -> None:
    first = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"')
    again = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    since = http.get("/sparql", params={"query": TWINS_OF_SHANGHAI}, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other_format = http.get(
        "/sparql",
        params={"query": TWINS_OF_SHANGHAI},
        headers={"If-None-Match": etag, "Accept": "text/csv"},
    )
    assert other_format.status_code == 200


# --- Standard clients work unchanged ----------------------------------------------------


def test_sparqlwrapper(server_url: str) -> None:
    client = SPARQLWrapper(f"{server_url}/sparql")
    client.setQuery(TWINS_OF_SHANGHAI)
    client.setReturnFormat(JSON)
    bindings = client.queryAndConvert()["results"]["bindings"]
    assert [b["city"]["value"].rsplit("/", 1)[-1] for b in bindings] == EXPECTED_TWINS


def test_rdflib_sparql_store(server_url: str) -> None:
    graph = rdflib.Graph(store=SPARQLStore(f"{server_url}/sparql", returnFormat="json"))
    rows = graph.query(TWINS_OF_SHANGHAI)
    assert [str(row.city).rsplit("/", 1)[-1] for row in rows] == EXPECTED_TWINS
    assert (rdflib.URIRef(KUOPIO), None, None) in graph


@hypothesis.settings(max_examples=2000, deadline=None)
@hypothesis.given(st.text(alphabet="ab=&;+%2F0E8zC3 #é\n", max_size=16))
def test_query_strings_are_decoded_as_parse_qsl_decodes_them(encoded: str) -> None:
    assert form_pairs(encoded) == parse_qsl(encoded, keep_blank_values=True)
