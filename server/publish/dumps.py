"""Dumps of the whole dataset: the merge as Turtle, N-Triples and JSON-LD, and every graph as
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
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from server import formats
from server.namespaces import NAME_INDEX_GRAPH
from server.query.engine import DataVersion, EngineError, QueryEngine
from server.web import conditional
from server.web.errors import NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

DUMP_FORMATS = (formats.TURTLE, formats.N_TRIPLES, formats.JSON_LD, formats.N_QUADS, formats.TRIG)

# Not in the format registry (server.formats), which lists serialisations of RDF: the type of a
# gzip file (RFC 6713), as it is served for the .gz dumps.
DUMP_STEM = "sistercities"
# How long the listing page waits for dumps still being produced before showing what is ready.
LISTING_WAIT_SECONDS = 10.0
GZIP_LEVEL = 6
CHUNK = 1024 * 1024
# Dumps of other data versions are deleted once they have not changed for this long (another
# server sharing the cache directory that still serves one simply produces it again).
KEEP_OTHER_VERSIONS_SECONDS = 24 * 3600


def with_graphs(fmt: formats.Format) -> bool:
    """N-Quads and TriG carry the source graphs; the other formats carry the merge."""
    return fmt in (formats.N_QUADS, formats.TRIG)


def write_dump(
    store: ox.Store,
    fmt: formats.Format,
    output: BinaryIO | Path,
    prefixes: dict[str, str],
    left_out: Collection[str] = (),
) -> None:
    """Stream the store in one format (the dataset is never held in Python objects); the graphs
    `left_out` (auxiliary indexes, not data) are not written."""
    named = prefixes if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    if not with_graphs(fmt):
        store.dump(output, format=fmt.rdf, from_graph=ox.DefaultGraph(), prefixes=named)
    elif not left_out:
        store.dump(output, format=fmt.rdf, prefixes=named)
    else:
        ox.serialize(quads_except(store, left_out), output, format=fmt.rdf, prefixes=named)


def quads_except(store: ox.Store, left_out: Collection[str]) -> Iterator[ox.Quad]:
    """Every quad, graph by graph, without reading the graphs left out."""
    yield from store.quads_for_pattern(None, None, None, ox.DefaultGraph())
    for graph in sorted(store.named_graphs(), key=str):
        if isinstance(graph, ox.BlankNode) or graph.value not in left_out:
            yield from store.quads_for_pattern(None, None, None, graph)


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
        if self.gzipped:
            return formats.GZIP.media_type
        return (
            f"{self.fmt.media_type}; charset=utf-8" if self.fmt.media_type.startswith("text/") else self.fmt.media_type
        )

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
    encoded_size: int | None = None


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
            encoded.stat().st_size if encoded is not None else None,
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
    return request.app.state.dump_store


async def current_version(request: Request) -> DataVersion:
    version = await request.app.state.engine.data_version()
    if not version.tag:
        raise ServiceUnavailable(
            "The SPARQL store does not record which version of the data it holds, so no dump can be "
            "produced for it; load it with `sistercities dump --format nquads`."
        )
    return version


def accepts_gzip(request: Request) -> bool:
    accept = parse_accept_header(request.headers.get("accept-encoding", ""), MIMEAccept)
    return any(value.lower() in ("gzip", "x-gzip", "*") and quality > 0 for value, quality in accept)


def dump_headers(request: Request, version: DataVersion, spec: DumpSpec, versioned: bool) -> dict[str, str]:
    headers = {
        **conditional.validators(version, f"dump-{spec.key}"),
        "X-Data-Version": version.tag,
        "Content-Location": str(request.url_for("dump_version", version=version.tag, name=spec.name)),
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "public, no-cache",
    }
    if spec.precompressed:
        headers["Vary"] = "Accept-Encoding"
    return headers


async def serve_dump(request: Request, version: DataVersion, spec: DumpSpec, versioned: bool) -> Response:
    headers = dump_headers(request, version, spec, versioned)
    if conditional.is_fresh(request, headers):
        return conditional.not_modified(headers)
    dump = await dump_store(request).ensure(request.app.state.engine, version.tag, spec)
    path = dump.path
    if dump.encoded_path is not None and accepts_gzip(request):
        path, headers["Content-Encoding"] = dump.encoded_path, "gzip"
    return FileResponse(path, headers=headers, media_type=spec.media_type, filename=spec.name)


async def dump(request: Request) -> Response:
    """GET /dumps/{name}: the current version of one dump."""
    spec = dump_by_name(request.path_params["name"])
    if spec is None:
        raise NotFound(f"There is no dump called {request.path_params['name']}; see {request.url_for('dumps')}.")
    return await serve_dump(request, await current_version(request), spec, versioned=False)


async def dump_of_version(request: Request) -> Response:
    """GET /dumps/{version}/{name}: one dump of one data version, which never changes."""
    spec = dump_by_name(request.path_params["name"])
    version = await current_version(request)
    if spec is None:
        raise NotFound(f"There is no dump called {request.path_params['name']}; see {request.url_for('dumps')}.")
    if request.path_params["version"] != version.tag:
        raise NotFound(
            f"Only the current version of the data ({version.tag}) is published; "
            f"it is at {request.url_for('dump', name=spec.name)}."
        )
    return await serve_dump(request, version, spec, versioned=True)


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
    pending = store.produce_in_background(request.app.state.engine, version.tag)
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
                "media_type": spec.media_type.split(";")[0],
            }
        )
    headers = {"Cache-Control": "no-cache", "X-Data-Version": version.tag}
    return request.app.state.templates.TemplateResponse(
        request,
        "dumps.html",
        {"rows": rows, "version": version, "all_ready": all(r["bytes"] is not None for r in rows)},
        headers=headers,
    )


def register(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.dump_store = DumpStore(settings.cache_dir, left_out=(settings.base_iri + NAME_INDEX_GRAPH,))
    app.add_route("/dumps/", listing, methods=["GET", "HEAD"], name="dumps")
    app.add_route("/dumps/{name}", dump, methods=["GET", "HEAD"], name="dump")
    app.add_route("/dumps/{version}/{name}", dump_of_version, methods=["GET", "HEAD"], name="dump_version")
