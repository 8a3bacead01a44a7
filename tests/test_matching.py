"""Matching names to entities (server/reconcile/matching.py): keys, variants and the name index, and the
reconciliation of names in Finnish, Swedish, English, Chinese and pinyin, codes and identifiers
against the published dataset."""

from __future__ import annotations

import asyncio

import pyoxigraph as ox
import pytest

from server.namespaces import prefixes
from server.query.local import LocalEngine
from server.reconcile import keys, matching, schema, scoring
from server.reconcile.keys import NAME_KEYS, QueryForms
from server.reconcile.matching import Condition, Matcher, Query
from server.store import name_index
from server.store.build import open_store
from server.store.dataset import Dataset
from server.store.name_index import name_index_quads
from server.uris import Iris

BASE = "https://w3id.org/sistercities/"
ID = BASE + "id/"


@pytest.fixture(scope="module")
def indexed(dataset: Dataset) -> ox.Store:
    """The published store with its name index (adding it again is harmless once store.build does)."""
    store = open_store(dataset, None)
    store.extend(name_index_quads(store, Iris(dataset.base_iri), NAME_KEYS))
    return store


@pytest.fixture(scope="module")
def matcher(indexed: ox.Store, dataset: Dataset) -> Matcher:
    engine = LocalEngine(indexed, prefixes(dataset.base_iri))
    return Matcher(engine, dataset.base_iri, asyncio.run(schema.load_schema(engine, dataset.base_iri)))


def match(matcher: Matcher, text: str, type_id: str | None = None, **options) -> list[matching.Candidate]:
    types = (matcher.schema.type_iri(type_id),) if type_id else ()
    return asyncio.run(matcher.match([Query(text, types, **options)]))[0]


def top(matcher: Matcher, text: str, type_id: str | None = None, **options) -> str:
    found = match(matcher, text, type_id, **options)
    assert found, f"nothing found for {text!r}"
    return found[0].iri.removeprefix(ID)


# --- Keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("KUOPIO", "kuopio"),
        ("Kuópio", "kuopio"),
        ("Västerås", "vasteras"),
        ("St. Petersburg", "st petersburg"),
        ("  Shanghai   Pudong\tNew Area ", "shanghai pudong new area"),
        ("Shanghai Municipal People's Government", "shanghai municipal peoples government"),
        ("Kuopio – Shanghai Pudong", "kuopio shanghai pudong"),
        ("国家会展中心\uff08上海\uff09", "国家会展中心 上海"),  # full-width parentheses
        ("\uff33\uff28\uff21\uff2e\uff27\uff28\uff21\uff29", "shanghai"),  # full-width SHANGHAI
        ("Straße", "strasse"),
        ("Tromsø", "tromso"),
    ],
)
def test_normalise(text: str, key: str) -> None:
    assert keys.normalise(text) == key


def test_pinyin_without_tones() -> None:
    assert keys.pinyin("上海市") == "shang hai shi"
    assert keys.pinyin("浦东新区") == "pu dong xin qu"
    assert keys.compact(keys.pinyin("潍坊")) == "weifang"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("city of kuopio", "kuopio"),
        ("kuopio city", "kuopio"),
        ("esbo stad", "esbo"),
        ("pudong new area", "pudong"),
        ("shanghai shi", "shanghai"),
        ("上海市", "上海"),
        ("浦东新区", "浦东"),
        ("山东省", "山东"),
    ],
)
def test_designators_are_dropped(key: str, expected: str) -> None:
    assert expected in keys.strip_designators(key)


def test_designators_leave_short_names_alone() -> None:
    assert keys.strip_designators("沙市") == set()  # one character left: not a name
    assert keys.strip_designators("city") == set()
    assert keys.strip_designators("kuopion kaupunki") == {"kuopion"}


def test_variants_of_a_chinese_place_name() -> None:
    found = keys.variants("浦东新区", place=True)
    assert {"浦东", "pu dong xin qu", "pu dong"} <= found
    assert "pudongxinqu" in keys.spellings(found)


def test_organisation_names_keep_their_designators() -> None:
    assert "kuopio" not in keys.variants("city of kuopio", place=False)


