"""Virtuoso beside ours and `oxigraph serve` in benchmarks/bench.py: setting it up (and our
server over it, remote mode), the side-by-side table of every target, and the issue's targets
marked met / not met. Kept out of bench.py, which measures; this module knows Virtuoso.

Virtuoso answers over the same dataset as the others: the dump's default graph is loaded into
virtuoso.DEFAULT_GRAPH and every request names it as `default-graph-uri` (none of the mix's
queries uses GRAPH ?g); our server over Virtuoso does the same with `--sparql-default-graph`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import virtuoso

# Kinds whose answers a peer gives differently by design, with the reason printed: the figures are
# still measured (the peer does its own, larger, work), the answers are not counted as mismatches.
KNOWN_DIFFERENCES = {
    "virtuoso": {
        "describe": "Virtuoso's DESCRIBE also gives the triples where the resource is the object "
        "(oxigraph's gives those where it is the subject, and blank nodes below them)",
    },
}
KNOWN_DIFFERENCES["ours over virtuoso"] = KNOWN_DIFFERENCES["virtuoso"]

# The issue's targets (#12), at concurrency 8.
LIGHT_KINDS = ("point", "ask", "twins_out", "twins_in", "describe", "construct")
LIGHT_TARGET = 0.5  # each light kind, ours / oxigraph serve
MIX_TARGET = 1.0  # the mix, ours / oxigraph serve (cache off)
CACHED_MIX_TARGET = 1.0  # the mix with our result cache on, ours / Virtuoso
REMOTE_TARGET = 0.8  # the mix, ours over Virtuoso (cache off) / Virtuoso directly
KIND_ESTIMATE = "concurrency / mean latency within the mix, by Little's law"
CACHED = "ours cached"  # our server with its result cache on, beside the others with --zipf
ORDER = ("ours", CACHED, "oxigraph", "virtuoso", "ours over virtuoso")


def available(install: bool) -> str | None:
    """None when Virtuoso can run, else why it is skipped; installs it first with `install`."""
    if virtuoso.installed():
        return None
    if install:
        virtuoso.install()
        return None if virtuoso.installed() else f"apt-get install {virtuoso.PACKAGE} did not give {virtuoso.SERVER}"
    return (
        f"Virtuoso is skipped: {virtuoso.SERVER} is not installed (Debian's {virtuoso.PACKAGE}); "
        "pass --install-peers to install it"
    )


@dataclass
class VirtuosoSetup:
    """Virtuoso's database for one dataset, kept between runs while the data version is the same."""

    directory: Path
    version: str
    load_seconds: float | None = None  # bulk load + checkpoint, when loaded in this run

    @property
    def stamp(self) -> Path:
        return self.directory.parent / "virtuoso.version"

    def current(self) -> bool:
        return self.stamp.is_file() and self.stamp.read_text().strip() == self.version

    def load(self, dump: Path, memory_bytes: int) -> None:
        """A fresh database loaded with `dump` (bulk loader, then checkpoint), then stopped."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.stamp.unlink(missing_ok=True)
        store = virtuoso.start(self.directory, memory_bytes)
        try:
            self.load_seconds = round(virtuoso.load_nquads(store, dump), 2)
        finally:
            store.stop()
        self.stamp.write_text(self.version + "\n")

    def start(self, memory_bytes: int) -> tuple[virtuoso.Virtuoso, float]:
        """Start on the loaded database; returns it and the seconds to its first SPARQL answer."""
        started = time.perf_counter()
        store = virtuoso.start(self.directory, memory_bytes)
        try:
            virtuoso.wait_for_sparql(store)
        except BaseException:
            store.stop()
            raise
        return store, round(time.perf_counter() - started, 2)


def query_params() -> str:
    """What every request to Virtuoso's /sparql carries before `query=`: the dataset."""
    return f"default-graph-uri={quote(virtuoso.DEFAULT_GRAPH, safe='')}&"


