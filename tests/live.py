"""The real server for tests that talk HTTP to it (started by server.running), and the queries
the tests of the time limit share."""

from __future__ import annotations

from server.running import Server, descendants, live_server, parent_of

# For tests of the time limit: three unconstrained triple patterns over ~3,000 triples are
# 2.7e10 combinations, minutes of work; and a lookup that answers at once.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LOOKUP = "ASK { <https://w3id.org/sistercities/id/place/kuopio> ?p ?o }"

__all__ = ["CARTESIAN", "LOOKUP", "Server", "descendants", "live_server", "parent_of"]
