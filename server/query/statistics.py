"""The statistics of the data being served, as the build kept them (never computed on a request).

A loaded build keeps them in a file beside it once they are counted (which may be a little after
it went live); the curated data and a remote store loaded with our dump keep them as VoID in the
metadata graph. None when a build has none (loaded with --no-statistics, or still counting).
"""

from __future__ import annotations

from pathlib import Path

from server.query.engine import QueryEngine, construct
from server.store.statistics import Figures, figures_of
from server.uris import Iris

METADATA_ROWS = 1_000_000


async def stored_statistics(engine: QueryEngine, iris: Iris) -> Figures | None:
    version = await engine.data_version()
    if version.home is not None:
        found = Figures.read(Path(version.home))
        if found is not None:
            return found
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iris.metadata_graph}> {{ ?s ?p ?o }} }}"
    return figures_of(await construct(engine, query, METADATA_ROWS), iris)
