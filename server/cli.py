"""The command line: the front door to the dataset and the server, with safe defaults.

Every setting of server.settings.Settings is an option of every command that uses settings,
generated from the model (its type, description and default), so the command line, the
environment (SISTERCITIES_*) and the README's settings table cannot disagree. A value given on
the command line wins over the environment, which wins over the model's default.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pydantic
import pyoxigraph as ox
from pydantic.fields import FieldInfo

from server import __version__, formats
from server.engines import make_engine, search_keys, store_extensions
from server.namespaces import prefixes
from server.query.pool import preload_into_new_processes
from server.settings import Settings
from server.store.build import ensure_disk_store, open_store
from server.store.dataset import Dataset
from server.store.dump import DUMP_FORMATS, write_dump
from server.store.links import check_links
from server.store.load import LINE_BASED, Loaded, LoadError, LoadOptions, Progress, Source, source_of
from server.store.load import load as load_files
from server.store.location import StoreLocation
from server.store.sparql_text import valid_iri
from server.store.statistics import Figures, statistics_triples
from server.uris import Iris

if TYPE_CHECKING:
    import httpx

    from server.web.balance import ConnectionShares

EXIT_CONFORMS, EXIT_DOES_NOT_CONFORM, EXIT_CANNOT_RUN = 0, 1, 2

# Shorter names kept from earlier versions of the command line.
ALIASES = {"store_dir": ("--store",), "query_workers": ("--workers",)}
OFF_SWITCHES = {"validate_on_load": "--no-validate"}


# --- Settings as options -----------------------------------------------------------------------


def option_names(name: str) -> tuple[str, ...]:
    """The command-line names of a setting: --store-dir (and --store), --validate-on-load/--no-validate."""
    long = "--" + name.replace("_", "-")
    if Settings.model_fields[name].annotation is bool:
        return (f"{long}/--no-{long[2:]}", *((f" /{OFF_SWITCHES[name]}",) if name in OFF_SWITCHES else ()))
    return (long, *ALIASES.get(name, ()))


def click_type(field: FieldInfo) -> Any:
    """The click type of a setting, from its annotation (Path | None is a path)."""
    annotation = field.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if annotation is Path:
        return click.Path(path_type=Path)
    return annotation


def setting_options(command: Callable) -> Callable:
    """Add every setting as an option; unset options are None, so the environment and the
    model's defaults apply."""
    for name, field in reversed(Settings.model_fields.items()):
        shown = Settings.shown_default(name)
        option = click.option(
            *option_names(name),
            name,
            type=None if field.annotation is bool else click_type(field),
            default=None,
            help=field.description,
            show_default=shown or False,
        )
        command = option(command)
    return command


def settings_from(ctx: click.Context, options: dict[str, Any]) -> Settings:
    """Settings from the command line, then the environment, then the defaults; a value that is
    not valid stops the command with a usage error naming the setting (exit status 2)."""
    chosen = [*(ctx.obj or {}).items(), *options.items()]  # the command's own options last: they win
    given = {k: v for k, v in chosen if v is not None and k in Settings.model_fields}
    try:
        return Settings(**given)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise click.UsageError(f"invalid setting: {problems}", ctx) from None


