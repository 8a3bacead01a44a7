"""Benchmark our SPARQL server against `oxigraph serve` and Debian's Virtuoso 7 on the same data,
side by side (and, with --remote-virtuoso, our server in remote mode over that Virtuoso), and our
resource pages and descriptions against the issue's target (p50 under 10 ms on the bundled data).
Virtuoso's set-up, its table and the issue's targets are in benchmarks/peers.py.

    python benchmarks/bench.py [--triples 1000000] [--requests N] [--quick] [--workloads sparql,pages]

For each dataset (the bundled data/ and a generated one of about --triples triples):

1. our on-disk store is built (`sistercities dump --store`), its N-Quads dump is loaded with
   `oxigraph load` and optimised, so both servers hold exactly the same quads: every source graph
   plus the default graph that is their merge (no union-default-graph option anywhere);
2. `sistercities serve --store --workers 2 --http-workers <CPUs>` (as `make serve`) and
   `oxigraph serve-read-only` are started, and Virtuoso (when installed) on a database
   bulk-loaded from the same dump;
3. a seeded workload of parameterised queries is drawn from the data (see KINDS and the weights),
   its own for each concurrency (see pass_seed);
4. a sample of every kind is asked of both servers and of pyoxigraph in-process, and the answers
   are compared (row and triple counts, and the rows and triples themselves);
5. every request of the concurrency-1 pass is evaluated in-process (pyoxigraph.Store.read_only on
   our store, serialised to the same format) to measure what our HTTP server adds to each query;
6. the same requests are sent to both servers at each concurrency, in alternating rounds, by a
   client of raw keep-alive sockets (one per thread), and throughput and latencies are recorded,
   with the CPU time used by each server;
7. the pages workload (PAGE_KINDS): HTML pages of places, agreements, organisations, events and
   hubs, descriptions as Turtle and JSON-LD, the home page, browsing by class and name search are
   checked (status 200 and the expected media type) and then sent to our server, each kind on its
   own at each concurrency; the descriptions also go to oxigraph as DESCRIBE <X>.

The results are printed as tables and written to benchmarks/results/latest.json. Every process
started here is stopped by its PID at the end, on error and on Ctrl-C.

Adding a request kind: write a function (rng, pools) -> Request and register it with @kind(name,
weight), or @kind(name, weight, "pages") for the pages workload. A Request carries either a SPARQL
query (sent to /sparql on our server and /query on oxigraph, and evaluated in-process) or a path on
our server (a resource page, say) with an optional equivalent query for oxigraph and the media type
it must answer with; a kind a target cannot answer is left out for that target.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import peers  # noqa: E402
import virtuoso  # noqa: E402
from peers import fmt, ratio  # noqa: E402

from server import running  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store.dataset import Dataset  # noqa: E402
from server.store.location import StoreLocation  # noqa: E402

BASE = "https://w3id.org/sistercities/"
PREFIXES = f"""PREFIX sc: <{BASE}ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
"""
JSON_RESULTS = "application/sparql-results+json"
TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"
OXIGRAPH = Path(sys.executable).parent / "oxigraph"
NO_RESULT_CACHE = "--result-cache-bytes 0"  # every request evaluated, as oxigraph evaluates each one
# The load generator is one client (127.0.0.1) standing for many: without this, its concurrent
# queries beyond one worker would be refused 429, each client's share (--client-query-share).
ONE_CLIENT_FOR_MANY = "--client-query-share 0"
# As `make serve` runs our server where Debian's libjemalloc2 is installed (Makefile: MALLOC).
MAKE_SERVE_MALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
OVERHEAD_TARGET_MS = 1.0  # ours p50 - in-process p50 at concurrency 1, for the mix


# --- The workload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request of the workload. `query` goes to both SPARQL endpoints and is evaluated
    in-process; `path` (a page of our server) is sent to ours only, with `query` as oxigraph's
    equivalent when there is one. `expect` is the media type a page must answer with (checked
    before measuring)."""

    kind: str
    accept: str
    query: str | None = None
    path: str | None = None
    expect: str | None = None


@dataclass
class Pools:
    """What the parameters of the queries are drawn from, read from the store once."""

    subjects: list[str]
    parties: list[str]
    twins: list[tuple[str, str]]
    countries: list[str]
    labels: list[str]
    years: list[int]
    # For the pages workload:
    documents: dict[str, list[str]] = field(default_factory=dict)  # IRIs with a /doc/ page, by id/{category}/
    hubs: list[str] = field(default_factory=list)  # the places party to the most agreements
    classes: list[tuple[str, int]] = field(default_factory=list)  # our classes and how many things each has
    names: list[str] = field(default_factory=list)  # names of things, in every language


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    make: Callable[[random.Random, Pools], Request | None]
    description: str


# Two workloads, measured apart: the SPARQL mix (both servers) and the pages (resource pages,
# descriptions, home, browse and search on ours; DESCRIBE on oxigraph for the descriptions).
WORKLOADS: dict[str, list[Kind]] = {"sparql": [], "pages": []}
KINDS = WORKLOADS["sparql"]
PAGE_KINDS = WORKLOADS["pages"]


def kind(name: str, weight: int, workload: str = "sparql") -> Callable:
    """Register a request kind with its weight in its workload; the docstring describes it."""

    def register(make: Callable[[random.Random, Pools], Request | None]) -> Callable:
        WORKLOADS[workload].append(Kind(name, weight, make, " ".join((make.__doc__ or "").split())))
        return make

    return register


@kind("point", 20)
def point(rng: random.Random, pools: Pools) -> Request | None:
    """All triples of one resource (any city, agreement, organisation, event, observation):
    SELECT ?p ?o WHERE { <X> ?p ?o }."""
    if not pools.subjects:
        return None
    x = rng.choice(pools.subjects)
    return Request("point", JSON_RESULTS, f"SELECT ?p ?o WHERE {{ <{x}> ?p ?o }}")


@kind("ask", 5)
def ask(rng: random.Random, pools: Pools) -> Request | None:
    """ASK whether two places are twinned (half the pairs are, half are random)."""
    if not pools.twins or not pools.parties:
        return None
    if rng.random() < 0.5:
        a, b = rng.choice(pools.twins)
    else:
        a, b = rng.choice(pools.parties), rng.choice(pools.parties)
    return Request("ask", JSON_RESULTS, PREFIXES + f"ASK {{ <{a}> sc:twinnedWith <{b}> }}")


@kind("twins_out", 15)
def twins_out(rng: random.Random, pools: Pools) -> Request | None:
    """The agreements of place X and its partners, with type, start date and English label,
    in the fast shape `?agreement sc:party <X> ; sc:party ?partner`, ordered by date."""
    if not pools.parties:
        return None
    x = rng.choice(pools.parties)
    return Request(
        "twins_out",
        JSON_RESULTS,
        PREFIXES
        + f"""SELECT ?agreement ?partner ?label ?type ?start WHERE {{
  ?agreement sc:party <{x}> ; sc:party ?partner ; sc:agreementType ?type .
  FILTER(?partner != <{x}>)
  OPTIONAL {{ ?agreement sc:startDate ?start }}
  OPTIONAL {{ ?partner skos:prefLabel ?label FILTER(LANG(?label) = "en") }}
}} ORDER BY ?start ?agreement""",
    )


@kind("twins_in", 10)
def twins_in(rng: random.Random, pools: Pools) -> Request | None:
    """The places twinned with X, read in the reverse direction: ?city sc:twinnedWith <X>."""
    if not pools.parties:
        return None
    x = rng.choice(pools.parties)
    return Request(
        "twins_in",
        JSON_RESULTS,
        PREFIXES
        + f"""SELECT ?city ?label WHERE {{
  ?city sc:twinnedWith <{x}> .
  OPTIONAL {{ ?city skos:prefLabel ?label FILTER(LANG(?label) = "en") }}
}} ORDER BY ?city""",
    )


@kind("date_range", 5)
def date_range(rng: random.Random, pools: Pools) -> Request | None:
    """Agreements that started in a two-year range (xsd:gYear or xsd:date, compared on the
    lexical form), with type and label, ORDER BY date, LIMIT 50. No range index: a scan."""
    if not pools.years:
        return None
    year = rng.choice(pools.years)
    return Request(
        "date_range",
        JSON_RESULTS,
        PREFIXES
        + f"""SELECT ?agreement ?start ?type ?label WHERE {{
  ?agreement sc:startDate ?start .
  FILTER(STR(?start) >= "{year}" && STR(?start) < "{year + 2}")
  ?agreement sc:agreementType ?type .
  OPTIONAL {{ ?agreement skos:prefLabel ?label }}
}} ORDER BY ?start ?agreement LIMIT 50""",
    )


@kind("aggregate", 5)
def aggregate(rng: random.Random, pools: Pools) -> Request | None:
    """For the places of country X: agreements counted per partner country and type
    (GROUP BY, COUNT DISTINCT, ORDER BY count, LIMIT 20)."""
    if not pools.countries:
        return None
    x = rng.choice(pools.countries)
    return Request(
        "aggregate",
        JSON_RESULTS,
        PREFIXES
        + f"""SELECT ?partnerCountry ?type (COUNT(DISTINCT ?agreement) AS ?agreements) WHERE {{
  ?place sc:country <{x}> .
  ?agreement sc:party ?place ; sc:party ?partner ; sc:agreementType ?type .
  FILTER(?partner != ?place)
  ?partner sc:country ?partnerCountry .
}} GROUP BY ?partnerCountry ?type ORDER BY DESC(?agreements) ?partnerCountry ?type LIMIT 20""",
    )


@kind("label_search", 5)
def label_search(rng: random.Random, pools: Pools) -> Request | None:
    """Cities whose skos:prefLabel contains a 3-5 letter piece of a real city name, case
    folded: FILTER(CONTAINS(LCASE(?label), "...")) LIMIT 20. A scan until 20 are found."""
    if not pools.labels:
        return None
    label = rng.choice(pools.labels).lower()
    size = min(len(label), rng.randint(3, 5))
    start = rng.randint(0, len(label) - size)
    needle = label[start : start + size].replace("\\", "\\\\").replace('"', '\\"')
    return Request(
        "label_search",
        JSON_RESULTS,
        PREFIXES
        + f"""SELECT ?city ?label WHERE {{
  ?city a sc:City ; skos:prefLabel ?label .
  FILTER(CONTAINS(LCASE(?label), "{needle}"))
}} LIMIT 20""",
    )


@kind("describe", 15)
def describe(rng: random.Random, pools: Pools) -> Request | None:
    """DESCRIBE <X> of any resource, as Turtle."""
    if not pools.subjects:
        return None
    return Request("describe", TURTLE, f"DESCRIBE <{rng.choice(pools.subjects)}>")


