"""The W3C SPARQL 1.1 query-evaluation suites against `oxigraph serve`, the peer on our engine.

Each case's dataset is loaded into the server as it is (default graph and named graphs) and the
query is sent over the SPARQL 1.1 Protocol; see tests/w3c for the rules. The expected failures
are the engine's (`ENGINE_FAILURES`), so a module for our own server reuses them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.w3c.evaluation import run_query_case
from tests.w3c.expected_failures import ENGINE_FAILURES
from tests.w3c.manifest import QueryCase
from tests.w3c.params import evaluation_params
from tests.w3c.target import Session, oxigraph_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """One `oxigraph serve` for the module; each distinct dataset is loaded once."""
    with oxigraph_session(tmp_path_factory.mktemp("oxigraph")) as session:
        yield session


@pytest.mark.parametrize("case", evaluation_params(ENGINE_FAILURES))
def test_query_evaluation(case: QueryCase, peer: Session) -> None:
    run_query_case(case, peer.endpoint_for(case.dataset), peer.client)
