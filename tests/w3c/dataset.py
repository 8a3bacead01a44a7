"""The RDF dataset a test case runs over, and the triples a target must load for it.

Files are parsed here, with the public IRI each file is published at as its base (a file may say
`<>` or `<data.ttl>` and mean its own IRI, which is also its graph name), and with fresh blank nodes
per file (two files' `_:a` are different nodes). Targets receive absolute IRIs only, as N-Triples
or N-Quads, so how a server resolves relative IRIs on upload never matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox


@dataclass(frozen=True, order=True)
class DataFile:
    """A file of the suite and the public IRI it is published at (the base of its relative IRIs)."""

    path: Path
    iri: str

    def triples(self) -> list[ox.Triple]:
        """The file's triples, with its blank nodes renamed apart from every other parse."""
        quads = ox.parse(path=self.path, base_iri=self.iri, without_named_graphs=True, rename_blank_nodes=True)
        return [quad.triple for quad in quads]


@dataclass(frozen=True, order=True)
class Dataset:
    """Default-graph files (merged) and named graphs, each one file under a graph IRI."""

    default: tuple[DataFile, ...] = ()
    named: tuple[tuple[str, DataFile], ...] = ()  # (graph IRI, file), sorted by graph IRI

    @classmethod
    def of(cls, default: list[DataFile], named: dict[str, DataFile]) -> Dataset:
        """A dataset in canonical form, so equal datasets compare (and group) equal."""
        return cls(tuple(sorted(set(default))), tuple(sorted(named.items())))

    @property
    def named_graphs(self) -> dict[str, DataFile]:
        return dict(self.named)

    def default_graph(self) -> list[ox.Triple]:
        """The RDF merge of the default-graph files (no duplicates)."""
        return list(dict.fromkeys(triple for data in self.default for triple in data.triples()))

    def graphs(self) -> dict[str | None, list[ox.Triple]]:
        """Every graph's triples; the default graph under None."""
        graphs: dict[str | None, list[ox.Triple]] = {None: self.default_graph()}
        for name, data in self.named:
            graphs[name] = list(dict.fromkeys(data.triples()))
        return graphs

    def nquads(self) -> bytes:
        """The whole dataset as N-Quads, for targets that load a file."""
        quads = [
            ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph() if name is None else ox.NamedNode(name))
            for name, triples in self.graphs().items()
            for t in triples
        ]
        return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""

    def describe(self) -> str:
        """Short text for messages: the file names and graph names."""
        default = ", ".join(data.path.name for data in self.default) or "empty"
        named = ", ".join(f"<{name}> from {data.path.name}" for name, data in self.named)
        return f"default graph: {default}" + (f"; named graphs: {named}" if named else "")


def ntriples(triples: list[ox.Triple]) -> bytes:
    """Triples as N-Triples (absolute IRIs only), the body of a Graph Store Protocol request."""
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
