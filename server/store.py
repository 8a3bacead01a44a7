"""Builds the pyoxigraph store from ontology/ and data/. Knows nothing of HTTP.

Every Turtle file becomes one named graph, <{base}graph/{file stem}>, so that the graph of a
statement says which source it was taken from (data/sources.ttl links graphs to sources). Links
that follow from the curated statements (the symmetric sc:twinnedWith and sc:partnerOf, and
sc:country) are derived once at load time into <{base}graph/derived>.

The default graph is the RDF merge of all named graphs, materialised at load time. (pyoxigraph's
"default graph as union" option returns a triple once per graph that states it, so a fact with
two sources would be counted twice.) Every graph is a set, so the merge holds each triple once,
and any SPARQL store that loads our N-Quads dump answers exactly as we do, with no option set.

The data version is a hash of the source files, so that a store on disk is rebuilt exactly when
they change, and HTTP caches and dumps can be keyed by it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from server.matching import INDEX_REVISION, add_name_index
from server.namespaces import DATASET_PATH, DERIVED_GRAPH, METADATA_GRAPH, ONTOLOGY_NS
from server.settings import DEFAULT_BASE_IRI, Settings
from server.statistics import write_statistics

log = logging.getLogger(__name__)

# Bump when the derivation rules change, so that stores built by older rules are rebuilt.
DERIVATION_REVISION = "5"

OWL_VERSION_INFO = ox.NamedNode("http://www.w3.org/2002/07/owl#versionInfo")
DCT_MODIFIED = ox.NamedNode("http://purl.org/dc/terms/modified")
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
XSD_ANY_URI = "http://www.w3.org/2001/XMLSchema#anyURI"


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
        files = tuple(SourceFile(p, f"{settings.base_iri}graph/{p.stem}") for p in paths)
        duplicates = {f.graph for f in files if sum(g.graph == f.graph for g in files) > 1}
        if duplicates:
            raise ValueError(f"two source files would share a graph: {sorted(duplicates)}")
        return cls(files, settings.base_iri)

    @cached_property
    def version(self) -> str:
        """A short hash of every file's name and content, the rules and the base IRI."""
        digest = hashlib.sha256(f"{DERIVATION_REVISION}.{INDEX_REVISION}\0{self.base_iri}\0".encode())
        for source in self.files:
            digest.update(f"{source.path.name}\0".encode())
            digest.update(source.path.read_bytes())
        return digest.hexdigest()[:16]

    @cached_property
    def last_modified(self) -> datetime:
        """When a source file last changed: stable across restarts of the same checkout."""
        newest = max((f.path.stat().st_mtime for f in self.files), default=0.0)
        return datetime.fromtimestamp(int(newest), tz=UTC)

    def iri(self, path: str) -> str:
        return self.base_iri + path

    @property
    def graphs(self) -> list[str]:
        return [f.graph for f in self.files]


def rebase(term: ox.NamedNode | ox.BlankNode | ox.Literal, old: str, new: str):
    """Move an IRI, an xsd:anyURI literal or a literal's datatype from the base the data were
    written in to ours."""
    if isinstance(term, ox.NamedNode) and term.value.startswith(old):
        return ox.NamedNode(new + term.value[len(old) :])
    if isinstance(term, ox.Literal) and term.datatype.value == XSD_ANY_URI and term.value.startswith(old):
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


