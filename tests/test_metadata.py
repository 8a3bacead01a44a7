"""Metadata for harvesters over HTTP against the real server: VoID, the DCAT-AP catalogue, the
validation report, the sitemap and robots.txt; and the same statistics in remote mode."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, SKOS

from server.namespaces import prefixes
from server.publish import sitemap
from server.query.local import LocalEngine
from server.settings import Settings
from server.uris import Iris
from tests.live import Server, live_server
from tests.test_remote import oxigraph_endpoint  # noqa: F401 - a fixture: Oxigraph server loaded with our dump

BASE = "https://w3id.org/sistercities/"
DATASET = rdflib.URIRef(f"{BASE}id/dataset/sister-cities")
METADATA_GRAPH = f"{BASE}graph/metadata"
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")  # DCAT 3 (rdflib knows DCAT 2)
XSD = rdflib.Namespace("http://www.w3.org/2001/XMLSchema#")
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
VCARD = rdflib.Namespace("http://www.w3.org/2006/vcard/ns#")
DQV = rdflib.Namespace("http://www.w3.org/ns/dqv#")
OA = rdflib.Namespace("http://www.w3.org/ns/oa#")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
SC = f"{BASE}ontology#"
EU = "http://publications.europa.eu/resource/authority/"

# What rdflib calls each format the catalogue is offered in.
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}


def canonical(data: bytes, fmt: ox.RdfFormat) -> set[ox.Quad]:
    """A document's triples with blank nodes labelled canonically (fast, unlike rdflib's isomorphism)."""
    dataset = ox.Dataset(ox.parse(data, format=fmt))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return set(dataset)


def parse(response: httpx.Response) -> rdflib.Graph:
    media_type = response.headers["content-type"].split(";")[0]
    return rdflib.Graph().parse(data=response.content, format=RDFLIB_FORMATS[media_type])


@pytest.fixture(scope="module")
def report(http: httpx.Client) -> dict:
    """The validation report as JSON; asking for it first computes it (once per data version)."""
    response = http.get("/validation-report", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def catalogue(http: httpx.Client, report: dict) -> rdflib.Graph:
    """The catalogue once the report and the dumps exist (it then states measurements, sizes, checksums)."""
    assert http.get("/dumps/").status_code == 200  # produces every dump
    response = http.get("/catalog", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    return parse(response)


@pytest.fixture(scope="module")
def void(http: httpx.Client) -> rdflib.Graph:
    response = http.get("/.well-known/void")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"
    return parse(response)


# --- The catalogue in every format -----------------------------------------------------------


@pytest.mark.parametrize("media_type", RDFLIB_FORMATS)
def test_catalogue_parses_in_every_offered_format(http: httpx.Client, catalogue: rdflib.Graph, media_type: str) -> None:
    response = http.get("/catalog", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert "Accept" in response.headers["vary"]
    graph = parse(response)
    assert isomorphic(graph, catalogue)
    fixed = http.get(response.headers["content-location"])  # /catalog.ttl, .rdf, .jsonld, .nt
    assert fixed.status_code == 200 and fixed.headers["content-type"] == response.headers["content-type"]
    assert isomorphic(parse(fixed), catalogue)


def test_catalogue_fixed_variants(http: httpx.Client) -> None:
    for extension, media_type in (
        ("ttl", "text/turtle"),
        ("rdf", "application/rdf+xml"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
    ):
        response = http.get(f"/catalog.{extension}", headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media_type
    assert http.get("/catalog.xlsx").status_code == 404


def test_catalogue_validators(http: httpx.Client, catalogue: rdflib.Graph) -> None:
    response = http.get("/catalog")
    assert response.headers["content-type"].startswith("text/turtle")  # Turtle unless asked otherwise
    assert response.headers["etag"].startswith("W/") and response.headers["last-modified"]
    assert http.get("/catalog", headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    other = http.get("/catalog", headers={"Accept": "application/rdf+xml"})
    assert other.headers["etag"] != response.headers["etag"]


# --- DCAT-AP 3.0 ------------------------------------------------------------------------------

# DCAT-AP 3.0.0 (SEMIC, https://semiceu.github.io/DCAT-AP/releases/3.0.0/), appendix "Quick
# Reference of Classes and Properties": the properties it marks Mandatory and Recommended for
# each class we describe. The quick reference lists the Dataset's description as optional; the
# class table and the release's SHACL shapes (shacl/dcat-ap-SHACL.ttl, sh:minCount 1) make it
# mandatory, so it is here. Kind (the contact point) has no mandatory or recommended property.
MANDATORY = {
    DCAT.Catalog: (DCTERMS.description, DCTERMS.publisher, DCTERMS.title),
    DCAT.Dataset: (DCTERMS.description, DCTERMS.title),
    DCAT.Distribution: (DCAT.accessURL,),
    DCAT.DataService: (DCAT.endpointURL, DCTERMS.title),
    FOAF.Agent: (FOAF.name,),
    SPDX.Checksum: (SPDX.algorithm, SPDX.checksumValue),
}
RECOMMENDED = {
    DCAT.Catalog: (
        DCAT.dataset,
        DCTERMS.spatial,  # geographical coverage
        FOAF.homepage,
        DCTERMS.language,
        DCTERMS.license,
        DCTERMS.modified,
        DCTERMS.issued,  # release date
        DCAT.service,
        DCAT.themeTaxonomy,  # themes
    ),
    DCAT.Dataset: (
        DCAT.contactPoint,
        DCAT.distribution,
        DCTERMS.spatial,
        DCAT.keyword,
        DCTERMS.publisher,
        DCTERMS.temporal,
        DCAT.theme,
    ),
    DCAT.Distribution: (DCTERMS.format, DCTERMS.license),
    DCAT.DataService: (DCAT.endpointDescription, DCAT.servesDataset),
    FOAF.Agent: (DCTERMS.type,),
    DCTERMS.LicenseDocument: (DCTERMS.type,),
    DCTERMS.PeriodOfTime: (DCAT.startDate, DCAT.endDate),
}
# Recommended properties that are not true of us, and so are left out on purpose.
NOT_APPLICABLE = {
    (FOAF.Agent, DCTERMS.type): "nothing in the data says what legal kind of organisation the publisher is",
}
# Further properties asked of this catalogue (beyond DCAT-AP's recommendations).
ALSO_EXPECTED = {
    DCAT.Dataset: (
        DCTERMS.language,
        DCTERMS.issued,
        DCTERMS.modified,
        DCAT.version,
        DCTERMS.conformsTo,
        DCAT.landingPage,
        DCTERMS.accessRights,
        DCTERMS.provenance,
        FOAF.page,
        DQV.hasQualityMeasurement,
        DQV.hasQualityAnnotation,
    ),
    DCAT.Distribution: (DCAT.downloadURL, DCAT.mediaType, DCAT.byteSize, SPDX.checksum, DCTERMS.description),
    DCAT.Catalog: (DCAT.themeTaxonomy,),
}


@pytest.mark.parametrize(
    ("cls", "level"),
    [(cls, "mandatory") for cls in MANDATORY] + [(cls, "recommended") for cls in RECOMMENDED],
    ids=lambda value: value if isinstance(value, str) else value.split("/")[-1].split("#")[-1],
)
def test_dcat_ap_properties(catalogue: rdflib.Graph, cls: rdflib.URIRef, level: str) -> None:
    properties = (MANDATORY if level == "mandatory" else RECOMMENDED)[cls]
    instances = set(catalogue.subjects(RDF.type, cls))
    assert instances, f"no instance of {cls}"
    for instance in instances:
        for prop in properties:
            if (cls, prop) in NOT_APPLICABLE:
                assert (instance, prop, None) not in catalogue, NOT_APPLICABLE[(cls, prop)]
                continue
            assert (instance, prop, None) in catalogue, f"{instance} has no {prop} ({level} for {cls})"


def test_further_properties(catalogue: rdflib.Graph) -> None:
    for cls, properties in ALSO_EXPECTED.items():
        for instance in catalogue.subjects(RDF.type, cls):
            for prop in properties:
                assert (instance, prop, None) in catalogue, f"{instance} has no {prop}"


def test_catalogue_contents(catalogue: rdflib.Graph) -> None:
    catalog = rdflib.URIRef(f"{BASE}catalog")
    assert set(catalogue.subjects(RDF.type, DCAT.Catalog)) == {catalog}
    assert set(catalogue.subjects(RDF.type, DCAT.Dataset)) == {DATASET}
    assert {lit.language for lit in catalogue.objects(DATASET, DCTERMS.title)} >= {"en", "fi", "sv"}
    publisher = catalogue.value(DATASET, DCTERMS.publisher)
    assert publisher == rdflib.URIRef(f"{BASE}id/organisation/sister-cities-linked-data")
    assert catalogue.value(catalog, DCTERMS.publisher) == publisher
    # The data service is the SPARQL endpoint and points to its service description
    service = catalogue.value(catalog, DCAT.service)
    assert catalogue.value(service, DCAT.endpointURL) == rdflib.URIRef(f"{BASE}sparql")
    assert catalogue.value(service, DCAT.endpointDescription) == rdflib.URIRef(f"{BASE}sparql")
    assert catalogue.value(service, DCAT.servesDataset) == DATASET
    # The contact point is the team's function, with a URL and no invented mailbox
    contact = catalogue.value(DATASET, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Organization) in catalogue
    assert str(catalogue.value(contact, VCARD.fn)) == "Sister Cities Linked Data – data team"
    assert catalogue.value(contact, VCARD.hasURL) == rdflib.URIRef(BASE)
    assert catalogue.value(contact, VCARD.hasEmail) is None
    # Temporal coverage from the stored statistics, and the version of the data
    period = catalogue.value(DATASET, DCTERMS.temporal)
    assert catalogue.value(period, DCAT.startDate) == rdflib.Literal("1986", datatype=XSD.gYear)
    assert catalogue.value(period, DCAT.endDate) == rdflib.Literal("2020", datatype=XSD.gYear)
    assert re.fullmatch(r"[0-9a-f]{16}", str(catalogue.value(DATASET, DCAT.version)))
    assert set(catalogue.objects(DATASET, DCTERMS.conformsTo)) == {
        rdflib.URIRef(f"{BASE}ontology"),
        rdflib.URIRef(f"{BASE}shapes"),
    }


def test_one_distribution_per_dump(http: httpx.Client, catalogue: rdflib.Graph) -> None:
    from server.publish.dumps import DUMPS

    distributions = set(catalogue.objects(DATASET, DCAT.distribution))
    assert len(distributions) == len(DUMPS)
    for distribution in distributions:
        url = str(catalogue.value(distribution, DCAT.downloadURL))
        assert url.startswith(f"{BASE}dumps/sistercities.")
        response = http.get("/" + url.removeprefix(BASE), headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert catalogue.value(distribution, DCAT.byteSize).toPython() == len(response.content)
        checksum = catalogue.value(distribution, SPDX.checksum)
        assert catalogue.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        assert str(catalogue.value(checksum, SPDX.checksumValue)) == hashlib.sha256(response.content).hexdigest()
        media_type = str(catalogue.value(distribution, DCAT.mediaType))
        assert media_type.startswith("https://www.iana.org/assignments/media-types/")
        if url.endswith(".gz"):
            assert response.headers["content-type"] == "application/gzip"
            assert catalogue.value(distribution, DCAT.compressFormat) == rdflib.URIRef(
                "https://www.iana.org/assignments/media-types/application/gzip"
            )
            assert media_type.endswith(("/application/n-triples", "/application/n-quads"))
        else:
            assert catalogue.value(distribution, DCAT.compressFormat) is None
            assert response.headers["content-type"].split(";")[0] == media_type.split("media-types/")[1]


# The EU Vocabularies codes used, each checked against the authority tables of the Publications
# Office (language, data-theme, country, licence, access-right, file-type).
EU_CODES = {
    "language": {"ENG", "FIN", "SWE", "ZHO"},
    "data-theme": {"GOVE", "INTR"},
    "country": {"FIN", "CHN"},
    "licence": {"CC_BY_4_0"},
    "access-right": {"PUBLIC"},
    "file-type": {"RDF_TURTLE", "RDF_N_TRIPLES", "RDF_N_QUADS", "JSON_LD", "RDF_TRIG"},
}
EU_IRI = re.compile(r"http://publications\.europa\.eu/resource/authority/(?P<table>[a-z-]+)(?:/(?P<code>[A-Z0-9_]+))?")


def test_eu_authority_iris_are_well_formed(catalogue: rdflib.Graph) -> None:
    used: dict[str, set[str]] = {}
    for triple in catalogue:
        for term in triple:
            if isinstance(term, rdflib.URIRef) and str(term).startswith(EU):
                match = EU_IRI.fullmatch(str(term))
                assert match, f"malformed EU authority IRI {term}"
                if match["code"] is None:
                    assert match["table"] == "data-theme"  # the scheme itself, as dcat:themeTaxonomy
                    continue
                used.setdefault(match["table"], set()).add(match["code"])
    assert used == EU_CODES


def test_referenced_resources_are_typed_and_named(catalogue: rdflib.Graph) -> None:
    """What the official shapes check with sh:class (tests/test_dcat_ap.py runs them): each resource
    the catalogue refers to has the class of the property's range in the catalogue itself, and
    every EU authority code and the ADMS licence type has its English name."""
    from server.publish.catalogue import RANGES

    for prop, cls in RANGES.items():
        values = [o for o in catalogue.objects(None, rdflib.URIRef(prop.value)) if isinstance(o, rdflib.URIRef)]
        assert values, f"nothing is given as {prop.value}"
        for value in values:
            assert (value, RDF.type, rdflib.URIRef(cls.value)) in catalogue, f"{value} is not a {cls.value}"
    for term in set(catalogue.all_nodes()):
        if isinstance(term, rdflib.URIRef) and EU_IRI.fullmatch(str(term)) and EU_IRI.fullmatch(str(term))["code"]:
            assert catalogue.value(term, SKOS.prefLabel), f"{term} has no name"
    assert catalogue.value(rdflib.URIRef(f"{EU}data-theme"), DCTERMS.title)
    assert str(catalogue.value(rdflib.URIRef("http://purl.org/adms/licencetype/Attribution"), SKOS.prefLabel))


def test_data_quality_measurement(catalogue: rdflib.Graph, report: dict) -> None:
    measurements = {
        str(catalogue.value(m, DQV.isMeasurementOf)).rsplit("-", 1)[-1]: m
        for m in catalogue.objects(DATASET, DQV.hasQualityMeasurement)
    }
    assert catalogue.value(measurements["violations"], DQV.value).toPython() == report["violations"] == 0
    assert catalogue.value(measurements["warnings"], DQV.value).toPython() == report["warnings"]
    for measurement in measurements.values():
        assert catalogue.value(measurement, DQV.computedOn) == DATASET
        assert catalogue.value(measurement, rdflib.URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")) == (
            rdflib.URIRef(f"{BASE}shapes")
        )
    annotation = catalogue.value(DATASET, DQV.hasQualityAnnotation)
    assert catalogue.value(annotation, OA.hasBody) == rdflib.URIRef(f"{BASE}validation-report")


def test_harvestable_like_ckanext_dcat(server_url: str) -> None:
    """What ckanext-dcat's RDF harvester does: HEAD the catalogue URL, GET it, and parse the body with
    rdflib in the format its Content-Type names; then read datasets and their distributions."""
    with httpx.Client(timeout=60) as client:
        head = client.head(f"{server_url}/catalog", headers={"Accept": "application/rdf+xml"})
        assert head.status_code == 200 and head.headers["content-type"].startswith("application/rdf+xml")
        response = client.get(f"{server_url}/catalog", headers={"Accept": "application/rdf+xml"})
        content_type = response.headers["content-type"].split(";", 1)[0]
        assert content_type == "application/rdf+xml"
        graph = rdflib.Graph().parse(data=response.content, format=content_type)
        datasets = list(graph.subjects(RDF.type, DCAT.Dataset))
        assert datasets == [DATASET]
        assert str(graph.value(DATASET, DCTERMS.title)) and graph.value(DATASET, DCTERMS.description)
        distributions = list(graph.objects(DATASET, DCAT.distribution))
        assert len(distributions) == 5
        for distribution in distributions:
            download = str(graph.value(distribution, DCAT.downloadURL))
            assert client.head(server_url + "/" + download.removeprefix(BASE)).status_code == 200
        default = client.get(f"{server_url}/catalog")  # requests sends Accept: */*
        assert rdflib.Graph().parse(data=default.content, format=default.headers["content-type"].split(";")[0])


# --- VoID ---------------------------------------------------------------------------------------


def dump_statistics(nquads: bytes) -> dict:
    """The statistics, computed independently from the N-Quads dump: the default graph without
    the metadata graph (the version record and the statistics themselves)."""
    parsed = list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    default = {q.triple for q in parsed if q.graph_name == ox.DefaultGraph()}
    meta = {q.triple for q in parsed if q.graph_name == ox.NamedNode(METADATA_GRAPH)}
    data = default - meta
    rdf_type = ox.NamedNode(str(RDF.type))
    instances: dict[str, set] = {}
    for t in data:
        if t.predicate == rdf_type:
            instances.setdefault(t.object.value, set()).add(t.subject)
    years = [
        int(re.match(r"-?\d{4,}", t.object.value).group())
        for t in data
        if t.predicate.value
        in {
            f"{SC}startDate",
            f"{SC}endDate",
            f"{SC}signingDate",
            f"{SC}observationDate",
            str(DCTERMS.issued),
        }
    ]
    return {
        "triples": len(data),
        "entities": len(
            {
                t.subject
                for t in data
                if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(f"{BASE}id/")
            }
        ),
        "distinctSubjects": len({t.subject for t in data}),
        "distinctObjects": len({t.object for t in data}),
        "properties": len({t.predicate for t in data}),
        "classes": len(instances),
        "classPartition": {cls: len(members) for cls, members in instances.items()},
        "propertyPartition": dict(Counter(t.predicate.value for t in data)),
        "graphs": dict(
            Counter(
                q.graph_name.value
                for q in parsed
                if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value != METADATA_GRAPH
            )
        ),
        "years": (min(years), max(years)),
        "wikidata": sum(
            1
            for t in data
            if t.predicate.value == str(OWL.sameAs) and t.object.value.startswith("http://www.wikidata.org/entity/")
        ),
        "geonames": sum(
            1 for t in data if t.predicate.value == str(SKOS.closeMatch) and "//sws.geonames.org/" in t.object.value
        ),
    }


@pytest.fixture(scope="module")
def independent(http: httpx.Client) -> dict:
    response = http.get("/dumps/sistercities.nq.gz", headers={"Accept-Encoding": "identity"})
    return dump_statistics(gzip.decompress(response.content))


def void_statistics(void: rdflib.Graph) -> dict:
    def number(node: rdflib.term.Node, prop: rdflib.URIRef) -> int:
        return void.value(node, prop).toPython()

    linksets = {
        str(void.value(ls, VOID.linkPredicate)): number(ls, VOID.triples)
        for ls in void.subjects(RDF.type, VOID.Linkset)
    }
    period = void.value(DATASET, DCTERMS.temporal)
    return {
        **{
            name: number(DATASET, VOID[name])
            for name in ("triples", "entities", "distinctSubjects", "distinctObjects", "properties", "classes")
        },
        "classPartition": {
            str(void.value(p, VOID["class"])): number(p, VOID.entities)
            for p in void.objects(DATASET, VOID.classPartition)
        },
        "propertyPartition": {
            str(void.value(p, VOID.property)): number(p, VOID.triples)
            for p in void.objects(DATASET, VOID.propertyPartition)
        },
        "graphs": {
            str(void.value(s, SD.name)): number(s, VOID.triples)
            for s in void.objects(DATASET, VOID.subset)
            if void.value(s, SD.name) is not None
        },
        "years": (int(void.value(period, DCAT.startDate)), int(void.value(period, DCAT.endDate))),
        "wikidata": linksets[str(OWL.sameAs)],
        "geonames": linksets[str(SKOS.closeMatch)],
    }


def test_void_counts_equal_counts_from_the_dump(void: rdflib.Graph, independent: dict) -> None:
    stated = void_statistics(void)
    for key, value in independent.items():
        assert stated[key] == value, key
    assert stated["triples"] > 3000 and stated["classes"] > 10 and f"{BASE}graph/derived" in stated["graphs"]


def test_linksets(void: rdflib.Graph, independent: dict) -> None:
    targets = {}
    for linkset in void.subjects(RDF.type, VOID.Linkset):
        assert void.value(linkset, VOID.subjectsTarget) == DATASET
        assert (DATASET, VOID.subset, linkset) in void
        target = void.value(linkset, VOID.objectsTarget)
        targets[str(void.value(target, DCTERMS.title))] = (void.value(linkset, VOID.linkPredicate), linkset)
    assert targets["Wikidata"][0] == OWL.sameAs and targets["GeoNames"][0] == SKOS.closeMatch
    assert void.value(targets["Wikidata"][1], VOID.triples).toPython() == independent["wikidata"] > 0
    assert void.value(targets["GeoNames"][1], VOID.triples).toPython() == independent["geonames"] > 0


def test_void_description(http: httpx.Client, void: rdflib.Graph) -> None:
    from server.publish.dumps import DUMPS

    assert void.value(DATASET, VOID.sparqlEndpoint) == rdflib.URIRef(f"{BASE}sparql")
    assert str(void.value(DATASET, VOID.uriSpace)) == f"{BASE}id/"
    assert {str(d) for d in void.objects(DATASET, VOID.dataDump)} == {f"{BASE}dumps/{s.name}" for s in DUMPS}
    assert len(set(void.objects(DATASET, VOID.exampleResource))) == 3
    vocabularies = {str(v) for v in void.objects(DATASET, VOID.vocabulary)}
    assert {SC, str(SKOS), "http://www.w3.org/ns/prov#"} <= vocabularies
    features = {str(f) for f in void.objects(DATASET, VOID.feature)}
    assert "http://www.w3.org/ns/formats/Turtle" in features and "http://www.w3.org/ns/formats/N-Quads" in features
    assert void.value(DATASET, OWL.versionInfo) is not None
    for example in void.objects(DATASET, VOID.exampleResource):
        assert str(example).startswith(f"{BASE}id/place/")
    first = http.get("/.well-known/void")
    turtle = canonical(first.content, ox.RdfFormat.TURTLE)
    for fmt in (ox.RdfFormat.JSON_LD, ox.RdfFormat.RDF_XML, ox.RdfFormat.N_TRIPLES):
        response = http.get("/.well-known/void", headers={"Accept": fmt.media_type})
        assert response.status_code == 200 and canonical(response.content, fmt) == turtle
    assert first.headers["etag"] and first.headers["last-modified"] and "Accept" in first.headers["vary"]
    assert http.get("/.well-known/void", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert http.get("/.well-known/void", headers={"Accept": "text/csv"}).status_code == 406


# --- The validation report ------------------------------------------------------------------------


def test_report_conforms(report: dict, settings: Settings) -> None:
    """No violations; the only results are the English-name warnings of the places that no source
    names in English (data/reference/labels.tsv), as in tests/test_shapes.py."""
    from tests.test_shapes import places_without_an_english_name_in_the_evidence

    assert report["conforms"] is True and report["violations"] == 0
    expected = places_without_an_english_name_in_the_evidence(settings)
    assert all(r["severity"] == "Warning" and r["node_shape"] == "scsh:EnglishLabelShape" for r in report["results"])
    assert {r["focus_node"] for r in report["results"]} == expected


def test_report_as_shacl(http: httpx.Client, report: dict) -> None:
    turtle = http.get("/validation-report", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.headers["content-type"] == "text/turtle; charset=utf-8"
    graph = parse(turtle)
    (root,) = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(root, SH.conforms).toPython() is True
    jsonld = http.get("/validation-report", headers={"Accept": "application/ld+json"})
    assert isomorphic(parse(jsonld), graph)
    assert http.get("/validation-report", headers={"If-None-Match": turtle.headers["etag"]}).status_code == 304


def test_report_for_people(http: httpx.Client, report: dict) -> None:
    response = http.get("/validation-report", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "conform" in response.text and "0 violation(s)" in response.text


# --- Sitemap and robots.txt -------------------------------------------------------------------------

SITEMAPS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_sitemap(http: httpx.Client, server_url: str) -> None:
    response = http.get("/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SITEMAPS}urlset"
    locations = [url.findtext(f"{SITEMAPS}loc") for url in root.iter(f"{SITEMAPS}url")]
    assert f"{server_url}/doc/place/kuopio" in locations
    assert {f"{server_url}/", f"{server_url}/sparql", f"{server_url}/ontology", f"{server_url}/catalog"} <= set(
        locations
    )
    assert all(location.startswith(server_url + "/") for location in locations)
    assert len(locations) == len(set(locations))
    assert all(url.findtext(f"{SITEMAPS}lastmod") for url in root.iter(f"{SITEMAPS}url"))
    assert http.get("/doc/place/kuopio").status_code == 200
    assert http.get("/sitemap.xml", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_robots(http: httpx.Client, server_url: str) -> None:
    response = http.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert f"Sitemap: {server_url}/sitemap.xml" in lines
    assert "Disallow: /sparql?" in lines and "User-agent: *" in lines


def test_sitemap_splits_into_parts(store: ox.Store) -> None:
    """Beyond one file's URLs, the site is listed in parts that together hold every URL once."""
    engine = LocalEngine(store, prefixes(BASE), max_rows=40)
    size = sitemap.sitemap_page_size(engine)
    things = asyncio.run(sitemap.thing_count(engine, Iris(BASE)))
    pages = sitemap.page_count(things, size)
    assert size == 40 and pages > 2
    listed = [
        url
        for page in range(1, pages + 1)
        for url in asyncio.run(sitemap.page_urls(engine, Iris(BASE), "http://h", page, size))
    ]
    assert len(listed) == len(set(listed)) == things + len(sitemap.STATIC_PAGES)
    assert "http://h/doc/place/kuopio" in listed
    index = ElementTree.fromstring(sitemap.sitemap_index([f"http://h/sitemap-{n}.xml" for n in (1, 2)], None))
    assert index.tag == f"{SITEMAPS}sitemapindex"


