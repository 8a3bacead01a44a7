"""Descriptions of the dataset for harvesters and crawlers: VoID, a DCAT-AP 3.0 catalogue, the
SHACL validation report, the sitemap and robots.txt.

What is where:
- The statistics (counts, partitions, graphs, temporal coverage, linksets) are computed once per
  data version when the store is built (server.store.statistics) and stored in the metadata graph, so
  that a remote store loaded with our N-Quads dump holds them too. VoID reads them back with one
  query; the catalogue reads the temporal coverage.
- Everything else is generated per request from constants here, the settings and the data
  version: titles, licences, formats (from the format registry), dump sizes and checksums (from
  the dump files once they exist) and the data-quality measurement (from the cached report).
- IRIs inside RDF always use the public base IRI (the server maps it onto its own host); the
  sitemap and robots.txt, which are read by crawlers of this very host, use its origin.

Only EU authority codes that could be confirmed are used (language ENG FIN SWE ZHO, data theme GOVE
INTR, country FIN CHN, licence CC_BY_4_0, access right PUBLIC, file types of RDF); the country
table's codes are the ISO 3166-1 alpha-3 codes. The tests list the DCAT-AP 3.0 mandatory and
recommended properties, citing the specification.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import pyoxigraph as ox
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.namespaces import prefixes
from server.publish import dumps
from server.query.engine import DataVersion, QueryEngine
from server.query.engine import construct as engine_construct
from server.query.engine import select as engine_select
from server.query.results import serialise_triples
from server.settings import Settings
from server.store.build import DATASET_PATH, METADATA_GRAPH, Dataset
from server.validation.service import ValidationService
from server.validation.validator import published_report_paths
from server.web import conditional
from server.web.errors import NotFound, ServiceUnavailable
from server.web.negotiation import negotiate

log = logging.getLogger(__name__)


class NS:
    """A namespace: NS("http://x/").term is the NamedNode http://x/term."""

    def __init__(self, iri: str) -> None:
        self.iri = iri

    def __getattr__(self, name: str) -> ox.NamedNode:
        return ox.NamedNode(self.iri + name)

    def __getitem__(self, name: str) -> ox.NamedNode:
        return ox.NamedNode(self.iri + name)


