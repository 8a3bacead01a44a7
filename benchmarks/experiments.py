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
- thread: our app, queries run by pyoxigraph in a thread of the HTTP process (asyncio.to_thread);
- pool: our app with the worker pool over the store, as served but without the result cache, and
  with changes: -wN (N query workers); -lifo (the most recently used idle worker is reused), -opt
  (content negotiation and HTTP validators memoised, no date parsing for requests without
  conditional headers) and -cache (answers kept per query, format and dataset) measured proposals
  that have since gone into server/ (process_pool.py, negotiation.py, conditional.py, cache.py):
  on the current server they duplicate what is there, and they are kept to reproduce the figures
  of docs/benchmarks.md on the commits before;
- oxigraph: `oxigraph serve-read-only` on the same data.

--pause-test times the same point lookups in-process back to back and after idle pauses.

These variants patch the server's objects inside their own process only (nothing in server/ is
changed); they exist to measure proposals before anyone implements them. Results are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import socket
import statistics
import sys
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

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


def make_app(variant: str, store_dir: Path):
    from server import app as appmod
    from server.namespaces import prefixes
    from server.query.engine import DataVersion, QueryAnswer
    from server.query.workers import Job, Worker, WorkerPool, read_only_openers, run_job
    from server.settings import Settings
    from server.sparql import protocol as sparql
    from server.web import conditional, negotiation

    if variant == "raw":
        return raw_app
    version = DataVersion("v1", datetime(2026, 1, 1, tzinfo=UTC))
    namespaces = prefixes("https://w3id.org/sistercities/")

    class StubEngine:
        query_timeout, max_rows = 30.0, 100_000

        async def start(self) -> None:
            pass

        async def close(self) -> None:
            pass

        async def data_version(self) -> DataVersion:
            return version

        async def execute(self, request) -> QueryAnswer:
            return QueryAnswer(BODY, request.result_format)

    class EchoFactory:
        spawn_context = multiprocessing.get_context("spawn")

        def start(self) -> None:
            pass

        def spawn(self) -> Worker:
            ours, theirs = self.spawn_context.Pipe()
            process = self.spawn_context.Process(target=echo_worker, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            return Worker(process.pid, ours, process)

        def close(self) -> None:
            pass

    if variant.startswith("starlette"):
        from starlette.applications import Starlette
        from starlette.routing import Route

        from server.query.engine import EngineError
        from server.web.errors import HTTPProblem, handle_engine_error, handle_problem

        @asynccontextmanager
        async def lifespan(app):
            app.state.engine = StubEngine()
            yield

        app = Starlette(
            routes=[Route("/sparql", sparql.endpoint, methods=["GET", "HEAD", "POST"])],
            middleware=appmod.middleware(),
            exception_handlers={HTTPProblem: handle_problem, EngineError: handle_engine_error},
            lifespan=lifespan,
        )
        app.state.settings = Settings(validate_on_load=False)
        return app

    if variant.startswith("stub"):
        appmod.make_engine = lambda settings: StubEngine()
    elif variant == "echo":
        appmod.make_engine = lambda settings: WorkerPool(EchoFactory(), 2, 30.0, 100_000, version)
    elif variant == "thread":
        import pyoxigraph as ox

        store = ox.Store.read_only(str(store_dir))

        class ThreadEngine(StubEngine):
            async def execute(self, request) -> QueryAnswer:
                job = Job(request.query, request.result_format.key, (), (), 100_000)
                reply = await asyncio.to_thread(run_job, store, job, namespaces)
                return QueryAnswer(reply[1], request.result_format)

        appmod.make_engine = lambda settings: ThreadEngine()
    elif variant.startswith("pool"):
        workers = int(variant.rsplit("-w", 1)[1]) if "-w" in variant else 2

        def make_engine(settings):
            pool = WorkerPool(read_only_openers(store_dir, namespaces), workers, 30.0, 100_000, version)
            if "-lifo" in variant:
                pool.pool._idle = asyncio.LifoQueue()
            if "-cache" in variant:
                execute, answers = pool.execute, {}

                async def cached(request) -> QueryAnswer:
                    key = (request.query, request.result_format.key, request.default_graphs, request.named_graphs)
                    if key not in answers:
                        answers[key] = await execute(request)
                    return answers[key]

                pool.execute = cached
            return pool

        appmod.make_engine = make_engine
        if "-opt" in variant:
            sparql.negotiate = functools.lru_cache(maxsize=1024)(negotiation.negotiate)
            validators, is_fresh, memo = conditional.validators, conditional.is_fresh, {}

            def memo_validators(data_version, variant_key):
                key = (data_version, variant_key)
                if key not in memo:
                    memo[key] = validators(data_version, variant_key)
                return dict(memo[key])

            def quick_is_fresh(request, headers):
                if "if-none-match" not in request.headers and "if-modified-since" not in request.headers:
                    return False
                return is_fresh(request, headers)

            conditional.validators, conditional.is_fresh = memo_validators, quick_is_fresh
    else:
        raise SystemExit(f"unknown variant {variant!r}")
    app = appmod.create_app(Settings(validate_on_load=False))
    if variant == "stub-nomw":
        from starlette.middleware.cors import CORSMiddleware
        from starlette.middleware.gzip import GZipMiddleware

        app.user_middleware = [m for m in app.user_middleware if m.cls not in (GZipMiddleware, CORSMiddleware)]
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
    from server.query.workers import Job, run_job

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
    parser.add_argument(
        "--variants", default="raw,stub,stub-nomw,starlette,echo,thread,pool,pool-lifo,pool-lifo-opt,oxigraph"
    )
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
            bench.wait_ready(url, "/sparql?query=" + bench.quote("ASK {}"), process)
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
