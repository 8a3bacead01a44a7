"""Which queries cannot run away: lookups anchored at a constant, read from the query's text.

A query may be answered in the HTTP process itself (server.query.lane), where it cannot be
stopped, only when its work is bounded before it starts. This module reads a small, strict
subset of SPARQL and gives the plan of such a query: its triple patterns in the order they can
be reached from the constants, so the lane can bound the work with the data's fan-outs. Anything
outside the subset is `None`, and goes to a worker process that can be killed at the time limit.

The subset: SELECT (plain variables or `*`, DISTINCT), ASK, CONSTRUCT and DESCRIBE of IRIs; a
WHERE clause of triple patterns whose predicates are IRIs, `a`, `^iri` or (from a bound subject)
a variable, with OPTIONAL groups and FILTERs of a few cheap functions (no REGEX, no EXISTS);
ORDER BY, LIMIT and OFFSET. No paths, subqueries, UNION, VALUES, BIND, GRAPH, FROM, SERVICE or
aggregates. Every pattern must be reached from a constant: through its subject (a step forward,
at most the subject's values of the predicate) or, from a constant object, backward. So no
pattern is ever matched against the whole store, and no cartesian product can form.

Reading is deliberately conservative: a query it does not understand is simply not a lookup.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import NamedTuple

# --- Tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
    |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    |(?P<string>"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
    |(?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
    |(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    |(?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
    |(?P<pname>(?:[A-Za-z\u00C0-\uFFFF][\w.\-\u00B7-\uFFFF]*)?:(?:[\w\-\u00B7-\uFFFF](?:[\w.\-\u00B7-\uFFFF]*[\w\-\u00B7-\uFFFF])?)?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}().;,*^=<>!+\-/|\[\]])
    """,
    re.VERBOSE,
)


class Token(NamedTuple):  # a tuple: a lookup's text is read into a few dozen of them per request
    kind: str
    text: str
    at: int = 0  # where it starts in the query

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def tokens(query: str) -> list[Token] | None:
    """The query's tokens without space and comments; None when some text is not a token."""
    found, position = [], 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            return None
        if match.lastgroup != "space":
            found.append(Token(match.lastgroup, match.group(), position))
        position = match.end()
    return found


# --- The plan ---------------------------------------------------------------------------------

Term = tuple[str, str]  # ("var", "?x") or ("const", text as written)


@dataclass(frozen=True)
class Pattern:
    """One triple pattern; `a` is written as rdf:type, `^p` already turned around."""

    subject: Term
    predicate: Term
    object: Term
    optional: int = 0  # 0 in the required part; n for the n-th OPTIONAL group it sits in


@dataclass
class Lookup:
    """A query of the subset: its patterns, and whether it can be answered in bounded time."""

    patterns: list[Pattern] = field(default_factory=list)
    describes: list[str] = field(default_factory=list)  # DESCRIBE <iri>...: the IRIs as written
    prefixes: dict[str, str] = field(default_factory=dict)  # declared in the query
    base: str | None = None


# Cheap on one value (no REGEX, no EXISTS); NOT only as in NOT IN, since EXISTS is refused.
FILTER_WORDS = frozenset(
    {"LANG", "LANGMATCHES", "STR", "BOUND", "ISIRI", "ISURI", "ISLITERAL", "ISBLANK", "ISNUMERIC", "DATATYPE"}
    | {"SAMETERM", "LCASE", "UCASE", "CONTAINS", "STRSTARTS", "STRENDS", "STRLEN", "IN", "NOT", "TRUE", "FALSE"}
)
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


class NotALookup(Exception):
    """The query is outside the subset (which is no error: it goes to a worker)."""


