"""The words and vocabularies of the service's descriptions of itself (VoID, DCAT-AP, DQV).

Only EU authority codes that could be confirmed are used (language ENG FIN SWE ZHO, data theme
GOVE INTR, country FIN CHN, licence CC_BY_4_0, access right PUBLIC, file types of RDF); the
country table's codes are the ISO 3166-1 alpha-3 codes. Their names are the English preferred
labels of the EU Vocabularies tables, so that a harvester reading the catalogue alone can show them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyoxigraph as ox

from server import formats
from server.namespaces import DQV, OA, SD, SPDX, VCARD, XSD, Namespace, prefixes
from server.query.results import serialise_triples

# EU Vocabularies authority tables (Publications Office of the EU), as DCAT-AP 3.0 requires.
EU = "http://publications.europa.eu/resource/authority/"
LANGUAGE = Namespace(EU + "language/")
DATA_THEME = Namespace(EU + "data-theme/")
DATA_THEMES = ox.NamedNode(EU + "data-theme")  # the scheme itself, for dcat:themeTaxonomy
COUNTRY = Namespace(EU + "country/")
LICENCE = Namespace(EU + "licence/")
ACCESS_RIGHT = Namespace(EU + "access-right/")
FILE_TYPE = Namespace(EU + "file-type/")
ADMS_LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")
IANA = "https://www.iana.org/assignments/media-types/"  # as DCAT 3 and DCAT-AP 3 write them
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

# The English preferred label of each EU authority code used, and of the schemes and the ADMS
# licence type: DCAT-AP's shapes ask a skos:Concept for its skos:prefLabel and a scheme for its title.
AUTHORITY_LABELS = {
    LANGUAGE.ENG: "English",
    LANGUAGE.FIN: "Finnish",
    LANGUAGE.SWE: "Swedish",
    LANGUAGE.ZHO: "Chinese",
    COUNTRY.FIN: "Finland",
    COUNTRY.CHN: "China",
    DATA_THEME.GOVE: "Government and public sector",
    DATA_THEME.INTR: "International issues",
    ACCESS_RIGHT.PUBLIC: "public",
    LICENCE.CC_BY_4_0: "Creative Commons Attribution 4.0 International",
    FILE_TYPE.RDF_TURTLE: "RDF Turtle",
    FILE_TYPE.RDF_N_TRIPLES: "RDF N-Triples",
    FILE_TYPE.RDF_N_QUADS: "RDF N-Quads",
    FILE_TYPE.JSON_LD: "JSON-LD",
    FILE_TYPE.RDF_TRIG: "RDF TriG",
    FILE_TYPE.RDF_XML: "RDF/XML",
    ADMS_LICENCE_TYPE.Attribution: "Attribution",
}
SCHEME_TITLES = {DATA_THEMES: "Data theme"}
SPARQL_PROTOCOL = ox.NamedNode("http://www.w3.org/TR/sparql11-protocol/")
STANDARD_TITLES = {SPARQL_PROTOCOL: "SPARQL 1.1 Protocol"}

EXTRA_PREFIXES = {
    "vcard": VCARD.iri,
    "spdx": SPDX.iri,
    "dqv": DQV.iri,
    "oa": OA.iri,
    "sd": SD.iri,
    "eulang": LANGUAGE.iri,
    "eutheme": DATA_THEME.iri,
    "eucountry": COUNTRY.iri,
    "eulicence": LICENCE.iri,
    "euaccess": ACCESS_RIGHT.iri,
    "eufiletype": FILE_TYPE.iri,
}


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


def node(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def triple(s: ox.NamedNode | ox.BlankNode, p: ox.NamedNode, o: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.Triple:
    return ox.Triple(s, p, o)


def in_language(text: str, language: str) -> ox.Literal:
    return ox.Literal(text, language=language)


def typed(value: str, datatype: ox.NamedNode) -> ox.Literal:
    return ox.Literal(value, datatype=datatype)


def date_time(value: datetime) -> ox.Literal:
    return typed(value.astimezone(UTC).isoformat().replace("+00:00", "Z"), XSD.dateTime)


def grouped_by_subject(triples: list[ox.Triple]) -> list[ox.Triple]:
    """The triples of each subject together (so that Turtle writes each subject once), subjects in
    the order they first appear."""
    order: dict = {}
    for triple in triples:
        order.setdefault(triple.subject, len(order))
    return sorted(triples, key=lambda triple: order[triple.subject])


def serialise(triples: list[ox.Triple], fmt: formats.Format, base_iri: str) -> bytes:
    return serialise_triples(grouped_by_subject(triples), fmt, {**prefixes(base_iri), **EXTRA_PREFIXES})


def namespace_of(iri: str) -> str:
    return iri[: max(iri.rfind("#"), iri.rfind("/")) + 1]
