"""uvicorn's HTTP protocol asking the application's shortcut (server.web.shortcut) first.

When a request has been read, the protocol calls the shortcut the application's lifespan state
holds, with the request's scope as the application would see it (the proxy headers applied), and
sends the answer it gets through uvicorn's own response cycle, without starting the application
in a task: uvicorn's framing, keep-alive, access log and pipelining stay uvicorn's. No answer, or
any error in the shortcut, leaves the request to the application, as if it had not been asked.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Coroutine
from typing import Any

from starlette.types import Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from server.web.coalescing import JoinedWritesProtocol
from server.web.shortcut import STATE_KEY, Shortcut

log = logging.getLogger(__name__)

FORWARDING = (b"x-forwarded-for", b"x-forwarded-proto")  # the headers uvicorn's proxy middleware reads


class ShortcutProtocol(JoinedWritesProtocol):
    """uvicorn's httptools protocol (with joined writes) that asks the application's shortcut
    before starting the application for a request."""

    _forwarding: ProxyHeadersMiddleware | None = None

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        if not self._answered_at_once(cycle, app):
            super()._start_asgi_task(cycle, app)

    def _answered_at_once(self, cycle: RequestResponseCycle, app: Any) -> bool:
        shortcut: Shortcut | None = self.app_state.get(STATE_KEY)
        if shortcut is None or app is not self.app or self.flow.write_paused or cycle.waiting_for_100_continue:
            return False  # no shortcut, a refusal of uvicorn's own (concurrency), or a slow reader
        scope = self._scope_as_application_sees_it(cycle.scope)
        if scope is None:
            return False
        try:
            answer = shortcut(scope)
        except Exception:  # the application answers the request, or reports what failed
            log.exception("the shortcut failed on %s; the application answers", scope.get("path"))
            return False
        if answer is None:
            return False
        headers, body = answer
        try:
            at_once(cycle.send({"type": "http.response.start", "status": 200, "headers": headers}))
            at_once(cycle.send({"type": "http.response.body", "body": body}))
        except RuntimeError:  # a header uvicorn refuses: as for an application, the connection closes
            log.exception("the shortcut's answer to %s could not be sent", scope.get("path"))
            self.transport.close()
        return True

    def _scope_as_application_sees_it(self, scope: Scope) -> Scope | None:
        """The scope after uvicorn's proxy-headers middleware, when the application sits behind
        it (client and scheme from X-Forwarded-*); None behind any other of uvicorn's wrappers."""
        if not isinstance(self.app, ProxyHeadersMiddleware):
            return None if type(self.app).__module__.startswith("uvicorn.") else scope
        if not any(name in FORWARDING for name, _ in scope["headers"]):
            return scope  # the middleware changes nothing then
        if self._forwarding is None:
            self._forwarding = copy.copy(self.app)  # the same trusted hosts, before a scope keeper
            self._forwarding.app = keep_scope
        seen = dict(scope)
        at_once(self._forwarding(seen, receive_nothing, send_nothing))
        return seen


def at_once(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never waits (as an eager task would start it) to its end, now."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("a coroutine expected to run at once waited")


async def keep_scope(scope: Scope, receive: Any, send: Any) -> None:
    """An application that does nothing: the proxy-headers middleware has then set the scope."""


async def receive_nothing() -> dict:
    return {"type": "http.disconnect"}


async def send_nothing(message: dict) -> None:
    return None
