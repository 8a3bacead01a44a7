"""Several HTTP processes on one socket (`--http-workers`): any of them answers any request, a
runaway query in one does not hold up the rest, a process that dies is replaced, and the query
workers are shared out among them."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.live import CARTESIAN, LOOKUP, Server, descendants, live_server, parent_of

HTTP_WORKERS = 2
QUERY_WORKERS = 2  # in all: one for each HTTP process
TIME_LIMIT = 3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """On an on-disk store, which the parent builds once before the HTTP processes open it."""
    store = tmp_path_factory.mktemp("store")
    args = (
        "--no-validate",
        "--http-workers",
        str(HTTP_WORKERS),
        "--workers",
        str(QUERY_WORKERS),
        "--store",
        str(store),
    )
    args += ("--query-timeout", str(TIME_LIMIT), "--result-cache-bytes", "0")
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as running:
        yield running


def http_processes(server: Server) -> set[int]:
    """The server's children that serve HTTP: those with query workers of their own."""
    children = {pid for pid in descendants(server.pid) if parent_of(pid) == server.pid}
    return {pid for pid in children if descendants(pid)}


def test_the_server_runs_the_number_of_http_processes_asked_for(server: Server) -> None:
    # The server answers as soon as one process is up; the others may still be starting theirs.
    deadline = time.monotonic() + 30
    while len(http_processes(server)) < HTTP_WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(http_processes(server)) == HTTP_WORKERS


def forked_workers(http_process: int) -> set[int]:
    """The workers of one HTTP process: the children of its one child that forks them (the others,
    validation workers, have none)."""
    children = {pid for pid in descendants(http_process) if parent_of(pid) == http_process}
    return {pid for child in children for pid in descendants(child) if parent_of(pid) == child}


def test_the_query_workers_are_shared_out_among_the_http_processes(server: Server) -> None:
    """Two query workers in all, so one in each of the two HTTP processes, beside its reserved
    one: not two each, which would put four processes to evaluating scans on two CPUs."""
    reserved = Settings.model_fields["reserved_workers"].default
    expected = QUERY_WORKERS // HTTP_WORKERS + reserved
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        counts = [len(forked_workers(pid)) for pid in http_processes(server)]
        if counts == [expected] * HTTP_WORKERS:
            break
        time.sleep(0.2)
    assert counts == [expected] * HTTP_WORKERS


@pytest.mark.parametrize(
    ("query_workers", "http_workers", "each"), [(2, 1, 2), (2, 2, 1), (3, 2, 2), (1, 4, 1), (8, 4, 2)]
)
def test_each_http_process_has_its_share_of_the_query_workers_and_at_least_one(
    query_workers: int, http_workers: int, each: int
) -> None:
    settings = Settings(query_workers=query_workers, http_workers=http_workers)
    assert settings.workers_per_http_process == each


def test_every_kind_of_request_is_answered(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(2 * HTTP_WORKERS):
            assert client.get("/sparql", params={"query": LOOKUP}).status_code == 200
            assert client.get("/doc/place/kuopio", headers={"Accept": "text/turtle"}).status_code == 200
            assert client.get("/", headers={"Accept": "text/html"}).status_code == 200


def test_a_runaway_query_does_not_hold_up_the_others(server: Server) -> None:
    outcome: dict[str, int] = {}

    def runaway() -> None:
        outcome["status"] = httpx.get(f"{server.url}/sparql", params={"query": CARTESIAN}, timeout=60).status_code

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    answered = 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        while thread.is_alive():
            assert client.get("/sparql", params={"query": LOOKUP}).status_code == 200
            answered += 1
    thread.join()
    assert outcome["status"] == 503
    assert answered >= 10


def test_a_process_that_dies_is_replaced(server: Server) -> None:
    victim = min(http_processes(server))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        processes = http_processes(server)
        if victim not in processes and len(processes) == HTTP_WORKERS:
            break
        time.sleep(0.25)
    assert victim not in http_processes(server)
    assert len(http_processes(server)) == HTTP_WORKERS
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(2 * HTTP_WORKERS):
            assert client.get("/sparql", params={"query": LOOKUP}).status_code == 200


def established(pid: int, port: int) -> int:
    """The connections to `port` that the process holds open (its sockets in /proc/net/tcp)."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = str(descriptor.readlink())
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            count += local_port == port and fields[3] == "01" and fields[9] in inodes  # 01: ESTABLISHED
    return count


# httpx's defaults accept gzip, so the application answers; without gzip the HTTP protocol answers
# lookups itself (server.web.shortcut), and it must close a connection just the same.
WAYS = {"by the application": {}, "by the protocol at once": {"Accept-Encoding": "identity"}}


@pytest.mark.parametrize("way", WAYS)
def test_keep_alive_connections_are_spread_evenly_over_the_http_processes(server: Server, way: str) -> None:
    """Eight clients with a keep-alive connection each, opened at once, end up four in each
    process: a process holding more than its share answers one request with `Connection: close`,
    and the client (httpx, with its defaults) opens another, which either process may accept."""
    port = int(server.url.rsplit(":", 1)[1])
    clients = [httpx.Client(base_url=server.url, timeout=30, headers=WAYS[way]) for _ in range(8)]
    start, failures = threading.Barrier(len(clients)), []

    def ask(client: httpx.Client) -> None:
        start.wait()
        for _ in range(60):
            response = client.get("/sparql", params={"query": LOOKUP})
            if response.status_code != 200:
                failures.append(response.status_code)

    threads = [threading.Thread(target=ask, args=(client,)) for client in clients]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert sorted(established(pid, port) for pid in http_processes(server)) == [4, 4]
    finally:
        for client in clients:
            client.close()
