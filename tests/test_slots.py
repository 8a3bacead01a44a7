"""Query workers that run several jobs at once (server/query/slots.py), with real processes: each
job sleeps for the seconds it names, in a thread of a worker, so what runs together, what is
killed and what survives is seen from the outside (replies, process ids)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from server.query.pool import Spawner
from server.query.slots import SlotPool, WorkerStopped, serve_in_threads


def sleeper_main(conn: Connection, threads: int) -> None:
    """A worker whose job is a number of seconds to sleep; it answers with its process id."""
    conn.send("ready")

    def answer(seconds: float) -> int:
        time.sleep(seconds)
        return os.getpid()

    serve_in_threads(conn, answer, threads)


def alive(pid: int) -> bool:
    """Running, not gone nor a zombie (the pool does not reap the processes it kills)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return not alive(pid)


def with_pool(workers: int, slots: int) -> Callable[[Callable[[SlotPool], Awaitable[None]]], None]:
    """Run a test body with a started pool of sleeper workers, closed afterwards."""

    def run(body: Callable[[SlotPool], Awaitable[None]]) -> None:
        async def main() -> None:
            pool = SlotPool(Spawner(sleeper_main, (slots,)), workers, slots, acquire_timeout=10)
            await pool.start()
            try:
                await body(pool)
            finally:
                await pool.close()

        asyncio.run(main())

    return run


async def job(pool: SlotPool, seconds: float, timeout: float = 10) -> int:
    async with pool.lease() as worker:
        return await pool.call(worker, seconds, timeout)


def test_jobs_in_one_worker_run_at_the_same_time() -> None:
    async def body(pool: SlotPool) -> None:
        started = time.monotonic()
        pids = await asyncio.gather(*(job(pool, 0.5) for _ in range(4)))
        assert len(set(pids)) == 1, "one worker answered them all"
        assert time.monotonic() - started < 1.5, "four half-second jobs ran side by side"

    with_pool(workers=1, slots=4)(body)


def test_a_job_past_its_limit_is_stopped_with_only_jobs_nearly_as_long() -> None:
    """The runaway job's worker drains after a third of the limit: a job sent before dies with it
    (it had run as long), a job sent after runs in the fresh worker and is answered."""

    async def body(pool: SlotPool) -> None:
        runaway = asyncio.ensure_future(job(pool, 60, timeout=1.5))
        early = asyncio.ensure_future(job(pool, 60, timeout=30))
        await asyncio.sleep(0.9)  # past a third of the runaway's limit: its worker drains
        late = asyncio.ensure_future(job(pool, 1.5, timeout=30))
        with pytest.raises(TimeoutError):
            await runaway
        with pytest.raises(WorkerStopped):
            await early
        survivor = await late
        assert alive(survivor)
        assert await job(pool, 0) == survivor, "the fresh worker takes the new jobs"

    with_pool(workers=1, slots=4)(body)


def test_a_client_gone_away_kills_its_worker_at_once_when_alone() -> None:
    async def body(pool: SlotPool) -> None:
        pid = await job(pool, 0)
        abandoned = asyncio.ensure_future(job(pool, 60))
        await asyncio.sleep(0.3)
        abandoned.cancel()
        assert await gone(pid), "the worker running only the abandoned job was killed"
        assert await job(pool, 0) != pid, "a replacement answers"

    with_pool(workers=1, slots=4)(body)


def test_a_client_gone_away_leaves_the_other_jobs_of_its_worker_running() -> None:
    async def body(pool: SlotPool) -> None:
        pid = await job(pool, 0)
        other = asyncio.ensure_future(job(pool, 1.0))
        abandoned = asyncio.ensure_future(job(pool, 60))
        await asyncio.sleep(0.3)
        abandoned.cancel()
        assert await other == pid, "the other job was answered by the same worker"
        assert await gone(pid), "then the worker went, with the abandoned job"
        assert await job(pool, 0) != pid

    with_pool(workers=1, slots=4)(body)


def test_a_worker_that_dies_fails_its_jobs_and_is_replaced() -> None:
    async def body(pool: SlotPool) -> None:
        pid = await job(pool, 0)
        running = asyncio.ensure_future(job(pool, 60))
        await asyncio.sleep(0.3)
        os.kill(pid, 9)
        with pytest.raises(EOFError):
            await running
        assert await job(pool, 0) != pid

    with_pool(workers=1, slots=2)(body)
