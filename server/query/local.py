"""The QueryEngine over a pyoxigraph store in this very process.

For the command line and the tests, where the queries are the program's own: it has no time
limit (pyoxigraph cannot stop a query, and only a worker process can be killed), so a client's
query never goes here.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pyoxigraph as ox

from server import formats
from server.query.engine import AtOnce, DataVersion, QueryAnswer, QueryFailed, QueryRequest
from server.query.jobs import Answered, ExportJob, Job, StoreView, answer_of, run_job

UNKNOWN_VERSION = DataVersion(None, None)


class LocalEngine:
    def __init__(
        self,
        store: ox.Store,
        prefixes: dict[str, str],
        version: DataVersion = UNKNOWN_VERSION,
        max_rows: int = 100_000,
        in_thread: bool = False,
        service_graphs: tuple[str, ...] = (),
    ) -> None:
        self.in_thread = in_thread  # pyoxigraph releases the GIL while it evaluates
        self.store = store
        self.view = StoreView(store, frozenset(service_graphs))
        self.prefixes = prefixes
        self.version = version
        self.max_rows = max_rows
        self.query_timeout = math.inf

    def launch(self) -> None:
        pass

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def data_version(self) -> DataVersion:
        return self.version

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        return None  # the program's own queries, which have no time limit to keep

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        max_rows = request.max_rows or self.max_rows
        job = Job.of(request, max_rows)
        if self.in_thread:
            reply = await asyncio.to_thread(run_job, self.view, job, self.prefixes)
        else:
            reply = run_job(self.view, job, self.prefixes)
        return answer_of(reply, request, max_rows)

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        reply = run_job(self.view, ExportJob(fmt.key, str(path), left_out), self.prefixes)
        if not isinstance(reply, Answered):
            raise QueryFailed(reply.message)
