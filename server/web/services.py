"""What request handlers share: one typed services object per application.

What request handlers share, one object per application: settings, the engine, templates, the
per-version memo, the representations kept (server.web.rendered), and each feature's own state, found by its type.

create_app builds it and the handlers read it with `services(request)`. The web layer does not
know the features: a feature puts its state in with `provide` and gets it back, typed, with
`get(TheClass)`, so nothing here imports upward and nothing is an untyped attribute bag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, cast

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from server.query.engine import QueryEngine
from server.settings import Settings
from server.web.memo import VersionMemo
from server.web.rendered import RenderedCache

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    templates: Jinja2Templates
    memo: VersionMemo = field(default_factory=VersionMemo)
    rendered: RenderedCache = field(default_factory=lambda: RenderedCache(0))
    _engine: QueryEngine | None = None
    _features: dict[type, object] = field(default_factory=dict)

    @property
    def engine(self) -> QueryEngine:
        """The store's engine, once the application has started (its lifespan)."""
        if self._engine is None:
            raise RuntimeError("the application has not started: its engine is made in the lifespan")
        return self._engine

    def start(self, engine: QueryEngine) -> None:
        self._engine = engine

    def provide(self, state: object) -> None:
        """Keep a feature's state (a ValidationService, a DumpStore...) under its type."""
        self._features[type(state)] = state

    def get(self, kind: type[T]) -> T:
        return cast(T, self._features[kind])


def services(request: Request) -> Services:
    return request.app.state.services


async def per_version(request: Request, name: str, compute):
    """Something derived from the data, computed once per data version (see VersionMemo)."""
    shared = services(request)
    version = (await shared.engine.data_version()).tag
    return await shared.memo.get(name, version, compute)
