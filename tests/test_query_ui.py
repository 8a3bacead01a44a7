"""The query UI at /sparql in real headless Chromium: examples, shareable URLs, labels, downloads,
map and timeline views, errors, truncation, and no request to any host but the server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.live import live_server

BASE = "https://w3id.org/sistercities/"
SHANGHAI_TWINS = re.compile(r"^Shanghai's sister cities")
COORDINATES = re.compile(r"^Wikidata and GeoNames identifiers and coordinates")
KUOPIO_PUDONG_TIMELINE = re.compile(r"^Timeline of the Kuopio-Pudong cooperation")
ROWS = ".yasr_results table.dataTable tbody tr"
RESULT_COUNT = re.compile(r"(\d+) results?")
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def capped_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server whose answers are cut at 5 rows."""
    with live_server("--no-validate", "--max-result-rows", "5", cache_dir=tmp_path_factory.mktemp("capped")) as server:
        yield getattr(server, "url", server)  # a Server (url, pid), or the URL itself


@dataclass
class UI:
    """A browser context with its page, recording uncaught errors and every request."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def assert_no_page_errors(self) -> None:
        assert self.errors == [], f"uncaught JavaScript errors: {self.errors}"


@pytest.fixture
def ui(browser: Browser) -> Iterator[UI]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    recorder = UI(context, page=None)  # type: ignore[arg-type]
    context.on("request", lambda request: recorder.requests.append(request.url))
    recorder.page = recorder.new_page()
    yield recorder
    context.close()


def run_example(page: Page, title: re.Pattern[str]) -> None:
    page.get_by_role("button", name=title).click()
    expect(page.locator(ROWS).first).to_be_visible()
    expect(page.locator(".yasr_response_chip")).to_have_text(RESULT_COUNT)


def result_count(page: Page) -> int:
    expect(page.locator(".yasr_response_chip")).to_have_text(RESULT_COUNT)
    return int(RESULT_COUNT.search(page.locator(".yasr_response_chip").inner_text()).group(1))


def editor_text(page: Page) -> str:
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")


def set_editor_text(page: Page, text: str) -> None:
    page.evaluate("text => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", text)


def run_editor(page: Page) -> None:
    page.locator(".yasqe_queryButton").click()


@pytest.mark.browser
def test_example_runs_with_labels_linking_to_resource_pages(ui: UI, server_url: str) -> None:
    page = ui.page
    page.goto(f"{server_url}/sparql")
    example = page.get_by_role("button", name=SHANGHAI_TWINS)
    run_example(page, SHANGHAI_TWINS)
    expect(example).to_have_attribute("aria-current", "true")
    expect(page.locator(ROWS).nth(4)).to_be_visible()  # at least 5 rows
    assert result_count(page) >= 5
    # The partner column: the IRI's label (looked up), linking to this server's page. Casablanca has
    # two rows, one per source: seed 001 (since 1986) and the 2016 Wikidata crawl.
    casablanca = page.locator(f"{ROWS} a.iri[title='{BASE}id/place/casablanca']")
    expect(casablanca).to_have_text(["Casablanca", "Casablanca"])
    assert {casablanca.nth(i).get_attribute("href") for i in range(2)} == {f"{server_url}/id/place/casablanca"}
    expect(page.locator(".qui-banner-truncated")).to_be_hidden()
    ui.assert_no_page_errors()


@pytest.mark.browser
def test_shareable_url_reopens_and_runs_the_same_query(ui: UI, server_url: str) -> None:
    page = ui.page
    page.goto(f"{server_url}/sparql")
    run_example(page, SHANGHAI_TWINS)
    expect(page).to_have_url(re.compile(r"/sparql\?query="))
    query, count = editor_text(page), result_count(page)

    shared = ui.new_page()
    shared.goto(page.url)
    expect(shared.locator(ROWS).first).to_be_visible()
    assert result_count(shared) == count
    assert editor_text(shared) == query
    expect(shared.get_by_role("button", name=SHANGHAI_TWINS)).to_have_attribute("aria-current", "true")

    # An edited query is shareable too, and the first page load of /sparql runs nothing.
    fresh = ui.new_page()
    fresh.goto(f"{server_url}/sparql")
    expect(fresh.locator(".CodeMirror")).to_be_visible()
    expect(fresh.locator(".yasr_results table")).to_have_count(0)
    expect(fresh.get_by_role("button", name="Copy link")).to_be_visible()
    ui.assert_no_page_errors()


@pytest.mark.browser
def test_download_links_for_results_and_graphs(ui: UI, server_url: str) -> None:
    page = ui.page
    page.goto(f"{server_url}/sparql")
    run_example(page, SHANGHAI_TWINS)
    menu = page.locator(".qui-download summary")
    menu.click()
    links = page.locator(".qui-download-list a")
    expect(links).to_have_count(4)
    csv = page.locator(".qui-download-list a[data-format='csv']")
    expect(csv).to_be_visible()
    assert csv.get_attribute("download") == "02-shanghai-sister-cities-results.csv"
    response = page.request.get(csv.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text().splitlines()[0] == "partner,partnerLabel,year,status,source,agreement"

    # The form is read after the prologue (comments, PREFIX): CONSTRUCT offers RDF formats.
    menu.click()
    expect(links.first).to_be_hidden()
    set_editor_text(page, f"# SELECT in a comment\nPREFIX sc: <{BASE}ontology#>\nCONSTRUCT WHERE {{ ?s a sc:Place }}")
    menu.click()
    expect(links).to_have_count(6)
    formats = [link.get_attribute("data-format") for link in links.all()]
    assert formats == ["turtle", "jsonld", "rdfxml", "ntriples", "trig", "nquads"]
    turtle = page.request.get(page.locator(".qui-download-list a[data-format='turtle']").get_attribute("href"))
    assert turtle.ok
    assert turtle.headers["content-type"].startswith("text/turtle")
    ui.assert_no_page_errors()


@pytest.mark.browser
def test_map_offered_for_coordinates_and_timeline_for_dates(ui: UI, server_url: str) -> None:
    page = ui.page
    page.goto(f"{server_url}/sparql")
    map_button = page.locator(".yasr .select_map")
    timeline_button = page.locator(".yasr .select_timeline")

    run_example(page, SHANGHAI_TWINS)  # neither coordinates nor typed dates
    expect(map_button).to_be_hidden()
    expect(timeline_button).to_be_hidden()

    run_example(page, COORDINATES)  # wgs:lat / wgs:long
    expect(timeline_button).to_be_hidden()
    map_button.click()
    markers = page.locator(".qui-map path.qui-marker")
    expect(markers.nth(9)).to_be_attached()  # at least 10 places
    expect(page.locator(".qui-map .leaflet-basemap-pane path").nth(50)).to_be_attached()  # country outlines
    markers.first.dispatch_event("click")
    popup_link = page.locator(".leaflet-popup-content a")
    expect(popup_link).to_have_attribute("href", re.compile(rf"^{re.escape(server_url)}/id/place/"))

    run_example(page, KUOPIO_PUDONG_TIMELINE)  # xsd:gYear, xsd:gYearMonth, xsd:date
    expect(map_button).to_be_hidden()
    timeline_button.click()
    items = page.locator(".qui-timeline .vis-item.vis-point")
    expect(items.nth(4)).to_be_attached()
    expect(page.locator(".qui-timeline")).to_contain_text("Kuopio Photo Exhibition Pudong")
    ui.assert_no_page_errors()


@pytest.mark.browser
def test_errors_show_the_servers_message(ui: UI, server_url: str) -> None:
    page = ui.page
    broken = "SELECT * WHERE {\n  ?s ?p\n}"
    page.goto(f"{server_url}/sparql?query={quote(broken)}")  # a shared URL runs at once
    error = page.locator(".qui-error")
    expect(error).to_contain_text("syntax error")
    expect(error).to_contain_text(re.compile(r"400 Bad Request: Syntax error at line 3, column \d+"))
    expect(page.locator(".CodeMirror .qui-error-line")).to_have_count(1)

    # A query over the time limit: the server's 503 message, said plainly.
    message = "503 Service Unavailable: The query ran longer than the limit of 30 seconds and was stopped.\n"
    page.route(
        f"{server_url}/sparql",
        lambda route: (
            route.fulfill(status=503, body=message, content_type="text/plain")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    set_editor_text(page, "SELECT * WHERE { ?s ?p ?o }")
    run_editor(page)
    expect(error).to_contain_text("ran longer than the time limit")
    expect(error).to_contain_text(message.strip())
    ui.assert_no_page_errors()


@pytest.mark.browser
def test_truncated_answer_is_announced(ui: UI, capped_url: str) -> None:
    page = ui.page
    page.goto(f"{capped_url}/sparql?query={quote('SELECT * WHERE { ?s ?p ?o }')}")
    banner = page.locator(".qui-banner-truncated")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Only the first 5 rows are shown")
    expect(page.locator(ROWS)).to_have_count(5)
    # A query under the cap clears the banner.
    set_editor_text(page, "SELECT * WHERE { ?s ?p ?o } LIMIT 2")
    run_editor(page)
    expect(page.locator(".yasr_response_chip")).to_have_text(re.compile(r"^2 results"))
    expect(banner).to_be_hidden()
    ui.assert_no_page_errors()


@pytest.mark.browser
def test_no_request_leaves_the_server(ui: UI, server_url: str) -> None:
    page = ui.page
    page.goto(f"{server_url}/sparql")
    run_example(page, COORDINATES)
    page.locator(".yasr .select_map").click()
    expect(page.locator(".qui-map .leaflet-basemap-pane path").first).to_be_attached()
    run_example(page, KUOPIO_PUDONG_TIMELINE)
    page.locator(".yasr .select_timeline").click()
    expect(page.locator(".qui-timeline .vis-item").first).to_be_attached()
    # Typing a prefixed name runs the editor's completers, which must not call LOV or prefix.cc.
    set_editor_text(page, "SELECT * WHERE { ?s a ")
    page.locator(".CodeMirror textarea").focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("sc:Pl")
    expect(page.locator(".CodeMirror")).to_contain_text("PREFIX sc: <https://w3id.org/sistercities/ontology#>")

    assert len(ui.requests) > 10
    outside = [
        url
        for url in ui.requests
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert outside == []
    ui.assert_no_page_errors()