RDF = NS("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = NS("http://www.w3.org/2000/01/rdf-schema#")
XSD = NS("http://www.w3.org/2001/XMLSchema#")
DCT = NS("http://purl.org/dc/terms/")
DCAT = NS("http://www.w3.org/ns/dcat#")
FOAF = NS("http://xmlns.com/foaf/0.1/")
VCARD = NS("http://www.w3.org/2006/vcard/ns#")
SPDX = NS("http://spdx.org/rdf/terms#")
DQV = NS("http://www.w3.org/ns/dqv#")
OA = NS("http://www.w3.org/ns/oa#")
PROV = NS("http://www.w3.org/ns/prov#")
VOID = NS("http://rdfs.org/ns/void#")
SKOS = NS("http://www.w3.org/2004/02/skos/core#")

# EU Vocabularies authority tables (Publications Office of the EU), as DCAT-AP 3.0 requires.
EU = "http://publications.europa.eu/resource/authority/"
LANGUAGE = NS(EU + "language/")
DATA_THEME = NS(EU + "data-theme/")
DATA_THEMES = ox.NamedNode(EU + "data-theme")  # the scheme itself, for dcat:themeTaxonomy
COUNTRY = NS(EU + "country/")
LICENCE = NS(EU + "licence/")
ACCESS_RIGHT = NS(EU + "access-right/")
FILE_TYPE = NS(EU + "file-type/")
ADMS_LICENCE_TYPE = NS("http://purl.org/adms/licencetype/")
IANA = "http://www.iana.org/assignments/media-types/"
CC_BY = ox.NamedNode("https://creativecommons.org/licenses/by/4.0/")

# The EU file type of each dump format (table "file-type").
EU_FILE_TYPES = {
    formats.TURTLE.key: "RDF_TURTLE",
    formats.N_TRIPLES.key: "RDF_N_TRIPLES",
    formats.N_QUADS.key: "RDF_N_QUADS",
    formats.JSON_LD.key: "JSON_LD",
    formats.TRIG.key: "RDF_TRIG",
    formats.RDF_XML.key: "RDF_XML",
}

EXTRA_PREFIXES = {
    "vcard": VCARD.iri,
    "spdx": SPDX.iri,
    "dqv": DQV.iri,
    "oa": OA.iri,
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "eulang": LANGUAGE.iri,
    "eutheme": DATA_THEME.iri,
    "eucountry": COUNTRY.iri,
    "eulicence": LICENCE.iri,
    "euaccess": ACCESS_RIGHT.iri,
    "eufiletype": FILE_TYPE.iri,
}

SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
STATIC_PAGES = ("", "sparql", "ontology", "catalog", "dumps/")

TITLE = {
    "en": "Sister Cities Linked Data: town twinning and city cooperation",
    "fi": "Ystävyyskaupungit linkitettynä datana: ystävyyskaupunkisuhteet ja kaupunkien yhteistyö",
    "sv": "Vänorter som länkade data: vänortssamarbete och samarbete mellan städer",
}
DESCRIPTION = {
    "en": "Town-twinning (sister-city) agreements between cities, and the organisations, people in public "
    "roles and events around them, starting with Finnish–Chinese city cooperation. Every statement is "
    "traceable to the document it was taken from; where sources disagree, both claims are published.",
    "fi": "Kaupunkien väliset ystävyyskaupunkisopimukset sekä niihin liittyvät organisaatiot, julkisissa "
    "tehtävissä toimivat henkilöt ja tapahtumat, aluksi suomalais-kiinalaisen kaupunkiyhteistyön osalta. "
    "Jokaisen tiedon lähdeasiakirja on nimetty; jos lähteet ovat ristiriidassa, molemmat väitteet julkaistaan.",
    "sv": "Vänortsavtal mellan städer samt organisationer, personer i offentliga roller och evenemang kring "
    "dem, till att börja med finländsk-kinesiskt samarbete mellan städer. Varje uppgift anger det "
    "källdokument den har hämtats från; där källorna är oense publiceras båda uppgifterna.",
}
CATALOGUE_TITLE = {
    "en": "Sister Cities Linked Data catalogue",
    "fi": "Sister Cities Linked Data -aineistoluettelo",
    "sv": "Datakatalog för Sister Cities Linked Data",
}
CATALOGUE_DESCRIPTION = {
    "en": "The datasets and data services published by Sister Cities Linked Data.",
    "fi": "Sister Cities Linked Data -hankkeen julkaisemat aineistot ja datapalvelut.",
    "sv": "Datamängder och datatjänster som publiceras av Sister Cities Linked Data.",
}
SERVICE_TITLE = {
    "en": "Sister Cities SPARQL endpoint",
    "fi": "Sister Cities -aineiston SPARQL-rajapinta",
    "sv": "SPARQL-ändpunkt för Sister Cities-data",
}
SERVICE_DESCRIPTION = (
    "A read-only SPARQL 1.1 Protocol endpoint over the whole dataset: the named graph of each source and "
    "a default graph that is their merge. Queries have a time limit and a cap on result rows, both stated "
    "in the service description."
)
KEYWORDS = {
    "en": ("town twinning", "sister cities", "twin towns", "city cooperation", "Finland", "China", "linked data"),
    "fi": ("ystävyyskaupungit", "kaupunkien yhteistyö", "Suomi", "Kiina"),
    "sv": ("vänorter", "samarbete mellan städer", "Finland", "Kina"),
}
PROVENANCE = (
    "Curated by hand from news articles and reports of cities and business associations, and from reference "
    "datasets (Wikidata, GeoNames, official codes of Finnish municipalities and Chinese divisions). Each source "
    "file is loaded into its own named graph, and the graph says which source it was taken from "
    "(prov:wasDerivedFrom); claims also name their source with dct:source. Links that follow from the curated "
    "statements are derived when the data are loaded, into a graph of their own."
)
PUBLISHER_NAME = "Sister Cities Linked Data"
CONTACT_NAME = "Sister Cities Linked Data – data team"


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _t(s: ox.NamedNode | ox.BlankNode, p: ox.NamedNode, o: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.Triple:
    return ox.Triple(s, p, o)


def _lang(text: str, language: str) -> ox.Literal:
    return ox.Literal(text, language=language)


def _typed(value: str, datatype: ox.NamedNode) -> ox.Literal:
    return ox.Literal(value, datatype=datatype)


def _datetime(value: datetime) -> ox.Literal:
    return _typed(value.astimezone(UTC).isoformat().replace("+00:00", "Z"), XSD.dateTime)


def grouped_by_subject(triples: list[ox.Triple]) -> list[ox.Triple]:
    """The triples of each subject together (so that Turtle writes each subject once), subjects in
    the order they first appear."""
    order: dict = {}
    for triple in triples:
        order.setdefault(triple.subject, len(order))
    return sorted(triples, key=lambda triple: order[triple.subject])


def serialise(triples: list[ox.Triple], fmt: formats.Format, settings: Settings) -> bytes:
    return serialise_triples(grouped_by_subject(triples), fmt, {**prefixes(settings.base_iri), **EXTRA_PREFIXES})


def namespace_of(iri: str) -> str:
    return iri[: max(iri.rfind("#"), iri.rfind("/")) + 1]


# --- Reading from the store ---------------------------------------------------------------


# Internal queries may ask for more rows than the public cap: the statistics are a few hundred
# triples per class and property, and the sitemap lists every thing.
INTERNAL_MAX_ROWS = 1_000_000


async def select(engine: QueryEngine, query: str) -> list[ox.QuerySolution]:
    return await engine_select(engine, query, INTERNAL_MAX_ROWS)


async def construct(engine: QueryEngine, query: str) -> list[ox.Triple]:
    return await engine_construct(engine, query, INTERNAL_MAX_ROWS)


async def stored_metadata(engine: QueryEngine, base_iri: str) -> list[ox.Triple]:
    """The metadata graph: the version record and the build-time statistics."""
    return await construct(
        engine, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{base_iri}{METADATA_GRAPH}> {{ ?s ?p ?o }} }}"
    )


