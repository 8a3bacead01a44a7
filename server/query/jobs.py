"""One query evaluated over a pyoxigraph store, and its reply as a typed record.

One query (or export) evaluated over a pyoxigraph store, and its reply as a small typed record.

A job is what crosses the pipe to a worker process, and a reply what comes back: both are small
so that they pickle fast. `run_job` is pure, so it is tested without processes and also serves
engines that evaluate in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from server import formats
from server.query import results
from server.query.engine import QueryAnswer, QueryFailed, QueryRequest, QuerySyntaxError, graph_terms
from server.query.engine import syntax_error_from as syntax_problem
from server.query.narrowing import narrowed
from server.query.reading import enumerates_graphs
from server.store.dump import write_dump
from server.store.name_table import NameTable


@dataclass(frozen=True)
class Job:
    """What a worker needs to answer one query."""

    query: str
    format_key: str
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    max_rows: int
    public: bool = False  # a client's query: the service's own graphs are hidden from it
    base_iri: str | None = None

    @classmethod
    def of(cls, request: QueryRequest, max_rows: int) -> Job:
        dataset = (request.default_graphs, request.named_graphs)
        return cls(request.query, request.result_format.key, *dataset, max_rows, not request.internal, request.base_iri)


class StoreView:
    """A store as a worker holds it: its data graphs are listed once, for clients' queries that
    range over named graphs, which must not see the graphs the service keeps for itself; and the
    search index beside its build, if any, which narrows filters on pieces of names."""

    def __init__(
        self, store: ox.Store, service_graphs: frozenset[str] = frozenset(), names: NameTable | None = None
    ) -> None:
        self.store = store
        self.service_graphs = service_graphs
        self.names = names
        self._data_graphs: list[ox.NamedNode | ox.BlankNode] | None = None

    @classmethod
    def of_build(cls, path: str, service_graphs: frozenset[str]) -> StoreView:
        """A build on disk, read-only, with its search index."""
        return cls(ox.Store.read_only(path), service_graphs, NameTable.open(path, None))

    def query_of(self, job: Job) -> str:
        """The query to evaluate: narrowed by the search index when the job's dataset is the
        store's own (the index holds the names of the data graphs)."""
        if self.names is None or job.default_graphs or job.named_graphs:
            return job.query
        return narrowed(job.query, self.names) or job.query

    def data_graphs(self) -> list[ox.NamedNode | ox.BlankNode]:
        if self._data_graphs is None:
            self._data_graphs = [g for g in self.store.named_graphs() if str(g.value) not in self.service_graphs]
        return self._data_graphs

    def dataset_of(self, job: Job) -> dict:
        """The dataset arguments of pyoxigraph's query() for a job: the protocol's graphs when
        given; for a client's query over named graphs, the data graphs; otherwise the store's own."""
        if job.default_graphs or job.named_graphs:
            return {"default_graph": graph_terms(job.default_graphs), "named_graphs": graph_terms(job.named_graphs)}
        if job.public and self.service_graphs and enumerates_graphs(job.query):
            return {"named_graphs": self.data_graphs()}
        return {}


@dataclass(frozen=True)
class ExportJob:
    """Write the whole store to a file, natively."""

    format_key: str
    path: str
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answered:
    """The answer, serialised in the requested format; truncated at the row cap or not."""

    body: bytes
    truncated: bool = False


@dataclass(frozen=True)
class Refused:
    """The query does not parse; where the parser stopped."""

    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Failed:
    """The query parsed but could not be answered (a format it cannot take, an engine error)."""

    message: str


Reply = Answered | Refused | Failed


def run_job(view: StoreView, job: Job | ExportJob, prefixes: dict[str, str], within_cap: bool = False) -> Reply:
    """Evaluate one query (or export) and serialise its answer; `within_cap` when the answer is
    known to fit under the row cap (a bounded lookup): it is then written natively at once, not
    through a sink that counts its lines."""
    if isinstance(job, ExportJob):
        return run_export(view.store, job, prefixes)
    fmt = formats.by_key(job.format_key)
    try:
        answer = view.store.query(view.query_of(job), base_iri=job.base_iri, **view.dataset_of(job))
        if within_cap:
            if isinstance(answer, ox.QuerySolutions) and fmt.results is not None:
                return Answered(answer.serialize(format=fmt.results))
            if isinstance(answer, ox.QueryTriples) and fmt.rdf == ox.RdfFormat.TURTLE:
                return Answered(results.turtle_of(answer, prefixes))
            if isinstance(answer, ox.QueryTriples) and fmt.rdf is not None:
                ntriples = answer.serialize(format=ox.RdfFormat.N_TRIPLES)
                return Answered(results.triples_as(ntriples, fmt, prefixes))
        return serialised(answer, fmt, job.max_rows, prefixes)
    except SyntaxError as error:
        problem = syntax_problem(error)
        return Refused(problem.message, problem.line, problem.column)
    except (OSError, ValueError, RuntimeError) as error:
        return Failed(f"The query could not be evaluated: {error}")


def serialised(
    answer: ox.QueryBoolean | ox.QuerySolutions | ox.QueryTriples, fmt: formats.Format, max_rows: int, prefixes: dict
) -> Reply:
    """An answer in the requested format, capped at `max_rows` rows or triples."""
    if isinstance(answer, ox.QueryBoolean):
        if fmt.results is None:
            return Failed(f"An ASK query cannot be answered as {fmt.label}.")
        return Answered(answer.serialize(format=fmt.results))
    if isinstance(answer, ox.QuerySolutions):
        if fmt.results is None:
            return Failed(f"A SELECT query cannot be answered as {fmt.label}.")
        tsv, truncated = results.capped_solutions_tsv(answer, max_rows)
        return Answered(results.solutions_as(tsv, fmt), truncated)
    if fmt.rdf is None:
        return Failed(f"A CONSTRUCT or DESCRIBE query cannot be answered as {fmt.label}.")
    ntriples, truncated = results.capped_triples_ntriples(answer, max_rows)
    return Answered(results.triples_as(ntriples, fmt, prefixes), truncated)


def run_export(store: ox.Store, job: ExportJob, prefixes: dict[str, str]) -> Reply:
    try:
        write_dump(store, formats.by_key(job.format_key), Path(job.path), prefixes, job.left_out)
    except OSError as error:
        return Failed(f"The dump could not be written: {error}")
    return Answered(b"")


def answer_of(reply: Reply, request: QueryRequest, max_rows: int, in_lane: bool = False) -> QueryAnswer:
    """The engine's answer to a request from a job's reply; refusals and failures are raised."""
    if isinstance(reply, Answered):
        capped = max_rows if reply.truncated else None
        return QueryAnswer(reply.body, request.result_format, reply.truncated, capped, in_lane=in_lane)
    if isinstance(reply, Refused):
        raise QuerySyntaxError(reply.message, reply.line, reply.column)
    raise QueryFailed(reply.message)
