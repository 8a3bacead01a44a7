#!/usr/bin/env python3
"""Soak the real server under sustained mixed load, and say whether it holds.

    .venv/bin/python scripts/soak.py                          # 10 minutes at concurrency 16
    .venv/bin/python scripts/soak.py --minutes 2 --json soak.json
    .venv/bin/python scripts/soak.py --server-arg=--store --server-arg=var/store --server-arg=--http-workers=2

Starts `sistercities serve` on a free loopback port (or uses --url, which must be a loopback
address), then runs `--concurrency` clients for `--minutes`, each sending, drawn at random:
the SPARQL query mix of benchmarks/bench.py (its kinds, weights and parameter pools), the pages
workload (resource pages, descriptions, home, browse, search), reconciliation (batches and
suggest), validation (POST /validate of tests/fixtures/municipality-twin-cities.ttl), and
`--hostile` (5%) hostile queries: cartesian products, `(:p|^:p)*` paths, regular expressions
over every literal, huge CONSTRUCT and DESCRIBE, deep nesting, giant VALUES, very long query
strings. The server's per-client rate limits are off (every client here is 127.0.0.1) unless
--keep-rate-limits.

It reports: failed good requests (any answer but 200, or none), p50/p99 latency per kind, the
hostile requests' statuses, memory (RSS and PSS of every server process) and open file
descriptors over time, and worker restarts (server processes that ended, and new ones). Bounded
in time (the run, plus the time limit of the requests in flight) and in requests (--max-requests).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402
import httpx  # noqa: E402

from server import running  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store.build import open_store  # noqa: E402
from server.store.dataset import Dataset  # noqa: E402
from tests.hostile import HOSTILE  # noqa: E402

VALIDATION_SAMPLE = ROOT / "tests" / "fixtures" / "municipality-twin-cities.ttl"
RATE_LIMITS_OFF = {f"SISTERCITIES_{kind}_RATE_LIMIT": "0" for kind in ("QUERY", "VALIDATE", "RECONCILE")}
# The share of each family among the good requests.
FAMILIES = {"query": 50, "page": 35, "reconcile": 10, "validate": 5}


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    path: str
    hostile: bool = False
    params: dict | None = None
    data: dict | None = None
    content: bytes | None = None
    headers: dict | None = None


def hostile_calls() -> dict[str, Call]:
    """The hostile queries of the test suite (tests/hostile.py), as calls."""
    calls = {}
    for hostile in HOSTILE:
        request = hostile.request()
        kind = f"hostile:{hostile.name}"
        if request["method"] == "POST":
            calls[kind] = Call(kind, "POST", "/sparql", True, content=request["content"], headers=request["headers"])
        else:
            calls[kind] = Call(kind, "GET", "/sparql", True, params=request["params"])
    return calls


class Mix:
    """Draws the calls: the good ones from bench.py's pools and kinds, and the hostile ones."""

    def __init__(self, hostile_share: float, seed: int) -> None:
        store = open_store(Dataset.from_settings(Settings()), None)
        self.pools = bench.read_page_pools(store, bench.read_pools(store))
        self.query_kinds = [k for k in bench.KINDS if k.make(random.Random(0), self.pools)]
        self.page_kinds = [k for k in bench.PAGE_KINDS if k.make(random.Random(0), self.pools)]
        self.hostile = list(hostile_calls().values())
        self.hostile_share = hostile_share
        self.sample = VALIDATION_SAMPLE.read_bytes()
        self.seed = seed

    def draw(self, rng: random.Random) -> Call:
        if rng.random() < self.hostile_share:
            return rng.choice(self.hostile)
        family = rng.choices(list(FAMILIES), weights=list(FAMILIES.values()))[0]
        if family == "query":
            kind = rng.choices(self.query_kinds, weights=[k.weight for k in self.query_kinds])[0]
            request = kind.make(rng, self.pools)
            params, headers = {"query": request.query}, {"Accept": request.accept}
            return Call(f"query:{kind.name}", "GET", "/sparql", params=params, headers=headers)
        if family == "page":
            kind = rng.choices(self.page_kinds, weights=[k.weight for k in self.page_kinds])[0]
            request = kind.make(rng, self.pools)
            return Call(f"page:{kind.name}", "GET", request.path, headers={"Accept": request.accept})
        if family == "reconcile":
            names = rng.sample(self.pools.names, 3)
            if rng.random() < 0.5:
                return Call("reconcile:suggest", "GET", "/reconcile/suggest/entity", params={"prefix": names[0][:4]})
            queries = json.dumps({f"q{i}": {"query": n, "type": "Place"} for i, n in enumerate(names)})
            return Call("reconcile:batch", "POST", "/reconcile", data={"queries": queries})
        return Call("validate", "POST", "/validate", content=self.sample, headers={"Content-Type": "text/turtle"})


