"""Remote mode: the same server over a real SPARQL 1.1 store (Oxigraph server) loaded with our dump."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib

from tests.live import Server, live_server

pytestmark = pytest.mark.slow

BASE = "https://w3id.org/sistercities/"
TWINS = (
    f"PREFIX sc: <{BASE}ontology#> "
    f"SELECT ?city WHERE {{ <{BASE}id/place/shanghai> sc:twinnedWith ?city }} ORDER BY ?city"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def oxigraph_command() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        pytest.fail("the oxigraph command (pip package 'oxigraph') is required for the remote-mode tests")
    return found


@pytest.fixture(scope="module")
def oxigraph_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`oxigraph serve-read-only` over a store loaded as the README says (`sistercities dump
    --format nquads --with-name-index`)."""
    work = tmp_path_factory.mktemp("oxigraph")
    dump = work / "dump.nq"
    command = [sys.executable, "-m", "server", "dump", "--format", "nquads", "--with-name-index", "-o", str(dump)]
    subprocess.run(command, check=True)
    oxigraph = oxigraph_command()
    subprocess.run(
        [oxigraph, "load", "--location", str(work / "store"), "--file", str(dump)], check=True, capture_output=True
    )
    port = free_port()
    process = subprocess.Popen(
        [
            oxigraph,
            "serve-read-only",
            "--location",
            str(work / "store"),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout-s",
            "10",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(endpoint, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def remote(oxigraph_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    args = ("--no-validate", "--sparql-endpoint", oxigraph_endpoint, "--max-result-rows", "5", "--query-timeout", "3")
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as server:
        yield server


def test_answers_equal_the_embedded_store(remote: Server, http: httpx.Client) -> None:
    # Port of Spain has four twins (Shanghai, from seed 002, and three partners of the 2016 Wikidata
    # crawl): under the remote server's cap of five rows, so both answers are whole.
    query = TWINS.replace("place/shanghai", "place/port-of-spain")
    here = http.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    there = httpx.get(f"{remote.url}/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert there.status_code == 200
    assert len(here.text.splitlines()) == 1 + 4 and "X-SPARQL-MaxRows" not in there.headers
    assert there.text == here.text


@pytest.mark.parametrize(
    "accept", ["application/sparql-results+json", "application/sparql-results+xml", "text/tab-separated-values"]
)
def test_results_formats_over_the_remote_store(remote: Server, accept: str) -> None:
    response = httpx.get(f"{remote.url}/sparql", params={"query": TWINS}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == accept
    fmt = {
        "application/sparql-results+json": ox.QueryResultsFormat.JSON,
        "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    }.get(accept, ox.QueryResultsFormat.TSV)
    assert len(list(ox.parse_query_results(response.content, fmt))) == 5  # eight twins, capped at five


def test_graph_answers_over_the_remote_store(remote: Server) -> None:
    query = f"DESCRIBE <{BASE}id/agreement/helsinki-beijing>"
    response = httpx.get(f"{remote.url}/sparql", params={"query": query, "format": "turtle"})
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    assert len(graph) == 5 and response.headers["x-sparql-maxrows"] == "5"


def test_ask_over_the_remote_store(remote: Server) -> None:
    response = httpx.get(f"{remote.url}/sparql", params={"query": f"ASK {{ <{BASE}id/place/kuopio> ?p ?o }}"})
    assert bool(ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)) is True


def test_syntax_errors_come_back_as_400(remote: Server) -> None:
    response = httpx.get(f"{remote.url}/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert "1:" in response.text or "line" in response.text


def test_validators_come_from_the_loaded_dump(remote: Server, http: httpx.Client) -> None:
    here = http.get("/sparql", params={"query": TWINS})
    there = httpx.get(f"{remote.url}/sparql", params={"query": TWINS})
    assert there.headers["etag"] == here.headers["etag"]
    assert (
        httpx.get(
            f"{remote.url}/sparql", params={"query": TWINS}, headers={"If-None-Match": here.headers["etag"]}
        ).status_code
        == 304
    )


def test_service_description_lists_the_remote_graphs(remote: Server) -> None:
    response = httpx.get(f"{remote.url}/sparql", headers={"Accept": "text/turtle"})
    assert f"{BASE}graph/sources" in response.text or "graph:sources" in response.text


def test_reconciliation_over_the_remote_store(remote: Server, http: httpx.Client) -> None:
    batch = {"q0": {"query": "Kuopion kaupunki"}, "q1": {"query": "上海", "limit": 2}, "q2": {"query": "Helsingfors"}}
    here = http.post("/reconcile", data={"queries": json.dumps(batch)})
    there = httpx.post(f"{remote.url}/reconcile", data={"queries": json.dumps(batch)})
    assert there.status_code == 200, there.text
    assert there.json() == here.json()
    assert there.json()["q2"]["result"][0]["id"] == "place/helsinki"


def test_slow_remote_queries_hit_the_time_limit(remote: Server) -> None:
    started = time.perf_counter()
    response = httpx.get(
        f"{remote.url}/sparql",
        params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"},
        timeout=60,
    )
    assert response.status_code == 503
    assert time.perf_counter() - started < 8


def test_an_unreachable_store_is_a_clear_502(tmp_path: Path) -> None:
    args = ("--no-validate", "--sparql-endpoint", f"http://127.0.0.1:{free_port()}/query")
    with live_server(*args, cache_dir=tmp_path) as server:
        response = httpx.get(f"{server.url}/sparql", params={"query": TWINS})
        assert response.status_code == 502
        assert "cannot be reached" in response.text
