"""Limits that refuse a request before the application works on it (414, 431, 413, 400 for bytes
that are not UTF-8), per-client rate limits (429 with Retry-After), and the security headers of
every response; against the real server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from server.settings import Settings
from server.web.ratelimit import RateLimits
from tests.live import Server, live_server

pytestmark = pytest.mark.slow

MAX_URL, MAX_HEADERS, MAX_QUERY, MAX_UPLOAD = 2_000, 4_000, 10_000, 20_000


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    args = ("--no-validate", "--max-url-bytes", str(MAX_URL), "--max-header-bytes", str(MAX_HEADERS))
    args += ("--max-query-bytes", str(MAX_QUERY), "--max-upload-bytes", str(MAX_UPLOAD))
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as server:
        yield server


def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (what no HTTP client library would send); the status and the rest."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    status_line = received.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), received


def problem_text(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return response.text


# --- 414, 431, 413 ----------------------------------------------------------------------------


def test_a_long_request_target_is_414_and_says_to_post(guarded: Server) -> None:
    response = httpx.get(f"{guarded.url}/sparql", params={"query": "ASK {}" + " " * MAX_URL})
    assert response.status_code == 414
    assert "POST" in problem_text(response)
    assert httpx.get(f"{guarded.url}/doc/place/" + "k" * MAX_URL).status_code == 414


def test_targets_within_the_limit_are_served(guarded: Server) -> None:
    response = httpx.get(f"{guarded.url}/sparql", params={"query": "ASK {}" + " " * (MAX_URL // 2)})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{"X-Big": "a" * MAX_HEADERS}, [(f"X-Many-{i}", "value") for i in range(MAX_HEADERS // 10)]],
    ids=["one large header", "many headers"],
)
def test_large_header_fields_are_431(guarded: Server, headers) -> None:
    response = httpx.get(f"{guarded.url}/", headers=headers)
    assert response.status_code == 431
    assert str(MAX_HEADERS) in problem_text(response)


def test_a_body_over_the_limit_is_413_before_it_is_read(guarded: Server) -> None:
    response = httpx.post(
        f"{guarded.url}/sparql",
        content=b"ASK {}" + b" " * MAX_QUERY,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.status_code == 413
    assert str(MAX_QUERY) in problem_text(response)
    # Every route, even one that reads no body.
    assert httpx.request("GET", f"{guarded.url}/", content=b"x" * (MAX_QUERY + 1)).status_code == 413


def test_a_streamed_body_is_stopped_at_the_limit(guarded: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"ASK {}"
        for _ in range(20):
            yield b" " * 1000

    response = httpx.post(
        f"{guarded.url}/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_validate_takes_its_own_larger_limit(guarded: Server) -> None:
    turtle = b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n"
    body = turtle + b"#" * (MAX_QUERY * 3 // 2) + b"\n"  # over max_query_bytes, within max_upload_bytes
    response = httpx.post(f"{guarded.url}/validate", content=body, headers={"Content-Type": "text/turtle"}, timeout=60)
    assert response.status_code == 200, response.text
    too_large = turtle + b"#" * (MAX_UPLOAD * 5) + b"\n"
    response = httpx.post(f"{guarded.url}/validate", content=too_large, headers={"Content-Type": "text/turtle"})
    assert response.status_code == 413


@pytest.mark.parametrize("length", [b"abc", b"-1", b"12, 13"])
def test_a_content_length_that_is_not_a_number_is_400(guarded: Server, length: bytes) -> None:
    request = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
    request += b"Content-Length: " + length + b"\r\nConnection: close\r\n\r\nASK {}"
    status, _ = raw_request(guarded.url, request)
    assert 400 <= status < 500


# --- Bytes that are not UTF-8 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/sparql?query=%FF",
        "/sparql?query=ASK%20%7B%7D&format=%C3%28",
        "/search?q=%E2%82",
        "/doc/place/%FF",
        "/id/place/kuopio%C0%AF",
        "/reconcile?queries=%FE",
        "/browse?class=%80",
        "/?lang=%ED%A0%80",  # a UTF-16 surrogate, which UTF-8 does not encode
    ],
)
def test_percent_escapes_that_are_not_utf8_are_400(guarded: Server, target: str) -> None:
    response = httpx.get(guarded.url + target)
    assert response.status_code == 400, (target, response.status_code, response.text)
    assert "UTF-8" in problem_text(response)


@pytest.mark.parametrize("target", ["/doc/%1F", "/doc/place/a%0D%0ALocation:%20x", "/id/x%7F", "/doc/%00.ttl"])
@pytest.mark.parametrize("validator", [None, "*"])
def test_a_control_character_in_the_path_is_400(guarded: Server, target: str, validator: str | None) -> None:
    """Found by the fuzzer: a 304 for /doc/%1F carried the character in Content-Location, and the
    HTTP server dropped the connection rather than send it."""
    headers = {"If-None-Match": validator} if validator else {}
    response = httpx.get(guarded.url + target, headers=headers)
    assert response.status_code == 400 and "control character" in problem_text(response)


@pytest.mark.parametrize("target", [b"/search?q=\xff", b"/doc/place/\xc3\x28", b"/sparql?query=ASK\xfe{}"])
def test_raw_bytes_that_are_not_utf8_are_4xx_never_5xx(guarded: Server, target: bytes) -> None:
    status, _ = raw_request(guarded.url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert 400 <= status < 500, (target, status)


# --- Security headers ---------------------------------------------------------------------------

PAGES = [
    "/",
    "/sparql",
    "/doc/place/kuopio",
    "/search?q=kuo",
    "/browse",
    "/validate",
    "/catalog",
    "/.well-known/void",
    "/validation-report",
    "/ontology",
    "/shapes",
    "/dumps/",
    "/doc/place/no-such-place",  # the 404 page
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(guarded: Server, path: str) -> None:
    response = httpx.get(guarded.url + path, headers={"Accept": "text/html"}, timeout=60)
    assert response.headers["content-type"].startswith("text/html"), path
    directives = (part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    policy = dict(directives)
    assert policy["script-src"] == "'self'", policy
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_the_reconciliation_preview_may_be_framed_by_openrefine(guarded: Server) -> None:
    """OpenRefine shows /reconcile/preview in an iframe of its own page, on any host and port."""
    response = httpx.get(f"{guarded.url}/reconcile/preview", params={"id": "place/kuopio"})
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers
    assert "script-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/sparql?query=ASK%7B%7D", "application/sparql-results+json"),
        ("/doc/place/kuopio", "text/turtle"),
        ("/static/query-ui.js", "*/*"),
        ("/reconcile", "application/json"),
        ("/health", "*/*"),
        ("/no/such/route", "text/plain"),
    ],
)
def test_every_response_says_nosniff(guarded: Server, path: str, accept: str) -> None:
    response = httpx.get(guarded.url + path, headers={"Accept": accept})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "referrer-policy" in response.headers


# --- Rate limits -------------------------------------------------------------------------------

QUERIES, VALIDATIONS, RECONCILIATIONS = 5, 2, 4


@pytest.fixture(scope="module")
def rate_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    args = ("--no-validate", "--rate-limit-window", "60", "--query-rate-limit", str(QUERIES))
    args += ("--validate-rate-limit", str(VALIDATIONS), "--reconcile-rate-limit", str(RECONCILIATIONS))
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as server:
        yield server


def assert_limited(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= 60
    text = problem_text(response)
    assert what in text and "per 60 seconds" in text, text


def test_queries_beyond_the_rate_limit_are_429_with_retry_after(rate_limited: Server) -> None:
    with httpx.Client(base_url=rate_limited.url, timeout=30) as client:
        for _ in range(3):  # neither the UI, nor the service description, nor pages count
            assert client.get("/sparql", headers={"Accept": "text/html"}).status_code == 200
            assert client.get("/sparql", headers={"Accept": "text/turtle"}).status_code == 200
            assert client.get("/doc/place/kuopio").status_code == 200
        statuses = [client.get("/sparql", params={"query": "ASK {}"}).status_code for _ in range(QUERIES - 1)]
        statuses.append(
            client.post("/sparql", content="ASK {}", headers={"Content-Type": "application/sparql-query"}).status_code
        )
        assert statuses == [200] * QUERIES
        assert_limited(client.get("/sparql", params={"query": "ASK {}"}), "queries")
        assert_limited(client.post("/sparql", data={"query": "ASK {}"}), "queries")
        assert client.options("/sparql", headers={"Origin": "http://a.example", "Access-Control-Request-Method": "GET"})
        # Other routes are not limited, and the 429 is readable by scripts of other origins (CORS).
        assert client.get("/doc/place/kuopio").status_code == 200
        refused = client.get("/sparql", params={"query": "ASK {}"}, headers={"Origin": "http://a.example"})
        assert refused.status_code == 429 and refused.headers["access-control-allow-origin"] == "*"
        # As JSON for programs that ask for it.
        as_json = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "application/json"})
        assert as_json.status_code == 429 and as_json.json()["status"] == 429


def test_validation_beyond_the_rate_limit_is_429(rate_limited: Server) -> None:
    turtle = b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n"
    with httpx.Client(base_url=rate_limited.url, timeout=60) as client:
        assert client.get("/validate").status_code == 200  # the form does not count
        for _ in range(VALIDATIONS):
            assert client.post("/validate", content=turtle, headers={"Content-Type": "text/turtle"}).status_code == 200
        assert_limited(client.post("/validate", content=turtle, headers={"Content-Type": "text/turtle"}), "validation")
        assert client.get("/validate").status_code == 200


def test_reconciliation_beyond_the_rate_limit_is_429(rate_limited: Server) -> None:
    with httpx.Client(base_url=rate_limited.url, timeout=60) as client:
        paths = ["/reconcile", "/reconcile/suggest/entity?prefix=kuo", "/reconcile/preview?id=place/kuopio"]
        statuses = [client.get(paths[i % len(paths)]).status_code for i in range(RECONCILIATIONS)]
        assert statuses == [200] * RECONCILIATIONS
        assert_limited(client.get("/reconcile/suggest/type?prefix=ci"), "reconciliation")


def test_cors_preflights_carry_the_headers_too(guarded: Server) -> None:
    preflight = {"Origin": "http://a.example", "Access-Control-Request-Method": "POST"}
    response = httpx.options(f"{guarded.url}/sparql", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"


# --- The token bucket, on a clock of our own ------------------------------------------------------


def scope(path: str = "/sparql", method: str = "POST", client: str = "192.0.2.1") -> dict:
    return {"type": "http", "path": path, "method": method, "query_string": b"", "client": (client, 1234)}


def test_a_client_gets_its_allowance_at_once_then_the_limits_pace() -> None:
    now = [1000.0]
    rates = RateLimits(Settings(query_rate_limit=6, rate_limit_window=60), clock=lambda: now[0])
    assert [rates.wait(scope()) for _ in range(6)] == [None] * 6
    refused = rates.wait(scope())
    assert refused is not None and refused.seconds == 10  # one query per 10 seconds
    assert rates.wait(scope(client="192.0.2.2")) is None  # another client has its own allowance
    now[0] += 9.5
    assert rates.wait(scope()) is not None
    now[0] += 0.6
    assert rates.wait(scope()) is None
    assert rates.wait(scope()) is not None


def test_what_counts_and_what_does_not() -> None:
    rates = RateLimits(Settings(query_rate_limit=1, validate_rate_limit=1, reconcile_rate_limit=1))
    for _ in range(3):
        assert rates.wait(scope("/sparql", "GET")) is None  # the UI or the service description
        assert rates.wait(scope("/sparql", "OPTIONS")) is None
        assert rates.wait(scope("/validate", "GET")) is None  # the form
        assert rates.wait(scope("/doc/place/kuopio", "GET")) is None
    assert rates.wait({**scope("/sparql", "GET"), "query_string": b"query=ASK%7B%7D"}) is None
    assert rates.wait({**scope("/sparql", "GET"), "query_string": b"format=json&query=ASK"}) is not None
    assert rates.wait(scope("/validate")) is None and rates.wait(scope("/validate")) is not None
    assert rates.wait(scope("/reconcile/preview", "GET")) is None and rates.wait(scope("/reconcile")) is not None


def test_off_is_off_and_idle_clients_are_forgotten() -> None:
    off = RateLimits(Settings(query_rate_limit=0))
    assert all(off.wait(scope()) is None for _ in range(1000))
    now = [0.0]
    rates = RateLimits(Settings(query_rate_limit=2, rate_limit_window=1), clock=lambda: now[0])
    for n in range(50):
        rates.wait(scope(client=f"192.0.2.{n}"))
    now[0] += 5
    rates.forget_idle(now[0])
    assert rates.buckets == {}


@pytest.mark.parametrize("validator", [None, "*"])
def test_a_path_beyond_latin_1_is_answered_with_ascii_headers(guarded: Server, validator: str | None) -> None:
    """Found by the fuzzer: /doc/Ā with If-None-Match: * was a 500, its Content-Location not
    encodable in an HTTP header; the path now goes into headers percent-encoded."""
    headers = {"If-None-Match": validator} if validator else {}
    response = httpx.get(f"{guarded.url}/doc/%C4%80", headers={**headers, "Accept": "text/turtle"})
    assert response.status_code in (304, 404)
    if "content-location" in response.headers:
        assert response.headers["content-location"] == "/doc/%C4%80.ttl"
