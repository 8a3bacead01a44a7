"""The figures of issue 12 at one size, side by side with oxigraph, from one command:

    python benchmarks/scale.py --triples 10000000 --work /tmp/tenm [--rounds 3] [--keep]

On the generated dataset as one N-Triples file (benchmarks/load.py makes it once per size, here
under --work): `sistercities load` against `oxigraph load` (until live, until the statistics and
the search index are written), the disk both use, the first answer after a restart (median of
--rounds), then on a started server: the first home page, resource page and search after a start
against later ones, resource pages p50 for ordinary places and for the biggest hub, search p50
with the search index and without it (the file moved aside: the scan of every name it replaces),
and the memory (PSS) of each of our processes, by role, against `oxigraph serve-read-only`'s after
the same lookups. Prints the table with each target marked met or not, with the load average,
and writes benchmarks/results/scale-{triples}.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import load as load_bench  # noqa: E402

from server import running  # noqa: E402
from server.store.location import StoreLocation  # noqa: E402
from server.store.name_table import NAME_TABLE_FILE  # noqa: E402
from server.uris import local_url  # noqa: E402

BASE = "https://w3id.org/sistercities/"
SC = BASE + "ontology#"
PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
GRAPH = BASE + "graph/generated"  # pages show what named graphs say, with their sources
SAMPLES = 40  # pages and searches per kind
LATER = 20  # requests after the first, for "as fast as later ones"


def ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def timed_get(http: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = http.get(path, headers={"Accept": "text/html"})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return elapsed


# --- What to ask for, read from the store -----------------------------------------------------------


def sample_things(store: ox.Store, rng: random.Random) -> dict[str, list[str]]:
    """Ordinary places, the biggest hub (the place party to the most agreements) and names to search."""
    cities = [
        (row["c"].value, row["n"].value)
        for row in store.query(
            f"SELECT ?c ?n WHERE {{ GRAPH ?g {{ ?c a <{SC}City> ; <{PREF_LABEL}> ?n }} FILTER(LANG(?n) = 'en') }} "
            "LIMIT 20000"
        )
    ]
    picked = rng.sample(cities, min(SAMPLES, len(cities)))
    hub = next(
        iter(
            store.query(
                f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?a <{SC}party> ?p }} }} "
                "GROUP BY ?p ORDER BY DESC(?n) LIMIT 1"
            )
        )
    )
    names = [name for _, name in picked]
    searches = names[: SAMPLES // 4]
    searches += [n[:1] + n[2:] for n in names[SAMPLES // 4 : SAMPLES // 2]]  # a letter left out
    searches += [n[:5] for n in names[SAMPLES // 2 : 3 * SAMPLES // 4]]  # a beginning
    searches += [f"{a} {b}" for a, b in zip(names[3 * SAMPLES // 4 :], names, strict=False)]  # two names
    return {"places": [iri for iri, _ in picked], "hub": [hub["p"].value], "searches": searches}


# --- Memory ----------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def role(pid: int, parent_children: list[int]) -> str:
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    if b"resource_tracker" in command:
        return "resource tracker"
    if children(pid):
        return "query zygote"
    return "validation worker"


def memory_by_process(root: int) -> list[tuple[str, int, float]]:
    """(role, pid, PSS in MB) of our server's processes: the HTTP process, the zygote and the query
    workers it forks, the validation workers and multiprocessing's resource tracker."""
    rows = [("HTTP process", root, pss_mb(root))]
    for pid in children(root):
        rows.append((role(pid, children(root)), pid, pss_mb(pid)))
        rows += [("query worker", worker, pss_mb(worker)) for worker in children(pid)]
    return rows


# --- Runs ------------------------------------------------------------------------------------------


def loads(data: Path, work: Path) -> dict[str, float]:
    """Both loads of the file into one named graph (our pages show what named graphs say)."""
    ours, theirs = work / "ours", work / "oxigraph"
    shutil.rmtree(ours, ignore_errors=True)
    shutil.rmtree(theirs, ignore_errors=True)
    oxigraph = [str(load_bench.OXIGRAPH), "load", "--location", str(theirs), "--file", str(data), "--graph", GRAPH]
    figures = {"load oxigraph": load_bench.timed(oxigraph)}
    command = [sys.executable, "-m", "server", "load", "--store", str(ours), "--graph", GRAPH, str(data)]
    live, ended = load_bench.timed_until_live(command, ours)
    figures["load ours"], figures["load ours with statistics and search index"] = live, ended
    return figures