@kind("construct", 20)
def construct(rng: random.Random, pools: Pools) -> Request | None:
    """CONSTRUCT the neighbourhood of place X: its agreements, their type and date, and its
    partners with their labels, as N-Triples."""
    if not pools.parties:
        return None
    x = rng.choice(pools.parties)
    return Request(
        "construct",
        N_TRIPLES,
        PREFIXES
        + f"""CONSTRUCT {{
  ?agreement sc:party <{x}> , ?partner ; sc:agreementType ?type ; sc:startDate ?start .
  ?partner skos:prefLabel ?label .
}} WHERE {{
  ?agreement sc:party <{x}> ; sc:party ?partner ; sc:agreementType ?type .
  FILTER(?partner != <{x}>)
  OPTIONAL {{ ?agreement sc:startDate ?start }}
  OPTIONAL {{ ?partner skos:prefLabel ?label }}
}}""",
    )


def read_pools(store: ox.Store) -> Pools:
    """Sorted, so that the same seed draws the same parameters from the same data."""

    def column(query: str, var: str = "x") -> list[str]:
        return sorted({row[var].value for row in store.query(PREFIXES + query)})

    twins = sorted(
        (row["a"].value, row["b"].value) for row in store.query(PREFIXES + "SELECT ?a ?b { ?a sc:twinnedWith ?b }")
    )
    years = sorted(
        int(row["d"].value[:4])
        for row in store.query(PREFIXES + "SELECT ?d { ?a sc:agreementType ?t ; sc:startDate ?d }")
        if row["d"].value[:4].isdigit()
    )
    return Pools(
        subjects=column(f'SELECT DISTINCT ?x {{ ?x a ?type FILTER(STRSTARTS(STR(?x), "{BASE}id/")) }}'),
        parties=column("SELECT DISTINCT ?x { ?agreement sc:party ?x }"),
        twins=twins,
        countries=column("SELECT DISTINCT ?x { ?place sc:country ?x }"),
        labels=column("SELECT ?x { ?city a sc:City ; skos:prefLabel ?x }"),
        years=years,
    )


def draw_workload(pools: Pools, count: int, seed: int, weights: dict[str, int]) -> list[Request]:
    """`count` requests, kinds drawn by weight, parameters drawn from the pools."""
    rng = random.Random(seed)
    usable = [k for k in KINDS if weights.get(k.name, 0) > 0 and k.make(random.Random(0), pools) is not None]
    if not usable:
        return []
    chosen = rng.choices(usable, weights=[weights[k.name] for k in usable], k=count)
    return [k.make(rng, pools) for k in chosen]


def with_popularity(distinct: list[Request], count: int, exponent: float, seed: int) -> list[Request]:
    """`count` requests drawn from `distinct` by Zipf popularity, as on a real site where a few
    things are asked for often and most rarely: the k-th of them (in drawing order, which is
    random) is asked in proportion to 1 / k ** exponent."""
    rng = random.Random(seed)
    weights = [1 / rank**exponent for rank in range(1, len(distinct) + 1)]
    return rng.choices(distinct, weights=weights, k=count)


# --- The pages workload ---------------------------------------------------------------------
# What people and crawlers fetch from a linked-data site: resource pages, their machine
# descriptions, the home page, browsing by class and search by name. Sent to our server only,
# each kind apart (so that each has its own throughput); the descriptions also go to oxigraph as
# DESCRIBE <X>, the nearest thing it serves (a bare DESCRIBE: no incoming links, names of linked
# resources or provenance, so smaller answers than ours; a point of comparison, not a peer).

HTML = "text/html"
JSON_LD = "application/ld+json"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAGE_TARGET_MS = 10.0  # p50 of every page kind, bundled data (from the issue)
PAGE_CATEGORIES = ("place", "agreement", "organisation", "event")
MIN_PER_KIND = 40  # requests per page kind and concurrency, whatever its weight
PLAIN_PATH = re.compile(r"[A-Za-z0-9._~/-]+")  # IRIs whose /doc/ path needs no percent-encoding
NAME_PROPERTIES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2004/02/skos/core#altLabel",
    "http://www.w3.org/2004/02/skos/core#hiddenLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
)


def doc_path(iri: str) -> str:
    """The document about {BASE}id/X is /doc/X (server/uris.py): fetched directly, since /id/X
    only answers 303 See Other to it."""
    return "/doc/" + iri.removeprefix(BASE + "id/")


def html_page(name: str, iris: list[str], rng: random.Random) -> Request | None:
    if not iris:
        return None
    return Request(name, BROWSER_ACCEPT, path=doc_path(rng.choice(iris)), expect=HTML)


def any_document(pools: Pools, rng: random.Random) -> str | None:
    """A resource of one of the page categories, the category drawn first (places outnumber the rest)."""
    categories = [c for c in PAGE_CATEGORIES if pools.documents.get(c)]
    return rng.choice(pools.documents[rng.choice(categories)]) if categories else None


@kind("place_html", 20, "pages")
def place_html(rng: random.Random, pools: Pools) -> Request | None:
    """HTML page of a place (city, country, district...): /doc/place/X, as a browser asks."""
    return html_page("place_html", pools.documents.get("place", []), rng)


@kind("agreement_html", 10, "pages")
def agreement_html(rng: random.Random, pools: Pools) -> Request | None:
    """HTML page of a partnership agreement: /doc/agreement/X."""
    return html_page("agreement_html", pools.documents.get("agreement", []), rng)


@kind("organisation_html", 5, "pages")
def organisation_html(rng: random.Random, pools: Pools) -> Request | None:
    """HTML page of an organisation: /doc/organisation/X."""
    return html_page("organisation_html", pools.documents.get("organisation", []), rng)


@kind("event_html", 5, "pages")
def event_html(rng: random.Random, pools: Pools) -> Request | None:
    """HTML page of an event: /doc/event/X."""
    return html_page("event_html", pools.documents.get("event", []), rng)


@kind("hub_html", 5, "pages")
def hub_html(rng: random.Random, pools: Pools) -> Request | None:
    """HTML page of a hub, one of the places party to the most agreements: the largest pages
    (incoming links paged by 50), where a per-link query would show."""
    return html_page("hub_html", pools.hubs, rng)


@kind("doc_turtle", 10, "pages")
def doc_turtle(rng: random.Random, pools: Pools) -> Request | None:
    """Description of a place, agreement, organisation or event as Turtle, negotiated on /doc/X
    with Accept: text/turtle; oxigraph: DESCRIBE <X> as Turtle."""
    iri = any_document(pools, rng)
    if iri is None:
        return None
    return Request("doc_turtle", TURTLE, query=f"DESCRIBE <{iri}>", path=doc_path(iri), expect=TURTLE)


@kind("doc_jsonld", 10, "pages")
def doc_jsonld(rng: random.Random, pools: Pools) -> Request | None:
    """Description as JSON-LD from the fixed variant /doc/X.jsonld; oxigraph: DESCRIBE <X> as JSON-LD."""
    iri = any_document(pools, rng)
    if iri is None:
        return None
    return Request("doc_jsonld", JSON_LD, query=f"DESCRIBE <{iri}>", path=doc_path(iri) + ".jsonld", expect=JSON_LD)


@kind("home", 5, "pages")
def home(rng: random.Random, pools: Pools) -> Request | None:
    """The home page /: things counted per class (memoised per data version) and their names."""
    return Request("home", BROWSER_ACCEPT, path="/", expect=HTML)


@kind("browse", 10, "pages")
def browse(rng: random.Random, pools: Pools) -> Request | None:
    """First page of a class and its subclasses, /browse?class=IRI, any class that has things."""
    if not pools.classes:
        return None
    iri, _ = rng.choice(pools.classes)
    return Request("browse", BROWSER_ACCEPT, path="/browse?class=" + quote(iri, safe=""), expect=HTML)


@kind("search", 20, "pages")
def search(rng: random.Random, pools: Pools) -> Request | None:
    """Name search, /search?q=..., for a 3-5 character piece of a name in any language
    (server/reconcile/search.py: the name index's keys, words and typos, and CONTAINS over every
    name, LIMIT 100; then the keys and facts of the candidates, batched)."""
    if not pools.names:
        return None
    name = rng.choice(pools.names)
    size = min(len(name), rng.randint(3, 5))
    start = rng.randint(0, len(name) - size)
    needle = name[start : start + size]
    return Request("search", BROWSER_ACCEPT, path="/search?q=" + quote(needle, safe=""), expect=HTML)


def read_page_pools(store: ox.Store, pools: Pools) -> Pools:
    """The pools of the pages workload, added to those of the mix (sorted, for the seed's sake)."""
    documents: dict[str, list[str]] = {}
    for iri in pools.subjects:
        category, _, rest = iri.removeprefix(BASE + "id/").partition("/")
        if category in PAGE_CATEGORIES and rest and PLAIN_PATH.fullmatch(rest):
            documents.setdefault(category, []).append(iri)
    return replace(
        pools,
        documents=documents,
        hubs=read_hubs(store),
        classes=read_classes(store),
        names=read_names(store),
    )


