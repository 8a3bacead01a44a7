"""What resource pages say about sources and disputes, against the real server.

Every fact's source one click away and never a dead link: the derived links, the ontology's graphs
and the service's own graphs have documents; a statement of the editorial comparison cites the
sources of the claims it compares, not every source of the file. Disputes show wherever the
disputed fact appears: on the pages of the parties, beside the derived twinning links, and as
stated figures side by side. Names carry their sources and their real language; durations,
dates and numbers are written in the reader's locale.

The checks hold on the current data and on issue 10's (where Kuopio's Shanghai agreement becomes
a disputed claim): they use the conflict between the Kuopio–Pudong and Kuopio–Shanghai claims and
Shanghai's 86 against "nearly 100" sister cities, which both have.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import unquote

import httpx
import pytest
import rdflib
from babel.numbers import format_decimal

from server.web import formatting

BASE = "https://w3id.org/sistercities/"
HTML = {"Accept": "text/html"}


def page(http: httpx.Client, path: str, **params: str) -> str:
    response = http.get(path, params=params, headers=HTML)
    assert response.status_code == 200, path
    return response.text


def section(text: str, heading_id: str) -> str:
    """The HTML of the <section> whose heading has this id."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', text, re.DOTALL)
    assert match, heading_id
    return match.group(0)


def cited_sources(text: str) -> list[str]:
    return re.findall(r'<li id="source-\d+"[^>]*><a href="([^"?]+)', section(text, "sources"))


@pytest.mark.parametrize(
    "graph", ["derived", "concepts", "labels-for-reused-terms", "sistercities", "sources", "conflicts", "metadata"]
)
def test_every_graph_has_a_document(http: httpx.Client, graph: str) -> None:
    described = page(http, f"/doc/graph/{graph}")
    assert f"{BASE}graph/{graph}" in described
    turtle = http.get(f"/doc/graph/{graph}.ttl")
    assert turtle.status_code == 200
    described_in_rdf = rdflib.Graph().parse(data=turtle.text, format="turtle")
    assert (rdflib.URIRef(f"{BASE}graph/{graph}"), None, None) in described_in_rdf
    assert http.get(f"/graph/{graph}").status_code == 303


def test_a_graph_that_does_not_exist_is_not_found(http: httpx.Client) -> None:
    assert http.get("/doc/graph/no-such-graph", headers=HTML).status_code == 404


def test_the_derived_graph_says_what_it_is_and_how_large(http: httpx.Client) -> None:
    text = page(http, "/doc/graph/derived")
    assert "<h1>Links derived from the curated statements</h1>" in text
    assert "sc:twinnedWith" in text
    assert re.search(r'data-property="triples".*?<span class="literal"[^>]*>\d[\d,]*</span>', text, re.DOTALL)
    editor = re.findall(r'href="[^"]*/sparql\?query=([^"&]*)', text)
    assert any("GRAPH" in unquote(q) and "graph/derived" in unquote(q) for q in editor)  # its statements


def test_the_derived_source_of_a_city_page_leads_somewhere(http: httpx.Client) -> None:
    assert "/doc/graph/derived" in cited_sources(page(http, "/doc/place/kuopio"))


def test_the_editorial_comparison_cites_the_sources_it_compares(http: httpx.Client) -> None:
    """A note about Shanghai's sister-city count cites the two articles that state the counts, not
    the Business Kuopio article (the conflicts file draws on four sources)."""
    text = page(http, "/doc/observation/shanghai-sister-cities-2019")
    sources = cited_sources(text)
    assert "/doc/source/fcba-shanghai-office-visit-2019" in sources
    assert "/doc/source/espoo-sister-city-relations-in-asia-2020" in sources
    assert "/doc/source/business-kuopio-shanghai-network" not in sources
    note = re.search(r'<dt data-property="editorialNote".*?</dd>', text, re.DOTALL).group(0)
    numbers = {int(n) for n in re.findall(r'href="#source-(\d+)"', note)}
    listed = dict(re.findall(r'<li id="source-(\d+)"[^>]*><a href="([^"?]+)', text))
    assert {listed[str(n)] for n in numbers} <= {
        "/doc/source/fcba-shanghai-office-visit-2019",
        "/doc/source/espoo-sister-city-relations-in-asia-2020",
    }


@pytest.mark.parametrize("place", ["kuopio", "pudong", "shanghai"])
def test_a_party_to_a_disputed_agreement_says_so(http: httpx.Client, place: str) -> None:
    text = page(http, f"/doc/place/{place}")
    disputes = section(text, "disputes")
    assert "/doc/agreement/kuopio-pudong" in disputes and "/doc/agreement/kuopio-shanghai" in disputes
    assert "contradicted by" in disputes


