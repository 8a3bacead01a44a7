"""The vocabularies the server speaks: namespaces as objects, and the prefix list.

The vocabularies the server speaks, in one place: namespaces as objects and the prefix list.

`RDF.type` is the pyoxigraph NamedNode (for building triples), `RDF + "type"` the IRI as text
(for SPARQL and comparisons). The same prefixes serve reports, the query editor, pages and
serialisations, with the project's own ones under whatever base IRI it is published.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox


class Namespace:
    """An IRI prefix whose attributes and items are the terms in it."""

    __slots__ = ("iri",)

    def __init__(self, iri: str) -> None:
        self.iri = iri

    def __getattr__(self, name: str) -> ox.NamedNode:
        if name.startswith("__"):
            raise AttributeError(name)
        return ox.NamedNode(self.iri + name)

    def __getitem__(self, name: str) -> ox.NamedNode:
        return ox.NamedNode(self.iri + name)

    def __add__(self, name: str) -> str:
        return self.iri + name

    def __str__(self) -> str:
        return self.iri

    def __repr__(self) -> str:
        return f"Namespace({self.iri!r})"


RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCT = Namespace("http://purl.org/dc/terms/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VOID = Namespace("http://rdfs.org/ns/void#")
PROV = Namespace("http://www.w3.org/ns/prov#")
ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("http://schema.org/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
TIME = Namespace("http://www.w3.org/2006/time#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
WGS = Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")
SH = Namespace("http://www.w3.org/ns/shacl#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
OA = Namespace("http://www.w3.org/ns/oa#")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
GEONAMES = Namespace("https://sws.geonames.org/")

RDF_TYPE = RDF.type

STANDARD = {
    "rdf": RDF.iri,
    "rdfs": RDFS.iri,
    "owl": OWL.iri,
    "xsd": XSD.iri,
    "skos": SKOS.iri,
    "dct": DCT.iri,
    "dcat": DCAT.iri,
    "void": VOID.iri,
    "prov": PROV.iri,
    "org": ORG.iri,
    "schema": SCHEMA.iri,
    "foaf": FOAF.iri,
    "time": TIME.iri,
    "geo": GEO.iri,
    "wgs": WGS.iri,
    "sh": SH.iri,
    "wd": WD.iri,
    "wdt": WDT.iri,
}

# Prefix -> path under the base IRI (server.uris is the policy these paths follow).
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
    "statement": "id/statement/",
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
