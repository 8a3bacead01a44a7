"""Run the W3C SPARQL 1.1 test suites against any SPARQL endpoint over HTTP.

The suites are the W3C's own (w3c/rdf-tests at ad541a5f, `sparql/sparql11/`). They are read
where they are (`SISTERCITIES_W3C_SUITES`, a clone of rdf-tests or its sparql11 folder; else
`../shared/ext/rdf-tests` beside the checkout) and never copied into the project. Without them the
tests skip and say how to get them.

- `suites`: finding the suites, and the message when they are missing.
- `manifest`: manifests into plain records (`QueryCase`, `ProtocolCase`, `Skipped`).
- `dataset`: a case's `Dataset` (default-graph files, named graphs) and its triples.
- `results`: expected and actual results, compared by the W3C rules.
- `evaluation`, `protocol`: running one case over the SPARQL 1.1 Protocol.
- `target`: what an endpoint under test must offer (`Target`), the `oxigraph serve` peer, and the
  `Session` that loads each dataset once.
- `expected_failures`: what the engine (Oxigraph 0.5.13) and the peer server get wrong, and why.
- `params`: the pytest parameters (ids `folder/name`, skips and xfails) for any target's module.

A target is anything with a query `endpoint` URL and a `load(dataset)` that replaces the whole
store with exactly that dataset: the default graph holds only the `qt:data` triples and each named
graph only its `qt:graphData` file. The harness never simulates a dataset with the protocol's
default-graph-uri / named-graph-uri, and after every load it counts the triples of each graph over
SPARQL, so a target that leaves data behind, or adds its own to the default graph, fails loudly.

Queries get their file's public IRI as BASE, as the suites mean (some say `GRAPH <ng-01.ttl>`), and
are sent by POST with an Accept for the format the expected results are written in.
"""
