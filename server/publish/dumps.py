"""The dumps of the whole dataset at /dumps/, produced once per data version.

Dumps of the whole dataset: the merge as Turtle, N-Triples and JSON-LD, and every graph as
N-Quads or TriG (the source graphs with the default graph that is their merge).

The server publishes them at /dumps/, produced once per data version with the engine's native
export into {cache_dir}/dumps/{version}/ and then served as static files:

- Files are written under a temporary name and renamed into place, and an asyncio lock per file
  makes concurrent first requests wait for one production. A small JSON record (size, SHA-256),
  renamed last, says that a file is complete.
- N-Triples and N-Quads are published gzipped (`.nt.gz`, `.nq.gz`) as files of type
  application/gzip with no Content-Encoding: what a client saves is exactly the file whose size
  and checksum the DCAT catalogue states (dcat:mediaType the RDF type, dcat:compressFormat gzip).
  With Content-Encoding, HTTP clients would silently unpack them. Starlette's GZipMiddleware skips
  application/gzip, so such a file keeps its Content-Length.
- Turtle, JSON-LD and TriG are also kept gzipped beside the file and sent with
  `Content-Encoding: gzip` to clients that accept it (as nginx's gzip_static does). The middleware
  leaves responses that already have a Content-Encoding alone, so no dump is ever compressed on
  the fly (CPU per download, no Content-Length, no byte ranges).
- The stable URL /dumps/sistercities.ttl always serves the current version; the versioned URL
  /dumps/{version}/sistercities.ttl that it names in Content-Location never changes content and
  may be cached for good. ETag and X-Data-Version carry the data version.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from server import formats
from server.query.engine import DataVersion, EngineError, QueryEngine
from server.store.dump import with_graphs
from server.web.errors import NotFound, ServiceUnavailable
from server.web.negotiation import accepts_encoding
from server.web.represent import represent
from server.web.services import services

log = logging.getLogger(__name__)

DUMP_STEM = "sistercities"
# How long the listing page waits for dumps still being produced before showing what is ready.
LISTING_WAIT_SECONDS = 10.0
GZIP_LEVEL = 6
CHUNK = 1024 * 1024
# Dumps of other data versions are deleted once they have not changed for this long (another
# server sharing the cache directory that still serves one simply produces it again).
KEEP_OTHER_VERSIONS_SECONDS = 24 * 3600


# --- What is published --------------------------------------------------------------------


@dataclass(frozen=True)
class DumpSpec:
    """One published dump file: its format and whether the file itself is gzipped."""

    fmt: formats.Format
    gzipped: bool

    @property
    def name(self) -> str:
        return f"{DUMP_STEM}.{self.fmt.extension}" + (".gz" if self.gzipped else "")

    @property
    def key(self) -> str:
        return self.fmt.key + ("-gz" if self.gzipped else "")

    @property
    def with_graphs(self) -> bool:
        return with_graphs(self.fmt)

    @property
    def media_type(self) -> str:
        """The Content-Type the file is served with."""
        return formats.GZIP.media_type if self.gzipped else self.fmt.media_type

    @property
    def precompressed(self) -> bool:
        """Whether a gzipped copy is kept for Content-Encoding: gzip."""
        return not self.gzipped

    @property
    def description(self) -> str:
        content = (
            "every named graph (one per source file, the derived links and the metadata) and the default "
            "graph, which is their merge"
            if self.with_graphs
            else "the default graph, which is the merge of all graphs (each triple once)"
        )
        packed = ", gzipped" if self.gzipped else ""
        return f"The whole dataset as {self.fmt.label}{packed}: {content}."


DUMPS = (
    DumpSpec(formats.TURTLE, gzipped=False),
    DumpSpec(formats.N_TRIPLES, gzipped=True),
    DumpSpec(formats.N_QUADS, gzipped=True),
    DumpSpec(formats.JSON_LD, gzipped=False),
    DumpSpec(formats.TRIG, gzipped=False),
)


def dump_by_name(name: str) -> DumpSpec | None:
    return next((d for d in DUMPS if d.name == name), None)


@dataclass(frozen=True)
class DumpFile:
    """A complete dump on disk."""

    spec: DumpSpec
    path: Path
    size: int
    sha256: str
    modified: datetime
    encoded_path: Path | None = None  # the gzipped copy of an uncompressed dump


# --- Producing them -----------------------------------------------------------------------


def _copy_compressed(source: Path, target: Path) -> None:
    """gzip a file (reproducibly: no name, no time in the header)."""
    with source.open("rb") as raw, target.open("wb") as sink:
        with gzip.GzipFile(filename="", mode="wb", fileobj=sink, compresslevel=GZIP_LEVEL, mtime=0) as packed:
            shutil.copyfileobj(raw, packed, CHUNK)
        sink.flush()
        os.fsync(sink.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class DumpStore:
    """The dumps of each data version, in {cache_dir}/dumps/{version}/."""

    def __init__(self, cache_dir: Path, left_out: tuple[str, ...] = ()) -> None:
        self.root = cache_dir / "dumps"
        self.left_out = left_out
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        # One dump produced at a time: an export holds a query worker for as long as it takes
        # (minutes at ten million triples), and the catalogue asks for every dump at once.
        self._producing = asyncio.Semaphore(1)
        self._tasks: set[asyncio.Task] = set()

    def directory(self, version: str) -> Path:
        return self.root / version

    def _record(self, version: str, spec: DumpSpec) -> Path:
        return self.directory(version) / f".{spec.name}.json"

    def _encoded(self, version: str, spec: DumpSpec) -> Path:
        return self.directory(version) / "encoded" / f"{spec.name}.gz"

    def ready(self, version: str, spec: DumpSpec) -> DumpFile | None:
        """The dump if it is complete (its record is written last)."""
        record = self._record(version, spec)
        try:
            facts = json.loads(record.read_text(encoding="utf-8"))
            path = self.directory(version) / spec.name
            stat = path.stat()
        except (OSError, ValueError):
            return None
        if stat.st_size != facts.get("size"):
            return None
        encoded = self._encoded(version, spec) if spec.precompressed else None
        if encoded is not None and not encoded.exists():
            return None
        return DumpFile(
            spec,
            path,
            stat.st_size,
            facts["sha256"],
            datetime.fromtimestamp(int(stat.st_mtime), tz=UTC),
            encoded,
        )

    async def ensure(self, engine: QueryEngine, version: str, spec: DumpSpec) -> DumpFile:
        """The dump of this version, produced first if needed (once, however many ask at once)."""
        found = self.ready(version, spec)
        if found is not None:
            return found
        lock = self._locks.setdefault((version, spec.name), asyncio.Lock())
        async with lock:
            found = self.ready(version, spec)
            if found is None:
                try:
                    async with self._producing:
                        await self._produce(engine, version, spec)
                except EngineError as error:
                    raise ServiceUnavailable(f"The dump {spec.name} could not be produced: {error}") from error
                found = self.ready(version, spec)
        if found is None:
            raise ServiceUnavailable(f"The dump {spec.name} could not be produced; try again later.")
        return found

    async def _produce(self, engine: QueryEngine, version: str, spec: DumpSpec) -> None:
        directory = self.directory(version)
        (directory / "encoded").mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        raw = directory / f".{spec.name}.{token}.raw"
        temporary = directory / f".{spec.name}.{token}.tmp"
        encoded = directory / "encoded" / f".{spec.name}.{token}.tmp"
        try:
            await engine.export(spec.fmt, raw, self.left_out)
            await asyncio.to_thread(self._finish, raw, temporary, encoded, version, spec)
        finally:
            for leftover in (raw, temporary, encoded):
                leftover.unlink(missing_ok=True)
        log.info("dump %s of version %s written", spec.name, version)

    def _finish(self, raw: Path, temporary: Path, encoded: Path, version: str, spec: DumpSpec) -> None:
        """Compress (in a thread), hash, and move the files into place; the record goes last."""
        final = self.directory(version) / spec.name
        if spec.gzipped:
            _copy_compressed(raw, temporary)
            temporary.replace(final)
        else:
            _copy_compressed(raw, encoded)
            encoded.replace(self._encoded(version, spec))
            raw.replace(final)
        record = self._record(version, spec)
        pending = record.with_name(f"{record.name}.{uuid.uuid4().hex}.tmp")
        pending.write_text(json.dumps({"size": final.stat().st_size, "sha256": _sha256(final)}), encoding="utf-8")
        pending.replace(record)
        self.prune(keep=version)

    def prune(self, keep: str) -> None:
        """Delete the dumps of other data versions that nobody has produced for a day."""
        cutoff = time.time() - KEEP_OTHER_VERSIONS_SECONDS
        for directory in self.root.iterdir():
            with contextlib.suppress(OSError):
                if directory.is_dir() and directory.name != keep and directory.stat().st_mtime < cutoff:
                    shutil.rmtree(directory)
                    log.info("deleted the dumps of data version %s", directory.name)

    def produce_in_background(self, engine: QueryEngine, version: str) -> list[asyncio.Task]:
        """Start producing every missing dump of this version without waiting for it."""
        started = []
        for spec in DUMPS:
            lock = self._locks.get((version, spec.name))
            if self.ready(version, spec) is None and not (lock and lock.locked()):
                task = asyncio.get_running_loop().create_task(self._ensure_quietly(engine, version, spec))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started.append(task)
        return started

    async def _ensure_quietly(self, engine: QueryEngine, version: str, spec: DumpSpec) -> None:
        try:
            await self.ensure(engine, version, spec)
        except Exception:  # a background task has no one to report to but the log
            log.exception("producing the dump %s of version %s failed", spec.name, version)


# --- Serving them -------------------------------------------------------------------------


def dump_store(request: Request) -> DumpStore:
    return services(request).get(DumpStore)


async def current_version(request: Request) -> DataVersion:
    version = await services(request).engine.data_version()
    if not version.tag:
        raise ServiceUnavailable(
            "The SPARQL store does not record which version of the data it holds, so no dump can be "
            "produced for it; load it with `sistercities dump --format nquads`."
        )
    return version


async def serve_dump(request: Request, spec: DumpSpec, versioned: bool) -> Response:
    """A dump file, produced first if needed, gzipped on the wire when kept so and accepted."""
    version = await current_version(request)
    shared = services(request)

    async def build(_: DataVersion) -> Response:
        dump = await dump_store(request).ensure(shared.engine, version.tag, spec)
        encoded = dump.encoded_path is not None and accepts_encoding(request.headers.get("accept-encoding"), "gzip")
        path, coding = (dump.encoded_path, {"Content-Encoding": "gzip"}) if encoded else (dump.path, {})
        return FileResponse(path, headers=coding, media_type=spec.media_type, filename=spec.name)

    headers = {
        "X-Data-Version": version.tag,
        "Content-Location": str(request.url_for("dump_version", version=version.tag, name=spec.name)),
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, no-cache",
    }
    vary = "Accept-Encoding" if spec.precompressed else None
    return await represent(request, spec.fmt, f"dump-{spec.key}", build, vary=vary, headers=headers)


def named_dump(request: Request) -> DumpSpec:
    spec = dump_by_name(request.path_params["name"])
    if spec is None:
        raise NotFound(f"There is no dump called {request.path_params['name']}; see {request.url_for('dumps')}.")
    return spec


async def dump(request: Request) -> Response:
    """GET /dumps/{name}: the current version of one dump."""
    return await serve_dump(request, named_dump(request), versioned=False)


async def dump_of_version(request: Request) -> Response:
    """GET /dumps/{version}/{name}: one dump of one data version, which never changes."""
    spec = named_dump(request)
    version = await current_version(request)
    if request.path_params["version"] != version.tag:
        raise NotFound(
            f"Only the current version of the data ({version.tag}) is published; "
            f"it is at {request.url_for('dump', name=spec.name)}."
        )
    return await serve_dump(request, spec, versioned=True)


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


async def listing(request: Request) -> Response:
    """GET /dumps/: the dumps for people, with their sizes and checksums."""
    version = await current_version(request)
    store = dump_store(request)
    pending = store.produce_in_background(services(request).engine, version.tag)
    if pending:
        await asyncio.wait(pending, timeout=LISTING_WAIT_SECONDS)
    rows = []
    for spec in DUMPS:
        found = store.ready(version.tag, spec)
        rows.append(
            {
                "spec": spec,
                "url": request.url_for("dump", name=spec.name).path,
                "versioned_url": request.url_for("dump_version", version=version.tag, name=spec.name).path,
                "size": human_size(found.size) if found else None,
                "bytes": found.size if found else None,
                "sha256": found.sha256 if found else None,
                "media_type": spec.media_type,
            }
        )
    headers = {"Cache-Control": "no-cache", "X-Data-Version": version.tag}
    context = {"rows": rows, "version": version, "all_ready": all(r["bytes"] is not None for r in rows)}
    return services(request).templates.TemplateResponse(request, "dumps.html", context, headers=headers)
