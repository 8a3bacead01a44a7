"""The name index: the keys of every name, built into the store for matching.

The name index: the keys of every name of every thing, built into the store for name matching.

What a name's keys are (case folding, designators, pinyin...) is the reconciliation service's
knowledge (server.reconcile.keys), handed in as a `KeyMaker`; this module knows where the keys go.
They are written once, when the store is built, into the graph <{base}graph/name-index>, with
predicates in a private namespace that is not part of the published vocabulary and does not
dereference, `urn:sistercities:index#`:

    idx:nameKey        a name as a key, with and without spaces
    idx:variantKey     variants of a name (designators dropped, Saint, pinyin), with and without spaces
    idx:governmentKey  on a place: the keys of the names of the local government that governs it
    idx:token          the words of names and variants (Chinese: pairs of characters), for partial matches
    idx:prefix         the first 1-6 characters of names and variants (without spaces), for autocomplete

The graph is an auxiliary index, not data: it is not merged into the default graph, so queries of
the data never see it, and it is left out of the dumps. Finding the candidates for a name is then
a lookup of literals in the store's indexes. On the generated data of benchmarks/generate.py at
10M triples, the index (13.6M quads) took under five minutes to add to an on-disk store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox

from server.labels import NAME_PROPERTIES
from server.store.sparql_text import prologue, string
from server.uris import Iris

IDX = "urn:sistercities:index#"
NAME_KEY = IDX + "nameKey"
VARIANT_KEY = IDX + "variantKey"
GOVERNMENT_KEY = IDX + "governmentKey"
TOKEN = IDX + "token"
PREFIX = IDX + "prefix"
KEY_PREDICATES = (NAME_KEY, VARIANT_KEY, GOVERNMENT_KEY)
# Bump when what the index holds for the keys changes (not the keys: the key maker has its own).
LAYOUT_REVISION = "1"


class KeyMaker(Protocol):
    """What keys a name contributes to the index: (index predicate, key) pairs."""

    @property
    def revision(self) -> str: ...

    def index_entries(self, name: str, place: bool) -> list[tuple[str, str]]: ...

    def government_entries(self, name: str) -> list[tuple[str, str]]: ...


def name_index_entries(
    store: ox.Store, iris: Iris, keys: KeyMaker, data: Sequence[ox.NamedNode | ox.DefaultGraph] | None = None
) -> Iterator[tuple[ox.NamedNode, str, str]]:
    """(entity, index predicate, key) for every name of every entity under {base}id/, read from
    the default graph (or the merge of the `data` graphs) with one streamed query (and one more
    for the names of local governments)."""
    graphs = {"default_graph": list(data)} if data is not None else {}
    names = " ".join(f"<{p}>" for p in NAME_PROPERTIES)
    things = string(iris.thing_space)
    start = prologue(iris.ontology_namespace)
    places = [
        row["c"] for row in store.query(start + "SELECT DISTINCT ?c WHERE { ?c rdfs:subClassOf* sc:Place }", **graphs)
    ]
    # FILTER IN rather than a property path or a VALUES clause: the fastest test per name.
    is_place = f"?s a ?c FILTER(?c IN ({', '.join(str(c) for c in places)}))" if places else "FILTER(false)"
    query = start + (
        f"SELECT ?s ?name ?place WHERE {{ VALUES ?p {{ {names} }} ?s ?p ?name "
        f"FILTER(isIRI(?s) && isLiteral(?name) && STRSTARTS(STR(?s), {things})) "
        f"BIND(EXISTS {{ {is_place} }} AS ?place) }}"
    )
    for row in store.query(query, **graphs):
        subject = row["s"]
        for predicate, key in keys.index_entries(row["name"].value, row["place"].value == "true"):
            yield subject, predicate, key
    governments = start + (
        f"SELECT ?place ?name WHERE {{ ?org sc:governs ?place . VALUES ?p {{ {names} }} ?org ?p ?name "
        f"FILTER(isIRI(?place) && isLiteral(?name) && STRSTARTS(STR(?place), {things})) }}"
    )
    for row in store.query(governments, **graphs):
        for predicate, key in keys.government_entries(row["name"].value):
            yield row["place"], predicate, key


def name_index_quads(store: ox.Store, iris: Iris, keys: KeyMaker) -> Iterator[ox.Quad]:
    """The name index as quads in its graph, streamed as the names are read (never held in memory).

    Call it after the derived links (sc:governs, sc:country) are in the default graph; the store
    deduplicates, so calling it twice changes nothing. `add_name_index` does the same, faster.
    """
    graph = ox.NamedNode(iris.name_index_graph)
    nodes = {p: ox.NamedNode(p) for p in (*KEY_PREDICATES, TOKEN, PREFIX)}
    for subject, predicate, key in name_index_entries(store, iris, keys):
        yield ox.Quad(subject, nodes[predicate], ox.Literal(key), graph)


def add_name_index(store: ox.Store, iris: Iris, keys: KeyMaker, chunk: int = 200_000) -> None:
    """Write the name index into a built store: `name_index_quads`, loaded as N-Quads text by the
    store's bulk loader a chunk at a time (several times faster than building Python quads, and
    never more than a chunk in memory). Keys are words and spaces only, so need no escaping."""
    graph = f"<{iris.name_index_graph}>"
    lines: list[str] = []

    def flush() -> None:
        store.bulk_load(input="".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
        lines.clear()

    for subject, predicate, key in name_index_entries(store, iris, keys):
        lines.append(f'{subject} <{predicate}> "{key}" {graph} .\n')
        if len(lines) >= chunk:
            flush()
    flush()


@dataclass(frozen=True)
class NameIndex:
    """The name index as a store extension (server.store.build.Extension)."""

    keys: KeyMaker

    @property
    def revision(self) -> str:
        return f"name-index/{LAYOUT_REVISION}/{self.keys.revision}"

    def graph(self, iris: Iris) -> str:
        return iris.name_index_graph

    def write(self, store: ox.Store, iris: Iris) -> None:
        add_name_index(store, iris, self.keys)
