"""Where the time of one request goes in our server, and what proposed changes would save.

    python benchmarks/experiments.py [--variants raw,stub,echo,pool,pool-lifo,oxigraph]
        [--concurrency 1] [--rounds 6] [--requests 300] [--dataset bundled] [--mix]

Every variant is served like `sistercities serve` (uvicorn with the same options, our app from
server.app.create_app) with one part replaced, all at once, and the same requests are sent to each
in alternating rounds, so that the machine's drift falls on all of them alike:

- raw: uvicorn with a bare ASGI app that returns a fixed answer (the floor of uvicorn + httptools);
- stub: our app, with an engine that answers at once with a fixed body (HTTP + FastAPI + the SPARQL
  protocol code, no query); stub-nomw: the same without the GZip and CORS middleware;
  starlette: the /sparql route in a plain Starlette app with the same middleware;
- echo: our app and the real worker pool, whose workers answer at once (the cost of the pipes);
- thread: our app, queries run by pyoxigraph in the HTTP process (server.query.local, in a thread);
- pool: our app with the worker pool over the store, as served but without the result cache;
  -wN: with N query workers;
- oxigraph: `oxigraph serve-read-only` on the same data.

Earlier proposals measured here (the LIFO pool, memoised negotiation and validators, the result
cache) have gone into the server; their figures are in docs/benchmarks.md with the commits they
were measured on.

--pause-test times the same point lookups in-process back to back and after idle pauses.

Each variant is our application built by create_app with another engine handed in (nothing in
server/ is patched); they exist to measure proposals before anyone implements them. Results are
printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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


# --- Inside a variant's server process ------------------------------------------------------


def echo_worker(conn) -> None:
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            conn.recv()
            conn.send(("ok", BODY, False))


async def raw_app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(b"content-type", b"application/sparql-results+json"), (b"content-length", str(len(BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


class StubEngine:
    """Answers every query at once with the same small body: the cost of everything but the query."""

    query_timeout, max_rows = 30.0, 100_000

    def __init__(self, version) -> None:
        self.version = version

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def data_version(self):
        return self.version

    async def execute(self, request):
        from server.query.engine import QueryAnswer

        return QueryAnswer(BODY, request.result_format)


class EchoFactory:
    """Workers that answer at once: the cost of the pipes and the pool."""

    def start(self) -> None:
        pass

    def spawn(self):
        from server.query.pool import SPAWN, Worker

        ours, theirs = SPAWN.Pipe()
        process = SPAWN.Process(target=echo_worker, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        return Worker(process.pid, ours, process)

    def close(self) -> None:
        pass


def engine_for(variant: str, store_dir: Path):
    """The engine a variant hands to create_app."""
    from server.namespaces import prefixes
    from server.query.engine import DataVersion
    from server.query.workers import WorkerPool, read_only_openers

    version = DataVersion("v1", datetime(2026, 1, 1, tzinfo=UTC))
    namespaces = prefixes("https://w3id.org/sistercities/")
    if variant.startswith("stub"):
        return StubEngine(version)
    if variant == "echo":
        return WorkerPool(EchoFactory(), 2, 30.0, 100_000, version)
    if variant == "thread":
        import pyoxigraph as ox

        from server.query.local import LocalEngine

        return LocalEngine(ox.Store.read_only(str(store_dir)), namespaces, version, in_thread=True)
    if variant.startswith("pool"):
        workers = int(variant.rsplit("-w", 1)[1]) if "-w" in variant else 2
        return WorkerPool(read_only_openers(store_dir, namespaces), workers, 30.0, 100_000, version)
    raise SystemExit(f"unknown variant {variant!r}")


def make_app(variant: str, store_dir: Path):
    from starlette.applications import Starlette
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware

    from server.app import create_app
    from server.settings import Settings

    if variant == "raw":
        return raw_app
    settings = Settings(validate_on_load=False)
    engine = engine_for(variant, store_dir)
    if variant.startswith("starlette"):
        return bare_sparql_app(settings, engine)
    app: Starlette = create_app(settings, engine=engine)
    if variant == "stub-nomw":
        app.user_middleware = [m for m in app.user_middleware if m.cls not in (GZipMiddleware, CORSMiddleware)]
    return app


def bare_sparql_app(settings, engine):
    """The /sparql route alone in a plain Starlette app with the same middleware."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    from server.app import middleware
    from server.query.engine import EngineError
    from server.sparql.protocol import endpoint
    from server.web.errors import HTTPProblem
    from server.web.problems import handle_engine_error, handle_problem
    from server.web.services import Services
    from server.web.templating import make_templates

    app = Starlette(
        routes=[Route("/sparql", endpoint, methods=["GET", "HEAD", "POST"])],
        middleware=middleware(settings),
        exception_handlers={HTTPProblem: handle_problem, EngineError: handle_engine_error},
    )
    app.state.services = Services(settings, make_templates(app, HERE.parent / "server" / "templates"))
    app.state.services.start(engine)
    return app


