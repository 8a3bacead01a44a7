"""Start the real server (uvicorn on a free loopback port) for tests that talk HTTP to it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# For tests of the time limit: three unconstrained triple patterns over ~3,000 triples are
# 2.7e10 combinations, minutes of work; and a lookup that answers at once.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LOOKUP = "ASK { <https://w3id.org/sistercities/id/place/kuopio> ?p ?o }"
READY_LINE = re.compile(r"Serving Sister Cities Linked Data at (http://\S+)/")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and every process under it (its query workers)."""
        return sum(_cpu_ticks(pid) for pid in descendants(self.pid) | {self.pid}) / CLOCK_TICKS


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields after the command name


def _cpu_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0  # utime, stime


def parent_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def descendants(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


@contextmanager
def live_server(
    *args: str, cache_dir: Path, env: dict[str, str] | None = None, startup_timeout: float = 60
) -> Iterator[Server]:
    """Run `sistercities serve --port 0` with extra arguments; yield its URL (no trailing /) and PID."""
    command = [
        sys.executable,
        "-m",
        "server",
        "serve",
        "--port",
        "0",
        "--log-level",
        "warning",
        *args,
    ]
    environment = {**os.environ, "SISTERCITIES_CACHE_DIR": str(cache_dir), **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    try:
        url = _wait_for_url(process, startup_timeout)
        _wait_until_healthy(url, process, startup_timeout)
        yield Server(url, process.pid)
    finally:
        _stop(process)


def _wait_for_url(process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise RuntimeError("server exited before it was ready:\n" + "".join(seen))
        seen.append(line)
        match = READY_LINE.search(line)
        if match:
            return match.group(1)
    raise RuntimeError("server did not announce its address:\n" + "".join(seen))


def _wait_until_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process.stdout:
        process.stdout.close()
