"""Twinning links a researcher can cite: none from a disputed or announced claim, all of the crawl.

- Every sc:twinnedWith and sc:partnerOf link of the published data (stated and derived) is backed by
  an agreement in force that no source disputes, or, for twinning, by a P190 claim of the 2016
  Wikidata crawl; never only by a disputed or announced agreement (fixtures in
  tests/fixtures/twinning/ break the rule and must be caught).
- Every line of the crawl's relations.tsv that touches one of our places is published: the link in
  the crawl's graph and a statement with the item it is on and the line it was read from.
- Where an article names a partner the crawl does not have, the data say so (sc:notListedIn).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from server.settings import Settings
from server.store.build import load_files
from server.store.dataset import Dataset
from server.store.derive import derivation_rules, derive
from server.uris import Iris

BASE = "https://w3id.org/sistercities/"
PREFIXES = f"""
PREFIX sc: <{BASE}ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX ags: <{BASE}id/concept/agreement-status/>
PREFIX agt: <{BASE}id/concept/agreement-type/>
"""
CRAWL = f"<{BASE}id/source/wikidata-p190-crawl-2016>"
CRAWL_GRAPH = f"<{BASE}graph/wikidata-p190-links-2016>"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "twinning"
RELATIONS = Path(__file__).resolve().parent.parent / "data" / "reference" / "p190-2016" / "relations.tsv"
NAMES = RELATIONS.with_name("names.tsv")

# A link is backed by an agreement in force that no source disputes (of a twinning type for
# sc:twinnedWith), or by a twinning statement of a reference dataset (whose link, P190, makes the
# places partners too).
GOOD_AGREEMENT = """
    ?agreement a sc:PartnershipAgreement ; sc:party ?a , ?b ; sc:agreementStatus ags:in-force .
    FILTER NOT EXISTS { ?agreement sc:agreementStatus ?other FILTER(?other != ags:in-force) }
    FILTER NOT EXISTS { ?agreement sc:disputedBy ?who }
"""
# Every link, less the links something backs (MINUS: one pass over the ~20 agreements and the crawl's
# statements, rather than a NOT EXISTS per link).
EITHER_LINK = 'VALUES ?link { "twinnedWith" "partnerOf" }'
UNBACKED = (
    PREFIXES
    + f"""
