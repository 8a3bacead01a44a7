"""The clients people actually run, with their own defaults, against the real server.

A compatibility matrix: SPARQLWrapper (its default settings, which send format=, output= and
results= besides Accept, and setOnlyConneg) for every query form and return format, by GET, POST
and POST of the query itself; rdflib's SPARQLStore (queries, triples(), len(), contexts()); a
federated SERVICE call to our endpoint from pyoxigraph; and curl with each Accept type. Every
cell must work without telling the client anything about this server.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import warnings
from xml.dom.minidom import Document

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)

BASE = "https://w3id.org/sistercities/"
KUOPIO = f"{BASE}id/place/kuopio"
# Port of Spain: a handful of twins (Shanghai from a seed article, three from the 2016 crawl).
PORT_OF_SPAIN = f"{BASE}id/place/port-of-spain"
TWINS_PATTERN = f"<{PORT_OF_SPAIN}> <{BASE}ontology#twinnedWith> ?city"
TWINS = f"SELECT ?city WHERE {{ {TWINS_PATTERN} }} ORDER BY ?city"
EXPECTED_TWINS = ["shanghai", "wikidata-q23556", "wikidata-q8673", "wikidata-q996320"]
ASK = f"ASK {{ <{KUOPIO}> ?p ?o }}"
GRAPH_QUERIES = {
    "CONSTRUCT": f"CONSTRUCT WHERE {{ <{KUOPIO}> ?p ?o }}",
    "DESCRIBE": f"DESCRIBE <{KUOPIO}>",
}

RESULTS_PARSERS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_PARSERS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


def cities_in(content_type: str, body: bytes) -> list[str]:
    """The ?city column of a results document (CSV is lossy, so read as plain CSV)."""
    if content_type == "text/csv":
        rows = [row["city"] for row in csv.DictReader(io.StringIO(body.decode()))]
    else:
        rows = [row["city"].value for row in ox.parse_query_results(body, RESULTS_PARSERS[content_type])]
    return [row.rsplit("/", 1)[-1] for row in rows]


@pytest.fixture(scope="module")
def kuopio_triples(http: httpx.Client) -> set[tuple[str, str]]:
    """What Kuopio's CONSTRUCT answers, read once in N-Triples: (predicate, object) pairs of IRIs
    and literals (blank nodes stand for themselves only within one answer)."""
    response = http.get(
        "/sparql", params={"query": GRAPH_QUERIES["CONSTRUCT"]}, headers={"Accept": "application/n-triples"}
    )
    assert response.status_code == 200
    return pairs_of(ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES))


def pairs_of(triples) -> set[tuple[str, str]]:
    return {
        (str(t.predicate), str(t.object))
        for t in triples
        if str(t.subject) == f"<{KUOPIO}>" and not isinstance(t.object, ox.BlankNode)
    }


# --- SPARQLWrapper --------------------------------------------------------------------------

# (method, request method): GET; POST of a form; POST of the query itself (URL parameters).
METHODS = {"GET": (GET, None), "POST-form": (POST, URLENCODED), "POST-direct": (POST, POSTDIRECTLY)}
SETTINGS = {"default": False, "only-conneg": True}


def wrapper(endpoint: str, query: str, return_format: str | None, method: str, only_conneg: bool) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    http_method, request_method = METHODS[method]
    client.setMethod(http_method)
    if request_method:
        client.setRequestMethod(request_method)
    if return_format:
        client.setReturnFormat(return_format)
    client.setOnlyConneg(only_conneg)
    return client


def converted(client: SPARQLWrapper) -> tuple[str, object]:
    """The answer as SPARQLWrapper converts it by default, and its media type; fails on any warning
    SPARQLWrapper gives about the answer (a format it did not ask for, an error status)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = client.query()
        content_type = media_type(result.info()["content-type"])
        value = result.convert()
    complaints = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert not complaints, complaints
    return content_type, value


def select_cities(content_type: str, value: object) -> list[str]:
    if isinstance(value, dict):  # JSON
        return [b["city"]["value"].rsplit("/", 1)[-1] for b in value["results"]["bindings"]]
    if isinstance(value, Document):  # XML
        return cities_in("application/sparql-results+xml", value.toxml("utf-8"))
    return cities_in(content_type, value)  # CSV and TSV are given as they came


def ask_answer(content_type: str, value: object) -> bool:
    if isinstance(value, dict):
        return value["boolean"]
    return bool(ox.parse_query_results(value.toxml("utf-8"), ox.QueryResultsFormat.XML))


