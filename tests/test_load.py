"""`sistercities load`: anyone's RDF, in any format, into a store served as it is.

The command line is run as users run it; the stores it writes are opened read-only here, and the
real server is started on one to see it switch to each new load and keep its own graphs hidden.
"""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from server.store.location import IN_PROGRESS, StoreLocation
from tests.live import live_server

EX = "http://example.org/"
TRIPLES = [ox.Triple(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p"), ox.Literal(f"value {i}")) for i in range(50)]
QUADS = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(f"{EX}g{i % 3}")) for i, t in enumerate(TRIPLES)]
QUAD_FORMATS = (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG)
TRIPLE_FORMATS = (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML, ox.RdfFormat.JSON_LD)


def sistercities(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", *args], input=stdin, capture_output=True, timeout=120)


def live_quads(store: Path) -> set[ox.Quad]:
    """The data quads of the live build (without the service's own graphs)."""
    live = StoreLocation(store).current()
    hidden = {ox.NamedNode(g) for g in live.record.service_graphs}
    return {q for q in ox.Store.read_only(str(live.path)) if q.graph_name not in hidden}


@pytest.mark.parametrize("fmt", QUAD_FORMATS + TRIPLE_FORMATS, ids=lambda f: f.file_extension)
@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_every_format_plain_or_gzipped(tmp_path: Path, fmt: ox.RdfFormat, packed: bool) -> None:
    data = ox.serialize(QUADS if fmt in QUAD_FORMATS else TRIPLES, format=fmt)
    path = tmp_path / f"data.{fmt.file_extension}{'.gz' if packed else ''}"
    path.write_bytes(gzip.compress(data) if packed else data)
    result = sistercities("load", "--store", str(tmp_path / "store"), str(path))
    assert result.returncode == 0, result.stderr.decode()
    expected = set(QUADS) if fmt in QUAD_FORMATS else {ox.Quad(*t, ox.DefaultGraph()) for t in TRIPLES}
    assert live_quads(tmp_path / "store") == expected
    assert b"Loaded 50 quads" in result.stdout and b" live after " in result.stdout


def test_triples_go_into_the_graph_asked_for_and_quads_keep_theirs(tmp_path: Path) -> None:
    triples, quads = tmp_path / "t.nt", tmp_path / "q.nq"
    triples.write_bytes(ox.serialize(TRIPLES, format=ox.RdfFormat.N_TRIPLES))
    quads.write_bytes(ox.serialize(QUADS, format=ox.RdfFormat.N_QUADS))
    result = sistercities("load", "--store", str(tmp_path / "store"), "--graph", f"{EX}mine", str(triples), str(quads))
    assert result.returncode == 0, result.stderr.decode()
    mine = {ox.Quad(*t, ox.NamedNode(f"{EX}mine")) for t in TRIPLES}
    assert live_quads(tmp_path / "store") == mine | set(QUADS)


def test_standard_input_with_its_format(tmp_path: Path) -> None:
    data = ox.serialize(QUADS, format=ox.RdfFormat.N_QUADS)
    result = sistercities("load", "--store", str(tmp_path / "store"), "--format", "nq", "-", stdin=gzip.compress(data))
    assert result.returncode == 0, result.stderr.decode()
    assert live_quads(tmp_path / "store") == set(QUADS)
    unnamed = sistercities("load", "--store", str(tmp_path / "store"), "-", stdin=data)
    assert unnamed.returncode == 1 and b"--format" in unnamed.stderr


def test_a_syntax_error_names_file_line_and_column_and_loads_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    good = tmp_path / "good.nt"
    good.write_bytes(ox.serialize(TRIPLES, format=ox.RdfFormat.N_TRIPLES))
    assert sistercities("load", "--store", str(store), str(good)).returncode == 0
    before = StoreLocation(store).current()
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "unterminated .\n')
    result = sistercities("load", "--store", str(store), str(good), str(bad))
    assert result.returncode == 1
    assert f"{bad}:3:11:".encode() in result.stderr, result.stderr
    assert StoreLocation(store).current() == before, "the previous data stay live"
    assert not [p for p in (store / "builds").iterdir() if p.name.startswith(IN_PROGRESS)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.nt"], b"no such file"),
        (["data.xyz"], b"cannot tell the RDF format"),
        (["--graph", "not an iri", "data.nt"], b"not an absolute IRI"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(tmp_path: Path, args: list[str], message: bytes) -> None:
    for name in ("data.xyz", "data.nt"):
        (tmp_path / name).write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "server", "load", "--store", str(tmp_path / "store"), *args],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode in (1, 2) and message in result.stderr, result.stderr


def test_a_killed_load_leaves_the_previous_data_live(tmp_path: Path) -> None:
    store, good = tmp_path / "store", tmp_path / "good.nt"
    good.write_bytes(ox.serialize(TRIPLES, format=ox.RdfFormat.N_TRIPLES))
    assert sistercities("load", "--store", str(store), str(good)).returncode == 0
    before = StoreLocation(store).current()
    big = tmp_path / "big.nt"
    with big.open("w") as out:
        for i in range(400_000):
            out.write(f'<{EX}s{i}> <{EX}p> "a long enough value to take a while, number {i}" .\n')
    process = subprocess.Popen([sys.executable, "-m", "server", "load", "--store", str(store), str(big)])
    deadline = time.monotonic() + 60
    while not [p for p in (store / "builds").iterdir() if p.name.startswith(IN_PROGRESS)]:
        assert time.monotonic() < deadline and process.poll() is None, "the load never started a build"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert StoreLocation(store).current() == before
    assert sistercities("load", "--store", str(store), str(good)).returncode == 0
    assert not [p for p in (store / "builds").iterdir() if p.name.startswith(IN_PROGRESS)], "the dead build is gone"


def test_the_server_switches_and_shows_the_data_only(tmp_path: Path) -> None:
    """The server follows each load, and clients see exactly what was loaded: no statistics or
    version in the default graph, no service graph among the named graphs unless asked by name."""
    store = tmp_path / "store"
    quads = tmp_path / "q.nq"
    quads.write_bytes(ox.serialize(QUADS, format=ox.RdfFormat.N_QUADS))
    options = ("--store", str(store), "--no-validate", "--store-check-seconds", "0.05")
    with live_server(*options, cache_dir=tmp_path / "cache") as server, httpx.Client(base_url=server.url) as http:
        assert sistercities("load", "--store", str(store), str(quads)).returncode == 0
        version = StoreLocation(store).current().record.version
        deadline = time.monotonic() + 30
        while http.get("/health").json()["data"] != version:
            assert time.monotonic() < deadline, "the server did not switch to the loaded data"
            time.sleep(0.05)

        def select(query: str) -> list[list[str]]:
            answer = http.post("/sparql", data={"query": query}, headers={"Accept": "text/csv"})
            assert answer.status_code == 200, answer.text
            return [line.split(",") for line in answer.text.splitlines()[1:]]

        assert select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") == [["0"]]
        graphs = select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
        assert graphs == [[f"{EX}g0", "17"], [f"{EX}g1", "17"], [f"{EX}g2", "16"]]
        metadata = "https://w3id.org/sistercities/graph/metadata"
        assert int(select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{metadata}> {{ ?s ?p ?o }} }}")[0][0]) > 0
        assert select(f"SELECT * FROM NAMED <{metadata}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1")
        void = http.get("/.well-known/void", headers={"Accept": "application/n-triples"}).text
        assert '<http://rdfs.org/ns/void#triples> "50"^^<http://www.w3.org/2001/XMLSchema#integer>' in void


def test_relative_iris_in_a_query_resolve_against_the_endpoint(http: httpx.Client) -> None:
    answer = http.get(
        "/sparql", params={"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"}, headers={"Accept": "application/n-triples"}
    )
    assert answer.status_code == 200
    assert answer.text.startswith("<https://w3id.org/sistercities/s> <https://w3id.org/sistercities/p> ")


def test_data_loaded_into_the_default_graph_have_their_pages(tmp_path: Path) -> None:
    """Loaded without --graph, statements live in the default graph alone: a resource's page and
    descriptions show them (its own statements and the links to it), as for data in named graphs."""
    place = "https://w3id.org/sistercities/id/place/testville"
    other = "https://w3id.org/sistercities/id/place/otherville"
    data = tmp_path / "towns.ttl"
    data.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix sc: <https://w3id.org/sistercities/ontology#> .\n"
        f'<{place}> a sc:City ; skos:prefLabel "Testville"@en .\n'
        f'<{other}> a sc:City ; skos:prefLabel "Otherville"@en ; sc:twinnedWith <{place}> .\n',
        encoding="utf-8",
    )
    store = tmp_path / "store"
    assert sistercities("load", "--store", str(store), str(data)).returncode == 0
    options = ("--store", str(store), "--no-validate")
    with live_server(*options, cache_dir=tmp_path / "cache") as server, httpx.Client(base_url=server.url) as http:
        turtle = http.get("/doc/place/testville", headers={"Accept": "application/n-triples"}, timeout=30)
        assert turtle.status_code == 200, turtle.text
        triples = {quad.triple for quad in ox.parse(turtle.content, format=ox.RdfFormat.N_TRIPLES)}
        assert ox.Triple(ox.NamedNode(place), SKOS_PREF_LABEL, ox.Literal("Testville", language="en")) in triples
        page = http.get("/doc/place/testville", headers={"Accept": "text/html"}, timeout=30)
        assert page.status_code == 200
        assert "Testville" in page.text and "Otherville" in page.text, "its own name and the town linking to it"


