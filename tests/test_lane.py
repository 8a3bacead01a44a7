"""The lookup lane: which queries it reads as bounded lookups, and that its answers are exactly the
query workers' answers, over the real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from server.namespaces import prefixes
from server.query.bounded import read_lookup, steps
from server.query.lane import QUICK_COUNT, Bound, FanOuts, plan_of, plan_of_shape
from server.query.results import turtle_of
from server.store.fan_outs import ANY_PREDICATE
from tests.hostile import HOSTILE
from tests.live import CARTESIAN, LOOKUP, Server, live_server

PLACE = "https://w3id.org/sistercities/id/place/"
EX = "https://example.org/"
PREFIXES = (
    "PREFIX sc: <https://w3id.org/sistercities/ontology#>\n"
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)

# Lookups of every shape the lane reads, over the bundled data.
LOOKUPS = {
    "point": f"SELECT ?p ?o WHERE {{ <{PLACE}kuopio> ?p ?o }}",
    "point_limit_offset": f"SELECT * WHERE {{ <{PLACE}shanghai> ?p ?o }} ORDER BY ?p ?o LIMIT 5 OFFSET 3",
    "distinct_predicates": f"SELECT DISTINCT ?p WHERE {{ <{PLACE}shanghai> ?p ?o }} ORDER BY ?p",
    "ask_true": PREFIXES + f"ASK {{ <{PLACE}kuopio> a sc:City }}",
    "ask_false": PREFIXES + f"ASK {{ <{PLACE}kuopio> sc:twinnedWith <{PLACE}kuopio> }}",
    "twins_in": PREFIXES
    + f"""SELECT ?city ?label WHERE {{
  ?city sc:twinnedWith <{PLACE}shanghai> .
  OPTIONAL {{ ?city skos:prefLabel ?label FILTER(LANG(?label) = "en") }}
}} ORDER BY ?city""",
    "reverse_path": PREFIXES + f"SELECT ?city WHERE {{ <{PLACE}shanghai> ^sc:twinnedWith ?city }} ORDER BY ?city",
    "agreements": PREFIXES
    + f"""SELECT ?agreement ?partner ?type WHERE {{
  ?agreement sc:party <{PLACE}kuopio> ; sc:party ?partner ; a ?type .
  FILTER(?partner != <{PLACE}kuopio> && !isBlank(?partner))
}} ORDER BY ?agreement ?partner ?type""",
    "labels_filtered": PREFIXES
    + f"""SELECT ?label WHERE {{ <{PLACE}shanghai> skos:prefLabel ?label
  FILTER(LANGMATCHES(LANG(?label), "zh") || STRSTARTS(STR(?label), "Shang")) }} ORDER BY ?label""",
    "literal_object": PREFIXES + 'SELECT ?place WHERE { ?place skos:prefLabel "Kuopio"@fi }',
    "construct": PREFIXES
    + f"""CONSTRUCT {{ ?city sc:twinnedWith <{PLACE}shanghai> ; skos:prefLabel ?label }}
