"""Filters on pieces of names, narrowed by the search index before the engine scans.

pyoxigraph has no text index: `?city skos:prefLabel ?label FILTER(CONTAINS(LCASE(?label), "kuo"))`
reads every label (a fifth of a second at a million triples, seconds at ten). The search index
beside a build (server.store.name_table) holds every name lowered by the engine's own LCASE, with
a trigram index, so it tells at once which subjects have a name holding the piece. The query then
goes to the engine with those subjects as a VALUES block at the head of its WHERE group: the
engine still evaluates the whole query, FILTER included, over fewer rows, so the answer is the
same (a LIMIT without ORDER BY may pick other rows, as any evaluation may).

Only queries the lookup reader understands (server.query.bounded: triple patterns, OPTIONAL and
FILTER in one group, no FROM, GRAPH, UNION or subqueries) are narrowed, and only by a FILTER of
the required part, or one of its `&&` conjuncts, of the form CONTAINS(LCASE(?v), "piece") or
STRSTARTS(LCASE(?v), "piece"), where ?v is the object of a required pattern `?s <name> ?v` with a
name predicate the index holds. Anything else is evaluated as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.query.bounded import Lookup, NotALookup, Pattern, Reader, Token, expand, tokens
from server.store.name_table import SEARCHED_NAMES, NameTable

# Beyond this many subjects, VALUES costs about what reading every name costs (13 µs a subject
# against 0.7 µs a name, at a million triples).
MOST_SUBJECTS = 10_000
# A scan that may stop after k rows reads about k * names / matches names: narrowing pays while
# the matches are fewer than about 25 * k (measured at a million triples, LIMIT 20).
PER_ROW_WANTED = 25
NOT_IN_IRIREF = re.compile(r'[<>"{}|^`\\\x00-\x20]')  # a leniently loaded IRI cannot be written back
PIECE_FUNCTIONS = frozenset({"CONTAINS", "STRSTARTS"})  # a name that starts with a piece holds it


class FilterReader(Reader):
    """The lookup reader, keeping the FILTERs of the required part and where the WHERE group opens."""

    def __init__(self, found: list[Token]) -> None:
        super().__init__(found)
        self.filters: list[list[Token]] = []
        self.opens: Token | None = None
        self.stops_after: int | None = None  # rows the engine needs before it may stop reading

    def query(self) -> Lookup:
        if any(token.word == "ASK" for token in self.tokens):
            self.stops_after = 1
        return super().query()

    def modifiers(self) -> None:
        """ORDER BY needs every row; LIMIT (with OFFSET) alone lets the engine stop early."""
        ordered = any(token.word == "ORDER" for token in self.tokens[self.at :])
        counts = {"LIMIT": 0, "OFFSET": 0}
        start = self.at
        super().modifiers()
        for word, number in zip(self.tokens[start : self.at], self.tokens[start + 1 : self.at], strict=False):
            if word.word in counts and number.kind == "number":
                counts[word.word] = int(float(number.text))
        if counts["LIMIT"] and not ordered:
            self.stops_after = counts["LIMIT"] + counts["OFFSET"]

    def where(self) -> None:
        self.accept("WHERE")
        self.opens = self.peek()
        self.group(optional=0)

    def filter(self, optional: int) -> None:
        start = self.at
        super().filter(optional)
        if optional == 0:
            self.filters.append(self.tokens[start + 1 : self.at - 1])  # inside its parentheses


@dataclass(frozen=True)
class Piece:
    """A filter's demand that the lowered value of `variable` hold `text`."""

    variable: str  # without its ? or $
    text: str


def conjuncts(expression: list[Token]) -> list[list[Token]]:
    """The operands of the expression's top-level `&&`, each without enclosing parentheses; the
    whole expression when it has a top-level `||` (which binds looser: `A && B || C` holds
    without A)."""
    parts, depth, start = [], 0, 0
    for index, token in enumerate(expression):
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if depth == 0 and token.text == "||":
            return [unwrapped(expression)]
        if depth == 0 and token.text == "&&":
            parts.append(expression[start:index])
            start = index + 1
    parts.append(expression[start:])
    return [unwrapped(part) for part in parts]


def unwrapped(part: list[Token]) -> list[Token]:
    while len(part) >= 2 and part[0].text == "(" and part[-1].text == ")" and closes_at_end(part):
        part = part[1:-1]
    return part


def closes_at_end(part: list[Token]) -> bool:
    """Whether the opening parenthesis of `part` is closed by its last token."""
    depth = 0
    for index, token in enumerate(part):
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if depth == 0:
            return index == len(part) - 1
    return False


def piece_of(part: list[Token]) -> Piece | None:
    """FUNCTION ( LCASE ( ?v ) , "piece" ), the piece a plain string without escapes."""
    shape = [t.kind if t.kind in ("var", "string") else t.text.upper() for t in part]
    if shape[1:] != ["(", "LCASE", "(", "var", ")", ",", "string", ")"] or part[0].word not in PIECE_FUNCTIONS:
        return None
    literal = part[7].text
    if "\\" in literal:
        return None
    return Piece(part[4].text[1:], literal[1:-1])


def name_pattern(patterns: list[Pattern], variable: str, prefixes: dict[str, str]) -> Pattern | None:
    """A required pattern `?s <name> ?variable` with a name predicate the index holds."""
    for pattern in patterns:
        subject, predicate, value = pattern.subject, pattern.predicate, pattern.object
        if pattern.optional or subject[0] != "var" or value[0] != "var" or value[1][1:] != variable:
            continue
        if subject[1][1:] != variable and predicate[0] == "const" and expand(predicate[1], prefixes) in SEARCHED_NAMES:
            return pattern
    return None


def narrowed(query: str, names: NameTable, most: int = MOST_SUBJECTS) -> str | None:
    """The query with the subjects of its name filter given as VALUES; None when it has no such
    filter the index can answer."""
    written = query.upper()  # every query a worker or the lane evaluates comes here: a cheap test first
    if "CONTAINS" not in written and "STRSTARTS" not in written:
        return None
    found = tokens(query)
    if not found:
        return None
    reader = FilterReader(found)
    try:
        lookup = reader.query()
    except NotALookup:
        return None
    if reader.opens is None or reader.opens.text != "{":
        return None
    for expression in reader.filters:
        for piece in filter(None, map(piece_of, conjuncts(expression))):
            pattern = name_pattern(lookup.patterns, piece.variable, lookup.prefixes)
            if pattern is None or not piece.text:
                continue
            bound = most if reader.stops_after is None else min(most, PER_ROW_WANTED * reader.stops_after)
            subjects = names.subjects_containing(piece.text, bound)
            if subjects is None or any(NOT_IN_IRIREF.search(iri) for iri in subjects):
                continue
            values = " ".join(f"<{iri}>" for iri in subjects)
            head = reader.opens.at + 1
            return f"{query[:head]} VALUES {pattern.subject[1]} {{ {values} }}{query[head:]}"
    return None
