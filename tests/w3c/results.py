"""Query results, expected and actual, and their comparison by the W3C rules.

- Solutions are a multiset: row order matters only for the variables of a top-level ORDER BY.
- Blank-node labels do not matter, but one label must stand for one node across the result:
  rows are matched under a single bijection between the two sides' blank nodes.
- Terms compare as RDF terms: `"01"^^xsd:integer` is not `"1"^^xsd:integer`. Nothing is
  normalised, so an engine that canonicalises a value it should have kept fails.
- CSV carries strings only (no datatypes, languages or IRI brackets), so a CSV result is
  compared as CSV text with CSV text: the W3C CSV tests test the serialisation itself.
- Graphs (CONSTRUCT, DESCRIBE) compare by isomorphism, through RDFC-1.0 canonical labels.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import takewhile

import pyoxigraph as ox

from tests.w3c.dataset import DataFile
from tests.w3c.manifest import RS, ResultFormat

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
Row = dict[str, Term]  # one solution; unbound variables are absent
Shape = frozenset[tuple[str, Term | None]]  # a row with its blank nodes blanked out

RESULTS_FORMATS = {
    ResultFormat.SRX: ox.QueryResultsFormat.XML,
    ResultFormat.SRJ: ox.QueryResultsFormat.JSON,
    ResultFormat.TSV: ox.QueryResultsFormat.TSV,
}
RDF_MEDIA_TYPES = {
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
RESULTS_MEDIA_TYPES = {
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
CSV_MEDIA_TYPE = "text/csv"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


class Mismatch(AssertionError):
    """The endpoint's answer differs from the expected results; the message says how."""


@dataclass(frozen=True)
class Solutions:
    variables: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Boolean:
    value: bool


@dataclass(frozen=True)
class Graph:
    triples: frozenset[ox.Triple]


Results = Solutions | Boolean | Graph


# Reading


def read_expected(result: DataFile, result_format: ResultFormat) -> Results:
    """The expected results of a case, from the file the manifest names."""
    if result_format in RESULTS_FORMATS:
        return from_oxigraph(ox.parse_query_results(path=result.path, format=RESULTS_FORMATS[result_format]))
    if result_format is ResultFormat.CSV:
        return read_csv(result.path.read_text(encoding="utf-8"))
    triples = result.triples()
    if result_format is ResultFormat.RESULT_SET:
        return read_result_set(triples)
    return Graph(frozenset(triples))


def read_response(media_type: str, content: bytes) -> Results:
    """An endpoint's answer, read by its Content-Type (whatever was asked for)."""
    try:
        return _read_response(media_type, content)
    except (SyntaxError, ValueError, UnicodeDecodeError) as error:
        raise Mismatch(f"the {media_type} answer does not parse: {error}") from error


def _read_response(media_type: str, content: bytes) -> Results:
    if media_type in RESULTS_MEDIA_TYPES:
        return from_oxigraph(ox.parse_query_results(content, RESULTS_MEDIA_TYPES[media_type]))
    if media_type == CSV_MEDIA_TYPE:
        return read_csv(content.decode("utf-8"))
    if media_type in RDF_MEDIA_TYPES:
        quads = ox.parse(content, RDF_MEDIA_TYPES[media_type])
        return Graph(frozenset(quad.triple for quad in quads))
    raise Mismatch(f"unexpected Content-Type {media_type or '(none)'}")


def from_oxigraph(parsed: ox.QuerySolutions | ox.QueryBoolean) -> Solutions | Boolean:
    if isinstance(parsed, ox.QueryBoolean):
        return Boolean(bool(parsed))
    variables = tuple(variable.value for variable in parsed.variables)
    rows = tuple({name: term for name in variables if (term := solution[name]) is not None} for solution in parsed)
    return Solutions(variables, rows)


def read_csv(text: str) -> Solutions:
    """CSV results as strings: `_:label` cells are blank nodes, empty cells unbound (as CSV says)."""
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        raise Mismatch("empty CSV (no header)")
    variables = tuple(records[0])
    rows = tuple(
        {name: _csv_term(cell) for name, cell in zip(variables, record, strict=False) if cell} for record in records[1:]
    )
    return Solutions(variables, rows)


def _csv_term(cell: str) -> Term:
    return ox.BlankNode(cell[2:]) if cell.startswith("_:") else ox.Literal(cell)


def read_result_set(triples: list[ox.Triple]) -> Solutions | Boolean:
    """Results written in the DAWG result-set vocabulary (rs:ResultSet), in Turtle or RDF/XML."""
    about: dict[Term, list[tuple[str, Term]]] = {}
    for triple in triples:
        about.setdefault(triple.subject, []).append((triple.predicate.value, triple.object))

    def values(subject: Term, local: str) -> list[Term]:
        return [value for predicate, value in about.get(subject, []) if predicate == RS + local]

    typed = (RDF_TYPE, ox.NamedNode(RS + "ResultSet"))
    result_set = next(subject for subject, pairs in about.items() if typed in pairs)
    if booleans := values(result_set, "boolean"):
        return Boolean(_text(booleans[0]) == "true")
    variables = tuple(_text(term) for term in values(result_set, "resultVariable"))
    rows = []
    for solution in values(result_set, "solution"):
        bindings = values(solution, "binding")
        rows.append({_text(values(b, "variable")[0]): values(b, "value")[0] for b in bindings})
    return Solutions(variables, tuple(rows))


def _text(term: Term) -> str:
    if isinstance(term, ox.Literal | ox.NamedNode):
        return term.value
    raise Mismatch(f"expected a literal in the result set, found {term}")


# Comparing