async def example_places(engine: QueryEngine, base_iri: str, limit: int = 3) -> list[str]:
    """The places described by the most statements."""
    query = (
        "SELECT ?s (COUNT(*) AS ?n) WHERE { ?s ?p ?o "
        f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{base_iri}id/place/")) }} '
        f"GROUP BY ?s ORDER BY DESC(?n) ?s LIMIT {limit}"
    )
    return [row["s"].value for row in await select(engine, query)]


@dataclass(frozen=True)
class StoredFacts:
    """What the catalogue takes from the store: the temporal coverage and the first publication."""

    start: ox.Literal | None = None
    end: ox.Literal | None = None
    issued: ox.Literal | None = None


async def stored_facts(engine: QueryEngine, base_iri: str) -> StoredFacts:
    query = (
        f"SELECT ?start ?end ?issued WHERE {{ "
        f"OPTIONAL {{ GRAPH <{base_iri}{METADATA_GRAPH}> {{ <{base_iri}{DATASET_PATH}> <{DCT.iri}temporal> ?t . "
        f"?t <{DCAT.iri}startDate> ?start ; <{DCAT.iri}endDate> ?end }} }} "
        f"OPTIONAL {{ <{base_iri}ontology> <{DCT.iri}created> ?issued }} }} LIMIT 1"
    )
    rows = await select(engine, query)
    if not rows:
        return StoredFacts()
    return StoredFacts(rows[0]["start"], rows[0]["end"], rows[0]["issued"])


# --- Data quality: the SHACL validation report, once per data version ----------------------


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
                    raise ServiceUnavailable(
                        "The source files changed since the server loaded them; the report would describe other "
                        "data than those served. Restart the server to publish the new data and their report."
                    )
                await validation.publish_report()
        return turtle, report


# --- VoID -----------------------------------------------------------------------------------


def dump_url(base_iri: str, spec: dumps.DumpSpec) -> str:
    return f"{base_iri}dumps/{spec.name}"


def void_triples(settings: Settings, stored: list[ox.Triple], examples: list[str]) -> list[ox.Triple]:
    """The VoID description: what is true of the dataset, and the stored statistics."""
    base = settings.base_iri
    dataset = _n(base + DATASET_PATH)
    document = _n(base + ".well-known/void")
    triples = [
        _t(document, RDF.type, VOID.DatasetDescription),
        _t(document, DCT.title, _lang("VoID description of Sister Cities Linked Data", "en")),
        _t(document, FOAF.primaryTopic, dataset),
        _t(dataset, RDF.type, VOID.Dataset),
        *(_t(dataset, DCT.title, _lang(text, lang)) for lang, text in TITLE.items()),
        *(_t(dataset, DCT.description, _lang(text, lang)) for lang, text in DESCRIPTION.items()),
        _t(dataset, DCT.license, CC_BY),
        _t(dataset, DCT.publisher, _n(base + "id/organisation/sister-cities-linked-data")),
        _t(dataset, FOAF.homepage, _n(base)),
        _t(dataset, VOID.sparqlEndpoint, _n(base + "sparql")),
        _t(dataset, VOID.uriSpace, ox.Literal(base + "id/")),
        _t(dataset, RDFS.seeAlso, _n(base + "catalog")),
    ]
    for spec in dumps.DUMPS:
        triples.append(_t(dataset, VOID.dataDump, _n(dump_url(base, spec))))
    for fmt in dict.fromkeys(spec.fmt for spec in dumps.DUMPS):
        triples.append(_t(dataset, VOID.feature, _n(fmt.rdf.iri)))
    for example in examples:
        triples.append(_t(dataset, VOID.exampleResource, _n(example)))
    used = {
        namespace_of(t.object.value)
        for t in stored
        if t.predicate in (VOID["class"], VOID.property) and isinstance(t.object, ox.NamedNode)
    }
    for namespace in sorted(used):
        triples.append(_t(dataset, VOID.vocabulary, _n(namespace)))
    return triples + stored


