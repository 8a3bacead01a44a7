#!/usr/bin/env python3
"""Replicas of one read-only store behind HAProxy, and a rolling switch to a new data version.

    .venv/bin/python scripts/replicas.py                          # build, two replicas + HAProxy; Ctrl-C stops
    .venv/bin/python scripts/replicas.py --store var/store        # copies of an existing store instead
    .venv/bin/python scripts/replicas.py --rolling-switch NEWDATA --json switch.json

Builds the store once (`sistercities publish`: validated, then built) or takes `--store`, copies
its live build for each replica (each copy stands for a machine of its own), starts one
`sistercities serve --store COPY` per replica on a free loopback port, and HAProxy (Debian's
`haproxy`) in front of them on a loopback port, with health checks on /health and its runtime API
on a unix socket. It prints the balancer's URL and runs until Ctrl-C (or `--seconds`), then stops
everything it started, by PID.

With `--rolling-switch NEWDATA` (a folder of curated data, published with `sistercities publish`,
or RDF files, loaded with `sistercities load`) it instead switches the replicas to the new data
one at a time while a load generator sends requests through the balancer: drain the replica at
the balancer and wait until it has no session left, publish the new version into its copy, wait
until it serves it, put it back, then the next. It reports the requests sent, those that failed
(target 0), when each replica switched, and the version every replica answers with afterwards.
While the switch runs, both versions are served (each answer from one version, with its ETag).
The load generator is bounded in time and count, and talks to loopback only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import datetime
import io
import ipaddress
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import running  # noqa: E402
from server.store.location import LIVE, StoreLocation  # noqa: E402

BACKEND = "replicas"
# The balancer's configuration: read it as the documentation of the setup (docs/scaling.md).
HAPROXY_CONFIG = """\
global
    maxconn 1024
    # The runtime API: drain, ready and the per-server statistics of the rolling switch.
    stats socket {socket} mode 600 level admin

defaults
    mode http
    option http-keep-alive
    option forwardfor                      # the replicas see the client's address (per-client rate limits)
    option redispatch                      # a retried request may go to the other replica
    retries 2
    retry-on conn-failure empty-response   # an idle connection the replica closed: try again elsewhere
    timeout connect 2s
    timeout client 60s
    # Longer than the replicas' query time limit (30 s by default), so HAProxy never cuts an answer.
    timeout server {server_timeout}s
    timeout http-keep-alive 10s

