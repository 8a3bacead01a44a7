"""Validation in worker processes that are killed at the time limit.

Validation in worker processes that are killed at the time limit (pySHACL cannot be interrupted).

A worker parses a submission and says which IRIs it mentions (and on which line each is first
used); the server looks their types up in the store (which may be remote) and hands them back;
the worker validates, each problem with the line of its node. Messages both ways are small typed
records.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from multiprocessing.connection import Connection

import rdflib

from server import formats
from server.query.engine import QueryEngine
from server.query.jobs import Failed, Refused
from server.query.pool import PoolBusy, ProcessPool, Spawner
from server.settings import Settings
from server.validation.validator import (
    Positions,
    RdfSyntaxError,
    ValidationError,
    Validator,
    iris_in,
    parse_rdf,
    types_of,
    write_published_report,
)
from server.web.errors import BadRequest, ServiceUnavailable

WORKER_START_SECONDS = 30.0
PUBLISHED_REPORT_SECONDS = 600.0


@dataclass(frozen=True)
class Parse:
    """Read a submission; the worker keeps the graph for the Validate that follows."""

    data: bytes
    format_key: str
    source: str


@dataclass(frozen=True)
class Mentions:
    """The IRIs a parsed submission mentions, whose types the server looks up, and the line on
    which each is first used (None where the format has no lines)."""

    iris: tuple[str, ...]
    lines: tuple[int | None, ...] = ()


@dataclass(frozen=True)
class Validate:
    """Validate the submission just parsed, knowing the types of the IRIs it mentions."""

    types: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reported:
    report: dict
    turtle: str


@dataclass(frozen=True)
class Checked:
    """A submission checked: the report, and what the server learnt of the IRIs it mentions (their
    types in the published data, and where each is first used) for the hints it gives people."""

    report: dict
    turtle: str
    types: dict[str, tuple[str, ...]]
    lines: dict[str, int]


@dataclass(frozen=True)
class PublishReport:
    """Validate the published files and keep the report in the cache directory."""


@dataclass(frozen=True)
class Published:
    conforms: bool


def validation_worker_main(conn: Connection, settings_json: str) -> None:
    """Parse a submission, report the IRIs it mentions, then validate it with their types."""
    import pyshacl  # noqa: F401 - loaded now, so that no validation pays for it within its time limit

    settings = Settings.model_validate_json(settings_json)
    validator = Validator.from_settings(settings)
    conn.send("ready")
    graph, source, positions = rdflib.Graph(), "", Positions()
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            job = conn.recv()
            if isinstance(job, Parse):
                source, positions = job.source, Positions()
                try:
                    graph = parse_rdf(job.data, formats.by_key(job.format_key), source, settings.base_iri, positions)
                except RdfSyntaxError as error:
                    conn.send(Refused(error.message, error.line, error.column))
                    continue
                except ValidationError as error:
                    conn.send(Failed(str(error)))
                    continue
                if not len(graph):
                    conn.send(Failed(f"No data: {source} holds no RDF statements to check."))
                    continue
                mentioned = tuple(sorted(str(i) for i in iris_in(graph)))
                conn.send(Mentions(mentioned, tuple(positions.terms.get(i) for i in mentioned)))
            elif isinstance(job, PublishReport):
                conn.send(Published(write_published_report(settings).conforms))
            elif isinstance(job, Validate):
                types = [(rdflib.URIRef(s), rdflib.URIRef(t)) for s, t in job.types]
                report = validator.validate(graph, dict.fromkeys(graph.subjects(), source), types, positions)
                conn.send(Reported(report.as_dict(), report.as_turtle()))
                graph, positions = rdflib.Graph(), Positions()


class ValidationService:
    """The pool of validation workers, as the HTTP side and the quality report use it."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.validation_timeout
        spawner = Spawner(validation_worker_main, (settings.model_dump_json(),))
        # A replacement worker takes a few seconds to start (it loads pySHACL and the shapes).
        wait = max(settings.validation_timeout, WORKER_START_SECONDS)
        self.pool = ProcessPool(spawner, settings.validation_workers, acquire_timeout=wait)
        self.at_start = settings.validation_workers_at_start
        self._started: asyncio.Task | None = None

    async def start(self) -> None:
        """Start the workers now if the settings ask for it; otherwise at the first validation, so
        that a server nobody submits data to does not hold pySHACL in memory."""
        if self.at_start:
            await self._running()

    async def _running(self) -> None:
        """The workers, started once (by whichever caller comes first; the others wait for it)."""
        if self._started is None:
            self._started = asyncio.create_task(self.pool.start())
        await asyncio.shield(self._started)

    async def close(self) -> None:
        if self._started is not None and not self._started.done():
            self._started.cancel()
        await self.pool.close()

    async def publish_report(self) -> None:
        """Validate the published files in a worker (pySHACL would hold the event loop's GIL for
        seconds in a thread) and keep the report in the cache directory."""
        await self._running()
        try:
            async with self.pool.lease() as worker:
                await self.pool.call(worker, PublishReport(), max(self.timeout, PUBLISHED_REPORT_SECONDS))
        except PoolBusy:
            raise busy() from None
        except TimeoutError:
            raise ServiceUnavailable("Validating the published data took too long and was stopped.") from None

    async def validate(self, data: bytes, fmt: formats.Format, source: str, engine: QueryEngine) -> Checked:
        found: dict[str, tuple[str, ...]] = {}
        lines: dict[str, int] = {}
        mentioned: tuple[str, ...] = ()
        await self._running()
        try:
            async with self.pool.lease() as worker:
                reply = await self.pool.call(worker, Parse(data, fmt.key, source), self.timeout)
                if isinstance(reply, Mentions):
                    mentioned = reply.iris
                    types = tuple(await types_of(engine, reply.iris))
                    for iri, cls in types:
                        found[iri] = (*found.get(iri, ()), cls)
                    lines = {iri: line for iri, line in zip(reply.iris, reply.lines, strict=False) if line}
                    reply = await self.pool.call(worker, Validate(types), self.timeout)
        except PoolBusy:
            raise busy() from None
        except TimeoutError:
            raise ServiceUnavailable(f"Validation took longer than {self.timeout:g} seconds and was stopped.") from None
        if isinstance(reply, Refused):
            raise UnreadableRdf(RdfSyntaxError(source, reply.message, reply.line, reply.column))
        if isinstance(reply, Failed):
            raise BadRequest(reply.message)
        return Checked(reply.report, reply.turtle, {iri: found.get(iri, ()) for iri in mentioned}, lines)


class UnreadableRdf(BadRequest):
    """A submission that is not RDF in its format: 400, with where the parser stopped."""

    def __init__(self, error: RdfSyntaxError) -> None:
        super().__init__(str(error))
        self.error = error


def busy() -> ServiceUnavailable:
    return ServiceUnavailable("All validation workers are busy; try again shortly.", {"Retry-After": "5"})
