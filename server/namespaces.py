"""The project's prefixes: one list for reports, the query editor, pages and serialisations."""

from __future__ import annotations

from collections.abc import Iterable

STANDARD = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "schema": "http://schema.org/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "time": "http://www.w3.org/2006/time#",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "wgs": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "sh": "http://www.w3.org/ns/shacl#",
    "wd": "http://www.wikidata.org/entity/",
    "wdt": "http://www.wikidata.org/prop/direct/",
}

# Paths under the base IRI of the ontology's namespace, the graphs the server derives, and the
# dataset itself.
ONTOLOGY_NS = "ontology#"
DERIVED_GRAPH = "graph/derived"
METADATA_GRAPH = "graph/metadata"
DATASET_PATH = "id/dataset/sister-cities"
# An auxiliary index for name matching (server/reconcile/matching.py): not data, not part of the merge.
NAME_INDEX_GRAPH = "graph/name-index"

# Prefix -> path under the base IRI.
OWN = {
    "sc": "ontology#",
    "scsh": "shapes#",
    "place": "id/place/",
    "organisation": "id/organisation/",
    "person": "id/person/",
    "post": "id/post/",
    "membership": "id/membership/",
    "agreement": "id/agreement/",
    "event": "id/event/",
    "programme": "id/programme/",
    "observation": "id/observation/",
    "source": "id/source/",
    "concept": "id/concept/",
    "scheme": "id/scheme/",
    "graph": "graph/",
}


def prefixes(base_iri: str) -> dict[str, str]:
    """All prefixes, with the project's own ones under the given base IRI."""
    return {**{p: base_iri + path for p, path in OWN.items()}, **STANDARD}


def used_prefixes(known: dict[str, str], iris: Iterable[str]) -> dict[str, str]:
    """Only the prefixes some IRI starts with, so serialisations declare what they use."""
    text = "\n" + "\n".join(set(iris))
    return {p: ns for p, ns in known.items() if "\n" + ns in text}
