"""The URI policy (W3C "Cool URIs for the Semantic Web", 303 variant), in one place.

- Things have IRIs under {base}id/ (a city, an agreement, a concept); named graphs under
  {base}graph/. They are not documents: GET answers 303 See Other to the document about them.
- Documents are under /doc/: /doc/place/kuopio describes {base}id/place/kuopio and
  /doc/graph/sources describes the graph {base}graph/sources. Each document negotiates its
  format and also has fixed variants: /doc/place/kuopio.ttl, .jsonld, .rdf, .nt, .trig, .nq, .html.
- The ontology and the shapes are small vocabularies with hash IRIs ({base}ontology#City): their
  IRIs are documents themselves, /ontology and /shapes, and the fragment names the term.
- The public base is a setting; the server maps it onto its own host, so the same paths serve
  the same IRIs on a local server and in production. IRIs in RDF always use the base; links for
  people are host-relative paths.

Every IRI the server mints is made by `Iris`, bound to the base it is published under.
"""

from __future__ import annotations

from dataclasses import dataclass

from server import formats

# The base IRI the curated data are written in (and published under, unless configured otherwise).
DEFAULT_BASE_IRI = "https://w3id.org/sistercities/"
THING_PREFIX, GRAPH_PREFIX, DOC_PREFIX = "id/", "graph/", "doc/"

# The fixed variants of a document, by file extension, in the order they are offered.
DOCUMENT_FORMATS: tuple[formats.Format, ...] = (
    formats.TURTLE,
    formats.HTML,
    formats.JSON_LD,
    formats.RDF_XML,
    formats.N_TRIPLES,
    formats.TRIG,
    formats.N_QUADS,
)
VARIANT_EXTENSIONS = {f.extension: f for f in DOCUMENT_FORMATS}


@dataclass(frozen=True)
class Iris:
    """The IRIs of one publication: things, graphs, vocabularies and the service's own documents."""

    base: str

    @property
    def thing_space(self) -> str:
        """Where things live ({base}id/), the VoID uriSpace and reconciliation's identifierSpace."""
        return self.base + THING_PREFIX

    def thing(self, path: str) -> str:
        """{base}id/{path}: "place/kuopio" is Kuopio."""
        return self.thing_space + path

    def graph(self, name: str) -> str:
        """{base}graph/{name}: the named graph of a source file, or one the server derives."""
        return self.base + GRAPH_PREFIX + name

    @property
    def ontology(self) -> str:
        return self.base + "ontology"

    @property
    def ontology_namespace(self) -> str:
        return self.base + "ontology#"

    def term(self, name: str) -> str:
        """A term of our ontology: {base}ontology#{name}."""
        return self.ontology_namespace + name

    @property
    def shapes(self) -> str:
        return self.base + "shapes"

    @property
    def dataset(self) -> str:
        """The dataset itself, as VoID, DCAT and every document's dct:isPartOf name it."""
        return self.thing("dataset/sister-cities")

    @property
    def publisher(self) -> str:
        return self.thing("organisation/sister-cities-linked-data")

    @property
    def ontology_graph(self) -> str:
        return self.graph("sistercities")

    @property
    def derived_graph(self) -> str:
        """The links derived from the curated statements when the store is built."""
        return self.graph("derived")

    @property
    def metadata_graph(self) -> str:
        """The version record and the statistics of the store."""
        return self.graph("metadata")

    @property
    def name_index_graph(self) -> str:
        """An auxiliary index for name matching: not data, not in the merge or the dumps."""
        return self.graph("name-index")

    def service(self, path: str = "") -> str:
        """A document of the service itself under the base: sparql, catalog, dumps/..., .well-known/void."""
        return self.base + path


def thing_of_document(base_iri: str, rest: str) -> str:
    """/doc/{rest} describes this IRI: graph/{name} a graph, anything else {base}id/{rest}."""
    if rest.startswith(GRAPH_PREFIX):
        return base_iri + rest
    return base_iri + THING_PREFIX + rest


def document_path(base_iri: str, iri: str) -> str | None:
    """The /doc/ path of a thing or graph under the base; None for anything else."""
    if not iri.startswith(base_iri):
        return None
    rest = iri[len(base_iri) :]
    if rest.startswith(THING_PREFIX) and len(rest) > len(THING_PREFIX):
        return "/" + DOC_PREFIX + rest[len(THING_PREFIX) :]
    if rest.startswith(GRAPH_PREFIX) and len(rest) > len(GRAPH_PREFIX):
        return "/" + DOC_PREFIX + rest
    return None


def local_url(base_iri: str, iri: str) -> str | None:
    """Where a person follows an IRI on this server: its document, or the vocabulary with a
    fragment; None for IRIs outside the base (they are linked as they are)."""
    path = document_path(base_iri, iri)
    if path:
        return path
    if iri.startswith(base_iri):
        return "/" + iri[len(base_iri) :]
    return None


def document_iri(base_iri: str, iri: str) -> str | None:
    """The public IRI of the document about a thing ({base}doc/...), used in RDF."""
    path = document_path(base_iri, iri)
    return base_iri + path[1:] if path else None


def split_variant(rest: str) -> tuple[str, formats.Format | None]:
    """'place/kuopio.ttl' -> ('place/kuopio', Turtle); 'place/kuopio' -> ('place/kuopio', None)."""
    stem, dot, extension = rest.rpartition(".")
    if dot and "/" not in extension and extension in VARIANT_EXTENSIONS:
        return stem, VARIANT_EXTENSIONS[extension]
    return rest, None


def alternate_links(path: str, offered: tuple[formats.Format, ...]) -> str:
    """A Link header naming every fixed variant of a document: `<path.ttl>; rel="alternate"; ...`."""
    return ", ".join(f'<{path}.{f.extension}>; rel="alternate"; type="{f.media_type}"' for f in offered)
