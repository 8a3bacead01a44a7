"""Describing a resource in a fixed number of queries, with the sources of each statement.

Describing a resource: every statement about it with the graphs (sources) that state it, its
blank-node closure, incoming links (paged, for hubs such as Shanghai), and the names, types,
coordinates and dates of everything it links to.

A description costs a fixed number of store queries however many resources it links to: the
statements (outgoing and blank nodes, one query), a page of incoming links, the disputed claims
about it and the figures stated about it (one query; these three at once), the claims it
conflicts with (only when there are any), and one batched lookup of the linked resources; which
source each graph comes from is known once per data version.

Disputes are found from the data alone: a claim (an agreement, a figure) that links to the
resource and conflicts with another (sc:conflictsWith), is disputed by another (sc:disputedBy), or
has a "disputed" status (an agreement-status concept whose IRI ends in /disputed). So wherever a
disputed fact appears, the page can say so, whatever the claims are.

A resource the service itself describes outside the store (the dataset, in the catalogue and VoID)
gets those statements too (server.web.supplements), each in the graph of the document it comes
from, which is then its own source; resources described only there (distributions, checksums) are
described in place, as blank nodes are.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from server.labels import NAME_PROPERTIES, local_name
from server.namespaces import DCT, FOAF, PROV, RDF_TYPE
from server.query.engine import QueryEngine, select
from server.query.facts import Facts, Term, facts_about
from server.store.sparql_text import iri as sparql_iri
from server.uris import Iris
from server.web.supplements import Supplement

MAX_NESTED_ROWS = 5_000
SORTED_INCOMING_ROWS = 20_000  # links (one row per graph stating each) sorted by property and subject
CC_BY = ox.NamedNode("https://creativecommons.org/licenses/by/4.0/")


@dataclass(frozen=True)
class Statement:
    """One triple and the named graphs (sources) that state it."""

    subject: Term
    predicate: ox.NamedNode
    object: Term
    graphs: tuple[str, ...]


@dataclass
class Dispute:
    """A claim about the resource that another claim contradicts, or that is marked disputed."""

    claim: str
    predicate: str  # how the claim links to the resource (sc:party, sc:observedEntity, ...)
    partners: tuple[str, ...]  # what else the claim links to that way (the other party)
    others: tuple[str, ...]  # the claims it conflicts with, or that dispute it
    status_disputed: bool


@dataclass
class Figure:
    """A figure a source states about the resource (an sc:Observation), with what conflicts with it."""

    iri: str
    values: dict[str, list[Term]]  # local name of the property -> values


@dataclass
class Description:
    iri: str
    statements: list[Statement]
    nested: dict[ox.NamedNode | ox.BlankNode, list[Statement]]
    incoming: list[Statement]
    incoming_more: bool
    page: int
    sources: dict[str, list[str]]
    conflicts: dict[str, list[Statement]]
    facts: Facts
    disputes: list[Dispute] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    claim_sources: dict[str, set[str]] = field(default_factory=dict)  # claim -> its dct:source

    @property
    def exists(self) -> bool:
        return bool(self.statements or self.incoming)

    def objects(self, predicate: str) -> list[Term]:
        return [s.object for s in self.statements if s.predicate.value == predicate]

    def all_statements(self) -> list[Statement]:
        return [*self.statements, *(s for group in self.nested.values() for s in group), *self.incoming]


def _grouped(rows: list[ox.QuerySolution]) -> list[Statement]:
    """Rows of SELECT ?s ?p ?o ?g folded into statements with their named graphs; a row with no
    ?g is the statement read from the default graph, which adds no graph to name (for data loaded
    into the default graph, the statement then has none).

    Rows are read by position: reading a solution by variable name costs several times more,
    and pages read thousands of rows.
    """
    graphs: dict[tuple, list[str]] = defaultdict(list)
    for s, p, o, g in rows:
        named = graphs[(s, p, o)]
        if g is not None:
            named.append(g.value)
    return [Statement(s, p, o, tuple(sorted(g))) for (s, p, o), g in graphs.items()]


def in_any_graph(pattern: str, graph: str = "?g", hidden: str | None = None) -> str:
    """`pattern` in the named graphs (binding `graph`, but for the `hidden` one) and in the default
    graph (`graph` unbound). The curated data's default graph is the merge of its named graphs,
    so there each statement is found again; data loaded with `sistercities load` may hold
    statements in the default graph alone, and a page shows them too."""
    excluded = f" FILTER({graph} != <{hidden}>)" if hidden else ""
    return f"{{ GRAPH {graph} {{ {pattern} }}{excluded} }} UNION {{ {pattern} }}"


async def statements_and_blank_nodes(engine: QueryEngine, iri: str, iris: Iris) -> tuple[list[Statement], dict]:
    """Outgoing statements and the blank nodes below them (two levels: geometries, time spans);
    the name index is left out: it is an aid for matching, not something said about the thing."""
    node, index = sparql_iri(iri), iris.name_index_graph
    pattern = f"""{{ BIND({node} AS ?s) ?s ?p ?o }}
        UNION {{ {node} ?p1 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}
        UNION {{ {node} ?p1 ?b . FILTER(isBlank(?b)) ?b ?p2 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}"""
    query = f"SELECT ?s ?p ?o ?g WHERE {{ {in_any_graph(pattern, hidden=index)} }}"
    statements = _grouped(await select(engine, query, MAX_NESTED_ROWS))
    own = [s for s in statements if s.subject == ox.NamedNode(iri)]
    nested: dict[ox.NamedNode | ox.BlankNode, list[Statement]] = defaultdict(list)
    for statement in statements:
        if isinstance(statement.subject, ox.BlankNode):
            nested[statement.subject].append(statement)
    return own, dict(nested)


async def incoming_page(engine: QueryEngine, iri: str, page: int, size: int) -> tuple[list[Statement], bool]:
    """One page of the statements linking to `iri`, ordered by property and then subject, and
    whether there are more.

    The links are read unordered and sorted here: pyoxigraph's ORDER BY compares terms by
    reading their text from the store again and again (264 ms for the 786 links of the biggest
    hub at ten million triples, against 22 ms read once and sorted in Python). Beyond
    SORTED_INCOMING_ROWS the pages follow the store's own order, each page sorted, as /browse
    does, so a thing linked to by millions costs a page, not a sort of everything."""
    linking = f"?s ?p {sparql_iri(iri)}"
    offset = (page - 1) * size
    cap = SORTED_INCOMING_ROWS + 1
    every_link = f"SELECT ?s ?p ?g WHERE {{ {in_any_graph(linking)} FILTER(isIRI(?s)) }} LIMIT {cap}"
    rows = await select(engine, every_link, cap)
    sorted_here = len(rows) <= SORTED_INCOMING_ROWS
    if not sorted_here:
        rows = await select(engine, store_order_page(linking, offset, size), (size + 1) * 50)
    graphs: dict[tuple, list[str]] = defaultdict(list)
    for s, p, g in rows:  # by position, as in _grouped
        named = graphs[(s, p)]
        if g is not None:  # no graph: stated in the default graph alone
            named.append(g.value)
    # The page's links: a window of all of them sorted, or the store's page (in the order read).
    window = sorted(graphs, key=property_then_subject)[offset : offset + size + 1] if sorted_here else list(graphs)
    target = ox.NamedNode(iri)
    shown = sorted(window[:size], key=property_then_subject)
    return [Statement(s, p, target, tuple(sorted(graphs[(s, p)]))) for s, p in shown], len(window) > size


def property_then_subject(link: tuple[ox.NamedNode, ox.NamedNode]) -> tuple[str, str]:
    subject, predicate = link
    return predicate.value, subject.value


def store_order_page(linking: str, offset: int, size: int) -> str:
    """A page of the links in the order the store reads them, with the graphs of each."""
    return f"""SELECT ?s ?p ?g WHERE {{
        {{ SELECT DISTINCT ?s ?p WHERE {{ {in_any_graph(linking, "?x")} FILTER(isIRI(?s)) }}
           LIMIT {size + 1} OFFSET {offset} }}
        OPTIONAL {{ GRAPH ?g {{ {linking} }} }} }}"""


async def graph_sources(engine: QueryEngine) -> dict[str, list[str]]:
    """Which source(s) each named graph was taken from: the same for every description of one
    data version, so callers compute it once per version and pass it to describe()."""
    rows = await select(engine, f"SELECT ?g ?source WHERE {{ ?g <{PROV + 'wasDerivedFrom'}> ?source }}", 100_000)
    sources: dict[str, list[str]] = defaultdict(list)
    for graph, source in rows:
        sources[graph.value].append(source.value)
    return dict(sources)


async def conflicting_claims(engine: QueryEngine, claims: list[str], iris: Iris) -> dict[str, list[Statement]]:
    if not claims:
        return {}
    values = " ".join(f"<{iri}>" for iri in claims)
    index = iris.name_index_graph
    query = f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?s {{ {values} }} {in_any_graph('?s ?p ?o', hidden=index)} }}"
    rows = await select(engine, query, 5_000)
    found: dict[str, list[Statement]] = defaultdict(list)
    for statement in _grouped(rows):
        found[statement.subject.value].append(statement)
    return dict(found)


FIGURE_PROPERTIES = (
    "measure",
    "value",
    "valueQualifier",
    "unit",
    "observationDate",
    "quotation",
    "conflictsWith",
    "disputedBy",
)


async def claims_about(
    engine: QueryEngine, iri: str, iris: Iris
) -> tuple[list[Dispute], dict[str, set[str]], list[Figure]]:
    """In one query: the disputed claims that link to the resource (with the sources of both
    sides), and the figures stated about it (sc:Observation with sc:observedEntity) with their
    measure, value, qualifier, unit, date, wording, source and the figures they conflict with.
    Disputed claims are few: the query starts from them, not from everything that links to the
    resource (thousands of things link to a country)."""
    conflicts, disputed_by, status = iris.term("conflictsWith"), iris.term("disputedBy"), iris.term("agreementStatus")
    source = DCT.source.value
    wanted = ", ".join(f"<{iris.term(name)}>" for name in FIGURE_PROPERTIES) + f", <{source}>"
    observed = iris.term("observedEntity")
    query = f"""SELECT ?claim ?p ?partner ?other ?status ?source ?otherSource ?v WHERE {{
        {{ {{ ?claim <{conflicts}>|<{disputed_by}> ?other }}
           UNION {{ ?claim <{status}> ?status FILTER(STRENDS(STR(?status), "/disputed")) }}
           ?claim ?p <{iri}> FILTER(isIRI(?claim) && ?p != <{conflicts}> && ?p != <{disputed_by}>)
           OPTIONAL {{ ?claim ?p ?partner FILTER(?partner != <{iri}>) }}
           OPTIONAL {{ ?claim <{source}> ?source }}
           OPTIONAL {{ ?other <{source}> ?otherSource }} }}
        UNION
        {{ ?claim <{observed}> <{iri}> . ?claim ?p ?v FILTER(isIRI(?claim) && ?p IN ({wanted})) }} }}"""
    found: dict[tuple[str, str], dict] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    figures: dict[str, Figure] = {}
    for claim, predicate, partner, other, status_term, source_term, other_source, value in await select(
        engine, query, 10_000
    ):
        if value is not None:  # a figure's property
            figure = figures.setdefault(claim.value, Figure(claim.value, defaultdict(list)))
            figure.values[local_name(predicate.value)].append(value)
            continue
        entry = found.setdefault((claim.value, predicate.value), {"partners": set(), "others": set(), "status": False})
        if isinstance(partner, ox.NamedNode):
            entry["partners"].add(partner.value)
        if other is not None:
            entry["others"].add(other.value)
            if other_source is not None:
                sources[other.value].add(other_source.value)
        entry["status"] = entry["status"] or status_term is not None
        if source_term is not None:
            sources[claim.value].add(source_term.value)
    disputes = [
        Dispute(claim, predicate, tuple(sorted(e["partners"])), tuple(sorted(e["others"])), e["status"])
        for (claim, predicate), e in sorted(found.items())
    ]
    ordered = sorted(figures.values(), key=lambda f: (str(f.values.get("observationDate", [""])[0]), f.iri))
    return disputes, dict(sources), ordered


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
    iris: Iris,
    sources: dict[str, list[str]],
    page: int = 1,
    page_size: int = 50,
    supplement: Supplement | None = None,
) -> Description:
    """Everything a document says about `iri`, in three rounds of queries whatever its size;
    `sources` is graph_sources() of the current data version; `supplement` what the service's
    own documents say about it."""
    (own, nested), (incoming, more), (disputes, claim_sources, figures) = await asyncio.gather(
        statements_and_blank_nodes(engine, iri, iris),
        incoming_page(engine, iri, page, page_size),
        claims_about(engine, iri, iris),
    )
    if supplement is not None:
        own, nested, incoming = supplemented(iri, own, nested, incoming, supplement)
        sources = {**sources, **{part.source: [part.source] for part in supplement.parts}}
    conflict_with = iris.term("conflictsWith")
    conflicts = await conflicting_claims(
        engine, sorted({s.object.value for s in own if s.predicate.value == conflict_with}), iris
    )
    parts = [*own, *(s for group in nested.values() for s in group), *incoming]
    parts += [s for group in conflicts.values() for s in group]
    linked = linked_iris(parts, sources, iri) | claim_iris(disputes, figures, claim_sources)
    facts = await facts_about(engine, linked, iris)
    if supplement is not None:
        for part in supplement.parts:
            add_facts(facts, part.triples)
    for statement in (*own, *(s for group in conflicts.values() for s in group)):
        if statement.predicate == DCT.source and isinstance(statement.object, ox.NamedNode):
            claim_sources.setdefault(statement.subject.value, set()).add(statement.object.value)
    for figure in figures:
        claim_sources.setdefault(figure.iri, set()).update(v.value for v in figure.values.get("source", ()))
    description = Description(iri, own, nested, incoming, more, page, sources, conflicts, facts)
    description.disputes, description.figures, description.claim_sources = disputes, figures, claim_sources
    return description


def claim_iris(disputes: list[Dispute], figures: list[Figure], claim_sources: dict[str, set[str]]) -> set[str]:
    """What the disputes and figures name, whose names and dates the page shows."""
    found = {d.claim for d in disputes} | {i for d in disputes for i in (*d.partners, *d.others)}
    found |= {f.iri for f in figures} | {s for group in claim_sources.values() for s in group}
    found |= {v.value for f in figures for values in f.values.values() for v in values if isinstance(v, ox.NamedNode)}
    return found


def supplemented(
    iri: str, own: list[Statement], nested: dict, incoming: list[Statement], supplement: Supplement
) -> tuple[list[Statement], dict, list[Statement]]:
    """The store's statements with the supplement's: a triple both state is one statement in all
    their graphs."""
    graphs: dict[tuple, list[str]] = defaultdict(list)
    for statement in (*own, *(s for group in nested.values() for s in group), *incoming):
        graphs[(statement.subject, statement.predicate, statement.object)].extend(statement.graphs)
    for part in supplement.parts:
        for t in part.triples:
            graphs[(t.subject, t.predicate, t.object)].append(part.source)
    thing = ox.NamedNode(iri)
    own, incoming, nested = [], [], defaultdict(list)
    for (s, p, o), found in graphs.items():
        statement = Statement(s, p, o, tuple(sorted(set(found))))
        if s == thing:
            own.append(statement)
        elif o == thing:
            incoming.append(statement)
        else:
            nested[s].append(statement)
    return own, dict(nested), incoming


def add_facts(facts: Facts, triples: tuple[ox.Triple, ...]) -> None:
    """Names and types stated in the supplement, for resources the store does not know."""
    for t in triples:
        if t.predicate == RDF_TYPE:
            facts.types[t.subject.value].add(t.object.value)
        elif isinstance(t.object, ox.Literal) and isinstance(t.subject, ox.NamedNode):
            facts.labels.add(t.subject.value, t.predicate.value, t.object.value, t.object.language)


# --- As RDF -------------------------------------------------------------------------------------


def description_quads(description: Description, document: str, dataset: str) -> list[ox.Quad]:
    """The description as quads: each statement in the graphs of its sources (in the default graph
    when it was stated there alone); names of linked resources and facts about the document itself
    in the default graph."""
    quads = [
        ox.Quad(s.subject, s.predicate, s.object, ox.NamedNode(g) if g else ox.DefaultGraph())
        for s in description.all_statements()
        for g in s.graphs or (None,)
    ]
    graph_order = {g: i for i, g in enumerate(dict.fromkeys(q.graph_name for q in quads))}
    quads.sort(key=lambda q: graph_order[q.graph_name])  # stable: each graph's statements together, in order
    quads += [ox.Quad(x, p, v, ox.DefaultGraph()) for x, p, v in description.facts.rows if p.value in NAME_PROPERTIES]
    doc, thing = ox.NamedNode(document), ox.NamedNode(description.iri)
    used_sources = sorted(
        {src for s in description.all_statements() for g in s.graphs for src in description.sources.get(g, ())}
    )
    quads += [
        ox.Quad(doc, RDF_TYPE, FOAF.Document, ox.DefaultGraph()),
        ox.Quad(doc, FOAF.primaryTopic, thing, ox.DefaultGraph()),
        ox.Quad(doc, DCT.isPartOf, ox.NamedNode(dataset), ox.DefaultGraph()),
        ox.Quad(doc, DCT.license, CC_BY, ox.DefaultGraph()),
        *(ox.Quad(doc, PROV.wasDerivedFrom, ox.NamedNode(src), ox.DefaultGraph()) for src in used_sources),
    ]
    return quads