# --- The DCAT-AP 3.0 catalogue ---------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueFacts:
    """Everything the catalogue says that is not a constant."""

    base_iri: str
    version: DataVersion
    stored: StoredFacts
    dump_files: dict[str, dumps.DumpFile | None]
    quality: QualitySummary | None
    contact_url: str

    @property
    def state(self) -> str:
        """What, besides the data version, changes the catalogue: files produced, report computed."""
        known = [(name, f.sha256 if f else None) for name, f in sorted(self.dump_files.items())]
        quality = (self.quality.conforms, self.quality.violations, self.quality.warnings) if self.quality else None
        raw = json.dumps([known, quality, self.contact_url])
        return hashlib.sha256(raw.encode()).hexdigest()[:10]


def catalogue_triples(facts: CatalogueFacts) -> list[ox.Triple]:
    base = facts.base_iri
    catalogue, dataset, service = _n(base + "catalog"), _n(base + DATASET_PATH), _n(base + "sparql")
    publisher, contact = _n(base + "id/organisation/sister-cities-linked-data"), _n(base + "catalog#contact-point")
    homepage, licence, public = _n(base), LICENCE.CC_BY_4_0, ACCESS_RIGHT.PUBLIC
    countries = (COUNTRY.FIN, COUNTRY.CHN)
    modified = _datetime(facts.version.modified) if facts.version.modified else None
    triples = [
        # The catalogue (DCAT-AP 3.0 "Catalogue")
        _t(catalogue, RDF.type, DCAT.Catalog),
        *(_t(catalogue, DCT.title, _lang(text, lang)) for lang, text in CATALOGUE_TITLE.items()),
        *(_t(catalogue, DCT.description, _lang(text, lang)) for lang, text in CATALOGUE_DESCRIPTION.items()),
        _t(catalogue, DCT.publisher, publisher),
        _t(catalogue, FOAF.homepage, homepage),
        *(_t(catalogue, DCT.language, LANGUAGE[code]) for code in ("ENG", "FIN", "SWE")),
        _t(catalogue, DCT.license, licence),
        *(_t(catalogue, DCT.spatial, country) for country in countries),
        _t(catalogue, DCAT.themeTaxonomy, DATA_THEMES),
        _t(catalogue, DCAT.dataset, dataset),
        _t(catalogue, DCAT.service, service),
        # The publisher (DCAT-AP "Agent"). Its kind (dct:type from the ADMS publisher types) is
        # left out: nothing in the data says what legal kind of organisation the team is.
        _t(publisher, RDF.type, FOAF.Agent),
        _t(publisher, RDF.type, FOAF.Organization),
        _t(publisher, FOAF.name, ox.Literal(PUBLISHER_NAME)),
        _t(publisher, FOAF.homepage, homepage),
        # The contact point: a function of the organisation, not a person (DCAT-AP "Kind")
        _t(contact, RDF.type, VCARD.Kind),
        _t(contact, RDF.type, VCARD.Organization),
        _t(contact, VCARD.fn, ox.Literal(CONTACT_NAME)),
        contact_channel(contact, facts.contact_url),
        # The licence (DCAT-AP "Licence Document")
        _t(licence, RDF.type, DCT.LicenseDocument),
        _t(licence, DCT.type, ADMS_LICENCE_TYPE.Attribution),
        _t(licence, RDFS.seeAlso, CC_BY),
        # The dataset
        _t(dataset, RDF.type, DCAT.Dataset),
        *(_t(dataset, DCT.title, _lang(text, lang)) for lang, text in TITLE.items()),
        *(_t(dataset, DCT.description, _lang(text, lang)) for lang, text in DESCRIPTION.items()),
        _t(dataset, DCT.identifier, ox.Literal(base + DATASET_PATH)),
        _t(dataset, DCAT.contactPoint, contact),
        _t(dataset, DCT.publisher, publisher),
        *(_t(dataset, DCAT.keyword, _lang(word, lang)) for lang, words in KEYWORDS.items() for word in words),
        *(_t(dataset, DCT.spatial, country) for country in countries),
        *(_t(dataset, DCAT.theme, DATA_THEME[code]) for code in ("GOVE", "INTR")),
        *(_t(dataset, DCT.language, LANGUAGE[code]) for code in ("ENG", "FIN", "SWE", "ZHO")),
        _t(dataset, DCT.conformsTo, _n(base + "ontology")),
        _t(dataset, DCT.conformsTo, _n(base + "shapes")),
        _t(dataset, DCAT.landingPage, homepage),
        _t(dataset, DCT.accessRights, public),
        _t(dataset, FOAF.page, _n(base + "sparql")),
        _t(dataset, FOAF.page, _n(base + "dumps/")),
        _t(dataset, RDFS.seeAlso, _n(base + ".well-known/void")),
        # The SPARQL endpoint (DCAT-AP "Data Service")
        _t(service, RDF.type, DCAT.DataService),
        *(_t(service, DCT.title, _lang(text, lang)) for lang, text in SERVICE_TITLE.items()),
        _t(service, DCT.description, _lang(SERVICE_DESCRIPTION, "en")),
        _t(service, DCAT.endpointURL, service),
        _t(service, DCAT.endpointDescription, service),  # GET without a query: the service description
        _t(service, DCAT.servesDataset, dataset),
        _t(service, DCT.conformsTo, _n("http://www.w3.org/TR/sparql11-protocol/")),
        _t(service, DCT.license, licence),
        _t(service, DCT.accessRights, public),
        _t(service, DCT.publisher, publisher),
        _t(service, DCAT.contactPoint, contact),
    ]
    provenance = _n(base + "catalog#provenance")
    triples += [
        _t(dataset, DCT.provenance, provenance),
        _t(provenance, RDF.type, DCT.ProvenanceStatement),
        _t(provenance, RDFS.label, _lang(PROVENANCE, "en")),
    ]
    if facts.version.tag:
        triples.append(_t(dataset, DCAT.version, ox.Literal(facts.version.tag)))
    if modified is not None:
        triples += [_t(catalogue, DCT.modified, modified), _t(dataset, DCT.modified, modified)]
    if facts.stored.issued is not None:
        triples += [_t(catalogue, DCT.issued, facts.stored.issued), _t(dataset, DCT.issued, facts.stored.issued)]
    if facts.stored.start is not None and facts.stored.end is not None:
        period = _n(base + "catalog#temporal-coverage")
        triples += [
            _t(dataset, DCT.temporal, period),
            _t(period, RDF.type, DCT.PeriodOfTime),
            _t(period, DCAT.startDate, facts.stored.start),
            _t(period, DCAT.endDate, facts.stored.end),
        ]
    for spec in dumps.DUMPS:
        triples += distribution_triples(facts, spec, dataset, licence, modified)
    if facts.quality is not None:
        triples += quality_triples(base, dataset, facts.quality)
    return triples


