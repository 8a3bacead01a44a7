"""The W3C SPARQL 1.1 suites against our own server, each case's dataset loaded with the load path.

The same cases as against the peer `oxigraph serve` (tests/test_w3c_query.py, test_w3c_protocol.py),
over the real server and the SPARQL 1.1 Protocol: every query-evaluation case of the fourteen
folders with its dataset loaded as it is into an on-disk store (the default graph exactly the
test's data, nothing of the service visible), and the protocol manifest's read-only cases. The
expected failures are the engine's own (`ENGINE_FAILURES`, which the peer fails too), and
nothing of ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.w3c.evaluation import run_query_case
from tests.w3c.expected_failures import ENGINE_FAILURES
from tests.w3c.manifest import ProtocolCase, QueryCase
from tests.w3c.params import evaluation_params, protocol_params
from tests.w3c.protocol import run_protocol_case
from tests.w3c.target import Session, our_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with our_session(tmp_path_factory.mktemp("ours")) as session:
        yield session


@pytest.mark.parametrize("case", evaluation_params(ENGINE_FAILURES))
def test_query_evaluation(case: QueryCase, ours: Session) -> None:
    run_query_case(case, ours.endpoint_for(case.dataset), ours.client)


@pytest.mark.parametrize("case", protocol_params({}))
def test_protocol(case: ProtocolCase, ours: Session) -> None:
    run_protocol_case(case, ours.endpoint_for(case.dataset), ours.client)
