"""Linked data: dereferencing, resource descriptions and pages, the vocabularies and browsing."""
