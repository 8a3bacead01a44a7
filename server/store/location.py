"""An on-disk store as a directory of builds, of which one is live: loads never touch what is served.

    {store_dir}/LIVE              the name of the live build (replaced by an atomic rename)
    {store_dir}/builds/{name}/    one complete store each: RocksDB files and its build record
    {store_dir}/builds/.new-*     a build in progress (removed when it fails or is interrupted)

A new version of the data is built beside the live one and becomes live only once it is
complete, by renaming a new CURRENT file into place: readers see either the old build or the
new one, never half of one, and a load that fails or is killed leaves the previous build live.
(A store written by an older version straight into the directory is replaced by a build.)
The build before the live one is kept, so that server processes still reading it can finish
their requests; older ones are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LIVE = "LIVE"
BUILDS = "builds"
RECORD = "build.json"
IN_PROGRESS = ".new-"


@dataclass(frozen=True)
class BuildRecord:
    """What a build holds: written last into the build, so a build with a record is complete.

    `kind` is "curated" (built from the ontology and data folders) or "loaded" (files a user
    loaded); `build` identifies the build (the data version and what was built from it);
    `service_graphs` are the graphs the server keeps for itself, hidden from clients' queries.
    """

    build: str
    version: str
    modified: str
    kind: str
    service_graphs: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    quads: int = 0
    statistics: bool = True
    extensions: tuple[str, ...] = field(default=())

    @classmethod
    def read(cls, path: Path) -> BuildRecord | None:
        try:
            data = json.loads((path / RECORD).read_text(encoding="utf-8"))
            return cls(**{**data, **{k: tuple(v) for k, v in data.items() if isinstance(v, list)}})
        except (OSError, ValueError, TypeError):
            return None

    def write(self, path: Path) -> None:
        pending = path / f".{RECORD}.{os.getpid()}"
        pending.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        pending.replace(path / RECORD)


@dataclass(frozen=True)
class Build:
    """A complete build of the store."""

    path: Path
    record: BuildRecord


class StoreLocation:
    """The directory of an on-disk store: its live build, and new builds made beside it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def builds(self) -> Path:
        return self.directory / BUILDS

    def current(self) -> Build | None:
        """The live build, or None when there is none yet (or its record is missing)."""
        try:
            name = (self.directory / LIVE).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        path = self.builds / name
        record = BuildRecord.read(path) if name and "/" not in name else None
        return Build(path, record) if record is not None else None

    def marker(self) -> tuple[int, int] | None:
        """Changes whenever another build becomes live (the LIVE file's inode and mtime)."""
        try:
            stat = (self.directory / LIVE).stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    @contextmanager
    def new_build(self) -> Iterator[Path]:
        """A fresh directory to build into, locked while the build runs (a build whose process
        died is recognised by its free lock and removed); removed too if the build is abandoned."""
        self.builds.mkdir(parents=True, exist_ok=True)
        path = self.builds / f"{IN_PROGRESS}{uuid.uuid4().hex}"
        path.mkdir()
        with (path.parent / f"{path.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield path
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            finally:
                (path.parent / f"{path.name}.lock").unlink(missing_ok=True)

    def publish(self, path: Path, record: BuildRecord) -> Build:
        """Make a finished build the live one: record it, name it, then switch LIVE atomically."""
        record.write(path)
        final = self.builds / f"{record.build}-{uuid.uuid4().hex[:8]}"
        path.rename(final)
        previous = self.current()
        pending = self.directory / f".{LIVE}.{os.getpid()}"
        pending.write_text(final.name + "\n", encoding="utf-8")
        with pending.open("rb") as handle:
            os.fsync(handle.fileno())
        pending.replace(self.directory / LIVE)
        self.prune(keep={final.name, previous.path.name if previous else ""})
        log.info("build %s is live in %s", final.name, self.directory)
        return Build(final, record)

    def prune(self, keep: set[str]) -> None:
        """Remove builds other than those kept, and builds in progress whose process has died."""
        if not self.builds.is_dir():
            return
        for path in self.builds.iterdir():
            if path.is_dir() and path.name not in keep and not self._in_progress(path):
                shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def _in_progress(path: Path) -> bool:
        """A build another process is still writing: its lock is held."""
        lock_path = path.parent / f"{path.name}.lock"
        if not path.name.startswith(IN_PROGRESS) or not lock_path.exists():
            return False
        with contextlib.suppress(OSError), lock_path.open("r") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            lock_path.unlink(missing_ok=True)
        return False

    def remove_legacy_store(self) -> None:
        """Delete the files of a store an older version wrote straight into the directory."""
        legacy = ("CURRENT", "IDENTITY", "LOCK", "MANIFEST-", "OPTIONS-", "LOG", "sistercities-build.json")
        for path in self.directory.iterdir():
            if path.is_file() and (path.suffix in (".sst", ".log", ".blob") or path.name.startswith(legacy)):
                path.unlink(missing_ok=True)
