"""Builds the pyoxigraph store from ontology/ and data/. Knows nothing of HTTP.

Each source file is loaded into its own named graph (server.store.dataset). The default graph is
the RDF merge of all named graphs, materialised at load time. (pyoxigraph's "default graph as
union" option returns a triple once per graph that states it, so a fact with two sources would
be counted twice.) Every graph is a set, so the merge holds each triple once, and any SPARQL
store that loads our N-Quads dump answers exactly as we do, with no option set.

After the data come the derived links, the statistics, whatever the features build from the data
(extensions, such as reconciliation's name index) and the version record. A store on disk is
complete once its build record, a small file beside the data naming the data version and each
extension's revision, has been written: a store is rebuilt exactly when either changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from server.namespaces import DCT, OWL, XSD
from server.settings import DEFAULT_BASE_IRI
from server.store.dataset import Dataset, SourceFile
from server.store.derive import derive
from server.store.statistics import write_statistics
from server.uris import Iris

log = logging.getLogger(__name__)

# The build record of an on-disk store, written last: what it was built from.
BUILD_RECORD = "sistercities-build.json"


class Extension(Protocol):
    """Something a feature builds into the store from the data once they are loaded (an index)."""

    @property
    def revision(self) -> str:
        """Changes when what `write` produces changes, so that older stores are rebuilt."""
        ...

    def write(self, store: ox.Store, iris: Iris) -> None: ...


def build_id(dataset: Dataset, extensions: Sequence[Extension] = ()) -> str:
    """The data version and the revision of everything built from the data."""
    revisions = "\0".join(e.revision for e in extensions)
    return f"{dataset.version}-{hashlib.sha256(revisions.encode()).hexdigest()[:8]}"


def rebase(term: ox.NamedNode | ox.BlankNode | ox.Literal, old: str, new: str):
    """Move an IRI, an xsd:anyURI literal or a literal's datatype from the base the data were
    written in to ours."""
    if isinstance(term, ox.NamedNode) and term.value.startswith(old):
        return ox.NamedNode(new + term.value[len(old) :])
    if isinstance(term, ox.Literal) and term.datatype == XSD.anyURI and term.value.startswith(old):
        return ox.Literal(new + term.value[len(old) :], datatype=term.datatype)
    if isinstance(term, ox.Literal) and term.datatype.value.startswith(old):
        return ox.Literal(term.value, datatype=rebase(term.datatype, old, new))
    return term


def rebased_quads(source: SourceFile, base_iri: str, graph: ox.NamedNode | ox.DefaultGraph) -> Iterator[ox.Quad]:
    for quad in ox.parse(path=source.path, format=ox.RdfFormat.TURTLE):
        yield ox.Quad(
            rebase(quad.subject, DEFAULT_BASE_IRI, base_iri),
            rebase(quad.predicate, DEFAULT_BASE_IRI, base_iri),
            rebase(quad.object, DEFAULT_BASE_IRI, base_iri),
            graph,
        )


def load_files(store: ox.Store, dataset: Dataset) -> None:
    """Load each file into its own graph and into the default graph (the merge).

    Files are read as they are when the base is the data's own, and rebased otherwise.
    """
    for source in dataset.files:
        for graph in (ox.NamedNode(source.graph), ox.DefaultGraph()):
            if dataset.base_iri == DEFAULT_BASE_IRI:
                store.bulk_load(path=source.path, format=ox.RdfFormat.TURTLE, to_graph=graph)
            else:
                store.bulk_extend(rebased_quads(source, dataset.base_iri, graph))


def version_quads(dataset: Dataset) -> Iterable[ox.Quad]:
    """The statements that record which version of the sources a store was built from."""
    iris = dataset.iris
    subject = ox.NamedNode(iris.dataset)
    modified = ox.Literal(dataset.last_modified.isoformat(), datatype=XSD.dateTime)
    return [
        ox.Quad(subject, predicate, value, graph)
        for graph in (ox.NamedNode(iris.metadata_graph), ox.DefaultGraph())
        for predicate, value in ((OWL.versionInfo, ox.Literal(dataset.version)), (DCT.modified, modified))
    ]


def stored_build(directory: Path) -> str | None:
    """The build an on-disk store holds, from its build record; None for an incomplete store."""
    try:
        return json.loads((directory / BUILD_RECORD).read_text(encoding="utf-8"))["build"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_build(directory: Path, dataset: Dataset, build: str) -> None:
    """Write the build record last, under a temporary name first, so that it is whole or absent."""
    pending = directory / f".{BUILD_RECORD}.{os.getpid()}"
    pending.write_text(json.dumps({"build": build, "version": dataset.version}), encoding="utf-8")
    pending.replace(directory / BUILD_RECORD)


def build(store: ox.Store, dataset: Dataset, extensions: Sequence[Extension] = ()) -> None:
    """Fill an empty store with the dataset, its derived links, what extensions build, and its version."""
    load_files(store, dataset)
    derived = derive(store, dataset.iris)
    write_statistics(store, dataset.iris)  # VoID statistics of the data, before anything else is added
    for extension in extensions:  # outside the merge: auxiliary to the data, not part of them
        extension.write(store, dataset.iris)
    store.extend(version_quads(dataset))
    store.optimize()
    log.info("loaded %d files, derived %d links, version %s", len(dataset.files), derived, dataset.version)


def is_current(dataset: Dataset, directory: Path, extensions: Sequence[Extension] = ()) -> bool:
    """Whether the on-disk store holds this build of the dataset (only its record is read)."""
    return stored_build(directory) == build_id(dataset, extensions)


def open_store(dataset: Dataset, directory: Path | None, extensions: Sequence[Extension] = ()) -> ox.Store:
    """An in-memory store, or the on-disk one in `directory`, rebuilt only if the sources changed."""
    if directory is None:
        store = ox.Store()
        build(store, dataset, extensions)
        return store
    directory.mkdir(parents=True, exist_ok=True)
    wanted = build_id(dataset, extensions)
    store = ox.Store(str(directory))
    if stored_build(directory) != wanted:
        log.info("store in %s is out of date; rebuilding", directory)
        (directory / BUILD_RECORD).unlink(missing_ok=True)
        store.clear()
        build(store, dataset, extensions)
        store.flush()
        record_build(directory, dataset, wanted)
    return store


def ensure_disk_store(dataset: Dataset, directory: Path, extensions: Sequence[Extension] = ()) -> None:
    """Bring the on-disk store up to date, then close it so that workers can open it read-only.

    A store already up to date is only looked at read-only, so server processes starting
    together never contend for the writer's lock.
    """
    if is_current(dataset, directory, extensions):
        return
    store = open_store(dataset, directory, extensions)
    store.flush()
    del store