def contact_channel(contact: ox.NamedNode, url: str) -> ox.Triple:
    if url.startswith("mailto:"):
        return _t(contact, VCARD.hasEmail, _n(url))
    return _t(contact, VCARD.hasURL, _n(url))


def distribution_triples(
    facts: CatalogueFacts,
    spec: dumps.DumpSpec,
    dataset: ox.NamedNode,
    licence: ox.NamedNode,
    modified: ox.Literal | None,
) -> list[ox.Triple]:
    base = facts.base_iri
    node, url = _n(f"{base}catalog#distribution-{spec.key}"), _n(dump_url(base, spec))
    content = "every graph" if spec.with_graphs else "the merge of all graphs"
    packed = ", gzipped" if spec.gzipped else ""
    triples = [
        _t(dataset, DCAT.distribution, node),
        _t(node, RDF.type, DCAT.Distribution),
        _t(node, DCT.title, _lang(f"{spec.fmt.label} dump ({content}{packed})", "en")),
        _t(node, DCT.description, _lang(spec.description, "en")),
        _t(node, DCAT.accessURL, url),
        _t(node, DCAT.downloadURL, url),
        _t(node, DCAT.mediaType, _n(IANA + spec.fmt.media_type)),
        _t(node, DCT.format, FILE_TYPE[EU_FILE_TYPES[spec.fmt.key]]),
        _t(node, DCT.license, licence),
        _t(node, DCT.accessRights, ACCESS_RIGHT.PUBLIC),
    ]
    if spec.gzipped:
        triples.append(_t(node, DCAT.compressFormat, _n(IANA + formats.GZIP.media_type)))
    if modified is not None:
        triples.append(_t(node, DCT.modified, modified))
    found = facts.dump_files.get(spec.name)
    if found is not None:
        checksum = _n(f"{base}catalog#checksum-{spec.key}")
        triples += [
            _t(node, DCAT.byteSize, _typed(str(found.size), XSD.nonNegativeInteger)),
            _t(node, SPDX.checksum, checksum),
            _t(checksum, RDF.type, SPDX.Checksum),
            _t(checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256),
            _t(checksum, SPDX.checksumValue, _typed(found.sha256, XSD.hexBinary)),
        ]
    return triples


