"""Per-client rate limits for the expensive operations: queries, validation, reconciliation.

Each client (its IP address, as uvicorn gives it: behind a proxy on the same host, the one the
proxy names in X-Forwarded-For) may send `query_rate_limit` queries, `validate_rate_limit`
submissions and `reconcile_rate_limit` reconciliation requests per `rate_limit_window` seconds;
0 turns a limit off. Counted with the `limits` library's sliding-window counter, in memory: each
HTTP process (`http_workers`) counts for itself. Beyond a limit the answer is 429 with
Retry-After, in seconds.

What counts: /sparql with a query (GET with `query=`, every POST; the query UI and the service
description do not), POST /validate (not the form), and every request to /reconcile and the
routes under it (but CORS preflights, OPTIONS, nowhere).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.types import Scope

from server.settings import Settings

WHAT = {"query": "queries", "validate": "validation requests", "reconcile": "reconciliation requests"}


@dataclass(frozen=True)
class Wait:
    seconds: int
    message: str


def operation(scope: Scope) -> str | None:
    """Which limited operation a request is, if any."""
    path, method = scope["path"], scope["method"]
    if method == "OPTIONS":
        return None
    if path == "/sparql":
        if method == "POST":
            return "query"
        names = (name for name, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        return "query" if "query" in names else None
    if path == "/validate":
        return "validate" if method == "POST" else None
    if path == "/reconcile" or path.startswith("/reconcile/"):
        return "reconcile"
    return None


class RateLimits:
    """The limits of one HTTP process."""

    def __init__(self, settings: Settings) -> None:
        self.window = settings.rate_limit_window
        amounts = {
            "query": settings.query_rate_limit,
            "validate": settings.validate_rate_limit,
            "reconcile": settings.reconcile_rate_limit,
        }
        self.items = {kind: RateLimitItemPerSecond(n, self.window) for kind, n in amounts.items() if n > 0}
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage()) if self.items else None

    def wait(self, scope: Scope) -> Wait | None:
        """None when the request may go on; otherwise how long the client should wait, and why."""
        kind = operation(scope)
        item = self.items.get(kind) if kind else None
        if item is None or self.limiter is None:
            return None
        client = scope.get("client")
        key = client[0] if client else "unknown"
        if self.limiter.hit(item, kind, key):
            return None
        reset = self.limiter.get_window_stats(item, kind, key).reset_time
        seconds = max(1, math.ceil(reset - time.time()))
        return Wait(
            seconds,
            f"Too many {WHAT[kind]} from {key}: at most {item.amount} per {self.window} seconds. "
            f"Try again in {seconds} seconds.",
        )