def test_saint_is_one_word() -> None:
    assert "saint petersburg" in keys.variants("st petersburg", place=True)
    assert "saint petersburg" in keys.variants("sankt petersburg", place=True)


@pytest.mark.parametrize(
    ("text", "codes"),
    [("297", {"297"}), ("49", {"49", "049", "490000"}), ("31", {"31", "031", "310000"}), ("3707", {"3707", "370700"})],
)
def test_code_forms(text: str, codes: set[str]) -> None:
    assert keys.code_forms(text) == codes


@pytest.mark.parametrize(
    ("text", "qid"),
    [
        ("Q162279", "Q162279"),
        ("q1757", "Q1757"),
        ("http://www.wikidata.org/entity/Q1757", "Q1757"),
        ("https://www.wikidata.org/wiki/Q8686", "Q8686"),
        ("wd:Q956", "Q956"),
        ("Kuopio", None),
        ("Q", None),
    ],
)
def test_wikidata_items(text: str, qid: str | None) -> None:
    assert keys.wikidata_item(text) == qid


def test_scores() -> None:
    keys = scoring.Keys(names={"kuopio"}, variants=set(), government={"kuopion kaupunki", "kuopionkaupunki"})
    assert scoring.name_score(QueryForms.of("KUOPIO"), keys) == (100.0, "name")
    assert scoring.name_score(QueryForms.of("City of Kuopio"), keys) == (95.0, "variant")
    assert scoring.name_score(QueryForms.of("Kuopion kaupunki"), keys) == (90.0, "government")
    score, kind = scoring.name_score(QueryForms.of("Kuopioo"), keys)
    assert kind == "fuzzy" and 70 < score < 90


# --- The index ---------------------------------------------------------------------------------------


def test_the_index_is_a_graph_of_its_own(indexed: ox.Store) -> None:
    graph = ox.NamedNode(Iris(BASE).name_index_graph)
    kuopio = ox.NamedNode(ID + "place/kuopio")
    names = {q.object.value for q in indexed.quads_for_pattern(kuopio, ox.NamedNode(name_index.NAME_KEY), None, graph)}
    assert {"kuopio", "库奥皮奥"} <= names
    government = ox.NamedNode(name_index.GOVERNMENT_KEY)
    assert {q.object.value for q in indexed.quads_for_pattern(kuopio, government, None, graph)} >= {"kuopion kaupunki"}
    # Not data: nothing of it in the default graph (the merge of the source graphs).
    assert not list(indexed.quads_for_pattern(None, ox.NamedNode(name_index.NAME_KEY), None, ox.DefaultGraph()))
    assert all(
        q.predicate.value.startswith("urn:sistercities:index#")
        for q in indexed.quads_for_pattern(None, None, None, graph)
    )


def test_building_the_index_twice_changes_nothing(indexed: ox.Store) -> None:
    before = len(indexed)
    indexed.extend(name_index_quads(indexed, Iris(BASE), NAME_KEYS))
    assert len(indexed) == before


def test_the_fast_loader_writes_the_same_index(indexed: ox.Store, dataset: Dataset) -> None:
    graph = ox.NamedNode(Iris(BASE).name_index_graph)
    store = open_store(dataset, None)
    name_index.add_name_index(store, Iris(dataset.base_iri), NAME_KEYS, chunk=500)  # several chunks
    assert set(store.quads_for_pattern(None, None, None, graph)) == set(
        indexed.quads_for_pattern(None, None, None, graph)
    )


def test_only_our_entities_are_indexed(indexed: ox.Store) -> None:
    graph = ox.NamedNode(Iris(BASE).name_index_graph)
    subjects = {q.subject.value for q in indexed.quads_for_pattern(None, None, None, graph)}
    assert subjects and all(s.startswith(ID) for s in subjects)
    assert BASE + "ontology#City" not in subjects


