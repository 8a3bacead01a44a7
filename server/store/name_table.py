"""The search index: every name's keys in an SQLite file beside the build, for search and matching.

Why a file and not a graph: the name index as a graph of the store (server.store.name_index)
made loading 7.1 times slower at one million triples, and without it search scanned every name
with CONTAINS (2 s at one million triples, past the 30 s time limit at ten, on a busy machine).
SQLite (the standard library's) holds the same keys in B-trees, where an exact key, a word or a
name's beginning is one index lookup, and an FTS5 trigram index of the names themselves finds
pieces of words without a scan.

It is a build artefact like statistics.json: written in one streamed pass over the live build
after it went live (written under a temporary name, then renamed, so readers see all or nothing),
and opened read-only by each server process for the data version it serves. Its layout:

    things(id, iri)              every thing named, by a small number (IRIs in our namespace
                                 without it: "place/kuopio")
    keys(kind, key, thing)       kind 0 name key, 1 variant key, 2 government key, 3 word (token),
                                 ordered by (kind, key); a word that is also a name key of the
                                 thing is not repeated
    own(iri, keys)               each thing's keys of kinds 0-2, for scoring its candidates
    names(name, thing)           FTS5 trigram index of every name of every IRI (any namespace), in
                                 lower case as SPARQL's LCASE gives it
    meta(name, value)            the revision of the keys (older files are ignored), the namespace
                                 left out of the things' IRIs, and how many names belong to blank nodes
                                 (which the table leaves out)

What a name's keys are is the reconciliation feature's knowledge, handed in as a KeyMaker
(server.store.name_index); a name's beginning is a range of the compact name and variant keys,
so prefixes need no rows of their own.

The names are lowered by the engine itself (LCASE), not by Python, whose Unicode tables are older:
a piece of a name is then found here exactly where `CONTAINS(LCASE(?name), "piece")` finds it,
which lets the query engine narrow such a filter with this index (server.query.narrowing).
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from server.namespaces import RDFS, SKOS
from server.store.name_index import GOVERNMENT_KEY, NAME_KEY, TOKEN, VARIANT_KEY, KeyMaker, name_index_entries
from server.uris import Iris

NAME_TABLE_FILE = "names.sqlite"
LAYOUT_REVISION = "2"
# The names searched for pieces of words (any subject, ontology terms included).
SEARCHED_NAMES = (SKOS + "prefLabel", SKOS + "altLabel", SKOS + "hiddenLabel", RDFS + "label")
KINDS = {NAME_KEY: 0, VARIANT_KEY: 1, GOVERNMENT_KEY: 2, TOKEN: 3}
PREDICATES = {kind: predicate for predicate, kind in KINDS.items()}
OWN_KINDS = (0, 1, 2)
BATCH = 50_000
MAX_TERMS = 500  # SQLite's default limit on bound parameters is 32,766; lookups are far smaller
TRIGRAM = 3  # FTS5's trigram index finds pieces of at least three characters

PRAGMAS = "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE; PRAGMA cache_size=-200000;"
SCHEMA = """
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE things(id INTEGER PRIMARY KEY, iri TEXT NOT NULL);
CREATE TEMP TABLE staged(kind INTEGER NOT NULL, key TEXT NOT NULL, thing INTEGER NOT NULL);
CREATE TABLE keys(kind INTEGER, key TEXT, thing INTEGER, PRIMARY KEY (kind, key, thing)) WITHOUT ROWID;
CREATE TABLE own(iri TEXT PRIMARY KEY, keys TEXT NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE names USING fts5(name, thing UNINDEXED, tokenize='trigram', detail='none', columnsize=0);
"""
# The keys go in sorted, so that their B-tree is written once, in order (and deduplicated).
INDEXES = """
INSERT INTO keys SELECT DISTINCT kind, CASE WHEN kind < 3 THEN replace(key, ' ', '') ELSE key END, thing
    FROM staged ORDER BY 1, 2, 3;
"""
OWN_KEYS = """
SELECT t.iri, s.kind, s.key FROM staged s JOIN things t ON t.id = s.thing WHERE s.kind < 3 ORDER BY t.iri
"""


def revision_of(keys: KeyMaker) -> str:
    return f"{LAYOUT_REVISION}/{keys.revision}"


def packed(space: str, iri: str) -> str:
    """An IRI as the table keeps it: without the things' namespace ("place/kuopio"), or "<" and
    the whole IRI for any other (two thirds smaller, in the table and in its index)."""
    return iri[len(space) :] if iri.startswith(space) else "<" + iri


def unpacked(space: str, text: str) -> str:
    return text[1:] if text.startswith("<") else space + text


class _Writer:
    """Rows going into a new table file, in batches; things numbered as they come."""

    def __init__(self, connection: sqlite3.Connection, space: str) -> None:
        self.db, self.space, self.ids = connection, space, {}
        self.last, self.spelled = "", set()
        self.keys: list[tuple[int, str, int]] = []
        self.names: list[tuple[str, int]] = []

    def thing(self, iri: str) -> int:
        found = self.ids.get(iri)
        if found is None:
            found = self.ids[iri] = len(self.ids) + 1
            self.db.execute("INSERT INTO things VALUES (?, ?)", (found, packed(self.space, iri)))
        return found

    def key(self, iri: str, predicate: str, key: str) -> None:
        """A key of a thing; a word that is also one of its (consecutive) name or variant keys is
        left out, as words are looked up among those keys too (most names are one word)."""
        kind = KINDS.get(predicate)
        if iri != self.last:
            self.last, self.spelled = iri, set()
        if kind in (0, 1):
            self.spelled.add(key)
        elif kind == 3 and key in self.spelled:
            return
        if kind is not None:  # prefixes are ranges of the keys here, not rows
            self.keys.append((kind, key, self.thing(iri)))
            if len(self.keys) >= BATCH:
                self.flush()

    def name(self, iri: str, name: str) -> None:
        self.names.append((name, self.thing(iri)))
        if len(self.names) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO staged VALUES (?, ?, ?)", self.keys)
        self.db.executemany("INSERT INTO names VALUES (?, ?)", self.names)
        self.keys.clear()
        self.names.clear()


def data_graphs(store: ox.Store, hidden: Iterable[str]) -> list[ox.NamedNode | ox.DefaultGraph]:
    """The graphs of the data: the default graph and every named graph but the service's own (a
    load may put its triples in a named graph, and quads keep theirs)."""
    left_out = set(hidden)
    return [ox.DefaultGraph(), *(g for g in store.named_graphs() if g.value not in left_out)]


LOWERED_NAMES = "SELECT ?s ?name {{ ?s <{predicate}> ?o FILTER(isLiteral(?o)) BIND(LCASE(STR(?o)) AS ?name) }}"


def searched_names(
    store: ox.Store, data: list[ox.NamedNode | ox.DefaultGraph]
) -> Iterator[tuple[ox.NamedNode | ox.BlankNode, str]]:
    """(subject, name in lower case) for every name in the data graphs, one predicate and graph at
    a time, lowered by the engine's own LCASE."""
    for graph in data:
        for predicate in SEARCHED_NAMES:
            for subject, name in store.query(LOWERED_NAMES.format(predicate=predicate), default_graph=graph):
                yield subject, name.value


