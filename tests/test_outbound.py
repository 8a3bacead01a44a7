"""No input makes the server contact another host: a listener on a loopback port is named in every
place a hostile client could name a URL (SERVICE in every disguise, FROM, LOAD, graph parameters,
owl:imports, sh:shapesGraph, JSON-LD contexts, XML entities, reconciliation ids and types, JSONP
callbacks, Host headers...), and it is never contacted. With the listener on `outbound_allow` a
SERVICE call does reach it (so the listener would have seen a call); in remote mode SERVICE is
refused all the same and only the configured endpoint is contacted."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.live import Server, live_server
from tests.test_remote import oxigraph_endpoint  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow


class Listener:
    """A TCP listener on a loopback port that counts the connections it accepts."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.socket.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def accept(self) -> None:
        while self.running:
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.socket.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with live_server("--no-validate", cache_dir=tmp_path_factory.mktemp("cache")) as started:
        yield started


def service_disguises(url: str) -> list[str]:
    """SERVICE calls written every way the grammar allows, and then some."""
    host = url.rstrip("/")
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ sErViCe <{url}x> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c FILTER(1<2)SERVICE<{url}>{{?s?p?o}} }}",
        f"SELECT * WHERE {{ SERVICE#comment\n<{url}>{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE # comment\n SILENT # another\n <{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX e: <{url}> SELECT * WHERE {{ SERVICE e:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX : <{url}> SELECT * WHERE {{ SERVICE :sparql {{ ?s ?p ?o }} }}",
        f"BASE <{url}> SELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        f"SELECT * WHERE {{ OPTIONAL {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        f"ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"DESCRIBE ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p 'a' . SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f'SELECT * WHERE {{ ?s ?p """a""" . SERVICE <{url}> {{ ?s ?p ?o }} }}',
        f"SELECT * WHERE {{ SERVICE <{host}:{80}/> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <http://localhost:{url.rsplit(':', 1)[1]}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <http://[::1]:{url.rsplit(':', 1)[1]}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
    ]


def other_queries(url: str) -> list[str]:
    """Queries that name the listener without calling it: they may be answered, never fetched."""
    return [
        f"SELECT * FROM <{url}x> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{url}x> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"DESCRIBE <{url}>",
        f"SELECT * WHERE {{ GRAPH <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT (IRI('{url}') AS ?x) WHERE {{}}",
        f"LOAD <{url}>",
        f"LOAD SILENT <{url}> INTO GRAPH <{url}g>",
        f"PREFIX e: <{url}> LOAD e:x",
    ]


def test_no_query_makes_the_server_connect(server: Server, listener: Listener) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for query in service_disguises(listener.url):
            for send in (
                lambda q: client.get("/sparql", params={"query": q}),
                lambda q: client.post("/sparql", data={"query": q}),
                lambda q: client.post("/sparql", content=q, headers={"Content-Type": "application/sparql-query"}),
            ):
                response = send(query)
                assert 400 <= response.status_code < 500, (query, response.status_code, response.text)
                assert response.text.strip()
        for query in other_queries(listener.url):
            assert client.get("/sparql", params={"query": query}).status_code < 500, query
            assert client.post("/sparql", data={"update": query}).status_code == 403
            response = client.post("/sparql", content=query, headers={"Content-Type": "application/sparql-update"})
            assert response.status_code == 403
        graphs = {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "default-graph-uri": listener.url}
        assert client.get("/sparql", params=graphs).status_code == 200
        graphs = {"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": listener.url}
        assert client.get("/sparql", params=graphs).status_code == 200
    time.sleep(0.5)
    assert listener.connections == 0


def submissions(url: str) -> list[tuple[str, str]]:
    """RDF that points the validator at the listener, in every format it reads."""
    turtle = (
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix sc: <https://w3id.org/sistercities/ontology#> .\n"
        f"<{url}ontology> a owl:Ontology ; owl:imports <{url}imported.ttl> .\n"
        f"<https://example.org/data> sh:shapesGraph <{url}shapes.ttl> ; owl:imports <{url}more.ttl> .\n"
        f"<https://example.org/a> a sc:PartnershipAgreement ; sc:party <{url}city> ; "
        f"<http://www.w3.org/2000/01/rdf-schema#seeAlso> <{url}> .\n"
    )
    jsonld = json.dumps(
        {
            "@context": f"{url}context.jsonld",
            "@id": "https://example.org/a",
            "http://www.w3.org/2002/07/owl#imports": {"@id": f"{url}x"},
        }
    )
    jsonld_nested = json.dumps({"@context": [{"@import": f"{url}c.jsonld"}], "@id": "https://example.org/a"})
    rdfxml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [<!ENTITY remote SYSTEM "{url}entity">]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:owl="http://www.w3.org/2002/07/owl#">\n'
        f'<owl:Ontology rdf:about="https://example.org/o"><owl:imports rdf:resource="{url}o"/>'
        "<rdf:value>&remote;</rdf:value></owl:Ontology>\n</rdf:RDF>\n"
    )
    return [
        ("text/turtle", turtle),
        ("text/turtle", f"@base <{url}> .\n<a> <b> <c> .\n"),
        ("application/n-triples", f"<{url}a> <http://www.w3.org/2002/07/owl#imports> <{url}b> .\n"),
        ("application/ld+json", jsonld),
        ("application/ld+json", jsonld_nested),
        ("application/rdf+xml", rdfxml),
    ]


def test_no_validation_request_makes_the_server_connect(server: Server, listener: Listener) -> None:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for media_type, body in submissions(listener.url):
            response = client.post("/validate", content=body.encode(), headers={"Content-Type": media_type})
            assert response.status_code in (200, 400), (media_type, response.status_code, response.text)
            form = client.post("/validate", files={"file": ("data.ttl", body.encode())}, data={"format": "auto"})
            assert form.status_code < 500
    time.sleep(0.5)
    assert listener.connections == 0


def injections(url: str) -> list[str]:
    """Paths that would close the IRI a page's queries are written around, and call SERVICE."""
    service = f"SERVICE <{url}> {{ ?a ?b ?c }}"
    return [
        f"place/kuopio> ?p ?o . {service} #",
        f"place/kuopio> ?zz ?yy }} {service} #",
        f"place/kuopio> ?zz ?yy . }} {service} {{ <a:b",
        f"x> ?p ?o }} }} UNION {{ {service} }} #\n",
        f"place/kuopio>}}}} {service} {{{{<a:b",
    ]


def test_no_reconciliation_or_page_request_makes_the_server_connect(server: Server, listener: Listener) -> None:
    url = listener.url
    queries = {"q0": {"query": url, "type": url + "T", "properties": [{"pid": url + "p", "v": url}]}}
    extend = {"ids": [url, "place/kuopio"], "properties": [{"id": url + "p"}]}
    requests = [
        ("GET", "/reconcile", {"callback": "cb", "queries": json.dumps(queries)}),
        ("POST", "/reconcile", {"queries": json.dumps(queries)}),
        ("POST", "/reconcile", {"extend": json.dumps(extend)}),
        ("GET", "/reconcile", {"query": url}),
        ("GET", "/reconcile/preview", {"id": url}),
        ("GET", "/reconcile/flyout", {"id": url, "callback": "cb"}),
        ("GET", "/reconcile/suggest/entity", {"prefix": url}),
        ("GET", "/reconcile/suggest/type", {"prefix": url}),
        ("GET", "/reconcile/suggest/property", {"prefix": url}),
        ("GET", "/reconcile/extend/propose", {"type": url}),
        ("GET", "/search", {"q": url}),
        ("GET", "/browse", {"class": url}),
        ("GET", "/doc/place/kuopio", {"page": "2", "lang": url}),
        ("GET", "/sparql", {"query": "ASK {}", "format": url}),
    ]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for method, path, params in requests:
            response = client.get(path, params=params) if method == "GET" else client.post(path, data=params)
            assert response.status_code < 500, (path, params, response.status_code)
        for body in ({"queries": [{"query": url, "type": url}]}, {"ids": [url], "properties": [{"id": url}]}):
            path = "/reconcile/match" if "queries" in body else "/reconcile/extend"
            assert client.post(path, json=body).status_code < 500
        for injected in injections(url):  # SPARQL written into the IRI of a document
            for prefix in ("/doc/", "/id/", "/doc/place/"):
                response = client.get(prefix + quote(injected, safe=""), headers={"Accept": "text/turtle"})
                assert response.status_code in (303, 400, 404), (prefix, injected, response.status_code)
                assert client.get(prefix + quote(injected, safe="/")).status_code in (303, 400, 404)
        for path in ("/", "/catalog", "/.well-known/void", f"/id/{url}", "/doc/place/kuopio"):
            headers = {"Host": f"127.0.0.1:{listener.port}", "X-Forwarded-Host": f"127.0.0.1:{listener.port}"}
            headers |= {"Referer": url, "Forwarded": f"host=127.0.0.1:{listener.port}"}
            assert client.get(path, headers=headers).status_code < 500, path
    time.sleep(0.5)
    assert listener.connections == 0


@pytest.fixture(scope="module")
def allowing(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> Iterator[Server]:
    args = ("--no-validate", "--outbound-allow", f"example.org, 127.0.0.1:{listener.port}")
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as started:
        yield started


def test_the_allow_list_lets_service_reach_its_hosts_only(allowing: Server, listener: Listener) -> None:
    """The control: with the listener on `outbound_allow`, SERVICE reaches it, so the tests above
    would have seen a call; a host not on the list, or an endpoint not named by a full IRI, is
    still refused."""
    before = listener.connections
    with httpx.Client(base_url=allowing.url, timeout=60) as client:
        refused = [q for q in service_disguises(listener.url) if f"127.0.0.1:{listener.port}" not in q]
        refused += [f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{listener.port + 1}/> {{ ?s ?p ?o }} }}"]
        for query in refused:
            response = client.get("/sparql", params={"query": query})
            assert response.status_code == 400, query
        assert listener.connections == before
        allowed = f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}"
        response = client.get("/sparql", params={"query": allowed})
        assert response.status_code < 500, response.text
    deadline = time.monotonic() + 5
    while listener.connections == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert listener.connections > before


def test_remote_mode_refuses_service_even_when_allowed(
    oxigraph_endpoint: str,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
    listener: Listener,
) -> None:
    args = ("--no-validate", "--sparql-endpoint", oxigraph_endpoint, "--outbound-allow", f"127.0.0.1:{listener.port}")
    before = listener.connections
    with (
        live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as remote,
        httpx.Client(base_url=remote.url, timeout=60) as client,
    ):
        for query in service_disguises(listener.url):
            response = client.get("/sparql", params={"query": query})
            assert 400 <= response.status_code < 500, (query, response.status_code)
        assert client.get("/sparql", params={"query": f"SELECT * FROM <{listener.url}> {{ ?s ?p ?o }}"}).status_code
        assert client.get("/doc/place/kuopio").status_code == 200  # the remote store itself is contacted
    time.sleep(0.5)
    assert listener.connections == before