def remote_options(endpoint: str) -> list[str]:
    """Options of `sistercities serve` over Virtuoso: remote mode, every request evaluated."""
    return [
        "--sparql-endpoint",
        endpoint,
        "--sparql-default-graph",
        virtuoso.DEFAULT_GRAPH,
        "--result-cache-bytes",
        "0",
    ]


def expected_difference(target: str, kind: str) -> str | None:
    return KNOWN_DIFFERENCES.get(target, {}).get(kind)


# --- The table of every target and the targets of the issue ---------------------------------


def fmt(value: object, digits: int = 2) -> str:
    """A figure for the tables (bench.py's too): "-" when there is none."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def throughput(figures: dict, kind: str, target: str) -> float | None:
    return figures.get("rows", {}).get(kind, {}).get(target, {}).get("throughput_rps")


def print_side_by_side(peer_figures: dict, out) -> None:
    """Per concurrency: each kind's throughput on every target, with the ratios the issue asks."""
    for conc, figures in peer_figures.items():
        names = [n for n in ORDER if n in figures["targets"]]
        head = f"{'c=' + conc:<5} {'kind':<13}" + "".join(f" {n + ' r/s':>22}" for n in names)
        head += f" {'ours/oxi':>9} {'ours/virt':>9}" + (
            f" {'remote/virt':>11}" if "ours over virtuoso" in names else ""
        )
        out.write(head + "\n")
        for kind, row in figures["rows"].items():
            throughputs = (fmt(row.get(n, {}).get("throughput_rps"), 1) for n in names)
            line = f"{'':<5} {kind:<13}" + "".join(f" {value:>22}" for value in throughputs)
            line += f" {fmt(ratio_of(row, 'ours', 'oxigraph'), 2):>9} {fmt(ratio_of(row, 'ours', 'virtuoso'), 2):>9}"
            if "ours over virtuoso" in names:
                line += f" {fmt(ratio_of(row, 'ours over virtuoso', 'virtuoso'), 2):>11}"
            out.write(line + "\n")
        out.write(f"      (kinds: {KIND_ESTIMATE})\n")
        p50 = {n: figures["rows"]["mix"].get(n, {}).get("p50_ms") for n in names}
        out.write("      mix p50 (ms): " + ", ".join(f"{n} {fmt(v, 3)}" for n, v in p50.items()) + "\n")
        cpu = figures.get("cpu_ms_per_request", {})
        out.write("      CPU per request (ms): " + ", ".join(f"{n} {fmt(cpu.get(n), 3)}" for n in names) + "\n")
        if any(figures.get("errors", {}).values()):
            out.write(f"      ERRORS: {figures['errors']}\n")


def ratio_of(row: dict, a: str, b: str) -> float | None:
    return ratio(row.get(a, {}).get("throughput_rps"), row.get(b, {}).get("throughput_rps"))


def markdown_side_by_side(peer_figures: dict) -> list[str]:
    lines = []
    for conc, figures in peer_figures.items():
        names = [n for n in ORDER if n in figures["targets"]]
        remote = "ours over virtuoso" in names
        lines.append(f"\nConcurrency {conc}, requests per second (the mix measured; kinds: {KIND_ESTIMATE}):\n")
        lines.append(
            "| kind | "
            + " | ".join(names)
            + " | ours / oxigraph | ours / Virtuoso |"
            + (" ours over Virtuoso / Virtuoso |" if remote else "")
        )
        lines.append("|---|" + "---:|" * (len(names) + 2 + remote))
        for kind, row in figures["rows"].items():
            cells = [f"**{kind}**" if kind == "mix" else kind]
            cells += [fmt(row.get(n, {}).get("throughput_rps"), 1) for n in names]
            cells += [fmt(ratio_of(row, "ours", "oxigraph"), 2), fmt(ratio_of(row, "ours", "virtuoso"), 2)]
            if remote:
                cells.append(fmt(ratio_of(row, "ours over virtuoso", "virtuoso"), 2))
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def kinds_alone_rows(alone: dict) -> tuple[list[str], list[list[str]]]:
    """Each light kind on its own: every server's requests per second and CPU per request."""
    kinds = alone["kinds"]
    names = [n for n in ORDER if any(n in figures for figures in kinds.values())]
    rows = []
    for kind, figures in kinds.items():
        cells = [kind] + [fmt(figures.get(n, {}).get("throughput_rps"), 1) for n in names]
        cells += [fmt(ratio_of(figures, "ours", "oxigraph"), 2), fmt(ratio_of(figures, "ours", "virtuoso"), 2)]
        cells.append(" / ".join(fmt(figures.get(n, {}).get("cpu_ms_per_request"), 3) for n in names))
        rows.append(cells)
    return names, rows


