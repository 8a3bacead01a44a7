"""Dumps over HTTP against the real server: formats, graphs, sizes, validators and versions."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from server.publish.dumps import DUMPS
from server.settings import PROJECT_ROOT
from tests.live import live_server

BASE = "https://w3id.org/sistercities/"
FIRST_SOURCE_GRAPH = f"{BASE}graph/000-business-kuopio-shanghai-network"
NAME_INDEX = f"{BASE}graph/name-index"
IDENTITY = {"Accept-Encoding": "identity"}


def get_raw(http: httpx.Client, url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """A response and its body exactly as sent (not unpacked even if Content-Encoding says gzip)."""
    with http.stream("GET", url, headers=headers) as response:
        body = b"".join(response.iter_raw())
    return response, body


def content(response: httpx.Response, body: bytes) -> bytes:
    """What the file holds: unpacked if it was sent with Content-Encoding or is a .gz file."""
    if response.headers.get("content-encoding") == "gzip" or body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    return body


@pytest.fixture(scope="module")
def files(http: httpx.Client) -> dict[str, bytes]:
    """Every dump, unpacked."""
    found = {}
    for spec in DUMPS:
        response, body = get_raw(http, f"/dumps/{spec.name}", **IDENTITY)
        assert response.status_code == 200, (spec.name, response.text)
        found[spec.name] = content(response, body)
    return found


def quads(data: bytes, fmt: ox.RdfFormat) -> list[ox.Quad]:
    return list(ox.parse(data, format=fmt))


def canonical(triples) -> set[ox.Quad]:
    """The triples with blank nodes relabelled canonically, so that equal graphs compare equal."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)  # the same labels within one pyoxigraph
    return set(dataset)


# --- Formats and graphs -------------------------------------------------------------------


@pytest.mark.parametrize("spec", DUMPS, ids=lambda spec: spec.name)
def test_every_dump_parses(files: dict[str, bytes], spec) -> None:
    parsed = quads(files[spec.name], spec.fmt.rdf)
    assert len(parsed) > 3000
    graphs = {quad.graph_name for quad in parsed}
    if spec.with_graphs:
        assert ox.DefaultGraph() in graphs and len(graphs) > 10
    else:
        assert graphs == {ox.DefaultGraph()}


def test_nquads_keep_the_source_graphs(files: dict[str, bytes]) -> None:
    parsed = quads(files["sistercities.nq.gz"], ox.RdfFormat.N_QUADS)
    graphs = {quad.graph_name for quad in parsed}
    assert ox.NamedNode(FIRST_SOURCE_GRAPH) in graphs
    assert ox.NamedNode(f"{BASE}graph/derived") in graphs


@pytest.mark.parametrize("name", ["sistercities.nq.gz", "sistercities.trig"])
def test_the_service_graphs_are_not_published(files: dict[str, bytes], name: str) -> None:
    """The dumps hold the data only: not the statistics and version record, not the name index."""
    fmt = ox.RdfFormat.N_QUADS if name.endswith(".nq.gz") else ox.RdfFormat.TRIG
    parsed = quads(files[name], fmt)
    graphs = {quad.graph_name for quad in parsed}
    assert ox.NamedNode(NAME_INDEX) not in graphs and ox.NamedNode(f"{BASE}graph/metadata") not in graphs
    assert not any(quad.predicate.value.startswith("urn:sistercities:index#") for quad in parsed)
    assert not any(quad.predicate.value == "http://rdfs.org/ns/void#triples" for quad in parsed)


def test_the_cli_writes_the_service_graphs_only_when_asked(tmp_path: Path) -> None:
    """The service's graphs go to a store meant for remote mode, and nowhere else."""
    for flags, expected in (((), False), (("--with-service-graphs",), True), (("--with-name-index",), True)):
        output = tmp_path / "dump.nq"
        command = [sys.executable, "-m", "server", "dump", "--format", "nquads", *flags, "-o", str(output)]
        subprocess.run(command, check=True, cwd=PROJECT_ROOT)
        graphs = {quad.graph_name for quad in ox.parse(path=output, format=ox.RdfFormat.N_QUADS)}
        assert (ox.NamedNode(NAME_INDEX) in graphs) is expected
        assert (ox.NamedNode(f"{BASE}graph/metadata") in graphs) is expected
        assert ox.NamedNode(FIRST_SOURCE_GRAPH) in graphs


