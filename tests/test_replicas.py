"""Two replicas over copies of one store behind HAProxy, switched one at a time to a new data
version while a load generator sends requests through the balancer: scripts/replicas.py end to
end at small scale (the bundled data, then the bundled data plus one small file), real HAProxy."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEW_FACT = '<https://w3id.org/sistercities/id/place/kuopio> <http://www.w3.org/2000/01/rdf-schema#comment> "v2"@en .\n'

SERVERS = r"    server r\d 127\.0\.0\.1:\d+(\n    server r\d 127\.0\.0\.1:\d+)*"
needs_haproxy = pytest.mark.skipif(
    shutil.which("haproxy") is None,
    reason="HAProxy is not installed (Debian's haproxy; scripts/install-system-deps.sh installs it)",
)


def test_the_documented_configuration_is_the_one_the_script_writes() -> None:
    """docs/scaling.md shows the configuration as written for a run: the template, with only the
    socket, ports and addresses filled in."""
    shown = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8").split("```haproxy\n", 1)[1].split("```", 1)[0]
    template = (ROOT / "scripts" / "replicas.py").read_text(encoding="utf-8")
    template = template.split('HAPROXY_CONFIG = """\\\n', 1)[1].split('"""', 1)[0]
    pattern = re.escape(template).replace(re.escape("{servers}"), SERVERS)
    for name in ("socket", "host", "port", "backend", "server_timeout"):
        pattern = pattern.replace(re.escape("{" + name + "}"), r"\S+")
    assert re.fullmatch(pattern, shown), "docs/scaling.md shows another configuration than HAPROXY_CONFIG"


def rolling_switch(work: Path, added: str) -> dict:
    """Run the script from the bundled data to the bundled data plus a file; its report."""
    shutil.copytree(ROOT / "data", work / "new-data")
    (work / "new-data" / "seeds" / "990-replicas.ttl").write_text(added, encoding="utf-8")
    command = [sys.executable, str(ROOT / "scripts" / "replicas.py"), "--work", str(work / "run")]
    command += ["--rolling-switch", str(work / "new-data"), "--json", str(work / "report.json")]
    command += ["--clients", "3", "--max-requests", "50000", "--max-seconds", "240", "--step-timeout", "120"]
    command += ["--server-arg=--workers=1", "--server-arg=--reserved-workers=1"]
    command += ["--build-niceness", "0"]  # a busy machine would starve a niced build: the test is timed
    result = subprocess.run(command, capture_output=True, text=True, timeout=400)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode in (0, 1) and (work / "report.json").exists(), output
    assert "Balancing 2 replicas at http://127.0.0.1:" in result.stdout
    return json.loads((work / "report.json").read_text())


@pytest.fixture(scope="module")
def switched(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The report of one rolling switch from the bundled data to the bundled data plus a fact."""
    return rolling_switch(tmp_path_factory.mktemp("replicas"), NEW_FACT)


@pytest.mark.slow
@needs_haproxy
def test_a_refused_version_leaves_every_replica_serving_the_old_one(tmp_path: Path) -> None:
    """`publish` refuses data that do not parse: the drained replica goes back as it was, no
    request fails, and the switch stops there with the reason."""
    refused = rolling_switch(tmp_path, "this is not Turtle\n")
    assert refused["error"] and "syntax error" in refused["error"]
    assert refused["failed"] == 0, refused["failures"]
    assert refused["switches"] == []
    assert refused["versions_after"] == refused["versions_before"]
    assert set(refused["balancer_status_after"].values()) == {"UP"}


@pytest.mark.slow
@needs_haproxy
def test_no_request_fails_during_the_rolling_switch(switched: dict) -> None:
    assert switched["error"] is None
    assert switched["requests"] > 0
    assert switched["failed"] == 0, switched["failures"]


@pytest.mark.slow
@needs_haproxy
def test_every_replica_answers_with_the_new_version_afterwards(switched: dict) -> None:
    old, new = set(switched["versions_before"].values()), set(switched["versions_after"].values())
    assert len(old) == 1 and len(new) == 1 and old != new
    assert switched["every_replica_new"]
    assert set(switched["through_balancer_after"]) == new
    assert switched["old_answers_begun_after_the_last_switch"] == 0


@pytest.mark.slow
@needs_haproxy
def test_the_replicas_switch_one_at_a_time(switched: dict) -> None:
    """The second replica is drained only once the first is back: one always serves."""
    first, second = switched["switches"]
    assert [first["replica"], second["replica"]] == ["r1", "r2"]
    for step in (first, second):
        assert step["drained"] <= step["published"] <= step["serving_new"] <= step["warmed"] <= step["ready"]
    assert first["ready"] <= second["drained"]


@pytest.mark.slow
@needs_haproxy
def test_both_versions_answer_during_the_switch_each_named(switched: dict) -> None:
    """Mixed versions in the rolling window are expected; every answer names its one version."""
    seen = switched["answers_per_version"]
    assert set(seen) == set(switched["versions_before"].values()) | set(switched["versions_after"].values())