def print_kinds_alone(alone: dict, out) -> None:
    names, rows = kinds_alone_rows(alone)
    out.write(f"each light kind on its own, c={alone['concurrency']} (requests per second, measured):\n")
    out.write(f"      {'kind':<13}" + "".join(f" {n + ' r/s':>22}" for n in names))
    out.write(f" {'ours/oxi':>9} {'ours/virt':>9}  CPU ms per request ({' / '.join(names)})\n")
    for cells in rows:
        out.write(f"      {cells[0]:<13}" + "".join(f" {c:>22}" for c in cells[1:-3]))
        out.write(f" {cells[-3]:>9} {cells[-2]:>9}  {cells[-1]}\n")
    sentence = others_sentence(alone)
    if sentence:
        out.write(f"      {sentence}\n")


def others_during(alone: dict) -> dict[str, float]:
    """Per server, the largest share of the CPUs that processes other than it and the client took
    during its runs of a light kind (Virtuoso's, for our server over it); none in older files."""
    busiest: dict[str, float] = {}
    for figures in alone["kinds"].values():
        for name, entry in figures.items():
            if "other_processes_cpu_pct" in entry:
                busiest[name] = max(busiest.get(name, 0.0), entry["other_processes_cpu_pct"])
    return busiest


def markdown_kinds_alone(alone: dict) -> list[str]:
    names, rows = kinds_alone_rows(alone)
    lines = [f"\nEach light kind on its own, concurrency {alone['concurrency']}, requests per second (measured):\n"]
    lines.append("| kind | " + " | ".join(names) + " | ours / oxigraph | ours / Virtuoso | CPU ms per request |")
    lines.append("|---|" + "---:|" * (len(names) + 3))
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    sentence = others_sentence(alone)
    if sentence:
        lines.append(f"\n{sentence[0].upper()}{sentence[1:]}.")
    return lines


def others_sentence(alone: dict) -> str:
    """The largest shares of others_during, as a sentence; empty for older results files."""
    busiest = others_during(alone)
    if not busiest:
        return ""
    shares = ", ".join(f"{name} {fmt(share, 1)}%" for name, share in busiest.items())
    text = f"other processes used at most, in any kind's runs of each server: {shares} of the CPUs"
    return text + (" (for ours over Virtuoso, Virtuoso among them)" if "ours over virtuoso" in busiest else "")


def verdict(value: float | None, goal: float) -> str:
    return "not measured" if value is None else ("met" if value >= goal else "not met")