# --- Commands ----------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="sistercities")
@click.option("--base-iri", help=Settings.model_fields["base_iri"].description)
@click.option("--data-dir", type=click.Path(path_type=Path), help=Settings.model_fields["data_dir"].description)
@click.option("--ontology-dir", type=click.Path(path_type=Path), help=Settings.model_fields["ontology_dir"].description)
@click.option("--shapes-dir", type=click.Path(path_type=Path), help=Settings.model_fields["shapes_dir"].description)
@click.pass_context
def main(ctx: click.Context, **where: Any) -> None:
    """Sister Cities Linked Data: validate, query and serve the dataset.

    Every command takes every setting as an option (sistercities serve --help lists them); the
    options before the command name where the files are, for all commands.
    """
    ctx.obj = where


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "turtle", "json"]),
    default="text",
    help="Report as readable text, as a SHACL validation report in Turtle, or as JSON.",
)
@setting_options
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...], output_format: str, **options: Any) -> None:
    """Check RDF FILES (default: the published ontology and data) against the shapes.

    Syntax is checked first (errors name the file, line and column), then the SHACL shapes.
    Exit status: 0 the data conform, 1 they do not, 2 the check could not run.
    """
    from server.validation.validator import Positions, RdfSyntaxError, ValidationError, Validator, read_files

    settings = settings_from(ctx, options)
    try:
        validator = Validator.from_settings(settings)
        if files:
            positions = Positions()
            data, origin = read_files(files, settings.base_iri, positions)
            report = validator.validate(data, origin, positions=positions)
        else:
            report = validator.validate_published()
    except RdfSyntaxError as error:
        click.echo(f"syntax error: {error}", err=True)
        sys.exit(EXIT_DOES_NOT_CONFORM)
    except ValidationError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    render = {"text": report.as_text, "turtle": report.as_turtle, "json": report.as_json}[output_format]
    click.echo(render(), nl=False)
    sys.exit(EXIT_CONFORMS if report.conforms else EXIT_DOES_NOT_CONFORM)


@main.command()
@setting_options
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def serve(ctx: click.Context, log_level: str, **options: Any) -> None:
    """Validate and load the dataset, then serve it: SPARQL endpoint, pages, metadata and dumps."""
    settings = settings_from(ctx, options)
    restart_with_malloc(settings.malloc)
    if settings.validate_on_load and serves_curated_files(settings):
        from server.validation.validator import check_published_data

        report = check_published_data(settings)
        if report is not None and not report.conforms:
            click.echo(report.as_text(), err=True)
            click.echo(
                "The data do not conform to the shapes; not serving them (use --no-validate to override).",
                err=True,
            )
            sys.exit(EXIT_DOES_NOT_CONFORM)
    if settings.store_dir is not None and not settings.sparql_endpoint:
        # Once, before any process starts.
        ensure_disk_store(Dataset.from_settings(settings), settings.store_dir, store_extensions(), search_keys())
    listener = socket.create_server((settings.host, settings.port), reuse_port=False)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Serving Sister Cities Linked Data at http://{shown}:{port}/", err=False)
    sys.stdout.flush()
    serve_http(settings, listener, log_level)


def restart_with_malloc(library: Path | None) -> None:
    """Run this command again, in the same process, with `library` loaded first (LD_PRELOAD),
    unless it already is: a process's allocator is chosen before it starts. Every process the
    server starts then inherits it."""
    if not preload_into_new_processes(library):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)


def serves_curated_files(settings: Settings) -> bool:
    """Whether the server publishes the curated files (not a remote store or data loaded with `load`)."""
    if settings.sparql_endpoint:
        return False
    live = StoreLocation(settings.store_dir).current() if settings.store_dir else None
    return live is None or live.record.kind == "curated"


def serve_http(settings: Settings, listener: socket.socket, log_level: str) -> None:
    """Run uvicorn on the bound socket: in this process, or in `http_workers` processes sharing it.

    Each HTTP process builds its own application (query workers, result cache) from the settings
    handed down in the environment; nothing else is shared, so any of them can answer any request.
    """
    import uvicorn  # imported here, as in `serve` alone, so that the other commands start fast
    from uvicorn.supervisors import Multiprocess

    # h11 (when httptools is not installed) buffers a request head up to this size, beyond which it
    # answers 400 itself: room for the limits the application answers (414, 431) with a margin.
    head = 2 * (settings.max_url_bytes + settings.max_header_bytes)
    options = {"log_level": log_level, "proxy_headers": True, "server_header": False, "http": http_protocol()}
    # Below info, uvicorn would still format each request's access line for a logger that drops it.
    options["access_log"] = log_level in ("debug", "info")
    options["h11_max_incomplete_event_size"] = head
    if settings.http_workers == 1:
        engine = make_engine(settings)
        preload_into_new_processes(settings.workers_malloc)  # before the engine's processes start, not after
        engine.launch()  # its processes start while the web stack is imported
        from server.app import create_app

        uvicorn.Server(uvicorn.Config(create_app(settings, engine), **options)).run(sockets=[listener])
        return
    from server.app import SETTINGS_ENVIRONMENT

    os.environ[SETTINGS_ENVIRONMENT] = settings.model_dump_json()
    shares = connection_shares_for(settings.http_workers)
    config = uvicorn.Config("server.app:app_from_environment", factory=True, workers=settings.http_workers, **options)
    try:
        Multiprocess(config, sockets=[listener]).run()
    finally:
        if shares is not None:
            shares.remove()