WHERE {{ ?city sc:twinnedWith <{PLACE}shanghai> OPTIONAL {{ ?city skos:prefLabel ?label }} }}""",
    "construct_where": f"CONSTRUCT WHERE {{ <{PLACE}kuopio> ?p ?o }}",
    "describe_two": f"DESCRIBE <{PLACE}kuopio> <{PLACE}shanghai>",
    "no_match": f"SELECT ?o WHERE {{ <{PLACE}nowhere> ?p ?o }}",
}
RESULTS_FORMATS = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
GRAPH_FORMATS = ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml")


# --- Reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LOOKUPS))
def test_every_lookup_shape_is_read_as_a_lookup(name: str) -> None:
    assert plan_of(LOOKUPS[name]) is not None, name


NOT_LOOKUPS = {
    "cartesian": CARTESIAN,
    "unanchored": "SELECT * WHERE { ?s ?p ?o }",
    "two_islands": "SELECT * WHERE { <urn:a> <urn:p> ?x . ?y <urn:q> ?z }",
    "backward_from_a_variable": "SELECT * WHERE { <urn:a> <urn:p> ?x . ?y <urn:q> ?x }",
    "variable_predicate_unanchored": "SELECT * WHERE { ?s ?p <urn:o> }",
    "star_path": "SELECT * WHERE { <urn:a> <urn:p>* ?x }",
    "sequence_path": "SELECT * WHERE { <urn:a> <urn:p>/<urn:q> ?x }",
    "alternative_path": "SELECT * WHERE { <urn:a> <urn:p>|<urn:q> ?x }",
    "negated_path": "SELECT * WHERE { <urn:a> !<urn:p> ?x }",
    "regex": 'SELECT * WHERE { <urn:a> ?p ?o FILTER(REGEX(STR(?o), "(a+)+b")) }',
    "exists": "SELECT * WHERE { <urn:a> ?p ?o FILTER EXISTS { ?o ?q ?r } }",
    "not_exists": "SELECT * WHERE { <urn:a> ?p ?o FILTER(NOT EXISTS { ?o ?q ?r }) }",
    "function_by_iri": "SELECT * WHERE { <urn:a> ?p ?o FILTER(<urn:f>(?o)) }",
    "union": "SELECT * WHERE { { <urn:a> ?p ?o } UNION { <urn:b> ?p ?o } }",
    "subquery": "SELECT * WHERE { { SELECT * WHERE { ?s ?p ?o } } }",
    "values": "SELECT * WHERE { VALUES ?s { <urn:a> } ?s ?p ?o }",
    "bind": "SELECT * WHERE { <urn:a> ?p ?o BIND(?o AS ?x) }",
    "graph": "SELECT * WHERE { GRAPH ?g { <urn:a> ?p ?o } }",
    "from": "SELECT * FROM <urn:g> WHERE { <urn:a> ?p ?o }",
    "service": "SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { <urn:a> ?p ?o } }",
    "aggregate": "SELECT (COUNT(*) AS ?n) WHERE { <urn:a> ?p ?o }",
    "group_by": "SELECT ?p WHERE { <urn:a> ?p ?o } GROUP BY ?p",
    "blank_node_subject": "SELECT * WHERE { [] <urn:p> <urn:o> }",
    "blank_node_label": "SELECT * WHERE { _:b <urn:p> ?o }",
    "describe_where": "DESCRIBE ?s WHERE { ?s ?p ?o }",
    "update": "INSERT DATA { <urn:a> <urn:p> <urn:o> }",
    "minus": "SELECT * WHERE { <urn:a> ?p ?o MINUS { <urn:a> ?p ?o } }",
    "nested_group": "SELECT * WHERE { { <urn:a> ?p ?o } }",
    "unterminated": "SELECT * WHERE { <urn:a> ?p ?o",
    "optional_unanchored": "SELECT * WHERE { <urn:a> ?p ?o OPTIONAL { ?x ?y ?z } }",
}


@pytest.mark.parametrize("name", sorted(NOT_LOOKUPS))
def test_what_could_run_away_is_not_a_lookup(name: str) -> None:
    assert plan_of(NOT_LOOKUPS[name]) is None, name


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_no_hostile_query_is_a_lookup(hostile) -> None:
    assert plan_of(hostile.query) is None


def test_the_plan_reaches_each_pattern_from_a_constant() -> None:
    lookup = read_lookup(LOOKUPS["agreements"])
    ordered = steps(lookup)
    first = ordered[0]
    assert first.pattern.object == ("const", f"<{PLACE}kuopio>") and not first.forward
    assert all(step.forward for step in ordered[1:]), "then forward from ?agreement"
    joined = steps(read_lookup(NOT_LOOKUPS["two_islands"].replace("?y", "?x")))
    assert [step.forward for step in joined] == [True, True], "joining the two islands makes a lookup"


# Texts whose constants hold what a shape must not be fooled by: brackets and quotes in comments
# and strings, escaped quotes, marks of the shape itself, prefixes and a base.
TRICKY = {
    "comment_with_quote": f"# it's <not> an \"IRI\"\nSELECT * WHERE {{ <{EX}a> ?p ?o }} # '\n",
    "string_with_brackets": f'SELECT ?s WHERE {{ ?s <{EX}name> "<{EX}b> \\" \'x\'"@fi-FI }}',
    "single_quoted": f"SELECT ?s WHERE {{ ?s <{EX}name> 'it\\'s' }}",
    "two_strings": f"SELECT ?s WHERE {{ ?s <{EX}name> 'it''s' }}",
    "typed": f'ASK {{ <{EX}a> <{EX}n> "5"^^<http://www.w3.org/2001/XMLSchema#integer> }}',
    "prefixes_and_base": f"BASE <{EX}>\nPREFIX e: <{EX}>\nSELECT * WHERE {{ <a> e:p ?o . ?o e:q <b> }}",
    "marked": f"SELECT * WHERE {{ <{EX}a\ue0000\ue000> ?p ?o }}",
    "same_constant_twice": f"SELECT * WHERE {{ <{EX}a> <{EX}p> ?o . <{EX}a> <{EX}p> ?o }}",
    "unclosed_string": f'SELECT * WHERE {{ <{EX}a> ?p "open }}',
}


@pytest.mark.parametrize("query", [*LOOKUPS.values(), *NOT_LOOKUPS.values(), *TRICKY.values()])
def test_a_plan_read_through_its_shape_is_the_plan_of_its_text(query: str) -> None:
    assert plan_of(query) == plan_of_shape(query)


def test_the_tricky_texts_are_lookups_but_the_broken_ones() -> None:
    read = {name for name, query in TRICKY.items() if plan_of(query) is not None}
    assert read == set(TRICKY) - {"two_strings", "unclosed_string"}


def test_lookups_of_one_shape_are_read_once() -> None:
    plan_of_shape.cache_clear()
    for n in range(5):
        assert (
            plan_of(f'SELECT * WHERE {{ <{EX}city{n}> <{EX}name> "n{n}" }}')
            .lookup.patterns[0]
            .subject[1]
            .endswith(f"city{n}>")
        )
    assert plan_of_shape.cache_info().misses == 1


# --- Bounds ------------------------------------------------------------------------------------------


def bound_over(triples: list[tuple[str, str, ox.NamedNode | ox.Literal]], known: dict) -> Bound:
    """A Bound over a store of `triples`, with the fan-outs `known` already counted."""
    store = ox.Store()
    store.extend(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), o) for s, p, o in triples)
    fan_outs = FanOuts(store, ThreadPoolExecutor(max_workers=1))
    fan_outs.known.update(known)
    return Bound(store, fan_outs, budget=1_000)


def test_a_bound_above_enough_is_tightened_by_counting_the_constants_matches() -> None:
    hub = [(f"{EX}a{i}", f"{EX}party", ox.NamedNode(f"{EX}hub")) for i in range(100)]
    small = [(f"{EX}b{i}", f"{EX}party", ox.NamedNode(f"{EX}small")) for i in range(2)]
    bound = bound_over(hub + small, {("in", f"{EX}party"): 100})
    plan = plan_of(f"SELECT ?a WHERE {{ ?a <{EX}party> <{EX}small> }}")
    assert bound.work(plan, None, enough=1_000) == 100, "within enough: the fan-out, which costs nothing"
    assert bound.work(plan, None, enough=10) == 2, "above enough: the small place's own two"
    plan = plan_of(f"SELECT ?a WHERE {{ ?a <{EX}party> <{EX}hub> }}")
    assert bound.work(plan, None, enough=10) == 100


def test_a_point_lookup_is_bounded_by_the_most_triples_of_any_subject_without_counting() -> None:
    bound = bound_over([(f"{EX}x", f"{EX}p{i}", ox.Literal(str(i))) for i in range(3)], {("out", ANY_PREDICATE): 50})
    point, described = plan_of(f"SELECT * WHERE {{ <{EX}x> ?p ?o }}"), plan_of(f"DESCRIBE <{EX}x>")
    assert bound.work(point, None, enough=1_000) == 50
    assert bound.work(described, None, enough=1_000) == 50
    assert bound.work(point, None, enough=10) == 3, "above enough: x's own three, counted"
    assert bound.work(described, None, enough=10) == 3


def test_matches_of_a_literal_or_a_resource_with_many_triples_are_counted_by_the_engine() -> None:
    many = [(f"{EX}x", f"{EX}p{i}", ox.Literal(str(i))) for i in range(QUICK_COUNT + 10)]
    named = [(f"{EX}y{i}", f"{EX}name", ox.Literal("Kuopio", language="fi")) for i in range(3)]
    bound = bound_over(many + named, {})
    assert bound.work(plan_of(f"SELECT * WHERE {{ <{EX}x> ?p ?o }}"), None) == QUICK_COUNT + 10
    assert bound.work(plan_of(f'SELECT ?s WHERE {{ ?s <{EX}name> "Kuopio"@fi }}'), None) == 3


def test_a_count_is_kept_for_the_next_query_over_the_same_store() -> None:
    """Every search of a class's members by label counts the class's members again otherwise."""
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    typed = [(f"{EX}c{i}", rdf_type, ox.NamedNode(f"{EX}City")) for i in range(QUICK_COUNT + 10)]
    bound = bound_over(typed, {("in", rdf_type): 5_000, ("out", f"{EX}name"): 1})  # too many: counted
    for needle in ("ku", "ta"):
        query = f'SELECT ?c WHERE {{ ?c a <{EX}City> ; <{EX}name> ?n FILTER(CONTAINS(?n, "{needle}")) }}'
        bound.work(plan_of(query), None)
    assert bound.native_count.cache_info().hits == 1
    assert bound.engine_count.cache_info().misses == 1, "counted by the engine once"


def test_a_graph_in_turtle_declares_the_prefixes_its_triples_use_and_only_those() -> None:
    """The lane writes a DESCRIBE's Turtle in one pass with every prefix, then drops the unused
    declarations: rdf: is not used by rdf:type (written `a`), wd: only inside a literal is kept."""
    store = ox.Store()
    place, kind = ox.NamedNode(f"{PLACE}kuopio"), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    store.add(ox.Quad(place, kind, ox.NamedNode(f"{EX}City")))
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    store.add(ox.Quad(place, label, ox.Literal("Kuopio, see wd:Q170284", language="en")))
    written = turtle_of(store.query(f"DESCRIBE <{PLACE}kuopio>"), prefixes("https://w3id.org/sistercities/"))
    declared = {line.split()[1] for line in written.splitlines() if line.startswith(b"@prefix")}
    assert declared == {b"place:", b"rdfs:", b"wd:"}
    assert {q.triple for q in ox.parse(written, format=ox.RdfFormat.TURTLE)} == {q.triple for q in store}
    assert turtle_of(store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(false) }"), prefixes(EX)) == b""


# --- Against the real server: the same answers as the workers ------------------------------------


@pytest.fixture(scope="module")
def lane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with live_server("--no-validate", "--result-cache-bytes", "0", cache_dir=tmp_path_factory.mktemp("c")) as server:
        yield server


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    args = ("--no-validate", "--result-cache-bytes", "0", "--lookup-threads", "0")
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("c")) as server:
        yield server


def ask(server: Server, query: str, accept: str) -> httpx.Response:
    response = httpx.get(f"{server.url}/sparql", params={"query": query}, headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200, response.text
    return response


def in_lane(server: Server, query: str, accept: str) -> httpx.Response:
    """The lane's answer: asked until the lane has opened the store and counted the fan-outs."""
    deadline = time.monotonic() + 30
    while True:
        response = ask(server, query, accept)
        if "server-timing" in response.headers or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def canonical(response: httpx.Response) -> object:
    media = response.headers["content-type"].split(";")[0]
    if media in ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"):
        triples = ox.parse(response.content, format=ox.RdfFormat.from_media_type(media))
        dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)  # blank nodes named alike
        return sorted(str(q) for q in dataset)
    if media == "text/csv":
        header, *rows = response.text.splitlines()
        return header, [row for row in rows if "_:" not in row]  # blank nodes: named afresh
    results = ox.parse_query_results(response.content, ox.QueryResultsFormat.from_media_type(media))
    if isinstance(results, ox.QueryBoolean):
        return bool(results)
    return [tuple(term(row[v]) for v in results.variables) for row in results]