def quality_triples(base: str, dataset: ox.NamedNode, quality: QualitySummary) -> list[ox.Triple]:
    """The outcome of the SHACL validation as DQV measurements, and the report as an annotation."""
    report, shapes = _n(base + "validation-report"), _n(base + "shapes")
    generated = _datetime(quality.computed)
    triples = [
        _t(report, RDF.type, FOAF.Document),
        _t(report, DCT.title, _lang("SHACL validation report of the published data", "en")),
        _t(report, PROV.wasDerivedFrom, shapes),
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
        metric, measurement = _n(f"{base}catalog#metric-shacl-{key}"), _n(f"{base}catalog#quality-shacl-{key}")
        triples += [
            _t(metric, RDF.type, DQV.Metric),
            _t(metric, SKOS.definition, _lang(definition, "en")),
            _t(metric, DQV.expectedDataType, XSD.integer),
            _t(dataset, DQV.hasQualityMeasurement, measurement),
            _t(measurement, RDF.type, DQV.QualityMeasurement),
            _t(measurement, DQV.computedOn, dataset),
            _t(measurement, DQV.isMeasurementOf, metric),
            _t(measurement, DQV.value, _typed(str(value), XSD.integer)),
            _t(measurement, PROV.wasDerivedFrom, shapes),
            _t(measurement, PROV.generatedAtTime, generated),
            _t(measurement, RDFS.seeAlso, report),
        ]
    annotation = _n(base + "catalog#quality-report")
    triples += [
        _t(dataset, DQV.hasQualityAnnotation, annotation),
        _t(annotation, RDF.type, DQV.QualityAnnotation),
        _t(annotation, OA.hasTarget, dataset),
        _t(annotation, OA.hasBody, report),
        _t(annotation, OA.motivatedBy, DQV.qualityAssessment),
    ]
    return triples


# --- HTTP -----------------------------------------------------------------------------------


GRAPH_FORMATS = formats.of_kind(formats.Kind.GRAPH)


async def rdf_answer(
    request: Request, fmt: formats.Format, variant: str, build, extra: dict[str, str] | None = None
) -> Response:
    """A negotiated RDF document with validators from the data version; `build` makes its triples."""
    version = await request.app.state.engine.data_version()
    headers = {**conditional.validators(version, variant), "Vary": "Accept", **(extra or {})}
    if conditional.is_fresh(request, headers):
        return conditional.not_modified(headers)
    body = serialise(await build(version), fmt, request.app.state.settings)
    return Response(body, headers=headers, media_type=fmt.media_type)


async def void_description(request: Request) -> Response:
    """GET /.well-known/void: the VoID description with the stored statistics."""
    fmt = negotiate(request.headers.get("accept"), GRAPH_FORMATS)
    settings, engine = request.app.state.settings, request.app.state.engine

    async def build(version: DataVersion) -> list[ox.Triple]:
        stored = await stored_metadata(engine, settings.base_iri)
        return void_triples(settings, stored, await example_places(engine, settings.base_iri))

    return await rdf_answer(request, fmt, f"void-{fmt.key}", build)


async def catalogue_facts(request: Request, version: DataVersion) -> CatalogueFacts:
    settings, engine = request.app.state.settings, request.app.state.engine
    files: dict[str, dumps.DumpFile | None] = {}
    if version.tag:
        store = request.app.state.dump_store
        store.produce_in_background(engine, version.tag)  # so that sizes and checksums follow
        files = {spec.name: store.ready(version.tag, spec) for spec in dumps.DUMPS}
    reports: QualityReports = request.app.state.quality_reports
    return CatalogueFacts(
        settings.base_iri,
        version,
        await stored_facts(engine, settings.base_iri),
        files,
        reports.summary(version.tag) if version.tag else None,
        settings.contact_url or settings.base_iri,
    )


async def catalogue_response(request: Request, fmt: formats.Format, negotiated: bool) -> Response:
    version = await request.app.state.engine.data_version()
    facts = await catalogue_facts(request, version)
    headers = {**conditional.validators(version, f"catalog-{fmt.key}-{facts.state}")}
    if negotiated:
        headers["Vary"] = "Accept"
        headers["Content-Location"] = str(request.url_for("catalog_file", ext=fmt.extension))
    if conditional.is_fresh(request, headers):
        return conditional.not_modified(headers)
    body = serialise(catalogue_triples(facts), fmt, request.app.state.settings)
    return Response(body, headers=headers, media_type=fmt.media_type)


async def catalogue(request: Request) -> Response:
    """GET /catalog: the DCAT-AP catalogue in the format the client asks for (Turtle by default)."""
    return await catalogue_response(request, negotiate(request.headers.get("accept"), GRAPH_FORMATS), True)


async def catalogue_file(request: Request) -> Response:
    """GET /catalog.ttl, .rdf, .jsonld, .nt: the catalogue in one fixed format."""
    fmt = formats.by_extension(request.path_params["ext"], formats.Kind.GRAPH)
    if fmt is None:
        offered = ", ".join(f"/catalog.{f.extension}" for f in GRAPH_FORMATS)
        raise NotFound(f"The catalogue is published as {offered} (or /catalog, negotiated).")
    return await catalogue_response(request, fmt, False)


REPORT_FORMATS = (*GRAPH_FORMATS, formats.JSON, formats.HTML)


async def validation_report(request: Request) -> Response:
    """GET /validation-report: the SHACL report of the published data, once per data version."""
    fmt = negotiate(request.headers.get("accept"), REPORT_FORMATS)
    reports: QualityReports = request.app.state.quality_reports
    version = await request.app.state.engine.data_version()
    if not reports.available:
        raise NotFound(REMOTE_NO_REPORT)
    headers = {**conditional.validators(version, f"report-{fmt.key}"), "Vary": "Accept"}
    if conditional.is_fresh(request, headers):
        return conditional.not_modified(headers)
    turtle, report = await reports.ensure(version.tag, request.app.state.validation)
    if fmt is formats.HTML:
        return request.app.state.templates.TemplateResponse(
            request,
            "validation-report.html",
            {"report": json.loads(report.read_text(encoding="utf-8")), "version": version},
            headers=headers,
        )
    if fmt is formats.JSON:
        return Response(report.read_bytes(), headers=headers, media_type=fmt.media_type)
    if fmt is formats.TURTLE:
        body = turtle.read_bytes()
    else:
        triples = list(ox.parse(path=turtle, format=ox.RdfFormat.TURTLE))
        body = serialise_triples(triples, fmt, {**prefixes(request.app.state.settings.base_iri), **EXTRA_PREFIXES})
    return Response(body, headers=headers, media_type=fmt.media_type)


# --- Sitemap and robots.txt ------------------------------------------------------------------


def origin_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def doc_expression(base_iri: str) -> tuple[str, str]:
    """SPARQL that binds ?doc to the IRI of each thing under {base}id/ without its fragment."""
    space = f"{base_iri}id/"
    pattern = (
        f'?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{space}")) '
        'BIND(IF(CONTAINS(STR(?s), "#"), STRBEFORE(STR(?s), "#"), STR(?s)) AS ?doc)'
    )
    return space, pattern


async def thing_count(engine: QueryEngine, base_iri: str) -> int:
    _, pattern = doc_expression(base_iri)
    rows = await select(engine, f"SELECT (COUNT(DISTINCT ?doc) AS ?n) WHERE {{ {pattern} }}")
    return int(rows[0]["n"].value) if rows else 0


async def counted_things(request: Request, version: DataVersion) -> int:
    """The number of things, counted once per data version (a scan of every triple)."""
    memo: dict = request.app.state.sitemap_counts
    if version.tag is None or version.tag not in memo:
        count = await thing_count(request.app.state.engine, request.app.state.settings.base_iri)
        if version.tag is None:
            return count
        memo.clear()
        memo[version.tag] = count
    return memo[version.tag]


async def thing_iris(engine: QueryEngine, base_iri: str, offset: int, limit: int) -> list[str]:
    if limit <= 0:
        return []
    _, pattern = doc_expression(base_iri)
    query = f"SELECT DISTINCT ?doc WHERE {{ {pattern} }} ORDER BY ?doc OFFSET {offset} LIMIT {limit}"
    return [row["doc"].value for row in await select(engine, query)]


def document_url(origin: str, base_iri: str, iri: str) -> str:
    """{base}id/place/kuopio -> {origin}/doc/place/kuopio, as a URI (IRIs may hold any character)."""
    path = "/doc/" + iri[len(base_iri + "id/") :]
    return origin + quote(path, safe="/:@!$&'()*+,;=-._~%")


def page_count(things: int, page_size: int) -> int:
    return max(1, -(-(len(STATIC_PAGES) + things) // page_size))


def urlset(urls: list[str], lastmod: str | None) -> bytes:
    stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    entries = "".join(f"<url><loc>{escape(url)}</loc>{stamp}</url>\n" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + entries + "</urlset>\n"
    ).encode()


def sitemap_index(urls: list[str], lastmod: str | None) -> bytes:
    stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    entries = "".join(f"<sitemap><loc>{escape(url)}</loc>{stamp}</sitemap>\n" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + entries + "</sitemapindex>\n"
    ).encode()


async def page_urls(engine: QueryEngine, base_iri: str, origin: str, page: int, page_size: int) -> list[str]:
    """The URLs of one sitemap page: the site's own pages first, then one per thing."""
    start, end = (page - 1) * page_size, page * page_size
    static = [f"{origin}/{path}" for path in STATIC_PAGES][start:end]
    offset = max(0, start - len(STATIC_PAGES))
    limit = end - max(start, len(STATIC_PAGES))
    things = await thing_iris(engine, base_iri, offset, limit)
    return static + [document_url(origin, base_iri, iri) for iri in things]


def sitemap_page_size(engine: QueryEngine) -> int:
    return max(1, min(SITEMAP_LIMIT, engine.max_rows))


async def xml_answer(request: Request, variant: str, build) -> Response:
    version = await request.app.state.engine.data_version()
    origin_key = hashlib.sha256(origin_of(request).encode()).hexdigest()[:8]
    headers = conditional.validators(version, f"{variant}-{origin_key}")
    if conditional.is_fresh(request, headers):
        return conditional.not_modified(headers)
    lastmod = version.modified.astimezone(UTC).isoformat() if version.modified else None
    return Response(await build(version, lastmod), headers=headers, media_type=formats.XML.media_type)


async def sitemap(request: Request) -> Response:
    """GET /sitemap.xml: every page of the site, or an index of sitemaps beyond 50,000 URLs."""
    engine, base = request.app.state.engine, request.app.state.settings.base_iri
    origin, size = origin_of(request), sitemap_page_size(engine)

    async def build(version: DataVersion, lastmod: str | None) -> bytes:
        pages = page_count(await counted_things(request, version), size)
        if pages == 1:
            return urlset(await page_urls(engine, base, origin, 1, size), lastmod)
        locations = [str(request.url_for("sitemap_page", page=n)) for n in range(1, pages + 1)]
        return sitemap_index(locations, lastmod)

    return await xml_answer(request, "sitemap", build)


async def sitemap_page(request: Request) -> Response:
    """GET /sitemap-{n}.xml: one part of a sitemap too large for one file."""
    engine, base = request.app.state.engine, request.app.state.settings.base_iri
    origin, size, page = origin_of(request), sitemap_page_size(engine), request.path_params["page"]

    async def build(version: DataVersion, lastmod: str | None) -> bytes:
        if not 1 <= page <= page_count(await counted_things(request, version), size):
            raise NotFound(f"There is no sitemap part {page}; see {request.url_for('sitemap')}.")
        return urlset(await page_urls(engine, base, origin, page, size), lastmod)

    return await xml_answer(request, f"sitemap-{page}", build)


async def robots(request: Request) -> Response:
    """GET /robots.txt: everything may be crawled except query URLs, which are endless."""
    text = (
        "# Sister Cities Linked Data: every page may be crawled; SPARQL query URLs may not.\n"
        "User-agent: *\n"
        "Allow: /\n"
        "Disallow: /sparql?\n"
        f"Sitemap: {origin_of(request)}/sitemap.xml\n"
    )
    return Response(text, media_type=f"{formats.TEXT.media_type}; charset=utf-8")


def register(app: FastAPI) -> None:
    """Add the metadata, data-quality, dump, sitemap and robots.txt routes to the application."""
    settings: Settings = app.state.settings
    app.state.quality_reports = QualityReports(settings)
    app.state.sitemap_counts = {}
    dumps.register(app)
    read = ["GET", "HEAD"]
    app.add_route("/.well-known/void", void_description, methods=read, name="void")
    app.add_route("/catalog", catalogue, methods=read, name="catalog")
    app.add_route("/catalog.{ext}", catalogue_file, methods=read, name="catalog_file")
    app.add_route("/validation-report", validation_report, methods=read, name="validation_report")
    app.add_route("/sitemap.xml", sitemap, methods=read, name="sitemap")
    app.add_route("/sitemap-{page:int}.xml", sitemap_page, methods=read, name="sitemap_page")
    app.add_route("/robots.txt", robots, methods=read, name="robots")