def issue_targets(peer_figures: dict, cache_on: bool, alone: dict | None = None) -> list[dict]:
    """The issue's throughput targets at concurrency 8, each met / not met / not measured. The
    light kinds are judged on their runs on their own (`alone`, bench.measure_kinds_alone) when
    there are some, otherwise on their estimates within the mix. The cached mix is judged on "ours
    cached" (our server with its result cache on, run beside the others when the workload has
    realistic repeats, --zipf), since a workload drawn afresh repeats almost nothing."""
    figures = peer_figures.get("8", {})
    rows = figures.get("rows", {})
    marks = []

    def mark(what: str, value: float | None, goal: float, why_not: str = "", rounds: Sequence[float] = ()) -> None:
        entry = {"what": what, "value": value, "goal": f">= {goal}", "verdict": verdict(value, goal)}
        if value is None and why_not:
            entry["why_not_measured"] = why_not
        if len(rounds) > 1:
            entry["rounds"] = [min(rounds), max(rounds)]
            entry["rounds_straddle_goal"] = min(rounds) < goal <= max(rounds)
        marks.append(entry)

    mix = rows.get("mix", {})
    for kind in LIGHT_KINDS:
        if alone is not None and kind in alone:
            rounds = round_ratios(alone[kind], "ours", "oxigraph")
            what = f"{kind} alone: ours / oxigraph serve, c=8"
            mark(what, ratio_of(alone[kind], "ours", "oxigraph"), LIGHT_TARGET, rounds=rounds)
        elif kind in rows:
            estimate = ratio_of(rows[kind], "ours", "oxigraph")
            mark(f"{kind} within the mix (estimated): ours / oxigraph serve, c=8", estimate, LIGHT_TARGET)
    if cache_on:
        mark("mix, cache off: ours / oxigraph serve, c=8", None, MIX_TARGET, "this run had our result cache on")
    else:
        mark("mix, cache off: ours / oxigraph serve, c=8", ratio_of(mix, "ours", "oxigraph"), MIX_TARGET)
    cached = ratio_of(mix, CACHED, "virtuoso")
    why = "run with --zipf 1.0 (realistic repeats) and Virtuoso"
    mark("mix with realistic repeats, result cache on: ours / Virtuoso, c=8", cached, CACHED_MIX_TARGET, why)
    remote = ratio_of(mix, "ours over virtuoso", "virtuoso")
    mark("mix: ours over Virtuoso (remote mode) / Virtuoso, c=8", remote, REMOTE_TARGET, "run with --remote-virtuoso")
    return marks


def round_ratios(figures: dict, a: str, b: str) -> list[float]:
    """a's throughput over b's in each round of a kind on its own: the rounds alternate the
    servers' order, so round i of one ran beside round i of the other (none in older results files)."""
    ours = figures.get(a, {}).get("round_throughputs_rps", [])
    theirs = figures.get(b, {}).get("round_throughputs_rps", [])
    return [r for x, y in zip(ours, theirs, strict=False) if (r := ratio(x, y)) is not None]


def spread(mark: dict) -> str:
    """The rounds' range of a target's ratio, and whether they lie on both sides of the goal."""
    if "rounds" not in mark:
        return ""
    low, high = mark["rounds"]
    text = f", rounds {fmt(low, 3)}-{fmt(high, 3)}"
    return text + ("; the rounds lie on both sides of the target" if mark["rounds_straddle_goal"] else "")


def print_targets(marks: list[dict], out) -> None:
    for m in marks:
        extra = f" [{m['why_not_measured']}]" if "why_not_measured" in m else ""
        out.write(f"  {m['verdict']}: {m['what']} = {fmt(m['value'], 3)} (target {m['goal']}{spread(m)}){extra}\n")


def markdown_targets(marks: list[dict]) -> list[str]:
    lines = [""]
    for m in marks:
        extra = f" ({m['why_not_measured']})" if "why_not_measured" in m else ""
        value = f"{fmt(m['value'], 3)} (target {m['goal']}{spread(m)})"
        lines.append(f"- **{m['verdict']}**: {m['what']} = {value}{extra}")
    return lines


def describe_setup(report: dict) -> str:
    """One line on how Virtuoso was run, for the printed report."""
    peer = report.get("virtuoso")
    if not peer:
        return ""
    if "skipped" in peer:
        return f"  {peer['skipped']}\n"
    return (
        f"  Virtuoso {peer.get('version', '')}: loaded in {fmt(peer.get('load_seconds'), 1)} s (bulk loader and "
        f"checkpoint; - when reused), first answer after start {fmt(peer.get('start_seconds'), 2)} s, buffer pool "
        f"{peer['memory_mb']} MB, default graph {json.dumps(peer['default_graph'])} named as default-graph-uri\n"
    )