frontend sistercities
    bind {host}:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    # /health answers without a query; a replica busy with slow requests is slow, not down:
    # out after 3 checks unanswered for 5 s each, back after 2 answered.
    option httpchk GET /health
    http-check expect status 200
    timeout check 5s
    default-server check inter 1s fall 3 rise 2
{servers}
"""
SERVER_LINE = "    server {name} {address}"
# The load generator's requests: a health check, a resource document, the VoID description and
# a SPARQL lookup; each answer names its data version (in /health's body, or its ETag).
LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/sistercities/id/place/kuopio> ?p ?o } LIMIT 20"
REQUESTS = (
    ("/health", {}, {}),
    ("/doc/place/kuopio", {"Accept": "text/turtle"}, {}),
    ("/.well-known/void", {"Accept": "text/turtle"}, {}),
    ("/sparql", {"Accept": "application/sparql-results+json"}, {"query": LOOKUP}),
)
# Every client of the load generator is 127.0.0.1: during a switch the per-client rate limits and
# each client's share of the query workers would refuse it as one client.
RATE_LIMITS_OFF = {f"SISTERCITIES_{kind}_RATE_LIMIT": "0" for kind in ("QUERY", "VALIDATE", "RECONCILE")}
RATE_LIMITS_OFF["SISTERCITIES_CLIENT_QUERY_SHARE"] = "0"


class Stopped(Exception):
    """SIGTERM: stop as Ctrl-C does, through the clean-up."""


# --- The store and its copies -------------------------------------------------------------------


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "server", *args]


def run(args: list[str], what: str, niceness: int = 0) -> str:
    """Run one of our commands (at a lower CPU priority when `niceness`); its output when it
    succeeded, else stop with it."""
    prefix = ["nice", "-n", str(niceness)] if niceness else []
    result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def build_store(store: Path, folders: list[str], cache: Path) -> None:
    """The curated data, validated then built (the same `publish` a deployment runs)."""
    run(command("publish", "--store", str(store), "--cache-dir", str(cache), *folders), "publishing the data")


def copy_store(source: Path, target: Path) -> str:
    """Copy the live build of a store (not the older ones) into a store of its own; its build name."""
    live = StoreLocation(source).current()
    if live is None:
        raise RuntimeError(f"{source} holds no live build")
    shutil.copytree(live.path, target / "builds" / live.path.name)
    (target / LIVE).write_text(live.path.name + "\n", encoding="utf-8")
    return live.path.name


def new_version_command(store: Path, cache: Path, new_data: list[Path], folders: list[str]) -> list[str]:
    """`publish` for a folder of curated data (the replica's --data-dir), `load` for RDF files."""
    if len(new_data) == 1 and new_data[0].is_dir():
        others = [f for f in folders if not f.startswith("--data-dir")]
        return command(
            "publish", "--store", str(store), "--cache-dir", str(cache), f"--data-dir={new_data[0].resolve()}", *others
        )
    return command("load", "--store", str(store), "--cache-dir", str(cache), *map(str, new_data))


# --- Replicas and the balancer -----------------------------------------------------------------


@dataclass
class Replica:
    name: str
    home: Path
    process: subprocess.Popen | None = None
    url: str = ""

    @property
    def store(self) -> Path:
        return self.home / "store"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def address(self) -> str:
        return self.url.removeprefix("http://")

    def start(self, server_args: list[str], env: dict[str, str]) -> None:
        args = ["--store", str(self.store), "--cache-dir", str(self.cache), *server_args]
        self.process, self.url = running.start_server(running.serve_command(*args), env, timeout=180)

    def version(self) -> str:
        """The data version this replica serves, asked directly (not through the balancer)."""
        return httpx.get(self.url + "/health", timeout=10).json()["data"]

    def serves_other_than(self, old: str) -> bool:
        """Whether it serves another version than `old` (no answer yet: not yet)."""
        try:
            return self.version() != old
        except httpx.HTTPError:
            return False

    def warm(self, timeout: float) -> None:
        """Ask it each kind of request once, directly, before it takes clients again: the first
        answers after a switch fill the per-version memos and caches and are the slow ones."""
        with httpx.Client(base_url=self.url, timeout=timeout) as http:
            for path, headers, params in REQUESTS:
                http.get(path, headers=headers, params=params).raise_for_status()


class Balancer:
    """HAProxy in front of the replicas, driven through its runtime API (a unix socket)."""

    def __init__(self, home: Path, host: str, port: int, server_timeout: float) -> None:
        self.home, self.host, self.port = home, host, port or running.free_port()
        self.server_timeout = server_timeout
        self.socket = home / "haproxy.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def config(self, replicas: list[Replica]) -> str:
        servers = "\n".join(SERVER_LINE.format(name=r.name, address=r.address) for r in replicas)
        return HAPROXY_CONFIG.format(
            socket=self.socket,
            host=self.host,
            port=self.port,
            backend=BACKEND,
            server_timeout=round(self.server_timeout),
            servers=servers,
        )

    def start(self, replicas: list[Replica]) -> None:
        """Write the configuration, check it, run HAProxy in the foreground (-db) as our child."""
        path = self.home / "haproxy.cfg"
        path.write_text(self.config(replicas), encoding="utf-8")
        subprocess.run(["haproxy", "-c", "-q", "-f", str(path)], check=True, timeout=30)
        log = (self.home / "haproxy.log").open("w")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT)
        self.wait(lambda: all(self.status(r.name) == "UP" for r in replicas), 30, "every replica UP")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def command(self, text: str) -> str:
        """One command of the runtime API; HAProxy answers and closes the connection."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(str(self.socket))
            connection.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self, server: str) -> dict[str, str]:
        """The `show stat` row of one server of the backend (status, scur: current sessions, ...)."""
        with contextlib.suppress(OSError):
            rows = csv.DictReader(io.StringIO(self.command("show stat").removeprefix("# ")))
            for row in rows:
                if row["pxname"] == BACKEND and row["svname"] == server:
                    return row
        return {}

    def status(self, server: str) -> str:
        return self.stats(server).get("status", "")

    def set_state(self, server: str, state: str) -> None:
        answer = self.command(f"set server {BACKEND}/{server} state {state}").strip()
        if answer:
            raise RuntimeError(f"HAProxy refused 'state {state}' for {server}: {answer}")

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"HAProxy exited ({self.process.returncode}); see {self.home / 'haproxy.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"waited {timeout:g} s for {what}")
            time.sleep(0.05)


# --- The load generator ------------------------------------------------------------------------


def version_of(response: httpx.Response) -> str | None:
    """The data version an answer came from: /health says it; other answers carry it in the ETag."""
    if response.url.path == "/health":
        return response.json().get("data")
    etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
    return etag.split("-", 1)[0] or None


@dataclass
class Load:
    """Clients with keep-alive connections sending REQUESTS through the balancer in turn, until
    stopped, the deadline or the budget of requests; every answer but a 200 is a failure."""

    url: str
    clients: int
    max_requests: int
    max_seconds: float
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    answers: list[tuple[float, str | None]] = field(default_factory=list)  # (start, version)
    latencies: list[float] = field(default_factory=list)  # seconds, of the answered requests

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(self.clients)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def take(self) -> bool:
        with self.lock:
            if self.sent >= self.max_requests or time.monotonic() - self.started > self.max_seconds:
                return False
            self.sent += 1
            return True

    def client(self, number: int) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            turn = number
            while not self.stopping.is_set() and self.take():
                path, headers, params = REQUESTS[turn % len(REQUESTS)]
                turn += 1
                self.one(http, path, headers, params)

    def one(self, http: httpx.Client, path: str, headers: dict, params: dict) -> None:
        began = time.monotonic() - self.started
        try:
            response = http.get(path, headers=headers, params=params)
        except httpx.HTTPError as error:
            self.record(began, None, f"{path}: {type(error).__name__}: {error}")
            return
        if response.status_code != 200:
            self.record(began, None, f"{path}: {response.status_code} {response.text[:200]}")
            return
        self.record(began, version_of(response), None)

    def record(self, began: float, version: str | None, failure: str | None) -> None:
        took = time.monotonic() - self.started - began
        with self.lock:
            if failure:
                self.failures.append(f"{began:.2f} s {failure}")
            else:
                self.answers.append((began, version))
                self.latencies.append(took)

    def milliseconds(self, percent: float) -> float | None:
        """A percentile of the answered requests' latency."""
        ordered = sorted(self.latencies)
        if not ordered:
            return None
        return round(1000 * ordered[min(len(ordered) - 1, int(percent / 100 * len(ordered)))], 1)


