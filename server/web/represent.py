"""The one way a representation of the data is answered.

Every document the server derives from the data (query answers, resource descriptions, the
vocabularies, VoID, the catalogue, the quality report, sitemaps, dumps) changes only when the
data version does or another variant is chosen. So each is answered alike: validators from the
data version and the variant (server.web.conditional), 304 when the client's copy is still good,
then the representation kept from an earlier request (server.web.rendered), and only otherwise
the work of building the body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from server import formats, uris
from server.query.engine import DataVersion
from server.web import conditional
from server.web.services import services

Build = Callable[[DataVersion], Awaitable[bytes | Response]]
BUILDS = 3  # builds of one request at most, when new versions go live while it is built


async def represent(
    request: Request,
    fmt: formats.Format,
    variant: str,
    build: Build,
    *,
    vary: str | None = "Accept",
    headers: dict[str, str] | None = None,
    keep: bool = True,
) -> Response:
    """Answer with the representation `build` makes for the data version, or 304 Not Modified.

    `variant` names what besides the URL and the data makes this answer differ (format,
    language, page); `build` returns the body in `fmt`, or a whole Response (a rendered page), to
    which the validators and `headers` are added. With `keep`, what was built is kept for the
    next request of the same URL and variant while the data version holds.
    """
    shared = services(request)
    for attempt in range(BUILDS):
        version = await shared.engine.data_version()
        sent = representation_headers(version, variant, vary, headers)
        if conditional.is_fresh(request, sent):
            return conditional.not_modified(sent)
        key = shared.rendered.key(request, version, variant) if keep else None
        response = shared.rendered.get(key) if key else None
        if response is not None:
            break
        built = await build(version)
        # A new version may have gone live while this was built, from either version's data: built
        # again, so that the validators name the data the body comes from (a few times at most).
        if attempt + 1 < BUILDS and await shared.engine.data_version() != version:
            continue
        response = built if isinstance(built, Response) else Response(built, media_type=fmt.media_type)
        if key:
            shared.rendered.keep(key, response)
        break
    if conditional.asks_for_any(request):  # it exists: the build did not say otherwise
        return conditional.not_modified(sent)
    set_headers(response, sent)
    return response


def representation_headers(
    version: DataVersion, variant: str, vary: str | None = "Accept", headers: dict[str, str] | None = None
) -> dict[str, str]:
    """The headers `represent` adds to a representation of the data version: its validators,
    Vary and `headers`."""
    return {**conditional.validators(version, variant), **({"Vary": vary} if vary else {}), **(headers or {})}


def set_headers(response: Response, headers: dict[str, str]) -> None:
    """As `response.headers.update(headers)`, in one pass over the raw headers (Starlette's
    MutableHeaders scans them all once per header set: a tenth of a lookup's time in the app)."""
    given = encoded(headers)
    names = {name for name, _ in given}
    # In place: the response's MutableHeaders, once made, write through to this very list.
    response.raw_headers[:] = [(name, value) for name, value in response.raw_headers if name not in names] + given


def encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI sends them: names in lower case, both in Latin-1."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def variant_headers(
    path: str, fmt: formats.Format, offered: tuple[formats.Format, ...], negotiated: bool
) -> dict[str, str]:
    """Where each fixed variant of a negotiated document is (`Link: <path.ext>; rel="alternate"`),
    and, when the format was negotiated, which one was chosen (Content-Location)."""
    headers = {"Link": uris.alternate_links(path, offered)}
    if negotiated:
        headers["Content-Location"] = f"{path}.{fmt.extension}"
    return headers


def by_extension(extension: str, offered: tuple[formats.Format, ...]) -> formats.Format | None:
    """The offered format of a fixed variant's file extension ("ttl", "html")."""
    return next((f for f in offered if f.extension == extension.lower()), None)
