"""The source files, the named graph of each, and the data version.

The source files of the dataset, the named graph each is loaded into, and the data version.

Every Turtle file of the ontology and data folders becomes one named graph, <{base}graph/{file
stem}>, so that the graph of a statement says which source it was taken from (data/sources.ttl
links graphs to sources). The data version is a hash of the files, the derivation rules and the
base IRI: HTTP validators, dumps and the validation report are keyed by it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from server.store.derive import DERIVATION_REVISION
from server.uris import Iris

if TYPE_CHECKING:  # the store needs no settings model to build from (nor its import time)
    from server.settings import Settings


@dataclass(frozen=True)
class SourceFile:
    """One curated Turtle file and the named graph it is loaded into."""

    path: Path
    graph: str


@dataclass(frozen=True)
class Dataset:
    """The source files of the dataset, published under one base IRI."""

    files: tuple[SourceFile, ...]
    base_iri: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Dataset:
        paths = sorted(settings.ontology_dir.glob("*.ttl")) + sorted(settings.data_dir.rglob("*.ttl"))
        iris = Iris(settings.base_iri)
        files = tuple(SourceFile(p, iris.graph(p.stem)) for p in paths)
        duplicates = {f.graph for f in files if sum(g.graph == f.graph for g in files) > 1}
        if duplicates:
            raise ValueError(f"two source files would share a graph: {sorted(duplicates)}")
        return cls(files, settings.base_iri)

    @property
    def iris(self) -> Iris:
        return Iris(self.base_iri)

    @cached_property
    def version(self) -> str:
        """A short hash of every file's name and content, the derivation rules and the base IRI."""
        digest = hashlib.sha256(f"{DERIVATION_REVISION}\0{self.base_iri}\0".encode())
        for source in self.files:
            digest.update(f"{source.path.name}\0".encode())
            digest.update(source.path.read_bytes())
        return digest.hexdigest()[:16]

    @cached_property
    def last_modified(self) -> datetime:
        """When a source file last changed: stable across restarts of the same checkout."""
        newest = max((f.path.stat().st_mtime for f in self.files), default=0.0)
        return datetime.fromtimestamp(int(newest), tz=UTC)

    @property
    def graphs(self) -> list[str]:
        return [f.graph for f in self.files]