def read_hubs(store: ox.Store) -> list[str]:
    """The top 2% of places by number of agreements (at least 3): the pages with most links."""
    rows = store.query(
        PREFIXES + "SELECT ?x (COUNT(DISTINCT ?a) AS ?n) { ?a sc:party ?x } GROUP BY ?x ORDER BY DESC(?n) ?x"
    )
    ranked = [row["x"].value for row in rows]
    ranked = [i for i in ranked if i.startswith(BASE + "id/place/") and PLAIN_PATH.fullmatch(i[len(BASE) :])]
    return sorted(ranked[: max(3, len(ranked) // 50)])


def read_classes(store: ox.Store) -> list[tuple[str, int]]:
    """Our classes that have things, with how many: what the home page links to."""
    query = (
        f'SELECT ?c (COUNT(DISTINCT ?s) AS ?n) {{ ?s a ?c FILTER(STRSTARTS(STR(?c), "{BASE}ontology#")) }} GROUP BY ?c'
    )
    return sorted((row["c"].value, int(row["n"].value)) for row in store.query(query))


def read_names(store: ox.Store) -> list[str]:
    """Names of things in every language, by the properties name search looks at."""
    properties = ", ".join(f"<{p}>" for p in NAME_PROPERTIES)
    query = f"SELECT DISTINCT ?v {{ ?s ?p ?v FILTER(?p IN ({properties}) && isIRI(?s)) }}"
    return sorted(name for row in store.query(query) if len(name := row["v"].value.strip()) >= 3)


def draw_pages(pools: Pools, count: int, seed: int, weights: dict[str, int]) -> list[Request]:
    """Requests of each page kind in proportion to its weight, at least MIN_PER_KIND, grouped by
    kind: each kind is then sent on its own."""
    rng = random.Random(seed)
    usable = [k for k in PAGE_KINDS if weights.get(k.name, 0) > 0 and k.make(random.Random(0), pools) is not None]
    total = sum(weights[k.name] for k in usable)
    workload = []
    for k in usable:
        workload += [k.make(rng, pools) for _ in range(max(MIN_PER_KIND, round(count * weights[k.name] / total)))]
    return workload


# --- Processes ------------------------------------------------------------------------------


class Processes:
    """Every process this script starts, stopped by PID (children of ours included)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, command: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(command, **kwargs)
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        running.stop(process, grace=20)
        if process in self.started:
            self.started.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.started)):
            self.stop(process)


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy (all processes) and stolen by the hypervisor."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def cpu_of_tree(pid: int) -> dict[str, float]:
    return {"main": running.cpu_seconds(pid), "children": sum(running.cpu_seconds(c) for c in running.descendants(pid))}


def run(command: list[str], **kwargs) -> None:
    started = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    log(f"  {Path(command[0]).name} {' '.join(command[1:3])}... {time.perf_counter() - started:.1f} s")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Datasets and servers -------------------------------------------------------------------


@dataclass
class DatasetSetup:
    name: str
    data_dir: Path
    ontology_dir: Path
    store_dir: Path
    oxigraph_dir: Path
    version: str = ""
    triples: int = 0
    quads: int = 0
    notes: dict = field(default_factory=dict)


# A benchmark is one client sending as fast as it can: the per-client rate limits would measure themselves.
RATE_LIMITS_OFF = {f"SISTERCITIES_{kind}_RATE_LIMIT": "0" for kind in ("QUERY", "VALIDATE", "RECONCILE")}


def server_env(work: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "SISTERCITIES_CACHE_DIR": str(work / "cache"), **RATE_LIMITS_OFF, **extra}


def environment_assignments(values: list[str], option: str) -> dict[str, str]:
    """NAME=VALUE pairs of --server-env / --oxigraph-env, e.g. LD_PRELOAD=/usr/lib/.../libjemalloc.so.2."""
    pairs = {}
    for value in values:
        name, equals, setting = value.partition("=")
        if not equals or not name:
            raise SystemExit(f"{option} takes NAME=VALUE, not {value!r}")
        pairs[name] = setting
    return pairs


def prepare(setup: DatasetSetup, work: Path) -> None:
    """Build our store and an oxigraph store loaded from its N-Quads dump, unless up to date."""
    settings = Settings(data_dir=setup.data_dir, ontology_dir=setup.ontology_dir, validate_on_load=False)
    setup.version = Dataset.from_settings(settings).version
    stamp = setup.oxigraph_dir.parent / "oxigraph.version"
    current = stamp.is_file() and stamp.read_text().strip() == setup.version and setup.oxigraph_dir.is_dir()
    if current and setup.store_dir.is_dir():
        log(f"[{setup.name}] stores are up to date (data version {setup.version})")
        return
    dump = write_dump(setup, work)
    log(f"[{setup.name}] loading the dump into oxigraph ({dump.stat().st_size / 1e6:.0f} MB)")
    shutil.rmtree(setup.oxigraph_dir, ignore_errors=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    run([str(OXIGRAPH), "load", "--location", str(setup.oxigraph_dir), "--file", str(dump)], **quiet)
    run([str(OXIGRAPH), "optimize", "--location", str(setup.oxigraph_dir)], **quiet)
    stamp.write_text(setup.version + "\n")


def write_dump(setup: DatasetSetup, work: Path) -> Path:
    """Our store (built if needed) and its N-Quads dump, which the peers load; deleted once they have."""
    log(f"[{setup.name}] building our store and the N-Quads dump (data version {setup.version})")
    dump = setup.oxigraph_dir.parent / "dump.nq"
    command = [sys.executable, "-m", "server", "--data-dir", str(setup.data_dir)]
    command += ["--ontology-dir", str(setup.ontology_dir), "dump", "--format", "nquads"]
    run([*command, "--store", str(setup.store_dir), "-o", str(dump)], env=server_env(work, {}))
    return dump


def prepare_virtuoso(setup: DatasetSetup, work: Path, memory_bytes: int) -> peers.VirtuosoSetup:
    """Virtuoso's database loaded with the same dump as oxigraph's, unless up to date."""
    peer = peers.VirtuosoSetup(setup.oxigraph_dir.parent / "virtuoso", setup.version)
    if peer.current():
        log(f"[{setup.name}] Virtuoso's database is up to date (data version {setup.version})")
        return peer
    dump = setup.oxigraph_dir.parent / "dump.nq"
    if not dump.is_file():
        dump = write_dump(setup, work)
    log(f"[{setup.name}] bulk-loading the dump into Virtuoso ({dump.stat().st_size / 1e6:.0f} MB)")
    peer.load(dump, memory_bytes)
    log(f"[{setup.name}]   loaded in {peer.load_seconds:.1f} s (with checkpoint)")
    return peer


def start_ours(
    processes: Processes, setup: DatasetSetup, work: Path, args: argparse.Namespace
) -> tuple[subprocess.Popen, str]:
    """Our server as `make serve` runs it (--http-workers, --malloc), with --workers query workers
    shared out among the HTTP processes, --server-args (e.g. --result-cache-bytes 0) and --server-env."""
    command = running.serve_command(
        "--data-dir",
        str(setup.data_dir),
        "--ontology-dir",
        str(setup.ontology_dir),
        "--no-validate",
        "--store",
        str(setup.store_dir),
        *(("--workers", str(args.workers)) if args.workers else ()),
        "--http-workers",
        str(args.http_workers),
        *(("--malloc", args.malloc) if args.malloc else ()),
        *args.server_args,
    )
    process, url = running.start_server(command, server_env(work, args.server_env), timeout=600)
    processes.started.append(process)
    return process, url


def with_result_cache(args: argparse.Namespace) -> argparse.Namespace:
    """The options of our server with its result cache on, as `make serve` runs it."""
    options = " ".join(args.server_args).replace(NO_RESULT_CACHE, "").replace("--result-cache-bytes=0", "")
    return argparse.Namespace(**{**vars(args), "server_args": shlex.split(options)})


def start_oxigraph(processes: Processes, setup: DatasetSetup, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = running.free_port()
    command = [str(OXIGRAPH), "serve-read-only", "--location", str(setup.oxigraph_dir)]
    command += ["--bind", f"127.0.0.1:{port}", "--timeout-s", "30"]
    process = processes.start(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    running.wait_until_ready(f"{url}/query?query=" + quote("ASK {}"), process, timeout=600)
    return process, url


# --- The HTTP client ------------------------------------------------------------------------


def http_get(path: str, accept: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nUser-Agent: bench\r\n\r\n".encode()


class Connection:
    """One keep-alive HTTP/1.1 connection over a raw socket: requests are sent as prepared
    bytes and responses read with Content-Length or chunked encoding, nothing more, so that
    the client costs little and the same for both servers."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.reader = None
        self.content_type = ""  # of the last response: pages are checked against Request.expect

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        self.sock = socket.create_connection(self.address, timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=1 << 16)

    def close(self) -> None:
        if self.reader:
            self.reader.close()
        if self.sock:
            self.sock.close()
        self.sock = self.reader = None

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(request)
            return self._response()
        except (ConnectionError, ValueError):  # the server closed an idle connection: retry once
            self.close()
            self.connect()
            self.sock.sendall(request)
            return self._response()

    def _response(self) -> tuple[int, bytes]:
        reader = self.reader
        status_line = reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        self.content_type = ""
        while True:
            line = reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
            elif name == b"content-type":
                self.content_type = value.strip().decode("latin-1")
        if chunked:
            parts = []
            while True:
                size = int(reader.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while reader.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(reader.read(size))
                reader.read(2)
            body = b"".join(parts)
        elif length is not None:
            body = reader.read(length)
        else:
            body = reader.read()
            close = True
        if close:
            self.close()
        return status, body


@dataclass
class Target:
    """A server under test and how it is asked each kind of request."""

    name: str
    url: str
    endpoint: str
    pid: int
    serves_paths: bool
    query_params: str = ""  # sent before query= (Virtuoso: the dataset)

    @property
    def hostport(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def encode(self, request: Request) -> bytes | None:
        host, port = self.hostport
        if request.path is not None and self.serves_paths:
            path = request.path
        elif request.query is not None:
            path = f"{self.endpoint}?{self.query_params}query={quote(request.query, safe='')}"
        else:
            return None
        return http_get(path, request.accept, f"{host}:{port}")


@dataclass
class RunResult:
    target: str
    concurrency: int
    indices: list[int]
    latencies: list[float]  # seconds, parallel to indices
    errors: int
    wall: float
    cpu: dict[str, float]
    client_cpu: float
    stopped_early: bool
    machine_busy: float = 0.0  # CPU seconds of every process on the machine during the run
    steal: float = 0.0

    @property
    def foreign_cpu(self) -> float:
        """CPU seconds used during the run by processes that are neither the server nor the client."""
        return max(0.0, self.machine_busy - sum(self.cpu.values()) - self.client_cpu)

    def share_of_cpus(self, seconds: float) -> float:
        """CPU seconds as a percentage of what the machine's CPUs had during the run."""
        return round(100 * seconds / (self.wall * (os.cpu_count() or 1)), 1)


def load(
    target: Target, workload: list[Request], indices: list[int], concurrency: int, max_seconds: float
) -> RunResult:
    """Send workload[i] for i in indices with `concurrency` threads, one connection each."""
    encoded = {i: target.encode(workload[i]) for i in indices}
    todo = [i for i in indices if encoded[i] is not None]
    counter = itertools.count()
    barrier = threading.Barrier(concurrency + 1)
    results: list[list[tuple[int, float, int]]] = [[] for _ in range(concurrency)]
    stop = threading.Event()
    failures: list[BaseException] = []

    def worker(slot: int) -> None:
        out = results[slot]
        perf = time.perf_counter
        try:
            with Connection(*target.hostport) as conn:
                conn.connect()
                barrier.wait()
                while not stop.is_set():
                    n = next(counter)
                    if n >= len(todo):
                        return
                    i = todo[n]
                    started = perf()
                    status, _ = conn.exchange(encoded[i])
                    out.append((i, perf() - started, status))
        except Exception as error:  # noqa: BLE001 - reported after the run
            failures.append(error)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.abort()

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in range(concurrency)]
    for t in threads:
        t.start()
    cpu_before = cpu_of_tree(target.pid)
    client_before = time.process_time()
    machine_before = machine_cpu()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.perf_counter()
    deadline = started + max_seconds
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    stopped_early = any(t.is_alive() for t in threads)
    stop.set()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    cpu_after = cpu_of_tree(target.pid)
    machine_after = machine_cpu()
    if failures:
        raise RuntimeError(f"client failed against {target.name}: {failures[0]!r}") from failures[0]
    rows = [r for out in results for r in out]
    return RunResult(
        target.name,
        concurrency,
        [r[0] for r in rows],
        [r[1] for r in rows],
        sum(1 for r in rows if r[2] != 200),
        wall,
        {k: cpu_after[k] - cpu_before[k] for k in cpu_after},
        time.process_time() - client_before,
        stopped_early,
        machine_after[0] - machine_before[0],
        machine_after[1] - machine_before[1],
    )


# --- In-process evaluation and answer checks ------------------------------------------------


RESULTS_FORMATS = {JSON_RESULTS: ox.QueryResultsFormat.JSON}
RDF_FORMATS = {TURTLE: ox.RdfFormat.TURTLE, N_TRIPLES: ox.RdfFormat.N_TRIPLES}


def evaluate(store: ox.Store, request: Request) -> bytes:
    """What an embedding application does: query, then serialise natively in the same format."""
    answer = store.query(request.query)
    if isinstance(answer, ox.QueryTriples):
        return answer.serialize(format=RDF_FORMATS[request.accept])
    return answer.serialize(format=RESULTS_FORMATS[request.accept])


def in_process(store: ox.Store, workload: list[Request], indices: list[int]) -> dict[int, float]:
    timings = {}
    perf = time.perf_counter
    for i in indices:
        if workload[i].query is None:
            continue
        started = perf()
        evaluate(store, workload[i])
        timings[i] = perf() - started
    return timings


def canonical(body: bytes, accept: str) -> tuple[int, object]:
    """(size, comparable content) of an answer; blank nodes compare as equal."""

    def term(t) -> str:
        return "_:b" if isinstance(t, ox.BlankNode) else str(t)

    if accept in RDF_FORMATS:
        triples = list(ox.parse(body, format=RDF_FORMATS[accept]))
        return len(triples), sorted(" ".join(map(term, (t.subject, t.predicate, t.object))) for t in triples)
    # Read as terms, not compared as JSON text: servers spell the same term differently (Virtuoso's
    # "typed-literal", its "nodeID://" blank nodes).
    answer = ox.parse_query_results(virtuoso.readable_json(body), ox.QueryResultsFormat.JSON)
    if isinstance(answer, ox.QueryBoolean):
        return 1, bool(answer)
    names = [v.value for v in answer.variables]
    rows = [json.dumps({n: term(r[n]) for n in names if r[n] is not None}, sort_keys=True) for r in answer]
    return len(rows), sorted(rows)


def default_graph_counts(targets: list[Target]) -> dict[str, int]:
    """How many triples each server holds in its default graph (the same, when the data are)."""
    request = Request("count", JSON_RESULTS, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    counts = {}
    for t in targets:
        with Connection(*t.hostport) as conn:
            status, body = conn.exchange(t.encode(request))
        counts[t.name] = int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) if status == 200 else -status
    return counts


TRAILING_LIMIT = re.compile(r"\s+LIMIT\s+(\d+)\s*$", re.IGNORECASE)


def unlimited(query: str) -> tuple[str, int] | None:
    """(the query without its LIMIT, the limit) when it ends in LIMIT n without ORDER BY: any n
    rows of the whole answer are then a right answer (SPARQL fixes no order), and a server may
    pick others than the in-process evaluation (a text index, Virtuoso's own plan)."""
    match = TRAILING_LIMIT.search(query)
    if match is None or re.search(r"\bORDER\s+BY\b", query, re.IGNORECASE):
        return None
    return query[: match.start()], int(match.group(1))


def any_rows_of(answer: tuple[int, object], whole: tuple[int, object], limit: int) -> bool:
    """Whether an answer is as many rows of the whole answer as the limit lets through."""
    size, rows = answer
    return isinstance(rows, list) and size == min(limit, whole[0]) and set(rows) <= set(whole[1])


def verify(targets: list[Target], store: ox.Store, workload: list[Request], per_kind: int) -> dict:
    """Ask a sample of every kind of both servers and in-process; compare the answers."""
    sample: dict[str, list[int]] = {}
    for i, request in enumerate(workload):
        if request.query is not None and len(sample.setdefault(request.kind, [])) < per_kind:
            sample[request.kind].append(i)
    report = {}
    connections = {t.name: Connection(*t.hostport) for t in targets}
    try:
        for name, indices in sample.items():
            checked = mismatches = 0
            sizes = []
            examples = []
            expected: dict[str, dict] = {}  # target -> differences a peer has by design (peers.KNOWN_DIFFERENCES)
            other_rows: dict[str, int] = {}  # target -> answers that are other rows under a LIMIT
            for i in indices:
                request = workload[i]
                answers = {"in-process": canonical(evaluate(store, request), request.accept)}
                for t in targets:
                    encoded = t.encode(request)
                    if encoded is None:  # a kind this target does not serve
                        continue
                    status, body = connections[t.name].exchange(encoded)
                    answers[t.name] = canonical(body, request.accept) if status == 200 else (-status, None)
                checked += 1
                sizes.append(answers["in-process"][0])
                if (loose := unlimited(request.query)) is not None:
                    whole = canonical(evaluate(store, replace(request, query=loose[0])), request.accept)
                    for target, answer in answers.items():
                        if answer != answers["in-process"] and any_rows_of(answer, whole, loose[1]):
                            answers[target] = answers["in-process"]
                            other_rows[target] = other_rows.get(target, 0) + 1
                for target in [t for t in answers if peers.expected_difference(t, name)]:
                    answer = answers.pop(target)
                    entry = expected.setdefault(target, {"reason": peers.expected_difference(target, name)})
                    entry["differ"] = entry.get("differ", 0) + (answer != answers["in-process"])
                    entry["differ_in_size"] = entry.get("differ_in_size", 0) + (answer[0] != answers["in-process"][0])
                    entry.setdefault("sizes", []).append([answers["in-process"][0], answer[0]])
                if len({json.dumps(a, default=str) for a in answers.values()}) > 1:
                    mismatches += 1
                    if len(examples) < 2:
                        examples.append({"query": request.query, "sizes": {k: v[0] for k, v in answers.items()}})
            report[name] = {
                "checked": checked,
                "mismatches": mismatches,
                "rows_or_triples_median": statistics.median(sizes) if sizes else None,
                "rows_or_triples_max": max(sizes) if sizes else None,
                "examples": examples,
                "expected_differences": expected,
                "other_rows_under_limit": other_rows,
            }
    finally:
        for conn in connections.values():
            conn.close()
    return report


# --- Statistics and reports -----------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1))]


def summarise(latencies: list[float]) -> dict:
    return {
        "requests": len(latencies),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p90_ms": ms(percentile(latencies, 0.90)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "mean_ms": ms(statistics.fmean(latencies)) if latencies else None,
    }


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 4)


def merge(runs: list[RunResult]) -> RunResult:
    first = runs[0]
    return RunResult(
        first.target,
        first.concurrency,
        [i for r in runs for i in r.indices],
        [x for r in runs for x in r.latencies],
        sum(r.errors for r in runs),
        sum(r.wall for r in runs),
        {k: sum(r.cpu[k] for r in runs) for k in first.cpu},
        sum(r.client_cpu for r in runs),
        any(r.stopped_early for r in runs),
        sum(r.machine_busy for r in runs),
        sum(r.steal for r in runs),
    )


def by_kind(run: RunResult, workload: list[Request]) -> dict[str, list[float]]:
    kinds: dict[str, list[float]] = {}
    for i, latency in zip(run.indices, run.latencies, strict=True):
        kinds.setdefault(workload[i].kind, []).append(latency)
    return kinds


def compare(
    ours: RunResult, theirs: RunResult, workload: list[Request], inproc: dict[int, float] | None
) -> dict[str, object]:
    """Side-by-side figures of one concurrency: the mix, then each kind."""

    def side(run: RunResult, latencies: list[float], wall_share: float) -> dict:
        figures = summarise(latencies)
        figures["throughput_rps"] = round(len(latencies) / wall_share, 2) if wall_share else None
        return figures

    result: dict[str, object] = {}
    ours_kinds, theirs_kinds = by_kind(ours, workload), by_kind(theirs, workload)
    rows = {"mix": (ours.latencies, theirs.latencies)}
    rows.update({k.name: (ours_kinds.get(k.name, []), theirs_kinds.get(k.name, [])) for k in KINDS})
    ours_at = dict(zip(ours.indices, ours.latencies, strict=True))
    for name, (a, b) in rows.items():
        if not a and not b:
            continue
        row = {
            "ours": side(ours, a, ours.wall if name == "mix" else 0),
            "oxigraph": side(theirs, b, theirs.wall if name == "mix" else 0),
        }
        for metric in ("throughput_rps", "p50_ms", "p99_ms"):
            row[f"{metric}_ratio"] = ratio(row["ours"][metric], row["oxigraph"][metric])
        if inproc is not None:
            indices = [i for i in ours.indices if i in inproc and (name == "mix" or workload[i].kind == name)]
            local = [inproc[i] for i in indices]
            row["in_process"] = summarise(local)
            if local and a:
                row["overhead_p50_ms"] = round(row["ours"]["p50_ms"] - row["in_process"]["p50_ms"], 4)
                row["overhead_paired_median_ms"] = ms(statistics.median(ours_at[i] - inproc[i] for i in indices))
                row["oxigraph_overhead_p50_ms"] = (
                    round(row["oxigraph"]["p50_ms"] - row["in_process"]["p50_ms"], 4) if b else None
                )
        result[name] = row
    return result


def print_tables(report: dict) -> None:
    out = sys.stdout
    for name, data in report["datasets"].items():
        out.write(
            f"\n=== {name}: {data['default_graph_triples']:,} triples in the default graph, {data['quads']:,} quads"
        )
        if "concurrency" in data:
            out.write(f" in our store; SPARQL mix: {data['requests_per_configuration']} requests per configuration\n")
            print_mix(data, out)
        else:
            out.write(" in our store\n")
        if "pages" in data:
            print_pages(data["pages"], out)


def print_mix(data: dict, out) -> None:
    """The side-by-side tables of the SPARQL mix of one dataset."""
    bad = {k: v for k, v in data["verification"].items() if v["mismatches"]}
    checked = sum(v["checked"] for v in data["verification"].values())
    out.write(
        f"answers compared on {checked} requests: "
        + ("all agree\n" if not bad else f"MISMATCHES in {', '.join(bad)}\n")
    )
    for kind_name, entry in data["verification"].items():
        for target, difference in entry.get("expected_differences", {}).items():
            out.write(
                f"  {kind_name} on {target}: not compared ({difference['reason']}); "
                f"{difference['differ']} of {entry['checked']} answers differ, "
                f"{difference.get('differ_in_size', '-')} in their numbers of rows or triples\n"
            )
    for kind_name, entry in data["verification"].items():
        for target, count in entry.get("other_rows_under_limit", {}).items():
            out.write(
                f"  {kind_name} on {target}: {count} of {entry['checked']} answers are other rows of the whole "
                "answer than in-process (LIMIT without ORDER BY; each row checked against the whole answer)\n"
            )
    out.write(peers.describe_setup(data))
    for conc, figures in data["concurrency"].items():
        head = (
            f"{'c=' + conc:<5} {'kind':<13} {'ours r/s':>9} {'oxi r/s':>9} {'ratio':>6} | "
            f"{'ours p50':>9} {'oxi p50':>8} {'ratio':>6} | {'ours p99':>9} {'oxi p99':>8} {'ratio':>6}"
        )
        if conc == "1":
            head += f" | {'inproc p50':>10} {'ovh p50':>8} {'paired':>7}"
        out.write(head + "\n")
        for kind_name, row in figures["rows"].items():
            line = (
                f"{'':<5} {kind_name:<13} {fmt(row['ours']['throughput_rps'], 1):>9} "
                f"{fmt(row['oxigraph']['throughput_rps'], 1):>9} {fmt(row['throughput_rps_ratio']):>6} | "
                f"{fmt(row['ours']['p50_ms'], 3):>9} {fmt(row['oxigraph']['p50_ms'], 3):>8} "
                f"{fmt(row['p50_ms_ratio']):>6} | {fmt(row['ours']['p99_ms'], 2):>9} "
                f"{fmt(row['oxigraph']['p99_ms'], 2):>8} {fmt(row['p99_ms_ratio']):>6}"
            )
            if conc == "1" and "in_process" in row:
                line += (
                    f" | {fmt(row['in_process']['p50_ms'], 3):>10} {fmt(row.get('overhead_p50_ms'), 3):>8} "
                    f"{fmt(row.get('overhead_paired_median_ms'), 3):>7}"
                )
            out.write(line + "\n")
        cpu = figures["cpu_ms_per_request"]
        out.write(
            f"      CPU per request (ms): ours main process {fmt(cpu['ours_main'], 3)} + its children "
            "(query workers; HTTP processes too with --http-workers > 1) "
            f"{fmt(cpu['ours_workers'], 3)}; oxigraph {fmt(cpu['oxigraph'], 3)}; client {fmt(cpu['client'], 3)}"
            + (" (a run hit --max-seconds)" if figures["stopped_early"] else "")
            + "\n"
        )
        other = figures["other_processes_cpu_pct"]
        out.write(
            f"      other processes used {fmt(other['ours'], 1)}% / {fmt(other['oxigraph'], 1)}% of the CPUs "
            f"during the runs of ours / oxigraph\n"
        )
        if repeats := repeats_sentence(figures):
            out.write(f"      {repeats}\n")
    if data.get("side_by_side"):
        out.write("every target side by side (requests per second):\n")
        peers.print_side_by_side(data["side_by_side"], out)
    if data.get("kinds_alone"):
        peers.print_kinds_alone(data["kinds_alone"], out)
    peers.print_targets(data["targets"], out)


def repeats_sentence(figures: dict) -> str:
    """How many requests of a pass a result cache could have answered (not in older results files)."""
    repeats = figures.get("repeated_requests")
    if not repeats:
        return ""
    return (
        f"{repeats['repeated']} of {repeats['requests']} requests repeat an earlier one (warm-up, earlier "
        "passes), which a result cache answers from memory."
    )


def markdown(report: dict) -> str:
    """The figures of a results file as Markdown tables, for docs/benchmarks.md."""
    lines = []
    for name, data in report["datasets"].items():
        if "concurrency" in data:
            lines.append(
                f"\n#### {name}: {data['default_graph_triples']:,} triples in the default graph "
                f"({data['quads']:,} quads in our store), {data['requests_per_configuration']} requests per server and "
                "concurrency\n"
            )
            lines += markdown_mix(data)
        else:
            lines.append(
                f"\n#### {name}: {data['default_graph_triples']:,} triples in the default graph "
                f"({data['quads']:,} quads in our store)\n"
            )
        if "pages" in data:
            lines += markdown_pages(data["pages"])
    return "\n".join(lines) + "\n"


def markdown_mix(data: dict) -> list[str]:
    """The side-by-side tables of the SPARQL mix of one dataset."""
    lines = []
    for conc, figures in data["concurrency"].items():
        lines.append(f"\nConcurrency {conc}:\n")
        head = (
            "| kind | ours req/s | oxigraph req/s | ratio | ours p50 ms | oxigraph p50 ms | ratio "
            "| ours p99 ms | oxigraph p99 ms | ratio |"
        )
        rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        if conc == "1":
            head += " in-process p50 ms | overhead p50 ms |"
            rule += "---:|---:|"
        lines += [head, rule]
        for kind_name, row in figures["rows"].items():
            cells = [
                f"**{kind_name}**" if kind_name == "mix" else kind_name,
                fmt(row["ours"]["throughput_rps"], 1),
                fmt(row["oxigraph"]["throughput_rps"], 1),
                fmt(row["throughput_rps_ratio"]),
                fmt(row["ours"]["p50_ms"], 3),
                fmt(row["oxigraph"]["p50_ms"], 3),
                fmt(row["p50_ms_ratio"]),
                fmt(row["ours"]["p99_ms"], 2),
                fmt(row["oxigraph"]["p99_ms"], 2),
                fmt(row["p99_ms_ratio"]),
            ]
            if conc == "1":
                cells += [fmt(row.get("in_process", {}).get("p50_ms"), 3), fmt(row.get("overhead_p50_ms"), 3)]
            lines.append("| " + " | ".join(cells) + " |")
        cpu = figures["cpu_ms_per_request"]
        other = figures.get("other_processes_cpu_pct", {"ours": None, "oxigraph": None})
        lines.append(
            f"\nCPU per request: ours {fmt(cpu['ours_main'], 3)} ms (HTTP process) + "
            f"{fmt(cpu['ours_workers'], 3)} ms (query workers), oxigraph {fmt(cpu['oxigraph'], 3)} ms; "
            f"other processes used {fmt(other['ours'], 1)}% / {fmt(other['oxigraph'], 1)}% of the CPUs "
            "during the runs of ours / oxigraph." + f" {repeats_sentence(figures)}".rstrip() + "\n"
        )
    if data.get("side_by_side"):
        lines += peers.markdown_side_by_side(data["side_by_side"])
    if data.get("kinds_alone"):
        lines += peers.markdown_kinds_alone(data["kinds_alone"])
    lines += peers.markdown_targets(data["targets"])
    return lines


# --- Pages: checks, measurement and reports -------------------------------------------------


def essence(content_type: str) -> str:
    """'text/html; charset=utf-8' -> 'text/html'."""
    return content_type.split(";", 1)[0].strip().lower()


def group_by_kind(workload: list[Request]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, request in enumerate(workload):
        groups.setdefault(request.kind, []).append(i)
    return groups


def check_pages(targets: list[Target], workload: list[Request], per_kind: int) -> dict[str, dict]:
    """Before measuring, up to per_kind distinct requests of every kind must answer 200 with the
    media type the kind expects, on every target that serves it: otherwise the figures would be
    those of an error page or of the wrong variant. Also records the answers' sizes."""
    report = {}
    for name, indices in group_by_kind(workload).items():
        distinct = list(dict.fromkeys(workload[i] for i in indices))[:per_kind]
        entry: dict = {"checked": len(distinct), "failed": 0, "failures": [], "bytes_median": {}}
        for t in targets:
            sizes = check_target(t, distinct, entry)
            if sizes:
                entry["bytes_median"][t.name] = statistics.median(sizes)
        report[name] = entry
    return report


def check_target(target: Target, requests: list[Request], entry: dict) -> list[int]:
    """Ask one target the requests it serves; failures go to `entry`; returns the body sizes."""
    sizes = []
    with Connection(*target.hostport) as conn:
        for request in requests:
            encoded = target.encode(request)
            if encoded is None:
                continue
            status, body = conn.exchange(encoded)
            sizes.append(len(body))
            if status != 200 or essence(conn.content_type) != request.expect:
                entry["failed"] += 1
                if len(entry["failures"]) < 3:
                    asked = request.path if target.serves_paths else request.query
                    entry["failures"].append(
                        {"target": target.name, "request": asked, "status": status, "content_type": conn.content_type}
                    )
    return sizes


def measure_pages(
    targets: list[Target], workload: list[Request], kinds: list[str], concurrency: int, max_seconds: float, label: str
) -> dict[str, dict[str, RunResult]]:
    """Each kind on its own, so that each has a throughput of its own, on every target that
    serves it; which target goes first alternates from kind to kind."""
    groups = group_by_kind(workload)
    runs: dict[str, dict[str, RunResult]] = {}
    for n, name in enumerate(kinds):
        indices = groups[name]
        for t in targets if n % 2 == 0 else list(reversed(targets)):
            if all(t.encode(workload[i]) is None for i in indices):
                continue
            result = load(t, workload, indices, concurrency, max_seconds / len(kinds))
            runs.setdefault(name, {})[t.name] = result
            log(
                f"[{label}] pages c={concurrency} {name:>17} {t.name:>8}: {len(result.latencies)} requests "
                f"in {result.wall:.2f} s, {result.errors} errors"
            )
    return runs


def page_figures(run: RunResult | None) -> dict | None:
    """Latencies, throughput and the server's CPU per request of one run (None: not served)."""
    if run is None or not run.latencies:
        return None
    figures = summarise(run.latencies)
    figures["throughput_rps"] = round(len(run.latencies) / run.wall, 2) if run.wall else None
    figures["cpu_ms_per_request"] = ms((run.cpu["main"] + run.cpu["children"]) / len(run.latencies))
    # Ours: the HTTP process (page building, parsing answers, templates) against the query workers.
    figures["cpu_workers_ms_per_request"] = ms(run.cpu["children"] / len(run.latencies))
    figures["errors"] = run.errors
    return figures


def page_verdict(figures: dict | None, applies: bool) -> str | None:
    if not applies or figures is None:
        return None
    return "PASS" if figures["p50_ms"] < PAGE_TARGET_MS else "FAIL"


def page_rows(runs: dict[str, dict[str, RunResult]], applies: bool) -> dict[str, dict]:
    """One row per kind, and "all": every page request of ours (each kind in proportion to its weight)."""
    ours = [r["ours"] for r in runs.values() if "ours" in r]
    rows = {"all": {"ours": page_figures(merge(ours)) if ours else None, "oxigraph": None}}
    rows.update(
        {
            name: {"ours": page_figures(r.get("ours")), "oxigraph": page_figures(r.get("oxigraph"))}
            for name, r in runs.items()
        }
    )
    for row in rows.values():
        row["p50_verdict"] = page_verdict(row["ours"], applies)
    return rows


def page_targets(per_concurrency: dict[str, dict], check: dict[str, dict], applies: bool) -> list[dict]:
    """The issue's target, p50 under 10 ms for every page kind on the bundled data, judged on
    the slowest kind at each concurrency; and a failed check is a failure too."""
    found = []
    failed = sorted(name for name, entry in check.items() if entry["failed"])
    if failed:
        found.append(
            {
                "what": "page kinds failing the check: " + ", ".join(failed),
                "value": len(failed),
                "goal": "0",
                "verdict": "FAIL",
            }
        )
    if not applies:
        return found
    for conc, figures in per_concurrency.items():
        measured = {k: r["ours"]["p50_ms"] for k, r in figures["rows"].items() if k != "all" and r["ours"]}
        if not measured:
            continue
        slowest = max(measured, key=measured.get)
        value = measured[slowest]
        found.append(
            {
                "what": f"p50 of the slowest page kind ({slowest}, ms), concurrency {conc}",
                "value": value,
                "goal": f"< {PAGE_TARGET_MS:g} ms",
                "verdict": "PASS" if value < PAGE_TARGET_MS else "FAIL",
            }
        )
    return found


def bench_pages(
    label: str, args: argparse.Namespace, targets: list[Target], pools: Pools, weights: dict[str, int]
) -> dict:
    """The pages workload on running servers: warm up, check, then measure each concurrency."""
    applies = label == "bundled"
    workload = draw_pages(pools, args.requests, args.seed, weights)
    warmup = draw_pages(pools, args.warmup, args.seed + 1, weights)
    warmup = warmup[:: max(1, len(warmup) // max(1, args.warmup))]
    log(f"[{label}] pages: warming up ({len(warmup)} requests) and checking status and media types")
    for t in targets:
        load(t, warmup, list(range(len(warmup))), 2, args.max_seconds)
    check = check_pages(targets, workload, args.verify)
    kinds = [name for name in group_by_kind(workload) if not check[name]["failed"]]
    for name, entry in check.items():
        if entry["failed"]:
            log(f"[{label}] pages: {name} is not measured, {entry['failed']} checks failed: {entry['failures']}")
    per_concurrency = {}
    for concurrency in args.concurrency:
        runs = measure_pages(targets, workload, kinds, concurrency, args.max_seconds, label)
        ours = [r["ours"] for r in runs.values() if "ours" in r]
        every = merge(ours) if ours else None
        per_concurrency[str(concurrency)] = {
            "rows": page_rows(runs, applies),
            "stopped_early": any(r.stopped_early for by in runs.values() for r in by.values()),
            "other_processes_cpu_pct": every.share_of_cpus(every.foreign_cpu) if every and every.wall else None,
        }
    return {
        "requests_per_kind": {name: len(indices) for name, indices in group_by_kind(workload).items()},
        "server_args": args.server_args,
        "target_applies": applies,
        "check": check,
        "concurrency": per_concurrency,
        "targets": page_targets(per_concurrency, check, applies),
    }


def kilobytes(check: dict, name: str, target: str) -> str:
    size = check.get(name, {}).get("bytes_median", {}).get(target)
    return fmt(size / 1000 if size is not None else None, 1)


def page_cells(name: str, row: dict, check: dict) -> list[str]:
    """The cells of one row, the same for the text and the Markdown tables."""
    ours, theirs = row["ours"] or {}, row["oxigraph"] or {}
    return [
        fmt(ours.get("throughput_rps"), 1),
        fmt(ours.get("p50_ms"), 3),
        fmt(ours.get("p99_ms"), 2),
        fmt(ours.get("cpu_ms_per_request"), 2),
        fmt(ours.get("cpu_workers_ms_per_request"), 2),
        fmt(row["p50_verdict"]),
        fmt(theirs.get("throughput_rps"), 1),
        fmt(theirs.get("p50_ms"), 3),
        fmt(theirs.get("p99_ms"), 2),
        kilobytes(check, name, "ours"),
        kilobytes(check, name, "oxigraph"),
    ]


PAGE_HEADS = [
    "ours r/s",
    "p50 ms",
    "p99 ms",
    "CPU ms",
    "wrk ms",
    "<10ms",
    "oxi r/s",
    "p50 ms",
    "p99 ms",
    "ours KB",
    "oxi KB",
]


def pages_summary(pages: dict) -> str:
    counts = pages["requests_per_kind"]
    failed = {k: v["failed"] for k, v in pages["check"].items() if v["failed"]}
    checked = sum(v["checked"] for v in pages["check"].values())
    return (
        f"Pages and descriptions, each kind on its own: {sum(counts.values())} requests per concurrency "
        f"({min(counts.values())}-{max(counts.values())} per kind); oxigraph answers DESCRIBE for doc_turtle and "
        f"doc_jsonld. {checked} distinct requests checked for status 200 and media type: "
        + ("all pass" if not failed else "FAILED " + ", ".join(f"{k} ({n})" for k, n in failed.items()))
        + (f". Our server ran with {' '.join(pages['server_args'])}" if pages.get("server_args") else "")
    )


def print_pages(pages: dict, out) -> None:
    out.write(pages_summary(pages) + "\n")
    widths = [9, 8, 8, 7, 7, 5, 9, 8, 8, 8, 7]
    for conc, figures in pages["concurrency"].items():
        head = f"{'c=' + conc:<5} {'kind':<17} " + " ".join(
            f"{h:>{w}}" for h, w in zip(PAGE_HEADS, widths, strict=True)
        )
        out.write(head + "\n")
        for name, row in figures["rows"].items():
            cells = page_cells(name, row, pages["check"])
            out.write(f"{'':<5} {name:<17} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)) + "\n")
        out.write(
            f"      other processes used {fmt(figures['other_processes_cpu_pct'], 1)}% of the CPUs during our runs"
            + (" (a run hit --max-seconds)" if figures["stopped_early"] else "")
            + "\n"
        )
    for target in pages["targets"]:
        out.write(f"  {target['verdict']}: {target['what']} = {fmt(target['value'], 3)} ({target['goal']})\n")


def markdown_pages(pages: dict) -> list[str]:
    """The pages tables of one dataset (a column of "-" where oxigraph has no equivalent)."""
    lines = [pages_summary(pages) + ".\n"]
    for conc, figures in pages["concurrency"].items():
        lines.append(f"\nPages, concurrency {conc}:\n")
        lines.append(
            "| kind | ours req/s | ours p50 ms | ours p99 ms | ours CPU ms/req | of which workers | p50 < 10 ms "
            "| oxigraph req/s | oxigraph p50 ms | oxigraph p99 ms | ours KB | oxigraph KB |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|")
        for name, row in figures["rows"].items():
            cells = [f"**{name}**" if name == "all" else name, *page_cells(name, row, pages["check"])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append(
            f"\nOther processes used {fmt(figures['other_processes_cpu_pct'], 1)}% of the CPUs during our runs.\n"
        )
    lines += [
        f"- **{t['verdict']}**: {t['what']} = {fmt(t['value'], 3)} (target {t['goal']})" for t in pages["targets"]
    ]
    return lines


# --- The benchmark --------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = subprocess.run([str(OXIGRAPH), "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pyoxigraph": ox.__version__,
        "oxigraph_cli": version,
        "kernel": platform.release(),
    }


def bench_dataset(
    setup: DatasetSetup, args: argparse.Namespace, processes: Processes, work: Path, weights: dict[str, int]
) -> dict:
    prepare(setup, work)
    report: dict = {"data_dir": os.path.relpath(setup.data_dir, ROOT), "data_version": setup.version}
    peer = None
    if args.virtuoso_skipped:
        report["virtuoso"] = {"skipped": args.virtuoso_skipped}
    elif "sparql" in args.workloads:
        peer = prepare_virtuoso(setup, work, args.virtuoso_memory_mb << 20)
    (setup.oxigraph_dir.parent / "dump.nq").unlink(missing_ok=True)
    load_average = os.getloadavg()
    report["load_average_before"] = [round(x, 2) for x in load_average]
    if load_average[0] > (os.cpu_count() or 1) / 2:
        log(f"[{setup.name}] warning: load average {load_average[0]:.1f} before starting; other work will skew figures")
    log(f"[{setup.name}] starting the servers")
    ours_process, ours_url = start_ours(processes, setup, work, args)
    oxi_process, oxi_url = start_oxigraph(processes, setup, args.oxigraph_env)
    started: list = []  # Virtuoso and our server over it, stopped below
    try:
        targets = [
            Target("ours", ours_url, "/sparql", ours_process.pid, serves_paths=True),
            Target("oxigraph", oxi_url, "/query", oxi_process.pid, serves_paths=False),
        ]
        if args.zipf > 0:  # the realistic repeats a result cache is for: ours with it on, beside the rest
            cached_process, cached_url = start_ours(processes, setup, work, with_result_cache(args))
            started.append(cached_process)
            targets.append(Target(peers.CACHED, cached_url, "/sparql", cached_process.pid, serves_paths=False))
        if peer is not None:
            targets += start_virtuoso_targets(peer, setup, args, processes, work, report, started)
        store = ox.Store.read_only(str(StoreLocation(setup.store_dir).current().path))  # the live build
        setup.triples = sum(1 for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
        setup.quads = len(store)
        pools = read_pools(store)
        if "pages" in args.workloads:
            pools = read_page_pools(store, pools)
        counts = default_graph_counts(targets)
        if set(counts.values()) != {setup.triples}:
            log(f"[{setup.name}] warning: the default graphs differ: {counts}, in-process {setup.triples}")
        log(
            f"[{setup.name}] {setup.triples:,} triples; pools: {len(pools.subjects)} resources, "
            f"{len(pools.parties)} parties, {len(pools.countries)} countries"
            + (
                f"; {sum(map(len, pools.documents.values()))} pages, {len(pools.hubs)} hubs, "
                f"{len(pools.classes)} classes, {len(pools.names)} names"
                if "pages" in args.workloads
                else ""
            )
        )
        report.update(
            default_graph_triples=setup.triples,
            default_graph_triples_by_server=counts,
            quads=setup.quads,
            generator=setup.notes,
        )
        mix = prepare_mix(setup, args, targets, store, pools, weights) if "sparql" in args.workloads else None
        del store
        if mix is not None:
            report.update(measure_mix(setup, args, targets, *mix))
            alone = measure_kinds_alone(setup, args, targets, pools) if args.kinds_alone else None
            if alone is not None:
                report["kinds_alone"] = alone
            judged = peers.issue_targets(report["side_by_side"], not cache_off(args), alone and alone["kinds"])
            report["targets"] = mix_targets(report["concurrency"]) + judged
        if "pages" in args.workloads:
            pages_targets = [t for t in targets if t.name in ("ours", "oxigraph")]
            report["pages"] = bench_pages(setup.name, args, pages_targets, pools, weights)
    finally:
        processes.stop(ours_process)
        processes.stop(oxi_process)
        for process in reversed(started):
            process.stop() if isinstance(process, virtuoso.Virtuoso) else processes.stop(process)
    return report


def start_virtuoso_targets(
    peer: peers.VirtuosoSetup,
    setup: DatasetSetup,
    args: argparse.Namespace,
    processes: Processes,
    work: Path,
    report: dict,
    started: list,
) -> list[Target]:
    """Virtuoso on its loaded database and, with --remote-virtuoso, our server over it (remote
    mode, result cache off); both appended to `started`, stopped by the caller."""
    store, start_seconds = peer.start(args.virtuoso_memory_mb << 20)
    started.append(store)
    report["virtuoso"] = {
        "version": virtuoso_version(),
        "load_seconds": peer.load_seconds,
        "start_seconds": start_seconds,
        "memory_mb": args.virtuoso_memory_mb,
        "default_graph": virtuoso.DEFAULT_GRAPH,
    }
    targets = [
        Target("virtuoso", store.url, "/sparql", store.pid, serves_paths=False, query_params=peers.query_params())
    ]
    if args.remote_virtuoso:
        options = [*peers.remote_options(store.endpoint), *shlex.split(ONE_CLIENT_FOR_MANY), "--http-workers"]
        options += [str(args.http_workers), *args.remote_args]
        command = running.serve_command("--no-validate", *options)
        process, url = running.start_server(command, server_env(work, args.server_env), timeout=600)
        processes.started.append(process)
        started.append(process)
        targets.append(Target("ours over virtuoso", url, "/sparql", process.pid, serves_paths=False))
    return targets


def virtuoso_version() -> str:
    done = subprocess.run([virtuoso.SERVER, "-?"], capture_output=True, text=True)
    match = re.search(r"Version (\S+)", done.stdout + done.stderr)
    return match.group(1) if match else ""


def pass_seed(seed: int, concurrency: int) -> int:
    """Each concurrency pass draws its own requests (concurrency 1 keeps --seed), so that a server
    with a result cache meets in the pass at 8 only the repeats the workload itself has, not the
    requests it already answered at 1."""
    return seed if concurrency == 1 else seed + 100 * concurrency


def repeated_requests(warmup: list[Request], workloads: dict[int, list[Request]]) -> dict[str, dict[str, int]]:
    """Per pass: how many requests repeat one sent before (in the warm-up, an earlier pass or
    earlier in the same pass), i.e. what a result cache could answer from memory."""
    seen = {r.query for r in warmup}
    report = {}
    for concurrency, workload in workloads.items():  # in the order the passes run
        repeated = 0
        for request in workload:
            repeated += request.query in seen
            seen.add(request.query)
        report[str(concurrency)] = {"repeated": repeated, "requests": len(workload)}
    return report


def prepare_mix(
    setup: DatasetSetup,
    args: argparse.Namespace,
    targets: list[Target],
    store: ox.Store,
    pools: Pools,
    weights: dict[str, int],
) -> tuple[dict[int, list[Request]], dict, dict[int, float], dict]:
    """Draw the requests of each concurrency pass, warm both servers up, compare answers and
    evaluate the requests of the pass at concurrency 1 in-process (the only part that needs the
    in-process store)."""
    n = args.requests
    if args.zipf > 0:  # one site, whose popular requests are the same in every pass
        distinct = draw_workload(pools, n, args.seed, weights)
        workloads = {c: with_popularity(distinct, n, args.zipf, pass_seed(args.seed, c)) for c in args.concurrency}
        warmup = with_popularity(distinct, args.warmup, args.zipf, args.seed + 1)
    else:
        workloads = {c: draw_workload(pools, n, pass_seed(args.seed, c), weights) for c in args.concurrency}
        warmup = draw_workload(pools, args.warmup, args.seed + 1, weights)
    first = workloads[args.concurrency[0]]
    log(f"[{setup.name}] warming up ({args.warmup} requests each) and comparing answers")
    for t in targets:
        load(t, warmup, list(range(len(warmup))), 2, args.max_seconds)
    verification = verify(targets, store, first, args.verify)
    repeats = repeated_requests(warmup, workloads)
    if 1 not in workloads:
        return workloads, verification, {}, repeats
    log(f"[{setup.name}] in-process evaluation of {n} requests")
    in_process(store, workloads[1], list(range(min(n, 50))))  # warm the in-process store's caches
    return workloads, verification, in_process(store, workloads[1], list(range(n))), repeats


def measure_mix(
    setup: DatasetSetup,
    args: argparse.Namespace,
    targets: list[Target],
    workloads: dict[int, list[Request]],
    verification: dict,
    inproc: dict[int, float],
    repeats: dict[str, dict[str, int]],
) -> dict:
    """The SPARQL mix at each concurrency, in alternating rounds (its targets are judged by the caller,
    with the light kinds' runs on their own)."""
    per_concurrency = {}
    every: dict[str, dict] = {}  # every target, side by side
    for concurrency in args.concurrency:
        workload = workloads[concurrency]
        runs = in_alternating_rounds(targets, workload, concurrency, args, label=f"[{setup.name}] c={concurrency}")
        ours, theirs = merge(runs["ours"]), merge(runs["oxigraph"])
        rows = compare(ours, theirs, workload, inproc if concurrency == 1 else None)
        every[str(concurrency)] = side_by_side({name: merge(r) for name, r in runs.items()}, workload)
        per_concurrency[str(concurrency)] = {
            "rows": rows,
            "errors": {"ours": ours.errors, "oxigraph": theirs.errors},
            "stopped_early": ours.stopped_early or theirs.stopped_early,
            "wall_s": {"ours": round(ours.wall, 3), "oxigraph": round(theirs.wall, 3)},
            "repeated_requests": repeats[str(concurrency)],
            # Share of the machine's CPUs that other processes (or the hypervisor) took during the
            # runs: a check that the comparison was not disturbed.
            "other_processes_cpu_pct": {r.target: r.share_of_cpus(r.foreign_cpu) for r in (ours, theirs)},
            "steal_pct": {r.target: r.share_of_cpus(r.steal) for r in (ours, theirs)},
            "cpu_ms_per_request": {
                "ours_main": ms(ours.cpu["main"] / max(1, len(ours.latencies))),
                "ours_workers": ms(ours.cpu["children"] / max(1, len(ours.latencies))),
                "oxigraph": ms((theirs.cpu["main"] + theirs.cpu["children"]) / max(1, len(theirs.latencies))),
                "client": ms(
                    (ours.client_cpu + theirs.client_cpu) / max(1, len(ours.latencies) + len(theirs.latencies))
                ),
            },
        }
    return {
        "requests_per_configuration": args.requests,
        "seed_per_concurrency": {str(c): pass_seed(args.seed, c) for c in args.concurrency},
        "verification": verification,
        "concurrency": per_concurrency,
        "side_by_side": every,
    }


def in_alternating_rounds(
    targets: list[Target], workload: list[Request], concurrency: int, args: argparse.Namespace, label: str = ""
) -> dict[str, list[RunResult]]:
    """The workload cut into --rounds slices, each sent to every target in turn, in reverse order
    every other round (so that no target always runs right after the same other one)."""
    rounds, n = max(1, args.rounds), len(workload)
    runs: dict[str, list[RunResult]] = {t.name: [] for t in targets}
    for r in range(rounds):
        indices = list(range(r * n // rounds, (r + 1) * n // rounds))
        for t in targets if r % 2 == 0 else targets[::-1]:
            result = load(t, workload, indices, concurrency, args.max_seconds / rounds)
            runs[t.name].append(result)
            if label:
                log(
                    f"{label} round {r + 1}/{rounds} {t.name:>8}: "
                    f"{len(result.latencies)} requests in {result.wall:.2f} s, {result.errors} errors"
                )
    return runs


ALONE_CONCURRENCY = 8  # the concurrency of the light kinds' target


def measure_kinds_alone(setup: DatasetSetup, args: argparse.Namespace, targets: list[Target], pools: Pools) -> dict:
    """Each light kind on its own at concurrency 8, every request evaluated, in alternating
    rounds: its throughput measured, not estimated from latencies within the mix (where a
    lookup's latency also holds its wait behind the scans). Our server with its cache on is left
    out: it would answer the rounds' repeats from memory. Each kind is first sent, unmeasured, to
    every server (--warmup requests of other parameters): the servers have idled through the
    others' runs before, and the first kind measured would otherwise pay for waking them."""
    measured = [t for t in targets if t.name != peers.CACHED]
    figures: dict[str, dict] = {}
    for kind in peers.LIGHT_KINDS:
        # Parameters drawn afresh, apart from the mix's passes (seeded by their concurrency).
        workload = draw_workload(pools, args.requests, pass_seed(args.seed, 1000), {kind: 1})
        if not workload:
            continue
        warmup = draw_workload(pools, args.warmup, pass_seed(args.seed, 2000), {kind: 1})
        for target in measured:
            load(target, warmup, list(range(len(warmup))), ALONE_CONCURRENCY, args.max_seconds)
        runs = in_alternating_rounds(measured, workload, ALONE_CONCURRENCY, args)
        figures[kind] = {name: alone_figures(results) for name, results in runs.items()}
        shown = ", ".join(f"{name} {f['throughput_rps']:.0f}" for name, f in figures[kind].items())
        log(f"[{setup.name}] {kind} alone, c={ALONE_CONCURRENCY}, requests per second: {shown}")
    return {"concurrency": ALONE_CONCURRENCY, "requests": args.requests, "kinds": figures}


def alone_figures(rounds: list[RunResult]) -> dict:
    """A kind's figures on one server over all rounds, and its throughput in each round (in the
    order the rounds ran): how far one round's figure lies from another's."""
    run = merge(rounds)
    n = max(1, len(run.latencies))
    return summarise(run.latencies) | {
        "throughput_rps": round(len(run.latencies) / run.wall, 2),
        "round_throughputs_rps": [round(len(r.latencies) / r.wall, 2) for r in rounds],
        "errors": run.errors,
        "cpu_ms_per_request": ms(sum(run.cpu.values()) / n),
        "client_cpu_ms_per_request": ms(run.client_cpu / n),
        "other_processes_cpu_pct": run.share_of_cpus(run.foreign_cpu),
    }


def cache_off(args: argparse.Namespace) -> bool:
    """Whether our server ran with its result cache off (the default of this script)."""
    options = " ".join(args.server_args)
    return "--result-cache-bytes 0" in options or "--result-cache-bytes=0" in options


def side_by_side(runs: dict[str, RunResult], workload: list[Request]) -> dict:
    """Throughput and latencies of every target (ours, oxigraph, Virtuoso, ours over Virtuoso):
    the mix's throughput as measured; a kind's, which a mixed run cannot measure apart, estimated
    by Little's law as concurrency / mean latency of its requests within the mix (what the clients
    would get if every request were of that kind and took as long as it did in the mix)."""
    rows: dict[str, dict] = {"mix": {}}
    for name, run in runs.items():
        rows["mix"][name] = summarise(run.latencies) | {"throughput_rps": round(len(run.latencies) / run.wall, 2)}
        for kind_name, latencies in by_kind(run, workload).items():
            estimate = run.concurrency / statistics.fmean(latencies)
            rows.setdefault(kind_name, {})[name] = summarise(latencies) | {"throughput_rps": round(estimate, 2)}
    cpu = {name: ms(sum(run.cpu.values()) / max(1, len(run.latencies))) for name, run in runs.items()}
    errors = {name: run.errors for name, run in runs.items()}
    return {"targets": list(runs), "rows": rows, "errors": errors, "cpu_ms_per_request": cpu}


def mix_targets(per_concurrency: dict[str, dict]) -> list[dict]:
    """The overhead target of an earlier issue (at concurrency 1); the throughput targets of #12 are peers'."""
    targets_report = []
    if "1" in per_concurrency:
        value = per_concurrency["1"]["rows"]["mix"].get("overhead_p50_ms")
        targets_report.append(
            {
                "what": "p50 overhead over in-process (ms), mix, concurrency 1",
                "value": value,
                "goal": f"< {OVERHEAD_TARGET_MS} ms",
                "verdict": "met" if value is not None and value < OVERHEAD_TARGET_MS else "not met",
            }
        )
    return targets_report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark our server against `oxigraph serve` on the same data (see the module docstring)."
    )
    parser.add_argument(
        "--triples",
        help="size of the generated dataset, or several sizes comma-separated, each its own dataset "
        "in one run (default 1000000; e.g. 1000000,10000000 for the issue's two sizes)",
    )
    parser.add_argument(
        "--requests", type=int, help="requests per dataset, workload, concurrency and server (default 3000)"
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run: 100k triples, 400 requests")
    parser.add_argument("--datasets", default="bundled,generated", help="comma-separated: bundled, generated")
    parser.add_argument(
        "--workloads", default="sparql,pages", help="comma-separated: sparql (the mix), pages (pages, descriptions)"
    )
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client concurrencies")
    parser.add_argument(
        "--workers", type=int, help="our server's query workers, in all (default: as `make serve`, one per CPU)"
    )
    parser.add_argument(
        "--http-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="our server's HTTP processes, one per CPU as `make serve` runs it (default %(default)s)",
    )
    parser.add_argument(
        "--server-args",
        default=f"{NO_RESULT_CACHE} {ONE_CLIENT_FOR_MANY}",
        help="more options for our server's `serve`. The default turns its result cache off: the workload "
        "repeats requests (rounds, concurrencies), which the cache would answer from memory while oxigraph "
        "evaluates each one. Pass '' for the server's own defaults, e.g. '--http-workers 2'.",
    )
    parser.add_argument(
        "--no-kinds-alone",
        dest="kinds_alone",
        action="store_false",
        help="skip the runs of each light kind on its own (c=8) that the light kinds' target is judged on",
    )
    parser.add_argument(
        "--malloc",
        default=MAKE_SERVE_MALLOC if Path(MAKE_SERVE_MALLOC).is_file() else "",
        help="the malloc library of every process of our server, as `make serve` runs it: jemalloc where "
        "Debian's libjemalloc2 is installed (default here: %(default)r); '' for glibc's malloc. oxigraph "
        "serve runs as pip installs it, with glibc's (give it the same with --oxigraph-env LD_PRELOAD=...)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for our server (repeatable), e.g. LD_PRELOAD=/usr/lib/x86_64-linux-gnu/"
        "libjemalloc.so.2 to run it with jemalloc instead of glibc's malloc",
    )
    parser.add_argument(
        "--oxigraph-env", action="append", default=[], metavar="NAME=VALUE", help="the same for oxigraph serve"
    )
    parser.add_argument(
        "--no-virtuoso",
        action="store_true",
        help="leave Debian's Virtuoso out (it runs whenever virtuoso-t is installed)",
    )
    parser.add_argument(
        "--install-peers", action="store_true", help="apt-get install Virtuoso (virtuoso-opensource-7) if it is missing"
    )
    parser.add_argument(
        "--remote-virtuoso",
        action="store_true",
        help="also measure our server in remote mode over the same Virtuoso (result cache off), "
        "for the overhead of remote mode",
    )
    parser.add_argument(
        "--remote-args", default="", help="more options of our server over Virtuoso, e.g. '--http-workers 2'"
    )
    parser.add_argument(
        "--virtuoso-memory-mb",
        type=int,
        default=2048,
        help="Virtuoso's buffer pool (default 2048; 4096 for 10M triples)",
    )
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per configuration")
    parser.add_argument("--warmup", type=int, help="warm-up requests per server (default 300)")
    parser.add_argument("--verify", type=int, default=10, help="requests per kind whose answers are compared")
    parser.add_argument("--max-seconds", type=float, default=180, help="time cap per configuration and server")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--zipf",
        type=float,
        default=0.0,
        metavar="S",
        help="realistic repeats: the SPARQL mix asks its requests with Zipf popularity of exponent S (1.0 is "
        "typical of web traffic), the warm-up and every pass alike; 0 (the default) draws every request afresh",
    )
    parser.add_argument("--weights", help="override weights of either workload, e.g. point=20,describe=0,home=0")
    parser.add_argument("--work-dir", type=Path, default=HERE / ".work", help="generated data and stores")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--markdown", type=Path, metavar="RESULTS", help="print a results file as Markdown and exit")
    args = parser.parse_args(argv)
    sizes = args.triples or str(100_000 if args.quick else 1_000_000)
    args.triples = [int(size.replace("_", "")) for size in sizes.split(",") if size.strip()]
    args.requests = args.requests or (400 if args.quick else 3000)
    args.warmup = args.warmup if args.warmup is not None else (100 if args.quick else 300)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.server_args = shlex.split(args.server_args)
    args.remote_args = shlex.split(args.remote_args)
    args.server_env = environment_assignments(args.server_env, "--server-env")
    args.oxigraph_env = environment_assignments(args.oxigraph_env, "--oxigraph-env")
    args.virtuoso_skipped = "left out (--no-virtuoso)" if args.no_virtuoso else None
    if args.remote_virtuoso and args.no_virtuoso:
        parser.error("--remote-virtuoso needs Virtuoso: drop --no-virtuoso")
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown or not args.workloads:
        parser.error(f"--workloads: choose among {', '.join(WORKLOADS)} (got {args.workloads})")
    return args


def generated_setup(work: Path, size: int, seed: int) -> DatasetSetup:
    """The generated dataset of about `size` triples (made once, then reused) and where its stores go."""
    base = work / f"generated-{size}-seed{seed}"
    data = base / "data"
    if not generate.is_current(data, size, seed):
        log(f"[generated] generating about {size:,} triples into {data}")
        generate.generate(data, size, seed)
    setup = DatasetSetup("generated", data, ROOT / "ontology", base / "store", base / "oxigraph")
    notes = json.loads((data / "generated.json").read_text())
    setup.notes = {k: v for k, v in notes.items() if k not in ("files", "seconds")}
    return setup


def read_weights(written: str, known: dict[str, int]) -> dict[str, int]:
    """`point=20,describe=0` as weights of the kinds it names, which must be among `known`."""
    weights = {}
    for item in filter(None, written.split(",")):
        name, _, value = item.partition("=")
        if name not in known:
            raise SystemExit(f"unknown kind {name!r}; kinds: {', '.join(known)}")
        weights[name] = int(value)
    return weights


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return 0
    weights = {k.name: k.weight for kinds in WORKLOADS.values() for k in kinds}
    weights.update(read_weights(args.weights or "", weights))
    if not args.virtuoso_skipped:
        args.virtuoso_skipped = peers.available(args.install_peers)
        if args.virtuoso_skipped:
            log(args.virtuoso_skipped)
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    processes = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    report = {
        "command": "python benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "settings": {
            "requests": args.requests,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "workers": args.workers or Settings.model_fields["query_workers"].default_factory(),  # in all
            "http_workers": args.http_workers,
            "malloc": args.malloc or "glibc",
            "server_args": args.server_args,
            "server_env": args.server_env,
            "oxigraph_env": args.oxigraph_env,
            "rounds": args.rounds,
            "virtuoso": args.virtuoso_skipped
            or {"memory_mb": args.virtuoso_memory_mb, "remote": args.remote_virtuoso, "remote_args": args.remote_args},
            "seed": args.seed,
            "zipf": args.zipf,
            "triples": args.triples,
            "workloads": args.workloads,
            "accept": {"SELECT/ASK": JSON_RESULTS, "DESCRIBE": TURTLE, "CONSTRUCT": N_TRIPLES},
            "method": "GET, query in the URL",
            "pages_accept": {"HTML": BROWSER_ACCEPT, "doc_turtle": TURTLE, "doc_jsonld": JSON_LD},
            "pages_min_per_kind": MIN_PER_KIND,
        },
        "mix": {k.name: {"weight": weights[k.name], "description": k.description} for k in KINDS},
        "pages": {k.name: {"weight": weights[k.name], "description": k.description} for k in PAGE_KINDS},
        "datasets": {},
    }
    try:
        for name in args.datasets:
            if name == "bundled":
                base = work / "bundled"
                setup = DatasetSetup("bundled", ROOT / "data", ROOT / "ontology", base / "store", base / "oxigraph")
                report["datasets"]["bundled"] = bench_dataset(setup, args, processes, work, weights)
            elif name == "generated":
                for size in args.triples:
                    setup = generated_setup(work, size, args.seed)
                    report["datasets"][f"generated ({size:,})"] = bench_dataset(setup, args, processes, work, weights)
            else:
                raise SystemExit(f"unknown dataset {name!r}")
    except KeyboardInterrupt:
        log("interrupted; stopping the servers")
        return 130
    finally:
        processes.stop_all()
    report["seconds"] = round(time.perf_counter() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print_tables(report)
    log(f"\nwritten to {args.output} in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
