"""Dereferencing over HTTP: every IRI in the data leads to a document about it, in every format."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox
import pytest
import rdflib

from server.query.local import LocalEngine
from server.settings import Settings
from server.uris import DOCUMENT_FORMATS
from tests.live import live_server

BASE = "https://w3id.org/sistercities/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_VARIANTS = [f for f in DOCUMENT_FORMATS if f.rdf is not None]


def things(store: ox.Store) -> list[str]:
    """Every IRI under the base that is the subject of a statement (things and graphs)."""
    found = {q.subject.value for q in store.quads_for_pattern(None, None, None) if isinstance(q.subject, ox.NamedNode)}
    return sorted(i for i in found if i.startswith((BASE + "id/", BASE + "graph/")))


def local(url: str, iri: str) -> str:
    """The IRI mapped onto the local server, as the server maps its base onto its host."""
    return url + "/" + iri[len(BASE) :]


def test_every_subject_iri_dereferences_in_every_format(store: ox.Store, server_url: str) -> None:
    iris = things(store)
    assert len(iris) > 150
    failures = []
    with httpx.Client(timeout=30) as client:
        for iri in iris:
            redirect = client.get(local(server_url, iri))
            if redirect.status_code != 303:
                failures.append((iri, "no 303", redirect.status_code))
                continue
            document = server_url + redirect.headers["location"]
            for fmt in RDF_VARIANTS:
                response = client.get(document, headers={"Accept": fmt.media_type})
                if response.status_code != 200 or not response.headers["content-type"].startswith(fmt.media_type):
                    failures.append((iri, fmt.key, response.status_code))
                    continue
                subjects = {q.subject for q in ox.parse(response.content, format=fmt.rdf)}
                if ox.NamedNode(iri) not in subjects:
                    failures.append((iri, fmt.key, "does not describe the IRI"))
            page = client.get(document, headers={"Accept": "text/html"})
            if page.status_code != 200 or iri not in page.text:
                failures.append((iri, "html", page.status_code))
    assert failures == []


def test_rdflib_can_parse_our_uris(server_url: str) -> None:
    graph = rdflib.Graph().parse(local(server_url, BASE + "id/place/kuopio"))
    kuopio = rdflib.URIRef(BASE + "id/place/kuopio")
    skos = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
    assert (kuopio, skos.prefLabel, rdflib.Literal("Kuopio", lang="en")) in graph
    # The Finnish name has one source (Yle's list of municipalities): an alternative name.
    assert (kuopio, skos.altLabel, rdflib.Literal("Kuopio", lang="fi")) in graph


def test_things_answer_303_and_keep_the_query(http: httpx.Client) -> None:
    response = http.get("/id/place/kuopio", params={"lang": "fi"})
    assert response.status_code == 303
    assert response.headers["location"] == "/doc/place/kuopio?lang=fi"
    assert http.get("/graph/sources").headers["location"] == "/doc/graph/sources"


NEGOTIATION = [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/n-triples", "application/n-triples"),
    ("application/trig", "application/trig"),
    ("application/n-quads", "application/n-quads"),
    ("text/turtle;q=0.5, application/rdf+xml;q=0.9", "application/rdf+xml"),
    ("application/*", "application/ld+json"),
    ("text/*;q=0.9, text/html;q=0.1", "text/turtle"),
]


@pytest.mark.parametrize(("accept", "expected"), NEGOTIATION)
def test_documents_are_negotiated(http: httpx.Client, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept is not None else {"Accept": ""}
    response = http.get("/doc/place/kuopio", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert "Accept" in response.headers["vary"]
    extension = next(f.extension for f in DOCUMENT_FORMATS if f.media_type == expected)
    assert response.headers["content-location"] == f"/doc/place/kuopio.{extension}"


def test_fixed_variants_and_alternate_links(http: httpx.Client) -> None:
    response = http.get("/doc/place/kuopio.jsonld", headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("application/ld+json")
    links = response.headers["link"]
    for fmt in DOCUMENT_FORMATS:
        assert f'</doc/place/kuopio.{fmt.extension}>; rel="alternate"; type="{fmt.media_type}"' in links
    page = http.get("/doc/place/kuopio.html")
    assert '<link rel="alternate" type="text/turtle" href="/doc/place/kuopio.ttl">' in page.text


def test_head_answers_without_a_body(http: httpx.Client) -> None:
    response = http.head("/doc/place/kuopio.ttl")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["etag"]


def test_nothing_acceptable_is_406(http: httpx.Client) -> None:
    response = http.get("/doc/place/kuopio", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


def test_unknown_things_are_404_a_page_for_people_plain_for_machines(http: httpx.Client) -> None:
    page = http.get("/doc/place/atlantis", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "atlantis" in page.text
    plain = http.get("/doc/place/atlantis", headers={"Accept": "text/turtle"})
    assert plain.status_code == 404 and plain.headers["content-type"].startswith("text/plain")


def test_validators_304_gzip_and_cors(server_url: str) -> None:
    with httpx.Client(base_url=server_url) as client:
        first = client.get(
            "/doc/place/shanghai.ttl", headers={"Accept-Encoding": "gzip", "Origin": "https://example.org"}
        )
        assert first.headers["content-encoding"] == "gzip"
        assert first.headers["access-control-allow-origin"] == "*"
        again = client.get("/doc/place/shanghai.ttl", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        since = client.get("/doc/place/shanghai.ttl", headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304
        other_language = client.get(
            "/doc/place/shanghai", headers={"If-None-Match": first.headers["etag"], "Accept": "text/html"}
        )
        assert other_language.status_code == 200


def test_if_none_match_any_holds_only_for_what_exists(http: httpx.Client) -> None:
    """`If-None-Match: *` (RFC 9110, 13.1.2): 304 for a document that has a representation, and
    the usual 404 for one that has none, never a 304 that would hide it."""
    existing = http.get("/doc/place/shanghai.ttl", headers={"If-None-Match": "*"})
    missing = http.get("/doc/place/no-such-place.ttl", headers={"If-None-Match": "*"})
    assert existing.status_code == 304 and existing.headers["etag"]
    assert missing.status_code == 404


def parse(response: httpx.Response, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> list:
    return list(ox.parse(response.content, format=fmt))


def test_description_has_blank_node_closure_labels_and_provenance(http: httpx.Client) -> None:
    triples = parse(http.get("/doc/place/kuopio.ttl"))
    geometry = [t.object for t in triples if t.predicate.value == "http://www.opengis.net/ont/geosparql#hasGeometry"]
    assert geometry and isinstance(geometry[0], ox.BlankNode)
    assert any(t.subject == geometry[0] and t.predicate.value.endswith("asWKT") for t in triples)
    # names of linked resources (Pudong is linked by a twinning link)
    assert any(t.subject.value == BASE + "id/place/pudong" and t.predicate.value.endswith("prefLabel") for t in triples)
    # which sources the document is derived from
    document = ox.NamedNode(BASE + "doc/place/kuopio")
    sources = {
        t.object.value for t in triples if t.subject == document and t.predicate.value.endswith("wasDerivedFrom")
    }
    assert BASE + "id/source/business-kuopio-shanghai-network" in sources


def test_each_statement_keeps_its_source_graph_in_nquads(http: httpx.Client) -> None:
    quads = parse(http.get("/doc/agreement/kuopio-shanghai.nq"), ox.RdfFormat.N_QUADS)
    start = [q for q in quads if q.predicate.value.endswith("#startDate")]
    assert [q.graph_name.value for q in start] == [BASE + "graph/001-fcba-shanghai-office-visit-2019"]


@pytest.mark.parametrize("path", ["/doc/place/kuopio.nq", "/doc/place/kuopio.ttl", "/doc/place/kuopio"])
def test_descriptions_leave_out_the_name_index(http: httpx.Client, path: str) -> None:
    """The index reconciliation matches against is about names, not something the data says."""
    response = http.get(path)
    assert response.status_code == 200
    assert "Kuopio" in response.text
    assert "urn:sistercities:index" not in response.text and "name-index" not in response.text


@pytest.fixture(scope="module")
def small_pages(tmp_path_factory: pytest.TempPathFactory):
    env = {"SISTERCITIES_PAGE_SIZE": "10"}
    with (
        live_server("--no-validate", cache_dir=tmp_path_factory.mktemp("cache"), env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def test_incoming_links_are_paged_for_hubs(small_pages: httpx.Client) -> None:
    http = small_pages
    first = http.get("/doc/place/shanghai.nt")
    incoming = {
        (q.subject.value, q.predicate.value)
        for q in parse(first, ox.RdfFormat.N_TRIPLES)
        if q.object == ox.NamedNode(BASE + "id/place/shanghai") and "/doc/" not in q.subject.value
    }
    assert len(incoming) == 10
    assert 'rel="next"' in http.get("/doc/place/shanghai", headers={"Accept": "text/html"}).text
    second = http.get("/doc/place/shanghai.nt", params={"page": 2})
    more = {
        (q.subject.value, q.predicate.value)
        for q in parse(second, ox.RdfFormat.N_TRIPLES)
        if q.object == ox.NamedNode(BASE + "id/place/shanghai") and "/doc/" not in q.subject.value
    }
    assert more and not (more & incoming)
    assert http.get("/doc/place/shanghai", params={"page": "zero"}).status_code == 400


def test_a_description_costs_a_bounded_number_of_queries() -> None:
    """describe() issues the same number of queries for a hub as for a leaf."""
    import asyncio

    from server.linked.resources import describe, graph_sources
    from server.query.engine import QueryAnswer, QueryRequest
    from server.query.local import LocalEngine
    from server.store.build import open_store
    from server.store.dataset import Dataset
    from server.uris import Iris

    class CountingEngine(LocalEngine):
        count = 0

        async def execute(self, request: QueryRequest) -> QueryAnswer:
            self.count += 1
            return await super().execute(request)

    store = open_store(Dataset.from_settings(Settings()), None)
    counts = {}
    for name in ("place/shanghai", "place/moscow", "agreement/kuopio-pudong"):
        engine = CountingEngine(store, {})
        sources = asyncio.run(graph_sources(engine))  # once per data version, not per description
        engine.count = 0
        asyncio.run(describe(engine, BASE + "id/" + name, Iris(BASE), sources))
        counts[name] = engine.count
    assert max(counts.values()) <= 5, counts


def links_to_a_hub(count: int) -> tuple[LocalEngine, str]:
    """An engine over a store where `count` things link to one hub, in two graphs and by two
    properties, so that pages must order by property and then by subject."""
    hub = ox.NamedNode(f"{BASE}id/place/hub")
    store = ox.Store()
    for i in range(count):
        thing = ox.NamedNode(f"{BASE}id/agreement/a{i:04d}")
        predicate = ox.NamedNode(f"{BASE}ontology#{'party' if i % 3 else 'location'}")
        for graph in {f"{BASE}graph/g{i % 2}", f"{BASE}graph/g2"}:
            store.add(ox.Quad(thing, predicate, hub, ox.NamedNode(graph)))
    return LocalEngine(store, {}), hub.value


def every_page(engine: LocalEngine, hub: str, size: int) -> list[list]:
    from server.linked.resources import incoming_page

    pages, more, number = [], True, 1
    while more:
        statements, more = asyncio.run(incoming_page(engine, hub, number, size))
        pages.append(statements)
        number += 1
    return pages


def test_a_hubs_links_are_paged_in_order_of_property_and_subject() -> None:
    engine, hub = links_to_a_hub(95)
    pages = every_page(engine, hub, 10)
    links = [(s.predicate.value, s.subject.value) for page in pages for s in page]
    assert [len(page) for page in pages] == [10] * 9 + [5]
    assert links == sorted(links) and len(set(links)) == 95
    assert all(len(s.graphs) == 2 for page in pages for s in page), "both graphs stating each link"


def test_beyond_the_sorted_bound_a_hubs_pages_follow_the_store_and_miss_nothing(monkeypatch) -> None:
    from server.linked import resources

    monkeypatch.setattr(resources, "SORTED_INCOMING_ROWS", 50)
    engine, hub = links_to_a_hub(95)  # 190 rows: past the bound
    pages = every_page(engine, hub, 10)
    links = [(s.predicate.value, s.subject.value) for page in pages for s in page]
    assert [len(page) for page in pages] == [10] * 9 + [5]
    assert len(set(links)) == 95, "every link once"
    for page in pages:
        keys = [(s.predicate.value, s.subject.value) for s in page]
        assert keys == sorted(keys), "each page sorted"
        assert all(len(s.graphs) == 2 for s in page)


def test_the_ontology_and_its_terms_dereference(http: httpx.Client) -> None:
    for fmt in RDF_VARIANTS:
        if fmt.key in ("trig", "nquads"):
            continue
        response = http.get("/ontology", headers={"Accept": fmt.media_type})
        assert response.status_code == 200
        subjects = {q.subject.value for q in ox.parse(response.content, format=fmt.rdf)}
        assert BASE + "ontology#PartnershipAgreement" in subjects and BASE + "ontology" in subjects
    page = http.get("/ontology", headers={"Accept": "text/html"})
    for term in ("PartnershipAgreement", "twinnedWith", "City"):
        assert f'id="{term}"' in page.text
    assert "<svg" in page.text
    assert http.get("/ontology.ttl").headers["content-type"].startswith("text/turtle")
    assert http.get("/ontology/0.1.0", headers={"Accept": "text/turtle"}).status_code == 200
    assert http.get("/ontology/9.9.9").status_code == 404


def test_ontology_documentation_in_each_language(http: httpx.Client) -> None:
    for language, label in (("fi", "kumppanuussopimus"), ("sv", "partnerskapsavtal"), ("zh", "合作伙伴协议")):
        assert label in http.get("/ontology", params={"lang": language}, headers={"Accept": "text/html"}).text


def test_the_shapes_are_published(http: httpx.Client) -> None:
    graph = rdflib.Graph().parse(data=http.get("/shapes.ttl").text, format="turtle")
    assert (rdflib.URIRef(BASE + "shapes#PartnershipAgreementShape"), rdflib.RDF.type, rdflib.SH.NodeShape) in graph
    page = http.get("/shapes", headers={"Accept": "text/html"})
    assert 'id="PartnershipAgreementShape"' in page.text and "exactly two parties" in page.text


def test_home_browse_and_search(http: httpx.Client) -> None:
    home = http.get("/")
    assert "/sparql" in home.text and "/ontology" in home.text and "/catalog" in home.text
    assert re.search(r"city</a> <span class=\"count\">\d+", home.text)
    cities = http.get("/browse", params={"class": BASE + "ontology#City"})
    assert "/doc/place/kuopio" in cities.text and "/doc/place/shanghai" in cities.text
    for words, expected in (
        ("esbo", "/doc/place/espoo"),
        ("上海", "/doc/place/shanghai"),
        ("HELSINGFORS", "/doc/place/helsinki"),
    ):
        assert expected in http.get("/search", params={"q": words}).text, words
    assert http.get("/browse", params={"class": "not an iri"}).status_code == 400


@pytest.mark.parametrize(
    ("words", "lang", "expected"),
    [
        # Beijing in Finnish (GNOME) and Swedish (Natural Earth): a single-source, alternative name.
        ("Peking", "fi", "/doc/place/beijing"),
        ("Peking", "sv", "/doc/place/beijing"),
        ("北京", "zh", "/doc/place/beijing"),
        ("Kiina", "fi", "/doc/place/china"),  # CLDR
        ("中国", "zh", "/doc/place/china"),  # CLDR
    ],
)
def test_search_finds_places_by_their_names_in_every_language(
    http: httpx.Client, words: str, lang: str, expected: str
) -> None:
    """Issue #10: a Finnish or Swedish reader finds Beijing as "Peking", a Chinese one as 北京, and China
    is found as "Kiina" and 中国. The place is the first result."""
    html = http.get("/search", params={"q": words, "lang": lang}, headers={"Accept": "text/html"}).text
    results = html.split('<ol class="results">', 1)[1].split("</ol>", 1)[0]
    first = re.search(r'<li><a href="([^"?]+)', results).group(1)
    assert first == expected, (words, results)


def test_browsing_pages_through_every_thing_of_a_class_once(tmp_path: Path) -> None:
    """Pages follow the store's order (no ORDER BY): together they list each place exactly once."""
    place = BASE + "ontology#Place"
    query = f"SELECT DISTINCT ?s WHERE {{ ?s a/<{RDFS}subClassOf>* <{place}> FILTER(isIRI(?s)) }}"
    small_pages = {"SISTERCITIES_PAGE_SIZE": "7"}
    with (
        live_server("--no-validate", cache_dir=tmp_path / "cache", env=small_pages) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        answer = client.get("/sparql", params={"query": query}).json()
        expected = {binding["s"]["value"] for binding in answer["results"]["bindings"]}
        listed, page = [], 1
        while True:
            html = client.get("/browse", params={"class": place, "page": page}).text
            items = html.split('<ul class="browse">', 1)[-1].split("</ul>", 1)[0]
            listed += re.findall(r'title="([^"]+)">', items)
            if 'rel="next"' not in html:
                break
            page += 1
    assert len(expected) > 2 * 7, "the bundled data should need several pages"
    assert page == -(-len(expected) // 7)
    assert sorted(listed) == sorted(expected)  # each once: no page repeats or skips a place


def test_pages_follow_the_reader_language(http: httpx.Client) -> None:
    swedish = http.get("/doc/place/espoo", headers={"Accept": "text/html", "Accept-Language": "sv-FI,sv;q=0.9"})
    assert "<h1>Esbo</h1>" in swedish.text and '<html lang="sv">' in swedish.text
    chosen = http.get("/doc/place/helsinki", params={"lang": "zh"}, headers={"Accept": "text/html"})
    assert "<h1>赫尔辛基</h1>" in chosen.text and '<html lang="zh">' in chosen.text
    # No source with a language gives Espoo a Chinese name (埃斯波 is only in GeoNames, untagged), so a
    # Chinese reader gets the English one, marked as English.
    fallback = http.get("/doc/place/espoo", params={"lang": "zh"}, headers={"Accept": "text/html"})
    assert '<h1 lang="en">Espoo</h1>' in fallback.text and "埃斯波" not in fallback.text
    assert "Accept-Language" in swedish.headers["vary"]


def test_pages_embed_schema_org_json_ld(http: httpx.Client) -> None:
    import json

    page = http.get("/doc/place/kuopio", headers={"Accept": "text/html"}).text
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL).group(1)
    data = json.loads(block)
    assert data["@context"] == "https://schema.org" and "City" in data["@type"]
    assert data["geo"]["latitude"] == pytest.approx(62.89238)
    assert "http://www.wikidata.org/entity/Q162279" in data["sameAs"]


def test_links_on_pages_stay_on_this_host(http: httpx.Client, server_url: str) -> None:
    page = http.get("/doc/agreement/kuopio-pudong", headers={"Accept": "text/html"}).text
    hrefs = re.findall(r'href="([^"]+)"', page)
    ours = [h for h in hrefs if BASE in h]
    assert ours == [], "links to our IRIs must be local paths"
    assert any(urlsplit(h).path == "/doc/place/pudong" for h in hrefs)


# --- The dataset's own IRI ------------------------------------------------------------------------

DATASET = f"{BASE}id/dataset/sister-cities"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"


def test_the_dataset_iri_dereferences_to_its_full_description(http: httpx.Client) -> None:
    """What the catalogue and VoID say of the dataset, with the statistics in the store."""
    from server.publish.dumps import DUMPS

    http.get("/dumps/")  # sizes and checksums follow once the dumps exist
    redirect = http.get("/id/dataset/sister-cities")
    assert redirect.status_code == 303 and redirect.headers["location"] == "/doc/dataset/sister-cities"
    graph = rdflib.Graph().parse(data=http.get("/doc/dataset/sister-cities.ttl").text, format="turtle")
    dataset = rdflib.URIRef(DATASET)
    assert {t.language for t in graph.objects(dataset, rdflib.URIRef(DCT + "title"))} >= {"en", "fi", "sv"}
    assert graph.value(dataset, rdflib.URIRef(DCT + "description"))
    distributions = set(graph.objects(dataset, rdflib.URIRef(DCAT + "distribution")))
    assert len(distributions) == len(DUMPS)
    for distribution in distributions:
        assert graph.value(distribution, rdflib.URIRef(DCAT + "downloadURL"))
        assert graph.value(distribution, rdflib.URIRef(DCAT + "byteSize"))
    endpoint = rdflib.URIRef(f"{BASE}sparql")
    assert graph.value(dataset, rdflib.URIRef(VOID + "sparqlEndpoint")) == endpoint
    assert graph.value(endpoint, rdflib.URIRef(DCAT + "endpointURL")) == endpoint
    assert graph.value(dataset, rdflib.URIRef(VOID + "triples")).toPython() > 1000  # the stored statistics
    # each statement in the graph of the document it comes from
    quads = ox.Dataset(ox.parse(http.get("/doc/dataset/sister-cities.nq").content, format=ox.RdfFormat.N_QUADS))
    graphs_of = {
        q.graph_name.value
        for q in quads
        if q.subject == ox.NamedNode(DATASET) and q.predicate == ox.NamedNode(DCAT + "distribution")
    }
    assert graphs_of == {f"{BASE}catalog"}
    endpoints = {q.graph_name.value for q in quads if q.predicate == ox.NamedNode(VOID + "sparqlEndpoint")}
    assert endpoints == {f"{BASE}.well-known/void"}


def test_the_dataset_page(http: httpx.Client) -> None:
    page = http.get("/doc/dataset/sister-cities", headers={"Accept": "text/html"}).text
    title = re.search(r"<h1>(.*?)</h1>", page).group(1)
    assert title == "Sister Cities Linked Data: town twinning and city cooperation"
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert any(h.startswith("/sparql") for h in hrefs)  # the endpoint
    assert any(h.startswith("/catalog?") or h == "/catalog" for h in hrefs)  # the catalogue, cited as a source
    distributions = [h for h in hrefs if h.startswith("/catalog") and "#distribution-" in h]
    assert len(distributions) >= 5 and all("?lang=" in h.split("#")[0] for h in distributions)
    assert "Town-twinning (sister-city) agreements" in page
    # long lists (the statistics' partitions) are folded, and say how many they hold
    assert re.search(r"<summary>\d+ values</summary>", page)
