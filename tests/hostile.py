"""Expensive and malicious queries, shared by the hostile-query tests and scripts/soak.py.

Each is a real abuse seen on public endpoints: cartesian products, unbounded paths over cycles,
backtracking regular expressions over every literal, CONSTRUCT and DESCRIBE of everything, deep
nesting, giant VALUES blocks, very long query strings, many OPTIONALs.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE = "https://w3id.org/sistercities/"


@dataclass(frozen=True)
class Hostile:
    name: str
    query: str
    post: bool = False  # too long for a URL: sent as application/sparql-query

    def request(self) -> dict:
        """httpx keyword arguments for /sparql."""
        if self.post:
            headers = {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"}
            return {"method": "POST", "content": self.query.encode(), "headers": headers}
        return {"method": "GET", "params": {"query": self.query}}


VALUES = " ".join(f'"v{i}"' for i in range(40_000))

HOSTILE = (
    Hostile("cartesian", "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"),
    Hostile("path", f"SELECT ?x ?y WHERE {{ ?x (<{BASE}ontology#partOf>|^<{BASE}ontology#partOf>)* ?y }}"),
    Hostile("any_path", "SELECT (COUNT(*) AS ?n) WHERE { ?x (<urn:p>|!<urn:q>)* ?y }"),
    Hostile("regex", 'SELECT ?s WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), "^(a|aa)*(b|c)+.*.*.*z$", "i")) }'),
    Hostile("construct", "CONSTRUCT { ?s ?p ?o . ?o ?q ?r } WHERE { ?s ?p ?o . ?o ?q ?r }"),
    Hostile("describe", "DESCRIBE ?s WHERE { ?s ?p ?o }"),
    Hostile("nesting", "SELECT * WHERE " + "{ " * 300 + "?s ?p ?o" + " }" * 300),
    Hostile("values", f"SELECT ?s WHERE {{ VALUES ?v {{ {VALUES} }} ?s ?p ?v }}", post=True),
    Hostile("long", "SELECT * WHERE { ?s ?p ?o } LIMIT 1 #" + "x" * 900_000, post=True),
    Hostile("optionals", "SELECT * WHERE { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o } " * 200 + "}"),
)
