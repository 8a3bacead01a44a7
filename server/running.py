"""Our server and its peers as processes: started on a free loopback port, stopped by PID.

Used by the tests that talk HTTP to the real server, by the benchmarks and by the scripts; it
starts `python -m server serve` (the command line, not the application object), reads the
address it announces, waits until it answers, and stops it with everything it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_LINE = re.compile(r"Serving Sister Cities Linked Data at (http://\S+)/")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and every process under it (its workers)."""
        return sum(cpu_seconds(pid) for pid in descendants(self.pid) | {self.pid})


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads)."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0


def parent_of(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def descendants(root: int) -> set[int]:
    """Children, their children and so on (with --http-workers the query workers are grandchildren)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def serve_command(*args: str, log_level: str = "warning") -> list[str]:
    """`sistercities serve` on a free port, with more options."""
    return [sys.executable, "-m", "server", "serve", "--port", "0", "--log-level", log_level, *args]


def start_server(command: list[str], env: dict[str, str], timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start our server; return the process and the URL it announces, once it is healthy. Its
    output is read on in a thread, so that a full pipe never blocks it."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = announced_url(process, timeout)
        threading.Thread(target=drain, args=(process.stdout,), daemon=True).start()
        wait_until_ready(url + "/health", process, timeout)
    except BaseException:
        stop(process)
        raise
    return process, url


def announced_url(process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            raise RuntimeError("the server exited before it was ready:\n" + "".join(seen))
        seen.append(line)
        match = READY_LINE.search(line)
        if match:
            return match.group(1)
    raise RuntimeError("the server did not announce its address:\n" + "".join(seen))


def wait_until_ready(
    url: str, process: subprocess.Popen, timeout: float, ready: Callable[[httpx.Response], bool] | None = None
) -> None:
    """Poll `url` until it answers 200 (or `ready` says so), failing fast if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with status {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(url, timeout=5)
            if (ready or (lambda r: r.status_code == 200))(response):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready within {timeout:g} s")


def drain(stream) -> None:
    with contextlib.suppress(OSError, ValueError):
        for _ in stream:
            pass


def stop(process: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM, then SIGKILL after the grace period; workers it left behind are killed too."""
    left = descendants(process.pid) if process.poll() is None else set()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for stream in (process.stdout, process.stderr):
        if stream:
            with contextlib.suppress(OSError):
                stream.close()


@contextlib.contextmanager
def live_server(
    *args: str, cache_dir: Path, env: dict[str, str] | None = None, startup_timeout: float = 60
) -> Iterator[Server]:
    """Run `sistercities serve --port 0` with more options; yield its URL (no trailing /) and PID."""
    environment = {**os.environ, "SISTERCITIES_CACHE_DIR": str(cache_dir), **(env or {})}
    process, url = start_server(serve_command(*args), environment, startup_timeout)
    try:
        yield Server(url, process.pid)
    finally:
        stop(process)