def test_pages_kept_for_one_version_are_not_sent_for_the_next(tmp_path: Path) -> None:
    """Built pages are kept per data version (server.web.rendered): after a load, the same URL
    is built again from the new data."""
    store, data = tmp_path / "store", tmp_path / "town.ttl"

    def load(name: str) -> str:
        data.write_text(f'<https://w3id.org/sistercities/id/place/testville> <{SKOS_PREF_LABEL.value}> "{name}"@en .\n')
        assert sistercities("load", "--store", str(store), str(data)).returncode == 0
        return StoreLocation(store).current().record.version

    version = load("Testville")
    options = ("--store", str(store), "--no-validate", "--store-check-seconds", "0.05")
    with live_server(*options, cache_dir=tmp_path / "cache") as server, httpx.Client(base_url=server.url) as http:
        pages = [http.get("/doc/place/testville", headers={"Accept": "text/html"}, timeout=30) for _ in range(2)]
        assert "Testville" in pages[1].text and pages[1].headers["x-cache"] == "HIT"
        version = load("Renamedville")
        deadline = time.monotonic() + 30
        while http.get("/health").json()["data"] != version:
            assert time.monotonic() < deadline, "the server did not switch to the loaded data"
            time.sleep(0.05)
        page = http.get("/doc/place/testville", headers={"Accept": "text/html"}, timeout=30)
        assert "Renamedville" in page.text and "Testville" not in page.text
        assert "x-cache" not in page.headers


SKOS_PREF_LABEL = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