# --- The rolling switch ------------------------------------------------------------------------


@dataclass
class Switch:
    """When one replica went through each step, in seconds since the load started."""

    replica: str
    drained: float = 0.0
    sessions_left_at_drain: int = 0
    published: float = 0.0
    serving_new: float = 0.0
    warmed: float = 0.0
    ready: float = 0.0
    version: str = ""


def switch_one(
    replica: Replica, balancer: Balancer, new_version: list[str], started: float, options: argparse.Namespace
) -> Switch:
    """Drain, publish into its copy, wait for the new version, warm it, put it back."""
    timeout = options.step_timeout
    elapsed = lambda: round(time.monotonic() - started, 2)  # noqa: E731
    switch = Switch(replica.name)
    old = replica.version()
    balancer.set_state(replica.name, "drain")
    switch.sessions_left_at_drain = int(balancer.stats(replica.name).get("scur") or 0)
    balancer.wait(lambda: balancer.stats(replica.name).get("scur") == "0", timeout, f"{replica.name} drained")
    switch.drained = elapsed()
    try:
        run(new_version, f"the new version into {replica.name}", options.build_niceness)
    except RuntimeError:
        balancer.set_state(replica.name, "ready")  # refused: it still serves the old version, so back it goes
        raise
    switch.published = elapsed()
    balancer.wait(lambda: replica.serves_other_than(old), timeout, f"{replica.name} serving the new version")
    switch.serving_new, switch.version = elapsed(), replica.version()
    replica.warm(timeout)
    switch.warmed = elapsed()
    balancer.set_state(replica.name, "ready")
    balancer.wait(lambda: balancer.status(replica.name) == "UP", timeout, f"{replica.name} UP again")
    switch.ready = elapsed()
    return switch


