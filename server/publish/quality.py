"""The SHACL validation report of the published data, and its DQV measurements.

The quality of the published data: the SHACL validation report, once per data version, as
a document of its own (/validation-report) and as DQV measurements in the catalogue."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.namespaces import DCT, DQV, FOAF, OA, PROV, RDF, RDFS, SKOS, XSD, prefixes
from server.publish.terms import EXTRA_PREFIXES, date_time, in_language, node, triple, typed
from server.query.engine import DataVersion
from server.query.results import serialise_triples
from server.settings import Settings
from server.store.dataset import Dataset
from server.uris import Iris
from server.validation.validator import published_report_paths
from server.validation.workers import ValidationService
from server.web.errors import NotFound
from server.web.i18n import reader_language
from server.web.negotiation import negotiate
from server.web.represent import by_extension, represent, variant_headers
from server.web.services import services


@dataclass(frozen=True)
class QualitySummary:
    conforms: bool
    violations: int
    warnings: int
    computed: datetime


REMOTE_NO_REPORT = (
    "This server answers from a remote SPARQL store, whose data may differ from the files it could validate, "
    "so it publishes no validation report. Validate the data where they are curated: `sistercities validate`."
)


OTHER_DATA = (
    "The data served are not the curated files this server can validate as a whole: they were loaded with "
    "`sistercities load`, or the files changed since the server started (restart it to publish them with their "
    "report). Check data against the shapes with `sistercities validate FILE` or POST /validate."
)


class QualityReports:
    """The validation report of the published files, once per data version: computed by a
    validation worker and kept where `sistercities serve` keeps its own check (see
    server.validation.validator.published_report_paths)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()

    @property
    def available(self) -> bool:
        """Only the embedded store is built from the files we can validate."""
        return not self.settings.sparql_endpoint

    def paths(self, version: str) -> tuple[Path, Path]:
        return published_report_paths(self.settings, version)

    def summary(self, version: str) -> QualitySummary | None:
        """The outcome for this version if it is known already (never computed here)."""
        if not self.available:
            return None
        path = self.paths(version)[1]
        try:
            facts = json.loads(path.read_text(encoding="utf-8"))
            computed = datetime.fromtimestamp(int(path.stat().st_mtime), tz=UTC)
        except (OSError, ValueError):
            return None
        return QualitySummary(bool(facts["conforms"]), int(facts["violations"]), int(facts["warnings"]), computed)

    async def ensure(self, version: str, validation: ValidationService) -> tuple[Path, Path]:
        if not self.available:
            raise NotFound(REMOTE_NO_REPORT)
        turtle, report = self.paths(version)
        if turtle.exists() and report.exists():
            return turtle, report
        async with self._lock:
            if not (turtle.exists() and report.exists()):
                if Dataset.from_settings(self.settings).version != version:
                    raise NotFound(OTHER_DATA)
                await validation.publish_report()
        return turtle, report


def quality_triples(iris: Iris, dataset: ox.NamedNode, quality: QualitySummary) -> list[ox.Triple]:
    """The outcome of the SHACL validation as DQV measurements, and the report as an annotation."""
    report, shapes = node(iris.service("validation-report")), node(iris.shapes)
    generated = date_time(quality.computed)
    triples = [
        triple(report, RDF.type, FOAF.Document),
        triple(report, DCT.title, in_language("SHACL validation report of the published data", "en")),
        triple(report, PROV.wasDerivedFrom, shapes),
    ]
    metrics = (
        (
            "violations",
            quality.violations,
            "Number of results of severity sh:Violation when the data are checked against the project's SHACL shapes.",
        ),
        (
            "warnings",
            quality.warnings,
            "Number of results of severity sh:Warning when the data are checked against the project's SHACL shapes.",
        ),
    )
    for key, value, definition in metrics:
        metric = node(iris.service(f"catalog#metric-shacl-{key}"))
        measurement = node(iris.service(f"catalog#quality-shacl-{key}"))
        triples += [
            triple(metric, RDF.type, DQV.Metric),
            triple(metric, SKOS.definition, in_language(definition, "en")),
            triple(metric, DQV.expectedDataType, XSD.integer),
            triple(dataset, DQV.hasQualityMeasurement, measurement),
            triple(measurement, RDF.type, DQV.QualityMeasurement),
            triple(measurement, DQV.computedOn, dataset),
            triple(measurement, DQV.isMeasurementOf, metric),
            triple(measurement, DQV.value, typed(str(value), XSD.integer)),
            triple(measurement, PROV.wasDerivedFrom, shapes),
            triple(measurement, PROV.generatedAtTime, generated),
            triple(measurement, RDFS.seeAlso, report),
        ]
    annotation = node(iris.service("catalog#quality-report"))
    triples += [
        triple(dataset, DQV.hasQualityAnnotation, annotation),
        triple(annotation, RDF.type, DQV.QualityAnnotation),
        triple(annotation, OA.hasTarget, dataset),
        triple(annotation, OA.hasBody, report),
        triple(annotation, OA.motivatedBy, DQV.qualityAssessment),
    ]
    return triples


REPORT_FORMATS = (*formats.of_kind(formats.Kind.GRAPH), formats.JSON, formats.HTML)
REPORT_PATH = "/validation-report"


async def validation_report(request: Request) -> Response:
    """GET /validation-report: the SHACL report of the published data, once per data version."""
    return await report_response(request, negotiate(request.headers.get("accept"), REPORT_FORMATS), True)


async def validation_report_file(request: Request) -> Response:
    """GET /validation-report.ttl, .jsonld, .rdf, .nt, .json, .html: the report in one fixed format."""
    fmt = by_extension(request.path_params["ext"], REPORT_FORMATS)
    if fmt is None:
        offered = ", ".join(f"{REPORT_PATH}.{f.extension}" for f in REPORT_FORMATS)
        raise NotFound(f"The validation report is published as {offered} (or {REPORT_PATH}, negotiated).")
    return await report_response(request, fmt, False)


async def report_response(request: Request, fmt: formats.Format, negotiated: bool) -> Response:
    shared = services(request)
    reports = shared.get(QualityReports)
    if not reports.available:
        raise NotFound(REMOTE_NO_REPORT)

    async def build(version: DataVersion) -> bytes | Response:
        turtle, report = await reports.ensure(version.tag, shared.get(ValidationService))
        if fmt is formats.HTML:
            context = {"report": json.loads(report.read_text(encoding="utf-8")), "version": version}
            context["formats"] = [f for f in REPORT_FORMATS if f is not formats.HTML]
            return shared.templates.TemplateResponse(request, "validation-report.html", context)
        if fmt is formats.JSON:
            return report.read_bytes()
        if fmt is formats.TURTLE:
            return turtle.read_bytes()
        triples = list(ox.parse(path=turtle, format=ox.RdfFormat.TURTLE))
        return serialise_triples(triples, fmt, {**prefixes(shared.settings.base_iri), **EXTRA_PREFIXES})

    headers = variant_headers(REPORT_PATH, fmt, REPORT_FORMATS, negotiated)
    language = reader_language(request) if fmt is formats.HTML else ""  # the page's words follow the reader
    vary = "Accept, Accept-Language" if negotiated else ("Accept-Language" if fmt is formats.HTML else None)
    return await represent(request, fmt, f"report-{fmt.key}-{language}", build, vary=vary, headers=headers)
