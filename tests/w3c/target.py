"""What an endpoint under test offers (`Target`), the `oxigraph serve` peer, and loading datasets once.

To plug in another server, write a class with:

- `endpoint`: the URL of its SPARQL 1.1 Protocol query service (GET and POST), read after each
  load (a target may restart its server on another port);
- `load(dataset)`: replace everything the store holds with exactly `dataset`: the merge of its
  default-graph files as the default graph and each named graph from its file. `Dataset.graphs()`
  gives the triples with absolute IRIs and fresh blank nodes; `Dataset.nquads()` the same as one
  N-Quads document, for a server loaded from a file.

`Session` loads each distinct dataset once and then checks, over SPARQL, that every graph holds
exactly as many triples as it should, so a target cannot pass by keeping the previous dataset
around or by adding its own triples to the default graph. It counts rather than compares contents
because an engine may canonicalise literals on the way in; the cases themselves judge that.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
import pyoxigraph as ox

from tests.w3c.dataset import Dataset, ntriples

GRAPH_SIZES = "SELECT ?g (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } GROUP BY ?g"
LISTEN = "0A"  # TCP state in /proc/net/tcp


class Target(Protocol):
    """An endpoint under test that can be given a dataset."""

    @property
    def endpoint(self) -> str: ...

    def load(self, dataset: Dataset) -> None: ...


class LoadError(RuntimeError):
    """The target did not end up holding exactly the dataset it was given."""


@dataclass
class Session:
    """A target and the dataset it holds now: each dataset is loaded once, then checked."""

    target: Target
    client: httpx.Client
    current: Dataset | None = field(default=None, init=False)

    def endpoint_for(self, dataset: Dataset) -> str:
        """The query endpoint, once it holds `dataset` and nothing else."""
        if dataset != self.current:
            self.current = None
            self.target.load(dataset)
            self.check_holds(dataset)
            self.current = dataset
        return self.target.endpoint

    def check_holds(self, dataset: Dataset) -> None:
        expected = {name: len(triples) for name, triples in dataset.graphs().items() if triples}
        actual = graph_sizes(self.client, self.target.endpoint)
        if actual != expected:
            raise LoadError(
                f"after load the store's graphs hold {actual} triples, expected {expected} "
                f"({dataset.describe()}): load() must replace the whole store with exactly the dataset"
            )


def graph_sizes(client: httpx.Client, endpoint: str) -> dict[str | None, int]:
    """Triples per non-empty graph, over SPARQL; the default graph under None."""
    response = client.post(endpoint, data={"query": GRAPH_SIZES}, headers={"Accept": "application/sparql-results+json"})
    response.raise_for_status()
    rows = ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)
    if not isinstance(rows, ox.QuerySolutions):
        raise LoadError(f"{endpoint} answered a SELECT with a boolean")
    sizes: dict[str | None, int] = {}
    for row in rows:
        graph = row["g"]
        sizes[graph.value if graph is not None else None] = int(row["n"].value)
    return sizes


@dataclass
class GraphStoreTarget:
    """A store loaded through the SPARQL 1.1 Graph Store HTTP Protocol.

    `DELETE` on the store URL itself, emptying every graph, is an Oxigraph extension; the graphs
    are then written with `PUT ?default` and `PUT ?graph=<iri>` as N-Triples."""

    endpoint: str
    store: str
    client: httpx.Client

    def load(self, dataset: Dataset) -> None:
        self._send("DELETE", httpx.URL(self.store))
        for name, triples in dataset.graphs().items():
            if name is None and triples:
                self._send("PUT", httpx.URL(f"{self.store}?default"), ntriples(triples))
            elif name is not None:  # a named graph exists even when empty
                self._send("PUT", httpx.URL(self.store, params={"graph": name}), ntriples(triples))

    def _send(self, method: str, url: httpx.URL, body: bytes | None = None) -> None:
        headers = {"Content-Type": "application/n-triples"} if body is not None else {}
        response = self.client.request(method, url, content=body, headers=headers)
        if not response.is_success:
            raise LoadError(f"{method} {url}: HTTP {response.status_code} {response.text[:300]}")


def oxigraph_command() -> str:
    """The `oxigraph` CLI of the pip package `oxigraph` (a test dependency)."""
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        raise FileNotFoundError("the oxigraph command (pip package 'oxigraph') is required")
    return found


@contextmanager
def oxigraph_serve(workdir: Path, startup_timeout: float = 30) -> Iterator[GraphStoreTarget]:
    """`oxigraph serve` on a free loopback port, with its store in `workdir`; stopped on exit.

    It binds port 0 and the port is read from the kernel's socket table, so no other process can
    take the port in between (and the harness can never write into someone else's server)."""
    command = [oxigraph_command(), "serve", "--location", str(workdir / "store"), "--bind", "127.0.0.1:0"]
    with (workdir / "oxigraph.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            port = _wait_for_port(process, startup_timeout, workdir / "oxigraph.log")
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(timeout=60) as client:
                yield GraphStoreTarget(endpoint=f"{base}/query", store=f"{base}/store", client=client)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def oxigraph_session(workdir: Path) -> Iterator[Session]:
    """A Session on a fresh `oxigraph serve`; its client follows redirects (the protocol allows 3xx)."""
    with oxigraph_serve(workdir) as target, httpx.Client(timeout=60, follow_redirects=True) as client:
        yield Session(target, client)


def _wait_for_port(process: subprocess.Popen[bytes], timeout: float, log: Path) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        port = listening_port(process.pid)
        if port is not None and _answers(f"http://127.0.0.1:{port}/query"):
            return port
        time.sleep(0.05)
    raise RuntimeError(f"oxigraph serve did not start within {timeout} s: {log.read_text()[-2000:]}")


def _answers(endpoint: str) -> bool:
    try:
        return httpx.get(endpoint, params={"query": "ASK {}"}, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def listening_port(pid: int) -> int | None:
    """The TCP port a process listens on, from /proc (Linux): its socket inodes in /proc/net/tcp."""
    inodes = set()
    try:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            link = str(descriptor.readlink())
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    except OSError:
        return None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == LISTEN and fields[9] in inodes:
            return int(fields[1].rsplit(":", 1)[1], 16)
    return None


@dataclass
class LoadedStoreTarget:
    """Our server over an on-disk store, each dataset loaded through `sistercities load`'s own code
    (server.store.load, in this process); the server then switches to the new build by itself, and
    the target waits until /health reports the new data version."""

    endpoint: str
    health: str
    store_dir: Path
    workdir: Path
    client: httpx.Client
    base_iri: str = "https://w3id.org/sistercities/"

    def load(self, dataset: Dataset) -> None:
        from server.store.load import Source, load
        from server.store.location import StoreLocation
        from server.uris import Iris

        data = self.workdir / "dataset.nq"
        data.write_bytes(dataset.nquads())
        loaded = load(StoreLocation(self.store_dir), [Source(str(data), ox.RdfFormat.N_QUADS)], Iris(self.base_iri))
        self._wait_for(loaded.build.record.version)

    def _wait_for(self, version: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client.get(self.health).json().get("data") == version:
                return
            time.sleep(0.02)
        raise LoadError(f"the server did not switch to data version {version} within {timeout} s")


@contextmanager
def our_session(workdir: Path) -> Iterator[Session]:
    """A Session on our own server (`sistercities serve --store`), loading through the load path."""
    from server.running import live_server

    store = workdir / "store"
    options = ("--store", str(store), "--no-validate", "--store-check-seconds", "0.02", "--result-cache-bytes", "0")
    with (
        live_server(*options, cache_dir=workdir / "cache") as server,
        httpx.Client(timeout=60, follow_redirects=True) as client,
    ):
        target = LoadedStoreTarget(f"{server.url}/sparql", f"{server.url}/health", store, workdir, client)
        yield Session(target, client)
