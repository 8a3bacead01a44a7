"""The one typed settings object. Every field is documented here and in the README.

Settings come from keyword arguments (the CLI), then SISTERCITIES_* environment variables, then
the defaults below. Nothing reads the environment at import time: the CLI builds a Settings and
passes it down explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.uris import DEFAULT_BASE_IRI, Iris

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Where the data are, how they are published and the limits that protect the server."""

    model_config = SettingsConfigDict(env_prefix="SISTERCITIES_", frozen=True)

    base_iri: str = Field(
        DEFAULT_BASE_IRI,
        description="Public base IRI of every resource (things under id/, graphs under graph/, the "
        "ontology and shapes). The server maps it onto its own host, so IRIs dereference on a "
        "local server exactly as in production. Data written with the default base are rebased "
        "when loaded if this differs.",
    )
    ontology_dir: Path = Field(
        PROJECT_ROOT / "ontology", description="Turtle files of the ontology and concept schemes."
    )
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="Curated Turtle files; each file becomes one named graph.",
    )
    shapes_dir: Path = Field(PROJECT_ROOT / "shapes", description="SHACL shapes used by `validate` and POST /validate.")
    queries_dir: Path = Field(PROJECT_ROOT / "queries", description="Example SPARQL queries shown in the query UI.")
    host: str = Field("127.0.0.1", description="Interface the server listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port the server listens on; 0 picks a free port.")
    store_dir: Path | None = Field(
        None,
        description="Keep an on-disk store here. A restart reopens it without reloading, and it is "
        "rebuilt only when the source files changed. Without it the store lives in memory.",
    )
    store_check_seconds: float = Field(
        1.0,
        gt=0,
        description="How often the server looks whether `sistercities load` has made other data live in its "
        "on-disk store; it then switches to them, finishing the requests in progress on the old ones.",
    )
    sparql_endpoint: str | None = Field(
        None,
        description="Serve everything over this existing SPARQL 1.1 endpoint instead of the "
        "embedded store (Oxigraph server, Fuseki, Virtuoso, QLever, ...), loaded with "
        "`sistercities dump --format nquads --with-name-index` (its default graph is the merge of "
        "the named graphs).",
    )
    sparql_default_graph: str | None = Field(
        None,
        description="In remote mode, for a store whose default graph is the union of all its graphs "
        "(Virtuoso): the graph into which the dump's default graph was loaded. Queries that name no dataset "
        "are sent with it as `default-graph-uri` and with the store's other graphs as `named-graph-uri`, so "
        "that the store answers over the dump's dataset exactly.",
    )
    query_timeout: float = Field(
        30.0,
        gt=0,
        description="Hard time limit per query in seconds; a query still running is stopped.",
    )
    max_result_rows: int = Field(
        100_000,
        gt=0,
        description="Cap on result rows (SELECT) or triples (CONSTRUCT, DESCRIBE); truncation is announced.",
    )
    max_query_bytes: int = Field(
        1_000_000,
        gt=0,
        description="Largest query or request body accepted by /sparql, in bytes (413 beyond).",
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "sistercities",
        description="Where validation results and dumps are kept, keyed by data version.",
    )
    query_workers: int = Field(
        default_factory=lambda: max(2, os.cpu_count() or 2),
        gt=0,
        description="Processes that evaluate queries, in all: shared out among the HTTP processes (rounded up, "
        "at least one each), each running `query_threads` queries at once; a runaway query is killed at the time "
        "limit with its worker.",
        json_schema_extra={"shown_default": "number of CPUs, at least 2"},
    )
    query_threads: int = Field(
        4,
        gt=0,
        description="Queries each query worker evaluates at once, in threads: scans running together in one "
        "process share its store's cache (the mix of scans cost a sixth less CPU than in one process each, "
        "docs/benchmarks.md). A worker whose query has run a third of the time limit takes no new query and "
        "is replaced, so that killing it at the limit kills only queries nearly as long; 1: one query per "
        "process.",
    )
    reserved_workers: int = Field(
        1,
        ge=0,
        description="Query workers kept, beyond `query_workers`, for the bounded queries the server asks "
        "itself (pages, search, metadata): clients' queries never hold them, so pages do not wait "
        "behind public scans.",
    )
    lookup_threads: int = Field(
        4,
        ge=0,
        description="Threads of each HTTP process that answer bounded lookups themselves (queries reached "
        "from a constant whose work stays under `lookup_budget`), without a query worker: they run at "
        "the engine's speed and keep answering while hostile queries hold the workers; 0 sends every "
        "query to the workers.",
    )
    lookup_budget: int = Field(
        20_000,
        gt=0,
        description="Most bindings a query answered in the lookup lane may produce, step by step, as "
        "bounded by counting from its constants and by the data's fan-outs before it runs.",
    )
    client_query_share: int = Field(
        1,
        ge=0,
        description="Queries one client (IP address) may have running or waiting at once; a query beyond it is "
        "answered 429 with Retry-After rather than making every client wait; 0: no per-client share.",
    )
    http_workers: int = Field(
        1,
        gt=0,
        description="Processes accepting HTTP requests on one socket (uvicorn workers); each has its share of "
        "the query workers, its own result cache and, for the in-memory store, its own copy of the data. "
        "Keep-alive connections are spread evenly: a process holding more than its share answers one "
        "request with `Connection: close` (server/web/balance.py).",
    )
    result_cache_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="Memory per server process for query answers, and as much again for built pages and "
        "descriptions, remembered until the data version changes (least recently used go first); "
        "0 turns both off: every request is evaluated and built afresh.",
    )
    malloc: Path | None = Field(
        None,
        description="A malloc library for every process of the server (HTTP processes, query and validation "
        "workers), loaded before anything else (LD_PRELOAD; `serve` restarts itself with it), e.g. "
        "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 (Debian: libjemalloc2), as `make serve` runs it. "
        "pyoxigraph and the web stack allocate heavily: with jemalloc the light queries used 11-15% less "
        "CPU per request than with glibc's malloc here (docs/benchmarks.md). The default keeps the "
        "system's malloc.",
    )
    worker_malloc: Path | None = Field(
        None,
        description="A malloc library for the worker processes only (query and validation workers), loaded "
        "before anything else (LD_PRELOAD); `malloc` gives one to every process. "
        "pyoxigraph's scans and joins allocate heavily; with jemalloc they used about 7% less CPU "
        "than with glibc's malloc here (docs/benchmarks.md). The default keeps the system's malloc.",
    )
    page_size: int = Field(
        50, gt=0, le=1000, description="Items per page: incoming links of a resource, things of a class when browsing."
    )
    max_upload_bytes: int = Field(
        5_000_000, gt=0, description="Largest RDF submission POST /validate accepts, in bytes (413 beyond)."
    )
    validation_timeout: float = Field(
        60.0, gt=0, description="Time limit of one validation by POST /validate in seconds; it is stopped beyond."
    )
    validation_workers: int = Field(1, gt=0, description="Processes that run POST /validate; each holds the shapes.")
    validation_workers_at_start: bool = Field(
        True,
        description="Start the validation workers with the server; off, at the first validation (which then "
        "waits a few seconds for pySHACL to load), saving about 45 MB per worker where nobody validates.",
    )
    validate_on_load: bool = Field(
        True,
        description="Run the SHACL shapes over the curated files before (re)building the store.",
    )
    max_url_bytes: int = Field(
        32_768,
        gt=0,
        description="Longest request target (path and query string) accepted, in bytes (414 beyond: send long "
        "queries with POST).",
    )
    max_header_bytes: int = Field(
        32_768,
        gt=0,
        description="Largest total size of a request's header fields, names and values, in bytes (431 beyond).",
    )
    rate_limit_window: int = Field(
        60,
        gt=0,
        description="The window, in seconds, over which the per-client rate limits below count requests.",
    )
    query_rate_limit: int = Field(
        300,
        ge=0,
        description="Queries (/sparql with a query) one client (IP address) may send per `rate_limit_window`; "
        "beyond, 429 with Retry-After. 0 turns the limit off.",
    )
    validate_rate_limit: int = Field(
        30,
        ge=0,
        description="Submissions to POST /validate one client may send per `rate_limit_window` (429 beyond); "
        "0 turns the limit off.",
    )
    reconcile_rate_limit: int = Field(
        300,
        ge=0,
        description="Requests to /reconcile and its routes one client may send per `rate_limit_window` "
        "(429 beyond); 0 turns the limit off.",
    )
    outbound_allow: str = Field(
        "",
        description="Hosts that a client's query may make the server contact, comma-separated (`host` or "
        "`host:port`): a federated query (SERVICE) is accepted only when every endpoint it calls, named by a full "
        "IRI, is on this list. Empty (the default): SERVICE is refused and no input makes the server contact "
        "another host. In remote mode SERVICE is always refused; the server then contacts only `sparql_endpoint`.",
    )
    contact_url: str | None = Field(
        None,
        description="How people reach the data team, published as the contact point of the DCAT "
        "catalogue: a web page or form, or a `mailto:` address. Without it, the home page (the base IRI).",
    )

    @classmethod
    def shown_default(cls, name: str) -> str:
        """A setting's default as people read it: paths relative to the project or home, nothing for None."""
        field = cls.model_fields[name]
        extra = field.json_schema_extra or {}
        if "shown_default" in extra:
            return str(extra["shown_default"])
        value = field.default
        if isinstance(value, Path):
            if value.is_relative_to(PROJECT_ROOT):
                return f"./{value.relative_to(PROJECT_ROOT)}"
            if value.is_relative_to(Path.home()):
                return f"~/{value.relative_to(Path.home())}"
        return "" if value is None else str(value)

    @property
    def iris(self) -> Iris:
        """Every IRI the server mints, under the base IRI (the URI policy)."""
        return Iris(self.base_iri)

    @field_validator("malloc", "worker_malloc")
    @classmethod
    def _malloc_library_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"there is no library at {value}")
        return value

    @property
    def workers_malloc(self) -> Path | None:
        """The malloc library of the worker processes: their own, or every process's."""
        return self.worker_malloc or self.malloc

    @property
    def workers_per_http_process(self) -> int:
        """The query workers of each HTTP process: `query_workers` shared out among them. Each
        HTTP process holding them all would put more processes than CPUs to evaluating scans,
        which then thrash each other's caches: the same scans cost a fifth more CPU with four
        workers on two cores than with two (docs/benchmarks.md)."""
        return max(1, -(-self.query_workers // self.http_workers))

    @property
    def outbound_hosts(self) -> frozenset[str]:
        """The hosts of `outbound_allow`, in lower case."""
        return frozenset(h.strip().lower() for h in self.outbound_allow.split(",") if h.strip())

    @field_validator("base_iri")
    @classmethod
    def _base_ends_with_slash(cls, value: str) -> str:
        if not value.endswith("/"):
            raise ValueError("base_iri must end with '/'")
        return value