def serve(variant: str, store_dir: Path, port_file: Path) -> None:
    import uvicorn

    app = make_app(variant, store_dir)
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
    from server.query.jobs import Job, run_job

    store = ox.Store.read_only(str(store_dir))
    pools = bench.read_pools(store)
    workload = bench.draw_workload(pools, count, 3, {k.name: int(k.name == "point") for k in bench.KINDS})
    namespaces = prefixes("https://w3id.org/sistercities/")
    for pause in (0, 0.0005, 0.002):
        timings = []
        for request in workload:
            if pause:
                time.sleep(pause)
            started = time.perf_counter()
            run_job(store, Job(request.query, "json", (), (), 100_000), namespaces)
            timings.append(time.perf_counter() - started)
        print(f"pause {pause * 1000:.1f} ms before each query: run_job p50 {statistics.median(timings) * 1000:.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="raw,stub,stub-nomw,starlette,echo,thread,pool,oxigraph")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=300, help="per round and variant")
    parser.add_argument("--dataset", default="bundled", help="a directory under benchmarks/.work (built by bench.py)")
    parser.add_argument("--mix", action="store_true", help="the whole mix of bench.py, not only point lookups")
    parser.add_argument("--pause-test", action="store_true", help="time queries after idle pauses, then exit")
    parser.add_argument("--serve", nargs=3, metavar=("VARIANT", "STORE", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]), Path(args.serve[2]))
        return 0

    work = HERE / ".work" / args.dataset
    data = HERE.parent / "data" if args.dataset == "bundled" else work / "data"
    setup = bench.DatasetSetup(args.dataset, data, HERE.parent / "ontology", work / "store", work / "oxigraph")
    if not setup.store_dir.is_dir() or not setup.oxigraph_dir.is_dir():
        raise SystemExit(f"no stores in {work}: run benchmarks/bench.py first")
    if args.pause_test:
        pause_test(setup.store_dir)
        return 0
    processes = bench.Processes()
    targets = []
    try:
        for variant in args.variants.split(","):
            if variant == "oxigraph":
                process, url = bench.start_oxigraph(processes, setup, {})
                targets.append(bench.Target(variant, url, "/query", process.pid, serves_paths=False))
                continue
            port_file = work.parent / f"port-{os.getpid()}-{variant}"
            port_file.unlink(missing_ok=True)
            command = [sys.executable, __file__, "--serve", variant, str(setup.store_dir), str(port_file)]
            process = processes.start(command, env={**os.environ, "SISTERCITIES_CACHE_DIR": str(work.parent / "cache")})
            deadline = time.monotonic() + 120
            while not (port_file.exists() and port_file.read_text()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"variant {variant} did not start")
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            port_file.unlink()
            running.wait_until_ready(f"{url}/sparql?query=" + bench.quote("ASK {}"), process, timeout=120)
            targets.append(bench.Target(variant, url, "/sparql", process.pid, serves_paths=True))

        import pyoxigraph as ox

        store = ox.Store.read_only(str(setup.store_dir))
        pools = bench.read_pools(store)
        weights = {k.name: (k.weight if args.mix else int(k.name == "point")) for k in bench.KINDS}
        workload = bench.draw_workload(pools, args.requests * args.rounds, 3, weights)
        warmup = bench.draw_workload(pools, 200, 4, weights)
        for t in targets:
            bench.load(t, warmup, list(range(len(warmup))), 2, 120)
        runs = {t.name: [] for t in targets}
        local = []
        for r in range(args.rounds):
            indices = list(range(r * args.requests, (r + 1) * args.requests))
            for t in targets if r % 2 == 0 else targets[::-1]:
                runs[t.name].append(bench.load(t, workload, indices, args.concurrency, 300))
            local += bench.in_process(store, workload, indices).values()
        print(
            f"{args.dataset}, {'mix' if args.mix else 'point lookups'}, concurrency {args.concurrency}, "
            f"{args.rounds} x {args.requests} requests per variant; "
            f"in-process p50 {statistics.median(local) * 1000:.3f} ms"
        )
        for name, results in runs.items():
            merged = bench.merge(results)
            n = len(merged.latencies)
            other = 100 * merged.foreign_cpu / (merged.wall * (os.cpu_count() or 1))
            print(
                f"{name:22} {n / merged.wall:8.1f} req/s  p50 {bench.percentile(merged.latencies, 0.5) * 1000:7.3f} ms"
                f"  p99 {bench.percentile(merged.latencies, 0.99) * 1000:8.3f} ms  CPU/request: HTTP process "
                f"{merged.cpu['main'] / n * 1000:.3f} ms + children {merged.cpu['children'] / n * 1000:.3f} ms"
                f"  (other processes {other:.0f}%)"
            )
    finally:
        processes.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
