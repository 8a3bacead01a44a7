"""What the service says about a resource outside the store, for that resource's own document.

The dataset is described by documents the service writes (the DCAT-AP catalogue, the VoID
description), not by the curated data; its IRI must still dereference to all of it. A feature that
publishes such statements registers a supplier for the IRI; the document of that IRI adds what the
supplier gives, each statement in the graph of the document it comes from. The web layer only
carries them: features do not import one another, and create_app wires supplier to document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pyoxigraph as ox
from starlette.requests import Request


@dataclass(frozen=True)
class SupplementPart:
    """Statements taken from one of the service's documents (its IRI names their graph and source)."""

    source: str
    triples: tuple[ox.Triple, ...]


@dataclass(frozen=True)
class Supplement:
    """What the service's documents say about a resource: about it, about what it links to that
    is described only there (distributions, checksums, the endpoint), and what links to it."""

    parts: tuple[SupplementPart, ...]
    state: str  # what, besides the data version, changes them (for the document's validators)


Supplier = Callable[[Request], Awaitable[Supplement]]
SpaceSupplier = Callable[[Request, str], Awaitable[Supplement | None]]


class Supplements:
    """Suppliers of statements by the IRI they are about, or by the space of IRIs (the named
    graphs under {base}graph/) whose documents they describe."""

    def __init__(self) -> None:
        self._suppliers: dict[str, Supplier] = {}
        self._spaces: dict[str, SpaceSupplier] = {}

    def add(self, iri: str, supplier: Supplier) -> None:
        self._suppliers[iri] = supplier

    def add_space(self, prefix: str, supplier: SpaceSupplier) -> None:
        """A supplier for every IRI that begins with `prefix`; it answers None for those it does not know."""
        self._spaces[prefix] = supplier

    async def about(self, request: Request, iri: str) -> Supplement | None:
        supplier = self._suppliers.get(iri)
        if supplier:
            return await supplier(request)
        for prefix, space in self._spaces.items():
            if iri.startswith(prefix):
                return await space(request, iri)
        return None


def closure(iri: str, triples: list[ox.Triple]) -> tuple[ox.Triple, ...]:
    """The triples about `iri`, about every resource reachable from it through objects, and those
    whose object is `iri`: what a document about `iri` takes from a larger one."""
    by_subject: dict[ox.NamedNode | ox.BlankNode, list[ox.Triple]] = {}
    for triple in triples:
        by_subject.setdefault(triple.subject, []).append(triple)
    start = ox.NamedNode(iri)
    seen, frontier, found = {start}, [start], []
    while frontier:
        subject = frontier.pop()
        for triple in by_subject.get(subject, ()):
            found.append(triple)
            if triple.object in by_subject and triple.object not in seen:
                seen.add(triple.object)
                frontier.append(triple.object)
    found += [t for t in triples if t.object == start and t.subject not in seen]
    return tuple(dict.fromkeys(found))