def start_ours(store: Path, work: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "SISTERCITIES_CACHE_DIR": str(work / "cache")}
    command = running.serve_command("--store", str(store), "--no-validate", "--result-cache-bytes", "0")
    process, url = running.start_server(command, env, 300)
    running.wait_until_ready(f"{url}/sparql?query={quote(load_bench.ASK)}", process, 300)
    return process, url


def first_and_later(http: httpx.Client, path: str) -> tuple[float, float]:
    first = timed_get(http, path)
    return first * 1000, ms([timed_get(http, path) for _ in range(LATER)])


def served(store: Path, work: Path, asked: dict[str, list[str]]) -> dict:
    """Figures of one started server: first requests, pages, search, memory."""
    process, url = start_ours(store, work)
    figures: dict = {}
    try:
        with httpx.Client(base_url=url, timeout=300) as http:
            place = local_url(BASE, asked["places"][0])
            for name, path in (("home", "/"), ("page", place), ("search", "/search?q=" + quote(asked["searches"][0]))):
                figures[f"first {name} after start (ms)"], figures[f"later {name} p50 (ms)"] = first_and_later(
                    http, path
                )
            figures["page p50, ordinary place (ms)"] = ms(
                [timed_get(http, local_url(BASE, i)) for i in asked["places"]]
            )
            hub = local_url(BASE, asked["hub"][0])
            timed_get(http, hub)
            figures["page p50, biggest hub (ms)"] = ms([timed_get(http, hub) for _ in range(LATER)])
            figures["search p50 (ms)"] = ms([timed_get(http, "/search?q=" + quote(q)) for q in asked["searches"]])
        figures["memory"] = memory_by_process(process.pid)
    finally:
        running.stop(process)
    return figures


def search_without_index(store: Path, work: Path, asked: dict[str, list[str]], count: int) -> float:
    """Search p50 with the index moved aside: the scan of every name that it replaces."""
    table = StoreLocation(store).current().path / NAME_TABLE_FILE
    aside = table.with_suffix(".aside")
    table.rename(aside)
    try:
        process, url = start_ours(store, work)
        try:
            with httpx.Client(base_url=url, timeout=600) as http:
                return ms([timed_get(http, "/search?q=" + quote(q)) for q in asked["searches"][:count]])
        finally:
            running.stop(process)
    finally:
        aside.rename(table)


