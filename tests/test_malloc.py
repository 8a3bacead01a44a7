"""`serve --malloc` runs every process of the server with the allocator asked for (jemalloc, from
Debian's libjemalloc2, which `make test` installs), restarting itself with it; `--worker-malloc`
only the worker processes; a path that is not a library stops `serve` with a usage error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live import LOOKUP, descendants, live_server

JEMALLOC = Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")

pytestmark = pytest.mark.slow


def maps_library(pid: int, library: Path) -> bool:
    try:
        return str(library) in Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # the process has gone
        return False


def test_the_query_workers_run_with_the_allocator_asked_for(tmp_path: Path) -> None:
    assert JEMALLOC.is_file(), "install Debian's libjemalloc2 (scripts/install-system-deps.sh does)"
    args = ("--no-validate", "--worker-malloc", str(JEMALLOC), "--result-cache-bytes", "0")
    with live_server(*args, cache_dir=tmp_path / "cache") as server:
        response = httpx.get(f"{server.url}/sparql", params={"query": LOOKUP}, timeout=30)
        assert response.status_code == 200
        workers = descendants(server.pid)
        assert workers, "the server started no worker processes"
        with_jemalloc = {pid for pid in workers if maps_library(pid, JEMALLOC)}
        assert with_jemalloc, "no worker process loaded jemalloc"
        assert not maps_library(server.pid, JEMALLOC), "the HTTP process should keep its allocator"


@pytest.mark.parametrize("http_workers", ["1", "2"])
def test_every_process_runs_with_the_allocator_asked_for(tmp_path: Path, http_workers: str) -> None:
    assert JEMALLOC.is_file(), "install Debian's libjemalloc2 (scripts/install-system-deps.sh does)"
    args = ("--no-validate", "--malloc", str(JEMALLOC), "--http-workers", http_workers, "--result-cache-bytes", "0")
    with live_server(*args, cache_dir=tmp_path / "cache") as server:
        response = httpx.get(f"{server.url}/sparql", params={"query": LOOKUP}, timeout=30)
        assert response.status_code == 200
        processes = [server.pid, *descendants(server.pid)]
        assert len(processes) > 1, "the server started no other processes"
        without = [pid for pid in processes if not maps_library(pid, JEMALLOC) and Path(f"/proc/{pid}").exists()]
        assert not without, f"processes of the server without jemalloc: {without}"


@pytest.mark.parametrize("option", ["--malloc", "--worker-malloc"])
def test_a_path_that_is_no_library_is_a_usage_error(tmp_path: Path, option: str) -> None:
    missing = tmp_path / "libnothing.so"
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", "0", option, str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{option[2:].replace('-', '_')}: there is no library at {missing}" in result.stderr
    assert "Traceback" not in result.stderr