class Reader:
    """A recursive-descent reader of the subset, over the token list."""

    def __init__(self, found: list[Token]) -> None:
        self.tokens = found
        self.at = 0
        self.lookup = Lookup()
        self.optionals = 0

    # Helpers --------------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise NotALookup("unexpected end")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text and token.word != text:
            raise NotALookup(f"expected {text}")

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and (token.text == text or token.word == text):
            self.at += 1
            return True
        return False

    # The query ------------------------------------------------------------------------------

    def query(self) -> Lookup:
        self.prologue()
        form = self.take().word
        if form == "SELECT":
            self.select_clause()
            self.where()
            self.modifiers()
        elif form == "ASK":
            self.where()
        elif form == "CONSTRUCT":
            self.construct()
        elif form == "DESCRIBE":
            self.describe()
        else:
            raise NotALookup("not a query form of the subset")
        if self.peek() is not None:
            raise NotALookup("text after the query")
        return self.lookup

    def prologue(self) -> None:
        while True:
            if self.accept("BASE"):
                self.lookup.base = self.expect_kind("iri")[1:-1]
            elif self.accept("PREFIX"):
                name = self.expect_kind("pname")
                if not name.endswith(":"):
                    raise NotALookup("bad prefix")
                self.lookup.prefixes[name[:-1]] = self.expect_kind("iri")[1:-1]
            else:
                return

    def expect_kind(self, kind: str) -> str:
        token = self.take()
        if token.kind != kind:
            raise NotALookup(f"expected {kind}")
        return token.text

    def select_clause(self) -> None:
        self.accept("DISTINCT") or self.accept("REDUCED")
        if self.accept("*"):
            return
        count = 0
        while (token := self.peek()) is not None and token.kind == "var":
            self.at += 1
            count += 1
        if count == 0:
            raise NotALookup("SELECT of expressions")

    def where(self) -> None:
        self.accept("WHERE")
        self.group(optional=0)

    def construct(self) -> None:
        if self.accept("WHERE"):  # CONSTRUCT WHERE { triples }: the template is the pattern
            self.expect("{")
            self.triples_until_close(optional=0)
        else:
            self.skip_template()
            self.where()
        self.modifiers()

    def skip_template(self) -> None:
        """The template's triples cost nothing beyond the rows: only balanced braces matter."""
        self.expect("{")
        depth = 1
        while depth:
            text = self.take().text
            depth += {"{": 1, "}": -1}.get(text, 0)

    def describe(self) -> None:
        while (token := self.peek()) is not None and token.kind in ("iri", "pname"):
            self.lookup.describes.append(self.take().text)
        if not self.lookup.describes or self.peek() is not None:
            raise NotALookup("DESCRIBE of anything but IRIs")

    def modifiers(self) -> None:
        if self.accept("ORDER"):
            self.expect("BY")
            while self.order_condition():
                pass
        while self.accept("LIMIT") or self.accept("OFFSET"):
            self.expect_kind("number")

    def order_condition(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        if token.kind == "var":
            self.at += 1
            return True
        if token.word in ("ASC", "DESC"):
            self.at += 1
            self.expect("(")
            self.expression_until_close()
            return True
        return False

    # Groups and patterns ----------------------------------------------------------------------

    def group(self, optional: int) -> None:
        self.expect("{")
        self.triples_until_close(optional)

    def triples_until_close(self, optional: int) -> None:
        while not self.accept("}"):
            token = self.peek()
            if token is None:
                raise NotALookup("unclosed group")
            if token.word == "OPTIONAL":
                self.at += 1
                self.optionals += 1
                self.group(optional=self.optionals)
            elif token.word == "FILTER":
                self.at += 1
                self.filter(optional)
            elif token.text == ".":
                self.at += 1
            else:
                self.triples(optional)

    def filter(self, optional: int) -> None:
        """FILTER's parenthesised expression (the FILTER itself taken)."""
        self.expect("(")
        self.expression_until_close()

    def triples(self, optional: int) -> None:
        subject = self.term(allow_literal=False)
        while True:
            predicate, backward = self.verb(subject)
            while True:
                obj = self.term(allow_literal=True)
                ends = (obj, subject) if backward else (subject, obj)
                self.lookup.patterns.append(Pattern(ends[0], predicate, ends[1], optional))
                if not self.accept(","):
                    break
            if not self.accept(";"):
                return
            token = self.peek()
            if token is None or token.text in (".", "}"):  # a trailing ';'
                return

    def verb(self, subject: Term) -> tuple[Term, bool]:
        if self.accept("^"):
            return self.iri_term(), True
        token = self.peek()
        if token is not None and token.kind == "word" and token.text == "a":
            self.at += 1
            return ("const", RDF_TYPE), False
        if token is not None and token.kind == "var":
            self.at += 1
            return ("var", token.text), False
        return self.iri_term(), False

    def iri_term(self) -> Term:
        token = self.take()
        if token.kind not in ("iri", "pname"):
            raise NotALookup("a path or another predicate")
        after = self.peek()
        if after is not None and after.text in ("/", "|", "*", "+", "?"):
            raise NotALookup("a property path")
        return ("const", token.text)

    def term(self, allow_literal: bool) -> Term:
        token = self.take()
        if token.kind == "var":
            return ("var", token.text)
        if token.kind in ("iri", "pname"):
            return ("const", token.text)
        if allow_literal and token.kind in ("string", "number"):
            return ("const", token.text + self.literal_suffix())
        if allow_literal and token.word in ("TRUE", "FALSE"):
            return ("const", token.text)
        raise NotALookup("a blank node, collection or expression where a term should be")

    def literal_suffix(self) -> str:
        token = self.peek()
        if token is not None and token.kind == "lang":
            self.at += 1
            return token.text
        if self.accept("^^"):
            return "^^" + self.iri_term()[1]
        return ""

    def expression_until_close(self) -> None:
        """A FILTER or ORDER BY expression: variables, constants, operators and a few cheap
        functions, up to the closing parenthesis."""
        depth = 1
        while depth:
            token = self.take()
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth -= 1
            elif token.kind == "word" and token.word not in FILTER_WORDS:
                raise NotALookup(f"{token.text} in an expression")
            elif token.kind in ("iri", "pname") and (after := self.peek()) is not None and after.text == "(":
                raise NotALookup("a function call by IRI")
            elif token.text in ("{", "}", "[", "]"):
                raise NotALookup("a pattern inside an expression")


def expand(written: str, prefixes: dict[str, str]) -> str | None:
    """An IRI as written (<...> or a prefixed name) as a full IRI; None when it cannot be read
    here (a relative IRI, a prefix the query does not declare)."""
    if written.startswith("<"):
        iri = written[1:-1]
        return iri if ":" in iri else None
    prefix, _, local = written.partition(":")
    namespace = prefixes.get(prefix)
    return namespace + local if namespace is not None else None


def read_lookup(query: str) -> Lookup | None:
    """The plan of a query of the subset, or None."""
    found = tokens(query)
    if not found:
        return None
    try:
        return Reader(found).query()
    except NotALookup:
        return None


# --- Reaching every pattern from the constants -------------------------------------------------


@dataclass(frozen=True)
class Step:
    """How one pattern is matched when its turn comes: from a known subject (forward), or from a
    constant object (backward)."""

    pattern: Pattern
    forward: bool


def steps(lookup: Lookup) -> list[Step] | None:
    """The patterns in an order where each is reached from what is already bound; None when some
    pattern can only be matched by scanning (it shares nothing bound, or only its object through
    a variable)."""
    plan: list[Step] = []
    bound: set[str] = set()
    for part in sorted({p.optional for p in lookup.patterns}):
        pending = [p for p in lookup.patterns if p.optional == part]
        while pending:
            step = next((s for p in pending if (s := reach(p, bound)) is not None), None)
            if step is None:
                return None
            plan.append(step)
            pending.remove(step.pattern)
            bound.update(variables(step.pattern))
    return plan


def variables(pattern: Pattern) -> set[str]:
    return {name for kind, name in (pattern.subject, pattern.predicate, pattern.object) if kind == "var"}


def reach(pattern: Pattern, bound: set[str]) -> Step | None:
    def known(term: Term) -> bool:
        return term[0] == "const" or term[1] in bound

    if known(pattern.subject):
        return Step(pattern, forward=True)
    if pattern.object[0] == "const" and pattern.predicate[0] == "const":
        return Step(pattern, forward=False)
    return None


# --- Queries of one shape ----------------------------------------------------------------------

# Requests of one kind differ only in their constants: the IRIs and strings. A query is read as
# its shape (each constant's content replaced by a numbered mark) and the shape's plan filled
# with the constants, so each shape is read once. The constants are found as `tokens` finds them
# (a comment, which may hold quotes or brackets, is matched first, and kept), so the shape's
# tokens are the query's, kind for kind, and the reader, which looks at the kinds of constants
# and never at their content, takes the same path through both.
MARK = "\ue000"  # a private-use character; a query that holds one is read as it is
_CONSTANT = re.compile(
    r"""(?P<comment>\#[^\n]*)|<(?P<iri>[^<>"{}|^`\\\x00-\x20]*)>|"(?P<dq>(?:[^"\\\n\r]|\\.)*)"|'(?P<sq>(?:[^'\\\n\r]|\\.)*)'"""
)
_MARKED = re.compile(MARK + r"(\d+)" + MARK)


def shape_of(query: str) -> tuple[str, tuple[str, ...]]:
    """The query with the content of each IRI and string replaced by a numbered mark, and those
    contents in order; a query holding the mark itself is its own shape, without constants."""
    if MARK in query:
        return query, ()
    constants: list[str] = []

    def mark(match: re.Match[str]) -> str:
        if match.lastgroup == "comment":
            return match.group()
        whole, content = match.group(), match.group(match.lastgroup)
        constants.append(content)
        return f"{whole[0]}{MARK}{len(constants) - 1}{MARK}{whole[-1]}"

    return _CONSTANT.sub(mark, query), tuple(constants)


@functools.lru_cache(maxsize=4096)
def marked_pieces(text: str) -> tuple[str | int, ...]:
    """A shape's text cut at its marks: the text between them, and in their place each mark's
    number (a shape's terms are few and come again with every lookup of that shape)."""
    return tuple(int(piece) if i % 2 else piece for i, piece in enumerate(_MARKED.split(text)))


def filled_in(lookup: Lookup, ordered: list[Step], constants: tuple[str, ...]) -> tuple[Lookup, list[Step]]:
    """The lookup read from a shape, and its steps, with the shape's marks replaced by `constants`."""

    def fill(text: str) -> str:
        if MARK not in text:
            return text
        return "".join(constants[piece] if isinstance(piece, int) else piece for piece in marked_pieces(text))

    def term(t: Term) -> Term:
        return (t[0], fill(t[1]))

    patterns = {id(p): Pattern(term(p.subject), term(p.predicate), term(p.object), p.optional) for p in lookup.patterns}
    real = Lookup(
        patterns=list(patterns.values()),
        describes=[fill(iri) for iri in lookup.describes],
        prefixes={name: fill(iri) for name, iri in lookup.prefixes.items()},
        base=fill(lookup.base) if lookup.base is not None else None,
    )
    return real, [Step(patterns[id(s.pattern)], s.forward) for s in ordered]