@dataclass
class Result:
    kind: str
    hostile: bool
    status: int | None  # None: no answer (a connection error or the client's time limit)
    seconds: float
    error: str = ""


class Sampler:
    """Memory, descriptors and processes of the server, every `every` seconds."""

    def __init__(self, root_pid: int, every: float) -> None:
        self.root, self.every = root_pid, every
        self.samples: list[dict] = []
        self.seen: set[int] = set()
        self.started = time.monotonic()
        self.stop = threading.Event()

    def tree(self) -> set[int]:
        return running.descendants(self.root) | {self.root}

    @staticmethod
    def memory_kib(pid: int) -> tuple[int, int]:
        rss = pss = 0
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
        return rss, pss

    @staticmethod
    def descriptors(pid: int) -> int:
        try:
            return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            return 0

    def sample(self) -> dict:
        pids = self.tree()
        self.seen |= pids
        memory = [self.memory_kib(pid) for pid in pids]
        return {
            "t": round(time.monotonic() - self.started, 1),
            "processes": len(pids),
            "rss_mib": round(sum(r for r, _ in memory) / 1024, 1),
            "pss_mib": round(sum(p for _, p in memory) / 1024, 1),
            "fds": sum(self.descriptors(pid) for pid in pids),
        }

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.samples.append(self.sample())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def address(call: Call, index: int, rng: random.Random, hostile_clients: int) -> dict[str, str]:
    """Who sends a call: each soak client is an address of its own for its good requests, and the
    hostile queries come from `hostile_clients` other addresses, as abuse comes from a few clients.
    Given as X-Forwarded-For, which the server takes from a proxy on its own host (uvicorn's
    forwarded_allow_ips), so per-client shares and rate limits see many clients, as in real life."""
    if call.hostile:
        return {"X-Forwarded-For": f"10.2.0.{rng.randrange(hostile_clients) + 1}"}
    return {"X-Forwarded-For": f"10.1.{index // 250}.{index % 250 + 1}"}


def client(
    url: str, mix: Mix, index: int, seed: int, deadline: float, budget: list[int], results: list, options: dict
) -> None:
    rng = random.Random(seed)
    timeout = options["timeout"]
    limits = httpx.Limits(keepalive_expiry=2)  # the server closes idle connections after 5 s: not one it may be closing
    with httpx.Client(base_url=url, timeout=timeout, limits=limits) as http:
        while time.monotonic() < deadline:
            with LOCK:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            call = mix.draw(rng)
            started = time.perf_counter()
            try:
                response = http.request(
                    call.method,
                    call.path,
                    params=call.params,
                    data=call.data,
                    content=call.content,
                    headers={**(call.headers or {}), **address(call, index, rng, options["hostile_clients"])},
                )
                response.read()
                result = Result(call.kind, call.hostile, response.status_code, time.perf_counter() - started)
                if response.status_code != 200:
                    result.error = response.text[:200]
            except httpx.HTTPError as error:
                result = Result(call.kind, call.hostile, None, time.perf_counter() - started, repr(error)[:200])
            results.append(result)


LOCK = threading.Lock()


def report(results: list[Result], sampler: Sampler, first: set[int], seconds: float, settings: dict) -> dict:
    good = [r for r in results if not r.hostile]
    failed = [r for r in good if r.status != 200]
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r)
    kinds = {}
    for kind, rs in sorted(by_kind.items()):
        answered = [r.seconds * 1000 for r in rs]
        kinds[kind] = {
            "requests": len(rs),
            "statuses": dict(Counter(str(r.status) for r in rs)),
            "p50_ms": round(statistics.median(answered), 1),
            "p99_ms": round(percentile(answered, 99), 1),
        }
    samples = sampler.samples
    ended = len(first - sampler.tree())
    return {
        "settings": settings,
        "seconds": round(seconds, 1),
        "requests": len(results),
        "good_requests": len(good),
        "failed_good_requests": len(failed),
        "failed_good_share": round(len(failed) / max(1, len(good)), 4),
        "failures_by_kind_and_status": dict(Counter(f"{r.kind} {r.status}" for r in failed)),
        "failure_examples": sorted({f"{r.kind} {r.status}: {r.error}" for r in failed})[:10],
        "hostile_requests": len(results) - len(good),
        "server_5xx": sum(1 for r in results if r.status is not None and r.status >= 500 and r.status != 503),
        "kinds": kinds,
        "lookups": lookup_figures(results),
        "over_time": samples,
        "pss_mib_first_last_max": first_last_max(samples, "pss_mib"),
        "fds_first_last_max": first_last_max(samples, "fds"),
        "server_processes_at_start": len(first),
        "server_processes_seen": len(sampler.seen),
        "worker_restarts": len(sampler.seen - first),
        "processes_of_the_start_ended": ended,
    }


