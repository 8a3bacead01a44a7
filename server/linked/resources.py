"""Describing a resource: every statement about it with the graphs (sources) that state it, its
blank-node closure, incoming links (paged, for hubs such as Shanghai), and the names, types,
coordinates and dates of everything it links to.

A description costs a fixed number of store queries however many resources it links to: the
statements (outgoing and blank nodes, one query), a page of incoming links, which source each
graph comes from, the claims it conflicts with (only when there are any), and one batched
lookup of the linked resources.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from server.labels import ALTERNATIVE_PROPERTIES, LABEL_PROPERTIES, Labels
from server.namespaces import NAME_INDEX_GRAPH
from server.query.engine import QueryEngine, select

Term = ox.NamedNode | ox.BlankNode | ox.Literal
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
WGS = "http://www.w3.org/2003/01/geo/wgs84_pos#"
PROV_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
LOOKUP_BATCH = 400
MAX_NESTED_ROWS = 5_000


def sc(base_iri: str, name: str) -> str:
    return f"{base_iri}ontology#{name}"


@dataclass(frozen=True)
class Statement:
    """One triple and the named graphs (sources) that state it."""

    subject: Term
    predicate: ox.NamedNode
    object: Term
    graphs: tuple[str, ...]


@dataclass
class Facts:
    """What the page needs to know of each linked resource, fetched in one batched query."""

    labels: Labels = field(default_factory=Labels)
    types: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    coordinates: dict[str, tuple[float, float]] = field(default_factory=dict)
    dates: dict[str, dict[str, ox.Literal]] = field(default_factory=lambda: defaultdict(dict))
    rows: list[tuple[ox.NamedNode, ox.NamedNode, Term]] = field(default_factory=list)


@dataclass
class Description:
    iri: str
    statements: list[Statement]
    nested: dict[ox.BlankNode, list[Statement]]
    incoming: list[Statement]
    incoming_more: bool
    page: int
    sources: dict[str, list[str]]
    conflicts: dict[str, list[Statement]]
    facts: Facts

    @property
    def exists(self) -> bool:
        return bool(self.statements or self.incoming)

    def objects(self, predicate: str) -> list[Term]:
        return [s.object for s in self.statements if s.predicate.value == predicate]

    def all_statements(self) -> list[Statement]:
        return [*self.statements, *(s for group in self.nested.values() for s in group), *self.incoming]


def _grouped(rows: list[ox.QuerySolution]) -> list[Statement]:
    """Rows of SELECT ?s ?p ?o ?g folded into statements with their graphs.

    Rows are read by position: reading a solution by variable name costs several times more,
    and pages read thousands of rows.
    """
    graphs: dict[tuple, list[str]] = defaultdict(list)
    for s, p, o, g in rows:
        graphs[(s, p, o)].append(g.value)
    return [Statement(s, p, o, tuple(sorted(g))) for (s, p, o), g in graphs.items()]


async def statements_and_blank_nodes(engine: QueryEngine, iri: str, base_iri: str) -> tuple[list[Statement], dict]:
    """Outgoing statements and the blank nodes below them (two levels: geometries, time spans);
    the name index is left out: it is an aid for matching, not something said about the thing."""
    node, index = f"<{iri}>", base_iri + NAME_INDEX_GRAPH
    query = f"""SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{
        {{ BIND({node} AS ?s) ?s ?p ?o }}
        UNION {{ {node} ?p1 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}
        UNION {{ {node} ?p1 ?b . FILTER(isBlank(?b)) ?b ?p2 ?s . FILTER(isBlank(?s)) ?s ?p ?o }} }}
        FILTER(?g != <{index}>) }}"""
    statements = _grouped(await select(engine, query, MAX_NESTED_ROWS))
    own = [s for s in statements if s.subject == ox.NamedNode(iri)]
    nested: dict[ox.BlankNode, list[Statement]] = defaultdict(list)
    for statement in statements:
        if isinstance(statement.subject, ox.BlankNode):
            nested[statement.subject].append(statement)
    return own, dict(nested)


async def incoming_page(engine: QueryEngine, iri: str, page: int, size: int) -> tuple[list[Statement], bool]:
    offset = (page - 1) * size
    query = f"""SELECT ?s ?p ?g WHERE {{
        {{ SELECT DISTINCT ?s ?p WHERE {{ GRAPH ?x {{ ?s ?p <{iri}> }} FILTER(isIRI(?s)) }}
           ORDER BY ?p ?s LIMIT {size + 1} OFFSET {offset} }}
        GRAPH ?g {{ ?s ?p <{iri}> }} }}"""
    rows = await select(engine, query, (size + 1) * 50)
    graphs: dict[tuple, list[str]] = defaultdict(list)
    for s, p, g in rows:  # by position, as in _grouped
        graphs[(s, p)].append(g.value)
    ordered = sorted(graphs, key=lambda key: (key[1].value, key[0].value))
    target = ox.NamedNode(iri)
    statements = [Statement(s, p, target, tuple(sorted(graphs[(s, p)]))) for s, p in ordered]
    return statements[:size], len(statements) > size


async def graph_sources(engine: QueryEngine) -> dict[str, list[str]]:
    """Which source(s) each named graph was taken from: the same for every description of one
    data version, so callers compute it once per version and pass it to describe()."""
    rows = await select(engine, f"SELECT ?g ?source WHERE {{ ?g <{PROV_DERIVED}> ?source }}", 100_000)
    sources: dict[str, list[str]] = defaultdict(list)
    for graph, source in rows:
        sources[graph.value].append(source.value)
    return dict(sources)


async def conflicting_claims(engine: QueryEngine, iris: list[str], base_iri: str) -> dict[str, list[Statement]]:
    if not iris:
        return {}
    values = " ".join(f"<{iri}>" for iri in iris)
    index = base_iri + NAME_INDEX_GRAPH
    query = f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{index}>) }}"
    rows = await select(engine, query, 5_000)
    claims: dict[str, list[Statement]] = defaultdict(list)
    for statement in _grouped(rows):
        claims[statement.subject.value].append(statement)
    return dict(claims)


def lookup_properties(base_iri: str) -> list[str]:
    return [
        *LABEL_PROPERTIES,
        RDF_TYPE,
        WGS + "lat",
        WGS + "long",
        sc(base_iri, "startDate"),
        sc(base_iri, "endDate"),
        sc(base_iri, "signingDate"),
    ]


async def facts_about(engine: QueryEngine, iris: set[str], base_iri: str) -> Facts:
    """Names, types, coordinates and dates of many resources, a few hundred per query."""
    facts = Facts()
    properties = ", ".join(f"<{p}>" for p in lookup_properties(base_iri))
    ordered = sorted(iris)
    batches = [ordered[i : i + LOOKUP_BATCH] for i in range(0, len(ordered), LOOKUP_BATCH)]
    # One VALUES only: with a second one for ?p, pyoxigraph scans (2.9 s against 0.05 s at 1M triples).
    queries = [
        f"SELECT ?x ?p ?v WHERE {{ VALUES ?x {{ {' '.join(f'<{iri}>' for iri in batch)} }} "
        f"?x ?p ?v FILTER(?p IN ({properties})) }}"
        for batch in batches
    ]
    date_properties = {sc(base_iri, n) for n in ("startDate", "endDate", "signingDate")}
    for rows in await asyncio.gather(*(select(engine, q, 50_000) for q in queries)):
        for x_term, p_term, v in rows:  # by position, as in _grouped
            x, p = x_term.value, p_term.value
            facts.rows.append((x_term, p_term, v))
            if p == RDF_TYPE:
                facts.types[x].add(v.value)
            elif p in date_properties:
                facts.dates[x][p.rsplit("#", 1)[-1]] = v
            elif p in (WGS + "lat", WGS + "long") and isinstance(v, ox.Literal):
                lat, long = facts.coordinates.get(x, (None, None))
                value = float(v.value)
                facts.coordinates[x] = (value, long) if p.endswith("lat") else (lat, value)
            elif isinstance(v, ox.Literal):
                facts.labels.add(x, p, v.value, v.language)
    facts.coordinates = {k: c for k, c in facts.coordinates.items() if None not in c}
    return facts


def linked_iris(description_parts: list[Statement], sources: dict[str, list[str]], iri: str) -> set[str]:
    found = {iri}
    for statement in description_parts:
        for term in (statement.subject, statement.predicate, statement.object):
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
            elif isinstance(term, ox.Literal):
                found.add(term.datatype.value)
        for graph in statement.graphs:
            found.add(graph)
            found.update(sources.get(graph, ()))
    return found


async def describe(
    engine: QueryEngine,
    iri: str,
    base_iri: str,
    sources: dict[str, list[str]],
    page: int = 1,
    page_size: int = 50,
) -> Description:
    """Everything a document says about `iri`, in three rounds of queries whatever its size;
    `sources` is graph_sources() of the current data version."""
    (own, nested), (incoming, more) = await asyncio.gather(
        statements_and_blank_nodes(engine, iri, base_iri),
        incoming_page(engine, iri, page, page_size),
    )
    conflict_with = sc(base_iri, "conflictsWith")
    conflicts = await conflicting_claims(
        engine, sorted({s.object.value for s in own if s.predicate.value == conflict_with}), base_iri
    )
    parts = [*own, *(s for group in nested.values() for s in group), *incoming]
    parts += [s for group in conflicts.values() for s in group]
    facts = await facts_about(engine, linked_iris(parts, sources, iri), base_iri)
    return Description(iri, own, nested, incoming, more, page, sources, conflicts, facts)


# --- As RDF -------------------------------------------------------------------------------------

FOAF = "http://xmlns.com/foaf/0.1/"
DCT = "http://purl.org/dc/terms/"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def description_quads(description: Description, document: str, dataset: str) -> list[ox.Quad]:
    """The description as quads: each statement in the graphs of its sources; names of linked
    resources and facts about the document itself in the default graph."""
    quads = [
        ox.Quad(s.subject, s.predicate, s.object, ox.NamedNode(g))
        for s in description.all_statements()
        for g in s.graphs
    ]
    names = (*LABEL_PROPERTIES, *ALTERNATIVE_PROPERTIES)
    quads += [ox.Quad(x, p, v, ox.DefaultGraph()) for x, p, v in description.facts.rows if p.value in names]
    doc, thing = ox.NamedNode(document), ox.NamedNode(description.iri)
    used_sources = sorted(
        {src for s in description.all_statements() for g in s.graphs for src in description.sources.get(g, ())}
    )
    quads += [
        ox.Quad(doc, ox.NamedNode(RDF_TYPE), ox.NamedNode(FOAF + "Document"), ox.DefaultGraph()),
        ox.Quad(doc, ox.NamedNode(FOAF + "primaryTopic"), thing, ox.DefaultGraph()),
        ox.Quad(doc, ox.NamedNode(DCT + "isPartOf"), ox.NamedNode(dataset), ox.DefaultGraph()),
        ox.Quad(doc, ox.NamedNode(DCT + "license"), ox.NamedNode(CC_BY), ox.DefaultGraph()),
        *(ox.Quad(doc, ox.NamedNode(PROV_DERIVED), ox.NamedNode(src), ox.DefaultGraph()) for src in used_sources),
    ]
    return quads


def merged(quads: list[ox.Quad]) -> list[ox.Triple]:
    """The triples of all graphs, each once: what formats without named graphs carry."""
    return list(dict.fromkeys(q.triple for q in quads))