def rolling_switch(
    replicas: list[Replica], balancer: Balancer, new_data: list[Path], folders: list[str], options: argparse.Namespace
) -> dict:
    """Switch each replica in turn under load; the report. A step that fails (a version refused
    by `publish`, a replica that does not come back) ends the switch, and the report says why."""
    before = {r.name: r.version() for r in replicas}
    load = Load(balancer.url, options.clients, options.max_requests, options.max_seconds)
    load.start()
    switches: list[Switch] = []
    error = None
    try:
        time.sleep(options.settle)
        for replica in replicas:
            todo = new_version_command(replica.store, replica.cache, new_data, folders)
            switches.append(switch_one(replica, balancer, todo, load.started, options))
        time.sleep(options.settle)
    except RuntimeError as failure:
        error = str(failure)
    finally:
        load.stop()
    return {**report(replicas, balancer, load, before, switches), "error": error}


def report(replicas: list[Replica], balancer: Balancer, load: Load, before: dict, switches: list[Switch]) -> dict:
    after = {r.name: r.version() for r in replicas}
    through = Counter(version_of(httpx.get(balancer.url + "/health", timeout=10)) for _ in range(4 * len(replicas)))
    last_ready = max((s.ready for s in switches), default=0.0)
    new_versions = set(after.values())
    old_after = sum(1 for began, version in load.answers if began > last_ready and version not in new_versions)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "balancer": haproxy_version(),
        "replicas": len(replicas),
        "clients": load.clients,
        "requests": load.sent,
        "failed": len(load.failures),
        "failures": load.failures[:20],
        "seconds": round(time.monotonic() - load.started, 1),
        "latency_ms": {"p50": load.milliseconds(50), "p99": load.milliseconds(99), "max": load.milliseconds(100)},
        "versions_before": before,
        "versions_after": after,
        "through_balancer_after": dict(through),
        "answers_per_version": dict(Counter(v for _, v in load.answers)),
        "old_answers_begun_after_the_last_switch": old_after,
        "every_replica_new": len(new_versions) == 1 and not new_versions & set(before.values()),
        "balancer_status_after": {r.name: balancer.status(r.name) for r in replicas},
        "switches": [asdict(s) for s in switches],
    }


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, {platform.machine()}, Linux {platform.release()}, load average {load}"


def haproxy_version() -> str:
    first = subprocess.run(["haproxy", "-v"], capture_output=True, text=True, timeout=10).stdout.splitlines()
    return " ".join(first[0].split()[:3]) if first else "haproxy"


# --- Putting it together -----------------------------------------------------------------------


