"""The W3C harness itself: its comparison rules, manifest reading and dataset loading checks.

A harness that passes everything proves nothing, so these check that it fails what it must:
lexical differences, inconsistent blank nodes, rows out of ORDER BY order, leftover data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from tests.w3c.dataset import DataFile, Dataset
from tests.w3c.evaluation import order_keys, with_base
from tests.w3c.manifest import (
    HttpRequest,
    ProtocolCase,
    QueryCase,
    ResultFormat,
    Skipped,
    evaluation_entries,
    protocol_cases,
)
from tests.w3c.results import Boolean, Graph, Mismatch, Solutions, Term, check, read_csv, read_response, read_result_set
from tests.w3c.suites import EVALUATION_FOLDERS, find_sparql11, missing_message
from tests.w3c.target import GraphStoreTarget, LoadError, Session, oxigraph_serve

XSD = "http://www.w3.org/2001/XMLSchema#"
SUITES = find_sparql11()
needs_suites = pytest.mark.skipif(SUITES is None, reason=missing_message())


def iri(local: str) -> ox.NamedNode:
    return ox.NamedNode(f"http://example.org/{local}")


def integer(lexical: str) -> ox.Literal:
    return ox.Literal(lexical, datatype=ox.NamedNode(XSD + "integer"))


def solutions(*rows: Mapping[str, Term]) -> Solutions:
    return Solutions(tuple(sorted({name for row in rows for name in row})), tuple(dict(row) for row in rows))


# Comparison


def test_literals_compare_as_terms_not_values() -> None:
    with pytest.raises(Mismatch, match='"01"'):
        check(solutions({"n": integer("1")}), solutions({"n": integer("01")}))


def test_solutions_are_a_multiset() -> None:
    one, two = {"x": iri("a")}, {"x": iri("b")}
    check(solutions(one, two), solutions(two, one))
    with pytest.raises(Mismatch):
        check(solutions(one, one, two), solutions(one, two, two))


def test_blank_node_labels_do_not_matter() -> None:
    a, b, x, y = (ox.BlankNode(label) for label in "abxy")
    expected = solutions({"s": a, "o": b}, {"s": b, "o": iri("c")})
    check(expected, solutions({"s": y, "o": iri("c")}, {"s": x, "o": y}))


def test_blank_nodes_must_map_one_to_one_across_the_result() -> None:
    a, b, x = ox.BlankNode("a"), ox.BlankNode("b"), ox.BlankNode("x")
    with pytest.raises(Mismatch, match="blank nodes"):
        check(solutions({"s": a}, {"s": b}), solutions({"s": x}, {"s": x}))


def test_variables_must_agree() -> None:
    with pytest.raises(Mismatch, match="variables"):
        check(Solutions(("x", "y"), ({"x": iri("a")},)), Solutions(("x",), ({"x": iri("a")},)))


def test_order_counts_only_for_order_by_keys() -> None:
    rows: list[Mapping[str, Term]] = [
        {"k": integer("1"), "v": iri("a")},
        {"k": integer("1"), "v": iri("b")},
        {"k": integer("2"), "v": iri("c")},
    ]
    expected = solutions(*rows)
    check(expected, solutions(rows[1], rows[0], rows[2]), ["k"])  # ties may come in any order
    with pytest.raises(Mismatch, match="out of order"):
        check(expected, solutions(rows[2], rows[0], rows[1]), ["k"])
    check(expected, solutions(rows[2], rows[0], rows[1]), ["unprojected", "k"])


def test_booleans_and_kinds() -> None:
    check(Boolean(True), Boolean(True))
    with pytest.raises(Mismatch):
        check(Boolean(True), Boolean(False))
    with pytest.raises(Mismatch, match="boolean"):
        check(Boolean(True), solutions())


def test_graphs_compare_by_isomorphism() -> None:
    p = iri("p")

    def graph(*triples: tuple[ox.NamedNode | ox.BlankNode, ox.Literal | ox.BlankNode]) -> Graph:
        return Graph(frozenset(ox.Triple(s, p, o) for s, o in triples))

    a, b, x, y = (ox.BlankNode(label) for label in "abxy")
    check(graph((a, b), (b, integer("1"))), graph((y, integer("1")), (x, y)))
    with pytest.raises(Mismatch, match="isomorphic"):
        check(graph((a, b), (b, integer("1"))), graph((x, y), (y, integer("01"))))


def test_csv_compares_text() -> None:
    expected = read_csv("s,o\r\nhttp://example.org/s,1.0E6\r\nhttp://example.org/t,_:a\r\n")
    check(expected, read_csv("s,o\nhttp://example.org/t,_:b0\nhttp://example.org/s,1.0E6\n"))
    with pytest.raises(Mismatch, match="1000000"):
        check(expected, read_csv("s,o\nhttp://example.org/s,1000000\nhttp://example.org/t,_:b0\n"))


def test_answers_that_do_not_parse_are_mismatches() -> None:
    with pytest.raises(Mismatch, match="does not parse"):
        read_response("application/sparql-results+json", b'{"head": ')
    with pytest.raises(Mismatch, match="Content-Type"):
        read_response("text/html", b"<p>Hello</p>")


def test_result_set_vocabulary() -> None:
    turtle = """@prefix rs: <http://www.w3.org/2001/sw/DataAccess/tests/result-set#> .
        [] a rs:ResultSet ; rs:resultVariable "g" ;
           rs:solution [ rs:binding [ rs:variable "g" ; rs:value <data01.ttl> ] ] ."""
    quads = ox.parse(turtle, ox.RdfFormat.TURTLE, base_iri="http://example.org/dir/result.ttl")
    parsed = read_result_set([quad.triple for quad in quads])
    assert parsed == Solutions(("g",), ({"g": ox.NamedNode("http://example.org/dir/data01.ttl")},))


# Queries


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("SELECT * { ?s ?p ?o } ORDER BY ?s DESC(?o) LIMIT 3", ("s", "o")),
        ("SELECT ?x { { SELECT ?x { ?x ?p ?o } ORDER BY ?x LIMIT 2 } }", ()),
        ('SELECT ?l { ?x ?p ?l FILTER(?l != "} ORDER BY ?z") } ORDER BY ?l', ("l",)),
        ("SELECT * { ?s ?p ?o } # ORDER BY ?s\n", ()),
        ("SELECT * { ?s ?p ?o } order by (str(?o)) ?s", ()),
        ("SELECT * { ?s ?p ?o } ORDER BY ?s (str(?o)) ?p", ("s",)),
        ("PREFIX : <http://a/#> SELECT * { ?s :p ?o } # {\nORDER BY ASC( ?o )", ("o",)),
    ],
)
def test_order_keys(query: str, keys: tuple[str, ...]) -> None:
    assert order_keys(query) == keys


def test_the_query_base_is_its_public_iri_unless_it_declares_one() -> None:
    base = "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/bindings/graph.rq"
    store = ox.Store()

    def answer(query: str) -> ox.NamedNode:
        rows = store.query(with_base(query, base))
        assert isinstance(rows, ox.QuerySolutions)
        return next(rows)["g"]

    assert answer("SELECT (<data01.ttl> AS ?g) {}") == ox.NamedNode(base.replace("graph.rq", "data01.ttl"))
    assert answer("BASE <http://example.org/> SELECT (<x> AS ?g) {}") == ox.NamedNode("http://example.org/x")


def request(method: str, target: str = "", content_type: str | None = None, text: str | None = None) -> HttpRequest:
    headers = (("content-type", content_type),) if content_type else ()
    return HttpRequest(method, target, headers, text, "UTF-8", frozenset({2}), None, None)


@pytest.mark.parametrize(
    ("sent", "update"),
    [
        (request("GET", "?query=ASK%20%7B%7D"), False),
        (request("GET", "?update=CLEAR%20ALL"), True),
        (request("POST", "", "application/sparql-update; charset=UTF-16", "CLEAR NAMED"), True),
        (request("POST", "", "text/plain", "CLEAR NAMED"), True),
        (request("POST", "", "text/plain", "# a comment\nPREFIX : <x:> ASK {}"), False),
        (request("POST", "", None, "update=CLEAR%20NAMED"), True),
        (request("POST", "", None, "query=ASK%20%7B%7D"), False),
        (request("POST", "?using-named-graph-uri=x", "application/sparql-query", "ASK {}"), True),
    ],
)
def test_update_requests_are_recognised_by_what_they_do(sent: HttpRequest, update: bool) -> None:
    assert sent.is_update is update


# The suites


def test_missing_suites_are_reported_with_how_to_get_them(tmp_path: Path) -> None:
    assert find_sparql11(tmp_path / "absent") is None
    message = missing_message(tmp_path / "absent")
    assert "git clone https://github.com/w3c/rdf-tests" in message and "SISTERCITIES_W3C_SUITES" in message


@needs_suites
def test_the_suites_are_found_from_a_clone_or_the_folder_itself() -> None:
    assert SUITES is not None
    assert find_sparql11(SUITES.parent.parent) == SUITES == find_sparql11(SUITES)


@needs_suites
def test_the_evaluation_folders_hold_235_cases() -> None:
    assert SUITES is not None
    entries = evaluation_entries(SUITES, EVALUATION_FOLDERS)
    cases = [entry for entry in entries if isinstance(entry, QueryCase)]
    skipped = [entry for entry in entries if isinstance(entry, Skipped)]
    assert len(cases) == 235 and len(skipped) == 9
    assert {entry.test_type for entry in skipped} == {"NegativeSyntaxTest11"}
    assert len({case.iri for case in cases}) == 235
    assert all(case.query.path.is_file() and case.result.path.is_file() for case in cases)
    assert not any(case.requires for case in cases)


@needs_suites
def test_graph_names_are_the_public_iris_of_their_files() -> None:
    assert SUITES is not None
    [case] = [e for e in evaluation_entries(SUITES, ("bindings",)) if e.id == "bindings/graph"]
    assert isinstance(case, QueryCase) and case.result_format is ResultFormat.RESULT_SET
    base = "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/bindings/"
    assert list(case.dataset.named_graphs) == [base + "data01.ttl", base + "data02.ttl"]
    assert [data.path.name for data in case.dataset.default] == ["empty.ttl"]


@needs_suites
def test_the_protocol_manifest_has_20_read_only_cases() -> None:
    assert SUITES is not None
    cases = protocol_cases(SUITES)
    read_only = [case for case in cases if case.read_only]
    assert len(cases) == 34 and len(read_only) == 20
    assert not any("update" in case.id for case in read_only)
    full = next(case for case in cases if case.id == "protocol/query_dataset_full")
    assert sorted(full.dataset.named_graphs) == [f"http://kasei.us/2009/09/sparql/data/data{n}.rdf" for n in (1, 2, 3)]
    assert isinstance(full, ProtocolCase)


# Loading


class KeepsOldData:
    """A broken target: it adds each dataset to the store without clearing it first."""

    def __init__(self, inner: GraphStoreTarget) -> None:
        self.inner = inner

    @property
    def endpoint(self) -> str:
        return self.inner.endpoint

    def load(self, dataset: Dataset) -> None:
        self.inner.client.post(
            self.inner.store, content=dataset.nquads(), headers={"Content-Type": "application/n-quads"}
        ).raise_for_status()


@pytest.fixture
def oxigraph(tmp_path: Path) -> Iterator[GraphStoreTarget]:
    with oxigraph_serve(tmp_path) as target:
        yield target


def datasets(tmp_path: Path) -> tuple[Dataset, Dataset]:
    first, second = tmp_path / "first.ttl", tmp_path / "second.ttl"
    first.write_text("<a> <p> _:x . _:x <p> <b> .")
    second.write_text("<c> <p> <d> .")
    base = "http://example.org/data/"
    one = Dataset.of([DataFile(first, base + "first.ttl")], {base + "g": DataFile(second, base + "second.ttl")})
    return one, Dataset.of([DataFile(second, base + "second.ttl")], {})


@pytest.mark.slow
def test_a_session_loads_each_dataset_exactly(oxigraph: GraphStoreTarget, tmp_path: Path) -> None:
    one, two = datasets(tmp_path)
    with httpx.Client(timeout=30) as client:
        session = Session(oxigraph, client)
        for dataset in (one, two, one):
            session.endpoint_for(dataset)
        ask = "ASK { <http://example.org/data/a> <http://example.org/data/p> [ <http://example.org/data/p> ?b ] }"
        response = client.get(oxigraph.endpoint, params={"query": ask}, headers={"Accept": "application/json"})
        assert ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)


@pytest.mark.slow
def test_a_session_rejects_a_target_that_keeps_old_data(oxigraph: GraphStoreTarget, tmp_path: Path) -> None:
    one, two = datasets(tmp_path)
    with httpx.Client(timeout=30) as client:
        session = Session(KeepsOldData(oxigraph), client)
        session.endpoint_for(one)
        with pytest.raises(LoadError, match="replace the whole store"):
            session.endpoint_for(two)