def test_nquads_default_graph_is_the_turtle_dump(files: dict[str, bytes]) -> None:
    default = [
        q.triple for q in quads(files["sistercities.nq.gz"], ox.RdfFormat.N_QUADS) if q.graph_name == ox.DefaultGraph()
    ]
    turtle = [q.triple for q in quads(files["sistercities.ttl"], ox.RdfFormat.TURTLE)]
    assert len(default) == len(turtle)
    assert canonical(default) == canonical(turtle)  # the same, up to blank node labels


def test_ntriples_and_jsonld_hold_the_same_merge(files: dict[str, bytes]) -> None:
    turtle = canonical(q.triple for q in quads(files["sistercities.ttl"], ox.RdfFormat.TURTLE))
    for name, fmt in (("sistercities.nt.gz", ox.RdfFormat.N_TRIPLES), ("sistercities.jsonld", ox.RdfFormat.JSON_LD)):
        assert canonical(q.triple for q in quads(files[name], fmt)) == turtle, name


# --- HTTP: types, lengths, compression, validators -----------------------------------------


@pytest.mark.parametrize("spec", DUMPS, ids=lambda spec: spec.name)
def test_content_length_is_the_body_size(http: httpx.Client, spec) -> None:
    for encoding in ("identity", "gzip"):
        response, body = get_raw(http, f"/dumps/{spec.name}", **{"Accept-Encoding": encoding})
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(body), encoding


def test_gzipped_dumps_are_gzip_files_never_encoded_again(http: httpx.Client) -> None:
    for name in ("sistercities.nt.gz", "sistercities.nq.gz"):
        response, body = get_raw(http, f"/dumps/{name}", **{"Accept-Encoding": "gzip"})
        assert response.headers["content-type"] == "application/gzip"
        assert "content-encoding" not in response.headers
        assert body[:2] == b"\x1f\x8b"
        gzip.decompress(body)  # one layer: the file itself


def test_plain_dumps_are_sent_precompressed_when_asked(http: httpx.Client) -> None:
    plain, plain_body = get_raw(http, "/dumps/sistercities.ttl", **IDENTITY)
    packed, packed_body = get_raw(http, "/dumps/sistercities.ttl", **{"Accept-Encoding": "gzip"})
    assert plain.headers["content-type"] == "text/turtle; charset=utf-8"
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed_body) == plain_body
    assert "Accept-Encoding" in packed.headers["vary"]


@pytest.mark.parametrize("spec", DUMPS, ids=lambda spec: spec.name)
def test_media_types_come_from_the_registry(http: httpx.Client, spec) -> None:
    response = http.head(f"/dumps/{spec.name}", headers=IDENTITY)
    expected = "application/gzip" if spec.gzipped else spec.fmt.media_type
    assert response.headers["content-type"].split(";")[0] == expected


