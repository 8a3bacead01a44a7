"""Per-client rate limits for the expensive operations: queries, validation, reconciliation.

Each client (its IP address, as uvicorn gives it: behind a proxy on the same host, the one the
proxy names in X-Forwarded-For) may send `query_rate_limit` queries, `validate_rate_limit`
submissions and `reconcile_rate_limit` reconciliation requests per `rate_limit_window` seconds;
0 turns a limit off. Beyond a limit the answer is 429 with Retry-After, in seconds.

Counted with a token bucket per client and operation: it holds as many requests as the limit and
refills at the limit per window, so a client may send the whole allowance at once and then keeps
the limit's pace. In memory, with no thread and no lock (the event loop is the only caller):
each HTTP process (`http_workers`) counts for itself. (The `limits` library's in-memory storage
starts a timer thread on every counted request, which is too much on the path of every query.)

What counts: /sparql with a query (GET with `query=`, every POST; the query UI and the service
description do not), POST /validate (not the form), and every request to /reconcile and the
routes under it (but CORS preflights, OPTIONS, nowhere).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote_plus

from starlette.types import Scope

from server.settings import Settings

WHAT = {"query": "queries", "validate": "validation requests", "reconcile": "reconciliation requests"}
MAX_CLIENTS = 100_000  # buckets kept; beyond, the full ones (clients back to their allowance) are dropped


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
        return "query" if "query" in parameter_names(scope.get("query_string", b"")) else None
    if path == "/validate":
        return "validate" if method == "POST" else None
    if path == "/reconcile" or path.startswith("/reconcile/"):
        return "reconcile"
    return None


def parameter_names(query_string: bytes) -> Iterator[str]:
    """The names in a query string, as parse_qsl reads them, without decoding the values (a query
    of kilobytes) to find them."""
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if value:  # parse_qsl leaves out parameters without a value
            text = name.decode("latin-1")
            yield unquote_plus(text) if "%" in text or "+" in text else text


def client_address(scope: Scope) -> str | None:
    """Who sends a request: its IP address as uvicorn gives it (behind a proxy on this host, the one
    the proxy names in X-Forwarded-For). Rate limits count per client, and so does each client's
    share of the query workers."""
    client = scope.get("client")
    return client[0] if client else None


class RateLimits:
    """The limits of one HTTP process: a bucket of tokens per (operation, client)."""

    def __init__(self, settings: Settings, clock=time.monotonic) -> None:
        self.window = settings.rate_limit_window
        amounts = {
            "query": settings.query_rate_limit,
            "validate": settings.validate_rate_limit,
            "reconcile": settings.reconcile_rate_limit,
        }
        self.amounts = {kind: n for kind, n in amounts.items() if n > 0}
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (tokens, when last counted)
        self.clock = clock

    def wait(self, scope: Scope) -> Wait | None:
        """None when the request may go on (and it is counted); otherwise how long to wait, and why."""
        if not self.amounts:  # every limit off
            return None
        kind = operation(scope)
        amount = self.amounts.get(kind) if kind else None
        if amount is None:
            return None
        key = (kind, client_address(scope) or "unknown")
        now, rate = self.clock(), amount / self.window
        tokens, then = self.buckets.get(key, (float(amount), now))
        tokens = min(float(amount), tokens + (now - then) * rate)
        if tokens >= 1.0:
            self.buckets[key] = (tokens - 1.0, now)
            if len(self.buckets) > MAX_CLIENTS:
                self.forget_idle(now)
            return None
        self.buckets[key] = (tokens, now)
        seconds = max(1, math.ceil((1.0 - tokens) / rate))
        return Wait(
            seconds,
            f"Too many {WHAT[kind]} from {key[1]}: at most {amount} per {self.window} seconds. "
            f"Try again in {seconds} seconds.",
        )

    def forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled: those clients are back to their whole allowance."""
        for key, (tokens, then) in list(self.buckets.items()):
            if tokens + (now - then) * self.amounts[key[0]] / self.window >= self.amounts[key[0]]:
                del self.buckets[key]
