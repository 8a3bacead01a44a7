"""Sister Cities Linked Data: ontology, curated data and a SPARQL / linked-data server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sistercities")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