# --- Matching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "type_id", "expected"),
    [
        ("Kuopion kaupunki", "City", "place/kuopio"),
        ("Kuopion kaupunki", None, "organisation/city-of-kuopio"),
        ("Esbo", None, "place/espoo"),
        ("Helsingfors", None, "place/helsinki"),
        ("上海", None, "place/shanghai"),
        ("上海市", None, "place/shanghai"),
        ("Shanghai", None, "place/shanghai"),
        ("浦东新区", None, "place/pudong"),
        ("Pudong New Area", None, "place/pudong"),
        ("Shanghai Pudong", None, "place/pudong"),
        ("pudong xinqu", None, "place/pudong"),
        ("KUOPIO", None, "place/kuopio"),
        ("Kuópio", None, "place/kuopio"),
        ("297", None, "place/kuopio"),
        ("310115", None, "place/pudong"),
        ("31", None, "place/shanghai"),
        ("310000", None, "place/shanghai"),
        ("Q162279", None, "place/kuopio"),
        ("http://www.wikidata.org/entity/Q1757", None, "place/helsinki"),
        ("Peking", None, "place/beijing"),
        ("北京", None, "place/beijing"),
        ("Kiina", None, "place/china"),
        ("中国", None, "place/china"),
        ("Weifang", None, "place/weifang"),
        ("潍坊", None, "place/weifang"),
        ("Rizhao", None, "place/rizhao"),
        ("日照", None, "place/rizhao"),
        ("Västerås", None, "place/vasteras"),
        ("Vasteras", None, "place/vasteras"),
        ("St Petersburg", None, "place/saint-petersburg"),
        ("Saint Petersburg", None, "place/saint-petersburg"),
        ("Sankt Petersburg", None, "place/saint-petersburg"),
        ("Moskva", None, "place/moscow"),
        ("Antwerpen", None, "place/antwerp"),
        ("南京", None, "place/nanjing"),
        ("Esbo stad", "City", "place/espoo"),
        ("City of Kuopio", "Place", "place/kuopio"),
        ("Shanghai shi", None, "place/shanghai"),
        ("place/kuopio", None, "place/kuopio"),
        ("https://w3id.org/sistercities/id/place/espoo", None, "place/espoo"),
        ("https://sws.geonames.org/650224/", None, "place/kuopio"),
        ("Kuopio", "Organisation", "organisation/city-of-kuopio"),
        ("Nanjing University", None, "organisation/nanjing-university"),
        ("Helsinky", None, "place/helsinki"),  # a typo: fuzzy, never a match
    ],
)
def test_finds_the_expected_entity_first(matcher: Matcher, text: str, type_id: str | None, expected: str) -> None:
    assert top(matcher, text, type_id) == expected


def test_kuopion_kaupunki_without_a_type(matcher: Matcher) -> None:
    """The literal name of the City of Kuopio (the organisation) first; the place it governs next."""
    found = match(matcher, "Kuopion kaupunki")
    assert [c.iri.removeprefix(ID) for c in found[:2]] == ["organisation/city-of-kuopio", "place/kuopio"]
    assert (found[0].kind, found[1].kind) == ("name", "government")
    assert found[0].score > found[1].score


@pytest.mark.parametrize(
    ("text", "type_id"),
    [
        ("Kuopion kaupunki", "City"),
        ("Esbo", None),
        ("Shanghai", None),
        ("上海", None),
        ("297", None),
        ("Q162279", None),
        ("Moskva", "City"),
    ],
)
def test_certain_matches(matcher: Matcher, text: str, type_id: str | None) -> None:
    found = match(matcher, text, type_id)
    assert found[0].match and not any(c.match for c in found[1:])


@pytest.mark.parametrize("text", ["Helsinky", "Kuopio Pudong", "Shanghai University", "Food"])
def test_uncertain_matches_are_not_matches(matcher: Matcher, text: str) -> None:
    assert not any(c.match for c in match(matcher, text))


def test_the_type_filters(matcher: Matcher) -> None:
    assert all("Organisation" not in str(c.types) for c in match(matcher, "Kuopio", "City"))
    assert match(matcher, "Pudong New Area", "City") == []  # a district, not a city
    assert top(matcher, "Pudong New Area", "AdministrativeArea") == "place/pudong"
    assert match(matcher, "Kuopio", "no such type") == []
    assert match(matcher, "Kuopio", "http://example.org/Unknown") == []
    assert top(matcher, "Kuopio", "kaupunki") == "place/kuopio"  # a class named by its Finnish label
    assert top(matcher, "Kuopio", BASE + "ontology#Municipality") == "place/kuopio"
    assert top(matcher, "Kuopio", "http://schema.org/City") == "place/kuopio"  # sc:City is a schema:City


