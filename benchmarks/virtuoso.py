"""Debian's Virtuoso 7 as a SPARQL peer: started in a directory of its own, loaded with an
N-Quads dump, stopped by its PID. Used by benchmarks/bench.py and by tests/test_remote_virtuoso.py.

    with running(work_dir, dump) as virtuoso:
        httpx.get(virtuoso.endpoint, params={"query": ..., "default-graph-uri": virtuoso.default_graph})

The dataset. Our dumps hold the named graphs of the sources and a default graph that is their
merge. Virtuoso has no default graph of its own: a query to /sparql without a dataset ranges over
every graph it holds (ours, each triple once per graph stating it, and its own system graphs).
So the triples of the dump's default graph are loaded into a graph of their own, DEFAULT_GRAPH,
and clients name it as `default-graph-uri`; with it and no `named-graph-uri`, Virtuoso keeps
`GRAPH ?g` ranging over all its graphs, which then also include DEFAULT_GRAPH and its system
graphs (see docs/benchmarks.md). Our server in remote mode does that by
`--sparql-default-graph DEFAULT_GRAPH`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

SERVER = "virtuoso-t"
ISQL = "isql-vt"
PACKAGE = "virtuoso-opensource-7"
# Where the dump's default graph (the merge of the sources) is loaded: a graph name of ours that
# the dump itself never uses.
DEFAULT_GRAPH = "https://w3id.org/sistercities/graph/default"
# Large enough never to cut a benchmark's answer short: the limits are the clients' own.
MAX_ROWS = 10_000_000
MAX_SECONDS = 600
PAGE_BYTES = 8192  # Virtuoso's buffer (page) size
BLANK_NODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')


def installed() -> bool:
    """Whether Debian's Virtuoso server and its SQL client are on PATH."""
    return shutil.which(SERVER) is not None and shutil.which(ISQL) is not None


