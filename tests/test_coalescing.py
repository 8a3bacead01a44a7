"""One write per response (server.web.coalescing): what a step writes leaves as one write, after
the step; closing sends what is pending first; aborting drops it. The server itself runs with it in
every other test."""

from __future__ import annotations

import asyncio

from server.cli import http_protocol
from server.web.coalescing import JoinedWrites, JoinedWritesProtocol


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"the {name}"


def test_the_writes_of_one_step_leave_as_one_write_after_it() -> None:
    async def step() -> list[bytes]:
        transport = RecordingTransport()
        joined = JoinedWrites(transport)
        joined.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        joined.write(b"ok")
        assert transport.writes == [] and joined.get_write_buffer_size() == 40
        await asyncio.sleep(0)
        joined.write(b"next")
        await asyncio.sleep(0)
        return transport.writes

    assert asyncio.run(step()) == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", b"next"]


def test_closing_sends_what_is_pending_first_and_aborting_drops_it() -> None:
    async def step() -> tuple[RecordingTransport, RecordingTransport, RecordingTransport]:
        closed, aborted, gone = RecordingTransport(), RecordingTransport(), RecordingTransport()
        joined = JoinedWrites(closed)
        joined.write(b"bye")
        joined.close()
        dropped = JoinedWrites(aborted)
        dropped.write(b"never sent")
        dropped.abort()
        late = JoinedWrites(gone)
        late.write(b"too late")
        gone.close()  # the client went away before the step ended
        await asyncio.sleep(0)
        return closed, aborted, gone

    closed, aborted, gone = asyncio.run(step())
    assert closed.writes == [b"bye"] and closed.closed
    assert aborted.writes == [] and aborted.aborted
    assert gone.writes == [], "nothing is written to a closing transport"


def test_everything_else_reaches_the_transport() -> None:
    assert JoinedWrites(RecordingTransport()).get_extra_info("peername") == "the peername"


def test_the_server_runs_uvicorn_with_the_joined_writes() -> None:
    assert issubclass(http_protocol(), JoinedWritesProtocol)  # with the connections counted too
