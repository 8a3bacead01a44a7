"""What the catalogue reads back from the store and the stored statistics: the dataset's temporal
coverage and when the ontology was first published."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from server.namespaces import DCT, XSD
from server.query.engine import QueryEngine, select
from server.query.statistics import stored_statistics
from server.uris import Iris


@dataclass(frozen=True)
class StoredFacts:
    """What the catalogue takes from the store: the temporal coverage and the first publication."""

    start: ox.Literal | None = None
    end: ox.Literal | None = None
    issued: ox.Literal | None = None


async def stored_facts(engine: QueryEngine, iris: Iris) -> StoredFacts:
    figures = await stored_statistics(engine, iris)
    rows = await select(engine, f"SELECT ?issued WHERE {{ <{iris.ontology}> <{DCT.iri}created> ?issued }} LIMIT 1", 1)
    issued = rows[0]["issued"] if rows else None
    if figures is None or figures.coverage is None:
        return StoredFacts(issued=issued)
    start, end = (ox.Literal(f"{year:04d}", datatype=XSD.gYear) for year in figures.coverage)
    return StoredFacts(start, end, issued)
