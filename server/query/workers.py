"""Queries over the embedded store, in worker processes that can be stopped.

pyoxigraph has no timeout or cancellation: a query runs until it is done. A runaway query must
really stop using the CPU, not merely be abandoned, so every query runs in a worker process, and
a worker still busy at the time limit is killed (SIGKILL) and replaced; the other workers keep
answering meanwhile. Each worker runs several queries at once, in threads, and stops taking new
ones once one of them has run long (server.query.slots).

Workers are forked by a "zygote", a process that has imported everything, never runs a query and
never starts a thread, so a worker is ready in milliseconds:
- in memory, the zygote builds the store once and its workers share it copy-on-write;
- on disk, each worker opens the live build read-only itself (RocksDB runs threads, so an open
  store cannot be forked, but an interpreter that has not opened one can).

On disk the engine also follows the store's live build (server.store.location): when a load makes
another build live, a new generation of workers opens it and takes the new requests, while the
old generation finishes the requests it has and is retired.

The main process holds no data: it sends a small job down a pipe and gets the serialised answer
back, waiting on the pipe in the event loop (no thread per query).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path

from server import formats
from server.query.engine import (
    EXPORT_TIMEOUT,
    AtOnce,
    ClientOverShare,
    DataVersion,
    EngineBusy,
    QueryAnswer,
    QueryFailed,
    QueryRequest,
    QueryTimeout,
)
from server.query.jobs import Answered, ExportJob, Job, Reply, StoreView, answer_of, run_job
from server.query.lane import LookupLane, StoreLane
from server.query.pool import SPAWN, PoolBusy, Worker
from server.query.slots import SlotPool, serve_in_threads
from server.store.build import Extension, memory_store, service_graphs
from server.store.dataset import Dataset
from server.store.fan_outs import read_fan_outs
from server.store.location import Build, StoreLocation

log = logging.getLogger(__name__)


WORKER_NICENESS = 5

# --- Inside a worker ------------------------------------------------------------------------


def serve_jobs(view: StoreView, conn: Connection, prefixes: dict[str, str], threads: int) -> None:
    """A worker's whole life: answer jobs, `threads` at once, until the pool closes the pipe."""
    serve_in_threads(conn, lambda job: run_job(view, job, prefixes), threads)


# --- The zygote -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemorySource:
    """The curated dataset, built in memory by the zygote once; what features build with it."""

    dataset: Dataset
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True)
class Fork:
    """Fork a worker; on disk it opens the build at `path` read-only."""

    path: str | None
    service_graphs: tuple[str, ...]


