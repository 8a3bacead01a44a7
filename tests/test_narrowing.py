"""Filters on pieces of names narrowed by the search index (server/query/narrowing.py).

A query such as `?city skos:prefLabel ?label FILTER(CONTAINS(LCASE(?label), "kuo"))` is sent to
the engine with the subjects the index finds as a VALUES block. The answers must be those of the
query as written, for names in any case and script (the index holds the names lowered by the
engine's own LCASE), and only queries whose answers cannot change are narrowed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from server.engines import NAME_KEYS
from server.query.narrowing import PER_ROW_WANTED, narrowed
from server.store.location import StoreLocation
from server.store.name_table import NAME_TABLE_FILE, NameTable, write_name_table
from server.uris import Iris
from tests.live import live_server

BASE = "https://w3id.org/sistercities/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
PREFIXES = f"PREFIX skos: <{SKOS}>\nPREFIX rdfs: <{RDFS}>\nPREFIX dct: <http://purl.org/dc/terms/>\n"
# Names whose lower case Python and the engine might spell differently, or that only a case-blind
# comparison beyond ASCII finds (SQLite's LIKE folds ASCII only).
NAMES = {
    "kuopio": [("Kuopio", "fi"), ("Kuopion kaupunki", "fi")],
    "turku": [("Turku", "fi"), ("ÅBO STAD", "sv")],
    "kelvin": [("Kelvin \u212aab", "en")],  # KELVIN SIGN, lowered to a plain k
    "istanbul": [("İstanbul", "tr")],  # dotted capital I, lowered to i and a combining dot
    "odos": [("ΟΔΟΣ", "el")],  # a final capital sigma, lowered to ς
    "beijing": [("北京市", "zh"), ("Beijing", "en")],
    "strasse": [("Straße", "de")],
}
JSON_RESULTS = "application/sparql-results+json"
TOWNS = 60  # places named "Town n", more than a LIMIT 1 query is narrowed for
PIECES = ("kuo", "UOP", "åbo", "kab", "i̇st", "ist", "δος", "ος", "北京市", "eij", "traß", "asse", "own", "zzz")


def place(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{BASE}id/place/{name}")


def name_quads() -> list[ox.Quad]:
    label, title = ox.NamedNode(SKOS + "prefLabel"), ox.NamedNode("http://purl.org/dc/terms/title")
    quads = [ox.Quad(place(p), label, ox.Literal(n, language=lang)) for p, names in NAMES.items() for n, lang in names]
    quads += [ox.Quad(place(f"town{n}"), ox.NamedNode(RDFS + "label"), ox.Literal(f"Town {n}")) for n in range(TOWNS)]
    quads.append(ox.Quad(place("titled"), title, ox.Literal("Kuopio")))  # not a name the index holds
    return quads


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[ox.Store, NameTable]:
    store = ox.Store()
    store.extend(name_quads())
    folder = tmp_path_factory.mktemp("narrowing")
    write_name_table(store, Iris(BASE), NAME_KEYS, folder)
    table = NameTable.open(folder, None)
    assert table is not None
    return store, table


def rows(store: ox.Store, query: str) -> set[tuple[str, ...]]:
    return {tuple(str(term) for term in row) for row in store.query(query)}


def label_query(piece: str, function: str = "CONTAINS", tail: str = "") -> str:
    return PREFIXES + f'SELECT ?s ?l WHERE {{ ?s skos:prefLabel ?l FILTER({function}(LCASE(?l), "{piece}")) }}{tail}'


@pytest.mark.parametrize("piece", PIECES)
def test_a_narrowed_query_answers_as_written(indexed: tuple[ox.Store, NameTable], piece: str) -> None:
    store, table = indexed
    for query in (label_query(piece), label_query(piece, "STRSTARTS")):
        written = rows(store, query)
        faster = narrowed(query, table)
        if len(piece) >= 3:
            assert faster is not None and "VALUES ?s {" in faster, query
            assert rows(store, faster) == written, query
        else:
            assert faster is None, "no trigram to look up: the engine reads every name as before"


def test_names_are_found_in_any_case_beyond_ascii(indexed: tuple[ox.Store, NameTable]) -> None:
    """SQLite's LIKE ignores case in ASCII only; the names are kept in lower case, so search finds
    ÅBO from "åbo" (the table used to keep them as written, and missed it)."""
    store, table = indexed
    assert table.containing("Åbo", 10) == [place("turku").value]
    assert rows(store, label_query("åbo")) == {(f"<{place('turku').value}>", '"ÅBO STAD"@sv')}
    assert narrowed(label_query("åbo"), table) is not None


def test_the_subjects_are_those_with_a_name_holding_the_piece(indexed: tuple[ox.Store, NameTable]) -> None:
    faster = narrowed(label_query("kuo"), indexed[1])
    assert faster is not None
    assert f"VALUES ?s {{ <{place('kuopio').value}> }}" in faster  # not the subject of dct:title "Kuopio"


def test_conjunctions_and_inverse_patterns_are_narrowed(indexed: tuple[ox.Store, NameTable]) -> None:
    store, table = indexed
    queries = (
        PREFIXES + 'SELECT ?s WHERE { ?s skos:prefLabel ?l FILTER(LANG(?l) = "fi" && CONTAINS(LCASE(?l), "kuo")) }',
        PREFIXES + 'SELECT ?s WHERE { ?l ^skos:prefLabel ?s . FILTER((CONTAINS(LCASE($l), "kuo"))) }',
        PREFIXES + 'ASK { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "bo st")) }',
    )
    for query in queries:
        faster = narrowed(query, table)
        assert faster is not None, query
        json = ox.QueryResultsFormat.JSON
        assert store.query(faster).serialize(format=json) == store.query(query).serialize(format=json), query


@pytest.mark.parametrize(
    "query",
    [
        PREFIXES + 'SELECT * WHERE { ?s a ?t OPTIONAL { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "kuo")) } }',
        PREFIXES + 'SELECT * WHERE { ?s dct:title ?l FILTER(CONTAINS(LCASE(?l), "kuo")) }',
        PREFIXES + 'SELECT * WHERE { ?s skos:prefLabel ?l FILTER(CONTAINS(?l, "Kuo")) }',
        PREFIXES + 'SELECT * WHERE { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(STR(?l)), "kuo")) }',
        PREFIXES + 'SELECT * WHERE { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "ku\\u006F")) }',
        PREFIXES + 'SELECT * WHERE { ?s skos:prefLabel ?l FILTER(!CONTAINS(LCASE(?l), "kuo")) }',
        PREFIXES + 'SELECT * WHERE { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "kuo") || true) }',
        PREFIXES + 'SELECT * WHERE { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "kuo") && true || true) }',
        PREFIXES + 'SELECT * FROM <urn:g> WHERE { ?s skos:prefLabel ?l FILTER(CONTAINS(LCASE(?l), "kuo")) }',
        PREFIXES + 'SELECT * WHERE { GRAPH ?g { ?s skos:prefLabel ?l } FILTER(CONTAINS(LCASE(?l), "kuo")) }',
        PREFIXES
        + 'SELECT * WHERE { { ?s skos:prefLabel ?l } UNION { ?s rdfs:label ?l } FILTER(CONTAINS(LCASE(?l), "kuo")) }',
        'SELECT * WHERE { ?s <prefLabel> ?l FILTER(CONTAINS(LCASE(?l), "kuo")) }',
        PREFIXES + 'SELECT * WHERE { ?s rdfs:label ?l FILTER(CONTAINS(LCASE(?l), "own")) } LIMIT 1',
    ],
    ids=[
        "optional",
        "not-a-name",
        "case-sensitive",
        "str",
        "escape",
        "negated",
        "disjunction",
        "conjunction-in-a-disjunction",
        "from",
        "graph",
        "union",
        "relative-iri",
        "too-many-for-limit",
    ],
)
def test_queries_whose_answer_could_change_are_left_as_written(indexed: tuple[ox.Store, NameTable], query: str) -> None:
    assert narrowed(query, indexed[1]) is None


def test_a_limit_bounds_the_subjects_worth_narrowing(indexed: tuple[ox.Store, NameTable]) -> None:
    """A scan that may stop after k rows is cheap when matches are many: narrowed only up to
    PER_ROW_WANTED subjects per row wanted; with ORDER BY every row is needed, so always."""
    table = indexed[1]
    query = PREFIXES + 'SELECT * WHERE {{ ?s rdfs:label ?l FILTER(CONTAINS(LCASE(?l), "own")) }} {}'
    assert TOWNS > PER_ROW_WANTED
    assert narrowed(query.format("LIMIT 1"), table) is None
    assert narrowed(query.format("LIMIT 3"), table) is not None
    assert narrowed(query.format("ORDER BY ?l LIMIT 1"), table) is not None
    assert narrowed(query.format(""), table, most=TOWNS - 1) is None


def test_names_of_blank_nodes_turn_narrowing_off(tmp_path: Path) -> None:
    """The table holds names of IRIs only; a blank node's name could be missed, so none is narrowed."""
    store = ox.Store()
    store.extend(name_quads())
    store.add(ox.Quad(ox.BlankNode(), ox.NamedNode(SKOS + "prefLabel"), ox.Literal("Kuopio")))
    write_name_table(store, Iris(BASE), NAME_KEYS, tmp_path)
    table = NameTable.open(tmp_path, None)
    assert table is not None and table.blank_names == 1
    assert narrowed(label_query("kuo"), table) is None


def test_the_server_answers_narrowed_queries_as_written(tmp_path: Path, store: ox.Store) -> None:
    """A curated build on disk gets its search index; the server's answers to piece filters are
    those of the query as written, evaluated in-process over the same data."""
    folder = tmp_path / "store"
    queries = [
        label_query(piece, tail=" ORDER BY ?s ?l") for piece in ("kuo", "hel", "上海", "bo", "ship", "stad", "ing")
    ]
    options = ("--no-validate", "--result-cache-bytes", "0")
    with (
        live_server("--store", str(folder), *options, cache_dir=tmp_path / "c") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        table = NameTable.open(StoreLocation(folder).current().path, None)
        assert table is not None and (table.path.name == NAME_TABLE_FILE)
        assert narrowed(queries[0], table) is not None
        answered_rows = 0
        for query in queries:
            response = http.post("/sparql", data={"query": query}, headers={"Accept": JSON_RESULTS})
            assert response.status_code == 200, response.text
            answered = ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)
            expected = [tuple(map(str, row)) for row in store.query(query)]
            assert [tuple(map(str, row)) for row in answered] == expected, query
            answered_rows += len(expected)
        assert answered_rows > len(queries), "the pieces must be found in the bundled data's names"
