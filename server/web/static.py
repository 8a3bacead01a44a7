"""The site's scripts, style sheets and vendored components, with cache headers.

Starlette's StaticFiles already answers with ETag and Last-Modified (and 304 on revalidation);
this adds how long a browser may keep a file without asking: the vendored components (YASGUI,
Leaflet, vis-timeline, the country outlines: about 2 MB) change only when they are vendored again,
so a week; the site's own files, which change with the server, an hour.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VENDOR_MAX_AGE = 7 * 24 * 3600
OWN_MAX_AGE = 3600


class CachedStaticFiles(StaticFiles):
    """StaticFiles with Cache-Control by kind of file."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            age = VENDOR_MAX_AGE if path.startswith("vendor/") else OWN_MAX_AGE
            response.headers["Cache-Control"] = f"public, max-age={age}"
        return response
