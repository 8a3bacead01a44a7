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
"""

from __future__ import annotations

from server import formats

THING_PREFIX, GRAPH_PREFIX, DOC_PREFIX = "id/", "graph/", "doc/"
VOCABULARIES = ("ontology", "shapes")

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
