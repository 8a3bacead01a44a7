"""Query workers that each run several queries at once, in threads, and can still be stopped.

Scans running at once in one process share its store's block cache; in two processes each reads
its own. The same label searches cost 72 ms of CPU each in eight threads of one process, 76 ms in
two processes of one thread, and the mix of scans at one million triples cost our query workers
15% less CPU run in threads (docs/benchmarks.md). But pyoxigraph cannot cancel a query: a
runaway query is stopped only by killing its process, and with it every query the process runs.
So a worker whose query has run for a third of its time limit takes no new query (it drains) and
a fresh worker takes its place; when that query reaches its limit and the worker is killed, the
only queries killed with it are ones that had themselves run for two thirds of a limit. A query
whose client went away kills its worker at once when it is the worker's only query; otherwise the
worker drains and goes when its other queries are answered.

Jobs and replies cross the pipe numbered, `(number, job)` and `(number, reply)`: a worker answers
them in the order they finish (`serve_in_threads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from server.query.pool import PoolBusy, Worker, WorkerFactory

DRAIN_AFTER = 1 / 3  # of a job's time limit: its worker then takes no new job

log = logging.getLogger(__name__)


class WorkerStopped(EOFError):
    """The worker died, or was killed with a query that ran past its time limit."""


def serve_in_threads(conn: Connection, answer: Callable[[Any], Any], threads: int) -> None:
    """A worker's life: answer numbered jobs in `threads` threads until the pipe closes."""
    sending = threading.Lock()

    def reply(number: int, job: Any) -> None:
        result = answer(job)
        with sending:
            conn.send((number, result))

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="query")
    try:
        with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
            while True:
                number, job = conn.recv()
                pool.submit(reply, number, job)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass(eq=False)
class Shared:
    """One worker process and the jobs it is running for us, by number."""

    worker: Worker
    running: dict[int, asyncio.Future] = field(default_factory=dict)
    draining: bool = False  # it takes no new job; it goes when `running` is empty
    dead: bool = False


class SlotPool:
    """`size` workers of `slots` threads each; a lease is one slot (same use as
    server.query.pool.ProcessPool: `async with pool.lease() as w: await pool.call(w, job, t)`)."""

    def __init__(self, factory: WorkerFactory, size: int, slots: int, acquire_timeout: float) -> None:
        self.factory = factory
        self.size = size
        self.slots = slots
        self.acquire_timeout = acquire_timeout
        # A free slot is its worker, once per free slot; the most recently freed first (warm).
        self._free: asyncio.LifoQueue[Shared] = asyncio.LifoQueue()
        self._workers: set[Shared] = set()
        self._waiting = 0
        self._numbers = itertools.count()
        self._pending: set[asyncio.Task] = set()

    async def start(self) -> None:
        await asyncio.to_thread(self.factory.start)
        workers = await asyncio.gather(*(asyncio.to_thread(self.factory.spawn) for _ in range(self.size)))
        for worker in workers:
            self._add(worker)

    async def close(self) -> None:
        for task in self._pending:
            task.cancel()
        for shared in list(self._workers):
            self._kill(shared, replace=False)
        await asyncio.to_thread(self.factory.close)

    async def retire(self, grace: float) -> None:
        """Close once the jobs in progress are over (or after `grace` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while (self._waiting or any(s.running for s in self._workers)) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await self.close()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Shared]:
        """A free slot for one job; its worker goes when it has drained."""
        shared = await self._next_free()
        try:
            yield shared
        finally:
            self._release(shared)

    async def call(self, shared: Shared, job: Any, timeout: float) -> Any:
        """Send a job and wait for its reply up to the deadline. At the deadline the worker is
        killed; a client gone away kills it only if no other job of ours is running there."""
        loop = asyncio.get_running_loop()
        number = next(self._numbers)
        reply = shared.running[number] = loop.create_future()
        drain = loop.call_later(timeout * DRAIN_AFTER, self._drain, shared)
        try:
            shared.worker.conn.send((number, job))
            async with asyncio.timeout(timeout):
                return await reply
        except TimeoutError:
            self._kill(shared)
            raise
        except asyncio.CancelledError:  # the client went away
            shared.running.pop(number, None)
            if shared.running:
                self._drain(shared)
            else:
                self._kill(shared)
            raise
        except (EOFError, OSError):
            self._kill(shared)
            raise
        finally:
            drain.cancel()
            shared.running.pop(number, None)

    # --- Workers coming and going ------------------------------------------------------------------

    def _add(self, worker: Worker) -> None:
        shared = Shared(worker)
        self._workers.add(shared)
        fd = worker.conn.fileno()
        asyncio.get_running_loop().add_reader(fd, self._on_reply, shared)
        os.set_blocking(fd, True)  # a reply is read whole once it begins to arrive
        for _ in range(self.slots):
            self._free.put_nowait(shared)

    def _on_reply(self, shared: Shared) -> None:
        try:
            number, reply = shared.worker.conn.recv()
        except (EOFError, OSError):
            self._kill(shared)
            return
        future = shared.running.get(number)
        if future is not None and not future.done():
            future.set_result(reply)

    async def _next_free(self) -> Shared:
        """A free slot of a worker that takes jobs, waiting in line up to the acquire timeout."""
        while True:
            if self._waiting == 0 and not self._free.empty():
                shared = self._free.get_nowait()
            else:
                self._waiting += 1
                try:
                    shared = await asyncio.wait_for(self._free.get(), timeout=self.acquire_timeout)
                except TimeoutError:
                    raise PoolBusy from None
                finally:
                    self._waiting -= 1
            if not (shared.dead or shared.draining):
                return shared

    def _release(self, shared: Shared) -> None:
        if shared.dead:
            return
        if shared.draining:
            if not shared.running:
                self._kill(shared, replace=False)
            return
        self._free.put_nowait(shared)

    def _drain(self, shared: Shared) -> None:
        """Take no new job into this worker, and start its replacement now."""
        if shared.dead or shared.draining:
            return
        shared.draining = True
        self._replace()

    def _kill(self, shared: Shared, replace: bool = True) -> None:
        """Kill the worker; its running jobs fail with WorkerStopped."""
        if shared.dead:
            return
        shared.dead = True
        self._workers.discard(shared)
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(shared.worker.conn.fileno())
        shared.worker.kill()
        for future in shared.running.values():
            if not future.done():
                future.set_exception(WorkerStopped("the query worker was stopped"))
        if replace and not shared.draining:  # a draining worker was replaced when it began to drain
            self._replace()

    def _replace(self) -> None:
        task = asyncio.get_running_loop().create_task(self._spawn_replacement())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _spawn_replacement(self) -> None:
        try:
            self._add(await asyncio.to_thread(self.factory.spawn))
        except (OSError, EOFError) as error:  # the zygote is gone: the server is stopping
            log.warning("no query worker could replace a stopped one: %s", error)
