"""The dataset's own description: what the catalogue and VoID say of it, for its IRI's document.

The dataset IRI ({base}id/dataset/sister-cities) dereferences like every other thing, to
/doc/dataset/sister-cities; the store knows only its statistics. This supplies the rest: the
catalogue's statements about the dataset, its distributions, checksums, contact point, licence,
quality measurements and the SPARQL endpoint, and VoID's (endpoint, dumps, URI space, examples),
each in the graph of the document it comes from (server.web.supplements).
"""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request

from server.namespaces import DCT
from server.publish.catalogue import catalogue_facts, catalogue_triples
from server.publish.void import void_triples
from server.query.statistics import stored_statistics
from server.web.services import services
from server.web.supplements import Supplement, SupplementPart, closure


async def dataset_supplement(request: Request) -> Supplement:
    shared = services(request)
    iris = shared.settings.iris
    version = await shared.engine.data_version()
    facts = await catalogue_facts(request, version)
    void = void_triples(iris, await stored_statistics(shared.engine, iris), version)
    parts = (
        part(iris.service("catalog"), iris.dataset, catalogue_triples(facts)),
        part(iris.service(".well-known/void"), iris.dataset, void),
    )
    return Supplement(parts, facts.state)


def part(source: str, dataset: str, triples: list[ox.Triple]) -> SupplementPart:
    """What one document says of the dataset, with the document's own title (its name as a source)."""
    titles = [t for t in triples if t.subject == ox.NamedNode(source) and t.predicate == DCT.title]
    return SupplementPart(source, (*closure(dataset, triples), *titles))
