"""Safe publication of new data: `sistercities publish` validates the curated files first, refuses
data that do not conform (with the report; the live version stays), and otherwise builds beside
the live version and switches; a running server follows the switch, finishes the requests in
flight on the old version, never mixes versions in one answer, and its validators follow."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.store.location import StoreLocation
from tests.conftest import FIXTURES
from tests.live import Server, live_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://w3id.org/sistercities/"
VERSION_QUERY = (
    f"SELECT ?v WHERE {{ GRAPH <{BASE}graph/metadata> {{ <{BASE}id/dataset/sister-cities> "
    "<http://www.w3.org/2002/07/owl#versionInfo> ?v } }"
)
NEW_FACT = f'<{BASE}id/place/kuopio> <http://www.w3.org/2000/01/rdf-schema#comment> "published {{n}}"@en .\n'


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("publish")
    shutil.copytree(ROOT / "data", work / "data")
    shutil.copytree(ROOT / "ontology", work / "ontology")
    return work


def publish(folders: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "server", "publish", "--store", str(folders / "store")]
    command += ["--data-dir", str(folders / "data"), "--ontology-dir", str(folders / "ontology")]
    command += ["--cache-dir", str(folders / "cache")]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def live_build(folders: Path) -> str:
    return StoreLocation(folders / "store").current().path.name


def add_fact(folders: Path, n: int) -> None:
    (folders / "data" / "seeds" / "990-published.ttl").write_text(NEW_FACT.replace("{n}", str(n)), encoding="utf-8")


@pytest.fixture(scope="module")
def server(folders: Path) -> Iterator[Server]:
    first = publish(folders)
    assert first.returncode == 0, first.stderr
    assert "Published data version" in first.stdout
    args = ("--no-validate", "--store", str(folders / "store"), "--store-check-seconds", "0.2")
    args += ("--data-dir", str(folders / "data"), "--ontology-dir", str(folders / "ontology"))
    with live_server(*args, cache_dir=folders / "cache") as started:
        yield started


def served_version(client: httpx.Client) -> str:
    return client.get("/health").json()["data"]


def wait_for_version(client: httpx.Client, old: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while (found := served_version(client)) == old and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_publishing_again_without_changes_keeps_the_live_version(folders: Path, server: Server) -> None:
    before = live_build(folders)
    again = publish(folders)
    assert again.returncode == 0 and "already live" in again.stdout
    assert live_build(folders) == before


def test_a_new_version_goes_live_and_the_validators_follow(folders: Path, server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        old_version = served_version(client)
        page = client.get("/doc/place/kuopio", headers={"Accept": "text/turtle"})
        old_etag = page.headers["etag"]
        assert (
            client.get("/doc/place/kuopio", headers={"Accept": "text/turtle", "If-None-Match": old_etag}).status_code
            == 304
        )

        add_fact(folders, 1)
        result = publish(folders)
        assert result.returncode == 0, result.stderr
        new_version = wait_for_version(client, old_version)
        assert new_version != old_version
        again = client.get("/doc/place/kuopio", headers={"Accept": "text/turtle", "If-None-Match": old_etag})
        assert again.status_code == 200 and again.headers["etag"] != old_etag
        assert "published 1" in again.text
        assert new_version in again.headers["etag"]


@pytest.mark.parametrize(
    "bad",
    [
        ("990-published.ttl", (FIXTURES / "shapes" / "PartnershipAgreementShape-invalid-01.ttl").read_text()),
        ("990-published.ttl", "@prefix : <https://e.org/> .\n:a :b \n"),  # does not parse
    ],
    ids=["does not conform", "does not parse"],
)
def test_invalid_data_are_refused_and_the_live_version_stays(folders: Path, server: Server, bad) -> None:
    name, text = bad
    with httpx.Client(base_url=server.url, timeout=60) as client:
        version = served_version(client)
        build = live_build(folders)
        target = folders / "data" / "seeds" / name
        kept = target.read_text(encoding="utf-8") if target.exists() else None
        target.write_text(text, encoding="utf-8")
        try:
            result = publish(folders)
        finally:
            if kept is None:
                target.unlink()
            else:
                target.write_text(kept, encoding="utf-8")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Not published" in result.stderr and "live version stays" in result.stderr
        if "conform" in result.stderr:
            assert "Violation" in result.stderr
        assert live_build(folders) == build
        time.sleep(0.5)
        assert served_version(client) == version
        assert client.get("/doc/place/kuopio").status_code == 200


def test_requests_in_flight_finish_and_no_answer_mixes_versions(folders: Path, server: Server) -> None:
    """Clients keep asking while new versions are published; every answer is complete, and the
    version its ETag names is the version its body reports."""
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def ask() -> None:
        nonlocal answered
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                response = client.get("/sparql", params={"query": VERSION_QUERY}, headers={"Accept": "text/csv"})
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                body_version = response.text.splitlines()[1].strip()
                if body_version not in response.headers["etag"]:
                    failures.append(f"ETag {response.headers['etag']} with data version {body_version}")
                answered += 1

    clients = [threading.Thread(target=ask) for _ in range(4)]
    for thread in clients:
        thread.start()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for n in range(2, 4):
            old = served_version(client)
            add_fact(folders, n)
            assert publish(folders).returncode == 0
            assert wait_for_version(client, old) != old
    stop.set()
    for thread in clients:
        thread.join()
    assert failures == []
    assert answered > 20
