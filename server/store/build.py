"""Builds the store of the curated data, from ontology/ and data/. Knows nothing of HTTP.

Each source file is loaded into its own named graph (server.store.dataset). The default graph is
the RDF merge of the source graphs, materialised at load time: the curated dataset is published
with an explicit default graph, which is that merge. (pyoxigraph's "default graph as union"
option returns a triple once per graph that states it, so a fact with two sources would be
counted twice.) Every graph is a set, so the merge holds each triple once, and any SPARQL store
that loads our N-Quads dump answers exactly as we do, with no option set.

After the data come the derived links (data too, in their own graph), then what the service
keeps for itself in graphs of its own that clients' queries over the data do not see: the
statistics and version record (the metadata graph) and whatever the features build from the data
(extensions, such as reconciliation's name index). On disk, a build is made beside the live one
and becomes live only when complete (server.store.location).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from server.namespaces import DCT, OWL, XSD
from server.store.dataset import Dataset, SourceFile
from server.store.derive import derive
from server.store.fan_outs import keep_fan_outs
from server.store.location import Build, BuildRecord, StoreLocation
from server.store.name_index import KeyMaker
from server.store.name_table import NAME_TABLE_FILE, NameTable, write_name_table
from server.store.statistics import Figures, Scope, write_statistics
from server.uris import DEFAULT_BASE_IRI, Iris

log = logging.getLogger(__name__)


class Extension(Protocol):
    """Something a feature builds into the store from the data once they are loaded (an index)."""

    @property
    def revision(self) -> str:
        """Changes when what `write` produces changes, so that older stores are rebuilt."""
        ...

    def graph(self, iris: Iris) -> str | None:
        """The graph it writes (a service graph, hidden from clients' queries), if any."""
        ...

    def write(self, store: ox.Store, iris: Iris) -> None: ...


def build_id(version: str, extensions: Sequence[Extension] = ()) -> str:
    """The data version and the revision of everything built from the data."""
    revisions = "\0".join(e.revision for e in extensions)
    return f"{version}-{hashlib.sha256(revisions.encode()).hexdigest()[:8]}"


def service_graphs(iris: Iris, extensions: Sequence[Extension] = ()) -> tuple[str, ...]:
    """The graphs the service keeps for itself: the metadata graph and the extensions' graphs."""
    return (iris.metadata_graph, *(g for e in extensions if (g := e.graph(iris))))


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


def version_quads(iris: Iris, version: str, modified: str) -> Iterable[ox.Quad]:
    """The statements that record which version of the data a store holds (in the metadata graph)."""
    subject, graph = ox.NamedNode(iris.dataset), ox.NamedNode(iris.metadata_graph)
    return [
        ox.Quad(subject, OWL.versionInfo, ox.Literal(version), graph),
        ox.Quad(subject, DCT.modified, ox.Literal(modified, datatype=XSD.dateTime), graph),
    ]


def add_service_graphs(
    store: ox.Store, iris: Iris, version: str, modified: str, extensions: Sequence[Extension], statistics: bool
) -> Figures | None:
    """What the service keeps for itself, once the data are in: the statistics (if asked), what
    the extensions build, and the version record."""
    hidden = service_graphs(iris, extensions)
    figures = write_statistics(store, iris, Scope(every_graph=False, hidden=hidden)) if statistics else None
    for extension in extensions:
        extension.write(store, iris)
    store.extend(version_quads(iris, version, modified))
    return figures


def build(store: ox.Store, dataset: Dataset, extensions: Sequence[Extension] = ()) -> int:
    """Fill an empty store with the curated dataset, its derived links and the service graphs;
    returns the number of triples of the data (the merge)."""
    load_files(store, dataset)
    derived = derive(store, dataset.iris)
    modified = dataset.last_modified.isoformat()
    figures = add_service_graphs(store, dataset.iris, dataset.version, modified, extensions, statistics=True)
    store.optimize()
    log.info("loaded %d files, derived %d links, version %s", len(dataset.files), derived, dataset.version)
    return figures.triples


def curated_record(dataset: Dataset, extensions: Sequence[Extension], quads: int) -> BuildRecord:
    return BuildRecord(
        build=build_id(dataset.version, extensions),
        version=dataset.version,
        modified=dataset.last_modified.isoformat(),
        kind="curated",
        service_graphs=service_graphs(dataset.iris, extensions),
        sources=tuple(str(f.path) for f in dataset.files),
        quads=quads,
        extensions=tuple(e.revision for e in extensions),
    )


def memory_store(dataset: Dataset, extensions: Sequence[Extension] = ()) -> ox.Store:
    """The curated dataset in an in-memory store."""
    store = ox.Store()
    build(store, dataset, extensions)
    return store


def is_current(dataset: Dataset, directory: Path, extensions: Sequence[Extension] = ()) -> bool:
    """Whether the live build on disk is this build of the curated data (only its record is read)."""
    live = StoreLocation(directory).current()
    return live is not None and live.record.build == build_id(dataset.version, extensions)


def ensure_disk_store(
    dataset: Dataset,
    directory: Path,
    extensions: Sequence[Extension] = (),
    search_keys: KeyMaker | None = None,
    *,
    replace_loaded: bool = False,
) -> Build:
    """The live build of an on-disk store: a store loaded with `sistercities load` is served as
    it is (unless `replace_loaded`: `sistercities publish` puts the curated data in its place);
    otherwise the curated data, built beside the live build when the sources changed. With
    `search_keys`, the build has its search index (server.store.name_table), written beside it
    when it has none or an older one.

    An up-to-date store is only looked at (its record and its index's), so server processes
    starting together never contend for the writer's lock.
    """
    location = StoreLocation(directory)
    live = location.current()
    kept_as_loaded = live is not None and live.record.kind == "loaded" and not replace_loaded
    if live is not None and (kept_as_loaded or is_current(dataset, directory, extensions)):
        if search_keys is not None and needs_name_table(live, search_keys):
            log.info("writing the search index beside the live build in %s", directory)
            store = ox.Store.read_only(str(live.path))
            merged = live.record.kind == "curated"
            write_name_table(store, dataset.iris, search_keys, live.path, live.record.service_graphs, merged)
        return live
    if live is None:
        directory.mkdir(parents=True, exist_ok=True)
        location.remove_legacy_store()
    log.info("store in %s is out of date; building the curated data beside it", directory)
    with location.new_build() as path:
        store = ox.Store(str(path))
        quads = build(store, dataset, extensions)
        store.flush()
        keep_fan_outs(store, path)  # for the lookup lane, counted once here, not in every server
        if search_keys is not None:
            write_name_table(store, dataset.iris, search_keys, path, merged=True)
        del store
        return location.publish(path, curated_record(dataset, extensions, quads))


def needs_name_table(build: Build, keys: KeyMaker) -> bool:
    """Whether a live build lacks its current search index: a curated build always has one; a
    loaded build has the one its load wrote (`sistercities load --no-search-index` writes none)."""
    if NameTable.open(build.path, keys) is not None:
        return False
    return build.record.kind == "curated" or (build.path / NAME_TABLE_FILE).is_file()


def open_store(
    dataset: Dataset, directory: Path | None, extensions: Sequence[Extension] = (), search_keys: KeyMaker | None = None
) -> ox.Store:
    """The curated dataset in memory, or the live build on disk (built first if needed), read-only."""
    if directory is None:
        return memory_store(dataset, extensions)
    return ox.Store.read_only(str(ensure_disk_store(dataset, directory, extensions, search_keys).path))