SELECT DISTINCT ?a ?link ?b WHERE {{
    {{ ?a sc:twinnedWith ?b BIND("twinnedWith" AS ?link) }} UNION {{ ?a sc:partnerOf ?b BIND("partnerOf" AS ?link) }}
    MINUS {{
        {{ {GOOD_AGREEMENT} ?agreement sc:agreementType/skos:broader* agt:twinning . BIND("twinnedWith" AS ?link) }}
        UNION {{ {GOOD_AGREEMENT} BIND("partnerOf" AS ?link) }}
        UNION {{ ?s a sc:TwinningStatement ; rdf:subject ?a ; rdf:object ?b . {EITHER_LINK} }}
        UNION {{ ?s a sc:TwinningStatement ; rdf:subject ?b ; rdf:object ?a . {EITHER_LINK} }}
    }}
}} ORDER BY ?a ?b ?link"""
)


def local(term: ox.NamedNode) -> str:
    return term.value.removeprefix(f"{BASE}id/")


def unbacked_links(store: ox.Store) -> list[tuple[str, str, str]]:
    return [(local(r["a"]), r["link"].value, local(r["b"])) for r in store.query(UNBACKED)]


def test_every_link_is_backed_by_an_undisputed_agreement_in_force_or_a_crawl_claim(store: ox.Store) -> None:
    assert unbacked_links(store) == []


def test_disputed_and_announced_agreements_yield_no_links(store: ox.Store) -> None:
    rows = list(
        store.query(
            PREFIXES
            + """SELECT ?agreement ?status WHERE {
                ?agreement sc:agreementStatus ?status FILTER(?status IN (ags:disputed, ags:announced)) }"""
        )
    )
    assert {(local(r["agreement"]), local(r["status"])) for r in rows} == {
        ("agreement/kuopio-shanghai", "concept/agreement-status/disputed"),
        ("agreement/helsinki-beijing", "concept/agreement-status/announced"),
    }
    derived = f"<{BASE}graph/derived>"
    for pair in (("kuopio", "shanghai"), ("helsinki", "beijing")):
        a, b = (f"<{BASE}id/place/{p}>" for p in pair)
        for link in ("twinnedWith", "partnerOf"):
            assert not store.query(f"ASK {{ {a} <{BASE}ontology#{link}> {b} }}"), (pair, link)
            assert not store.query(f"ASK {{ GRAPH {derived} {{ {b} <{BASE}ontology#{link}> {a} }} }}")


def test_the_disputed_claim_stays_with_both_sources_and_its_conflict(store: ox.Store) -> None:
    rows = list(
        store.query(
            PREFIXES
            + f"""SELECT ?source ?disputedBy ?other ?otherSource WHERE {{
                <{BASE}id/agreement/kuopio-shanghai> dct:source ?source ; sc:disputedBy ?disputedBy ;
                    sc:conflictsWith ?other ; sc:agreementStatus ags:disputed ; sc:quotation ?q .
                ?other dct:source ?otherSource }}"""
        )
    )
    assert [(local(r["source"]), local(r["disputedBy"]), local(r["other"]), local(r["otherSource"])) for r in rows] == [
        (
            "source/fcba-shanghai-office-visit-2019",
            "source/business-kuopio-shanghai-network",
            "agreement/kuopio-pudong",
            "source/business-kuopio-shanghai-network",
        )
    ]
    # The status is the editors' reading, in the graph of the conflicts; the source's graph keeps
    # the claim as the source states it, without a status.
    in_force = f"<{BASE}id/concept/agreement-status/in-force>"
    assert not store.query(
        f"ASK {{ <{BASE}id/agreement/kuopio-shanghai> <{BASE}ontology#agreementStatus> {in_force} }}"
    )
    assert store.query(
        f"ASK {{ GRAPH <{BASE}graph/conflicts> {{ <{BASE}id/agreement/kuopio-shanghai> "
        f"<{BASE}ontology#agreementStatus> <{BASE}id/concept/agreement-status/disputed> }} }}"
    )


def store_with(dataset: Dataset, fixture: Path) -> ox.Store:
    store = ox.Store()
    load_files(store, dataset)
    for graph in (ox.NamedNode(f"{BASE}graph/fixture"), ox.DefaultGraph()):
        store.bulk_load(path=fixture, format=ox.RdfFormat.TURTLE, to_graph=graph)
    derive(store, Iris(BASE))
    return store


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.ttl")), ids=lambda p: p.name)
def test_fixtures_that_break_the_rule_are_caught(fixture: Path, dataset: Dataset) -> None:
    """Each fixture adds a link backed only by a disputed or announced claim; its first line says which."""
    expected = fixture.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ").split()
    assert len(expected) == 3, f"{fixture.name}: first line must be '# expect: a link b'"
    found = unbacked_links(store_with(dataset, fixture))
    assert tuple(expected) in found, found


# --- The 2016 crawl ------------------------------------------------------------------------------


def read_relations() -> list[tuple[int, str, str]]:
    with RELATIONS.open(encoding="utf-8") as lines:
        return [(n, *line.rstrip("\n").split("\t")) for n, line in enumerate(lines, start=1)]


@pytest.fixture(scope="module")
def qids_of_places(store: ox.Store) -> dict[str, str]:
    """QID -> our place, for the places of the dataset (not the crawl's minimal nodes)."""
    rows = store.query(
        PREFIXES
        + f"""SELECT ?place ?item WHERE {{ GRAPH <{BASE}graph/wikidata-p190-2016> {{ ?place owl:sameAs ?item }}
              FILTER NOT EXISTS {{ ?place rdfs:label ?crawlLabel }} }}""".replace(
            "rdfs:label", "<http://www.w3.org/2000/01/rdf-schema#label>"
        )
    )
    return {r["item"].value.rsplit("/", 1)[-1]: r["place"].value for r in rows}


def test_every_crawl_line_touching_our_places_is_published(store: ox.Store, qids_of_places: dict[str, str]) -> None:
    """The crawl's neighbourhood of our places, read from the raw file, is all in the data."""
    assert len(qids_of_places) == 27
    expected = [(n, s, o) for n, s, o in read_relations() if s in qids_of_places or o in qids_of_places]
    assert len(expected) == 1268
    rows = store.query(
        PREFIXES
        + f"""SELECT ?line ?item ?subjectItem ?objectItem ?subject ?object WHERE {{ GRAPH {CRAWL_GRAPH} {{
            ?s a sc:TwinningStatement ; sc:sourceLine ?line ; sc:statedOn ?item ; dct:source {CRAWL} ;
               rdf:subject ?subject ; rdf:predicate sc:twinnedWith ; rdf:object ?object .
            ?subject sc:twinnedWith ?object }}
            ?subject owl:sameAs ?subjectItem . ?object owl:sameAs ?objectItem .
            FILTER(STRSTARTS(STR(?subjectItem), "http://www.wikidata.org/entity/")
                && STRSTARTS(STR(?objectItem), "http://www.wikidata.org/entity/")) }}"""
    )
    published = set()
    for r in rows:
        qid = r["subjectItem"].value.rsplit("/", 1)[-1]
        assert r["item"].value.endswith("/" + qid), "a claim is stated on the item of its subject"
        published.add((int(r["line"].value), qid, r["objectItem"].value.rsplit("/", 1)[-1]))
    missing = [line for line in expected if line not in published]
    assert not missing, f"crawl lines not published: {missing[:10]}"
    assert len(published) == len(expected)


def test_the_crawls_labels_are_untagged_and_never_names(store: ox.Store) -> None:
    names = dict(line.rstrip("\n").split("\t") for line in NAMES.open(encoding="utf-8"))
    rows = list(
        store.query(
            f"""SELECT ?place ?item ?label WHERE {{ GRAPH <{BASE}graph/wikidata-p190-2016> {{
                ?place <http://www.w3.org/2000/01/rdf-schema#label> ?label ;
                    <http://www.w3.org/2002/07/owl#sameAs> ?item }} }}"""
        )
    )
    assert len(rows) == 371
    for r in rows:
        assert r["label"].language is None, r
        assert r["label"].value == names[r["item"].value.rsplit("/", 1)[-1]]
        place = r["place"]
        assert not store.query(f"ASK {{ {place} <http://www.w3.org/2004/02/skos/core#prefLabel> ?name }}"), place


def test_article_partners_the_crawl_lacks_are_marked(store: ox.Store, qids_of_places: dict[str, str]) -> None:
    """An agreement between two places of the crawl is sc:notListedIn the crawl exactly when the crawl
    has no P190 claim between them; Kuopio - Shanghai and Shanghai - Houston are two of them."""
    linked = {frozenset((s, o)) for _, s, o in read_relations()}
    item_of = {place: qid for qid, place in qids_of_places.items()}
    rows = store.query(
        PREFIXES
        + f"""SELECT ?agreement ?a ?b (EXISTS {{ ?agreement sc:notListedIn {CRAWL} }} AS ?marked) WHERE {{
            ?agreement a sc:PartnershipAgreement ; sc:party ?a , ?b . FILTER(STR(?a) < STR(?b)) }}"""
    )
    checked, marked = 0, set()
    for r in rows:
        a, b = item_of.get(r["a"].value), item_of.get(r["b"].value)
        if a and b:
            checked += 1
            absent = frozenset((a, b)) not in linked
            assert (r["marked"].value == "true") == absent, local(r["agreement"])
            if absent:
                marked.add(local(r["agreement"]))
    assert checked >= 20
    assert {"agreement/kuopio-shanghai", "agreement/helsinki-beijing", "agreement/shanghai-houston"} <= marked


def test_kuopio_pudong_is_corroborated_by_the_crawl_on_both_items(store: ox.Store) -> None:
    rows = store.query(
        PREFIXES
        + f"""SELECT ?item WHERE {{ <{BASE}id/agreement/kuopio-pudong> sc:corroboratedBy ?s .
            ?s a sc:TwinningStatement ; sc:statedOn ?item ; dct:source {CRAWL} }} ORDER BY ?item"""
    )
    assert [r["item"].value.rsplit("/", 1)[-1] for r in rows] == ["Q125378", "Q162279"]


def test_derivation_rules_read_the_status(settings: Settings) -> None:
    """The rules that derive links name the status "in force" and the disputing source."""
    rules = derivation_rules(Iris(settings.base_iri))
    for rule in rules[:2]:
        assert "agreement-status/in-force" in rule and "disputedBy" in rule


def test_derived_links_are_written_past_the_write_ahead_log(dataset: Dataset, tmp_path: Path) -> None:
    """A build's derived links go in by the bulk loader: through a transaction, each link would
    also be written to RocksDB's write-ahead log, which stays beside the closed build (227 MB of
    a one-million-triple build before, a third of its size)."""
    store = ox.Store(str(tmp_path))
    load_files(store, dataset)
    assert derive(store, Iris(BASE)) > 100
    store.flush()
    del store
    logs = sum(path.stat().st_size for path in tmp_path.glob("*.log"))
    assert logs < 1024, f"{logs} bytes of write-ahead log left beside the store"
