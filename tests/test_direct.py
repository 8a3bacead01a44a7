"""Plain query requests answered before the framework (server.sparql.direct) get what the general
stack would give them: the same status, body and headers, the same refusals, the same rate limit.

A client that accepts gzip goes the general way (the gzip middleware answers it), one that does
not goes the direct way: so each request below is sent both ways to the real server and the two
answers compared.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from server.query.engine import AtOnce, DataVersion, QueryAnswer, QueryRequest
from server.running import Server, live_server
from server.settings import Settings
from server.sparql.direct import DirectQueries, accepts_gzip
from server.web.ratelimit import RateLimits

DIRECT = {"Accept-Encoding": "identity"}
GENERAL = {"Accept-Encoding": "gzip"}
# Headers that differ by nature between a gzipped answer and a plain one, or by the moment.
UNCOMPARED = {"date", "content-length", "content-encoding"}
QUERIES = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The result cache off, so that both ways evaluate the query (no X-Cache on the second)."""
    args = ("--no-validate", "--result-cache-bytes", "0")
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def both_ways(client: httpx.Client, params: dict[str, str], headers: dict[str, str]) -> tuple[httpx.Response, ...]:
    return tuple(client.get("/sparql", params=params, headers={**headers, **way}) for way in (DIRECT, GENERAL))


def comparable(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in UNCOMPARED}