# The bounded lookups of the mix (benchmarks/bench.py), which the lookup lane answers.
LOOKUP_KINDS = tuple(f"query:{k}" for k in ("point", "ask", "describe", "twins_in", "twins_out", "construct"))


def lookup_figures(results: list[Result]) -> dict:
    """Latency of the lookups together: the issue's "lookups p99 under 100 ms during the soak"."""
    seconds = [r.seconds * 1000 for r in results if r.kind in LOOKUP_KINDS]
    if not seconds:
        return {}
    return {
        "requests": len(seconds),
        "p50_ms": round(statistics.median(seconds), 1),
        "p99_ms": round(percentile(seconds, 99), 1),
    }


def first_last_max(samples: list[dict], key: str) -> list:
    return [samples[0][key], samples[-1][key], max(s[key] for s in samples)] if samples else []


def print_report(found: dict) -> None:
    print(f"\n{found['requests']} requests in {found['seconds']} s ({found['hostile_requests']} hostile)")
    print(
        f"failed good requests: {found['failed_good_requests']} of {found['good_requests']} "
        f"({100 * found['failed_good_share']:.2f}%) {found['failures_by_kind_and_status']}"
    )
    lookups = found["lookups"]
    if lookups:
        print(
            f"lookups ({', '.join(LOOKUP_KINDS)}): {lookups['requests']}, "
            f"p50 {lookups['p50_ms']} ms, p99 {lookups['p99_ms']} ms"
        )
    print(f"{'kind':28} {'requests':>8} {'p50 ms':>9} {'p99 ms':>9}  statuses")
    for kind, figures in found["kinds"].items():
        p50, p99 = figures["p50_ms"], figures["p99_ms"]
        print(f"{kind:28} {figures['requests']:>8} {p50:>9} {p99:>9}  {figures['statuses']}")
    print(f"{'t (s)':>7} {'processes':>9} {'RSS MiB':>9} {'PSS MiB':>9} {'fds':>6}")
    for s in found["over_time"]:
        print(f"{s['t']:>7} {s['processes']:>9} {s['rss_mib']:>9} {s['pss_mib']:>9} {s['fds']:>6}")
    print(
        f"worker restarts: {found['worker_restarts']} new server processes "
        f"({found['server_processes_at_start']} at the start, {found['processes_of_the_start_ended']} of them ended)"
    )


def loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return host == "localhost"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--hostile", type=float, default=0.05, help="share of hostile queries (default 0.05)")
    parser.add_argument(
        "--hostile-clients", type=int, default=2, help="addresses the hostile queries come from (default 2)"
    )
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="stop after this many requests")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="how often memory and fds are read")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--url", help="soak a server already running on this loopback URL (with --pid)")
    parser.add_argument("--pid", type=int, help="the PID of that server, for its memory and processes")
    parser.add_argument("--server-arg", action="append", default=[], help="another option for `sistercities serve`")
    parser.add_argument("--keep-rate-limits", action="store_true", help="leave the server's rate limits on")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    settings = {k: v for k, v in vars(args).items() if k not in ("json",)} | {"seed": seed}
    print(f"soak: {args.minutes} min at concurrency {args.concurrency}, {100 * args.hostile:g}% hostile, seed {seed}")
    mix = Mix(args.hostile, seed)
    process = None
    if args.url:
        if not loopback(args.url) or args.pid is None:
            parser.error("--url must be a loopback address, given with the server's --pid")
        url, pid = args.url.rstrip("/"), args.pid
    else:
        env = {**os.environ, **({} if args.keep_rate_limits else RATE_LIMITS_OFF)}
        env.setdefault("SISTERCITIES_CACHE_DIR", str(Path.home() / ".cache" / "sistercities-soak"))
        command = running.serve_command("--no-validate", *args.server_arg)
        process, url = running.start_server(command, env, timeout=300)
        pid = process.pid
    print(f"server at {url} (PID {pid})", flush=True)
    try:
        time.sleep(2)  # let the workers settle before the first sample
        sampler = Sampler(pid, args.sample_seconds)
        first = sampler.tree()
        sampler.samples.append(sampler.sample())
        watcher = threading.Thread(target=sampler.run, daemon=True)
        watcher.start()
        results: list[Result] = []
        started = time.monotonic()
        deadline = started + args.minutes * 60
        budget = [args.max_requests]
        # Beyond the server's longest answer (a wait in line of twice the time limit, then the
        # query itself) at its default limit: an answer later than this is none.
        options = {"timeout": 120.0, "hostile_clients": args.hostile_clients}
        threads = [
            threading.Thread(target=client, args=(url, mix, i, seed + i, deadline, budget, results, options))
            for i in range(args.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        sampler.stop.set()
        watcher.join()
        sampler.samples.append(sampler.sample())
        found = report(results, sampler, first, seconds, settings)
    finally:
        if process is not None:
            running.stop(process)
    print_report(found)
    if args.json:
        args.json.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
