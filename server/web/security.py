"""The headers that make every response safe to show in a browser.

- `X-Content-Type-Options: nosniff` and a `Referrer-Policy` on every response.
- A Content-Security-Policy without inline scripts: scripts come only from this origin
  (/static, vendored), the pages pass their data to them in JSON blocks (`<script
  type="application/json">`, which is never executed) and bind their handlers in those files,
  so neither an injected `<script>` nor a `javascript:` link nor an `on...=` attribute runs.
  Styles may be inline (Leaflet, vis-timeline and YASGUI set them); nothing is loaded from
  another origin (the map's basemap is vendored too).
- Frame protection: `frame-ancestors 'none'` and `X-Frame-Options: DENY`, except for
  /reconcile/preview, the card that OpenRefine shows in an iframe of its own page (any origin:
  OpenRefine runs on the user's machine, on any host and port): it may be framed by anyone and
  holds nothing but escaped text and links.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FRAMABLE = frozenset({"/reconcile/preview"})


def policy(frame_ancestors: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


PAGE_POLICY = policy("'none'")
FRAMED_POLICY = policy("*")


def security_headers(path: str) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
    if path in FRAMABLE:
        headers["Content-Security-Policy"] = FRAMED_POLICY
    else:
        headers["Content-Security-Policy"] = PAGE_POLICY
        headers["X-Frame-Options"] = "DENY"
    return headers


class SecurityHeaders:
    """Adds the headers above to every HTTP response (a route may set its own instead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
