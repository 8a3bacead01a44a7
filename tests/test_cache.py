"""The result cache: repeated queries are answered from memory only while the data version holds.

The engine under the cache is a real one: pyoxigraph evaluating in this process (LocalEngine,
which runs the workers' own jobs), counting how often it is asked.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from server import formats
from server.query.cache import CachingEngine, with_cache
from server.query.engine import AtOnce, DataVersion, QueryAnswer, QueryRequest, QuerySyntaxError
from server.query.jobs import Job, answer_of, run_job
from server.query.local import LocalEngine
from tests.live import live_server

EX = "http://example.org/"
COUNT = QueryRequest("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", formats.TSV)


class InProcessEngine(LocalEngine):
    """pyoxigraph in this process, with a version that changes when the data does."""

    def __init__(self, tag: str | None = "v1") -> None:
        super().__init__(ox.Store(), {}, DataVersion(tag, None), max_rows=1000)
        self.evaluations = 0

    async def execute(self, request: QueryRequest) -> QueryAnswer:
        self.evaluations += 1
        return await super().execute(request)

    def add(self, n: int, tag: str | None) -> None:
        for i in range(n):
            self.store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p"), ox.Literal(str(i))))
        self.version = DataVersion(tag, None)


def test_a_repeated_query_is_evaluated_once() -> None:
    inner = InProcessEngine()
    inner.add(3, "v1")
    cache = CachingEngine(inner, 1_000_000)
    first = asyncio.run(cache.execute(COUNT))
    second = asyncio.run(cache.execute(COUNT))
    assert inner.evaluations == 1
    assert second.body == first.body
    assert (first.cached, second.cached) == (False, True)
    assert (cache.figures()["hits"], cache.figures()["misses"]) == (1, 1)


class AnswersAtOnce(InProcessEngine):
    """As if every query were a bounded lookup the HTTP process answers at once."""

    def answer_at_once(self, request: QueryRequest) -> AtOnce | None:
        def evaluated() -> QueryAnswer:
            self.evaluations += 1
            return answer_of(run_job(self.view, Job.of(request, self.max_rows), self.prefixes), request, self.max_rows)

        return AtOnce(self.version, evaluated)


def test_an_answer_given_at_once_is_remembered_as_one_given_the_waiting_way() -> None:
    """The shortcut's way (answer_at_once) and execute share the remembered answers."""
    inner = AnswersAtOnce()
    inner.add(3, "v1")
    cache = CachingEngine(inner, 1_000_000)
    first = cache.answer_at_once(COUNT).answer()
    second = cache.answer_at_once(COUNT).answer()
    waited = asyncio.run(cache.execute(COUNT))
    assert inner.evaluations == 1
    assert first.body == second.body == waited.body
    assert (first.cached, second.cached, waited.cached) == (False, True, True)


def test_another_format_or_graph_or_row_cap_is_another_answer() -> None:
    inner = InProcessEngine()
    cache = CachingEngine(inner, 1_000_000)
    for request in (
        COUNT,
        QueryRequest(COUNT.query, formats.SPARQL_JSON),
        QueryRequest(COUNT.query, formats.TSV, default_graphs=(EX + "g",)),
        QueryRequest(COUNT.query, formats.TSV, max_rows=5),
    ):
        asyncio.run(cache.execute(request))
    assert inner.evaluations == 4


def test_a_new_data_version_is_never_answered_from_the_old_one() -> None:
    inner = InProcessEngine()
    inner.add(3, "v1")
    cache = CachingEngine(inner, 1_000_000)
    before = asyncio.run(cache.execute(COUNT))
    inner.add(5, "v2")
    after = asyncio.run(cache.execute(COUNT))
    assert b"3" in before.body
    assert b"5" in after.body
    assert not after.cached


def test_an_engine_without_a_version_is_not_cached() -> None:
    inner = InProcessEngine(tag=None)
    cache = CachingEngine(inner, 1_000_000)
    asyncio.run(cache.execute(COUNT))
    asyncio.run(cache.execute(COUNT))
    assert inner.evaluations == 2


def test_failures_are_not_remembered() -> None:
    inner = InProcessEngine()
    cache = CachingEngine(inner, 1_000_000)
    broken = QueryRequest("SELECT * WHERE { ?s ?p }", formats.TSV)
    for _ in range(2):
        with pytest.raises(QuerySyntaxError):
            asyncio.run(cache.execute(broken))
    assert inner.evaluations == 2
    assert cache.figures()["bytes"] == 0


def test_memory_stays_within_the_bound_and_the_least_recently_used_go_first() -> None:
    inner = InProcessEngine()
    inner.add(50, "v1")
    cache = CachingEngine(inner, 8_000)
    requests = [QueryRequest(f"SELECT ?o WHERE {{ <{EX}s{i}> ?p ?o }}", formats.TSV) for i in range(50)]
    for request in requests:
        asyncio.run(cache.execute(request))
        asyncio.run(cache.execute(requests[0]))  # kept in use, so never the least recently used
        assert cache.figures()["bytes"] <= cache.figures()["capacity_bytes"]
    evaluations = inner.evaluations
    asyncio.run(cache.execute(requests[0]))
    assert inner.evaluations == evaluations  # still there
    asyncio.run(cache.execute(requests[1]))
    assert inner.evaluations == evaluations + 1  # long gone


def test_an_answer_too_big_for_its_share_is_not_kept() -> None:
    inner = InProcessEngine()
    inner.add(200, "v1")
    cache = CachingEngine(inner, 8_000)
    everything = QueryRequest("SELECT * WHERE { ?s ?p ?o }", formats.TSV)
    asyncio.run(cache.execute(everything))
    assert cache.figures()["bytes"] == 0


