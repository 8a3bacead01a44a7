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
from pathlib import Path

import httpx

READY_LINE = re.compile(r"Serving Sister Cities Linked Data at (http://\S+)/")


@contextmanager
def live_server(
    *args: str, cache_dir: Path, env: dict[str, str] | None = None, startup_timeout: float = 60
) -> Iterator[str]:
    """Run `sistercities serve --port 0` with extra arguments; yield its base URL (no trailing /)."""
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
        yield url
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
