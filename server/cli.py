"""The command line: the front door to the dataset and the server, with safe defaults."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import click
import pydantic
import uvicorn
from uvicorn.supervisors import Multiprocess

from server import __version__, formats
from server.namespaces import NAME_INDEX_GRAPH, prefixes
from server.publish.dumps import DUMP_FORMATS, write_dump
from server.settings import Settings
from server.store.build import Dataset, ensure_disk_store, open_store
from server.store.links import check_links
from server.validation.validator import (
    RdfSyntaxError,
    ValidationError,
    Validator,
    check_published_data,
    read_files,
)

EXIT_CONFORMS, EXIT_DOES_NOT_CONFORM, EXIT_CANNOT_RUN = 0, 1, 2


def settings_from(ctx: click.Context, **overrides: object) -> Settings:
    """Settings from the command line, then the environment, then the defaults; a value that is
    not valid stops the command with a usage error naming the setting (exit status 2)."""
    given = {k: v for k, v in {**ctx.obj, **overrides}.items() if v is not None}
    try:
        return Settings(**given)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise click.UsageError(f"invalid setting: {problems}", ctx) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sistercities")
@click.option("--base-iri", help="Public base IRI of the dataset (default: https://w3id.org/sistercities/).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the curated Turtle data.",
)
@click.option(
    "--ontology-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the ontology files.",
)
@click.option(
    "--shapes-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the SHACL shapes.",
)
@click.pass_context
def main(
    ctx: click.Context,
    base_iri: str | None,
    data_dir: Path | None,
    ontology_dir: Path | None,
    shapes_dir: Path | None,
) -> None:
    """Sister Cities Linked Data: validate, query and serve the dataset."""
    ctx.obj = {
        "base_iri": base_iri,
        "data_dir": data_dir,
        "ontology_dir": ontology_dir,
        "shapes_dir": shapes_dir,
    }


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "turtle", "json"]),
    default="text",
    show_default=True,
    help="Report as readable text, as a SHACL validation report in Turtle, or as JSON.",
)
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...], output_format: str) -> None:
    """Check RDF FILES (default: the published ontology and data) against the shapes.

    Syntax is checked first (errors name the file, line and column), then the SHACL shapes.
    Exit status: 0 the data conform, 1 they do not, 2 the check could not run.
    """
    try:
        validator = Validator.from_settings(settings_from(ctx))
        if files:
            data, origin = read_files(files, validator_base(ctx))
            report = validator.validate(data, origin)
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


def validator_base(ctx: click.Context) -> str:
    return settings_from(ctx).base_iri


@main.command()
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000; 0 picks a free port).")
@click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the store on disk here; reopened without reloading unless the sources changed.",
)
@click.option("--sparql-endpoint", help="Serve over this SPARQL 1.1 endpoint instead of the embedded store.")
@click.option("--query-timeout", type=float, help="Time limit per query in seconds (default 30).")
@click.option("--max-result-rows", type=int, help="Cap on rows or triples per answer (default 100000).")
@click.option(
    "--workers",
    "query_workers",
    type=int,
    help="Query worker processes (default: number of CPUs, at least 2).",
)
@click.option(
    "--reserved-workers",
    type=click.IntRange(min=0),
    help="More query workers, kept for the server's own page and search queries (default 1).",
)
@click.option(
    "--http-workers",
    type=click.IntRange(min=1),
    help="Processes accepting HTTP requests on the one socket, each with its own query workers (default 1).",
)
@click.option(
    "--result-cache-bytes",
    type=click.IntRange(min=0),
    help="Memory per process for answers remembered while the data version holds (default 64 MiB; 0: off).",
)
@click.option(
    "--worker-malloc",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A malloc library for the worker processes (LD_PRELOAD), e.g. "
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2: scans use less CPU than with glibc's malloc.",
)
@click.option("--no-validate", is_flag=True, help="Do not run the SHACL shapes over the data before serving.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.pass_context
def serve(ctx: click.Context, no_validate: bool, log_level: str, **options: object) -> None:
    """Validate and load the dataset, then serve it: SPARQL endpoint, pages, metadata and dumps."""
    settings = settings_from(ctx, **options, validate_on_load=False if no_validate else None)
    if settings.validate_on_load and not settings.sparql_endpoint:
        report = check_published_data(settings)
        if report is not None and not report.conforms:
            click.echo(report.as_text(), err=True)
            click.echo(
                "The data do not conform to the shapes; not serving them (use --no-validate to override).",
                err=True,
            )
            sys.exit(EXIT_DOES_NOT_CONFORM)
    if settings.store_dir is not None and not settings.sparql_endpoint:
        ensure_disk_store(Dataset.from_settings(settings), settings.store_dir)  # once, before any process
    listener = socket.create_server((settings.host, settings.port), reuse_port=False)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Serving Sister Cities Linked Data at http://{shown}:{port}/", err=False)
    sys.stdout.flush()
    serve_http(settings, listener, log_level)


def serve_http(settings: Settings, listener: socket.socket, log_level: str) -> None:
    """Run uvicorn on the bound socket: in this process, or in `http_workers` processes sharing it.

    Each HTTP process builds its own application (query workers, result cache) from the settings
    handed down in the environment; nothing else is shared, so any of them can answer any request.
    """
    from server.app import SETTINGS_ENVIRONMENT, create_app  # here: `validate` need not load the web stack

    options = {"log_level": log_level, "proxy_headers": True, "server_header": False}
    if settings.http_workers == 1:
        uvicorn.Server(uvicorn.Config(create_app(settings), **options)).run(sockets=[listener])
        return
    os.environ[SETTINGS_ENVIRONMENT] = settings.model_dump_json()
    config = uvicorn.Config("server.app:app_from_environment", factory=True, workers=settings.http_workers, **options)
    Multiprocess(config, sockets=[listener]).run()


@main.command()
@click.option(
    "--format",
    "format_key",
    type=click.Choice([f.key for f in DUMP_FORMATS]),
    default="nquads",
    show_default=True,
    help="nquads and trig keep the source graphs; the others write their merge.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: standard output)."
)
@click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use (and if needed build) the on-disk store here instead of loading into memory.",
)
@click.option(
    "--with-name-index",
    is_flag=True,
    help="Also write the auxiliary name-index graph (N-Quads, TriG), for a store that this server "
    "is to use in remote mode, so that reconciliation works there too.",
)
@click.pass_context
def dump(
    ctx: click.Context, format_key: str, output: Path | None, store_dir: Path | None, with_name_index: bool
) -> None:
    """Write the whole dataset, as a harvester or another SPARQL store would load it."""
    settings = settings_from(ctx, store_dir=store_dir)
    store = open_store(Dataset.from_settings(settings), settings.store_dir)
    fmt = formats.by_key(format_key)
    left_out = () if with_name_index else (settings.base_iri + NAME_INDEX_GRAPH,)
    write_dump(store, fmt, output if output else sys.stdout.buffer, prefixes(settings.base_iri), left_out)


@main.command("check-links")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def check_links_command(ctx: click.Context, output_format: str) -> None:
    """Report identity links (Wikidata, GeoNames, official codes) that are malformed or duplicated.

    Exit status: 0 all links are well-formed and unique, 1 some are not.
    """
    settings = settings_from(ctx)
    report = check_links(open_store(Dataset.from_settings(settings), None), settings.base_iri)
    click.echo(report.as_text() if output_format == "text" else json.dumps(report.as_dict(), indent=2), nl=False)
    sys.exit(EXIT_CONFORMS if report.clean else EXIT_DOES_NOT_CONFORM)
