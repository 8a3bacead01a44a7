"""Worker processes that can be stopped: for work that Python cannot cancel.

Neither pyoxigraph (queries) nor pySHACL (validation) can be interrupted once started. Such work
runs in a worker process; the event loop waits on the worker's pipe, and a worker still busy at
the deadline, or whose client went away, is killed (SIGKILL: its CPU is freed at once) and
replaced in the background while the other workers keep answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

SPAWN = multiprocessing.get_context("spawn")

log = logging.getLogger(__name__)


def preload_into_new_processes(library: Path | None) -> bool:
    """Have every process started from now on (workers, or this one when it runs itself again)
    load `library` first (LD_PRELOAD), e.g. jemalloc, which runs pyoxigraph's allocation-heavy
    work with less CPU than glibc's malloc.

    Workers are fresh interpreters started by exec (spawn), so the variable reaches them and
    forked grandchildren; this process keeps the allocator it started with. True when the library
    was not yet preloaded.
    """
    loaded = os.environ.get("LD_PRELOAD", "").split()
    if library is None or str(library) in loaded:
        return False
    os.environ["LD_PRELOAD"] = " ".join([str(library), *loaded])
    return True


class PoolBusy(Exception):
    """No worker became free in time."""


@dataclass(eq=False)
class Worker:
    """One worker process and our end of its pipe.

    Killed workers are reaped without waiting here: a zygote ignores SIGCHLD, and
    multiprocessing joins finished children of ours whenever it starts the next one.
    """

    pid: int
    conn: Connection
    process: BaseProcess | None = None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.conn.close()


class WorkerFactory(Protocol):
    """Starts worker processes; its methods block, so the pool calls them in a thread."""

    def start(self) -> None: ...

    def spawn(self) -> Worker: ...

    def close(self) -> None: ...


class Spawner:
    """Each worker is a fresh interpreter running `target(conn, *args)`, which first sends "ready"."""

    def __init__(self, target: Callable[..., None], args: tuple, check: Callable[[], None] | None = None) -> None:
        self.target = target
        self.args = args
        self.check = check

    def start(self) -> None:
        if self.check is not None:
            self.check()

    def spawn(self) -> Worker:
        ours, theirs = SPAWN.Pipe()
        process = SPAWN.Process(target=self.target, args=(theirs, *self.args), daemon=True)
        process.start()
        theirs.close()
        ours.recv()
        return Worker(process.pid, ours, process)

    def close(self) -> None:
        pass


class ProcessPool:
    """A fixed number of workers, leased one at a time."""

    def __init__(self, factory: WorkerFactory, size: int, acquire_timeout: float) -> None:
        self.factory = factory
        self.size = size
        self.acquire_timeout = acquire_timeout
        # Most recently used first: a worker that has just run is still warm (its process awake,
        # its caches hot); on a quiet server one worker does the work and the others sleep.
        self._idle: asyncio.LifoQueue[Worker] = asyncio.LifoQueue()
        self._busy: set[Worker] = set()
        self._waiting = 0  # leases queued for an idle worker
        self._pending: set[asyncio.Task] = set()

    async def start(self) -> None:
        await asyncio.to_thread(self.factory.start)
        spawned = await asyncio.gather(*(asyncio.to_thread(self.factory.spawn) for _ in range(self.size)))
        for worker in spawned:
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        for task in self._pending:
            task.cancel()
        while not self._idle.empty():
            self._idle.get_nowait().kill()
        for worker in list(self._busy):
            worker.kill()
        await asyncio.to_thread(self.factory.close)

    async def retire(self, grace: float) -> None:
        """Close once the leases in progress are over (or after `grace` seconds): a pool that has
        been replaced finishes the requests it has, then its workers go."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while (self._busy or self._waiting) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await self.close()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Worker]:
        """An idle worker for one job; any failure while it is leased (a deadline, the client
        going away, the worker dying) kills it and starts a replacement."""
        worker = await self._next_idle()
        self._busy.add(worker)
        try:
            yield worker
        except BaseException:
            self._replace(worker)
            raise
        self._busy.discard(worker)
        self._idle.put_nowait(worker)

    async def _next_idle(self) -> Worker:
        """An idle worker at once when one is free and nobody is queued before us (no task for
        wait_for, no overtaking a waiter); otherwise wait in line up to the acquire timeout."""
        if self._waiting == 0 and not self._idle.empty():
            return self._idle.get_nowait()
        self._waiting += 1
        try:
            return await asyncio.wait_for(self._idle.get(), timeout=self.acquire_timeout)
        except TimeoutError:
            raise PoolBusy from None
        finally:
            self._waiting -= 1

    async def call(self, worker: Worker, job: Any, timeout: float) -> Any:
        """Send a job and wait for the reply in the event loop, up to the deadline.

        Only the wait happens in the loop; the reply, which is already arriving, is read in
        blocking mode, because the event loop may have made the pipe non-blocking and a long
        reply does not fit in the pipe's buffer at once.
        """
        loop = asyncio.get_running_loop()
        readable = loop.create_future()

        def on_readable() -> None:
            if not readable.done():
                readable.set_result(None)

        fd = worker.conn.fileno()
        worker.conn.send(job)
        loop.add_reader(fd, on_readable)
        try:
            async with asyncio.timeout(timeout):
                await readable
        finally:
            loop.remove_reader(fd)
        os.set_blocking(fd, True)
        return worker.conn.recv()

    def _replace(self, worker: Worker) -> None:
        self._busy.discard(worker)
        worker.kill()
        task = asyncio.get_running_loop().create_task(self._spawn_replacement())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _spawn_replacement(self) -> None:
        try:
            worker = await asyncio.to_thread(self.factory.spawn)
        except (OSError, EOFError) as error:  # the zygote is gone: the server is stopping
            log.warning("no worker could replace a stopped one: %s", error)
            return
        self._idle.put_nowait(worker)
