"""Every page works under its Content-Security-Policy (no inline script runs, and none is needed),
and hostile data render inert: `<script>` in literals, `javascript:` and `data:` IRIs, right-to-left
overrides, a 100 kB label; in real headless Chromium, on a server whose data hold all of them."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.live import live_server

pytestmark = pytest.mark.browser

SCRIPT = '</script><script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
RTL = "Kuopio\u202egnp.exe"
LONG = "L" * 100_000
HOSTILE_IRIS = (
    "javascript:window.__pwned=3",
    "JavaScript:window.__pwned=4",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==",  # <script>alert(5)</script>
)
TIMEOUT_MS = 30_000


def turtle_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data") / "data"
    shutil.copytree(Path(__file__).resolve().parent.parent / "data", data)
    links = " ;\n".join(f"    owl:sameAs <{iri}>" for iri in HOSTILE_IRIS)
    (data / "seeds" / "998-hostile-csp.ttl").write_text(
        "@prefix sc: <https://w3id.org/sistercities/ontology#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://w3id.org/sistercities/id/place/hostile> a sc:City ;\n"
        f"    skos:prefLabel {turtle_string(SCRIPT)}@en ;\n"
        f"    skos:altLabel {turtle_string(RTL)}@en, {turtle_string(LONG)}@fi ;\n"
        f"    rdfs:comment {turtle_string(SCRIPT)} ;\n"
        f"{links} ;\n"
        "    sc:partOf <https://w3id.org/sistercities/id/place/finland> .\n",
        encoding="utf-8",
    )
    env = {"SISTERCITIES_DATA_DIR": str(data)}
    with live_server("--no-validate", cache_dir=tmp_path_factory.mktemp("cache"), env=env) as server:
        yield server.url


@dataclass
class Watched:
    """A page whose CSP violations, console errors, uncaught errors and dialogs are recorded."""

    page: Page
    problems: list[str] = field(default_factory=list)


RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    record = Watched(page)
    page.on("pageerror", lambda error: record.problems.append(f"error: {error}"))
    page.on("dialog", lambda dialog: record.problems.append(f"dialog: {dialog.message}"))
    page.on(
        "console",
        lambda message: (
            record.problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield record
    context.close()


def assert_inert(watched: Watched) -> None:
    page = watched.page
    assert page.evaluate("window.__violations") == [], "CSP violations"
    assert watched.problems == []
    assert page.evaluate("window.__pwned") is None
    hrefs = page.eval_on_selector_all("a[href], area[href]", "links => links.map(a => a.getAttribute('href'))")
    dangerous = [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript):", h, re.IGNORECASE)]
    assert dangerous == [], dangerous


PAGES = [
    ("/", "h1"),
    ("/doc/place/kuopio", ".leaflet-container"),  # a map and a timeline: the vendored scripts run
    ("/doc/agreement/kuopio-pudong", "h1"),
    ("/doc/place/hostile", "h1"),
    ("/doc/place/finland", "h1"),
    ("/search?q=script", "main"),
    ("/search?q=" + quote(RTL), "main"),
    ("/browse?class=https%3A%2F%2Fw3id.org%2Fsistercities%2Fontology%23City", "main"),
    ("/catalog", "h1"),
    ("/.well-known/void", "h1"),
    ("/validation-report", "h1"),
    ("/ontology", "h1"),
    ("/shapes", "h1"),
    ("/dumps/", "h1"),
    ("/validate", "form"),
    ("/doc/place/" + quote("<script>alert(1)</script>"), "main"),  # a 404 page
    ("/reconcile/preview?id=place/hostile", ".reconcile-card"),
]


@pytest.mark.parametrize(("path", "ready"), PAGES, ids=[p for p, _ in PAGES])
def test_pages_run_under_their_policy_and_hostile_data_stay_inert(watched: Watched, hostile_url: str, path, ready):
    response = watched.page.goto(hostile_url + path)
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    expect(watched.page.locator(ready).first).to_be_attached()
    watched.page.wait_for_load_state("networkidle")
    assert_inert(watched)


def test_the_hostile_page_shows_the_literals_as_text(watched: Watched, hostile_url: str) -> None:
    page = watched.page
    page.goto(f"{hostile_url}/doc/place/hostile")
    expect(page.locator("main")).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.locator("main").evaluate(f"m => m.textContent.includes('{LONG}')")
    # The javascript: and data: IRIs are shown, but not as links.
    for iri in HOSTILE_IRIS:
        shown = page.locator(f'main [title="{iri}"]')
        expect(shown.first).to_be_attached()
        assert shown.evaluate_all("nodes => nodes.filter(n => n.closest('a[href]')).length") == 0
    assert_inert(watched)


# Elements whose own text holds a right-to-left override, and that do not confine it (an inline
# element whose text direction is not isolated from what follows it).
LEAKING_OVERRIDES = """() => [...document.querySelectorAll('body *')].filter(e =>
    [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.includes('\u202e'))
    && getComputedStyle(e).display.startsWith('inline')
    && !['isolate', 'isolate-override', 'plaintext'].includes(getComputedStyle(e).unicodeBidi)
).map(e => e.outerHTML.slice(0, 200))"""


@pytest.mark.parametrize("path", ["/doc/place/hostile", "/search?q=" + quote(RTL), "/doc/place/finland"])
def test_right_to_left_overrides_stay_in_their_element(watched: Watched, hostile_url: str, path: str) -> None:
    """A name holding U+202E cannot reverse the text after it: it is shown in a block of its own
    or in an inline element that isolates its direction."""
    page = watched.page
    page.goto(hostile_url + path)
    shown = page.evaluate("() => document.body.textContent.includes('\u202e')")
    assert shown or path.endswith("finland")
    assert page.evaluate(LEAKING_OVERRIDES) == []


def test_the_query_ui_runs_queries_under_its_policy(watched: Watched, hostile_url: str) -> None:
    """The query UI (YASGUI, map and timeline) works with the policy, and hostile values in answers
    are shown inert."""
    page = watched.page
    query = (
        "SELECT ?s ?label ?link WHERE { <https://w3id.org/sistercities/id/place/hostile> ?p ?link . "
        "BIND(<https://w3id.org/sistercities/id/place/hostile> AS ?s) "
        "<https://w3id.org/sistercities/id/place/hostile> <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }"
    )
    page.goto(f"{hostile_url}/sparql?query={quote(query)}")
    expect(page.locator(".yasr_results table.dataTable tbody tr").first).to_be_visible()
    expect(page.locator(".yasr_results")).to_contain_text("<script>window.__pwned = 1</script>")
    # The javascript: and data: IRIs of the answer are shown, but not as links.
    for iri in HOSTILE_IRIS:
        expect(page.locator(f'.yasr_results [title="{iri}"]').first).to_be_attached()
    assert_inert(watched)


def test_validation_form_runs_under_its_policy(watched: Watched, hostile_url: str) -> None:
    page = watched.page
    page.goto(f"{hostile_url}/validate")
    page.locator("textarea").fill(
        "@prefix sc: <https://w3id.org/sistercities/ontology#> .\n"
        f"<https://example.org/x> a sc:PartnershipAgreement ; sc:quotation {turtle_string(SCRIPT)} .\n"
    )
    page.locator("form.validate-form [type=submit]").click()
    expect(page.locator("main")).to_contain_text("example.org/x")
    assert_inert(watched)