def derivation_rules(base_iri: str) -> list[str]:
    """CONSTRUCT queries whose answers are added to the derived graph, in this order.

    Links come only from agreements in force that no source disputes: the agreement's one status
    is "in force" (a disputed claim has the status "disputed", an announced one "announced") and
    no source is named as disputing it.
    """
    prologue = f"PREFIX sc: <{base_iri}{ONTOLOGY_NS}>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    twinning = f"<{base_iri}id/concept/agreement-type/twinning>"
    in_force = f"<{base_iri}id/concept/agreement-status/in-force>"
    undisputed_in_force = (
        f"?agreement sc:agreementStatus {in_force} . "
        f"FILTER NOT EXISTS {{ ?agreement sc:agreementStatus ?other FILTER(?other != {in_force}) }} "
        "FILTER NOT EXISTS { ?agreement sc:disputedBy ?source } "
    )
    return [
        prologue + "CONSTRUCT { ?a sc:partnerOf ?b } WHERE { "
        f"?agreement a sc:PartnershipAgreement ; sc:party ?a , ?b . FILTER(?a != ?b) {undisputed_in_force}}}",
        prologue + "CONSTRUCT { ?a sc:twinnedWith ?b } WHERE { "
        f"?agreement sc:agreementType/skos:broader* {twinning} ; sc:party ?a , ?b . FILTER(?a != ?b) "
        f"{undisputed_in_force}}}",
        prologue + "CONSTRUCT { ?b sc:twinnedWith ?a . ?a sc:partnerOf ?b . ?b sc:partnerOf ?a } "
        "WHERE { ?a sc:twinnedWith ?b }",
        prologue + "CONSTRUCT { ?place sc:country ?country } WHERE { "
        "?place sc:partOf+ ?country . ?country a sc:Country }",
    ]


def derive(store: ox.Store, base_iri: str) -> int:
    """Materialise the derived links, in their graph and in the merge; returns how many."""
    graph = ox.NamedNode(base_iri + DERIVED_GRAPH)
    for rule in derivation_rules(base_iri):
        triples = list(store.query(rule))
        store.extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples for g in (graph, ox.DefaultGraph()))
    return sum(1 for _ in store.quads_for_pattern(None, None, None, graph))


def version_quads(dataset: Dataset) -> Iterable[ox.Quad]:
    """The statements that record which version of the sources a store was built from."""
    subject = ox.NamedNode(dataset.iri(DATASET_PATH))
    modified = ox.Literal(dataset.last_modified.isoformat(), datatype=XSD_DATETIME)
    return [
        ox.Quad(subject, predicate, value, graph)
        for graph in (ox.NamedNode(dataset.iri(METADATA_GRAPH)), ox.DefaultGraph())
        for predicate, value in (
            (OWL_VERSION_INFO, ox.Literal(dataset.version)),
            (DCT_MODIFIED, modified),
        )
    ]


def stored_version(store: ox.Store, dataset: Dataset) -> str | None:
    subject = ox.NamedNode(dataset.iri(DATASET_PATH))
    graph = ox.NamedNode(dataset.iri(METADATA_GRAPH))
    found = store.quads_for_pattern(subject, OWL_VERSION_INFO, None, graph)
    return next((q.object.value for q in found), None)


def build(store: ox.Store, dataset: Dataset) -> None:
    """Fill an empty store with the dataset, its derived links and its version."""
    load_files(store, dataset)
    derived = derive(store, dataset.base_iri)
    write_statistics(store, dataset.base_iri)  # VoID statistics of the data, before the version record
    add_name_index(store, dataset.base_iri)  # for reconciliation; after the statistics, outside the merge
    store.extend(version_quads(dataset))
    store.optimize()
    log.info(
        "loaded %d files, derived %d links, version %s",
        len(dataset.files),
        derived,
        dataset.version,
    )


def is_current(dataset: Dataset, directory: Path) -> bool:
    """Whether the on-disk store holds this version of the dataset, looked at read-only."""
    if not directory.is_dir():
        return False
    try:
        return stored_version(ox.Store.read_only(str(directory)), dataset) == dataset.version
    except OSError:
        return False


def open_store(dataset: Dataset, directory: Path | None) -> ox.Store:
    """An in-memory store, or the on-disk one in `directory`, rebuilt only if the sources changed."""
    if directory is None:
        store = ox.Store()
        build(store, dataset)
        return store
    directory.mkdir(parents=True, exist_ok=True)
    store = ox.Store(str(directory))
    if stored_version(store, dataset) != dataset.version:
        log.info("store in %s is out of date; rebuilding", directory)
        store.clear()
        build(store, dataset)
        store.flush()
    return store


def ensure_disk_store(dataset: Dataset, directory: Path) -> None:
    """Bring the on-disk store up to date, then close it so that workers can open it read-only.

    A store already up to date is only looked at read-only, so server processes starting
    together never contend for the writer's lock.
    """
    if is_current(dataset, directory):
        return
    store = open_store(dataset, directory)
    store.flush()
    del store
