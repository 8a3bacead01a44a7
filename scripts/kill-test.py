#!/usr/bin/env python3
"""Kill `sistercities load`, `sistercities publish` and the server with SIGKILL at random moments,
many times, and check after each kill that the store reopens on the last complete version and
answers exactly as that version did (per-graph quad counts and a checksum of every data quad).

    .venv/bin/python scripts/kill-test.py                  # 100 kills (docs/hardening.md)
    .venv/bin/python scripts/kill-test.py --runs 5 --triples 50000 --json out.json

Everything runs in a temporary folder (or --work), on loopback only. Each run starts one
operation that makes a new version live (a load of generated N-Triples, alternating between
two inputs; or a publication of the curated data, alternating between two variants of it)
while a server follows the store, and kills one of them at a random moment within the time the
operation takes when left alone: the loader or publisher (the store must then hold the old
version or, if the switch had happened, the new one, each complete), or the server (which must
come back on the live version). Exit status 0 when every check held, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import pyoxigraph as ox  # noqa: E402

from server import running  # noqa: E402
from server.store.location import IN_PROGRESS, StoreLocation  # noqa: E402

BASE = "https://w3id.org/sistercities/"


@dataclass(frozen=True)
class Fingerprint:
    """What a version answers: the quads of each data graph, counted and hashed."""

    version: str
    counts: tuple[tuple[str, int], ...]
    checksum: str


def fingerprint(store_dir: Path) -> Fingerprint:
    """The live build of a store, opened read-only as a server opens it."""
    build = StoreLocation(store_dir).current()
    if build is None:
        raise RuntimeError("no live build")
    store = ox.Store.read_only(str(build.path))
    hidden = set(build.record.service_graphs)
    counts: Counter[str] = Counter()
    digest = 0
    for quad in store:
        graph = "" if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
        if graph in hidden:
            continue
        counts[graph] += 1
        # An order-independent checksum: the sum of each quad's hash (blank nodes, whose labels
        # differ from one build to the next, count as one).
        terms = ("_:" if isinstance(t, ox.BlankNode) else str(t) for t in (quad.subject, quad.predicate, quad.object))
        line = f"{' '.join(terms)} {graph}".encode()
        digest = (digest + int.from_bytes(hashlib.blake2b(line, digest_size=16).digest(), "big")) % (1 << 128)
    del store
    return Fingerprint(build.record.version, tuple(sorted(counts.items())), f"{digest:032x}")


def generated_triples(path: Path, triples: int, variant: int) -> None:
    """N-Triples of places and names, different for each variant."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(triples // 2):
            subject = f"<https://example.org/v{variant}/thing/{i}>"
            out.write(f'{subject} <http://www.w3.org/2000/01/rdf-schema#label> "thing {i} of {variant}"@en .\n')
            out.write(f"{subject} <https://example.org/linked> <https://example.org/v{variant}/thing/{i // 7}> .\n")


def curated_variant(target: Path, variant: int) -> None:
    shutil.copytree(ROOT / "data", target)
    (target / "seeds" / "999-kill-test.ttl").write_text(
        f'<{BASE}id/place/kuopio> <http://www.w3.org/2000/01/rdf-schema#comment> "variant {variant}"@en .\n',
        encoding="utf-8",
    )


@dataclass
class Operation:
    """A command that makes a new version live, with the version it makes."""

    name: str
    command: list[str]
    version: str = ""
    seconds: float = 0.0


@dataclass
class Outcome:
    run: int
    kind: str
    killed: str
    after: float
    live: str  # "old", "new"
    ok: bool
    problem: str = ""


@dataclass
class Report:
    runs: int
    seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    operations: dict[str, float] = field(default_factory=dict)
    left_in_progress: int = 0
    builds_at_end: int = 0

    def summary(self) -> dict:
        failed = [o for o in self.outcomes if not o.ok]
        by = Counter((o.kind, o.killed, o.live) for o in self.outcomes)
        return {
            "runs": self.runs,
            "failed": len(failed),
            "seconds": round(self.seconds, 1),
            "kills": {f"{k} / killed {killed} / {live} version live": n for (k, killed, live), n in sorted(by.items())},
            "clean_operation_seconds": {k: round(v, 2) for k, v in self.operations.items()},
            "builds_in_progress_left_after_a_final_load": self.left_in_progress,
            "builds_kept_at_end": self.builds_at_end,
            "problems": [asdict(o) for o in failed],
        }