# --- Remote mode: the statistics travel with the dump; no report of other data --------------------


@pytest.fixture(scope="module")
def remote(oxigraph_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    args = ("--no-validate", "--sparql-endpoint", oxigraph_endpoint)
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("remote-cache")) as server:
        yield server


@pytest.mark.slow
def test_remote_mode(remote: Server, void: rdflib.Graph) -> None:
    there = rdflib.Graph().parse(data=httpx.get(f"{remote.url}/.well-known/void").content, format="turtle")
    assert void_statistics(there) == void_statistics(void)
    report = httpx.get(f"{remote.url}/validation-report")
    assert report.status_code == 404 and "remote SPARQL store" in report.text
    catalogue = rdflib.Graph().parse(data=httpx.get(f"{remote.url}/catalog").content, format="turtle")
    assert (DATASET, RDF.type, DCAT.Dataset) in catalogue
    assert catalogue.value(DATASET, DQV.hasQualityMeasurement) is None


# --- Pages for people at the same URLs -----------------------------------------------------------

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAGES = {
    "/catalog": ("ttl", "rdf", "jsonld", "nt"),
    "/.well-known/void": ("ttl", "rdf", "jsonld", "nt"),
    "/validation-report": ("ttl", "rdf", "jsonld", "nt", "json"),
}