def install() -> None:
    """apt-get install Debian's package (as root, or with sudo); the package's own service is not started."""
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", PACKAGE], check=True, env=env, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def buffers_for(memory_bytes: int) -> tuple[int, int]:
    """NumberOfBuffers and MaxDirtyBuffers for a buffer pool of about `memory_bytes`, as
    Virtuoso's own guide sizes them (dirty buffers three quarters of the pool)."""
    buffers = max(2000, memory_bytes // PAGE_BYTES)
    return buffers, buffers * 3 // 4


def ini_text(
    directory: Path, sql_port: int, http_port: int, memory_bytes: int, threads: int, max_seconds: int = MAX_SECONDS
) -> str:
    """Our own virtuoso.ini: loopback ports, files in `directory`, bulk load allowed from it, a
    buffer pool of `memory_bytes` and result limits that never truncate a benchmark's answer."""
    buffers, dirty = buffers_for(memory_bytes)
    db = directory / "db"
    return f"""[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 32
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
MaxStaticCursorRows = 5000
AllowOSCalls = 0
DirsAllowed = ., {directory}, /usr/share/virtuoso-opensource-7/vad
ThreadCleanupInterval = 0
ThreadThreshold = 10
ResourcesCleanupInterval = 0
MaxQueryMem = 2G
VectorSize = 1000
MaxVectorSize = 1000000
AdjustVectorSize = 0
ThreadsPerQuery = {threads}
AsyncQueueMaxThreads = 10
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = 32
ServerThreads = 32
MaxKeepAlives = 32
KeepAliveTimeout = 60
DavRoot = DAV
EnabledDavVSP = 0
HTTPProxyEnabled = 0
HTTPThreadSize = 280000
Charset = UTF-8
EnabledGzipContent = 0

[Client]
SQL_PREFETCH_ROWS = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT = 0
SQL_TXN_TIMEOUT = 0

[SPARQL]
ResultSetMaxRows = {MAX_ROWS}
MaxSortedTopRows = {MAX_ROWS}
MaxQueryCostEstimationTime = {max_seconds}
MaxQueryExecutionTime = {max_seconds}
DeferInferenceRulesInit = 0
"""


@dataclass
class Virtuoso:
    """A running Virtuoso: its directory, ports and process."""

    directory: Path
    sql_port: int
    http_port: int
    process: subprocess.Popen
    default_graph: str = DEFAULT_GRAPH

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def endpoint(self) -> str:
        return f"{self.url}/sparql"

    @property
    def pid(self) -> int:
        return self.process.pid

    def isql(self, script: str, timeout: float = 3600) -> str:
        """Run SQL statements through isql-vt (as dba, over loopback); fail on any SQL error."""
        path = self.directory / "script.sql"
        path.write_text(script, encoding="utf-8")
        done = subprocess.run(
            [ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", "VERBOSE=OFF", str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = done.stdout + done.stderr
        if done.returncode != 0 or "*** Error" in output:
            raise RuntimeError(f"isql-vt failed ({done.returncode}):\n{output[-3000:]}")
        return output

    def stop(self, grace: float = 60) -> None:
        """SIGTERM (Virtuoso checkpoints and exits), SIGKILL after the grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(
    directory: Path, memory_bytes: int = 2 << 30, threads: int = 2, max_seconds: int = MAX_SECONDS, timeout: float = 120
) -> Virtuoso:
    """Start virtuoso-t in the foreground on free loopback ports, its database in `directory`
    (created on the first start), and wait until its SQL port answers."""
    (directory / "db").mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    ini = directory / "virtuoso.ini"
    ini.write_text(ini_text(directory, sql_port, http_port, memory_bytes, threads, max_seconds), encoding="utf-8")
    log = (directory / "virtuoso.out").open("ab")
    process = subprocess.Popen(
        [SERVER, "+foreground", "+configfile", str(ini)],
        cwd=directory / "db",
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it ourselves
    )
    log.close()
    virtuoso = Virtuoso(directory, sql_port, http_port, process)
    try:
        wait_for_sql(virtuoso, timeout)
    except BaseException:
        virtuoso.stop(grace=10)
        raise
    return virtuoso


def wait_for_sql(virtuoso: Virtuoso, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if virtuoso.process.poll() is not None:
            tail = (virtuoso.directory / "db" / "virtuoso.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"virtuoso-t exited with status {virtuoso.process.returncode}:\n{tail}")
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            virtuoso.isql("SELECT 1;", timeout=10)
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"Virtuoso did not answer on its SQL port within {timeout:g} s")
        time.sleep(0.3)


def load_nquads(virtuoso: Virtuoso, dump: Path) -> float:
    """Bulk-load an N-Quads file (plain or .gz): its quads keep their graph names, its default
    graph goes to DEFAULT_GRAPH. The file is linked into Virtuoso's directory (DirsAllowed);
    returns the seconds taken, checkpoint included."""
    inbox = virtuoso.directory / "load"
    inbox.mkdir(exist_ok=True)
    name = "dump.nq.gz" if dump.suffix == ".gz" else "dump.nq"
    target = inbox / name
    target.unlink(missing_ok=True)
    try:
        target.hardlink_to(dump)
    except OSError:
        shutil.copyfile(dump, target)
    started = time.perf_counter()
    virtuoso.isql(
        f"ld_dir('{inbox}', '{name}', '{virtuoso.default_graph}');\nrdf_loader_run();\ncheckpoint;\n"
        "SELECT ll_file, ll_error FROM DB.DBA.load_list WHERE ll_error IS NOT NULL;\n"
    )
    errors = virtuoso.isql("SELECT COUNT(*) FROM DB.DBA.load_list WHERE ll_error IS NOT NULL;")
    if not any(line.strip() == "0" for line in errors.splitlines()):
        raise RuntimeError(
            "Virtuoso's bulk loader reported errors:\n" + virtuoso.isql("SELECT * FROM DB.DBA.load_list;")
        )
    seconds = time.perf_counter() - started
    target.unlink(missing_ok=True)
    return seconds


def wait_for_sparql(virtuoso: Virtuoso, timeout: float = 120) -> None:
    """Until /sparql answers a query over the loaded default graph."""
    deadline = time.monotonic() + timeout
    params = {"query": "ASK { ?s ?p ?o }", "default-graph-uri": virtuoso.default_graph}
    headers = {"Accept": "application/sparql-results+json"}
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(virtuoso.endpoint, params=params, headers=headers, timeout=10).status_code == 200:
                return
        if virtuoso.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Virtuoso's SPARQL endpoint {virtuoso.endpoint} did not answer")
        time.sleep(0.2)


def prepare(
    directory: Path, dump: Path, memory_bytes: int = 2 << 30, threads: int = 2, max_seconds: int = MAX_SECONDS
) -> Virtuoso:
    """A fresh database in `directory`, loaded with `dump`, answering SPARQL. `max_seconds`:
    Virtuoso's own limits on a query's estimated and actual time."""
    shutil.rmtree(directory, ignore_errors=True)
    virtuoso = start(directory, memory_bytes, threads, max_seconds)
    try:
        load_nquads(virtuoso, dump)
        wait_for_sparql(virtuoso)
    except BaseException:
        virtuoso.stop(grace=10)
        raise
    return virtuoso


@contextlib.contextmanager
def running(
    directory: Path, dump: Path, memory_bytes: int = 2 << 30, threads: int = 2, max_seconds: int = MAX_SECONDS
) -> Iterator[Virtuoso]:
    """Virtuoso loaded with `dump` for the duration of the block, then stopped."""
    virtuoso = prepare(directory, dump, memory_bytes, threads, max_seconds)
    try:
        yield virtuoso
    finally:
        virtuoso.stop()


def readable_json(body: bytes) -> bytes:
    """SPARQL JSON results of Virtuoso with its blank nodes ("nodeID://b1") as labels pyoxigraph reads."""
    return BLANK_NODE.sub(rb"\1", body)


def interrupt(*_: object) -> None:
    """SIGTERM as Ctrl-C: Virtuoso is stopped on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Load a dump into a fresh Virtuoso, say how to serve over it, keep it running until Ctrl-C."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Run Debian's Virtuoso 7 loaded with an N-Quads dump, on loopback.")
    parser.add_argument("dump", type=Path, help="N-Quads (plain or .gz), e.g. from `sistercities dump --format nquads`")
    parser.add_argument("--dir", type=Path, help="its database directory, emptied first (default: a temporary one)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="its buffer pool (default 2048)")
    args = parser.parse_args(argv)
    if not installed():
        parser.error(f"{SERVER} is not installed: apt-get install {PACKAGE}")
    with contextlib.ExitStack() as stack:
        directory = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="virtuoso-")))
        virtuoso = stack.enter_context(running(directory.resolve(), args.dump.resolve(), args.memory_mb << 20))
        print(f"Virtuoso (pid {virtuoso.pid}) answers at {virtuoso.endpoint}; serve over it with:", flush=True)
        print(f"  sistercities serve --sparql-endpoint {virtuoso.endpoint} --sparql-default-graph {DEFAULT_GRAPH}")
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, interrupt)
            virtuoso.process.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
