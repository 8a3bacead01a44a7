"""Answers remembered per data version, in front of any QueryEngine.

Published data changes only when a new version is loaded, so an answer computed for one version
stays right for as long as that version is served; the version tag is part of the key, and a new
version simply stops matching the old entries, which then age out. Researchers rerun the same
queries, harvesters fetch the same pages, and every resource page asks the same label queries:
for those the process hop to a worker and the evaluation are skipped entirely.

The cache is bounded in bytes (least recently used answers go first), kept per server process
(nothing shared, so request handling stays stateless) and holds only serialised answers, never
the dataset. Engines that cannot name their data version (tag None) are never cached, and
neither are failures: a query that timed out is tried again next time.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from server import formats
from server.query.engine import AtOnce, DataVersion, QueryAnswer, QueryEngine, QueryRequest

# The version tag, then everything that makes one request's answer differ from another's (a
# client's query sees fewer graphs than the same query asked by the server itself).
Key = tuple[str, str, str, tuple[str, ...], tuple[str, ...], int | None, bool, str | None]

ENTRY_OVERHEAD_BYTES = 400  # the key, the answer object and the dictionary slot, roughly
LARGEST_SHARE = 8  # one answer may fill at most 1/8 of the cache, so a big one cannot flush it

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLru(Generic[K, V]):
    """Entries bounded by their total cost in bytes; the least recently used go first.

    Shared by the answers kept here and the pages the web layer keeps (server.web.represent):
    both hold what one data version yields, and both must stay within a fixed memory."""

    def __init__(self, capacity_bytes: int, cost: Callable[[K, V], int]) -> None:
        self.capacity_bytes = capacity_bytes
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0
        self._cost = cost
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep `value`, unless it alone would take more than its share of the memory."""
        cost = self._cost(key, value)
        if cost * LARGEST_SHARE > self.capacity_bytes or key in self._entries:
            return
        self._entries[key] = value
        self.size_bytes += cost
        while self.size_bytes > self.capacity_bytes:
            old_key, old_value = self._entries.popitem(last=False)
            self.size_bytes -= self._cost(old_key, old_value)

    def clear(self) -> None:
        self._entries.clear()
        self.size_bytes = 0

    def figures(self) -> dict[str, int]:
        """For monitoring (GET /health): how often it answered, and how full it is."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "entries": len(self._entries),
            "bytes": self.size_bytes,
            "capacity_bytes": self.capacity_bytes,
        }


class CachingEngine:
    """A QueryEngine that answers a repeated query from memory while the data version holds."""

    def __init__(self, engine: QueryEngine, capacity_bytes: int) -> None:
        self.engine = engine
        self._answers: SizedLru[Key, QueryAnswer] = SizedLru(capacity_bytes, entry_cost)

    @property
    def query_timeout(self) -> float:
        return self.engine.query_timeout

    @property
    def max_rows(self) -> int:
        return self.engine.max_rows

    def launch(self) -> None:
        self.engine.launch()

    async def start(self) -> None:
        await self.engine.start()

    async def close(self) -> None:
        self._answers.clear()
        await self.engine.close()

    async def data_version(self) -> DataVersion:
        return await self.engine.data_version()

    async def export(self, fmt: formats.Format, path: Path, left_out: tuple[str, ...] = ()) -> None:
        await self.engine.export(fmt, path, left_out)

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        version = await self.engine.data_version()
        if version.tag is None:
            return await self.engine.execute(request)
        key = cache_key(version.tag, request)
        remembered = self.remembered(key)
        if remembered is not None:
            return remembered
        answer = await self.engine.execute(request)
        self._answers.put(key, answer)
        return answer

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        """What the engine answers at once, from memory when it is remembered (only those: an
        answer remembered for a query the engine would send to a worker is given the waiting way)."""
        at_once = self.engine.answer_at_once(request)
        if at_once is None or at_once.version.tag is None:
            return at_once
        key = cache_key(at_once.version.tag, request)
        return AtOnce(at_once.version, functools.partial(self._remembered_or_answered, key, at_once.answer))

    def remembered(self, key: Key) -> QueryAnswer | None:
        """The answer remembered under the key, marked as such."""
        remembered = self._answers.get(key)
        return dataclasses.replace(remembered, cached=True, in_lane=False) if remembered is not None else None

    def _remembered_or_answered(self, key: Key, answer: Callable[[], QueryAnswer]) -> QueryAnswer:
        remembered = self.remembered(key)
        if remembered is not None:
            return remembered
        fresh = answer()
        self._answers.put(key, fresh)
        return fresh

    def figures(self) -> dict[str, int]:
        """For monitoring: how often the cache answered, and how full it is."""
        return self._answers.figures()


def cache_key(tag: str, request: QueryRequest) -> Key:
    fmt = request.result_format.key
    graphs = (request.default_graphs, request.named_graphs)
    return (tag, request.query, fmt, *graphs, request.max_rows, request.internal, request.base_iri)


def entry_cost(key: Key, answer: QueryAnswer) -> int:
    """What an entry keeps alive: mostly the answer's bytes and the query's text."""
    tag, query, _, default_graphs, named_graphs, *_ = key
    graphs = sum(len(iri) for iri in (*default_graphs, *named_graphs))
    return len(answer.body) + len(query) + len(tag) + graphs + ENTRY_OVERHEAD_BYTES


def with_cache(engine: QueryEngine, capacity_bytes: int) -> QueryEngine:
    """The engine behind a cache of that size, or the engine itself when caching is off (0)."""
    return CachingEngine(engine, capacity_bytes) if capacity_bytes > 0 else engine
