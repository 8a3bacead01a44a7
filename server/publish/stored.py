"""What the dataset's descriptions read back from the store.

What the descriptions of the dataset read back from the store: the statistics and version
record written when the store was built (server.store.statistics), and a few facts of the data."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from server.namespaces import DCAT, DCT
from server.query.engine import QueryEngine
from server.query.engine import construct as engine_construct
from server.query.engine import select as engine_select
from server.uris import Iris

# Internal queries may ask for more rows than the public cap: the statistics are a few hundred
# triples per class and property, and the sitemap lists every thing.
INTERNAL_MAX_ROWS = 1_000_000


async def select(engine: QueryEngine, query: str) -> list[ox.QuerySolution]:
    return await engine_select(engine, query, INTERNAL_MAX_ROWS)


async def construct(engine: QueryEngine, query: str) -> list[ox.Triple]:
    return await engine_construct(engine, query, INTERNAL_MAX_ROWS)


async def stored_metadata(engine: QueryEngine, iris: Iris) -> list[ox.Triple]:
    """The metadata graph: the version record and the build-time statistics."""
    return await construct(engine, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iris.metadata_graph}> {{ ?s ?p ?o }} }}")


async def example_places(engine: QueryEngine, iris: Iris, limit: int = 3) -> list[str]:
    """The places described by the most statements."""
    query = (
        "SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o "
        f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iris.thing("place/")}")) }} '
        f"GROUP BY ?s ORDER BY DESC(?n) ?s LIMIT {limit}"
    )
    return [row["s"].value for row in await select(engine, query)]


@dataclass(frozen=True)
class StoredFacts:
    """What the catalogue takes from the store: the temporal coverage and the first publication."""

    start: ox.Literal | None = None
    end: ox.Literal | None = None
    issued: ox.Literal | None = None


async def stored_facts(engine: QueryEngine, iris: Iris) -> StoredFacts:
    query = (
        f"SELECT ?start ?end ?issued WHERE {{ "
        f"OPTIONAL {{ GRAPH <{iris.metadata_graph}> {{ <{iris.dataset}> <{DCT.iri}temporal> ?t . "
        f"?t <{DCAT.iri}startDate> ?start ; <{DCAT.iri}endDate> ?end }} }} "
        f"OPTIONAL {{ <{iris.ontology}> <{DCT.iri}created> ?issued }} }} LIMIT 1"
    )
    rows = await select(engine, query)
    if not rows:
        return StoredFacts()
    return StoredFacts(rows[0]["start"], rows[0]["end"], rows[0]["issued"])
