"""Run the W3C SPARQL 1.1 test suites against any SPARQL endpoint over HTTP.

The suites are the W3C's own (w3c/rdf-tests, `sparql/sparql11/`); they are read where they are
(`SISTERCITIES_W3C_SUITES`, else `../shared/ext/rdf-tests` beside the checkout) and never copied
into the project. Without them the tests skip and say how to get them.

- `suites`: finding the suites, and the message when they are missing.
- `manifest`: manifests into plain records: `QueryCase`, `ProtocolCase`, `Dataset`, `Skipped`.
- `results`: reading expected and actual results, comparing them by the W3C rules.
- `target`: what an endpoint under test must offer (`Target`) and the `oxigraph serve` peer.
- `evaluation`, `protocol`: running one case over the SPARQL 1.1 Protocol.
- `expected_failures`: what the engine (Oxigraph 0.5) and the peer server get wrong, and why.

A target is anything with a query `endpoint` URL and a `load(dataset)` that replaces the whole
store with exactly that dataset: the default graph holds only the `qt:data` triples and each named
graph only its `qt:graphData` file. The harness never simulates a dataset with protocol
parameters, and after every load it counts the triples of each graph over SPARQL, so a target that
leaves data behind (or adds its own to the default graph) fails loudly rather than quietly.
"""