def test_scores_are_between_0_and_100_and_sorted(matcher: Matcher) -> None:
    found = match(matcher, "Shanghai", limit=10)
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores)
    assert len(found) <= 10


def test_the_limit(matcher: Matcher) -> None:
    assert len(match(matcher, "Shanghai", limit=2)) == 2


def test_country_constraint(matcher: Matcher) -> None:
    finland = Condition("country", ["Finland"])
    assert top(matcher, "Kuopio", conditions=[finland]) == "place/kuopio"
    found = match(matcher, "Kuopio", conditions=[finland])
    assert found[0].match and found[0].conditions == {"country": True}
    china = match(matcher, "Kuopio", conditions=[Condition("country", ["China"])], limit=20)
    kuopio = next(c for c in china if c.iri == ID + "place/kuopio")
    assert kuopio.conditions == {"country": False} and not kuopio.match and kuopio.score < 100


@pytest.mark.parametrize("country", ["Finland", "Suomi", "place/finland", {"id": "place/finland"}])
def test_country_by_name_code_or_id(matcher: Matcher, country) -> None:
    found = match(matcher, "Espoo", conditions=[Condition("country", [country])])
    assert found[0].conditions == {"country": True}


def test_organisations_have_the_country_of_the_place_they_govern(matcher: Matcher) -> None:
    found = match(matcher, "City of Espoo", "Organisation", conditions=[Condition("country", ["Finland"])])
    assert found[0].iri == ID + "organisation/city-of-espoo" and found[0].conditions == {"country": True}


def test_part_of_any_larger_area(matcher: Matcher) -> None:
    found = match(matcher, "Zhucheng", conditions=[Condition("partOf", ["Shandong"])])
    assert found[0].iri == ID + "place/zhucheng" and found[0].conditions == {"partOf": True}


def test_required_conditions_drop_candidates(matcher: Matcher) -> None:
    found = match(matcher, "Kuopio", conditions=[Condition("country", ["China"], required=True)])
    assert ID + "place/kuopio" not in {c.iri for c in found}


def test_a_query_by_properties_only(matcher: Matcher) -> None:
    found = match(matcher, "", conditions=[Condition("code", ["297"])])
    assert [c.iri for c in found] == [ID + "place/kuopio"] and found[0].match
    finnish = match(matcher, "", "City", conditions=[Condition("country", ["Finland"])])
    assert {c.iri.removeprefix(ID) for c in finnish} == {"place/kuopio", "place/espoo", "place/helsinki"}
    assert not any(c.match for c in finnish)


def test_names_and_descriptions(matcher: Matcher) -> None:
    found = match(matcher, "上海")[0]
    assert found.name == "Shanghai" and found.description == "city · China"
    assert found.types == [BASE + "ontology#City"]


# --- Autocomplete -------------------------------------------------------------------------------------


def suggest(matcher: Matcher, prefix: str, type_id: str | None = None, limit: int = 5) -> list[str]:
    types = (matcher.schema.type_iri(type_id),) if type_id else ()
    return [c.iri.removeprefix(ID) for c in asyncio.run(matcher.suggest(prefix, types, limit, 0))]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("kuo", "place/kuopio"),
        ("Kuopio", "place/kuopio"),
        ("pud", "place/pudong"),
        ("Shanghai Pud", "place/pudong"),
        ("上", "place/shanghai"),
        ("潍", "place/weifang"),
        ("hels", "place/helsinki"),
        ("Q1757", "place/helsinki"),
        ("297", "place/kuopio"),
        ("place/espoo", "place/espoo"),
    ],
)
def test_suggest(matcher: Matcher, prefix: str, expected: str) -> None:
    assert suggest(matcher, prefix)[0] == expected


def test_suggest_by_type(matcher: Matcher) -> None:
    assert suggest(matcher, "kuo", "Organisation")[0] == "organisation/city-of-kuopio"
    assert all(i.startswith("place/") for i in suggest(matcher, "s", "Place", limit=20))
