"""The W3C SPARQL 1.1 Protocol manifest's read-only cases against `oxigraph serve`.

The manifest's `/sparql/` paths go to the server's query endpoint; the graphs the dataset cases
name (`http://kasei.us/2009/09/sparql/data/dataN.rdf`, from protocol/dataN.nt) are loaded as
named graphs, and the cases select them with default-graph-uri and named-graph-uri, as they test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.w3c.expected_failures import OXIGRAPH_SERVE_PROTOCOL_FAILURES
from tests.w3c.manifest import ProtocolCase
from tests.w3c.params import protocol_params
from tests.w3c.protocol import run_protocol_case
from tests.w3c.target import Session, oxigraph_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with oxigraph_session(tmp_path_factory.mktemp("oxigraph")) as session:
        yield session


@pytest.mark.parametrize("case", protocol_params(OXIGRAPH_SERVE_PROTOCOL_FAILURES))
def test_protocol(case: ProtocolCase, peer: Session) -> None:
    run_protocol_case(case, peer.endpoint_for(case.dataset), peer.client)
