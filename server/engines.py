"""Which engine answers the queries, chosen from the settings: worker processes over the
embedded store (in memory, or the live build of an on-disk store) or a remote SPARQL endpoint,
behind the result cache. Kept apart from the web application, so that the command line can set
the engine's processes going while the web stack is still being imported."""

from __future__ import annotations

from server.namespaces import prefixes
from server.query.cache import with_cache
from server.query.engine import QueryEngine
from server.query.lane import LookupLane
from server.query.workers import ForkingZygote, Generation, MemorySource, WorkerPool
from server.reconcile.keys import NAME_KEYS
from server.settings import Settings
from server.store.build import Extension, ensure_disk_store
from server.store.dataset import Dataset
from server.store.location import StoreLocation
from server.store.name_index import KeyMaker, NameIndex


def store_extensions() -> tuple[Extension, ...]:
    """What the features build into the store from the data: reconciliation's name index."""
    return (NameIndex(NAME_KEYS),)


def search_keys() -> KeyMaker:
    """The keys of the search index beside a loaded build (server.store.name_table)."""
    return NAME_KEYS


def make_engine(settings: Settings) -> QueryEngine:
    """The store's engine behind the result cache (unless the cache is turned off)."""
    return with_cache(make_store_engine(settings), settings.result_cache_bytes)


def lookup_lane(settings: Settings, namespaces: dict[str, str]) -> LookupLane | None:
    """Bounded lookups answered in the HTTP process (server.query.lane), unless turned off."""
    if not settings.lookup_threads:
        return None
    return LookupLane(settings.lookup_budget, settings.lookup_threads, namespaces)


def make_store_engine(settings: Settings) -> QueryEngine:
    """The embedded store (in memory or on disk) or a remote SPARQL endpoint."""
    namespaces = prefixes(settings.base_iri)
    if settings.sparql_endpoint:
        from server.query.remote import RemoteEngine  # httpx, only for a remote store

        return RemoteEngine(
            settings.sparql_endpoint,
            settings.query_timeout,
            settings.max_result_rows,
            settings.base_iri,
            namespaces,
            settings.sparql_default_graph,
        )
    dataset = Dataset.from_settings(settings)
    sizes = {"size": settings.workers_per_http_process, "reserved": settings.reserved_workers}
    limits = {"query_timeout": settings.query_timeout, "max_rows": settings.max_result_rows}
    limits |= {"lane": lookup_lane(settings, namespaces), "client_share": settings.client_query_share}
    if settings.store_dir is None:
        source = MemorySource(dataset, store_extensions())
        return WorkerPool(
            ForkingZygote(source, namespaces, settings.query_threads), Generation.in_memory(source), **sizes, **limits
        )
    live = ensure_disk_store(dataset, settings.store_dir, store_extensions(), search_keys())
    return WorkerPool(
        ForkingZygote(None, namespaces, settings.query_threads),
        Generation.of_build(live),
        **sizes,
        **limits,
        location=StoreLocation(settings.store_dir),
        check_seconds=settings.store_check_seconds,
    )