def write_name_table(
    store: ox.Store, iris: Iris, keys: KeyMaker, directory: Path, hidden: Iterable[str] = (), merged: bool = False
) -> Path:
    """Write the table of the names in a build's data graphs (all but the `hidden` service graphs)
    into its directory, streamed: a batch in memory at most. When the default graph is `merged`
    from the named graphs (a curated build), it is read alone: reading the keys over a default
    graph of the twenty-one graphs took ten times longer (151 s against 15 s at a million triples)."""
    data = [ox.DefaultGraph()] if merged else data_graphs(store, hidden)
    final = directory / NAME_TABLE_FILE
    pending = directory / f".{NAME_TABLE_FILE}.{os.getpid()}"
    pending.unlink(missing_ok=True)
    db = sqlite3.connect(pending)
    try:
        db.executescript(PRAGMAS + SCHEMA)
        writer = _Writer(db, iris.thing_space)
        for subject, predicate, key in name_index_entries(store, iris, keys, data):
            writer.key(subject.value, predicate, key)
        blank = 0
        for subject, name in searched_names(store, data):
            if isinstance(subject, ox.NamedNode):
                writer.name(subject.value, name)
            else:
                blank += 1
        writer.flush()
        meta = [("revision", revision_of(keys)), ("space", iris.thing_space), ("blank_names", str(blank))]
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta)
        db.commit()
        db.executescript(INDEXES)
        write_own_keys(db)
        db.execute("INSERT INTO names(names) VALUES ('optimize')")
        db.commit()
    finally:
        db.close()
    pending.replace(final)
    return final


