"""The fan-outs a build counts for the lookup lane (server.store.fan_outs): what they are, that
`sistercities load` and the curated build keep them beside the build, and that the lane then
bounds lookups with them without counting anything itself."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox

from server.query.lane import FanOuts
from server.settings import Settings
from server.store.build import ensure_disk_store
from server.store.dataset import Dataset
from server.store.fan_outs import ANY_PREDICATE, FAN_OUTS_FILE, count_fan_outs, read_fan_outs, save_fan_outs
from server.store.location import StoreLocation

EX = "http://example.org/"
PARTY, LABEL, NAMED = f"{EX}party", f"{EX}label", f"{EX}only-in-a-named-graph"


def store_of(quads: list[ox.Quad]) -> ox.Store:
    store = ox.Store()
    store.extend(quads)
    return store


DEFAULT = ox.DefaultGraph()


def triple(s: str, p: str, o: ox.NamedNode | ox.Literal, graph: ox.NamedNode | ox.DefaultGraph = DEFAULT) -> ox.Quad:
    return ox.Quad(ox.NamedNode(s), ox.NamedNode(p), o, graph)


# Three agreements with place x as a party, one with place y; agreement a0 has 3 labels.
QUADS = [triple(f"{EX}a{i}", PARTY, ox.NamedNode(f"{EX}x")) for i in range(3)]
QUADS += [triple(f"{EX}a3", PARTY, ox.NamedNode(f"{EX}y"))]
QUADS += [triple(f"{EX}a0", LABEL, ox.Literal(f"name {i}")) for i in range(3)]
QUADS += [triple(f"{EX}a{i}", NAMED, ox.NamedNode(f"{EX}z"), ox.NamedNode(f"{EX}g")) for i in range(9)]


def test_the_most_values_per_subject_and_subjects_per_value_of_every_predicate_and_of_any() -> None:
    assert count_fan_outs(store_of(QUADS)) == {
        ("out", PARTY): 1,
        ("in", PARTY): 3,
        ("out", LABEL): 3,
        ("in", LABEL): 1,
        ("out", ANY_PREDICATE): 4,  # a0: a party and three labels
        ("in", ANY_PREDICATE): 3,
    }, "the default graph only: the named graph's predicate is not there"


def test_kept_whole_and_read_back(tmp_path: Path) -> None:
    table = count_fan_outs(store_of(QUADS))
    save_fan_outs(tmp_path, table)
    assert read_fan_outs(tmp_path) == table
    assert [p.name for p in tmp_path.iterdir()] == [FAN_OUTS_FILE], "no temporary file left"
    assert read_fan_outs(tmp_path / "nowhere") is None
    (tmp_path / FAN_OUTS_FILE).write_text("[[1, 2]]")
    assert read_fan_outs(tmp_path) is None, "an unreadable table is none"


def test_with_the_builds_table_the_lane_counts_nothing() -> None:
    store = store_of(QUADS)
    with ThreadPoolExecutor(max_workers=1) as counter:
        counted = FanOuts(store, counter, count_fan_outs(store))
        assert counted.get("in", PARTY) == 3 and counted.get("out", ANY_PREDICATE) == 4
        assert counted.get("out", NAMED) == 0, "a predicate the table lacks has no triple in the default graph"
        assert counted.asked == set()
        uncounted = FanOuts(store, counter)
        assert uncounted.get("in", PARTY) is None, "without a table: counted in the background"
        assert uncounted.asked == {("in", PARTY)}


def test_sistercities_load_keeps_them_beside_the_build(tmp_path: Path) -> None:
    data = tmp_path / "data.nq"
    data.write_bytes(ox.serialize(QUADS, format=ox.RdfFormat.N_QUADS))
    result = subprocess.run(
        [sys.executable, "-m", "server", "load", "--store", str(tmp_path / "store"), str(data)],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    kept = read_fan_outs(StoreLocation(tmp_path / "store").current().path)
    assert kept is not None and kept[("in", PARTY)] == 3 and kept[("out", ANY_PREDICATE)] == 4


def test_the_curated_build_keeps_them_beside_it(tmp_path: Path) -> None:
    build = ensure_disk_store(Dataset.from_settings(Settings(validate_on_load=False)), tmp_path / "store")
    kept = read_fan_outs(build.path)
    assert kept is not None
    assert kept[("out", "http://www.w3.org/2004/02/skos/core#prefLabel")] >= 4, "names in four languages"
