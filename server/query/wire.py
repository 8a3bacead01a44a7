"""The remote engine's queries over aiohttp: keep-alive connections, each answer read as a stream.

Remote mode pays its HTTP client on every query: httpx (with httpcore, h11 and anyio) cost about
1 ms of CPU per request, more than the rest of the remote engine. aiohttp parses HTTP in C
(llhttp) and costs a fraction of that. Answers are read piece by piece, so the engine can stop at
the row cap; an answer not read to its end closes its connection (aiohttp does not reuse it).
Exports, rare and long, keep httpx.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

READ_SIZE = 1 << 16


class WireError(Exception):
    """The store could not be reached, or its answer broke off."""


class Response:
    """Status, headers (names in lower case) and the body, read on demand."""

    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self.status = answer.status
        self.headers = {name.lower(): value for name, value in answer.headers.items()}
        self._answer = answer

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self._answer.content.iter_chunked(READ_SIZE):
                yield piece
        except aiohttp.ClientError as error:
            raise WireError(f"the answer broke off: {error}") from error

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.chunks()])


class Client:
    """Keep-alive connections to one endpoint URL (aiohttp's pool), opened on first use."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """Made in the event loop that uses it, as aiohttp wants. No compression is asked for:
        the store is near, and inflating costs more than the bytes saved."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout),
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
                auto_decompress=False,
            )
        return self._session

    @contextlib.asynccontextmanager
    async def post(self, body: bytes, headers: dict[str, str]) -> AsyncIterator[Response]:
        """POST `body` and yield the answer once its head has come."""
        try:
            answer = await self.session().post(self.url, data=body, headers=headers)
        except aiohttp.ClientError as error:
            raise WireError(f"cannot reach {self.url}: {error}") from error
        try:
            yield Response(answer)
        finally:
            answer.release()  # back to the pool if read to its end, closed otherwise

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
