"""Row caps and format conversion for query answers, natively and without rebuilding rows.

The cap cannot be added to the query text (LIMIT inside ORDER BY, subqueries, ...), and
pyoxigraph's serialisers cannot stop after N rows. But SPARQL TSV and N-Triples write exactly one
line per row or triple, so the answer is first written in one of them into a buffer that counts
lines and interrupts the native serialiser once the cap is passed (pyoxigraph evaluates lazily,
so the query stops too). The capped text is then converted natively to the requested format.
The same functions cap answers that arrive from a remote store over HTTP.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from functools import lru_cache

import pyoxigraph as ox

from server import formats
from server.namespaces import used_prefixes


class CapReached(Exception):
    """Raised from inside a serialiser's write() to stop it: the cap has been passed."""


class LineCappedBuffer(io.RawIOBase):
    """A binary sink that keeps whole lines up to a limit and stops the writer beyond it."""

    def __init__(self, max_lines: int) -> None:
        super().__init__()
        self.max_lines = max_lines
        self.chunks: list[bytes] = []
        self.lines = 0
        self.capped = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.lines += chunk.count(b"\n")
        if self.lines > self.max_lines:
            self.capped = True
            raise CapReached
        return len(chunk)

    def text(self) -> bytes:
        """Everything written, cut after the last line within the cap."""
        data = b"".join(self.chunks)
        if not self.capped:
            return data
        cut = -1
        for _ in range(self.max_lines):
            cut = data.index(b"\n", cut + 1)
        return data[: cut + 1]


def capped_solutions_tsv(solutions: ox.QuerySolutions, max_rows: int) -> tuple[bytes, bool]:
    """SELECT results as SPARQL TSV, at most `max_rows` rows (the header is one more line)."""
    sink = LineCappedBuffer(max_rows + 1)
    with contextlib.suppress(CapReached):
        solutions.serialize(sink, ox.QueryResultsFormat.TSV)
    return sink.text(), sink.capped


def capped_triples_ntriples(triples: Iterable[ox.Triple] | ox.QueryTriples, max_rows: int) -> tuple[bytes, bool]:
    """CONSTRUCT / DESCRIBE results as N-Triples, at most `max_rows` triples."""
    sink = LineCappedBuffer(max_rows)
    with contextlib.suppress(CapReached):
        if isinstance(triples, ox.QueryTriples):
            triples.serialize(sink, ox.RdfFormat.N_TRIPLES)
        else:
            ox.serialize(triples, sink, ox.RdfFormat.N_TRIPLES)
    return sink.text(), sink.capped


def solutions_as(tsv: bytes, fmt: formats.Format) -> bytes:
    """Convert SPARQL TSV results to another results format."""
    if fmt.results is None:
        raise ValueError(f"SELECT results cannot be written as {fmt.label}")
    if fmt.results == ox.QueryResultsFormat.TSV:
        return tsv
    return ox.parse_query_results(tsv, ox.QueryResultsFormat.TSV).serialize(format=fmt.results)


def triples_as(ntriples: bytes, fmt: formats.Format, prefixes: dict[str, str]) -> bytes:
    """Convert N-Triples to another RDF format, with prefixes where the format has them."""
    if fmt.rdf is None:
        raise ValueError(f"a graph cannot be written as {fmt.label}")
    if fmt.rdf == ox.RdfFormat.N_TRIPLES:
        return ntriples
    # Every IRI of N-Triples is written <...>: the namespaces in use are found in the text
    # itself, natively, without visiting the triples in Python.
    used = {p: ns for p, ns, needle in _needles(tuple(prefixes.items())) if needle in ntriples}
    return _serialise(ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES), fmt, used)


def turtle_of(triples: Iterable[ox.Triple], prefixes: dict[str, str]) -> bytes:
    """Turtle with the prefixes its triples use, in one native pass over them (the way through
    N-Triples parses and writes them again: a third of a DESCRIBE's time in the lookup lane).
    Written with every prefix, whose declarations come first; then those whose name is nowhere
    in the triples are dropped (a name found only inside a literal keeps its declaration, which
    is harmless)."""
    written = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    head, declarations = _declarations(tuple(prefixes.items()))
    if not written.startswith(head):  # no triples (then nothing is written), or not as expected
        return written
    body = written[len(head) :]
    return b"".join(line for line, name in declarations if name in body) + body


@lru_cache(maxsize=16)
def _declarations(prefixes: tuple[tuple[str, str], ...]) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]]:
    """What oxigraph writes before the first triple of Turtle with these prefixes (their order is
    its own): the declarations, each with its name and colon, as found in the triples that use it."""
    probe = ox.Triple(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.NamedNode("urn:x:o"))
    written = ox.serialize([probe], format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes))
    head = written[: written.rstrip(b"\n").rfind(b"\n") + 1]
    declarations = head.splitlines(keepends=True)
    if not all(line.startswith(b"@prefix ") and b":" in line for line in declarations):
        return b"\0", ()  # a head never written: every answer is left as written
    return head, tuple((line, line[len(b"@prefix ") : line.index(b":") + 1]) for line in declarations)


@lru_cache(maxsize=16)
def _needles(prefixes: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, bytes], ...]:
    return tuple((p, ns, b"<" + ns.encode()) for p, ns in prefixes)


def iris_of(triples: Iterable[ox.Triple]) -> Iterator[str]:
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                yield term.value
            elif isinstance(term, ox.Literal):
                yield term.datatype.value


def serialise_triples(triples: list[ox.Triple], fmt: formats.Format, prefixes: dict[str, str]) -> bytes:
    """Write triples in an RDF format; graph formats get the prefixes the triples use."""
    if fmt.rdf is None:
        raise ValueError(f"a graph cannot be written as {fmt.label}")
    used = used_prefixes(prefixes, iris_of(triples)) if fmt.rdf in PREFIXED else {}
    return _serialise(triples, fmt, used)


PREFIXED = (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML)


def _serialise(triples: Iterable[ox.Triple], fmt: formats.Format, used: dict[str, str]) -> bytes:
    prefixes = used if fmt.rdf in PREFIXED else None
    if fmt.rdf in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG):
        quads = (ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
        return ox.serialize(quads, format=fmt.rdf, prefixes=prefixes)
    return ox.serialize(triples, format=fmt.rdf, prefixes=prefixes)


def serialise_quads(quads: list[ox.Quad], fmt: formats.Format, prefixes: dict[str, str]) -> bytes:
    """Write quads: dataset formats keep their graphs, the others get the merged triples."""
    if fmt.rdf not in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG):
        return serialise_triples(list(dict.fromkeys(q.triple for q in quads)), fmt, prefixes)
    used = used_prefixes(prefixes, iris_of(q.triple for q in quads)) if fmt.rdf == ox.RdfFormat.TRIG else None
    return ox.serialize(quads, format=fmt.rdf, prefixes=used)