def test_the_derived_twinning_links_carry_the_dispute(http: httpx.Client) -> None:
    """Every partner Kuopio is twinned with through a disputed claim (Pudong; Shanghai too while
    the data still derive that link) is marked as disputed."""
    text = page(http, "/doc/place/kuopio")
    twinned = re.search(r'<dt data-property="twinnedWith".*?</dd>', text, re.DOTALL).group(0)
    values = re.findall(r'<li><a href="/doc/place/(pudong|shanghai)[^"]*".*?</li>', twinned, re.DOTALL)
    assert "pudong" in values
    for partner in ("pudong", "shanghai"):
        value = re.search(rf'<li><a href="/doc/place/{partner}[^"]*".*?</li>', twinned, re.DOTALL)
        assert value is None or 'class="disputed" href="#disputes"' in value.group(0), partner


def test_stated_figures_are_shown_side_by_side(http: httpx.Client) -> None:
    figures = section(page(http, "/doc/place/shanghai"), "figures")
    assert '<strong class="figure-value">86</strong>' in figures
    assert '<strong class="figure-value">nearly 100</strong>' in figures
    assert figures.count('class="disputed-row"') == 2  # each figure beside the one it conflicts with
    assert "contradicted by" in figures and 'class="source"' in figures


def test_names_carry_their_sources(http: httpx.Client) -> None:
    names = section(page(http, "/doc/place/espoo"), "names")
    rows = re.findall(r"<tr class=\"(?:pref|alt)\">.*?</tr>", names, re.DOTALL)
    assert rows and all('class="source' in row for row in rows)


def select(http: httpx.Client, query: str) -> list[dict]:
    response = http.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    return response.json()["results"]["bindings"]


def test_a_name_in_another_language_is_marked_with_its_own(http: httpx.Client) -> None:
    """A city with an English name and no Finnish one: its Finnish page says the name is English."""
    rows = select(
        http,
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?city ?name WHERE { "
        f"?city a <{BASE}ontology#City> ; skos:prefLabel ?name FILTER(LANG(?name) = 'en') "
        "FILTER NOT EXISTS { ?city skos:prefLabel ?fi FILTER(LANG(?fi) = 'fi') } } ORDER BY ?city LIMIT 1",
    )
    if not rows:
        pytest.skip("every city has a Finnish name")
    path = "/doc/" + rows[0]["city"]["value"].removeprefix(BASE + "id/")
    text = page(http, path, lang="fi")
    assert '<html lang="fi">' in text
    assert f'<h1 lang="en">{html.escape(rows[0]["name"]["value"], quote=False)}</h1>' in text
    helsinki = page(http, "/doc/place/helsinki", lang="fi")
    assert "<h1>Helsinki</h1>" in helsinki  # a Finnish name on a Finnish page needs no mark


def test_durations_and_dates_follow_the_locale(http: httpx.Client) -> None:
    """A duration ("P4Y") and a date as each locale writes them, the value as written kept in the title."""
    xsd = "http://www.w3.org/2001/XMLSchema#"
    for datatype, language in (("duration", "fi"), ("duration", "en"), ("date", "sv"), ("date", "zh")):
        row = select(
            http,
            f"SELECT ?s ?v WHERE {{ ?s ?p ?v FILTER(isIRI(?s) && DATATYPE(?v) = <{xsd}{datatype}> "
            f'&& STRSTARTS(STR(?s), "{BASE}id/")) }} ORDER BY ?s LIMIT 1',
        )[0]
        path = "/doc/" + row["s"]["value"].removeprefix(BASE + "id/")
        lexical = row["v"]["value"]
        shown = formatting.literal(lexical, xsd + datatype, language)
        assert shown != lexical
        assert f'<span class="literal" title="{lexical}">{html.escape(shown)}</span>' in page(http, path, lang=language)


def test_numbers_on_the_home_page_follow_the_locale(http: httpx.Client) -> None:
    english = page(http, "/")
    triples = int(re.search(r"In numbers: ([\d,]+) triples", english).group(1).replace(",", ""))
    assert f"Lukuina: {format_decimal(triples, locale='fi')} kolmikkoa." in page(http, "/", lang="fi")


def test_a_page_without_statements_has_no_empty_heading(http: httpx.Client) -> None:
    text = page(http, "/doc/person/chen-jining")
    if 'data-property="' not in text.split('id="incoming"')[0]:
        assert 'id="statements"' not in text


def test_type_badges_link_to_the_term_in_the_reader_language(http: httpx.Client) -> None:
    assert 'href="/ontology?lang=fi#City"' in page(http, "/doc/place/kuopio", lang="fi")


def test_the_shapes_page_has_unique_ids(http: httpx.Client) -> None:
    ids = re.findall(r'\bid="([^"]*)"', page(http, "/shapes"))
    assert "" not in ids
    assert [name for name, count in Counter(ids).items() if count > 1] == []


def test_maps_say_which_places_they_cannot_draw(http: httpx.Client) -> None:
    """Pudong has no coordinates: the agreement's map draws Kuopio and says Pudong is missing."""
    text = page(http, "/doc/agreement/kuopio-pudong")
    assert re.search(r'<p class="unmapped">.*?/doc/place/pudong', text, re.DOTALL)
    legend = re.search(r'<ul class="map-legend">.*?</ul>', text, re.DOTALL).group(0)
    assert "/doc/place/kuopio" in legend and "/doc/place/pudong" not in legend
