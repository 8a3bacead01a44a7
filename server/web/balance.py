"""Keep-alive connections spread evenly over the HTTP processes.

The HTTP processes share one listening socket, and whichever wakes first accepts a connection: a
client's eight keep-alive connections, opened at once, fell 5/3 between two processes in 7 of 12
tries, 6/2 in 3 (measured with `ss`), and the busier process then bounded the throughput of
light requests while the other idled. Each process here counts its open connections in a small
file mapped by all of them (one slot each, written only by its owner), and a process holding more
than its share (the total over the processes, rounded up) answers one request with `Connection:
close`: the client opens a new connection, which the less busy process is as likely to accept.
One such close at a time per process, so a few requests even out a skewed start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import math
import mmap
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from server.web.shortcut_protocol import ShortcutProtocol

SHARES_ENVIRONMENT = "SISTERCITIES_CONNECTION_SHARES"
SLOT = struct.Struct("qq")  # (pid, open connections) of one HTTP process


class ConnectionShares:
    """The open connections of each HTTP process, in a file every one of them maps."""

    def __init__(self, path: Path, processes: int) -> None:
        self.path, self.processes = path, processes
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), SLOT.size * processes)
        self.slot: int | None = None
        self.closing = 0  # connections told to close and not yet gone

    @classmethod
    def create(cls, processes: int) -> ConnectionShares:
        """A new, empty file (in shared memory where there is one) for `processes` processes."""
        folder = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        descriptor, name = tempfile.mkstemp(prefix="sistercities-connections-", dir=folder)
        os.ftruncate(descriptor, SLOT.size * processes)
        os.close(descriptor)
        return cls(Path(name), processes)

    @property
    def environment(self) -> str:
        """How the HTTP processes find the file: its path and the number of slots."""
        return f"{self.processes}:{self.path}"

    @classmethod
    def from_environment(cls) -> ConnectionShares | None:
        value = os.environ.get(SHARES_ENVIRONMENT)
        if not value:
            return None
        processes, _, path = value.partition(":")
        with contextlib.suppress(OSError, ValueError):
            return cls(Path(path), int(processes))
        return None

    def claim(self) -> bool:
        """Take a slot for this process: a free one, or one whose process is gone (under a lock,
        since processes start together). False when every slot is held by a live process."""
        pid = os.getpid()
        with self.path.open("r+b") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            for slot in range(self.processes):
                owner, _ = SLOT.unpack_from(self._map, slot * SLOT.size)
                if owner in (0, pid) or not alive(owner):
                    SLOT.pack_into(self._map, slot * SLOT.size, pid, 0)
                    self.slot = slot
                    return True
        return False

    def _add(self, change: int) -> None:
        if self.slot is None:
            return
        offset = self.slot * SLOT.size
        pid, count = SLOT.unpack_from(self._map, offset)
        SLOT.pack_into(self._map, offset, pid, max(0, count + change))

    def opened(self) -> None:
        self._add(1)

    def closed(self, told_to_close: bool) -> None:
        self._add(-1)
        if told_to_close:
            self.closing = max(0, self.closing - 1)

    def counts(self) -> list[int]:
        """The open connections of each process holding a slot."""
        slots = (SLOT.unpack_from(self._map, s * SLOT.size) for s in range(self.processes))
        return [count for pid, count in slots if pid]

    def should_close_one(self) -> bool:
        """Whether this process holds more than its share and closes no connection yet; if so,
        the caller closes one after its response (and it is counted as closing)."""
        if self.slot is None or self.closing:
            return False
        counts = self.counts()
        mine = SLOT.unpack_from(self._map, self.slot * SLOT.size)[1]
        if mine <= math.ceil(sum(counts) / len(counts)):
            return False
        self.closing += 1
        return True

    def remove(self) -> None:
        """Delete the file (the process that created it, at the end)."""
        self._map.close()
        self.path.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_shares: list[ConnectionShares | None] = []  # this process's, once looked up


def connection_shares() -> ConnectionShares | None:
    """This HTTP process's slot among its siblings', taken at its first connection (not at import:
    the supervising process imports this module too); None when it serves alone."""
    if not _shares:
        shares = ConnectionShares.from_environment()
        _shares.append(shares if shares is not None and shares.claim() else None)
    return _shares[0]


class BalancedProtocol(ShortcutProtocol):
    """uvicorn's httptools protocol with joined writes (server.web.coalescing) and the
    application's shortcut (server.web.shortcut), counting this
    process's connections and closing one after its response while the process holds more than
    its share."""

    told_to_close = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if (shares := connection_shares()) is not None:
            shares.opened()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if (shares := connection_shares()) is not None:
            shares.closed(self.told_to_close)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """Decided as a request's cycle starts, before the shortcut or the application answers."""
        shares = connection_shares()
        if shares is not None and cycle.keep_alive and shares.should_close_one():
            cycle.keep_alive = False  # uvicorn then sends `connection: close` and closes
            self.told_to_close = True
        super()._start_asgi_task(cycle, app)