def term(value: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str | None:
    """A result term as text; blank nodes are named afresh in each answer, so all alike."""
    if value is None:
        return None
    return "_:" if isinstance(value, ox.BlankNode) else str(value)


@pytest.mark.parametrize("name", sorted(LOOKUPS))
def test_the_lane_answers_exactly_as_the_workers(lane: Server, workers: Server, name: str) -> None:
    query = LOOKUPS[name]
    graph = query.lstrip().startswith(("CONSTRUCT", "DESCRIBE")) or "CONSTRUCT" in query.split("{")[0]
    for accept in GRAPH_FORMATS if graph else RESULTS_FORMATS:
        ours = in_lane(lane, query, accept)
        theirs = ask(workers, query, accept)
        assert ours.headers.get("server-timing", "").startswith("lane"), (name, accept)
        assert "server-timing" not in theirs.headers
        assert ours.headers["content-type"] == theirs.headers["content-type"]
        assert canonical(ours) == canonical(theirs), (name, accept)
        assert ours.headers.get("x-sparql-maxrows") == theirs.headers.get("x-sparql-maxrows")


def test_a_syntax_error_reads_the_same_from_the_lane(lane: Server, workers: Server) -> None:
    """A prefix the query does not declare: the lane leaves it to the workers, who say where."""
    query = f"SELECT ?o WHERE {{ <{PLACE}kuopio> undeclared:p ?o }}"
    ours = httpx.get(f"{lane.url}/sparql", params={"query": query})
    theirs = httpx.get(f"{workers.url}/sparql", params={"query": query})
    assert ours.status_code == theirs.status_code == 400
    assert ours.text == theirs.text


def test_the_lane_is_open_before_the_first_lookup_so_a_runaway_holding_the_one_worker_delays_none(
    tmp_path: Path,
) -> None:
    """The lane opens the store when the server starts serving it, not at the first lookup: a
    lookup asked while a runaway query holds the process's one worker is answered at once."""
    args = ("--no-validate", "--workers", "1", "--query-timeout", "5", "--client-query-share", "0")
    with live_server(*args, "--store", str(tmp_path / "store"), cache_dir=tmp_path / "cache") as server:
        runaway = threading.Thread(
            target=httpx.get, args=(f"{server.url}/sparql",), kwargs={"params": {"query": CARTESIAN}, "timeout": 60}
        )
        runaway.start()
        time.sleep(1.0)
        started = time.monotonic()
        response = httpx.get(f"{server.url}/sparql", params={"query": LOOKUP}, timeout=30)
        waited = time.monotonic() - started
        runaway.join()
    assert response.status_code == 200
    assert response.headers.get("server-timing", "").startswith("lane")
    assert waited < 2.0, f"the lookup waited {waited:.1f} s behind the runaway query"
