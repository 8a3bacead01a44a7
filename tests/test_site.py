"""The whole site as people use it, in real headless Chromium at 1280 and 390 px and over HTTP.

- a crawl of every internal link reachable from the sitemap finds no dead link, and every link of
  a Finnish page keeps the reader in Finnish;
- no English word of the interface is left on a Finnish or Swedish page (the English of every
  word in server/web/words.toml, checked against each page's text in the page's own language;
  texts marked as another language, such as an English name the data have no Finnish for, are
  left out);
- nothing is wider than a phone at 390 px;
- one click (or Enter) on a link in the SPARQL results opens the page;
- an unknown path gets a page with a search box, in the reader's language;
- pages run under the Content-Security-Policy the hardening work sets (no inline script);
- map markers are reached by keyboard and named; static files are cached.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from server.web.i18n import WORDS_FILE

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CSP = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'"
)
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
# The pages people land on, in each language (the issue's list and more).
PAGES = (
    "/",
    "/doc/place/kuopio",
    "/doc/place/shanghai",
    "/doc/agreement/kuopio-pudong",
    "/doc/agreement/helsinki-beijing",
    "/doc/observation/shanghai-sister-cities-2019",
    "/doc/person/chen-jining",
    "/doc/graph/derived",
    "/doc/dataset/sister-cities",
    "/search?q=Kuopio",
    "/browse?class=https%3A%2F%2Fw3id.org%2Fsistercities%2Fontology%23City",
    "/sparql",
    "/validate",
    "/validate?starter",
    "/dumps/",
    "/validation-report",
    "/catalog",
    "/.well-known/void",
    "/ontology",
    "/shapes",
    "/no/such/page",
)
NARROW_PAGES = (
    "/",
    "/doc/place/kuopio",
    "/doc/place/shanghai",
    "/doc/agreement/kuopio-pudong",
    "/search?q=Shanghai",
    "/sparql",
    "/validate",
    "/validate?starter",
    "/dumps/",
    "/catalog",
    "/.well-known/void",
    "/shapes",
    "/no/such/page",
)


# --- Crawling ------------------------------------------------------------------------------------


class Links(HTMLParser):
    """Every link of a page a browser would follow or load; `pages` only the links to pages (not
    the language switcher's, nor files: a download or a link that names its media type); forms
    carry the language in a hidden field."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.pages: list[str] = []
        self.form_languages: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        for name in ("href", "src", "action"):
            if attributes.get(name) and tag in ("a", "link", "script", "img", "form"):
                self.found.append(attributes[name])
        if tag == "a" and attributes.get("href") and not {"hreflang", "download", "type"} & set(attributes):
            self.pages.append(attributes["href"])
        if tag == "input" and attributes.get("name") == "lang":
            self.form_languages.append(attributes.get("value") or "")


def links_of(text: str) -> list[str]:
    parser = Links()
    parser.feed(text)
    return parser.found


def without_language(url: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@pytest.mark.slow
def test_no_page_reachable_from_the_sitemap_links_to_a_dead_end(http: httpx.Client, server_url: str) -> None:
    """Every page of the sitemap and every page they link to, and so on: each internal link (pages,
    style sheets, scripts, forms) answers without an error."""
    sitemap = http.get("/sitemap.xml").text
    start = [without_language(u) for u in re.findall(r"<loc>(.*?)</loc>", sitemap)]
    start += [f"{server_url}{p}" for p in ("/doc/dataset/sister-cities", "/validate", "/shapes", "/search?q=Kuopio")]
    host = urlsplit(server_url).netloc
    queue, seen, referrers, dead = list(dict.fromkeys(start)), set(start), {}, []
    while queue:
        url = queue.pop()
        response = http.get(url, headers={"Accept": FIREFOX})
        if response.status_code >= 400:
            dead.append((response.status_code, url, sorted(referrers.get(url, ()))[:3]))
            continue
        if not response.headers.get("content-type", "").startswith("text/html") or "/sparql" in url:
            continue
        for link in links_of(response.text):
            target = urljoin(url, link)
            if urlsplit(target).netloc != host:
                continue
            key = without_language(target)
            referrers.setdefault(key, set()).add(url)
            if key not in seen:
                seen.add(key)
                queue.append(key)
    assert len(seen) > 300
    assert dead == []


def test_links_keep_the_reader_language(http: httpx.Client, server_url: str) -> None:
    """On a Finnish page, every link to another page of the site carries ?lang=fi."""
    host = urlsplit(server_url).netloc
    for path in PAGES:
        response = http.get(path, params={"lang": "fi"}, headers={"Accept": FIREFOX})
        parser = Links()
        parser.feed(response.text)
        assert set(parser.form_languages) <= {"fi"}, path
        lost = []
        for link in parser.pages:
            target = urlsplit(urljoin(server_url + path, link))
            if target.netloc != host or target.path.startswith(("/static/", "/dumps/sistercities")):
                continue
            if re.search(r"\.(ttl|jsonld|rdf|nt|trig|nq|json|xml)$", target.path) or target.path.startswith("/dumps/"):
                continue  # files for programs, not pages
            if ("lang", "fi") not in parse_qsl(target.query, keep_blank_values=True) and not link.startswith("#"):
                lost.append(link)
        assert lost == [], path


def test_an_unknown_path_is_a_page_for_people_and_text_for_programs(http: httpx.Client) -> None:
    page = http.get("/no/such/page", params={"lang": "sv"}, headers={"Accept": FIREFOX})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="sv">' in page.text and "Hittades inte" in page.text
    assert re.search(r'<form class="search" action="[^"]*/search"', page.text)
    plain = http.get("/no/such/page")
    assert plain.status_code == 404 and plain.headers["content-type"].startswith("text/plain")
    problem = http.get("/no/such/page", headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.json()["status"] == 404
    assert http.delete("/search").status_code == 405


def test_large_static_files_are_cached(http: httpx.Client) -> None:
    vendored = http.get("/static/vendor/yasgui/yasgui.min.js")
    assert vendored.headers["cache-control"] == "public, max-age=604800" and vendored.headers["etag"]
    own = http.get("/static/site.css")
    assert own.headers["cache-control"] == "public, max-age=3600"
    again = http.get("/static/site.css", headers={"If-None-Match": own.headers["etag"]})
    assert again.status_code == 304


def test_pages_have_no_inline_script_or_style(http: httpx.Client) -> None:
    """Scripts come from files and data blocks are JSON, as the Content-Security-Policy asks."""
    for path in PAGES:
        text = http.get(path, headers={"Accept": FIREFOX}).text
        for match in re.finditer(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script>", text, re.DOTALL):
            attributes, body = match["attributes"], match["body"].strip()
            assert "src=" in attributes or re.search(r'type="application/(ld\+)?json"', attributes), (path, body[:80])
        assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", text), path
        assert "<style" not in text and " style=" not in text, path


# --- In the browser ------------------------------------------------------------------------------


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def english_words(language: str) -> list[str]:
    """The English of the interface's words that differ in `language`, and the fixed parts of
    those with placeholders; the site's name is a name."""
    with WORDS_FILE.open("rb") as file:
        words = tomllib.load(file)
    own = "\n".join(texts[language] for texts in words.values())  # "version" is Finnish too
    found = set()
    for key, texts in words.items():
        english = texts["en"]
        if key == "site" or english == texts[language]:
            continue
        for part in re.split(r"\{\w+\}|_[A-Z]+_", english):
            part = part.strip(" .,:;()")
            if len(part) >= 4 and not re.search(rf"(?<![\w-]){re.escape(part)}(?![\w-])", own):
                found.add(part)
    return sorted(found, key=len, reverse=True)


# The text of a page a reader of its language reads: visible, outside code, what the reader typed
# (a text box) and the results' data (column heads are the query's variable names, such as
# ?disputed; cells hold IRIs such as status:disputed), and not marked as being in another language.
PAGE_TEXT = """(lang) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!element || !element.checkVisibility()) continue;
    if (element.closest("script, code, pre, textarea, .CodeMirror, .yasr_results thead, .yasr_results td")) continue;
    const marked = element.closest("[lang]");
    if (marked && marked.getAttribute("lang") !== lang) continue;
    out.push(walker.currentNode.textContent);
  }
  for (const element of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
    const marked = element.closest("[lang]");
    if (!element.checkVisibility() || (marked && marked.getAttribute("lang") !== lang)) continue;
    for (const name of ["placeholder", "aria-label"]) {
      if (element.getAttribute(name)) out.push(element.getAttribute(name));
    }
  }
  return out.join("\\n");
}"""


def english_left(page: Page, language: str) -> list[str]:
    text = page.evaluate(PAGE_TEXT, language)
    return [w for w in english_words(language) if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fi", "sv"])
def test_no_english_is_left_on_finnish_and_swedish_pages(desktop: Page, server_url: str, language: str) -> None:
    left = {}
    for path in PAGES:
        joiner = "&" if "?" in path else "?"
        desktop.goto(f"{server_url}{path}{joiner}lang={language}")
        expect(desktop.locator("html")).to_have_attribute("lang", language)
        if path == "/sparql":  # the results' own words too
            desktop.locator(".qui-example").nth(1).click()
            expect(desktop.locator(".yasr_results tbody tr").first).to_be_visible()
        if path == "/validate?starter":  # and a report
            desktop.locator(".validate-form button[type=submit]").click()
            expect(desktop.locator("section.report")).to_be_visible()
        if found := english_left(desktop, language):
            left[path] = found
    assert left == {}


@pytest.mark.browser
@pytest.mark.parametrize("path", NARROW_PAGES)
def test_nothing_is_wider_than_a_phone(phone: Page, server_url: str, path: str) -> None:
    phone.goto(server_url + path)
    phone.wait_for_load_state("load")
    if path == "/sparql":
        phone.locator(".qui-examples summary").click()
        phone.locator(".qui-example").nth(1).click()
        expect(phone.locator(".yasr_results tbody tr").first).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide"


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_one_click_opens_a_link_in_the_results(browser: Browser, server_url: str, viewport: dict) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    cities = "SELECT ?place WHERE { ?place a <https://w3id.org/sistercities/ontology#City> } LIMIT 5"
    page.goto(f"{server_url}/sparql?query={quote(cities)}")
    link = page.locator(".yasr_results tbody a.iri").first
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    with page.expect_navigation():
        link.click()
    assert urlsplit(page.url).path == urlsplit(href).path.replace("/id/", "/doc/", 1)
    expect(page.locator("h1")).to_be_visible()
    # And Enter on a focused link.
    page.go_back()
    link = page.locator(".yasr_results tbody a.iri").nth(1)
    expect(link).to_be_visible()
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path.startswith("/doc/")
    width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert width <= viewport["width"]


@pytest.mark.browser
def test_a_broken_link_gets_a_page_with_search(desktop: Page, server_url: str) -> None:
    response = desktop.goto(f"{server_url}/doc/plaec/kuopio?lang=fi")
    assert response.status == 404
    expect(desktop.locator("h1")).to_contain_text("Ei löytynyt")
    desktop.locator("form.search input[type=search]").fill("Kuopio")
    desktop.locator("form.search button").click()
    expect(desktop.locator("ol.results a").first).to_have_attribute("href", "/doc/place/kuopio?lang=fi")


@pytest.mark.browser
# Espoo: a place page with both a map and a timeline on its first page (Shanghai's first pages list
# the 2016 crawl's statements; its agreements come later).
@pytest.mark.parametrize("path", ["/doc/place/espoo", "/sparql", "/validate?starter", "/search?q=Kuopio"])
def test_pages_work_under_the_content_security_policy(browser: Browser, server_url: str, path: str) -> None:
    """No script is refused (the vendored components' inline style attributes may be, harmlessly)."""
    context = browser.new_context(viewport=DESKTOP)

    def with_policy(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    context.route(f"{server_url}/**", with_policy)
    page = context.new_page()
    refused, errors = [], []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server_url + path)
    if path == "/sparql":
        page.locator(".qui-example").nth(1).click()
        expect(page.locator(".yasr_results tbody tr").first).to_be_visible()
    elif path.startswith("/doc/"):
        expect(page.locator("#map .place-marker").first).to_be_visible()
        expect(page.locator("#timeline .vis-item").first).to_be_visible()
    else:
        page.wait_for_load_state("load")
    # A request still being routed when the context closes would fail in the next test's context
    # ("Fetch response has been disposed"): the routes go first, their errors ignored.
    context.unroute_all(behavior="ignoreErrors")
    context.close()
    assert errors == []
    assert [m for m in refused if "inline style" not in m] == []


@pytest.mark.browser
def test_map_markers_are_named_and_reached_by_keyboard(desktop: Page, server_url: str) -> None:
    desktop.goto(f"{server_url}/doc/place/espoo")  # twinned with Shanghai (Kuopio's claim is disputed)
    markers = desktop.locator("#map .place-marker")
    expect(markers.first).to_be_visible()
    names = [markers.nth(i).get_attribute("aria-label") for i in range(markers.count())]
    assert "Espoo" in names and any(n.startswith("Shanghai (") for n in names)  # with how it is linked
    shanghai = desktop.locator("#map .place-marker[aria-label^='Shanghai']")
    assert shanghai.get_attribute("tabindex") == "0"
    shanghai.focus()
    with desktop.expect_navigation():
        desktop.keyboard.press("Enter")
    assert urlsplit(desktop.url).path == "/doc/place/shanghai"


@pytest.mark.browser
def test_the_timeline_shows_every_item_at_first(desktop: Page, server_url: str) -> None:
    desktop.goto(f"{server_url}/doc/place/kuopio")
    timeline = desktop.locator("#timeline")
    expect(timeline.locator(".vis-item").first).to_be_visible()
    box = timeline.bounding_box()
    for item in timeline.locator(".vis-item .vis-item-content").all():
        inner = item.bounding_box()
        assert inner and box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 1
    items = desktop.locator("#timeline .vis-item.vis-point, #timeline .vis-item.vis-range")
    assert desktop.locator("ol.timeline-list li").count() == items.count()
