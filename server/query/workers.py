"""Queries over the embedded store, in worker processes that can be stopped.

pyoxigraph has no timeout or cancellation: a query runs until it is done. A runaway query must
really stop using the CPU, not merely be abandoned, so every query runs in a worker process, and
a worker still busy at the time limit is killed (SIGKILL) and replaced; the other workers keep
answering meanwhile.

Where the workers get the data from:
- in memory: a "zygote" process builds the store once, never runs a query and never starts a
  thread, and forks a worker whenever one is needed. Workers share its memory copy-on-write, so
  a replacement is ready in milliseconds without reloading anything.
- on disk: each worker opens the store read-only (RocksDB runs threads, so it cannot be forked).

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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import recv_handle, send_handle
from pathlib import Path

import pyoxigraph as ox

from server import formats
from server.query.engine import (
    EXPORT_TIMEOUT,
    DataVersion,
    EngineBusy,
    QueryAnswer,
    QueryFailed,
    QueryRequest,
    QueryTimeout,
)
from server.query.jobs import Answered, ExportJob, Job, Reply, answer_of, run_job
from server.query.pool import SPAWN, PoolBusy, ProcessPool, Spawner, Worker, WorkerFactory
from server.store.build import Extension, open_store
from server.store.dataset import Dataset

log = logging.getLogger(__name__)


# --- Inside a worker ------------------------------------------------------------------------


def serve_jobs(store: ox.Store, conn: Connection, prefixes: dict[str, str]) -> None:
    """A worker's whole life: answer jobs until the pool closes the pipe."""
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            conn.send(run_job(store, conn.recv(), prefixes))


# --- Where workers come from ----------------------------------------------------------------


@dataclass(frozen=True)
class StoreSpec:
    """How a process builds the in-memory store: the dataset and what features build from it,
    pickled across spawn."""

    dataset: Dataset
    extensions: tuple[Extension, ...] = ()


def zygote_main(conn: Connection, spec: StoreSpec, prefixes: dict[str, str]) -> None:
    """Build the store, then fork a worker for every request; exit when the pool goes away."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps killed workers
    store = open_store(spec.dataset, None, spec.extensions)
    conn.send(("ready", len(store)))
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while conn.recv() == "fork":
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:  # the worker: it keeps the store and its end of the new pipe
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                conn.close()
                ours.close()
                serve_jobs(store, Connection(theirs.detach()), prefixes)
                os._exit(0)
            theirs.close()
            send_handle(conn, ours.fileno(), os.getppid())
            ours.close()
            conn.send(pid)


class ForkingZygote:
    """In-memory store: one process holds it and forks workers that share it."""

    def __init__(self, spec: StoreSpec, prefixes: dict[str, str]) -> None:
        self.spec = spec
        self.prefixes = prefixes
        self.lock = threading.Lock()
        self.conn: Connection | None = None
        self.process: BaseProcess | None = None

    def start(self) -> None:
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=zygote_main, args=(child, self.spec, self.prefixes), daemon=True)
        self.process.start()
        child.close()
        try:
            status, size = self.conn.recv()
        except EOFError:
            raise RuntimeError("the process building the in-memory store exited; see its error above") from None
        log.info("in-memory store %s with %d quads", status, size)

    def spawn(self) -> Worker:
        with self.lock:
            self.conn.send("fork")
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


def read_only_worker_main(conn: Connection, directory: str, prefixes: dict[str, str]) -> None:
    store = ox.Store.read_only(directory)
    conn.send("ready")
    serve_jobs(store, conn, prefixes)


def read_only_openers(directory: Path, prefixes: dict[str, str]) -> Spawner:
    """On-disk store: every worker opens it read-only for itself."""

    def check() -> None:
        if not directory.is_dir():
            raise FileNotFoundError(f"no store in {directory}")

    return Spawner(read_only_worker_main, (str(directory), prefixes), check)


# --- The pool: the QueryEngine over the embedded store ---------------------------------------


class WorkerPool:
    """The QueryEngine over the embedded store: each query in an idle worker, within the time
    limit and the row cap.

    Clients' queries hold at most `size` workers at once; `reserved` more are kept for the
    bounded queries the server asks itself (pages, search, metadata), which may use any idle
    worker. So a page never waits behind public scans, and pages still use every worker when
    no client is querying.
    """

    def __init__(
        self,
        factory: WorkerFactory,
        size: int,
        query_timeout: float,
        max_rows: int,
        version: DataVersion,
        reserved: int = 0,
    ) -> None:
        self.pool = ProcessPool(factory, size + reserved, acquire_timeout=query_timeout)
        self.public_slots = asyncio.Semaphore(size)
        self.query_timeout = query_timeout
        self.max_rows = max_rows
        self.version = version

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        await self.pool.close()

    async def data_version(self) -> DataVersion:
        return self.version

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        max_rows = request.max_rows or self.max_rows
        reply = await self._run(Job.of(request, max_rows), self.query_timeout, request.internal)
        return answer_of(reply, request, max_rows)

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        reply = await self._run(ExportJob(fmt.key, str(path), left_out), EXPORT_TIMEOUT, internal=False)
        if not isinstance(reply, Answered):
            raise QueryFailed(reply.message)

    async def _run(self, job: Job | ExportJob, timeout: float, internal: bool) -> Reply:
        """Run a job in an idle worker; a worker still busy at the time limit is killed."""
        try:
            async with self._slot(internal), self.pool.lease() as worker:
                return await self.pool.call(worker, job, timeout)
        except PoolBusy:
            raise EngineBusy(self.query_timeout) from None
        except TimeoutError:
            raise QueryTimeout(timeout) from None
        except (EOFError, OSError) as error:
            raise QueryFailed("The query worker stopped unexpectedly; the query was not answered.") from error

    @contextlib.asynccontextmanager
    async def _slot(self, internal: bool) -> AsyncIterator[None]:
        """One of the public slots for a client's query (waiting as long as for a worker); the
        server's own queries need none."""
        if internal:
            yield
            return
        if self.public_slots.locked():  # wait_for costs a task: only when there is a wait
            try:
                await asyncio.wait_for(self.public_slots.acquire(), timeout=self.query_timeout)
            except TimeoutError:
                raise PoolBusy from None
        else:
            await self.public_slots.acquire()
        try:
            yield
        finally:
            self.public_slots.release()
