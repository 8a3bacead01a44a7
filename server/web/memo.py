"""Values derived from the data, computed once per data version.

Values derived from the data, computed once per data version (the alignment to schema.org, the
class counts, the ontology's terms...): the data change only when a new version is loaded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

MEMO_LIMIT = 64  # names x versions kept; a bound, not a working size


class VersionMemo:
    def __init__(self, limit: int = MEMO_LIMIT) -> None:
        self.limit = limit
        self._values: dict[tuple[str, str], Any] = {}

    async def get(self, name: str, version: str | None, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The value of `name` for this data version; computed every time when the version is unknown."""
        if version is None:
            return await compute()
        key = (name, version)
        if key not in self._values:
            if len(self._values) >= self.limit:
                self._values.clear()
            self._values[key] = await compute()
        return self._values[key]