def test_validators_and_revalidation(http: httpx.Client) -> None:
    response, _ = get_raw(http, "/dumps/sistercities.nq.gz")
    etag, version = response.headers["etag"], response.headers["x-data-version"]
    assert etag.startswith("W/") and version in etag
    assert response.headers["last-modified"]
    again = http.get("/dumps/sistercities.nq.gz", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    since = http.get("/dumps/sistercities.nq.gz", headers={"If-Modified-Since": response.headers["last-modified"]})
    assert since.status_code == 304


def test_versioned_url(http: httpx.Client) -> None:
    stable, stable_body = get_raw(http, "/dumps/sistercities.nt.gz")
    versioned_url = stable.headers["content-location"]
    assert stable.headers["x-data-version"] in versioned_url
    versioned, versioned_body = get_raw(http, versioned_url)
    assert versioned.status_code == 200 and versioned_body == stable_body
    assert "immutable" in versioned.headers["cache-control"]
    assert "no-cache" in stable.headers["cache-control"]
    old = http.get("/dumps/0123456789abcdef/sistercities.nt.gz")
    assert old.status_code == 404 and "/dumps/sistercities.nt.gz" in old.text


def test_unknown_dump_is_404(http: httpx.Client) -> None:
    assert http.get("/dumps/sistercities.xlsx").status_code == 404


def test_listing_page_shows_sizes(http: httpx.Client, files: dict[str, bytes]) -> None:
    response = http.get("/dumps/", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    for spec in DUMPS:
        assert f'href="/dumps/{spec.name}"' in response.text
    turtle, _ = get_raw(http, "/dumps/sistercities.ttl", **IDENTITY)
    assert hashlib.sha256(files["sistercities.ttl"]).hexdigest() in response.text
    assert "being prepared" not in response.text
    assert turtle.headers["x-data-version"] in response.text


def test_dumps_of_old_versions_are_pruned(tmp_path: Path) -> None:
    import os
    import time

    from server.publish.dumps import KEEP_OTHER_VERSIONS_SECONDS, DumpStore

    store = DumpStore(tmp_path)
    for name in ("current", "recent", "old"):
        (store.directory(name) / "encoded").mkdir(parents=True)
    long_ago = time.time() - KEEP_OTHER_VERSIONS_SECONDS - 60
    os.utime(store.directory("old"), (long_ago, long_ago))
    store.prune(keep="current")
    assert sorted(p.name for p in store.root.iterdir()) == ["current", "recent"]


def test_dumps_are_produced_one_at_a_time(tmp_path: Path) -> None:
    """Each export holds a query worker; asked for every dump at once (as the catalogue asks), the
    store produces them one after the other, so clients' queries keep the other workers."""
    import asyncio

    import pyoxigraph as ox

    from server.publish.dumps import DUMPS, DumpStore
    from server.query.local import LocalEngine

    class Exporting(LocalEngine):
        running = most = 0

        async def export(self, fmt, path, left_out=()):
            Exporting.running += 1
            Exporting.most = max(Exporting.most, Exporting.running)
            try:
                await asyncio.sleep(0.05)  # an export takes a while: let the others start if they may
                await super().export(fmt, path, left_out)
            finally:
                Exporting.running -= 1

    example = "http://example.org/"
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode(example + "s"), ox.NamedNode(example + "p"), ox.Literal("o"), ox.NamedNode(example)))
    dumps = DumpStore(tmp_path)

    async def every_dump() -> list:
        engine = Exporting(store, {})
        return await asyncio.gather(*(dumps.ensure(engine, "v1", spec) for spec in DUMPS))

    produced = asyncio.run(every_dump())
    assert len(produced) == len(DUMPS) > 1
    assert Exporting.most == 1


def test_concurrent_first_requests_produce_one_file(tmp_path: Path) -> None:
    """A fresh cache: many clients ask for the same dump at once and all get the same bytes."""
    import concurrent.futures

    with live_server("--no-validate", cache_dir=tmp_path / "cache") as server:

        def fetch(_: int) -> bytes:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                return get_raw(client, "/dumps/sistercities.nq.gz")[1]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            bodies = list(pool.map(fetch, range(8)))
    assert len(set(bodies)) == 1
    produced = list((tmp_path / "cache" / "dumps").rglob("sistercities.nq.gz"))
    assert len(produced) == 1
    assert not [p for p in (tmp_path / "cache" / "dumps").rglob("*") if p.name.endswith((".tmp", ".raw"))]


# --- The version changes when the data change ---------------------------------------------


@pytest.fixture(scope="module")
def changed_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over a copy of data/ in which one file has one more statement."""
    work = tmp_path_factory.mktemp("changed")
    data = work / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    changed = data / "seeds" / "004-sme2go-shandong-trip.ttl"
    with changed.open("a", encoding="utf-8") as stream:
        stream.write(f'\n<{BASE}id/place/kuopio> <http://www.w3.org/2000/01/rdf-schema#comment> "changed"@en .\n')
    with live_server("--no-validate", cache_dir=work / "cache", env={"SISTERCITIES_DATA_DIR": str(data)}) as server:
        yield server.url


@pytest.mark.slow
def test_version_changes_when_the_data_change(http: httpx.Client, changed_data: str) -> None:
    original, original_body = get_raw(http, "/dumps/sistercities.ttl", **IDENTITY)
    with httpx.Client(base_url=changed_data, timeout=60) as other:
        changed, changed_body = get_raw(other, "/dumps/sistercities.ttl", **IDENTITY)
        stale = other.get("/dumps/sistercities.ttl", headers={"If-None-Match": original.headers["etag"]})
    assert changed.headers["x-data-version"] != original.headers["x-data-version"]
    assert changed.headers["etag"] != original.headers["etag"]
    assert changed.headers["content-location"] != original.headers["content-location"]
    assert stale.status_code == 200  # a client holding the old version gets the new one
    assert b'"changed"@en' in changed_body and b'"changed"@en' not in original_body