def check(expected: Results, actual: Results, order_by: Sequence[str] = ()) -> None:
    """Raise Mismatch unless the results are equal by the W3C rules (see the module docstring)."""
    if type(expected) is not type(actual):
        raise Mismatch(f"expected {type(expected).__name__.lower()} results, got {type(actual).__name__.lower()}")
    if isinstance(expected, Boolean) and isinstance(actual, Boolean):
        if expected.value != actual.value:
            raise Mismatch(f"expected {expected.value}, got {actual.value}")
    elif isinstance(expected, Graph) and isinstance(actual, Graph):
        check_graphs(expected, actual)
    elif isinstance(expected, Solutions) and isinstance(actual, Solutions):
        check_solutions(expected, actual, order_by)


def check_solutions(expected: Solutions, actual: Solutions, order_by: Sequence[str] = ()) -> None:
    if set(expected.variables) != set(actual.variables):
        raise Mismatch(f"variables {sorted(actual.variables)}, expected {sorted(expected.variables)}")
    if _bnode_mapping(expected.rows, actual.rows) is None:
        raise Mismatch(_solutions_difference(expected.rows, actual.rows))
    # A key the query does not project cannot be seen, and the keys after it order only within it.
    keys = list(takewhile(lambda key: key in expected.variables, order_by))
    if keys:
        _check_order(expected.rows, actual.rows, keys)


def check_graphs(expected: Graph, actual: Graph) -> None:
    want, got = canonical(expected.triples), canonical(actual.triples)
    if want != got:
        missing = "".join(f"\n  - {quad.triple}" for quad in sorted(want - got, key=str))
        extra = "".join(f"\n  + {quad.triple}" for quad in sorted(got - want, key=str))
        raise Mismatch(f"graphs are not isomorphic ({len(got)} triples, expected {len(want)}):{missing}{extra}")


def canonical(triples: Iterable[ox.Triple]) -> frozenset[ox.Quad]:
    """The graph with RDFC-1.0 blank-node labels: isomorphic graphs give equal sets."""
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return frozenset(dataset)


def shape(row: Row) -> Shape:
    return frozenset((name, None if isinstance(term, ox.BlankNode) else term) for name, term in row.items())


def _bnode_mapping(expected: Sequence[Row], actual: Sequence[Row]) -> dict[ox.BlankNode, ox.BlankNode] | None:
    """One bijection of blank nodes under which the rows are the same multiset, or None."""
    if Counter(map(shape, expected)) != Counter(map(shape, actual)):
        return None
    # Rows without blank nodes are matched by their shape alone; search only among the others.
    with_bnodes = [row for row in expected if _bnodes(row)]
    candidates = [row for row in actual if _bnodes(row)]
    return _extend({}, with_bnodes, candidates)


def _bnodes(row: Row) -> list[tuple[str, ox.BlankNode]]:
    """The row's blank nodes by variable name (rows of one shape list the same variables)."""
    return sorted(((name, term) for name, term in row.items() if isinstance(term, ox.BlankNode)), key=lambda b: b[0])


def _extend(
    mapping: dict[ox.BlankNode, ox.BlankNode], expected: list[Row], actual: list[Row]
) -> dict[ox.BlankNode, ox.BlankNode] | None:
    """Backtracking search: match expected[0] with an actual row of the same shape, recursively."""
    if not expected:
        return mapping
    row, rest = expected[0], expected[1:]
    for index, candidate in enumerate(actual):
        if shape(candidate) != shape(row):
            continue
        extended = _unify(mapping, _bnodes(row), _bnodes(candidate))
        if extended is not None:
            found = _extend(extended, rest, actual[:index] + actual[index + 1 :])
            if found is not None:
                return found
    return None


def _unify(
    mapping: dict[ox.BlankNode, ox.BlankNode],
    ours: list[tuple[str, ox.BlankNode]],
    theirs: list[tuple[str, ox.BlankNode]],
) -> dict[ox.BlankNode, ox.BlankNode] | None:
    extended = dict(mapping)
    taken = set(mapping.values())
    for (_, mine), (_, other) in zip(ours, theirs, strict=True):
        if mine in extended:
            if extended[mine] != other:
                return None
        elif other in taken:
            return None
        else:
            extended[mine] = other
            taken.add(other)
    return extended


def _check_order(expected: Sequence[Row], actual: Sequence[Row], keys: Sequence[str]) -> None:
    """The ORDER BY keys must come in the expected sequence (blank nodes are not ordered)."""
    want, got = _key_sequence(expected, keys), _key_sequence(actual, keys)
    for position, (mine, theirs) in enumerate(zip(want, got, strict=True)):
        if mine != theirs:
            raise Mismatch(f"row {position + 1} is out of order by {', '.join(keys)}: {theirs}, expected {mine}")


def _key_sequence(rows: Sequence[Row], keys: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(_order_value(row.get(key)) for key in keys) for row in rows]


def _order_value(term: Term | None) -> str:
    if term is None:
        return "UNDEF"
    return "_:" if isinstance(term, ox.BlankNode) else str(term)


def format_row(row: Row) -> str:
    return "{" + ", ".join(f"?{name}={term}" for name, term in sorted(row.items())) + "}"


def _solutions_difference(expected: Sequence[Row], actual: Sequence[Row]) -> str:
    want, got = Counter(map(shape, expected)), Counter(map(shape, actual))
    missing = [row for row in expected if want[shape(row)] > got[shape(row)]]
    extra = [row for row in actual if got[shape(row)] > want[shape(row)]]
    lines = [f"{len(actual)} solutions, expected {len(expected)}"]
    lines += [f"  - {format_row(row)}" for row in missing[:20]]
    lines += [f"  + {format_row(row)}" for row in extra[:20]]
    if not missing and not extra:
        lines.append("  the rows agree except for a consistent mapping of blank nodes")
    return "\n".join(lines)