def graph_pairs(content_type: str, value: object) -> set[tuple[str, str]]:
    if isinstance(value, rdflib.Graph):  # RDF/XML and JSON-LD are parsed by SPARQLWrapper
        data = value.serialize(format="nt", encoding="utf-8")
        return pairs_of(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    return pairs_of(ox.parse(value, format=GRAPH_PARSERS[content_type]))  # Turtle, N3 as bytes


SELECT_FORMATS = {"default": (None, "application/sparql-results+xml"), "JSON": (JSON, None)}
SELECT_FORMATS |= {"XML": (XML, None), "CSV": (CSV, "text/csv"), "TSV": (TSV, "text/tab-separated-values")}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("return_format", SELECT_FORMATS)
def test_sparqlwrapper_select(server_url: str, return_format: str, setting: str, method: str) -> None:
    fmt, expected_type = SELECT_FORMATS[return_format]
    client = wrapper(f"{server_url}/sparql", TWINS, fmt, method, SETTINGS[setting])
    content_type, value = converted(client)
    if expected_type:
        assert content_type == expected_type
    assert select_cities(content_type, value) == EXPECTED_TWINS


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("return_format", ["default", "JSON", "XML"])
def test_sparqlwrapper_ask(server_url: str, return_format: str, setting: str, method: str) -> None:
    fmt = {"default": None, "JSON": JSON, "XML": XML}[return_format]
    client = wrapper(f"{server_url}/sparql", ASK, fmt, method, SETTINGS[setting])
    assert ask_answer(*converted(client)) is True


# return format -> (SPARQLWrapper's constant, an Accept header of our own, expected media type).
# SPARQLWrapper has no constant for N-Triples: its users ask for it in Accept, with N3 (whose
# list of accepted types includes N-Triples) as the format to convert.
GRAPH_FORMATS = {
    "default": (None, None, "application/rdf+xml"),  # SPARQLWrapper's default is XML
    "Turtle": (TURTLE, None, "text/turtle"),
    "N-Triples": (N3, "application/n-triples", "application/n-triples"),
    "JSON-LD": (JSONLD, None, "application/ld+json"),
    "RDF/XML": (RDFXML, None, "application/rdf+xml"),
    "N3": (N3, None, "text/turtle"),  # answered in Turtle, a subset of N3
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("return_format", GRAPH_FORMATS)
@pytest.mark.parametrize("form", GRAPH_QUERIES)
def test_sparqlwrapper_graph(
    server_url: str, kuopio_triples: set, form: str, return_format: str, setting: str, method: str
) -> None:
    fmt, accept, expected_type = GRAPH_FORMATS[return_format]
    client = wrapper(f"{server_url}/sparql", GRAPH_QUERIES[form], fmt, method, SETTINGS[setting])
    if accept:
        client.addCustomHttpHeader("Accept", accept)
    content_type, value = converted(client)
    assert content_type == expected_type
    pairs = graph_pairs(content_type, value)
    assert pairs == kuopio_triples if form == "CONSTRUCT" else pairs >= kuopio_triples


# --- rdflib's SPARQLStore -------------------------------------------------------------------

STORE_METHODS = ["GET", "POST", "POST_FORM"]


@pytest.fixture(scope="module")
def graph_names(http: httpx.Client) -> set[str]:
    response = http.get(
        "/sparql",
        params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    return {b["g"]["value"] for b in response.json()["results"]["bindings"]}


@pytest.mark.parametrize("method", STORE_METHODS)
def test_rdflib_sparql_store_queries(server_url: str, kuopio_triples: set, method: str) -> None:
    graph = rdflib.Graph(store=SPARQLStore(f"{server_url}/sparql", method=method))  # its default: XML results
    assert [str(row.city).rsplit("/", 1)[-1] for row in graph.query(TWINS)] == EXPECTED_TWINS
    assert graph.query(ASK).askAnswer is True
    constructed = graph.query(GRAPH_QUERIES["CONSTRUCT"]).graph
    assert graph_pairs("application/n-triples", constructed.serialize(format="nt", encoding="utf-8")) == kuopio_triples


@pytest.mark.parametrize("method", STORE_METHODS)
def test_rdflib_sparql_store_triples_and_len(
    http: httpx.Client, server_url: str, kuopio_triples: set, method: str
) -> None:
    graph = rdflib.Graph(store=SPARQLStore(f"{server_url}/sparql", method=method))
    kuopio = rdflib.URIRef(KUOPIO)
    found = rdflib.Graph()
    for triple in graph.triples((kuopio, None, None)):
        found.add(triple)
    assert graph_pairs("application/n-triples", found.serialize(format="nt", encoding="utf-8")) == kuopio_triples
    assert (kuopio, None, None) in graph
    assert (kuopio, rdflib.RDF.type, rdflib.URIRef(f"{BASE}ontology#Municipality")) in graph
    count = http.get(
        "/sparql",
        params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert len(graph) == int(count.json()["results"]["bindings"][0]["n"]["value"]) > 0


@pytest.mark.parametrize("method", STORE_METHODS)
def test_rdflib_sparql_store_contexts(server_url: str, graph_names: set[str], method: str) -> None:
    """contexts() asks `SELECT ?name WHERE { GRAPH ?name {} }` and, for a pattern, `GRAPH ?name
    { s p o }`; each named graph read as a Graph of its own sends default-graph-uri."""
    dataset = rdflib.Dataset(store=SPARQLStore(f"{server_url}/sparql", method=method))
    names = {str(name) for name in dataset.store.contexts()}
    assert names == graph_names
    kuopio = rdflib.URIRef(KUOPIO)
    holding = {str(name) for name in dataset.store.contexts((kuopio, None, None))}
    assert f"{BASE}graph/geonames-cities15000" in holding and holding <= graph_names
    sources = rdflib.Graph(store=SPARQLStore(f"{server_url}/sparql", method=method), identifier=f"{BASE}graph/sources")
    assert 0 < len(sources) < len(rdflib.Graph(store=SPARQLStore(f"{server_url}/sparql", method=method)))
    assert len(list(sources.triples((None, None, None)))) == len(sources)


# --- A federated query from pyoxigraph --------------------------------------------------------


def test_pyoxigraph_service_call(server_url: str, kuopio_triples: set) -> None:
    """Our endpoint as the SERVICE of someone else's query (pyoxigraph's own HTTP client, which
    POSTs the query and asks for SPARQL results in its Accept)."""
    local = ox.Store()
    rows = local.query(f"SELECT ?p ?o WHERE {{ SERVICE <{server_url}/sparql> {{ <{KUOPIO}> ?p ?o }} }}")
    assert {(str(r["p"]), str(r["o"])) for r in rows if not isinstance(r["o"], ox.BlankNode)} == kuopio_triples
    twins = local.query(f"SELECT ?city WHERE {{ SERVICE <{server_url}/sparql> {{ {TWINS_PATTERN} }} }}")
    assert sorted(r["city"].value.rsplit("/", 1)[-1] for r in twins) == EXPECTED_TWINS
    graphs = local.query(
        f"SELECT DISTINCT ?g WHERE {{ SERVICE <{server_url}/sparql> {{ GRAPH ?g {{ <{KUOPIO}> ?p ?o }} }} }}"
    )
    assert f"{BASE}graph/geonames-cities15000" in {r["g"].value for r in graphs}


# --- curl -------------------------------------------------------------------------------------

CURL = shutil.which("curl")


def curl(*args: str) -> tuple[str, bytes]:
    """curl as people type it: its own defaults (Accept: */*), the status and type on the last line."""
    if CURL is None:
        pytest.fail("curl is missing: run scripts/install-system-deps.sh (make test does)")
    done = subprocess.run(
        [CURL, "--silent", "--show-error", "--write-out", "\n%{http_code} %{content_type}", *args],
        capture_output=True,
        check=True,
        timeout=60,
    )
    body, _, last = done.stdout.rpartition(b"\n")
    status, _, content_type = last.decode().partition(" ")
    assert status == "200", (status, body[:300])
    return media_type(content_type), body


@pytest.mark.parametrize("accept", [None, "*/*", *RESULTS_PARSERS])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_curl_select(server_url: str, accept: str | None, method: str) -> None:
    headers = ["-H", f"Accept: {accept}"] if accept else []
    verb = ["--get"] if method == "GET" else []
    content_type, body = curl(*verb, *headers, "--data-urlencode", f"query={TWINS}", f"{server_url}/sparql")
    assert content_type == (accept if accept in RESULTS_PARSERS else "application/sparql-results+json")
    assert cities_in(content_type, body) == EXPECTED_TWINS


@pytest.mark.parametrize("accept", [None, "*/*", *GRAPH_PARSERS])
@pytest.mark.parametrize("form", GRAPH_QUERIES)
def test_curl_graph(server_url: str, kuopio_triples: set, form: str, accept: str | None) -> None:
    headers = ["-H", f"Accept: {accept}"] if accept else []
    content_type, body = curl(
        "--get", *headers, "--data-urlencode", f"query={GRAPH_QUERIES[form]}", f"{server_url}/sparql"
    )
    assert content_type == (accept if accept in GRAPH_PARSERS else "text/turtle")
    pairs = pairs_of(ox.parse(body, format=GRAPH_PARSERS[content_type]))
    assert pairs == kuopio_triples if form == "CONSTRUCT" else pairs >= kuopio_triples


def test_curl_query_sent_as_the_body(server_url: str) -> None:
    content_type, body = curl(
        "-H", "Content-Type: application/sparql-query", "-H", "Accept: text/csv", "--data-binary", TWINS,
        f"{server_url}/sparql",
    )  # fmt: skip
    assert content_type == "text/csv"
    assert cities_in(content_type, body) == EXPECTED_TWINS
