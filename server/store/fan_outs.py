"""The fan-outs of a build's default graph, counted once when the build is made, kept beside it.

The lookup lane (server.query.lane) bounds a lookup's work by each predicate's fan-out: the most
values one subject has for it ("out") and the most subjects one value has ("in"); for a
variable predicate, the most triples of any one subject or value ("*"). Counted at first need,
in each HTTP process, they took seconds each at ten million triples, and until then lookups
went to the query workers. So a build counts them all, in four grouped scans (4 s at one million
triples), when it is made (for a loaded build, after it is live, with its statistics), and the
lane reads them when it opens the build. A table read from a build is complete: a predicate it
does not name has no triple in the default graph.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyoxigraph as ox

FAN_OUTS_FILE = "fan-outs.json"
ANY_PREDICATE = "*"  # the fan-out of any predicate: the most triples of one subject (or value)
FanOutTable = dict[tuple[str, str], int]  # (direction, predicate IRI or ANY_PREDICATE) -> most

_END = {"out": "?s", "in": "?o"}


def count_fan_outs(store: ox.Store) -> FanOutTable:
    """Every predicate's fan-out in both directions over the default graph, and any predicate's."""
    table: FanOutTable = {}
    for direction, end in _END.items():
        per_predicate = f"SELECT ?p {end} (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }} GROUP BY ?p {end}"
        for row in store.query(f"SELECT ?p (MAX(?n) AS ?m) WHERE {{ {per_predicate} }} GROUP BY ?p"):
            table[(direction, row["p"].value)] = int(row["m"].value)
        table[(direction, ANY_PREDICATE)] = fan_out_of(store, direction, ANY_PREDICATE)
    return table


def fan_out_of(store: ox.Store, direction: str, predicate: str) -> int:
    """One predicate's fan-out (or any predicate's) over the default graph: one grouped scan."""
    end = _END[direction]
    pattern = "?s ?p ?o" if predicate == ANY_PREDICATE else f"?s <{predicate}> ?o"
    per_end = f"SELECT {end} (COUNT(*) AS ?n) WHERE {{ {pattern} }} GROUP BY {end}"
    most = next(iter(store.query(f"SELECT (MAX(?n) AS ?m) WHERE {{ {per_end} }}")))["m"]
    return int(most.value) if most is not None else 0


def save_fan_outs(directory: Path, table: FanOutTable) -> None:
    """Write beside a build, under a temporary name first, so that the file is whole or absent."""
    rows = [[direction, predicate, most] for (direction, predicate), most in sorted(table.items())]
    pending = directory / f".{FAN_OUTS_FILE}.{os.getpid()}"
    pending.write_text(json.dumps(rows), encoding="utf-8")
    pending.replace(directory / FAN_OUTS_FILE)


def read_fan_outs(directory: Path) -> FanOutTable | None:
    """The table kept beside a build; None when it has none (an older build, or not counted yet)."""
    try:
        rows = json.loads((directory / FAN_OUTS_FILE).read_text(encoding="utf-8"))
        return {(direction, predicate): int(most) for direction, predicate, most in rows}
    except (OSError, ValueError, TypeError):
        return None


def keep_fan_outs(store: ox.Store, directory: Path) -> FanOutTable:
    """Count a build's fan-outs and keep them beside it."""
    table = count_fan_outs(store)
    save_fan_outs(directory, table)
    return table
