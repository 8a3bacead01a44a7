"""Where the time of one request goes: the same requests sent to our server with parts taken away.

    python benchmarks/experiments.py [--variants raw,middleware,fastapi,stub,server,oxigraph]
        [--dataset generated-1000000-seed42] [--concurrency 8] [--rounds 4] [--requests 2000]
        [--mix] [--server-args "--http-workers 1"]

Every variant runs under uvicorn with httptools and uvloop, as `sistercities serve` does, and the
same requests are sent to each in alternating rounds, so that the machine's drift falls on all of
them alike. Each adds one layer to the one before:

- raw: a bare ASGI app that returns a fixed answer (the floor of uvicorn itself);
- middleware: the same app inside our middleware (server.app.middleware: security headers, CORS,
  the guards, gzip; not the layer that answers plain queries before them, server.sparql.direct);
- fastapi: a FastAPI app with one plain route returning the fixed answer, no middleware;
- stub: our application (server.app.create_app), with an engine that answers every query at
  once with the fixed body (everything but the query: protocol, negotiation, validators);
- server: `sistercities serve` on the dataset's store, as the benchmark runs it (--server-args);
- oxigraph: `oxigraph serve-read-only` on the same data.

The answers of raw, middleware, fastapi and stub are the fixed body whatever the query; only
their cost is measured. --pause-test times the same point lookups in-process back to back and
after idle pauses. Results are printed, with the CPU per request of each variant's processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

from server import running  # noqa: E402
from server.store.location import StoreLocation  # noqa: E402

BODY = json.dumps(
    {
        "head": {"vars": ["p", "o"]},
        "results": {
            "bindings": [
                {"p": {"type": "uri", "value": f"http://example.org/p{i}"}, "o": {"type": "literal", "value": "x" * 20}}
                for i in range(8)
            ]
        },
    }
).encode()
MEDIA_TYPE = "application/sparql-results+json"
IN_PROCESS = ("raw", "middleware", "fastapi", "stub")  # served by this script's own uvicorn


# --- Inside a variant's server process ------------------------------------------------------


async def raw_app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


class StubEngine:
    """Answers every query at once with the same small body: the cost of everything but the query."""

    query_timeout, max_rows = 30.0, 100_000

    def __init__(self) -> None:
        from server.query.engine import DataVersion

        self.version = DataVersion("v1", datetime(2026, 1, 1, tzinfo=UTC))

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def data_version(self):
        return self.version

    async def execute(self, request):
        from server.query.engine import QueryAnswer

        return QueryAnswer(BODY, request.result_format)

    def answer_at_once(self, request):
        return None  # the experiments measure the application's ways, not the protocol's shortcut


def make_app(variant: str):
    from fastapi import FastAPI
    from starlette.responses import Response

    from server.app import create_app, middleware
    from server.settings import Settings
    from server.web.ratelimit import RateLimits

    settings = Settings(validate_on_load=False, query_rate_limit=0, validation_workers_at_start=False)
    if variant == "raw":
        return raw_app
    if variant == "middleware":
        app = raw_app
        for layer in reversed(middleware(settings, RateLimits(settings))):
            app = layer.cls(app, *layer.args, **layer.kwargs)
        return app
    if variant == "fastapi":

        async def fixed(_request) -> Response:
            return Response(BODY, media_type=MEDIA_TYPE)

        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        app.add_route("/sparql", fixed, methods=["GET"])
        return app
    if variant == "stub":
        return create_app(settings, engine=StubEngine())
    raise SystemExit(f"unknown variant {variant!r}")


def serve(variant: str, port_file: Path) -> None:
    import uvicorn

    app = make_app(variant)
    listener = socket.create_server(("127.0.0.1", 0))
    port_file.write_text(str(listener.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", proxy_headers=True, server_header=False)
    uvicorn.Server(config).run(sockets=[listener])


# --- The driver -----------------------------------------------------------------------------


def pause_test(store_dir: Path, count: int = 2000) -> None:
    """The same point lookups evaluated back to back, then with a pause before each, as a worker
    process that waits for its next job: on this VM an idle CPU comes back slow (cold caches)."""
    import pyoxigraph as ox

    from server.namespaces import prefixes
    from server.query.jobs import Job, StoreView, run_job

    view = StoreView(ox.Store.read_only(str(store_dir)))
    pools = bench.read_pools(view.store)
    workload = bench.draw_workload(pools, count, 3, {k.name: int(k.name == "point") for k in bench.KINDS})
    namespaces = prefixes("https://w3id.org/sistercities/")
    for pause in (0, 0.0005, 0.002):
        timings = []
        for request in workload:
            if pause:
                time.sleep(pause)
            started = time.perf_counter()
            run_job(view, Job(request.query, "json", (), (), 100_000), namespaces)
            timings.append(time.perf_counter() - started)
        print(f"pause {pause * 1000:.1f} ms before each query: run_job p50 {statistics.median(timings) * 1000:.3f} ms")


def start_variant(variant: str, processes: bench.Processes, work: Path) -> tuple[int, str]:
    """One of this script's own variants, in a process of its own: its PID and URL."""
    port_file = work.parent / f"port-{os.getpid()}-{variant}"
    port_file.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--serve", variant, str(port_file)]
    process = processes.start(command, env={**os.environ, "SISTERCITIES_CACHE_DIR": str(work.parent / "cache")})
    deadline = time.monotonic() + 120
    while not (port_file.exists() and port_file.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"variant {variant} did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_file.read_text()}"
    port_file.unlink()
    running.wait_until_ready(f"{url}/sparql?query=" + bench.quote("ASK {}"), process, timeout=120)
    return process.pid, url


def start_targets(args: argparse.Namespace, setup: bench.DatasetSetup, work: Path, processes: bench.Processes):
    targets = []
    for variant in args.variants.split(","):
        if variant == "oxigraph":
            process, url = bench.start_oxigraph(processes, setup, {})
            targets.append(bench.Target(variant, url, "/query", process.pid, serves_paths=False))
        elif variant == "server":
            options = argparse.Namespace(
                workers=args.workers,
                http_workers=args.http_workers,
                malloc=args.malloc,
                server_args=args.server_args,
                server_env={},
            )
            process, url = bench.start_ours(processes, setup, work, options)
            targets.append(bench.Target(variant, url, "/sparql", process.pid, serves_paths=True))
        elif variant in IN_PROCESS:
            pid, url = start_variant(variant, processes, work)
            targets.append(bench.Target(variant, url, "/sparql", pid, serves_paths=True))
        else:
            raise SystemExit(f"unknown variant {variant!r}; known: {', '.join((*IN_PROCESS, 'server', 'oxigraph'))}")
    return targets


def report(name: str, results: list[bench.RunResult]) -> None:
    merged = bench.merge(results)
    n = max(1, len(merged.latencies))
    other = 100 * merged.foreign_cpu / (merged.wall * (os.cpu_count() or 1))
    print(
        f"{name:12} {n / merged.wall:9.1f} req/s  p50 {bench.percentile(merged.latencies, 0.5) * 1000:7.3f} ms"
        f"  CPU/request: main {merged.cpu['main'] / n * 1000:.3f} ms + children {merged.cpu['children'] / n * 1000:.3f}"
        f" ms  client {merged.client_cpu / n * 1000:.3f} ms  ({merged.errors} errors; other processes {other:.0f}%)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="raw,middleware,fastapi,stub,server,oxigraph")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000, help="per round and variant")
    parser.add_argument("--dataset", default="generated-1000000-seed42", help="a directory under benchmarks/.work")
    parser.add_argument("--mix", action="store_true", help="the whole mix of bench.py, not only point lookups")
    parser.add_argument("--weights", help="with --mix, weights of its kinds as in bench.py, e.g. aggregate=0")
    parser.add_argument("--workers", type=int, help="query workers of `server`, in all (default: one per CPU)")
    parser.add_argument("--http-workers", type=int, default=1, help="HTTP processes of `server`")
    parser.add_argument("--malloc", default="", help="the malloc library of `server` (default glibc's)")
    parser.add_argument("--server-args", default="--result-cache-bytes 0 --client-query-share 0")
    parser.add_argument("--pause-test", action="store_true", help="time queries after idle pauses, then exit")
    parser.add_argument("--serve", nargs=2, metavar=("VARIANT", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]))
        return 0
    args.server_args = shlex.split(args.server_args)
    work = HERE / ".work" / args.dataset
    data = HERE.parent / "data" if args.dataset == "bundled" else work / "data"
    setup = bench.DatasetSetup(args.dataset, data, HERE.parent / "ontology", work / "store", work / "oxigraph")
    live = StoreLocation(setup.store_dir).current() if setup.store_dir.is_dir() else None
    if live is None or not setup.oxigraph_dir.is_dir():
        raise SystemExit(f"no stores in {work}: run benchmarks/bench.py first")
    if args.pause_test:
        pause_test(live.path)
        return 0
    import pyoxigraph as ox

    processes = bench.Processes()
    try:
        targets = start_targets(args, setup, work, processes)
        pools = bench.read_pools(ox.Store.read_only(str(live.path)))
        weights = {k.name: (k.weight if args.mix else int(k.name == "point")) for k in bench.KINDS}
        weights.update(bench.read_weights(args.weights or "", weights))
        workload = bench.draw_workload(pools, args.requests * args.rounds, 3, weights)
        warmup = bench.draw_workload(pools, 500, 4, weights)
        for t in targets:
            bench.load(t, warmup, list(range(len(warmup))), 2, 120)
        runs: dict[str, list[bench.RunResult]] = {t.name: [] for t in targets}
        for r in range(args.rounds):
            indices = list(range(r * args.requests, (r + 1) * args.requests))
            for t in targets if r % 2 == 0 else targets[::-1]:
                runs[t.name].append(bench.load(t, workload, indices, args.concurrency, 300))
        print(
            f"{args.dataset}, {'mix' if args.mix else 'point lookups'}, concurrency {args.concurrency}, "
            f"{args.rounds} x {args.requests} requests per variant"
        )
        for name, results in runs.items():
            report(name, results)
    finally:
        processes.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
