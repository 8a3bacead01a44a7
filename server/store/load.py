"""Loading anyone's RDF into an on-disk store: any format pyoxigraph reads, plain or gzipped, from
files or standard input, streamed in bounded memory by the engine's bulk loader.

The store then holds exactly what was loaded: triples into the default graph, or into a named
graph chosen for them; quads keep their graph names. Nothing of ours is added to the data: the
statistics, the version record and the optional name index go into the service's own graphs,
which clients' queries over the data do not see. The load builds beside the live build and makes
it live only when it is complete (server.store.location): a parse error, which names the file,
line and column, or an interruption leaves the previous data live and loads nothing.

The data version of a load is a hash of what was loaded (each file's name, size and time of
change; the bytes of standard input) and of the options that shape the store. Plain files are
handed to the bulk loader by path, its fastest way; a gzipped file, standard input, or a load
that shows its progress is read through a reader that counts what goes by.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from server.store.build import Extension, add_service_graphs, build_id, service_graphs
from server.store.derive import derive
from server.store.fan_outs import keep_fan_outs
from server.store.location import Build, BuildRecord, StoreLocation
from server.store.name_index import KeyMaker
from server.store.name_table import write_name_table
from server.store.statistics import Figures, Scope, compute
from server.uris import Iris

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
# File extensions pyoxigraph's own table does not know.
EXTRA_EXTENSIONS = {"owl": ox.RdfFormat.RDF_XML, "xml": ox.RdfFormat.RDF_XML, "json": ox.RdfFormat.JSON_LD}
LINE_BASED = (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS)


class LoadError(Exception):
    """The input cannot be loaded as it is: an unknown format, a missing file, a syntax error."""


@dataclass(frozen=True)
class Source:
    """One input: a file (or "-" for standard input) and the RDF format it is in."""

    name: str
    fmt: ox.RdfFormat

    @property
    def is_stdin(self) -> bool:
        return self.name == "-"

    def size(self) -> int | None:
        """Bytes to read, for the progress bar (None for standard input)."""
        return None if self.is_stdin else Path(self.name).stat().st_size


@dataclass(frozen=True)
class LoadOptions:
    """What shapes the store besides the inputs (part of the data version)."""

    graph: str | None = None  # the named graph for triples; None: the default graph
    base_iri: str | None = None  # against which relative IRIs in the inputs resolve
    derive: bool = False  # our ontology's derived links (sc:twinnedWith...), for data in our vocabulary
    statistics: bool = True
    search_keys: KeyMaker | None = None  # the keys of the search index (names.sqlite); None: no index

    def key(self) -> bytes:
        return f"{self.graph}\0{self.base_iri}\0{self.derive}\0{self.statistics}\0".encode()


def format_of(name: str, given: str | None = None) -> ox.RdfFormat:
    """The RDF format of an input: given (a file extension or media type), or from its name
    without a trailing .gz."""
    if given:
        found = ox.RdfFormat.from_extension(given.lstrip(".")) or ox.RdfFormat.from_media_type(given)
        found = found or EXTRA_EXTENSIONS.get(given.lstrip(".").lower())
        if found is None:
            raise LoadError(
                f"unknown RDF format '{given}' (give a file extension such as nt, nq, ttl, trig, rdf, jsonld)"
            )
        return found
    if name == "-":
        raise LoadError("standard input has no file name: give its format with --format (e.g. --format nq)")
    stem = name[:-3] if name.endswith(".gz") else name
    extension = Path(stem).suffix.lstrip(".").lower()
    found = ox.RdfFormat.from_extension(extension) or EXTRA_EXTENSIONS.get(extension)
    if found is None:
        raise LoadError(f"{name}: cannot tell the RDF format from the file name; give it with --format")
    return found


def source_of(name: str, given_format: str | None = None) -> Source:
    """An input named on the command line: a readable file (or "-") in a format we can tell."""
    if name != "-":
        path = Path(name)
        if not path.exists():
            raise LoadError(f"{name}: no such file")
        if not path.is_file():
            raise LoadError(f"{name}: not a file")
    return Source(name, format_of(name, given_format))


class CountingReader(io.RawIOBase):
    """An input as the bulk loader reads it, gunzipped when it is gzipped, while its bytes are
    counted with their lines (the progress bar) and, for standard input, hashed (the version)."""

    def __init__(self, raw: io.BufferedReader, digest, progress: Progress) -> None:
        super().__init__()
        self.raw, self.digest, self.progress = raw, digest, progress
        self.decoded: BinaryIO = gzip.GzipFile(fileobj=raw) if gzipped(raw) else raw
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.decoded.read(len(buffer))
        buffer[: len(data)] = data
        if self.digest is not None:
            self.digest.update(data)
        position = self.raw.tell() if self.raw.seekable() else self.read_so_far + len(data)
        self.progress(position - self.read_so_far, data.count(b"\n"))
        self.read_so_far = position
        return len(data)


@contextlib.contextmanager
def opened(source: Source) -> Iterator[io.BufferedReader]:
    if source.is_stdin:
        yield sys.stdin.buffer
        return
    try:
        with Path(source.name).open("rb") as handle:
            yield handle
    except FileNotFoundError:
        raise LoadError(f"{source.name}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{source.name}: is a directory, not a file") from None


class Progress:
    """Told how far a load has come: bytes of the inputs read, and lines (triples, for N-Triples).
    This one wants nothing; a progress bar does (`wanted`), and inputs are then read through a
    counting reader."""

    wanted = False

    def __call__(self, bytes_read: int, lines: int) -> None:
        pass


def gzipped(raw: io.BufferedReader) -> bool:
    return raw.peek(2)[:2] == GZIP_MAGIC


def syntax_error(source: Source, error: SyntaxError) -> LoadError:
    where = f"{error.lineno}:{error.offset}" if error.lineno else "?"
    message = str(error.msg).split(": ", 1)[-1] if str(error.msg).startswith("Parser error") else error.msg
    return LoadError(f"{source.name}:{where}: {message}")


def load_source(store: ox.Store, source: Source, options: LoadOptions, digest, progress: Progress) -> None:
    """Stream one input into the store with the bulk loader."""
    graph = ox.NamedNode(options.graph) if options.graph else None
    with opened(source) as raw:
        if not source.is_stdin:
            stat = Path(source.name).stat()
            digest.update(f"{Path(source.name).resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        direct = not (source.is_stdin or progress.wanted or gzipped(raw))
        if direct:
            given = {"path": source.name}
        else:
            counted = CountingReader(raw, digest if source.is_stdin else None, progress)
            given = {"input": io.BufferedReader(counted, buffer_size=CHUNK)}
        try:
            store.bulk_load(**given, format=source.fmt, to_graph=graph, base_iri=options.base_iri)
        except SyntaxError as error:
            raise syntax_error(source, error) from None
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise LoadError(f"{source.name}: {error}") from None


@dataclass(frozen=True)
class Loaded:
    """A load that went live, and its statistics once they are counted (None when not asked for)."""

    build: Build
    figures: Figures | None
    live_after: float  # seconds from the start of the load until the data were live
    counted_after: float | None = None  # ... until the statistics were counted
    indexed_after: float | None = None  # ... until the search index was written beside them


def load(
    location: StoreLocation,
    sources: Sequence[Source],
    iris: Iris,
    options: LoadOptions = LoadOptions(),
    extensions: Sequence[Extension] = (),
    progress: Progress | None = None,
) -> Loaded:
    """Load the inputs into a new build and make it live as soon as the data are in; then count
    the statistics on the live build and keep them beside it. The previous data stay live if the
    load fails."""
    started = time.monotonic()
    progress = progress or Progress()
    location.directory.mkdir(parents=True, exist_ok=True)
    if location.current() is None:
        location.remove_legacy_store()
    digest = hashlib.blake2b(options.key(), digest_size=8)
    with location.new_build() as path:
        store = ox.Store(str(path))
        for source in sources:
            load_source(store, source, options, digest, progress)
        if options.derive:
            derive(store, iris)
        version = digest.hexdigest()[:16]
        modified = datetime.now(tz=UTC).replace(microsecond=0).isoformat()
        add_service_graphs(store, iris, version, modified, extensions, statistics=False)
        store.flush()
        del store
        record = BuildRecord(
            build=build_id(version, extensions),
            version=version,
            modified=modified,
            kind="loaded",
            service_graphs=service_graphs(iris, extensions),
            sources=tuple(s.name for s in sources),
            statistics=options.statistics,
            extensions=tuple(e.revision for e in extensions),
        )
        build = location.publish(path, record)
    live_after = time.monotonic() - started
    figures = count_statistics(build, iris) if options.statistics else None
    counted_after = time.monotonic() - started if figures else None
    if options.search_keys is None:
        return Loaded(build, figures, live_after, counted_after)
    store = ox.Store.read_only(str(build.path))
    write_name_table(store, iris, options.search_keys, build.path, build.record.service_graphs)
    return Loaded(build, figures, live_after, counted_after, time.monotonic() - started)


def count_statistics(build: Build, iris: Iris) -> Figures:
    """The statistics of a live build, over the default graph and every data graph, kept beside
    it, and the fan-outs of its default graph for the lookup lane (server.store.fan_outs)."""
    store = ox.Store.read_only(str(build.path))
    hidden = build.record.service_graphs
    named_data = any(str(g.value) not in hidden for g in store.named_graphs())
    figures = compute(store, iris, Scope(every_graph=named_data, hidden=hidden))
    figures.save(build.path)
    keep_fan_outs(store, build.path)
    return figures
