"""Where the W3C suites are: read in place, never copied into the project (their licence is theirs)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "SISTERCITIES_W3C_SUITES"
COMMIT = "ad541a5f0479f0798608c4801369d97b8e08b36f"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LOCATION = REPO_ROOT.parent / "shared" / "ext" / "rdf-tests"
SPARQL11 = Path("sparql") / "sparql11"

# The query-evaluation folders of the SPARQL 1.1 query suite that the harness runs.
EVALUATION_FOLDERS = (
    "aggregates",
    "bind",
    "bindings",
    "cast",
    "construct",
    "csv-tsv-res",
    "exists",
    "functions",
    "grouping",
    "json-res",
    "negation",
    "project-expression",
    "property-path",
    "subquery",
)
PROTOCOL_FOLDER = "protocol"


def configured_location() -> Path:
    """The folder named by the environment, else the checkout's neighbour `../shared/ext/rdf-tests`."""
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else DEFAULT_LOCATION


def find_sparql11(location: Path | None = None) -> Path | None:
    """The `sparql/sparql11` folder, given a clone of w3c/rdf-tests or that folder itself; None if absent."""
    root = configured_location() if location is None else location
    for candidate in (root / SPARQL11, root):
        if (candidate / "manifest-sparql11-query.ttl").is_file():
            return candidate
    return None


def missing_message(location: Path | None = None) -> str:
    """Why the suites did not run and how to get them; pytest shows it as the skip reason."""
    root = configured_location() if location is None else location
    return (
        f"W3C SPARQL 1.1 test suites not found at {root}: clone them with "
        f"`git clone https://github.com/w3c/rdf-tests && git -C rdf-tests checkout {COMMIT[:8]}` "
        f"and set {ENV_VAR}=/path/to/rdf-tests (or put the clone at ../shared/ext/rdf-tests)"
    )