SELECT_ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 40"
REQUESTS = {
    "a small SELECT as JSON": ({"query": "SELECT ?p ?o WHERE { <http://x.example/a> ?p ?o }"}, {}),
    "a larger SELECT as CSV, from another origin": (
        {"query": SELECT_ALL},
        {"Accept": "text/csv", "Origin": "http://a.example"},
    ),
    "ASK as XML": ({"query": "ASK { ?s ?p ?o }"}, {"Accept": "application/sparql-results+xml"}),
    "CONSTRUCT as Turtle": (
        {"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 30"},
        {"Accept": "text/turtle"},
    ),
    "the format parameters SPARQLWrapper sends": (
        {"query": "ASK {}", "format": "json", "output": "json", "results": "json"},
        {"Accept": "application/sparql-results+json,*/*;q=0.1"},
    ),
    "a syntax error": ({"query": "SELEC ?x"}, {"Accept": "application/json"}),
    "an update": ({"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}, {}),
    "a format nobody can give": ({"query": "ASK {}"}, {"Accept": "image/png"}),
    "the query UI": ({"query": "ASK {}"}, {"Accept": "text/html"}),
    "a protocol dataset": ({"query": "ASK { ?s ?p ?o }", "default-graph-uri": "http://x.example/g"}, {}),
}


@pytest.mark.parametrize("name", REQUESTS)
def test_both_ways_give_the_same_answer(client: httpx.Client, name: str) -> None:
    params, headers = REQUESTS[name]
    direct, general = both_ways(client, params, headers)
    assert direct.status_code == general.status_code, (direct.text, general.text)
    assert direct.content == general.content
    assert comparable(direct) == comparable(general)
    assert "content-encoding" not in direct.headers


def test_a_lookup_is_answered_at_once_by_the_protocol_as_the_other_ways_answer_it(client: httpx.Client) -> None:
    """A bounded lookup from a client that does not accept gzip is answered by the HTTP protocol
    itself (server.web.shortcut), which /health counts; the same lookup with a format parameter
    goes the direct layer's ASGI way, and with gzip the general way: all three answers alike."""
    lookup, accept = "SELECT ?p ?o WHERE { <http://x.example/a> ?p ?o }", {"Accept": "application/sparql-results+json"}
    wait_for_the_lookup_lane(client, lookup)
    before = client.get("/health").json()["lookups_answered_at_once"]
    at_once = client.get("/sparql", params={"query": lookup}, headers={**accept, **DIRECT})
    asgi = client.get("/sparql", params={"query": lookup, "format": "json"}, headers={**accept, **DIRECT})
    general = client.get("/sparql", params={"query": lookup}, headers={**accept, **GENERAL})
    assert client.get("/health").json()["lookups_answered_at_once"] == before + 1
    assert at_once.status_code == asgi.status_code == general.status_code == 200
    assert at_once.content == asgi.content == general.content
    assert comparable(at_once) == comparable(asgi) == comparable(general)
    assert at_once.headers["server-timing"].startswith("lane")


def wait_for_the_lookup_lane(client: httpx.Client, lookup: str) -> None:
    """The lane opens in the background after a start; until then lookups go to the workers."""
    deadline = time.monotonic() + 60
    while "server-timing" not in client.get("/sparql", params={"query": lookup}, headers=GENERAL).headers:
        assert time.monotonic() < deadline, "the lookup lane did not open"
        time.sleep(0.1)


def test_a_conditional_request_is_answered_304_both_ways(client: httpx.Client) -> None:
    params = {"query": SELECT_ALL}
    first = client.get("/sparql", params=params, headers=DIRECT)
    etag = first.headers["etag"]
    direct, general = both_ways(client, params, {"If-None-Match": etag})
    assert direct.status_code == general.status_code == 304
    assert comparable(direct) == comparable(general)


def test_headers_made_once_for_answers_alike_follow_each_answer(client: httpx.Client) -> None:
    """The direct way makes the headers of answers alike once, by what they depend on: a request
    with an Origin, then one without, then a large answer, each get their own."""
    small, large = {"query": "ASK {}"}, {"query": SELECT_ALL}
    with_origin = client.get("/sparql", params=small, headers={**DIRECT, "Origin": "http://a.example"})
    without = client.get("/sparql", params=small, headers=DIRECT)
    larger = client.get("/sparql", params=large, headers={**DIRECT, "Accept": "text/csv"})
    assert with_origin.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in without.headers
    assert (with_origin.headers["vary"], without.headers["vary"]) == ("Accept, Origin", "Accept, Origin")
    assert larger.headers["vary"] == "Accept, Accept-Encoding, Origin"
    assert int(larger.headers["content-length"]) == len(larger.content) >= 1024


def test_a_large_answer_says_it_varies_by_encoding_both_ways(client: httpx.Client) -> None:
    direct, general = both_ways(client, {"query": SELECT_ALL}, {"Accept": "application/sparql-results+json"})
    assert len(direct.content) >= 1024
    assert general.headers["content-encoding"] == "gzip"
    assert direct.headers["vary"] == general.headers["vary"] == "Accept, Accept-Encoding, Origin"


def test_a_get_with_a_body_beyond_the_limit_is_refused_both_ways(client: httpx.Client) -> None:
    body = b"x" * (Settings().max_query_bytes + 1)
    params = {"query": "ASK {}"}
    answers = [client.request("GET", "/sparql", params=params, content=body, headers=way) for way in (DIRECT, GENERAL)]
    assert [a.status_code for a in answers] == [413, 413]
    assert answers[0].content == answers[1].content


@pytest.fixture(scope="module")
def rate_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    args = ("--no-validate", "--rate-limit-window", "60", "--query-rate-limit", str(QUERIES))
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as running:
        yield running


def test_a_client_is_counted_once_whichever_way_its_queries_go(rate_limited: Server) -> None:
    with httpx.Client(base_url=rate_limited.url, timeout=30) as http:
        ways = [DIRECT, GENERAL] * (QUERIES // 2)
        assert [http.get("/sparql", params={"query": "ASK {}"}, headers=way).status_code for way in ways] == [200] * 6
        for way in (DIRECT, GENERAL):
            refused = http.get("/sparql", params={"query": "ASK {}"}, headers={**way, "Origin": "http://a.example"})
            assert refused.status_code == 429 and refused.headers["access-control-allow-origin"] == "*"
            assert "x-frame-options" in refused.headers


def scope(method: str = "GET", path: str = "/sparql", query: bytes = b"query=ASK%7B%7D", **headers: str) -> dict:
    raw = [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()]
    target = {"path": path, "raw_path": path.encode(), "query_string": query}
    return {"type": "http", "method": method, **target, "headers": raw}


def test_what_the_direct_layer_takes_and_what_it_leaves() -> None:
    settings = Settings(max_url_bytes=100)
    direct = DirectQueries(settings=settings, rates=RateLimits(settings), cors_headers={})
    assert direct.takes(scope())
    assert direct.takes(scope(accept="text/csv", origin="http://a.example"))
    assert not direct.takes(scope(method="POST"))
    assert not direct.takes(scope(method="HEAD"))
    assert not direct.takes(scope(path="/sparql/"))
    assert not direct.takes(scope(query=b""))  # the service description or the UI
    assert not direct.takes(scope(accept_encoding="gzip, deflate"))
    assert not direct.takes(scope(content_length="12"))  # a body, which the guards measure
    assert not direct.takes(scope(transfer_encoding="chunked"))
    assert not direct.takes(scope(query=b"query=" + b"x" * 200))  # 414, answered by the guards
    assert not direct.takes(scope(query=b"query=%FF"))  # not UTF-8: 400, answered by the guards
    assert accepts_gzip(scope(accept_encoding="br, gzip")) and not accepts_gzip(scope(accept_encoding="identity"))


class AnswersAskAtOnce:
    """An engine that answers ASK queries at once and would make any other query wait."""

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        if not request.query.startswith("ASK"):
            return None
        return AtOnce(DataVersion("v1", None), lambda: QueryAnswer(b'{"boolean":true}', request.result_format))


def test_the_protocol_gets_an_answer_only_for_a_plain_lookup_the_engine_answers_at_once() -> None:
    """What the shortcut (server.web.shortcut) is given: nothing for a request the other ways
    read differently (another parameter, the UI, validators, gzip), nor for a query that must
    wait; and a request is counted against the rate limit only when it is answered there."""
    settings = Settings(query_rate_limit=2, rate_limit_window=60)
    direct = DirectQueries(settings=settings, rates=RateLimits(settings), cors_headers={})
    engine, json = AnswersAskAtOnce(), "application/sparql-results+json"
    for declined in (
        scope(query=b"query=ASK%7B%7D&format=json", accept=json),
        scope(accept="text/html"),
        scope(accept=json, if_none_match='W/"v1-json"'),
        scope(accept=json, accept_encoding="gzip"),
        scope(query=b"query=SELECT%20*%7B%7D", accept=json),
        scope(query=b"query=SELECT%20*%7B%7D", accept=json),
    ):
        assert direct.at_once(engine, declined) is None
    answers = [direct.at_once(engine, scope(accept=json)) for _ in range(3)]
    assert answers[2] is None  # the third within the window: refused, the general way says so (429)
    headers, body = answers[0]
    assert body == b'{"boolean":true}' and headers[0] == (b"content-length", b"16")
    assert (b"content-type", json.encode()) in headers
    assert direct.answered_at_once == 2
