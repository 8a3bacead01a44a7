"""Help for a person fixing a submission: where a syntax error most likely is, the text of the
line a problem is about, and our terms that a mistyped IRI probably means.

- A parser stops at the first token it cannot use. When that token begins a line, what is missing
  is usually at the end of the line before (a ';' or '.'): the hint names that line too.
- IRIs under our namespaces (the ontology's terms, the things and concepts under {base}id/) that
  the published data do not know are near misses: each gets the known IRIs of the same kind whose
  names are closest ("agt:sistercity" -> "agt:sister-city"), compared without case, hyphens or
  underscores first and then with difflib's ratio. The kinds are the project's prefixes (a fixed
  few), their known IRIs are read from the store once per data version, and only the first
  twenty unknown IRIs of a submission are compared: a submission cannot make the server work
  without bound.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from starlette.requests import Request

from server.namespaces import prefixes
from server.query.engine import select
from server.uris import Iris
from server.validation.validator import RdfSyntaxError
from server.web.services import per_version, services

EXCERPT_BEFORE, EXCERPT_AFTER = 2, 1
SUGGESTIONS = 3
CUTOFF = 0.6
KNOWN_LIMIT = 20_000  # IRIs of one kind compared against, at most
MAX_NEAR_MISSES = 20  # unknown IRIs that get suggestions; the others are listed without


@dataclass(frozen=True)
class ExcerptLine:
    number: int
    text: str
    here: bool


@dataclass(frozen=True)
class SyntaxHint:
    line: int | None  # where the parser stopped
    column: int | None
    likely: int | None  # where the mistake most likely is, when that is another line
    message: str
    excerpt: tuple[ExcerptLine, ...]


@dataclass(frozen=True)
class NearMiss:
    iri: str
    line: int | None
    suggestions: tuple[str, ...]


def excerpt(lines: list[str], marked: set[int]) -> tuple[ExcerptLine, ...]:
    """The lines around the marked ones (a few before the first, one after the last)."""
    first, last = max(1, min(marked) - EXCERPT_BEFORE), min(len(lines), max(marked) + EXCERPT_AFTER)
    return tuple(ExcerptLine(n, lines[n - 1].rstrip("\r\n"), n in marked) for n in range(first, last + 1))


def syntax_hint(text: str, error: RdfSyntaxError) -> SyntaxHint:
    """Where a syntax error is: the parser's position and, when it stopped at the start of a
    line, the line before it, where a ';' or '.' is most likely missing."""
    lines = text.splitlines()
    if error.line is None or not 1 <= error.line <= len(lines):
        return SyntaxHint(error.line, error.column, None, error.message, ())
    stopped = lines[error.line - 1]
    before = stopped[: max(0, (error.column or 1) - 1)]
    likely = None
    if not before.strip():  # the parser stopped at the first token of the line
        written = (n for n in range(error.line - 1, 0, -1) if lines[n - 1].strip() and lines[n - 1].strip()[0] != "#")
        likely = next(written, None)
    marked = {error.line} | ({likely} if likely else set())
    return SyntaxHint(error.line, error.column, likely, error.message, excerpt(lines, marked))


def line_text(text: str, line: int | None) -> str | None:
    """The text of one line of the submission (for a problem's context)."""
    if not line:
        return None
    lines = text.splitlines()
    return lines[line - 1].strip() if 1 <= line <= len(lines) else None


PREFIX_DECLARATION = re.compile(r"(?im)^\s*@?prefix\s+([\w.-]*):\s*<([^>\s]*)>")


def prefixes_in(text: str) -> dict[str, str]:
    """The prefixes a Turtle or TriG text declares (@prefix or PREFIX)."""
    return dict(PREFIX_DECLARATION.findall(text))


def shortened(iri: str, prefixes: dict[str, str]) -> str:
    """An IRI as the submission would write it: with its own prefixes, else in full."""
    best = max((ns for ns in prefixes.values() if ns and iri.startswith(ns)), key=len, default=None)
    if best is not None and re.fullmatch(r"[\w.-]*", iri[len(best) :]):
        prefix = next(p for p, ns in prefixes.items() if ns == best)
        return f"{prefix}:{iri[len(best) :]}"
    return f"<{iri}>"


def as_written(node: str, prefixes: dict[str, str]) -> str:
    """A node of the report (<iri>, a prefixed name, _:b1, a literal) with the submission's prefixes."""
    if node.startswith("<") and node.endswith(">"):
        return shortened(node[1:-1], prefixes)
    return node


def comparable(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.casefold())


def spaces(iris: Iris) -> list[str]:
    """The spaces of our IRIs that near misses are looked for in: the ontology's namespace and the
    kinds of things under {base}id/ that the project's prefixes name (place/, concept/, ...). A
    fixed few, so that no submission can make the server read more of them."""
    own = [ns for ns in prefixes(iris.base).values() if ns.startswith(iris.thing_space)]
    return sorted({iris.ontology_namespace, *own}, key=len, reverse=True)


def kind_of(iri: str, iris: Iris) -> str | None:
    """The space an IRI of ours belongs to (the longest that it begins with); None for others."""
    return next((space for space in spaces(iris) if iri.startswith(space) and iri != space), None)


def closest(iri: str, space: str, known: list[str]) -> tuple[str, ...]:
    """The known IRIs of a space whose local names are closest to this one's."""
    name = iri[len(space) :]
    by_name = {k[len(space) :]: k for k in known}
    same = [k for n, k in by_name.items() if comparable(n) == comparable(name)]
    if same:
        return tuple(same[:SUGGESTIONS])
    folded = {comparable(n): n for n in by_name}
    found = difflib.get_close_matches(comparable(name), list(folded), n=SUGGESTIONS, cutoff=CUTOFF)
    return tuple(by_name[folded[f]] for f in found)


async def known_in(request: Request, space: str) -> list[str]:
    """The IRIs with a type in the published data that begin with `space`, once per data version."""
    query = (
        f"SELECT DISTINCT ?s WHERE {{ ?s a ?type FILTER(isIRI(?s) && STRSTARTS(STR(?s), {_string(space)})) }} "
        f"LIMIT {KNOWN_LIMIT}"
    )

    async def compute() -> list[str]:
        return sorted(row["s"].value for row in await select(services(request).engine, query, KNOWN_LIMIT))

    return await per_version(request, f"known-iris {space}", compute)


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def near_misses(request: Request, types: dict[str, tuple[str, ...]], lines: dict[str, int]) -> list[NearMiss]:
    """The IRIs of ours that a submission uses but the published data do not know, each with the
    known IRIs it most likely means."""
    iris = services(request).settings.iris
    found = []
    for iri in sorted(types, key=lambda i: (lines.get(i) or 0, i)):
        space = kind_of(iri, iris)
        if types[iri] or space is None:
            continue
        if len(found) >= MAX_NEAR_MISSES:  # enough to fix before checking again; no work for the rest
            found.append(NearMiss(iri, lines.get(iri), ()))
            continue
        found.append(NearMiss(iri, lines.get(iri), closest(iri, space, await known_in(request, space))))
    return found
