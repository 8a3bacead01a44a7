"""Representations kept once built, for as long as their data version is served.

A resource's page or description is a pure function of the data version, the URL and the
variant (format, language, page): building it again for every request repeats the same internal
queries, the same parsing and the same template rendering. Under load that work is what keeps
the one HTTP event loop busy, and a busy loop delays every other answer, the lookups first. So a
built representation is kept, bounded in bytes (least recently used first out, server.query.cache
.SizedLru), under the same switch and size as the query answers: `result_cache_bytes`, where 0
means every request is built afresh.

Only what a GET names completely is kept: the key is the data version, the whole URL (scheme and
host included, since pages carry absolute links) and the variant; files and streams are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from server.query.cache import ENTRY_OVERHEAD_BYTES, SizedLru
from server.query.engine import DataVersion

Key = tuple[str, str, str]  # data version, URL, variant


@dataclass(frozen=True)
class Rendered:
    """A built response as bytes: its status, headers and body."""

    status: int
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @classmethod
    def of(cls, response: Response) -> Rendered | None:
        """The response kept as it is, or None for a file or a stream (no body in memory)."""
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):
            return None
        return cls(response.status_code, tuple(response.raw_headers), body)

    def response(self) -> Response:
        """The kept response again, marked as the result cache marks its answers."""
        response = Response(self.body, status_code=self.status)
        response.raw_headers = [*self.raw_headers, (b"x-cache", b"HIT")]
        return response


def entry_cost(key: Key, rendered: Rendered) -> int:
    headers = sum(len(name) + len(value) for name, value in rendered.raw_headers)
    return len(rendered.body) + headers + sum(map(len, key)) + ENTRY_OVERHEAD_BYTES


class RenderedCache:
    """Built representations by data version, URL and variant, within a memory bound."""

    def __init__(self, capacity_bytes: int) -> None:
        self._kept: SizedLru[Key, Rendered] = SizedLru(capacity_bytes, entry_cost)

    @property
    def enabled(self) -> bool:
        return self._kept.capacity_bytes > 0

    def key(self, request: Request, version: DataVersion, variant: str) -> Key | None:
        """Where a representation is kept; None when it cannot be (no version tag, not a GET)."""
        if not self.enabled or version.tag is None or request.method not in ("GET", "HEAD"):
            return None
        return (version.tag, str(request.url), variant)

    def get(self, key: Key) -> Response | None:
        kept = self._kept.get(key)
        return kept.response() if kept is not None else None

    def keep(self, key: Key, response: Response) -> None:
        rendered = Rendered.of(response)
        if rendered is not None and 200 <= rendered.status < 300:
            self._kept.put(key, rendered)

    def figures(self) -> dict[str, int]:
        """For monitoring, beside the result cache's."""
        return self._kept.figures()