class KillTest:
    def __init__(self, work: Path, triples: int, seed: int) -> None:
        self.work = work
        self.store = work / "store"
        self.cache = work / "cache"
        self.random = random.Random(seed)
        self.env = {**os.environ, "SISTERCITIES_CACHE_DIR": str(self.cache)}
        self.fingerprints: dict[str, Fingerprint] = {}
        self.server: subprocess.Popen | None = None
        self.url = ""
        python = [sys.executable, "-m", "server"]
        inputs = []
        for variant in (1, 2):
            path = work / f"input-{variant}.nt"
            generated_triples(path, triples, variant)
            inputs.append(path)
            curated_variant(work / f"data-{variant}", variant)
        self.operations = [
            *(Operation(f"load {p.name}", [*python, "load", "--store", str(self.store), str(p)]) for p in inputs),
            *(
                Operation(
                    f"publish data-{v}",
                    [*python, "publish", "--store", str(self.store), "--data-dir", str(work / f"data-{v}")],
                )
                for v in (1, 2)
            ),
        ]

    def run_clean(self, operation: Operation) -> None:
        started = time.monotonic()
        subprocess.run(operation.command, check=True, capture_output=True, env=self.env)
        operation.seconds = time.monotonic() - started
        found = fingerprint(self.store)
        operation.version = found.version
        self.fingerprints[found.version] = found

    def start_server(self) -> None:
        """The server over the store, given the data folder of the live build when that holds curated
        data (`serve` would otherwise rebuild the store from the folder it is given)."""
        command = running.serve_command("--no-validate", "--store", str(self.store), "--store-check-seconds", "0.2")
        live = StoreLocation(self.store).current()
        if live is not None and live.record.kind == "curated":
            variant = 1 if any("/data-1/" in source for source in live.record.sources) else 2
            command += ["--data-dir", str(self.work / f"data-{variant}")]
        self.server, self.url = running.start_server(command, self.env, timeout=120)

    def stop_server(self) -> None:
        if self.server is not None:
            running.stop(self.server)
            self.server = None

    def kill_server(self) -> None:
        """SIGKILL the server and every process under it (its workers), as a crash would."""
        assert self.server is not None
        for pid in running.descendants(self.server.pid) | {self.server.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.server.wait(timeout=30)
        self.server = None

    def server_answers(self, expected: Fingerprint) -> str:
        """'' when the server serves the live version and counts its default graph as expected."""
        count = dict(expected.counts).get("", 0)
        query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        deadline = time.monotonic() + 15
        problem = "no answer"
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                health = httpx.get(f"{self.url}/health", timeout=10).json()
                answer = httpx.get(f"{self.url}/sparql", params={"query": query}, headers={"Accept": "text/csv"})
                served = int(answer.text.splitlines()[1])
                if health["data"] == expected.version and served == count:
                    return ""
                problem = f"server on {health['data']} counting {served}, expected {expected.version} and {count}"
            time.sleep(0.2)
        return problem

    def one_run(self, run: int) -> Outcome:
        old = fingerprint(self.store)
        candidates = [o for o in self.operations if o.version != old.version]
        operation = self.random.choice(candidates)
        victim = self.random.choice(["operation", "operation", "server"])
        after = self.random.uniform(0, operation.seconds * 1.1)
        process = subprocess.Popen(
            operation.command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(after)
        if victim == "operation":
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            process.wait()
        else:
            self.kill_server()
            process.wait()
        live = fingerprint(self.store)
        problem = ""
        if live.version not in (old.version, operation.version):
            problem = f"live version {live.version} is neither the old {old.version} nor the new {operation.version}"
        elif live != self.fingerprints[live.version]:
            problem = f"version {live.version} does not answer as it did when complete"
        if self.server is None:
            self.start_server()
        problem = problem or self.server_answers(live)
        kind = operation.name.split()[0]
        state = "new" if live.version == operation.version else "old"
        return Outcome(run, kind, victim, round(after, 3), state, not problem, problem)

    def main(self, runs: int) -> Report:
        report = Report(runs)
        started = time.monotonic()
        for _ in range(2):  # the second time as the runs find them: a publication's validation is remembered
            for operation in self.operations:
                self.run_clean(operation)
                report.operations[operation.name] = operation.seconds
        self.start_server()
        try:
            for run in range(1, runs + 1):
                outcome = self.one_run(run)
                report.outcomes.append(outcome)
                mark = "ok" if outcome.ok else f"FAILED: {outcome.problem}"
                print(
                    f"run {run:3}: {outcome.kind:7} killed {outcome.killed:9} after {outcome.after:6.2f} s, "
                    f"{outcome.live} version live: {mark}",
                    flush=True,
                )
        finally:
            self.stop_server()
        # A killed build in progress is removed by the next load or publication.
        old = fingerprint(self.store)
        self.run_clean(next(o for o in self.operations if o.version != old.version))
        builds = [p for p in (self.store / "builds").iterdir() if p.is_dir()]
        report.left_in_progress = sum(p.name.startswith(IN_PROGRESS) for p in builds)
        report.builds_at_end = len(builds)
        report.seconds = time.monotonic() - started
        return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="kills (default 100)")
    parser.add_argument("--triples", type=int, default=300_000, help="size of each generated input (default 300000)")
    parser.add_argument("--seed", type=int, default=None, help="for a run that can be repeated")
    parser.add_argument("--work", type=Path, help="folder to work in (default: a temporary one, removed after)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    work = args.work or Path(tempfile.mkdtemp(prefix="sistercities-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"kill test: {args.runs} runs, seed {seed}, in {work}", flush=True)
    try:
        report = KillTest(work, args.triples, seed).main(args.runs)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    summary = {"seed": seed, "triples": args.triples, **report.summary()}
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0 if summary["failed"] == 0 and summary["builds_in_progress_left_after_a_final_load"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