@contextlib.contextmanager
def work_folder(given: Path | None) -> Iterator[Path]:
    """The folder given (kept), or a temporary one (removed after)."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="sistercities-replicas-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def data_folders(options: argparse.Namespace) -> list[str]:
    """The --data-dir and --ontology-dir the store is built from, which the replicas are started with."""
    folders = []
    if options.data_dir:
        folders.append(f"--data-dir={options.data_dir.resolve()}")
    if options.ontology_dir:
        folders.append(f"--ontology-dir={options.ontology_dir.resolve()}")
    return folders


def prepare(work: Path, options: argparse.Namespace, folders: list[str]) -> list[Replica]:
    """The store (built or given), and one copy of its live build per replica."""
    source = options.store
    if source is None:
        source = work / "built"
        build_store(source, folders, work / "cache")
    replicas = [Replica(f"r{n}", work / f"r{n}") for n in range(1, options.replicas + 1)]
    for replica in replicas:
        replica.cache.mkdir(parents=True, exist_ok=True)
        copy_store(source, replica.store)
    return replicas


def start_replicas(replicas: list[Replica], server_args: list[str], env: dict[str, str]) -> None:
    """Start them side by side (each start loads its copy and its query workers)."""
    with concurrent.futures.ThreadPoolExecutor(len(replicas)) as pool:
        for done in [pool.submit(r.start, server_args, env) for r in replicas]:
            done.result()


def stop_all(replicas: list[Replica], balancer: Balancer) -> None:
    """Everything we started, by PID: the balancer first, then each replica and its workers."""
    balancer.stop()
    for replica in replicas:
        if replica.process is not None:
            running.stop(replica.process)


def raise_stopped(signum: int, frame: object) -> None:
    raise Stopped


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="copy this store's live build (default: build the curated data)")
    parser.add_argument("--data-dir", type=Path, help="the curated data to build from (default: data/)")
    parser.add_argument("--ontology-dir", type=Path, help="the ontology to build with (default: ontology/)")
    parser.add_argument("--replicas", type=int, default=2, help="how many replicas (default 2)")
    parser.add_argument("--host", default="127.0.0.1", help="the balancer's address (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="the balancer's port (default: a free one)")
    parser.add_argument("--work", type=Path, help="folder for the copies and HAProxy's files (default: temporary)")
    parser.add_argument("--server-arg", action="append", default=[], help="one more option for each replica")
    parser.add_argument("--seconds", type=float, help="serve this long, then stop (default: until Ctrl-C)")
    parser.add_argument("--rolling-switch", nargs="+", type=Path, metavar="NEWDATA", help="folder or RDF files")
    parser.add_argument("--clients", type=int, default=4, help="load generator threads (default 4)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="load generator budget (default 50000)")
    parser.add_argument("--max-seconds", type=float, default=600, help="load generator time limit (default 600)")
    parser.add_argument("--settle", type=float, default=1.0, help="load before and after the switch, s (default 1)")
    parser.add_argument("--step-timeout", type=float, default=300, help="time limit of each step, s (default 300)")
    parser.add_argument(
        "--build-niceness",
        type=int,
        default=10,
        help="CPU priority (nice) of the publish or load into a drained replica: on one machine it shares the "
        "CPUs with the replicas serving meanwhile, as it would not on machines of their own (default 10; 0 off)",
    )
    parser.add_argument("--keep-rate-limits", action="store_true", help="keep the per-client limits during a switch")
    parser.add_argument("--json", type=Path, help="also write the switch's report as JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    if shutil.which("haproxy") is None:
        print("haproxy is not installed (Debian: apt-get install haproxy)", file=sys.stderr)
        return 2
    if options.rolling_switch and not ipaddress.ip_address(options.host).is_loopback:
        print("the load generator of --rolling-switch talks to loopback only: give a loopback --host", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, raise_stopped)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    folders = data_folders(options)
    # Every load generator client is 127.0.0.1, one client to the replicas' rate limits.
    env = {**os.environ, **(RATE_LIMITS_OFF if options.rolling_switch and not options.keep_rate_limits else {})}
    server_args = ["--no-validate", "--store-check-seconds", "0.2", *folders, *options.server_arg]
    with work_folder(options.work) as work:
        replicas = prepare(work, options, folders)
        balancer = Balancer(work, options.host, options.port, server_timeout=65)
        try:
            start_replicas(replicas, server_args, env)
            balancer.start(replicas)
            print(f"Balancing {len(replicas)} replicas at {balancer.url}/ (HAProxy socket {balancer.socket})")
            sys.stdout.flush()
            if options.rolling_switch:
                return finish(rolling_switch(replicas, balancer, options.rolling_switch, folders, options), options)
            wait(options.seconds)
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except (KeyboardInterrupt, Stopped):
            print("stopping", file=sys.stderr)
        finally:
            stop_all(replicas, balancer)
    return 0


def wait(seconds: float | None) -> None:
    deadline = time.monotonic() + seconds if seconds is not None else None
    while deadline is None or time.monotonic() < deadline:
        time.sleep(0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic())))


def finish(summary: dict, options: argparse.Namespace) -> int:
    """Print the report (and write it as JSON); 0 when no request failed and every replica is new."""
    text = json.dumps(summary, indent=1)
    print(text)
    if options.json:
        options.json.write_text(text + "\n", encoding="utf-8")
    return 0 if summary["failed"] == 0 and summary["every_replica_new"] and not summary["error"] else 1


if __name__ == "__main__":
    sys.exit(main())