def oxigraph_memory(store: Path, asked: dict[str, list[str]]) -> float:
    """PSS of `oxigraph serve-read-only` after describing the same things the pages showed."""
    port = running.free_port()
    command = [str(load_bench.OXIGRAPH), "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/query"
        running.wait_until_ready(f"{url}?query={quote(load_bench.ASK)}", process, 120)
        with httpx.Client(timeout=300) as http:
            for iri in [*asked["places"], *asked["hub"]]:
                http.get(url, params={"query": f"DESCRIBE <{iri}>"})
                http.get(url, params={"query": f"SELECT * WHERE {{ ?s ?p <{iri}> }} LIMIT 100"})
        return pss_mb(process.pid)
    finally:
        running.stop(process)


def restarts(work: Path, rounds: int) -> dict[str, float]:
    ours = [load_bench.first_answer_ours(work / "ours") for _ in range(rounds)]
    theirs = [load_bench.first_answer_oxigraph(work / "oxigraph") for _ in range(rounds)]
    return {"restart ours (s)": statistics.median(ours), "restart oxigraph (s)": statistics.median(theirs)}


# --- The table -------------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def table(f: dict) -> list[str]:
    lines = [f"{'':44}{'ours':>10}{'oxigraph':>10}{'ratio':>8}  target"]

    def row(label: str, ours: float, theirs: float | None, target: str, met: bool | None) -> None:
        ratio = f"{ours / theirs:8.2f}" if theirs else f"{'':8}"
        other = f"{theirs:10.2f}" if theirs is not None else f"{'':10}"
        lines.append(f"{label:44}{ours:10.2f}{other}{ratio}  {target} {'' if met is None else verdict(met)}")

    if "load ours" in f:
        ratio = f["load ours"] / f["load oxigraph"]
        row("load, to live data (s)", f["load ours"], f["load oxigraph"], "<= 1.2x", ratio <= 1.2)
        full = f["load ours with statistics and search index"]
        row("load, with statistics and search index (s)", full, f["load oxigraph"], "", None)
    disk = f["disk ours (MB)"] / f["disk oxigraph (MB)"]
    row("disk (MB)", f["disk ours (MB)"], f["disk oxigraph (MB)"], "<= 1.5x", disk <= 1.5)
    row("  of which the search index (MB)", f["search index (MB)"], None, "", None)
    row(
        "restart to the first answer (s)",
        f["restart ours (s)"],
        f["restart oxigraph (s)"],
        "< 1 s",
        f["restart ours (s)"] < 1,
    )
    for name in ("home", "page", "search"):
        first, later = f[f"first {name} after start (ms)"], f[f"later {name} p50 (ms)"]
        row(
            f"first {name} after start vs later p50 (ms)",
            first,
            None,
            f"later {later:.1f} ms",
            first <= max(3 * later, later + 50),
        )
    row(
        "page p50, ordinary place (ms)",
        f["page p50, ordinary place (ms)"],
        None,
        "< 10 ms",
        f["page p50, ordinary place (ms)"] < 10,
    )
    row(
        "page p50, biggest hub (ms)",
        f["page p50, biggest hub (ms)"],
        None,
        "< 50 ms",
        f["page p50, biggest hub (ms)"] < 50,
    )
    row("search p50, with the index (ms)", f["search p50 (ms)"], None, "", None)
    if "search p50 without the index (ms)" in f:
        row("search p50, scanning the names (ms)", f["search p50 without the index (ms)"], None, "", None)
    limit = f["oxigraph PSS (MB)"] + 100 * len(f["memory"])
    total = sum(mb for _, _, mb in f["memory"])
    row("memory, PSS of all our processes (MB)", total, f["oxigraph PSS (MB)"], f"<= {limit:.0f}", total <= limit)
    for name, pid, mb in f["memory"]:
        lines.append(f"  {name} ({pid}){'':<{max(0, 30 - len(name) - len(str(pid)))}}{mb:10.1f}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=10_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tenm"), help="data and stores (outside the repo)")
    parser.add_argument("--rounds", type=int, default=3, help="restarts of each server")
    parser.add_argument("--skip-load", action="store_true", help="reuse the stores of the last run in --work")
    parser.add_argument("--unindexed-searches", type=int, default=10, help="searches timed without the index")
    args = parser.parse_args()
    load_bench.WORK = args.work
    data = load_bench.dataset(args.triples)
    work = args.work / f"scale-{args.triples}"
    work.mkdir(parents=True, exist_ok=True)
    load_averages = [os.getloadavg()[0]]
    figures: dict = {} if args.skip_load else loads(data, work)
    load_averages.append(os.getloadavg()[0])
    store = work / "ours"
    build = StoreLocation(store).current().path
    figures["disk ours (MB)"] = load_bench.disk_use(store / "builds" / build.name) / 1e6
    figures["disk oxigraph (MB)"] = load_bench.disk_use(work / "oxigraph") / 1e6
    figures["search index (MB)"] = (build / NAME_TABLE_FILE).stat().st_size / 1e6
    reader = ox.Store.read_only(str(build))
    asked = sample_things(reader, random.Random(42))
    del reader
    figures |= restarts(work, args.rounds)
    load_averages.append(os.getloadavg()[0])
    figures |= served(store, work, asked)
    figures["oxigraph PSS (MB)"] = oxigraph_memory(work / "oxigraph", asked)
    if args.unindexed_searches:
        figures["search p50 without the index (ms)"] = search_without_index(store, work, asked, args.unindexed_searches)
    load_averages.append(os.getloadavg()[0])
    lines = [
        f"{load_bench.line_count(data):,} triples; load average {min(load_averages):.1f}-{max(load_averages):.1f}",
        *table(figures),
    ]
    print("\n".join(lines))
    results = {
        "command": "python benchmarks/scale.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_averages": load_averages,
        "asked": asked,
        "figures": figures,
        "table": lines,
    }
    out = HERE / "results" / f"scale-{args.triples}.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
