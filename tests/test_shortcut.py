"""The HTTP protocol asks the application's shortcut first (server.web.shortcut_protocol).

A real uvicorn server on a loopback port, with the protocol the server runs, serves a small
application whose lifespan offers a shortcut: it answers /fast, declines everything else, and
fails on /broken. What the shortcut answers must leave as uvicorn would send it (its Date, its
keep-alive and `Connection: close`, pipelined answers in order), and what it declines or fails on
must reach the application untouched. The server's own shortcut is compared with the application's
answers in tests/test_direct.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from server.cli import http_protocol
from server.running import free_port
from server.web.shortcut import STATE_KEY, Headers

FAST = [(b"content-type", b"text/plain"), (b"content-length", b"4")]


class Application:
    """Answers "app" after a short wait; its shortcut answers /fast and notes what it saw."""

    def __init__(self) -> None:
        self.shortcut_saw: list[tuple[str, str]] = []  # (path, client address)
        self.application_saw: list[tuple[str, str]] = []

    def shortcut(self, scope: dict[str, Any]) -> tuple[Headers, bytes] | None:
        self.shortcut_saw.append((scope["path"], scope["client"][0]))
        if scope["path"] == "/broken":
            raise ValueError("a shortcut that fails")
        if scope["path"] == "/bad-header":
            return [(b"x-broken", b"a\r\nb"), (b"content-length", b"4")], b"fast"
        return (FAST, b"fast") if scope["path"] == "/fast" else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            scope["state"][STATE_KEY] = self.shortcut
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.application_saw.append((scope["path"], scope["client"][0]))
        await asyncio.sleep(0.05)  # an answer that waits: a pipelined shortcut must not overtake it
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"3")]})
        await send({"type": "http.response.body", "body": b"app"})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Application]]:
    application = Application()
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, http=http_protocol(), log_level="warning", proxy_headers=True
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", application
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def connected(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_answer(reader: Any) -> tuple[bytes, bytes]:
    """One answer's head and body (by its Content-Length)."""
    head, length = b"", 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        head += line.lower()
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, reader.read(length)


def get(path: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: test", *headers, "", ""]).encode()


def test_the_shortcut_answers_what_it_takes_as_uvicorn_sends_an_answer(served: tuple[str, Application]) -> None:
    url, application = served
    response = httpx.get(f"{url}/fast")
    assert (response.status_code, response.text) == (200, "fast")
    assert response.headers["content-type"] == "text/plain"
    assert "date" in response.headers  # uvicorn's own header, added as to any answer
    assert ("/fast", "127.0.0.1") in application.shortcut_saw
    assert ("/fast", "127.0.0.1") not in application.application_saw


def test_what_the_shortcut_declines_reaches_the_application(served: tuple[str, Application]) -> None:
    url, application = served
    response = httpx.get(f"{url}/other")
    assert (response.status_code, response.text) == (200, "app")
    assert ("/other", "127.0.0.1") in application.shortcut_saw
    assert ("/other", "127.0.0.1") in application.application_saw


def test_a_failing_shortcut_leaves_the_request_to_the_application(
    served: tuple[str, Application], caplog: pytest.LogCaptureFixture
) -> None:
    url, application = served
    with caplog.at_level(logging.ERROR, logger="server.web.shortcut_protocol"):
        response = httpx.get(f"{url}/broken")
    assert (response.status_code, response.text) == (200, "app")
    assert "the shortcut failed on /broken" in caplog.text
    assert ("/broken", "127.0.0.1") in application.application_saw


def test_answers_on_one_connection_keep_it_alive_and_pipelined_ones_keep_their_order(
    served: tuple[str, Application],
) -> None:
    """The application's answer to the first request waits; the shortcut's to the second, sent
    in the same write, comes after it; and the connection stays open for a third."""
    url, _ = served
    with connected(url) as connection:
        connection.sendall(get("/other") + get("/fast"))
        reader = connection.makefile("rb")
        bodies = [read_answer(reader)[1] for _ in range(2)]
        connection.sendall(get("/fast"))
        bodies.append(read_answer(reader)[1])
    assert bodies == [b"app", b"fast", b"fast"]


def test_a_client_that_asks_to_close_gets_its_answer_and_the_connection_closed(
    served: tuple[str, Application],
) -> None:
    url, _ = served
    with connected(url) as connection:
        connection.sendall(get("/fast", "Connection: close"))
        reader = connection.makefile("rb")
        head, body = read_answer(reader)
        assert body == b"fast" and b"connection: close\r\n" in head
        assert reader.read() == b""  # the server has closed


def test_the_shortcut_sees_the_client_a_trusted_proxy_names(served: tuple[str, Application]) -> None:
    """As the application sees it behind uvicorn's proxy-headers middleware: the shortcut is asked
    with the forwarded client, and the request it declines reaches the application unchanged."""
    url, application = served
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert httpx.get(f"{url}/fast", headers=forwarded).text == "fast"
    assert httpx.get(f"{url}/other", headers=forwarded).text == "app"
    assert ("/fast", "203.0.113.7") in application.shortcut_saw
    assert ("/other", "203.0.113.7") in application.shortcut_saw
    assert ("/other", "203.0.113.7") in application.application_saw


def test_an_answer_uvicorn_refuses_to_send_closes_the_connection(
    served: tuple[str, Application], caplog: pytest.LogCaptureFixture
) -> None:
    """As uvicorn does when an application's answer breaks off: logged, and the connection closed."""
    url, _ = served
    with connected(url) as connection, caplog.at_level(logging.ERROR, logger="server.web.shortcut_protocol"):
        connection.sendall(get("/bad-header"))
        assert connection.makefile("rb").read() == b""
    assert "the shortcut's answer to /bad-header could not be sent" in caplog.text
