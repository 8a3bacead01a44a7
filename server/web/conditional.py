"""HTTP validators tied to the data version: ETag, Last-Modified and 304 Not Modified.

A representation changes only when the data change or a different variant is chosen, so the
entity tag is the data version plus the variant (format, language, page). Tags are weak because
the same representation may be sent gzipped or not.
"""

from __future__ import annotations

from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response
from werkzeug.http import http_date, parse_date, parse_etags, quote_etag

from server.query.engine import DataVersion


def validators(version: DataVersion, variant: str) -> dict[str, str]:
    """ETag and Last-Modified headers for one variant of a representation, where known."""
    return dict(_validators(version, variant))


@lru_cache(maxsize=4096)
def _validators(version: DataVersion, variant: str) -> tuple[tuple[str, str], ...]:
    """Memoised: the same few variants are asked for over and over while a version is served."""
    headers = []
    if version.tag:
        headers.append(("ETag", quote_etag(f"{version.tag}-{variant}", weak=True)))
    if version.modified:
        headers.append(("Last-Modified", http_date(version.modified)))
    return tuple(headers)


def is_fresh(request: Request, headers: dict[str, str]) -> bool:
    """Whether the client's cached copy is still good (If-None-Match wins over If-Modified-Since).

    `If-None-Match: *` is not answered here: it holds only if the resource has a representation
    (RFC 9110, 13.1.2), which is known once it is built (asks_for_any)."""
    if "if-none-match" not in request.headers and "if-modified-since" not in request.headers:
        return False
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and "ETag" in headers:
        tags = parse_etags(if_none_match)
        return not tags.star_tag and tags.contains_weak(headers["ETag"].removeprefix("W/").strip('"'))
    if_modified_since = parse_date(request.headers.get("if-modified-since"))
    modified = parse_date(headers.get("Last-Modified"))
    return if_modified_since is not None and modified is not None and modified <= if_modified_since


def asks_for_any(request: Request) -> bool:
    """`If-None-Match: *`: the client's copy is good if the resource has any representation."""
    if_none_match = request.headers.get("if-none-match")
    return if_none_match is not None and parse_etags(if_none_match).star_tag


def not_modified(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers=headers)
