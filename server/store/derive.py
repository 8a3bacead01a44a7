"""Links that follow from the curated statements, derived once when the store is built.

The symmetric sc:twinnedWith and sc:partnerOf come from the agreements, and sc:country from the
sc:partOf chains. They go into their own graph, <{base}graph/derived>, and into the merge.
"""

from __future__ import annotations

import pyoxigraph as ox

from server.namespaces import SKOS
from server.store.sparql_text import prologue
from server.uris import Iris

# Bump when the rules change, so that stores built by older rules are rebuilt.
DERIVATION_REVISION = "5"


def derivation_rules(iris: Iris) -> list[str]:
    """CONSTRUCT queries whose answers are added to the derived graph, in this order.

    Links come only from agreements in force that no source disputes: the agreement's one status
    is "in force" (a disputed claim has the status "disputed", an announced one "announced") and
    no source is named as disputing it.
    """
    start = prologue(iris.ontology_namespace, skos=SKOS.iri)
    twinning = f"<{iris.thing('concept/agreement-type/twinning')}>"
    in_force = f"<{iris.thing('concept/agreement-status/in-force')}>"
    undisputed_in_force = (
        f"?agreement sc:agreementStatus {in_force} . "
        f"FILTER NOT EXISTS {{ ?agreement sc:agreementStatus ?other FILTER(?other != {in_force}) }} "
        "FILTER NOT EXISTS { ?agreement sc:disputedBy ?source } "
    )
    return [
        start + "CONSTRUCT { ?a sc:partnerOf ?b } WHERE { "
        f"?agreement a sc:PartnershipAgreement ; sc:party ?a , ?b . FILTER(?a != ?b) {undisputed_in_force}}}",
        start + "CONSTRUCT { ?a sc:twinnedWith ?b } WHERE { "
        f"?agreement sc:agreementType/skos:broader* {twinning} ; sc:party ?a , ?b . FILTER(?a != ?b) "
        f"{undisputed_in_force}}}",
        start + "CONSTRUCT { ?b sc:twinnedWith ?a . ?a sc:partnerOf ?b . ?b sc:partnerOf ?a } "
        "WHERE { ?a sc:twinnedWith ?b }",
        start + "CONSTRUCT { ?place sc:country ?country } WHERE { ?place sc:partOf+ ?country . ?country a sc:Country }",
    ]


def derive(store: ox.Store, iris: Iris) -> int:
    """Materialise the derived links, in their graph and in the merge; returns how many.

    They are written by the bulk loader, not in a transaction: into a build nobody reads yet, a
    transaction buys nothing, and it would also write every link to RocksDB's write-ahead log
    (hundreds of MB at a million triples), which stays beside the build after it is closed."""
    graph = ox.NamedNode(iris.derived_graph)
    for rule in derivation_rules(iris):
        triples = list(store.query(rule))
        store.bulk_extend(
            ox.Quad(t.subject, t.predicate, t.object, g) for t in triples for g in (graph, ox.DefaultGraph())
        )
    return sum(1 for _ in store.quads_for_pattern(None, None, None, graph))
