"""Writing the whole store in one RDF format, streamed natively.

Writing the whole store in one RDF format, streamed natively (the data never become Python objects).

N-Quads and TriG carry every named graph and the default graph; the other formats carry the
default graph, which is the merge. Auxiliary graphs (indexes, not data) can be left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from server import formats

DUMP_FORMATS = (formats.TURTLE, formats.N_TRIPLES, formats.JSON_LD, formats.N_QUADS, formats.TRIG)


def with_graphs(fmt: formats.Format) -> bool:
    """N-Quads and TriG carry the source graphs; the other formats carry the merge."""
    return fmt in (formats.N_QUADS, formats.TRIG)


def write_dump(
    store: ox.Store,
    fmt: formats.Format,
    output: BinaryIO | Path,
    prefixes: dict[str, str],
    left_out: Collection[str] = (),
    extra: Collection[ox.Quad] = (),
) -> None:
    """Stream the store in one format; the graphs `left_out` (the service's own) are not written,
    and the `extra` quads (statistics kept beside a build) are, in formats with graphs."""
    named = prefixes if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    if not with_graphs(fmt):
        store.dump(output, format=fmt.rdf, from_graph=ox.DefaultGraph(), prefixes=named)
    elif not left_out and not extra:
        store.dump(output, format=fmt.rdf, prefixes=named)
    else:
        ox.serialize(itertools.chain(quads_except(store, left_out), extra), output, format=fmt.rdf, prefixes=named)


def quads_except(store: ox.Store, left_out: Collection[str]) -> Iterator[ox.Quad]:
    """Every quad, graph by graph, without reading the graphs left out."""
    yield from store.quads_for_pattern(None, None, None, ox.DefaultGraph())
    for graph in sorted(store.named_graphs(), key=str):
        if isinstance(graph, ox.BlankNode) or graph.value not in left_out:
            yield from store.quads_for_pattern(None, None, None, graph)
