"""Answering SPARQL: the engine interface, killable workers, a remote store, the result cache and formats."""