def write_own_keys(db: sqlite3.Connection) -> None:
    """Each thing's name, variant and government keys in one row, without the spellings without
    spaces that `spelled` makes again (half of the text of names of several words)."""
    rows = db.execute(OWN_KEYS)
    batch: list[tuple[str, str]] = []
    for iri, group in itertools.groupby(rows, key=operator.itemgetter(0)):
        keys = {(kind, key) for _, kind, key in group}
        derived = {(kind, key.replace(" ", "")) for kind, key in keys if " " in key}
        batch.append((iri, "\x1f".join(f"{kind}{key}" for kind, key in sorted(keys - derived))))
        if len(batch) >= BATCH:
            db.executemany("INSERT INTO own VALUES (?, ?)", batch)
            batch.clear()
    db.executemany("INSERT INTO own VALUES (?, ?)", batch)
    db.execute("DROP TABLE staged")


def spelled(stored: str) -> list[tuple[str, str]]:
    """(predicate, key) pairs of a thing's row of `own`, each key with and without its spaces."""
    found = []
    for item in stored.split("\x1f"):
        predicate, key = PREDICATES[int(item[0])], item[1:]
        found.append((predicate, key))
        if " " in key:
            found.append((predicate, key.replace(" ", "")))
    return found


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


@dataclass
class NameTable:
    """A build's table of names, opened read-only (never written once it is in place).

    Its methods block (a piece of one or two characters is looked for by reading every name: a
    tenth of a second at a million triples), so servers call them in threads, and each thread
    reads through its own connection: through one shared connection, SQLite would hold every
    other search behind such a read."""

    path: Path
    space: str
    blank_names: int = 0  # names of blank nodes, left out of the table
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @classmethod
    def open(cls, directory: str | Path | None, keys: KeyMaker | None) -> NameTable | None:
        """The table beside a build, or None when there is none or it was made with other keys
        (with no keys, for its names only: any keys will do)."""
        if directory is None or not (path := Path(directory) / NAME_TABLE_FILE).is_file():
            return None
        with contextlib.closing(read_only(path)) as db:
            meta = dict(db.execute("SELECT name, value FROM meta"))
        revision = meta.get("revision", "")
        current = revision == revision_of(keys) if keys is not None else revision.startswith(f"{LAYOUT_REVISION}/")
        if not current or "space" not in meta:
            return None
        return cls(path, meta["space"], int(meta.get("blank_names", 0)))

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened at its first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = read_only(self.path)
        return db

    def _iris(self, rows: Iterable[tuple[str]]) -> list[str]:
        return [unpacked(self.space, text) for (text,) in rows]

    def exact(self, keys: Iterable[str], limit: int) -> list[str]:
        """Things with one of the keys as a name, variant or government key."""
        wanted = sorted({key.replace(" ", "") for key in keys})[:MAX_TERMS]
        if not wanted:
            return []
        rows = self.db.execute(
            f"SELECT DISTINCT t.iri FROM keys k JOIN things t ON t.id = k.thing "
            f"WHERE k.kind IN (0, 1, 2) AND k.key IN ({_marks(len(wanted))}) LIMIT ?",
            (*wanted, limit),
        )
        return self._iris(rows)

    def sharing(self, words: Iterable[str], beginning: str, limit: int, breadth: int = 5_000) -> list[str]:
        """Things sharing the most words with a query, or whose compact name or variant begins with
        `beginning` (counted as one word), most first, and among those first the things a word
        names outright (a name or variant key); at most `breadth` rows of each kind read."""
        wanted = sorted(words)[:MAX_TERMS]
        parts, parameters = [], []
        if wanted:
            words_in = f"kind IN (0, 1, 3) AND key IN ({_marks(len(wanted))})"
            parts.append(f"SELECT thing, key AS t, kind < 3 AS named FROM keys WHERE {words_in} LIMIT ?")
            parameters += [*wanted, breadth]
        if beginning:
            parts.append(
                "SELECT thing, '' AS t, 0 AS named FROM keys WHERE kind IN (0, 1) AND key >= ? AND key < ? LIMIT ?"
            )
            parameters += [beginning, beginning + "\U0010ffff", breadth]
        if not parts:
            return []
        union = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts)
        rows = self.db.execute(
            f"SELECT t.iri FROM (SELECT thing, COUNT(DISTINCT t) AS n, MAX(named) AS named FROM ({union}) "
            f"GROUP BY thing ORDER BY n DESC, named DESC LIMIT ?) c JOIN things t ON t.id = c.thing "
            f"ORDER BY c.n DESC, c.named DESC",
            (*parameters, limit),
        )
        return self._iris(rows)

    def keys_of(self, iris: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """The name, variant and government keys of each thing: IRI -> [(predicate, key)]."""
        found: dict[str, list[tuple[str, str]]] = {}
        wanted = sorted({packed(self.space, iri) for iri in iris})
        for start in range(0, len(wanted), MAX_TERMS):
            chunk = wanted[start : start + MAX_TERMS]
            rows = self.db.execute(f"SELECT iri, keys FROM own WHERE iri IN ({_marks(len(chunk))})", chunk)
            for text, keys in rows:
                found[unpacked(self.space, text)] = spelled(keys)
        return found

    def containing(self, text: str, limit: int) -> list[str]:
        """Things with a name that contains the text, ignoring case (pieces of words, ontology terms):
        found by the trigram index from three characters on, by a scan (cut off at `limit`) below."""
        needle = text.lower()
        things: list[int] = []
        for _name, thing in self._names_holding(needle, indexed_only=False) or ():
            if thing not in things:
                things.append(thing)
                if len(things) >= limit:
                    break
        return self._iris_of_things(things)

    def subjects_containing(self, piece: str, most: int) -> list[str] | None:
        """Every IRI with a name that holds `piece` once lowered (as `CONTAINS(LCASE(?name), piece)`
        holds), in no order; None when the index cannot say at a lookup's cost: a piece with no run
        of three characters to look up, more than `most` such IRIs, or names of blank nodes, which
        the table leaves out."""
        if self.blank_names:
            return None
        found: dict[int, None] = {}
        rows = self._names_holding(piece, indexed_only=True)
        if rows is None:
            return None
        for _name, thing in rows:
            found[thing] = None
            if len(found) > most:
                return None
        return self._iris_of_things(list(found))

    def _iris_of_things(self, things: list[int]) -> list[str]:
        """The IRIs of things by their numbers, MAX_TERMS numbers to a statement."""
        iris: list[str] = []
        for start in range(0, len(things), MAX_TERMS):
            chunk = things[start : start + MAX_TERMS]
            iris += self._iris(self.db.execute(f"SELECT iri FROM things WHERE id IN ({_marks(len(chunk))})", chunk))
        return iris

    def _names_holding(self, needle: str, indexed_only: bool) -> Iterator[tuple[str, int]] | None:
        """(name, thing) of the names that hold `needle` as it is (the names are in lower case):
        through the trigram index when the needle has a run of three characters without LIKE's
        wildcards, else by reading every name (None instead when `indexed_only`)."""
        if not needle:
            return iter(())
        # No ESCAPE clause: with one, the trigram index is not used (a scan, a second at ten million
        # names); so the pattern is the longest piece of the text without LIKE's wildcards, and the
        # check below keeps the names that hold the whole text (LIKE ignores case in ASCII only:
        # it finds more than the check keeps, never fewer).
        piece = max(re.split("[%_]", needle), key=len)
        if len(piece) >= TRIGRAM:
            rows = self.db.execute("SELECT name, thing FROM names WHERE name LIKE ?", [f"%{piece}%"])
        elif indexed_only:
            return None
        else:
            rows = self.db.execute("SELECT name, thing FROM names WHERE instr(name, ?) > 0", [needle])
        return ((name, thing) for name, thing in rows if needle in name)