@pytest.mark.parametrize("path", PAGES)
def test_browsers_get_pages_and_programs_rdf_at_one_url(http: httpx.Client, report: dict, path: str) -> None:
    page = http.get(path, headers={"Accept": FIREFOX})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"] and page.headers["content-location"] == f"{path}.html"
    alternates = set(re.findall(r"<([^>]+)>; rel=\"alternate\"", page.headers["link"]))
    assert alternates == {f"{path}.{ext}" for ext in (*PAGES[path], "html")}
    for accept in (None, "*/*", "text/turtle"):  # programs keep getting RDF by default
        rdf = http.get(path, headers={"Accept": accept} if accept else {})
        assert rdf.status_code == 200 and rdf.headers["content-type"].startswith("text/turtle"), accept
    fixed = http.get(f"{path}.html", headers={"Accept": "text/turtle"})
    assert fixed.status_code == 200 and fixed.headers["content-type"].startswith("text/html")
    # every other format is linked from the page, and each link answers in its format
    links = set(re.findall(r'href="([^"]+)"', page.text))
    for ext in PAGES[path]:
        assert f"{path}.{ext}" in links
        assert http.get(f"{path}.{ext}").status_code == 200
    assert http.get(f"{path}.xlsx").status_code == 404


def test_catalogue_page(http: httpx.Client, catalogue: rdflib.Graph) -> None:
    """The catalogue for people: the dataset, each distribution with its size and checksum, the
    endpoint, licence, contact, how to cite, and links that stay on this server."""
    page = http.get("/catalog", headers={"Accept": FIREFOX}).text
    assert str(catalogue.value(DATASET, DCTERMS.title)) in page
    for distribution in catalogue.objects(DATASET, DCAT.distribution):
        size = catalogue.value(distribution, DCAT.byteSize).toPython()
        checksum = str(catalogue.value(catalogue.value(distribution, SPDX.checksum), SPDX.checksumValue))
        anchor = str(distribution).rsplit("#", 1)[1]
        row = re.search(rf'<tr id="{anchor}">(.*?)</tr>', page, re.DOTALL).group(1)
        assert f"{size:,} bytes" in row and checksum in row
        assert re.search(r'href="/dumps/sistercities\.[a-z.]+" download', row)
    hrefs = set(re.findall(r'href="([^"]+)"', page))
    paths = {urlsplit(h).path for h in hrefs}
    assert {"/sparql", "/doc/dataset/sister-cities", "/validation-report", "/.well-known/void"} <= paths
    assert "Creative Commons Attribution 4.0 International" in page
    assert "Sister Cities Linked Data – data team" in page
    version = str(catalogue.value(DATASET, DCAT.version))
    citation = re.search(r'<blockquote class="citation">(.*?)</blockquote>', page, re.DOTALL).group(1)
    assert version in citation and str(DATASET) in citation
    assert not [h for h in hrefs if h.startswith(BASE)], "links to our IRIs must be local paths"


def test_void_page(http: httpx.Client, void: rdflib.Graph) -> None:
    page = http.get("/.well-known/void", headers={"Accept": FIREFOX}).text
    triples = void.value(DATASET, VOID.triples).toPython()
    assert re.search(rf"<dt>triples</dt><dd>{triples:,}</dd>", page)
    hrefs = set(re.findall(r'href="([^"]+)"', page))
    paths = {urlsplit(h).path for h in hrefs}
    assert {"/doc/graph/sources", "/sparql", "/catalog"} <= paths
    examples = {"/doc/" + str(e).removeprefix(BASE + "id/") for e in void.objects(DATASET, VOID.exampleResource)}
    assert "/doc/place/shanghai" in examples
    assert examples <= paths
    assert "Wikidata" in page and "GeoNames" in page  # the linksets
    assert not [h for h in hrefs if h.startswith(BASE)], "links to our IRIs must be local paths"
