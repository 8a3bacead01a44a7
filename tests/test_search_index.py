"""The search index beside a loaded build (server/store/name_table.py): search, reconciliation and
autocomplete answer from it as they answer from the name index graph, without that graph.

The curated data are dumped and loaded twice with `sistercities load`: once with the name index
graph and no search index (the old way), once as a plain load, which writes names.sqlite beside
the build after it goes live. Both are served by the real server and asked the same questions;
the answers must agree (the first results and every match decision; candidates that tie at the
retrieval limit may differ), and the index must find what the name index graph finds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pyoxigraph as ox
import pytest

from server.engines import NAME_KEYS
from server.reconcile.search import containing
from server.store.location import StoreLocation
from server.store.name_table import NAME_TABLE_FILE, NameTable, write_name_table
from server.uris import Iris
from tests.live import live_server
from tests.test_search import found

SEARCHES = (
    "Helsinki Beijing",
    "Kuopio Pudong",
    "Shangai",
    "Helsinky",
    "Vasteras",
    "北京",
    "beijing shi",
    "Shanghai",
    "esbo",
    "上海",
    "kuo",
    "partnership agreement",
    "pudongxinqu",
    "ab",
)
RECONCILE = {
    "a": {"query": "Esbo"},
    "b": {"query": "Pudong xinqu", "type": "https://w3id.org/sistercities/ontology#Place"},
    "c": {"query": "Kuopion kaupunki"},
    "d": {"query": "Shangai", "limit": 3},
    "e": {"query": "Suomi"},
}
SUGGEST = ("Hels", "kuo", "上海", "Shanghai P")
BASE = "https://w3id.org/sistercities/"
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


def sistercities(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "server", *args], check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two servers over the same data: (name index graph, search index)."""
    folder = tmp_path_factory.mktemp("search-index")
    dump = folder / "dump.nq"
    sistercities("dump", "--format", "nquads", "-o", str(dump))
    graph_store, table_store = folder / "graph", folder / "table"
    sistercities("load", "--store", str(graph_store), "--name-index", "--no-search-index", str(dump))
    sistercities("load", "--store", str(table_store), str(dump))
    assert not (StoreLocation(graph_store).current().path / NAME_TABLE_FILE).exists()
    assert (StoreLocation(table_store).current().path / NAME_TABLE_FILE).exists()
    options = ("--no-validate", "--result-cache-bytes", "0")
    with (
        live_server("--store", str(graph_store), *options, cache_dir=folder / "c1") as old,
        live_server("--store", str(table_store), *options, cache_dir=folder / "c2") as new,
    ):
        yield old.url, new.url


def both(servers: tuple[str, str], ask) -> tuple:
    with httpx.Client(base_url=servers[0], timeout=30) as old, httpx.Client(base_url=servers[1], timeout=30) as new:
        return ask(old), ask(new)


@pytest.mark.parametrize("text", SEARCHES)
def test_search_finds_the_same_from_the_index(servers: tuple[str, str], text: str) -> None:
    old, new = both(servers, lambda http: found(http, text))
    assert old, text
    assert new[:10] == old[:10], text  # further down, ties at the retrieval limit are cut in either's order


def test_reconciliation_matches_the_same_from_the_index(servers: tuple[str, str]) -> None:
    def ask(http: httpx.Client) -> dict:
        response = http.post("/reconcile", data={"queries": json.dumps(RECONCILE)})
        assert response.status_code == 200, response.text
        return {k: [(r["id"], r["score"], r["match"]) for r in v["result"]] for k, v in response.json().items()}

    old, new = both(servers, ask)
    assert all(old.values())
    for key in RECONCILE:  # the same decisions; never a worse best candidate (ties may differ below it)
        assert [c for c in new[key] if c[2]] == [c for c in old[key] if c[2]], key
        assert new[key][0][1] >= old[key][0][1], key


@pytest.mark.parametrize("prefix", SUGGEST)
def test_autocomplete_suggests_the_same_from_the_index(servers: tuple[str, str], prefix: str) -> None:
    def ask(http: httpx.Client) -> list:
        response = http.get("/reconcile/suggest/entity", params={"prefix": prefix})
        assert response.status_code == 200, response.text
        return [(r["id"], r["name"]) for r in response.json()["result"]]

    old, new = both(servers, ask)
    assert old, prefix
    assert new == old


def test_a_load_without_any_index_still_searches_but_cannot_reconcile(tmp_path: Path) -> None:
    """Without either index, search reads the names (as before) and reconciliation says why not."""
    data = tmp_path / "d.ttl"
    data.write_text(
        '<https://w3id.org/sistercities/id/place/x> <http://www.w3.org/2004/02/skos/core#prefLabel> "Kuopio" .\n'
    )
    store = tmp_path / "store"
    sistercities("load", "--store", str(store), "--no-search-index", str(data))
    with (
        live_server("--store", str(store), "--no-validate", cache_dir=tmp_path / "c") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert found(http, "kuo") == ["/doc/place/x"]
        assert http.post("/reconcile", data={"queries": json.dumps(RECONCILE)}).status_code == 503


def test_triples_loaded_into_a_named_graph_are_indexed(tmp_path: Path) -> None:
    """The index reads every data graph, not only the default graph (a load with --graph)."""
    data = tmp_path / "d.ttl"
    data.write_text(
        '<https://w3id.org/sistercities/id/place/x> <http://www.w3.org/2004/02/skos/core#prefLabel> "Kuopio"@fi .\n'
    )
    store = tmp_path / "store"
    sistercities("load", "--store", str(store), "--graph", "https://example.org/g", str(data))
    with (
        live_server("--store", str(store), "--no-validate", cache_dir=tmp_path / "c") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert found(http, "Kuopoi") == ["/doc/place/x"]  # two letters swapped: a word of the index
        answer = http.post("/reconcile", data={"queries": json.dumps({"q": {"query": "kuopio"}})})
        assert [r["id"] for r in answer.json()["q"]["result"]] == ["place/x"]


def test_a_search_that_reads_every_name_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """A piece of two characters is looked for by reading every name (no trigram is that short):
    a tenth of a second at a million triples, a second at ten. It runs in a thread, so the HTTP
    process keeps answering its other requests meanwhile (it used to hold the event loop)."""
    store = ox.Store()
    store.bulk_extend(
        ox.Quad(ox.NamedNode(f"{BASE}id/place/p{n}"), RDFS_LABEL, ox.Literal(f"Town {n}")) for n in range(150_000)
    )
    write_name_table(store, Iris(BASE), NAME_KEYS, tmp_path)
    table = NameTable.open(tmp_path, NAME_KEYS)
    assert table is not None
    started = time.perf_counter()
    assert table.containing("zq", 100) == []
    blocking = time.perf_counter() - started

    async def longest_pause_while_searching() -> float:
        pauses, searching = [], asyncio.ensure_future(containing(SimpleNamespace(table=table), "zq"))
        while not searching.done():
            before = time.perf_counter()
            await asyncio.sleep(0)
            pauses.append(time.perf_counter() - before)
        assert await searching == set()
        return max(pauses)

    assert asyncio.run(longest_pause_while_searching()) < blocking / 3, f"the scan alone took {blocking:.3f} s"
