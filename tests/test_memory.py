"""What the server's processes hold: the validation workers (pySHACL and the shapes, about 45 MB
each) start with the server, or at the first validation with --no-validation-workers-at-start."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from server.running import descendants
from tests.live import live_server

TURTLE = '@prefix skos: <http://www.w3.org/2004/02/skos/core#> . <https://example.org/x> skos:prefLabel "x" .\n'


def settled_count(root: int, seconds: float = 1.0) -> int:
    """How many processes the server has, once the number has not changed for `seconds`."""
    count, since = len(descendants(root)), time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() - since < seconds and time.monotonic() < deadline:
        time.sleep(0.1)
        now = len(descendants(root))
        if now != count:
            count, since = now, time.monotonic()
    return count


def test_validation_workers_start_at_the_first_validation(tmp_path: Path) -> None:
    with (
        live_server(
            "--no-validate", "--validation-workers", "1", "--no-validation-workers-at-start", cache_dir=tmp_path / "c1"
        ) as lazy,
        live_server("--no-validate", "--validation-workers", "1", cache_dir=tmp_path / "c2") as eager,
        httpx.Client(base_url=lazy.url, timeout=120) as http,
    ):
        before = settled_count(lazy.pid)
        assert settled_count(eager.pid) == before + 1  # the same server, with its validation worker
        response = http.post("/validate", content=TURTLE.encode(), headers={"Content-Type": "text/turtle"})
        assert response.status_code == 200, response.text
        assert settled_count(lazy.pid) == before + 1
