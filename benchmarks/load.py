"""Loading a dataset and restarting on it: `sistercities load` and `serve` against `oxigraph load`
and `oxigraph serve`, side by side in one run.

    python benchmarks/load.py [--triples 1000000] [--rounds 3] [--parts]

The data are the generated twinning dataset (benchmarks/generate.py) written as one N-Triples
file, as a user's dump would be. Each round loads the same file with both tools into fresh
directories, one after the other (the order alternates between rounds, so that the machine's
drift falls on both alike), then starts each server on its store and times the first answer to
a query. Our load is timed twice: until its data are live (the store's LIVE pointer switches, and
the server answers from the new data) and until the command ends, having counted the statistics of
the live build for VoID and the home page. With --parts, our load is also timed without the
statistics and with the name index, to show where the time goes. Figures are medians over the
rounds; the table marks the targets (loading at most 1.2 times `oxigraph load`, the first answer
after a restart within a second) and the results are written to
benchmarks/results/load-{triples}.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from server import running  # noqa: E402

OXIGRAPH = Path(sys.executable).with_name("oxigraph")
WORK = HERE / ".work"
ASK = "ASK { ?s ?p ?o }"


# The generator's --triples is the size of the server's merged graph once it has derived its links;
# the files it writes hold about 85% of that, and a load derives nothing.
WRITTEN_SHARE = 0.85


def dataset(triples: int) -> Path:
    """The generated dataset as one N-Triples file of about `triples` lines (made once per size)."""
    folder = WORK / f"load-{triples}"
    data = folder / "data.nt"
    if data.exists():
        return data
    turtle = folder / "turtle"
    target = str(round(triples / WRITTEN_SHARE))
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(turtle), "--triples", target], check=True)
    with data.open("wb") as out:
        for path in sorted(turtle.glob("*.ttl")):
            ox.serialize((q.triple for q in ox.parse(path=path)), out, format=ox.RdfFormat.N_TRIPLES)
    shutil.rmtree(turtle)
    return data


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def timed_until_live(command: list[str], store: Path) -> tuple[float, float]:
    """Seconds until the store's LIVE pointer appears (the data answer queries from then on) and
    until the command ends (after it has counted the statistics of the live build)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    live = None
    while process.poll() is None:
        if live is None and (store / "LIVE").exists():
            live = time.perf_counter() - started
        time.sleep(0.01)
    ended = time.perf_counter() - started
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return (live if live is not None else ended), ended


def line_count(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def disk_use(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def first_answer_ours(store: Path) -> float:
    """From `sistercities serve` to the first answer of the endpoint."""
    started = time.perf_counter()
    env = {**os.environ, "SISTERCITIES_CACHE_DIR": str(store.parent / "cache")}
    process, url = running.start_server(running.serve_command("--store", str(store), "--no-validate"), env, 120)
    try:
        running.wait_until_ready(f"{url}/sparql?query={quote(ASK)}", process, 120)
        return time.perf_counter() - started
    finally:
        running.stop(process)


def first_answer_oxigraph(store: Path) -> float:
    """From `oxigraph serve-read-only` to the first answer of its endpoint."""
    started = time.perf_counter()
    port = running.free_port()
    command = [str(OXIGRAPH), "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        running.wait_until_ready(f"http://127.0.0.1:{port}/query?query={quote(ASK)}", process, 120)
        return time.perf_counter() - started
    finally:
        running.stop(process)


def load_round(data: Path, round_number: int, work: Path, parts: bool) -> dict[str, float]:
    """One round: both loads (in alternating order), then both restarts."""
    ours, theirs = work / f"ours-{round_number}", work / f"oxigraph-{round_number}"
    order = ["ours", "oxigraph"] if round_number % 2 == 0 else ["oxigraph", "ours"]
    figures: dict[str, float] = {}
    for name in order:
        if name == "ours":
            command = [sys.executable, "-m", "server", "load", "--store", str(ours), str(data)]
            figures["load ours"], figures["load ours with statistics"] = timed_until_live(command, ours)
        else:
            figures["load oxigraph"] = timed([str(OXIGRAPH), "load", "--location", str(theirs), "--file", str(data)])
    if parts:
        plain, indexed = work / f"plain-{round_number}", work / f"indexed-{round_number}"
        base = [sys.executable, "-m", "server", "load"]
        figures["load ours --no-statistics"] = timed([*base, "--store", str(plain), "--no-statistics", str(data)])
        figures["load ours --name-index"] = timed([*base, "--store", str(indexed), "--name-index", str(data)])
    figures["disk ours"] = disk_use(ours)
    figures["disk oxigraph"] = disk_use(theirs)
    restarts = {"ours": lambda: first_answer_ours(ours), "oxigraph": lambda: first_answer_oxigraph(theirs)}
    for name in order:
        figures[f"restart {name}"] = restarts[name]()
    return figures


def report(rounds: list[dict[str, float]], triples: int) -> dict:
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    ratio_load = median["load ours"] / median["load oxigraph"]
    lines = [
        f"{triples:,} triples, {len(rounds)} rounds, medians",
        f"{'':34}{'ours':>10}{'oxigraph':>10}{'ratio':>8}  target",
        f"{'load, to live data (s)':34}{median['load ours']:10.2f}{median['load oxigraph']:10.2f}{ratio_load:8.2f}  "
        f"<= 1.20 {'met' if ratio_load <= 1.2 else 'MISSED'}",
        f"{'restart to the first answer (s)':34}{median['restart ours']:10.2f}{median['restart oxigraph']:10.2f}"
        f"{median['restart ours'] / median['restart oxigraph']:8.2f}  ours < 1 s "
        f"{'met' if median['restart ours'] < 1 else 'MISSED'}",
        f"{'disk (MB)':34}{median['disk ours'] / 1e6:10.0f}{median['disk oxigraph'] / 1e6:10.0f}"
        f"{median['disk ours'] / median['disk oxigraph']:8.2f}",
    ]
    for key in ("load ours with statistics", "load ours --no-statistics", "load ours --name-index"):
        if key in median:
            lines.append(f"{key + ' (s)':34}{median[key]:10.2f}{'':10}{median[key] / median['load oxigraph']:8.2f}")
    print("\n".join(lines))
    return {"median": median, "rounds": rounds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--parts", action="store_true", help="also time our load without statistics and with the name index"
    )
    args = parser.parse_args()
    data = dataset(args.triples)
    work = WORK / f"load-{args.triples}" / "runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        rounds = [load_round(data, n, work, args.parts) for n in range(args.rounds)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "command": "python benchmarks/load.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "triples": line_count(data),
        "bytes": data.stat().st_size,
        **report(rounds, line_count(data)),
    }
    out = HERE / "results" / f"load-{args.triples}.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
