"""What a query is before it runs: its form, an update, a SERVICE call.

What a query is before it runs: its form, whether it is an update, whether it calls SERVICE.

Read from the text with a few regular expressions, without parsing: the form decides the formats
an answer can be given in (content negotiation happens before the engine sees the query), and
the engine's own parser reports any syntax error with its position.
"""

from __future__ import annotations

import re
from enum import Enum

from server import formats


class QueryForm(Enum):
    """What a query returns, which decides the formats it can be answered in."""

    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"

    @property
    def kind(self) -> formats.Kind:
        return formats.Kind.RESULTS if self in (QueryForm.SELECT, QueryForm.ASK) else formats.Kind.GRAPH


_PROLOGUE = re.compile(
    r"""\A(?:\s+|\#[^\n]*\n?
        |BASE\s*<[^>]*>
        |PREFIX\s*[A-Za-z0-9_.\-\u00B7-\uFFFF]*:\s*<[^>]*>)*""",
    re.IGNORECASE | re.VERBOSE,
)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_UPDATE = re.compile(r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)


def query_form(query: str) -> QueryForm | None:
    """The form of a query, read from the first keyword after its prologue.

    None when the text is not a query at all; the engine's parser then reports the error.
    """
    rest = query[_PROLOGUE.match(query).end() :]
    match = _FORM.match(rest)
    return QueryForm(match.group(1).upper()) if match else None


def looks_like_update(query: str) -> bool:
    """True for SPARQL Update text (INSERT DATA, DELETE WHERE, LOAD, ...)."""
    rest = query[_PROLOGUE.match(query).end() :]
    return _UPDATE.match(rest) is not None


# Strings, IRIs and comments, whose text must not be mistaken for keywords.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|\#[^\n]*"
)
_SERVICE = re.compile(r"(?<![?$:\w])SERVICE(?![\w:-])", re.IGNORECASE)
_GRAPH_VARIABLE = re.compile(r"(?<![?$:\w])GRAPH\s*[?$]", re.IGNORECASE)
_GRAPH = re.compile(r"(?<![?$:\w])GRAPH(?![\w:-])", re.IGNORECASE)
_FROM = re.compile(r"(?<![?$:\w])FROM(?![\w:-])", re.IGNORECASE)


_SPACE = r"(?:\s|\#[^\n]*(?:\n|\Z))*"
_IRI = r'<[^<>"{}|^`\\\x00-\x20]*>'
_CALL = re.compile(
    _OPAQUE.pattern + rf"|(?P<service>{_SERVICE.pattern}{_SPACE}(?:SILENT(?![\w:-]){_SPACE})?(?P<target>{_IRI})?)",
    re.IGNORECASE,
)


def service_targets(query: str) -> list[str | None]:
    """The endpoints a query calls with SERVICE, outside strings, IRIs and comments: each IRI, or
    None where the endpoint is not named by a full IRI (a variable or a prefixed name)."""
    if "SERVICE" not in query.upper():  # the word nowhere, so nowhere outside strings either: cheaper
        return []
    return [m.group("target")[1:-1] if m.group("target") else None for m in _CALL.finditer(query) if m.group("service")]


def uses_service(query: str) -> bool:
    """True when the query calls another endpoint (SERVICE), outside strings, IRIs and comments."""
    return bool(service_targets(query))


def names_dataset(query: str) -> bool:
    """True when the query names its own dataset (FROM, FROM NAMED), outside strings, IRIs and comments."""
    return _FROM.search(_OPAQUE.sub(" ", query)) is not None


def uses_named_graphs(query: str) -> bool:
    """True when the query has a GRAPH pattern (outside strings, IRIs and comments): only then do
    the dataset's named graphs matter to its answer."""
    return _GRAPH.search(_OPAQUE.sub(" ", query)) is not None


def enumerates_graphs(query: str) -> bool:
    """True when the query ranges over the store's named graphs (GRAPH ?g) without naming its
    own dataset (FROM, FROM NAMED): the named graphs it can see are then the service's to choose."""
    if "GRAPH" not in query.upper():  # the word nowhere, so nowhere outside strings either: cheaper
        return False
    text = _OPAQUE.sub(" ", query)
    return _GRAPH_VARIABLE.search(text) is not None and _FROM.search(text) is None
