"""The DCAT-AP 3.0 catalogue at /catalog.

The DCAT-AP 3.0 catalogue at /catalog: the catalogue, the dataset, one distribution per dump,
the SPARQL endpoint as a data service, and the data-quality measurements.

Everything is generated per request from constants (server.publish.terms), the settings and the
data version: titles, licences, formats (from the format registry), dump sizes and checksums (from
the dump files once they exist) and the quality (from the cached report). IRIs inside RDF always
use the public base IRI. The tests list the DCAT-AP 3.0 mandatory and recommended properties,
citing the specification.

Every resource the catalogue refers to is typed with the class DCAT-AP gives the property's range
(RANGES), and EU authority codes carry their names: harvesters validate one document at a time
against the official DCAT-AP shapes, whose class constraints cannot see types stated elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from server import formats
from server.namespaces import DCAT, DCT, FOAF, RDF, RDFS, SKOS, SPDX, VCARD, XSD
from server.publish import dumps
from server.publish.quality import QualityReports, QualitySummary, quality_triples
from server.publish.stored import StoredFacts, stored_facts
from server.publish.terms import (
    ACCESS_RIGHT,
    ADMS_LICENCE_TYPE,
    AUTHORITY_LABELS,
    CATALOGUE_DESCRIPTION,
    CATALOGUE_TITLE,
    CC_BY,
    CONTACT_NAME,
    COUNTRY,
    DATA_THEME,
    DATA_THEMES,
    DESCRIPTION,
    EU_FILE_TYPES,
    FILE_TYPE,
    IANA,
    KEYWORDS,
    LANGUAGE,
    LICENCE,
    PROVENANCE,
    PUBLISHER_NAME,
    SCHEME_TITLES,
    SERVICE_DESCRIPTION,
    SERVICE_TITLE,
    SPARQL_PROTOCOL,
    STANDARD_TITLES,
    TITLE,
    date_time,
    in_language,
    node,
    serialise,
    triple,
    typed,
)
from server.publish.views import catalogue_view
from server.publish.void import dump_url
from server.query.engine import DataVersion
from server.query.facts import facts_about
from server.uris import Iris
from server.web.errors import NotFound
from server.web.i18n import reader_language
from server.web.negotiation import negotiate
from server.web.represent import by_extension, represent, variant_headers
from server.web.services import services

GRAPH_FORMATS = formats.of_kind(formats.Kind.GRAPH)
CATALOGUE_FORMATS = (*GRAPH_FORMATS, formats.HTML)  # RDF unless a page is preferred: programs get Turtle

# The class DCAT-AP 3.0.1 gives the range of each property the catalogue uses with an IRI value
# that is not described as a class of its own here (its shapes check them with sh:class).
RANGES = {
    DCT.language: DCT.LinguisticSystem,
    DCT.spatial: DCT.Location,
    DCT.accessRights: DCT.RightsStatement,
    DCT.conformsTo: DCT.Standard,
    DCT.format: DCT.MediaTypeOrExtent,
    DCT.license: DCT.LicenseDocument,
    DCT.type: SKOS.Concept,
    DCAT.mediaType: DCT.MediaType,
    DCAT.compressFormat: DCT.MediaType,
    DCAT.theme: SKOS.Concept,
    DCAT.themeTaxonomy: SKOS.ConceptScheme,
    DCAT.landingPage: FOAF.Document,
    FOAF.homepage: FOAF.Document,
    FOAF.page: FOAF.Document,
    DCAT.endpointURL: RDFS.Resource,
    DCAT.endpointDescription: RDFS.Resource,
    SPDX.algorithm: SPDX.ChecksumAlgorithm,
}


@dataclass(frozen=True)
class CatalogueFacts:
    """Everything the catalogue says that is not a constant."""

    iris: Iris
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
    iris = facts.iris
    catalogue, dataset, service = node(iris.service("catalog")), node(iris.dataset), node(iris.service("sparql"))
    publisher, contact = node(iris.publisher), node(iris.service("catalog#contact-point"))
    homepage, licence, public = node(iris.base), LICENCE.CC_BY_4_0, ACCESS_RIGHT.PUBLIC
    countries = (COUNTRY.FIN, COUNTRY.CHN)
    modified = date_time(facts.version.modified) if facts.version.modified else None
    triples = [
        # The catalogue (DCAT-AP 3.0 "Catalogue")
        triple(catalogue, RDF.type, DCAT.Catalog),
        *(triple(catalogue, DCT.title, in_language(text, lang)) for lang, text in CATALOGUE_TITLE.items()),
        *(triple(catalogue, DCT.description, in_language(text, lang)) for lang, text in CATALOGUE_DESCRIPTION.items()),
        triple(catalogue, DCT.publisher, publisher),
        triple(catalogue, FOAF.homepage, homepage),
        *(triple(catalogue, DCT.language, LANGUAGE[code]) for code in ("ENG", "FIN", "SWE")),
        triple(catalogue, DCT.license, licence),
        *(triple(catalogue, DCT.spatial, country) for country in countries),
        triple(catalogue, DCAT.themeTaxonomy, DATA_THEMES),
        triple(catalogue, DCAT.dataset, dataset),
        triple(catalogue, DCAT.service, service),
        # The publisher (DCAT-AP "Agent"). Its kind (dct:type from the ADMS publisher types) is
        # left out: nothing in the data says what legal kind of organisation the team is.
        triple(publisher, RDF.type, FOAF.Agent),
        triple(publisher, RDF.type, FOAF.Organization),
        triple(publisher, FOAF.name, ox.Literal(PUBLISHER_NAME)),
        triple(publisher, FOAF.homepage, homepage),
        # The contact point: a function of the organisation, not a person (DCAT-AP "Kind")
        triple(contact, RDF.type, VCARD.Kind),
        triple(contact, RDF.type, VCARD.Organization),
        triple(contact, VCARD.fn, ox.Literal(CONTACT_NAME)),
        contact_channel(contact, facts.contact_url),
        # The licence (DCAT-AP "Licence Document")
        triple(licence, RDF.type, DCT.LicenseDocument),
        triple(licence, DCT.type, ADMS_LICENCE_TYPE.Attribution),
        triple(licence, RDFS.seeAlso, CC_BY),
        # The dataset
        triple(dataset, RDF.type, DCAT.Dataset),
        *(triple(dataset, DCT.title, in_language(text, lang)) for lang, text in TITLE.items()),
        *(triple(dataset, DCT.description, in_language(text, lang)) for lang, text in DESCRIPTION.items()),
        triple(dataset, DCT.identifier, ox.Literal(iris.dataset)),
        triple(dataset, DCAT.contactPoint, contact),
        triple(dataset, DCT.publisher, publisher),
        *(triple(dataset, DCAT.keyword, in_language(word, lang)) for lang, words in KEYWORDS.items() for word in words),
        *(triple(dataset, DCT.spatial, country) for country in countries),
        *(triple(dataset, DCAT.theme, DATA_THEME[code]) for code in ("GOVE", "INTR")),
        *(triple(dataset, DCT.language, LANGUAGE[code]) for code in ("ENG", "FIN", "SWE", "ZHO")),
        triple(dataset, DCT.conformsTo, node(iris.ontology)),
        triple(dataset, DCT.conformsTo, node(iris.shapes)),
        triple(dataset, DCAT.landingPage, homepage),
        triple(dataset, DCT.accessRights, public),
        triple(dataset, FOAF.page, node(iris.service("sparql"))),
        triple(dataset, FOAF.page, node(iris.service("dumps/"))),
        triple(dataset, RDFS.seeAlso, node(iris.service(".well-known/void"))),
        # The SPARQL endpoint (DCAT-AP "Data Service")
        triple(service, RDF.type, DCAT.DataService),
        *(triple(service, DCT.title, in_language(text, lang)) for lang, text in SERVICE_TITLE.items()),
        triple(service, DCT.description, in_language(SERVICE_DESCRIPTION, "en")),
        triple(service, DCAT.endpointURL, service),
        triple(service, DCAT.endpointDescription, service),  # GET without a query: the service description
        triple(service, DCAT.servesDataset, dataset),
        triple(service, DCT.conformsTo, SPARQL_PROTOCOL),
        triple(service, DCT.license, licence),
        triple(service, DCT.accessRights, public),
        triple(service, DCT.publisher, publisher),
        triple(service, DCAT.contactPoint, contact),
    ]
    provenance = node(iris.service("catalog#provenance"))
    triples += [
        triple(dataset, DCT.provenance, provenance),
        triple(provenance, RDF.type, DCT.ProvenanceStatement),
        triple(provenance, RDFS.label, in_language(PROVENANCE, "en")),
    ]
    if facts.version.tag:
        triples.append(triple(dataset, DCAT.version, ox.Literal(facts.version.tag)))
    if modified is not None:
        triples += [triple(catalogue, DCT.modified, modified), triple(dataset, DCT.modified, modified)]
    if facts.stored.issued is not None:
        triples += [
            triple(catalogue, DCT.issued, facts.stored.issued),
            triple(dataset, DCT.issued, facts.stored.issued),
        ]
    if facts.stored.start is not None and facts.stored.end is not None:
        period = node(iris.service("catalog#temporal-coverage"))
        triples += [
            triple(dataset, DCT.temporal, period),
            triple(period, RDF.type, DCT.PeriodOfTime),
            triple(period, DCAT.startDate, facts.stored.start),
            triple(period, DCAT.endDate, facts.stored.end),
        ]
    for spec in dumps.DUMPS:
        triples += distribution_triples(facts, spec, dataset, licence, modified)
    if facts.quality is not None:
        triples += quality_triples(iris, dataset, facts.quality)
    return triples + typed_references(triples)


def typed_references(triples: list[ox.Triple]) -> list[ox.Triple]:
    """The classes of the resources referred to (RANGES), and the names of EU authority codes,
    schemes and standards, each once and only where not stated already."""
    stated = set(triples)
    added: dict[ox.Triple, None] = {}
    for t in triples:
        cls = RANGES.get(t.predicate)
        if cls is None or not isinstance(t.object, ox.NamedNode):
            continue
        referred = t.object
        found = [triple(referred, RDF.type, cls)]
        if referred in AUTHORITY_LABELS:
            found.append(triple(referred, SKOS.prefLabel, in_language(AUTHORITY_LABELS[referred], "en")))
        if referred in SCHEME_TITLES:
            found.append(triple(referred, DCT.title, in_language(SCHEME_TITLES[referred], "en")))
        if referred in STANDARD_TITLES:
            found.append(triple(referred, DCT.title, in_language(STANDARD_TITLES[referred], "en")))
        added.update(dict.fromkeys(f for f in found if f not in stated))
    return list(added)


def contact_channel(contact: ox.NamedNode, url: str) -> ox.Triple:
    if url.startswith("mailto:"):
        return triple(contact, VCARD.hasEmail, node(url))
    return triple(contact, VCARD.hasURL, node(url))


def distribution_triples(
    facts: CatalogueFacts,
    spec: dumps.DumpSpec,
    dataset: ox.NamedNode,
    licence: ox.NamedNode,
    modified: ox.Literal | None,
) -> list[ox.Triple]:
    iris = facts.iris
    distribution, url = node(iris.service(f"catalog#distribution-{spec.key}")), node(dump_url(iris, spec))
    content = "every graph" if spec.with_graphs else "the merge of all graphs"
    packed = ", gzipped" if spec.gzipped else ""
    triples = [
        triple(dataset, DCAT.distribution, distribution),
        triple(distribution, RDF.type, DCAT.Distribution),
        triple(distribution, DCT.title, in_language(f"{spec.fmt.label} dump ({content}{packed})", "en")),
        triple(distribution, DCT.description, in_language(spec.description, "en")),
        triple(distribution, DCAT.accessURL, url),
        triple(distribution, DCAT.downloadURL, url),
        triple(distribution, DCAT.mediaType, node(IANA + spec.fmt.media_type)),
        triple(distribution, DCT.format, FILE_TYPE[EU_FILE_TYPES[spec.fmt.key]]),
        triple(distribution, DCT.license, licence),
        triple(distribution, DCT.accessRights, ACCESS_RIGHT.PUBLIC),
    ]
    if spec.gzipped:
        triples.append(triple(distribution, DCAT.compressFormat, node(IANA + formats.GZIP.media_type)))
    if modified is not None:
        triples.append(triple(distribution, DCT.modified, modified))
    found = facts.dump_files.get(spec.name)
    if found is not None:
        checksum = node(iris.service(f"catalog#checksum-{spec.key}"))
        triples += [
            triple(distribution, DCAT.byteSize, typed(str(found.size), XSD.nonNegativeInteger)),
            triple(distribution, SPDX.checksum, checksum),
            triple(checksum, RDF.type, SPDX.Checksum),
            triple(checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256),
            triple(checksum, SPDX.checksumValue, typed(found.sha256, XSD.hexBinary)),
        ]
    return triples


async def catalogue_facts(request: Request, version: DataVersion) -> CatalogueFacts:
    shared = services(request)
    settings, engine = shared.settings, shared.engine
    files: dict[str, dumps.DumpFile | None] = {}
    if version.tag:
        store = shared.get(dumps.DumpStore)
        store.produce_in_background(engine, version.tag)  # so that sizes and checksums follow
        files = {spec.name: store.ready(version.tag, spec) for spec in dumps.DUMPS}
    reports = shared.get(QualityReports)
    return CatalogueFacts(
        settings.iris,
        version,
        await stored_facts(engine, settings.iris),
        files,
        reports.summary(version.tag) if version.tag else None,
        settings.contact_url or settings.base_iri,
    )


async def catalogue_response(request: Request, fmt: formats.Format, negotiated: bool) -> Response:
    shared = services(request)
    facts = await catalogue_facts(request, await shared.engine.data_version())
    language = reader_language(request)

    async def build(_: DataVersion) -> bytes | Response:
        triples = catalogue_triples(facts)
        if fmt is formats.HTML:
            named = {t.object.value for t in triples if isinstance(t.object, ox.NamedNode)}
            labels = (await facts_about(shared.engine, named, facts.iris)).labels
            context = {"view": catalogue_view(triples, facts.iris, language, labels), "formats": GRAPH_FORMATS}
            return shared.templates.TemplateResponse(request, "catalogue.html", context)
        return serialise(triples, fmt, facts.iris.base)

    headers = variant_headers("/catalog", fmt, CATALOGUE_FORMATS, negotiated)
    variant = f"catalog-{fmt.key}-{language if fmt is formats.HTML else ''}-{facts.state}"
    vary = "Accept, Accept-Language" if negotiated else ("Accept-Language" if fmt is formats.HTML else None)
    return await represent(request, fmt, variant, build, vary=vary, headers=headers)


async def catalogue(request: Request) -> Response:
    """GET /catalog: the DCAT-AP catalogue in the format the client asks for (Turtle by default, a
    page for browsers)."""
    return await catalogue_response(request, negotiate(request.headers.get("accept"), CATALOGUE_FORMATS), True)


async def catalogue_file(request: Request) -> Response:
    """GET /catalog.ttl, .rdf, .jsonld, .nt, .html: the catalogue in one fixed format."""
    fmt = by_extension(request.path_params["ext"], CATALOGUE_FORMATS)
    if fmt is None:
        offered = ", ".join(f"/catalog.{f.extension}" for f in CATALOGUE_FORMATS)
        raise NotFound(f"The catalogue is published as {offered} (or /catalog, negotiated).")
    return await catalogue_response(request, fmt, False)
