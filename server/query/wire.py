"""A lean HTTP/1.1 client for the remote engine's queries: keep-alive connections over asyncio
streams, each request written in one piece, each answer read by Content-Length or by chunks.

Remote mode pays its HTTP client on every query: httpx (with httpcore, h11 and anyio) cost about
1 ms of CPU per request, more than the rest of the remote engine; this costs a fraction of it.
Exports, rare and long, keep httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

READ_SIZE = 1 << 16


class WireError(Exception):
    """The store's answer is not HTTP/1.1 as this client reads it, or the connection failed."""


class Response:
    """Status, headers (names in lower case) and the body, read on demand."""

    def __init__(self, status: int, headers: dict[str, str], reader: asyncio.StreamReader) -> None:
        self.status = status
        self.headers = headers
        self._reader = reader
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._remaining = int(length) if length is not None and not self.chunked else None
        self.complete = self._remaining == 0
        self.reusable = "close" not in headers.get("connection", "").lower() and (
            self.chunked or self._remaining is not None
        )

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, piece by piece; `complete` once the whole body was read."""
        if self.chunked:
            async for piece in self._chunked():
                yield piece
        elif self._remaining is not None:
            while self._remaining:
                piece = await self._reader.read(min(READ_SIZE, self._remaining))
                if not piece:
                    raise WireError("the store closed the connection within an answer")
                self._remaining -= len(piece)
                yield piece
        else:
            while piece := await self._reader.read(READ_SIZE):
                yield piece
        self.complete = True

    async def _chunked(self) -> AsyncIterator[bytes]:
        while True:
            size = int((await self._reader.readline()).split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while (await self._reader.readline()).strip():  # trailers
                    pass
                return
            yield await self._reader.readexactly(size)
            await self._reader.readexactly(2)

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.chunks()])


class Client:
    """Keep-alive connections to one endpoint URL, reused while idle."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.secure = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.secure else 80)
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = parts.port is None or parts.port == (443 if self.secure else 80)
        self.authority = self.host if default_port else f"{self.host}:{self.port}"
        self.connect_timeout = connect_timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        context = ssl.create_default_context() if self.secure else None
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=context), self.connect_timeout
            )
        except (OSError, TimeoutError) as error:
            raise WireError(f"cannot connect to {self.authority}: {error or type(error).__name__}") from error

    @contextlib.asynccontextmanager
    async def post(self, body: bytes, headers: dict[str, str]) -> AsyncIterator[Response]:
        """POST `body`; the connection goes back to the pool if the answer was read to its end."""
        head = f"POST {self.target} HTTP/1.1\r\nHost: {self.authority}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        message = head.encode("latin-1") + b"\r\n" + body
        connection, response = await self._exchange(message)
        try:
            yield response
        except BaseException:
            connection[1].close()
            raise
        if response.complete and response.reusable:
            self._idle.append(connection)
        else:
            connection[1].close()

    async def _exchange(self, message: bytes) -> tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter], Response]:
        """Send on an idle connection (once more on a new one if the store had closed it) and read the head."""
        while self._idle:
            connection = self._idle.pop()
            try:
                return connection, await self._send(connection, message)
            except (OSError, asyncio.IncompleteReadError, WireError):
                connection[1].close()
        connection = await self._connect()
        try:
            return connection, await self._send(connection, message)
        except (OSError, asyncio.IncompleteReadError) as error:
            connection[1].close()
            raise WireError(f"the connection to {self.authority} failed: {error}") from error
        except BaseException:
            connection[1].close()
            raise

    async def _send(self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], message: bytes) -> Response:
        reader, writer = connection
        writer.write(message)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise WireError("the store closed the connection")
        try:
            status = int(status_line.split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise WireError(f"not an HTTP status line: {status_line[:80]!r}") from None
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return Response(status, headers, reader)

    async def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()