def zygote_main(conn: Connection, source: MemorySource | None, prefixes: dict[str, str], threads: int) -> None:
    """Build the in-memory store if there is one, then fork a worker for every Fork asked for;
    exit when the pool goes away."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps killed workers
    # The workers it forks inherit a lower CPU priority than the HTTP process: when scans hold
    # every core, the lookups and pages answered there still get the CPU at once.
    os.nice(WORKER_NICENESS)
    store = memory_store(source.dataset, source.extensions) if source is not None else None
    conn.send(("ready", len(store) if store is not None else 0))
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while isinstance(order := conn.recv(), Fork):
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:  # the worker: it keeps (or opens) the store and its end of the new pipe
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                conn.close()
                ours.close()
                graphs = frozenset(order.service_graphs)
                view = StoreView(store, graphs) if order.path is None else StoreView.of_build(order.path, graphs)
                serve_jobs(view, Connection(theirs.detach()), prefixes, threads)
                os._exit(0)
            theirs.close()
            send_handle(conn, ours.fileno(), os.getppid())
            ours.close()
            conn.send(pid)


class ForkingZygote:
    """The process that forks every query worker (its methods block: the pool calls them in a thread)."""

    def __init__(self, source: MemorySource | None, prefixes: dict[str, str], threads: int = 1) -> None:
        self.source = source
        self.prefixes = prefixes
        self.threads = threads  # queries each worker runs at once
        self.lock = threading.Lock()
        self.conn: Connection | None = None
        self.process: BaseProcess | None = None

    def launch(self) -> None:
        """Start the process, without waiting for it to be ready (an in-memory store takes a while)."""
        if self.process is not None:
            return
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(
            target=zygote_main, args=(child, self.source, self.prefixes, self.threads), daemon=True
        )
        self.process.start()
        child.close()

    def start(self) -> None:
        self.launch()
        try:
            status, size = self.conn.recv()
        except EOFError:
            raise RuntimeError("the process that starts the query workers exited; see its error above") from None
        log.info("query workers' zygote %s (in-memory store of %d quads)", status, size)

    def spawn(self, order: Fork) -> Worker:
        with self.lock:
            self.conn.send(order)
            fd = recv_handle(self.conn)
            pid = self.conn.recv()
        return Worker(pid, Connection(fd))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.process is not None:
            self.process.join(timeout=5)
            if self.process.is_alive():
                self.process.kill()


@dataclass(frozen=True)
class Generation:
    """One version of the data being served, and how its workers get the store."""

    version: DataVersion
    order: Fork

    @classmethod
    def of_build(cls, build: Build) -> Generation:
        record = build.record
        version = DataVersion(record.version, datetime.fromisoformat(record.modified), str(build.path))
        return cls(version, Fork(str(build.path), record.service_graphs))

    @classmethod
    def in_memory(cls, source: MemorySource) -> Generation:
        dataset = source.dataset
        graphs = service_graphs(dataset.iris, source.extensions)
        return cls(DataVersion(dataset.version, dataset.last_modified), Fork(None, graphs))

    @property
    def key(self) -> str:
        return self.order.path or f"memory:{self.version.tag}"

    def open_view(self, source: MemorySource | None) -> StoreView:
        """The store of this generation for this process (the lookup lane): the build on disk,
        read-only, or the in-memory data built once more."""
        graphs = frozenset(self.order.service_graphs)
        if self.order.path is not None:
            return StoreView.of_build(self.order.path, graphs)
        return StoreView(memory_store(source.dataset, source.extensions), graphs)


class GenerationFactory:
    """Workers of one generation, forked by the shared zygote (server.query.pool.WorkerFactory)."""

    def __init__(self, zygote: ForkingZygote, generation: Generation) -> None:
        self.zygote, self.generation = zygote, generation

    def start(self) -> None:
        pass

    def spawn(self) -> Worker:
        return self.zygote.spawn(self.generation.order)

    def close(self) -> None:
        pass


@dataclass
class Serving:
    generation: Generation
    pool: SlotPool


# --- The pool: the QueryEngine over the embedded store ---------------------------------------


class WorkerPool:
    """The QueryEngine over the embedded store: each query in an idle worker, within the time
    limit and the row cap.

    Bounded lookups never take a worker: the `lane` answers them in this process
    (server.query.lane). Clients' other queries hold at most `size` workers' threads at once, and one
    client at most `client_share` of them (beyond, ClientOverShare: a 429, while the others go
    on); `reserved` more are kept for the bounded queries the server asks itself (pages, search,
    metadata), which may use any idle worker. So neither a lookup nor a page waits behind public
    scans. With a `location`, the live build is looked for at most every `check_seconds`, and a
    new one is switched to.
    """

    def __init__(
        self,
        zygote: ForkingZygote,
        first: Generation,
        size: int,
        query_timeout: float,
        max_rows: int,
        reserved: int = 0,
        location: StoreLocation | None = None,
        check_seconds: float = 1.0,
        lane: LookupLane | None = None,
        client_share: int = 0,
    ) -> None:
        self.zygote = zygote
        self.first = first
        self.workers = size + reserved
        self.public_slots = asyncio.Semaphore(size * zygote.threads)
        self.query_timeout = query_timeout
        # A query waits in line for a worker up to twice the time limit: every query running
        # ends within the limit, and each client has at most its share of them running or waiting,
        # so the next worker freed comes to a query in line before it is turned away.
        self.queue_wait = 2 * query_timeout
        self.max_rows = max_rows
        self.location = location
        self.check_seconds = check_seconds
        self.serving: Serving | None = None
        self._checked = time.monotonic()
        self._marker = location.marker() if location else None
        self._switching = asyncio.Lock()
        self._retired: set[asyncio.Task] = set()
        self.lane = lane
        self.client_share = client_share
        self._held: Counter[str] = Counter()  # workers each client holds now
        self._lane_opening: asyncio.Task | None = None

    def launch(self) -> None:
        self.zygote.launch()

    async def start(self) -> None:
        await asyncio.to_thread(self.zygote.start)
        self.serving = await self._serve(self.first)
        self._prepare_lane()

    def _prepare_lane(self) -> None:
        """Open the served version's store for the lane now, in the background, not at the first
        lookup: until it is open lookups go to the workers, where a runaway query holding this
        HTTP process's one worker would keep them waiting."""
        if self.lane is not None:
            self._store_lane()

    async def close(self) -> None:
        for task in self._retired:
            task.cancel()
        if self._lane_opening is not None:
            self._lane_opening.cancel()
        if self.lane is not None:
            self.lane.close()
        if self.serving is not None:
            await self.serving.pool.close()
        await asyncio.to_thread(self.zygote.close)

    async def data_version(self) -> DataVersion:
        await self._follow_live_build()
        return self.serving.generation.version

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        max_rows = request.max_rows or self.max_rows
        answer = await self._in_lane(request, max_rows)
        if answer is not None:
            return answer
        reply = await self._run(Job.of(request, max_rows), self.query_timeout, request.internal, request.client)
        return answer_of(reply, request, max_rows)

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        """A small bounded lookup over the version being served, when its lane is open and that
        version is still the live one."""
        if self.lane is None or not self._serving_the_live_build() or (plan := self.lane.plan(request)) is None:
            return None
        generation = self.serving.generation
        lane = self.lane.current(generation.key)
        max_rows = request.max_rows or self.max_rows
        answer = self.lane.at_once(lane, plan, request, max_rows) if lane is not None else None
        return AtOnce(generation.version, answer) if answer is not None else None

    async def _in_lane(self, request: QueryRequest, max_rows: int) -> QueryAnswer | None:
        """The answer from the lookup lane, when the query is a bounded lookup and the lane has the
        store of the version being served; None otherwise."""
        if self.lane is None or (plan := self.lane.plan(request)) is None:
            return None
        lane = self._store_lane()
        return await self.lane.answer(lane, plan, request, max_rows) if lane is not None else None

    def _store_lane(self) -> StoreLane | None:
        generation = self.serving.generation
        lane = self.lane.current(generation.key)
        if lane is None and self._lane_opening is None:
            self._lane_opening = asyncio.get_running_loop().create_task(self._open_lane(generation))
        return lane

    async def _open_lane(self, generation: Generation) -> None:
        """Open the generation's store for the lane, off the event loop (an in-memory store is
        built again); until then its lookups go to the workers."""
        try:
            view = await asyncio.to_thread(generation.open_view, self.zygote.source)
            home = generation.version.home
            counted = await asyncio.to_thread(read_fan_outs, Path(home)) if home else None
            self.lane.serve(generation.key, view, counted)
        except (OSError, RuntimeError, ValueError) as error:
            log.warning("the lookup lane could not open %s: %s", generation.key, error)
        finally:
            self._lane_opening = None

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        reply = await self._run(ExportJob(fmt.key, str(path), left_out), EXPORT_TIMEOUT, internal=False, client=None)
        if not isinstance(reply, Answered):
            raise QueryFailed(reply.message)

    async def _serve(self, generation: Generation) -> Serving:
        factory = GenerationFactory(self.zygote, generation)
        pool = SlotPool(factory, self.workers, self.zygote.threads, acquire_timeout=self.queue_wait)
        await pool.start()
        return Serving(generation, pool)

    async def _follow_live_build(self) -> None:
        """Switch to another live build, if a load has made one live since the last look."""
        if self._serving_the_live_build():
            return
        self._checked = time.monotonic()
        marker = self.location.marker()
        async with self._switching:
            live = self.location.current()
            if marker == self._marker or live is None:
                return
            self._marker = marker
            generation = Generation.of_build(live)
            if generation.order.path == self.serving.generation.order.path:
                return
            old, self.serving = self.serving, await self._serve(generation)
            self._prepare_lane()
            log.info("now serving data version %s from %s", generation.version.tag, generation.order.path)
            task = asyncio.get_running_loop().create_task(old.pool.retire(self.query_timeout))
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)

    def _serving_the_live_build(self) -> bool:
        """Whether the version served is the live one, as a look that waits for nothing tells: a
        look (a stat) at most every `check_seconds`; a build gone live since is for
        `_follow_live_build` to switch to."""
        if self.location is None or time.monotonic() - self._checked < self.check_seconds:
            return True
        if self.location.marker() != self._marker:
            return False
        self._checked = time.monotonic()
        return True

    async def _run(self, job: Job | ExportJob, timeout: float, internal: bool, client: str | None) -> Reply:
        """Run a job in a free slot of a worker; a worker still busy with it at the time limit is killed."""
        pool = self.serving.pool
        try:
            async with self._share(client, internal), self._slot(internal), pool.lease() as worker:
                return await pool.call(worker, job, timeout)
        except PoolBusy:
            raise EngineBusy(self.queue_wait) from None
        except TimeoutError:
            raise QueryTimeout(timeout) from None
        except (EOFError, OSError) as error:
            raise QueryFailed("The query worker stopped unexpectedly; the query was not answered.") from error

    @contextlib.asynccontextmanager
    async def _share(self, client: str | None, internal: bool) -> AsyncIterator[None]:
        """Count the workers a client holds (or waits for); refuse one beyond its share at once."""
        if internal or client is None or not self.client_share:
            yield
            return
        if self._held[client] >= self.client_share:
            raise ClientOverShare(self.client_share, retry_after=max(1, round(min(self.query_timeout, 5))))
        self._held[client] += 1
        try:
            yield
        finally:
            self._held[client] -= 1
            if not self._held[client]:
                del self._held[client]

    @contextlib.asynccontextmanager
    async def _slot(self, internal: bool) -> AsyncIterator[None]:
        """One of the public slots for a client's query (waiting as long as for a worker); the
        server's own queries need none."""
        if internal:
            yield
            return
        if self.public_slots.locked():  # wait_for costs a task: only when there is a wait
            try:
                await asyncio.wait_for(self.public_slots.acquire(), timeout=self.queue_wait)
            except TimeoutError:
                raise PoolBusy from None
        else:
            await self.public_slots.acquire()
        try:
            yield
        finally:
            self.public_slots.release()
