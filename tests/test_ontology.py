"""Rules for the ontology, written as queries that list what breaks them (as Brick does)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from server.settings import Settings

PREFIXES = """
PREFIX sc: <https://w3id.org/sistercities/ontology#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
"""
ONTOLOGY = "https://w3id.org/sistercities/ontology"
LANGUAGES = ("en", "fi", "sv", "zh")


def offenders(store: ox.Store, query: str) -> list[str]:
    rows = store.query(PREFIXES + query)
    return sorted(" ".join(str(value) for value in row) for row in rows)


def ask(store: ox.Store, query: str) -> bool:
    return bool(store.query(PREFIXES + query))


@pytest.fixture(scope="module")
def ontology_store(settings: Settings) -> ox.Store:
    """Only the ontology files, so that rules about terms are not confused by data."""
    store = ox.Store()
    for path in settings.ontology_dir.glob("*.ttl"):
        store.load(path=path, format=ox.RdfFormat.TURTLE)
    return store


TERMS = """
    ?term a ?kind . FILTER(?kind IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty, rdfs:Datatype))
    FILTER(STRSTARTS(STR(?term), STR(sc:)))
"""


def test_ontology_metadata(ontology_store: ox.Store) -> None:
    for prop in (
        "owl:versionIRI",
        "owl:versionInfo",
        "dct:title",
        "dct:description",
        "dct:license",
        "dct:creator",
        "dct:created",
        "dct:modified",
    ):
        assert ask(ontology_store, f"ASK {{ <{ONTOLOGY}> a owl:Ontology ; {prop} ?v }}"), prop


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_term_has_a_label_in(ontology_store: ox.Store, language: str) -> None:
    missing = offenders(
        ontology_store,
        f"""
        SELECT ?term WHERE {{ {TERMS}
            FILTER NOT EXISTS {{ ?term rdfs:label ?label FILTER(lang(?label) = "{language}") }} }}""",
    )
    assert missing == [], f"terms without an rdfs:label@{language}"


def test_every_term_has_an_english_definition(ontology_store: ox.Store) -> None:
    missing = offenders(
        ontology_store,
        f"""
        SELECT ?term WHERE {{ {TERMS}
            FILTER NOT EXISTS {{ ?term rdfs:comment ?c FILTER(lang(?c) = "en" && STRLEN(?c) > 10) }} }}""",
    )
    assert missing == []


def test_every_class_reaches_a_standard_vocabulary(ontology_store: ox.Store) -> None:
    """Reuse through subclass links: every class leads to a class outside our namespace."""
    missing = offenders(
        ontology_store,
        """
        SELECT ?class WHERE { ?class a owl:Class . FILTER(STRSTARTS(STR(?class), STR(sc:)))
            FILTER NOT EXISTS { ?class rdfs:subClassOf+ ?standard .
                FILTER(isIRI(?standard) && !STRSTARTS(STR(?standard), STR(sc:))) } }""",
    )
    assert missing == []


def test_twinning_is_aligned_with_wikidata_and_dbpedia(ontology_store: ox.Store) -> None:
    for target in (
        "http://www.wikidata.org/prop/direct/P190",
        "http://dbpedia.org/ontology/twinTown",
    ):
        assert ask(ontology_store, f"ASK {{ sc:twinnedWith owl:equivalentProperty <{target}> }}")
    assert ask(ontology_store, "ASK { sc:twinnedWith a owl:SymmetricProperty }")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_concept_has_a_name_in(ontology_store: ox.Store, language: str) -> None:
    missing = offenders(
        ontology_store,
        f"""
        SELECT ?concept WHERE {{ ?concept skos:inScheme ?scheme .
            FILTER NOT EXISTS {{ ?concept skos:prefLabel ?l FILTER(lang(?l) = "{language}") }} }}""",
    )
    assert missing == []


def test_every_sc_term_used_anywhere_is_declared(store: ox.Store, settings: Settings) -> None:
    """A typo in a data file (sc:partyy) would otherwise pass silently."""
    missing = offenders(
        store,
        """
        SELECT DISTINCT ?term WHERE {
            { ?s ?term ?o } UNION { ?s a ?term } UNION { ?s ?p ?term FILTER(isIRI(?term)) }
            FILTER(STRSTARTS(STR(?term), STR(sc:)))
            FILTER NOT EXISTS { ?term a ?kind
                FILTER(?kind IN (owl:Class, owl:ObjectProperty, owl:DatatypeProperty, rdfs:Datatype)) } }""",
    )
    assert missing == []


def test_every_predicate_and_class_used_in_data_has_an_english_label(store: ox.Store, settings: Settings) -> None:
    """Pages show properties by their labels; none may fall back to a bare IRI.

    The name index is left out: it is an auxiliary graph for reconciliation that
    no page or description shows.
    """
    missing = offenders(
        store,
        f"""
        SELECT DISTINCT ?term WHERE {{
            {{ GRAPH ?g {{ ?s ?term ?o }} }} UNION {{ GRAPH ?g {{ ?s a ?term }} }}
            FILTER(!STRSTARTS(STR(?g), "https://w3id.org/sistercities/graph/sistercities"))
            FILTER(?g != <{settings.iris.name_index_graph}>)
            FILTER NOT EXISTS {{ ?term rdfs:label ?l FILTER(lang(?l) = "en") }}
            FILTER NOT EXISTS {{ ?term skos:prefLabel ?l FILTER(lang(?l) = "en") }} }}""",
    )
    missing = [
        m for m in missing if not m.startswith(("<http://www.w3.org/2002/07/owl#", "<http://purl.org/vocab/vann/"))
    ]
    assert missing == []
