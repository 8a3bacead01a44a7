"""Every fact has a source; disagreements are kept; no contact data; IRIs are stable and readable."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from server.settings import DEFAULT_BASE_IRI, Settings
from server.store.build import ensure_disk_store, open_store
from server.store.dataset import Dataset
from server.store.location import StoreLocation

BASE = DEFAULT_BASE_IRI
PREFIXES = f"""
PREFIX sc: <{BASE}ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def rows(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    return sorted(tuple(t.value for t in row) for row in store.query(PREFIXES + query))


def data_graphs(dataset: Dataset, settings: Settings) -> list[str]:
    return [f.graph for f in dataset.files if settings.data_dir in f.path.parents]


def test_every_data_graph_names_its_source(store: ox.Store, dataset: Dataset, settings: Settings) -> None:
    """No fact in data/ lacks a source: each file's graph is derived from a described source."""
    sourced = {
        g
        for (g,) in rows(
            store,
            "SELECT ?g WHERE { ?g a sc:SourceGraph ; prov:wasDerivedFrom ?s . ?s a/rdfs:subClassOf* sc:Source }",
        )
    }
    assert sorted(set(data_graphs(dataset, settings)) - sourced) == []


def test_graph_descriptions_match_files(store: ox.Store, dataset: Dataset, settings: Settings) -> None:
    described = {g for (g,) in rows(store, "SELECT ?g WHERE { ?g a sc:SourceGraph }")}
    assert described == set(data_graphs(dataset, settings))


@pytest.mark.parametrize("kind", ["PartnershipAgreement", "Observation", "Event", "CooperationProgramme"])
def test_claims_cite_the_source_of_the_graph_stating_them(store: ox.Store, kind: str) -> None:
    """A claim typed in a source's graph cites that source with dct:source in the same graph."""
    missing = rows(
        store,
        f"""
        SELECT ?claim ?g WHERE {{
            GRAPH ?g {{ ?claim a ?type }} ?type rdfs:subClassOf* sc:{kind} .
            ?g prov:wasDerivedFrom ?source .
            FILTER NOT EXISTS {{ GRAPH ?g {{ ?claim dct:source ?source }} }}
            FILTER(!STRENDS(STR(?g), "/reference-table") && !STRENDS(STR(?g), "/conflicts")) }}""",
    )
    assert missing == []


def test_known_disagreements_are_published_side_by_side(store: ox.Store) -> None:
    conflicts = rows(
        store,
        """
        SELECT ?a ?b WHERE { ?a sc:conflictsWith ?b . ?a dct:source ?sa . ?b dct:source ?sb FILTER(?sa != ?sb)
            FILTER(STR(?a) < STR(?b)) }""",
    )
    assert {(a.rsplit("/", 1)[-1], b.rsplit("/", 1)[-1]) for a, b in set(conflicts)} == {
        ("kuopio-pudong", "kuopio-shanghai"),
        ("shanghai-sister-cities-2019", "shanghai-sister-cities-2020"),
    }


def test_twinning_links_are_symmetric(store: ox.Store) -> None:
    assert (
        rows(
            store,
            "SELECT ?a ?b WHERE { ?a sc:twinnedWith ?b FILTER NOT EXISTS { ?b sc:twinnedWith ?a } }",
        )
        == []
    )
    assert (
        rows(
            store,
            "SELECT ?a ?b WHERE { ?a sc:partnerOf ?b FILTER NOT EXISTS { ?b sc:partnerOf ?a } }",
        )
        == []
    )


EMAIL = re.compile(r"[\w.+-]+(@|\(at\))[\w-]+\.[\w.]+")
PHONE = re.compile(r"(\+|\b00)\d[\d ()-]{6,}\d")


def test_no_contact_details_anywhere(store: ox.Store) -> None:
    """The sources list e-mail addresses and phone numbers; none of them may be republished."""
    found = [
        q.object.value
        for q in store.quads_for_pattern(None, None, None)
        if isinstance(q.object, ox.Literal) and (EMAIL.search(q.object.value) or PHONE.search(q.object.value))
    ]
    assert found == []


def test_people_listed_only_as_contacts_are_not_published(store: ox.Store) -> None:
    names = {q.object.value for q in store.quads_for_pattern(None, None, None) if isinstance(q.object, ox.Literal)}
    for contact in (
        "Laura Kokko",
        "Virpi Laukkanen",
        "Markku Jokela",
        "Hanna Eskelinen",
        "Matti Herlevi",
        "Kai Zhan",
        "Valle Kulmala",
        "Hanna Liljapelto",
    ):
        assert not any(contact in name for name in names), contact


IRI_PATTERN = re.compile(
    r"^(id/(place|organisation|person|post|membership|agreement|event|programme|observation|source|statement"
    r"|concept/[a-z-]+|scheme|dataset)/[a-z0-9]+(-[a-z0-9]+)*|graph/[a-z0-9]+(-[a-z0-9]+)*"
    r"|ontology(#\w+)?|ontology/[0-9.]+|shapes)$"
)


def test_iris_are_readable_and_follow_the_uri_policy(store: ox.Store) -> None:
    terms = {
        t.value
        for q in store.quads_for_pattern(None, None, None)
        for t in (q.subject, q.object, q.graph_name)
        if isinstance(t, ox.NamedNode) and t.value.startswith(BASE)
    }
    assert sorted(t for t in terms if not IRI_PATTERN.match(t[len(BASE) :])) == []


def test_a_different_base_iri_rebases_everything(tmp_path, settings: Settings) -> None:
    other = settings.model_copy(update={"base_iri": "http://127.0.0.1:9999/lod/"})
    store = open_store(Dataset.from_settings(other), None)
    leftovers = [q for q in store.quads_for_pattern(None, None, None) if BASE in str(q)]
    assert leftovers == []
    assert store.query("ASK { <http://127.0.0.1:9999/lod/id/place/kuopio> ?p ?o }")


def test_a_store_on_disk_is_reused_until_the_sources_change(tmp_path, dataset: Dataset) -> None:
    first = ensure_disk_store(dataset, tmp_path / "store")
    assert ensure_disk_store(dataset, tmp_path / "store") == first, "an unchanged store must be reused, not rebuilt"
    changed = Dataset(dataset.files[:-1], dataset.base_iri)
    rebuilt = ensure_disk_store(changed, tmp_path / "store")
    assert rebuilt.path != first.path and rebuilt.record.version == changed.version
    store = ox.Store.read_only(str(rebuilt.path))
    assert not store.query(f"ASK {{ GRAPH <{dataset.files[-1].graph}> {{ ?s ?p ?o }} }}")


def test_a_store_loaded_with_the_load_command_is_served_as_it_is(tmp_path, dataset: Dataset) -> None:
    """`serve --store` does not rebuild a store whose data were loaded: the load is the data."""
    from server.store.load import Source, load

    data = tmp_path / "data.nt"
    data.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    loaded = load(StoreLocation(tmp_path / "store"), [Source(str(data), ox.RdfFormat.N_TRIPLES)], dataset.iris)
    assert ensure_disk_store(dataset, tmp_path / "store") == loaded.build
