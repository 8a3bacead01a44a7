"""Writing SPARQL text in the shapes the engine answers by lookups.

Writing SPARQL text: terms, VALUES clauses and prologues, in the shapes the engine looks up fast.

Queries the server asks itself are built here, so that what makes pyoxigraph answer by index
lookups rather than scans is written down once: one VALUES clause per query (a second one is
joined by scanning), FILTER(?p IN (...)) instead of a second VALUES, and bound terms written as
IRIs or escaped literals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import pyoxigraph as ox

from server.namespaces import OWL, RDFS, SKOS, WGS

T = TypeVar("T")

# Entities per query in batched lookups: large enough to be few queries, small enough to plan fast.
LOOKUP_CHUNK = 300


def iri(value: str) -> str:
    """An IRI as SPARQL writes it (<...>); a ValueError for text that is not one (a '>', a space, a
    control character), so that nothing a client sends can end the IRI and write SPARQL of its own."""
    return str(ox.NamedNode(value))


def string(value: str) -> str:
    """A string as an escaped SPARQL literal."""
    return str(ox.Literal(value))


def chunks(items: Sequence[T], size: int = LOOKUP_CHUNK) -> list[Sequence[T]]:
    return [items[n : n + size] for n in range(0, len(items), size)]


def is_iri(text: str) -> bool:
    """Whether a string can be written as an IRI in a query (pyoxigraph accepts it as one)."""
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def valid_iri(text: str) -> bool:
    """Whether a client's string names a web or URN resource (not "place/kuopio" or "Kuopio:x")."""
    return is_iri(text) and ("://" in text or text.startswith("urn:"))


def values_clause(variable: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(iri(i) for i in iris)} }}"


def one_of(variable: str, iris: Iterable[str]) -> str:
    """FILTER(?p IN (...)): a second VALUES clause would make the store join two tables by a scan."""
    return f"FILTER(?{variable} IN ({', '.join(iri(i) for i in iris)}))"


def prologue(ontology_namespace: str, **extra: str) -> str:
    """PREFIX lines for our ontology (sc:) and the vocabularies the server's own queries use."""
    declared = {"sc": ontology_namespace, "skos": SKOS.iri, "rdfs": RDFS.iri, "owl": OWL.iri, "wgs": WGS.iri, **extra}
    return "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in declared.items())