def test_a_zero_size_turns_the_cache_off() -> None:
    inner = InProcessEngine()
    assert with_cache(inner, 0) is inner
    assert isinstance(with_cache(inner, 1), CachingEngine)


# --- Over HTTP, on the real server ------------------------------------------------------------


def fresh_query() -> str:
    """A query no earlier test has sent, so its first answer cannot come from the cache."""
    return f"# {uuid.uuid4()}\nSELECT (COUNT(*) AS ?n) WHERE {{ ?s a ?class }}"


def test_the_second_identical_request_is_a_cache_hit(http: httpx.Client) -> None:
    query = fresh_query()
    first = http.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    second = http.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    other_format = http.get("/sparql", params={"query": query}, headers={"Accept": "application/json"})
    assert first.status_code == second.status_code == other_format.status_code == 200
    assert "x-cache" not in first.headers
    assert second.headers["x-cache"] == "HIT"
    assert "x-cache" not in other_format.headers
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert "X-Cache" in second.headers["access-control-expose-headers"]


def test_health_reports_the_cache_figures(http: httpx.Client) -> None:
    before = http.get("/health").json()["result_cache"]
    query = fresh_query()
    for _ in range(2):
        http.get("/sparql", params={"query": query})
    after = http.get("/health").json()["result_cache"]
    assert after["hits"] >= before["hits"] + 1
    assert after["misses"] >= before["misses"] + 1
    assert 0 < after["bytes"] <= after["capacity_bytes"]


def test_with_the_cache_off_every_request_is_evaluated(tmp_path: Path) -> None:
    with live_server("--no-validate", "--result-cache-bytes", "0", cache_dir=tmp_path) as server:
        query = fresh_query()
        answers = [httpx.get(f"{server.url}/sparql", params={"query": query}, timeout=30) for _ in range(2)]
        health = httpx.get(f"{server.url}/health", timeout=30).json()
    assert [a.status_code for a in answers] == [200, 200]
    assert all("x-cache" not in a.headers for a in answers)
    assert "result_cache" not in health


# Built pages and descriptions are kept too (server.web.rendered), under the same switch.
PAGE = "/doc/place/kuopio"


def test_a_page_asked_again_is_sent_as_built(http: httpx.Client) -> None:
    before = http.get("/health").json()["rendered_cache"]
    first = http.get(PAGE, headers={"Accept": "text/html", "Accept-Language": "fi"})
    second = http.get(PAGE, headers={"Accept": "text/html", "Accept-Language": "fi"})
    after = http.get("/health").json()["rendered_cache"]
    assert first.status_code == second.status_code == 200
    assert second.headers["x-cache"] == "HIT"
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert after["hits"] >= before["hits"] + 1
    assert 0 < after["bytes"] <= after["capacity_bytes"]


def test_each_variant_of_a_page_is_kept_apart(http: httpx.Client) -> None:
    def fetch(accept: str, language: str) -> httpx.Response:
        answer = http.get(PAGE, headers={"Accept": accept, "Accept-Language": language})
        assert answer.status_code == 200
        return answer

    for _ in range(2):  # the second round comes from what was kept
        turtle, html_fi, html_zh = fetch("text/turtle", "fi"), fetch("text/html", "fi"), fetch("text/html", "zh")
        assert turtle.headers["content-type"].startswith("text/turtle")
        assert html_fi.headers["content-type"].startswith("text/html")
        assert '<html lang="fi"' in html_fi.text and '<html lang="zh' in html_zh.text


def test_a_kept_page_keeps_the_host_it_was_asked_on(http: httpx.Client) -> None:
    """Pages carry absolute links, so the host is part of what identifies a kept page."""
    for _ in range(2):
        one = http.get("/", headers={"Host": "one.example"})
        other = http.get("/", headers={"Host": "other.example"})
        assert "http://one.example/" in one.text and "http://other.example/" not in one.text
        assert "http://other.example/" in other.text and "http://one.example/" not in other.text


def test_a_client_holding_the_page_gets_304_not_the_kept_page(http: httpx.Client) -> None:
    page = http.get(PAGE, headers={"Accept": "text/html"})
    http.get(PAGE, headers={"Accept": "text/html"})
    revalidated = http.get(PAGE, headers={"Accept": "text/html", "If-None-Match": page.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.content == b""


def test_with_the_cache_off_every_page_is_built(tmp_path: Path) -> None:
    with live_server("--no-validate", "--result-cache-bytes", "0", cache_dir=tmp_path) as server:
        pages = [httpx.get(f"{server.url}{PAGE}", headers={"Accept": "text/html"}, timeout=30) for _ in range(2)]
        health = httpx.get(f"{server.url}/health", timeout=30).json()
    assert [p.status_code for p in pages] == [200, 200]
    assert all("x-cache" not in p.headers for p in pages)
    assert "rendered_cache" not in health


def test_a_started_server_has_built_its_first_pages_before_anyone_asks(tmp_path: Path) -> None:
    """The warm-up (server.app.warm_up) compiles the templates and asks for the home page and a search
    right after a start, so the first visitor does not wait for them."""
    with live_server("--no-validate", cache_dir=tmp_path) as server:
        deadline = time.monotonic() + 30
        while (kept := httpx.get(f"{server.url}/health", timeout=30).json()["rendered_cache"])["entries"] < 1:
            assert time.monotonic() < deadline, kept
            time.sleep(0.1)
        assert kept["hits"] == 0 and kept["misses"] >= 1, "the home page, built before anyone asked"
