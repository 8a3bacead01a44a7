"""Answers given in the HTTP protocol's own callback, without starting the application.

For every request uvicorn makes an asyncio task that runs the application, which reads the
request and answers it with ASGI messages, awaiting the engine on the way. A lookup that needs
no waiting at all pays for that whole way around a few tens of microseconds of Python: answered
in the protocol instead, a point lookup took 0.21-0.23 ms of CPU rather than 0.245-0.27
(docs/benchmarks.md, "What was changed", item 16). So an application may offer a `Shortcut` in its
lifespan state (the ASGI lifespan's own way to hand state to the server, which uvicorn gives to
each connection), which the HTTP protocol (server.web.shortcut_protocol) asks first for each
request, and whose answers it sends without starting the application.
"""

from __future__ import annotations

from typing import Protocol

from starlette.types import Scope

STATE_KEY = "sistercities.shortcut"  # where the application's lifespan state holds its shortcut

Headers = list[tuple[bytes, bytes]]


class Shortcut(Protocol):
    def __call__(self, scope: Scope) -> tuple[Headers, bytes] | None:
        """A 200 answer's headers (but the server's own, Date) and body, given at once; None
        to leave the request to the application. It must not wait for anything."""
        ...