def connection_shares_for(processes: int) -> ConnectionShares | None:
    """The file where the HTTP processes count their connections, to spread them evenly
    (server.web.balance), named in the environment they inherit; None without httptools."""
    try:
        from server.web.balance import SHARES_ENVIRONMENT, ConnectionShares
    except ImportError:
        return None
    try:
        shares = ConnectionShares.create(processes)
    except OSError as error:  # no temporary folder to write in: connections go where they fall
        click.echo(f"warning: HTTP connections are not balanced: {error}", err=True)
        return None
    os.environ[SHARES_ENVIRONMENT] = shares.environment
    return shares


def http_protocol() -> type | str:
    """uvicorn's httptools protocol writing each response at once (server.web.coalescing); where
    httptools is not installed, uvicorn's own choice (h11)."""
    try:
        from server.web.balance import BalancedProtocol
    except ImportError:
        return "auto"
    return BalancedProtocol


@main.command()
@click.argument("path")
@click.option("--accept", help="The Accept header to send, e.g. text/turtle.")
@click.option("--header", "-H", "headers", multiple=True, help="Another header, as 'Name: value' (repeatable).")
@click.option("--include", "-i", is_flag=True, help="Print the status line and the response headers first.")
@setting_options
@click.pass_context
def get(
    ctx: click.Context, path: str, accept: str | None, headers: tuple[str, ...], include: bool, **options: Any
) -> None:
    """Answer one request for PATH in-process, without a server, and print the response body.

    The whole application answers, exactly as `serve` would (e.g. `sistercities get
    "/sparql?query=ASK{}" --accept application/sparql-results+json`). Exit status 0 for a 2xx or
    3xx answer, 1 otherwise.
    """
    from server.app import create_app, in_process

    settings = settings_from(ctx, options)
    sent = {name.strip(): value.strip() for name, value in (h.split(":", 1) for h in headers if ":" in h)}
    if accept:
        sent["Accept"] = accept

    async def ask() -> httpx.Response:
        async with in_process(create_app(settings)) as client:
            return await client.get(path, headers=sent)

    response = asyncio.run(ask())
    if include:
        click.echo(f"HTTP/1.1 {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            click.echo(f"{name}: {value}")
        click.echo()
    sys.stdout.buffer.write(response.content)
    sys.stdout.flush()
    sys.exit(EXIT_CONFORMS if response.status_code < 400 else EXIT_DOES_NOT_CONFORM)


class LoadProgress(Progress):
    """On a terminal, a progress bar of the bytes read, with the triples seen (N-Triples and
    N-Quads have one per line), the rate, the time elapsed and an estimate of the time left;
    always, one line of summary at the end."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.wanted = sys.stderr.isatty()
        sizes = [s.size() for s in sources]
        self.total = None if None in sizes else sum(sizes)
        self.line_based = all(s.fmt in LINE_BASED for s in sources)
        self.bytes_read = self.lines = 0
        self.started = time.monotonic()
        self.bar: Any = None

    def __enter__(self) -> LoadProgress:
        if self.wanted and self.total:
            self.bar = click.progressbar(
                length=self.total, label="loading", file=sys.stderr, item_show_func=self.describe, show_eta=True
            )
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
        elif self.wanted:
            click.echo(file=sys.stderr)

    def __call__(self, bytes_read: int, lines: int) -> None:
        self.bytes_read += bytes_read
        self.lines += lines
        if self.bar is not None:
            self.bar.update(bytes_read, self.lines)
        elif self.wanted:
            click.echo(f"\rloading: {self.describe(self.lines)}", nl=False, err=True)

    def describe(self, _: object = None) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        read = f"{self.bytes_read / 1e6:,.0f} MB"
        if self.line_based:
            return f"{read}, {self.lines:,} triples, {self.lines / elapsed:,.0f}/s, {elapsed:.0f} s"
        return f"{read}, {self.bytes_read / 1e6 / elapsed:,.1f} MB/s, {elapsed:.0f} s"

    def summary(self, loaded: Loaded) -> None:
        record = loaded.build.record
        counted = f"{loaded.figures.triples:,} quads" if loaded.figures else "the data"
        statistics = f"; statistics counted after {loaded.counted_after:.1f} s" if loaded.counted_after else ""
        if loaded.indexed_after is not None:
            statistics += f"; search index written after {loaded.indexed_after:.1f} s"
        click.echo(
            f"Loaded {counted} from {len(self.sources)} input(s): data version {record.version} live "
            f"after {loaded.live_after:.1f} s{statistics}, in {loaded.build.path}"
        )


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--graph", help="The named graph (an IRI) for the triples of triples files (default: the default graph).")
@click.option(
    "--format", "format_name", help="The format of every input, as an extension (nq, ttl, jsonld...) or media type."
)
@click.option("--base", "input_base", help="The base IRI against which relative IRIs in the inputs resolve.")
@click.option("--statistics/--no-statistics", default=True, help="Compute the VoID statistics before going live.")
@click.option("--name-index/--no-name-index", default=False, help="Build reconciliation's name index of our things.")
@click.option(
    "--search-index/--no-search-index",
    default=True,
    help="Write the search index (names.sqlite) beside the data once they are live.",
)
@click.option("--derive/--no-derive", default=False, help="Derive sc:twinnedWith etc. (data in our vocabulary).")
@setting_options
@click.pass_context
def load(
    ctx: click.Context,
    files: tuple[str, ...],
    graph: str | None,
    format_name: str | None,
    input_base: str | None,
    statistics: bool,
    name_index: bool,
    search_index: bool,
    derive: bool,
    **options: Any,
) -> None:
    """Load RDF FILES (any format, plain or .gz; - for standard input) into the on-disk store
    (--store), as the data the server publishes instead of the curated data.

    The store then holds exactly these files: triples in the default graph (or --graph), quads
    in their own graphs. The new data are built beside the live ones and go live only when the
    load is complete; a running server switches to them. A syntax error names the file, line and
    column, and loads nothing. Exit status 0 loaded, 1 the input cannot be loaded, 2 usage.
    """
    settings = settings_from(ctx, options)
    if settings.store_dir is None:
        raise click.UsageError("give the store to load into with --store DIR", ctx)
    for iri in (graph, input_base):
        if iri is not None and not valid_iri(iri):
            raise click.UsageError(f"'{iri}' is not an absolute IRI", ctx)
    try:
        sources = [source_of(name, format_name) for name in files]
        progress = LoadProgress(sources)
        with progress:
            loaded = load_files(
                StoreLocation(settings.store_dir),
                sources,
                settings.iris,
                LoadOptions(graph, input_base, derive, statistics, search_keys() if search_index else None),
                store_extensions() if name_index else (),
                progress,
            )
    except LoadError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_DOES_NOT_CONFORM)
    progress.summary(loaded)


@main.command()
@setting_options
@click.pass_context
def publish(ctx: click.Context, **options: Any) -> None:
    """Publish a new version of the curated data (ontology and data folders) into the on-disk store
    (--store): validated first, built beside the live version, then switched to atomically.

    If the data do not conform to the shapes (or do not parse), the report is printed, nothing is
    built and the live version stays. A running server over the store takes new requests on the new
    version within store_check_seconds and finishes those in progress on the old one. Exit status 0
    published (or already live), 1 refused, 2 usage.
    """
    from server.validation.validator import RdfSyntaxError, ValidationError, check_published_data

    settings = settings_from(ctx, options)
    if settings.store_dir is None:
        raise click.UsageError("give the store to publish into with --store DIR", ctx)
    dataset = Dataset.from_settings(settings)
    if settings.validate_on_load:
        try:
            report = check_published_data(settings)
        except RdfSyntaxError as error:
            click.echo(f"syntax error: {error}", err=True)
            click.echo("Not published: the live version stays.", err=True)
            sys.exit(EXIT_DOES_NOT_CONFORM)
        except ValidationError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_CANNOT_RUN)
        if report is not None and not report.conforms:
            click.echo(report.as_text(), err=True, nl=False)
            click.echo("Not published: the data do not conform to the shapes; the live version stays.", err=True)
            sys.exit(EXIT_DOES_NOT_CONFORM)
    else:
        click.echo("warning: publishing without validating (--no-validate)", err=True)
    previous = StoreLocation(settings.store_dir).current()
    try:
        build = ensure_disk_store(dataset, settings.store_dir, store_extensions(), search_keys(), replace_loaded=True)
    except SyntaxError as error:
        click.echo(f"syntax error: {error}", err=True)
        click.echo("Not published: the live version stays.", err=True)
        sys.exit(EXIT_DOES_NOT_CONFORM)
    if previous is not None and previous.path == build.path:
        click.echo(f"Data version {build.record.version} is already live in {build.path}")
    else:
        click.echo(f"Published data version {build.record.version}; live in {build.path}")


@main.command()
@click.option(
    "--format",
    "format_key",
    type=click.Choice([f.key for f in DUMP_FORMATS]),
    default="nquads",
    help="nquads and trig keep the source graphs; the others write their merge.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@click.option(
    "--with-service-graphs",
    "--with-name-index",
    "with_service_graphs",
    is_flag=True,
    help="Also write the graphs the server keeps for itself (statistics and version, the name index) "
    "into N-Quads or TriG, for a SPARQL store that this server is to use in remote mode.",
)
@setting_options
@click.pass_context
def dump(ctx: click.Context, format_key: str, output: Path | None, with_service_graphs: bool, **options: Any) -> None:
    """Write the whole dataset (the data only), as a harvester or another SPARQL store would load it."""
    settings = settings_from(ctx, options)
    store = open_store(Dataset.from_settings(settings), settings.store_dir, store_extensions(), search_keys())
    service = (settings.iris.metadata_graph, settings.iris.name_index_graph)
    left_out = () if with_service_graphs else service
    kept_beside = counted_after_going_live(settings) if with_service_graphs else None
    fmt = formats.by_key(format_key)
    extra = statistics_quads(kept_beside, settings.iris) if kept_beside else ()
    write_dump(store, fmt, output if output else sys.stdout.buffer, prefixes(settings.base_iri), left_out, extra)


def counted_after_going_live(settings: Settings) -> Figures | None:
    """The statistics a loaded build keeps beside it (not in its metadata graph)."""
    live = StoreLocation(settings.store_dir).current() if settings.store_dir else None
    return Figures.read(live.path) if live else None


def statistics_quads(figures: Figures, iris: Iris) -> list[ox.Quad]:
    graph = ox.NamedNode(iris.metadata_graph)
    return [ox.Quad(t.subject, t.predicate, t.object, graph) for t in statistics_triples(figures, iris)]


@main.command("check-links")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@setting_options
@click.pass_context
def check_links_command(ctx: click.Context, output_format: str, **options: Any) -> None:
    """Report identity links (Wikidata, GeoNames, official codes) that are malformed or duplicated.

    Exit status: 0 all links are well-formed and unique, 1 some are not.
    """
    settings = settings_from(ctx, options)
    report = check_links(open_store(Dataset.from_settings(settings), None), settings.base_iri)
    click.echo(report.as_text() if output_format == "text" else json.dumps(report.as_dict(), indent=2), nl=False)
    sys.exit(EXIT_CONFORMS if report.clean else EXIT_DOES_NOT_CONFORM)
