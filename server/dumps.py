"""Dumps of the whole dataset: the merge as Turtle, N-Triples and JSON-LD, and every graph as
N-Quads or TriG (the source graphs with the default graph that is their merge)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from server import formats

DUMP_FORMATS = (formats.TURTLE, formats.N_TRIPLES, formats.JSON_LD, formats.N_QUADS, formats.TRIG)


def with_graphs(fmt: formats.Format) -> bool:
    """N-Quads and TriG carry the source graphs; the other formats carry the merge."""
    return fmt in (formats.N_QUADS, formats.TRIG)


def write_dump(store: ox.Store, fmt: formats.Format, output: BinaryIO | Path, prefixes: dict[str, str]) -> None:
    """Stream the store in one format, natively (the dataset is never held in Python objects)."""
    named = prefixes if fmt.rdf in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    if with_graphs(fmt):
        store.dump(output, format=fmt.rdf, prefixes=named)
    else:
        store.dump(output, format=fmt.rdf, from_graph=ox.DefaultGraph(), prefixes=named)
