"""Screenshots of the pages people use, for docs/pages.md: headless Chromium at 1280 and 390 px.

    .venv/bin/python scripts/screenshots.py            # into docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out DIR

Starts the server on the bundled data on a free port (as the tests do), blocks every request
outside it (the pages must not need any), and keeps the files small: the first screen of each
page, not the whole length, as 8-bit PNG when Pillow is at hand.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.running import live_server  # noqa: E402 - after the checkout is on the path

CHROMIUM = "/usr/bin/chromium"
DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
SHANGHAI_TWINS = (ROOT / "queries" / "02-shanghai-sister-cities.rq").read_text(encoding="utf-8")
BROKEN = (
    (ROOT / "server" / "validation" / "starter.ttl")
    .read_text(encoding="utf-8")
    .replace("agt:sister-city ;", "agt:sistercity ;")
    .replace("sc:party place:espoo , place:shanghai ;", "sc:party place:espoo ;")
)


def run_query(page: Page) -> None:
    page.locator(".yasr_results tbody tr").first.wait_for()


def check_broken_file(page: Page) -> None:
    page.locator("#data").fill(BROKEN)
    page.locator(".validate-form button[type=submit]").click()
    page.locator("section.report").wait_for()
    page.locator("#near-misses").scroll_into_view_if_needed()


def scroll_to(selector: str):
    def action(page: Page) -> None:
        page.locator(selector).first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)

    return action


# (file name, path, viewport, what to do before the picture)
SHOTS = (
    ("home", "/", DESKTOP, None),
    ("home-fi-phone", "/?lang=fi", PHONE, None),
    ("city-kuopio", "/doc/place/kuopio", DESKTOP, None),
    ("city-kuopio-phone", "/doc/place/kuopio", PHONE, None),
    ("city-shanghai-figures", "/doc/place/shanghai", DESKTOP, scroll_to("#figures")),
    ("city-kuopio-map", "/doc/place/kuopio", DESKTOP, scroll_to("#map-heading")),
    ("agreement-kuopio-pudong", "/doc/agreement/kuopio-pudong", DESKTOP, None),
    ("agreement-kuopio-pudong-phone", "/doc/agreement/kuopio-pudong?lang=sv", PHONE, None),
    ("search", "/search?q=Kuopio%20Pudong", DESKTOP, None),
    ("search-phone", "/search?q=Bejing&lang=fi", PHONE, None),
    ("query", f"/sparql?query={quote(SHANGHAI_TWINS)}", DESKTOP, run_query),
    ("query-phone", f"/sparql?query={quote(SHANGHAI_TWINS)}&lang=fi", PHONE, run_query),
    ("validate", "/validate", DESKTOP, check_broken_file),
    ("validate-phone", "/validate?lang=fi", PHONE, check_broken_file),
    ("graph-derived", "/doc/graph/derived", DESKTOP, None),
    ("not-found", "/doc/plaec/kuopio?lang=fi", DESKTOP, None),
)


def small_png(data: bytes) -> bytes:
    """An 8-bit palette PNG (a third of the size) when Pillow is installed, else as it is."""
    try:
        from PIL import Image
    except ImportError:
        return data
    image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def only_this_site(url: str):
    """A route handler that lets requests to the site through and refuses every other."""
    return lambda route: route.continue_() if route.request.url.startswith(url) else route.abort()


def take(url: str, out: Path) -> list[Path]:
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for name, path, viewport, before in SHOTS:
            context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
            context.route("**/*", only_this_site(url))
            page = context.new_page()
            page.goto(url + path)
            page.wait_for_load_state("load")
            page.wait_for_timeout(700)  # maps and timelines settle
            if before:
                before(page)
            target = out / f"{name}.png"
            target.write_bytes(small_png(page.screenshot()))
            written.append(target)
            context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as cache, live_server("--no-validate", cache_dir=Path(cache)) as server:
        for path in take(server.url, options.out):
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
