"""The validation form as a municipal data officer iterates with it, against the real server.

The text stays in the form, a starter file shows the expected shape (sources included) and
conforms, every problem names the line of its node (in the form, in JSON and in the command
line's report), a syntax error names the line where the mistake most likely is, a mistyped term
gets the term it probably means, and the form is linked from the home page and the menu.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from server.validation.hints import closest, syntax_hint
from server.validation.validator import RdfSyntaxError

STARTER = Path(__file__).resolve().parent.parent / "server" / "validation" / "starter.ttl"


def checked(http: httpx.Client, text: str, lang: str = "en", **fields: str) -> httpx.Response:
    """The form sent as a browser sends it (multipart, with an empty file field)."""
    form = {"data": text, "format": "auto", **fields}
    return http.post("/validate", params={"lang": lang}, data=form, files={"file": ("", b"")})


def textarea(page: str) -> str:
    return html.unescape(re.search(r'<textarea id="data"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1))


def test_the_starter_file_downloads_and_conforms(http: httpx.Client) -> None:
    response = http.get("/validate/starter.ttl")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    assert "attachment" in response.headers["content-disposition"]
    assert "dct:source" in response.text and "sc:sourceLocator" in response.text  # how to state a source
    report = http.post("/validate", content=response.content, headers={"Content-Type": "text/turtle"}).json()
    assert report["conforms"] is True and report["unknown_terms"] == []


def test_the_starter_can_go_straight_into_the_form(http: httpx.Client) -> None:
    page = http.get("/validate", params={"starter": ""}).text
    assert textarea(page) == STARTER.read_text(encoding="utf-8")


def test_the_text_stays_in_the_form_after_a_check(http: httpx.Client) -> None:
    text = STARTER.read_text(encoding="utf-8").replace("sc:party place:espoo , place:shanghai ;", "")
    response = checked(http, text, format="turtle")
    assert response.status_code == 200 and "does not conform" in response.text
    assert textarea(response.text) == text
    assert '<option value="turtle" selected>' in response.text
    broken = checked(http, "not turtle at all")
    assert broken.status_code == 400 and textarea(broken.text) == "not turtle at all"


def test_every_problem_names_its_line(http: httpx.Client, tmp_path: Path) -> None:
    lines = STARTER.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if "sc:party" not in line) + "\n"
    agreement_line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("mytown:shanghai"))
    report = http.post("/validate", content=text.encode(), headers={"Content-Type": "text/turtle"}).json()
    assert report["results"] and all(r["line"] for r in report["results"])
    assert {r["line"] for r in report["results"]} == {agreement_line}
    page = checked(http, text).text
    assert f'<span class="line">line {agreement_line}</span><code>mytown:shanghai</code>' in page
    # The command line names the same line, file:line.
    path = tmp_path / "twin-cities.ttl"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "server", "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert f"{path}:{agreement_line}: Violation" in result.stdout
    offline = json.loads(
        subprocess.run(
            [sys.executable, "-m", "server", "validate", "--format", "json", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
    assert {r["line"] for r in offline["results"]} == {agreement_line}


def test_a_missing_semicolon_is_found_on_its_own_line(http: httpx.Client) -> None:
    lines = STARTER.read_text(encoding="utf-8").splitlines()
    missing = next(n for n, line in enumerate(lines, 1) if line.lstrip().startswith("sc:agreementStatus"))
    lines[missing - 1] = lines[missing - 1].replace("ags:in-force ;", "ags:in-force")
    page = checked(http, "\n".join(lines)).text
    assert f"Look at the end of line {missing}" in html.unescape(page)
    assert f"stopped at line {missing + 1}" in html.unescape(page)
    finnish = checked(http, "\n".join(lines), lang="fi").text
    assert f"Katso riviä {missing}" in html.unescape(finnish)


def test_a_mistyped_concept_gets_a_suggestion(http: httpx.Client) -> None:
    text = STARTER.read_text(encoding="utf-8").replace("agt:sister-city ;", "agt:sistercity ;")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "agt:sistercity" in row)
    report = http.post("/validate", content=text.encode(), headers={"Content-Type": "text/turtle"}).json()
    wrong = "https://w3id.org/sistercities/id/concept/agreement-type/sistercity"
    assert {"iri": wrong, "line": line, "suggestions": [wrong.replace("sistercity", "sister-city")]} in report[
        "unknown_terms"
    ]
    page = html.unescape(checked(http, text).text)
    assert "<code>agt:sistercity</code>" in page and "Did you mean <code>agt:sister-city</code>?" in page
    property_typo = STARTER.read_text(encoding="utf-8").replace("sc:cooperationField", "sc:cooperationFeild")
    unknown = http.post("/validate", content=property_typo.encode(), headers={"Content-Type": "text/turtle"}).json()
    assert unknown["unknown_terms"][0]["suggestions"][0].endswith("ontology#cooperationField")


def test_the_form_is_linked_from_the_home_page_and_the_menu(http: httpx.Client) -> None:
    home = http.get("/", params={"lang": "sv"}).text
    assert home.count('/validate?lang=sv"') >= 2  # the menu and the home page's own link
    page = http.get("/doc/place/kuopio", params={"lang": "fi"}, headers={"Accept": "text/html"}).text
    assert '/validate?lang=fi"' in page


# --- The hints, without a server -----------------------------------------------------------------


def test_a_syntax_error_at_the_start_of_a_line_points_to_the_line_before() -> None:
    text = "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c\n\n# a comment\n    ex:d ex:e .\n"
    hint = syntax_hint(text, RdfSyntaxError("pasted", "A dot is expected", 5, 5))
    assert hint.likely == 2 and [line.number for line in hint.excerpt if line.here] == [2, 5]
    inside = syntax_hint(text, RdfSyntaxError("pasted", "Unexpected", 2, 8))
    assert inside.likely is None and inside.line == 2


def test_near_misses_compare_without_case_and_hyphens_first() -> None:
    space = "https://w3id.org/sistercities/id/concept/agreement-type/"
    known = [space + name for name in ("sister-city", "friendship-city", "twinning", "intercity-cooperation")]
    assert closest(space + "SisterCity", space, known) == (space + "sister-city",)
    assert closest(space + "twining", space, known)[0] == space + "twinning"
    assert closest(space + "zzzz", space, known) == ()
