"""The Jinja templates of the pages, with a `url_for` that remembers the routes' paths.

Starlette's `url_for` looks the route up among all routes on every call, and a page makes a dozen
or more calls (navigation, scripts, style sheets): a measurable part of rendering. The path of a
route with given parameters never changes, so it is looked up once; only the host part comes from
the request, which keeps the URLs right behind any proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import pass_context
from starlette.applications import Starlette
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from server.web import formatting
from server.web.i18n import page_globals
from server.web.services import services

KNOWN_PATHS_LIMIT = 1024  # routes x parameters that templates use; a bound, not a working size


class RoutePaths:
    """The paths of an application's named routes, each looked up once."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._known: dict[tuple, URLPath] = {}

    def path(self, name: str, path_params: dict[str, Any]) -> URLPath:
        key = (name, *sorted(path_params.items()))
        if key not in self._known:
            if len(self._known) >= KNOWN_PATHS_LIMIT:
                self._known.clear()
            self._known[key] = self.app.url_path_for(name, **path_params)
        return self._known[key]


def with_language(url: object, language: str, external: bool = False) -> str:
    """A link of ours that keeps the reader's language (?lang=), before any fragment; links
    elsewhere are left as they are, and so is a link that already names a language."""
    url = str(url)
    if external:
        return url
    path, hash_, fragment = url.partition("#")
    if "lang=" in path.partition("?")[2]:
        return url
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}lang={language}{hash_}{fragment}"


@pass_context
def keep_language(context: dict[str, Any], url: object, external: bool = False) -> str:
    """`{{ url | here }}`: with_language in the page's own language."""
    return with_language(url, context["lang"], external)


@pass_context
def as_number(context: dict[str, Any], value: object) -> str:
    """`{{ n | number }}`: a number as the reader's locale writes it."""
    return formatting.number(value, context["lang"])  # type: ignore[arg-type]


def site_globals(request: Request) -> dict[str, Any]:
    """What the footer of every page says: how to reach the data team."""
    settings = services(request).settings
    return {"contact_url": settings.contact_url}


@pass_context
def as_size(context: dict[str, Any], value: int | None) -> str:
    """`{{ n | size }}`: a file size as the reader's locale writes it."""
    return formatting.size(value, context["lang"])


@pass_context
def as_day(context: dict[str, Any], value: Any) -> str:
    """`{{ moment | day }}`: a date (or the day of a datetime) as the reader's locale writes it."""
    return formatting.day(value, context["lang"])


@pass_context
def as_literal(context: dict[str, Any], lexical: str, datatype: str) -> str:
    """`{{ text | literal(xsd_type) }}`: a typed value (a date, a number) as the reader's locale writes it."""
    return formatting.literal(lexical, datatype, context["lang"])


def make_templates(app: Starlette, directory: Path) -> Jinja2Templates:
    routes = RoutePaths(app)

    @pass_context
    def url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> URL:
        """The absolute URL of a named route, as Starlette's `url_for` gives it."""
        request = context["request"]
        return routes.path(name, path_params).make_absolute_url(base_url=request.base_url)

    templates = Jinja2Templates(directory=directory, context_processors=[page_globals, site_globals])
    templates.env.globals["url_for"] = url_for
    templates.env.filters["with_language"] = with_language
    templates.env.filters["here"] = keep_language
    templates.env.filters["number"] = as_number
    templates.env.filters["size"] = as_size
    templates.env.filters["day"] = as_day
    templates.env.filters["literal"] = as_literal
    return templates
