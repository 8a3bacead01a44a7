"""The catalogue and VoID for people: plain data for their pages.

Read from the very triples the RDF variants serialise, so that the page and the RDF cannot disagree.

Titles and descriptions follow the reader's language (English, then any, when missing); links to
our own resources are host-relative (server.uris.local_url), so that a person following them stays
on this server and gets pages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

import pyoxigraph as ox

from server import formats, uris
from server.labels import Labels, local_name
from server.namespaces import DCAT, DCT, DQV, FOAF, RDF_TYPE, RDFS, SD, SKOS, SPDX, VCARD, VOID
from server.publish.dumps import human_size
from server.publish.terms import IANA
from server.web.i18n import word

Subject = ox.NamedNode | ox.BlankNode
NAMES = (SKOS.prefLabel, DCT.title, RDFS.label, FOAF.name, VCARD.fn)


NO_LANGUAGE = "zxx"  # BCP 47: no linguistic content


class Text(str):
    """A text with the language it is in ('' when it has none), so that a page can mark a text in
    another language than its own (lang="en" on an English fallback)."""

    language: str = ""

    def __new__(cls, value: str, language: str | None = "") -> Text:
        text = super().__new__(cls, value)
        text.language = language or ""
        return text


class Index:
    """Triples by subject and predicate, with the reader's language."""

    def __init__(self, triples: list[ox.Triple], base: str, language: str) -> None:
        self.values: dict[tuple, list] = defaultdict(list)
        for t in triples:
            self.values[(t.subject, t.predicate)].append(t.object)
        self.base, self.language = base, language

    def all(self, subject: Subject, predicate: ox.NamedNode) -> list:
        return self.values.get((subject, predicate), [])

    def one(self, subject: Subject, predicate: ox.NamedNode):
        found = self.all(subject, predicate)
        return found[0] if found else None

    def text(self, subject: Subject, predicate: ox.NamedNode) -> Text | None:
        """The literal in the reader's language, else English, else any (with its language)."""
        literals = [v for v in self.all(subject, predicate) if isinstance(v, ox.Literal)]
        for wanted in (self.language, "en"):
            chosen = next((v for v in literals if (v.language or "").split("-")[0] == wanted), None)
            if chosen is not None:
                return Text(chosen.value, chosen.language)
        return Text(literals[0].value, literals[0].language) if literals else None

    def texts(self, subject: Subject, predicate: ox.NamedNode) -> list[str]:
        """Every literal in the reader's language, else in English."""
        literals = [v for v in self.all(subject, predicate) if isinstance(v, ox.Literal)]
        mine = [v.value for v in literals if v.language == self.language]
        return mine or [v.value for v in literals if v.language in ("en", None)]

    def name(self, term: ox.NamedNode) -> Text:
        for predicate in NAMES:
            found = self.text(term, predicate)
            if found:
                return found
        return Text(local_name(term.value))

    def link(self, term, labels: Labels | None = None) -> Link:
        """A resource as a person follows it: its name, and its page here or elsewhere."""
        if not isinstance(term, ox.NamedNode):
            return Link(str(term.value), None)
        name = (
            Text(*labels.choose(term.value, self.language)) if labels and labels.known(term.value) else self.name(term)
        )
        if name == local_name(term.value) and not name.language:
            name = Text(name, NO_LANGUAGE)  # an identifier, for want of a name
        return Link(name, uris.local_url(self.base, term.value) or term.value)

    def links(self, subject: Subject, predicate: ox.NamedNode, labels: Labels | None = None) -> list[Link]:
        return [self.link(v, labels) for v in self.all(subject, predicate)]

    def number(self, subject: Subject, predicate: ox.NamedNode) -> int | None:
        value = self.one(subject, predicate)
        return int(value.value) if isinstance(value, ox.Literal) else None


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None


@dataclass(frozen=True)
class DistributionView:
    anchor: str
    title: str
    description: str | None
    format: Link | None
    media_type: str | None
    compressed: str | None
    url: str | None
    size: int | None
    checksum: str | None

    @property
    def size_text(self) -> str | None:
        return human_size(self.size) if self.size is not None else None


@dataclass
class CatalogueView:
    title: str | None
    description: str | None
    dataset: dict = field(default_factory=dict)
    distributions: list[DistributionView] = field(default_factory=list)
    service: dict = field(default_factory=dict)
    quality: list[tuple[str, int]] = field(default_factory=list)
    citation: str = ""


def media_type_of(term) -> str | None:
    return term.value.removeprefix(IANA) if isinstance(term, ox.NamedNode) else None


def distribution_view(index: Index, distribution: ox.NamedNode) -> DistributionView:
    url = index.one(distribution, DCAT.downloadURL) or index.one(distribution, DCAT.accessURL)
    checksum = index.one(distribution, SPDX.checksum)
    fmt = index.one(distribution, DCT.format)
    return DistributionView(
        anchor=distribution.value.rsplit("#", 1)[-1],
        title=index.text(distribution, DCT.title) or local_name(distribution.value),
        description=index.text(distribution, DCT.description),
        format=index.link(fmt) if fmt is not None else None,
        media_type=media_type_of(index.one(distribution, DCAT.mediaType)),
        compressed=media_type_of(index.one(distribution, DCAT.compressFormat)),
        url=index.link(url).url if url is not None else None,
        size=index.number(distribution, DCAT.byteSize),
        checksum=index.one(checksum, SPDX.checksumValue).value if checksum is not None else None,
    )


def catalogue_view(triples: list[ox.Triple], iris: uris.Iris, language: str, labels: Labels) -> CatalogueView:
    """`labels`: the store's names of what the catalogue links to (the ontology, the shapes)."""
    index = Index(triples, iris.base, language)
    catalogue, dataset = ox.NamedNode(iris.service("catalog")), ox.NamedNode(iris.dataset)
    service = index.one(catalogue, DCAT.service)
    contact = index.one(dataset, DCAT.contactPoint)
    period = index.one(dataset, DCT.temporal)
    provenance = index.one(dataset, DCT.provenance)
    channel = (index.one(contact, VCARD.hasURL) or index.one(contact, VCARD.hasEmail)) if contact else None
    view = CatalogueView(index.text(catalogue, DCT.title), index.text(catalogue, DCT.description))
    view.dataset = {
        "iri": iris.dataset,
        "url": uris.local_url(iris.base, iris.dataset),
        "title": index.text(dataset, DCT.title),
        "description": index.text(dataset, DCT.description),
        "keywords": index.texts(dataset, DCAT.keyword),
        "themes": index.links(dataset, DCAT.theme),
        "spatial": index.links(dataset, DCT.spatial),
        "languages": index.links(dataset, DCT.language),
        "licence": index.links(dataset, DCT.license) or index.links(catalogue, DCT.license),
        "access": index.links(dataset, DCT.accessRights),
        "publisher": index.links(dataset, DCT.publisher),
        "contact": (index.name(contact), index.link(channel).url if channel else None) if contact else None,
        "conforms": index.links(dataset, DCT.conformsTo, labels),
        "landing": [Link(v.value, index.link(v).url) for v in index.all(dataset, DCAT.landingPage)],
        "version": (index.one(dataset, DCAT.version) or ox.Literal("")).value,
        "issued": (index.one(dataset, DCT.issued) or ox.Literal("")).value,
        "modified": (index.one(dataset, DCT.modified) or ox.Literal("")).value.replace("T", " ").removesuffix("Z"),
        "temporal": (index.one(period, DCAT.startDate).value, index.one(period, DCAT.endDate).value)
        if period
        else None,
        "provenance": index.text(provenance, RDFS.label) if provenance else None,
    }
    view.distributions = sorted(
        (distribution_view(index, d) for d in index.all(dataset, DCAT.distribution)), key=lambda d: d.title
    )
    if service is not None:
        view.service = {
            "title": index.text(service, DCT.title),
            "description": index.text(service, DCT.description),
            "endpoint": index.link(index.one(service, DCAT.endpointURL)),
            "iri": service.value,
            "conforms": index.links(service, DCT.conformsTo),
        }
    for measurement in index.all(dataset, DQV.hasQualityMeasurement):
        metric = local_name(index.one(measurement, DQV.isMeasurementOf).value).removeprefix("metric-shacl-")
        view.quality.append((metric, index.number(measurement, DQV.value)))
    view.citation = citation(index, dataset, view.dataset)
    return view


def citation(index: Index, dataset: ox.NamedNode, facts: dict) -> str:
    """How to cite the dataset: who, when (the data version's date), what, which version, where."""
    say = partial(word, index.language)
    publisher = index.one(dataset, DCT.publisher)
    who = index.name(publisher) if publisher is not None else ""
    year = (facts["modified"] or facts["issued"])[:4]
    version = f" ({say('cite_version', version=facts['version'])})" if facts["version"] else ""
    when = f" ({year})" if year else ""
    licence = f" {say('licence')}: {facts['licence'][0].text}." if facts["licence"] else ""
    return f"{who}{when}. {facts['title']}{version} [{say('cite_data_set')}]. {dataset.value}.{licence}"


@dataclass
class VoidView:
    title: str | None
    description: str | None
    dataset_url: str | None
    figures: list[tuple[str, int]]
    endpoint: Link | None
    dumps: list[Link]
    uri_space: str | None
    vocabularies: list[str]
    examples: list[Link]
    classes: list[tuple[Link, int | None]]
    properties: list[tuple[Link, int | None]]
    subsets: list[tuple[Link, int | None]]
    linksets: list[dict]
    features: list[str]


FIGURES = (
    ("triples", VOID.triples),
    ("entities", VOID.entities),
    ("classes", VOID.classes),
    ("properties", VOID.properties),
    ("distinct subjects", VOID.distinctSubjects),
    ("distinct objects", VOID.distinctObjects),
)


def void_view(triples: list[ox.Triple], iris: uris.Iris, language: str, labels: Labels) -> VoidView:
    index = Index(triples, iris.base, language)
    dataset = ox.NamedNode(iris.dataset)
    classes = [
        (index.link(index.one(p, VOID["class"]), labels), index.number(p, VOID.entities))
        for p in index.all(dataset, VOID.classPartition)
    ]
    properties = [
        (index.link(index.one(p, VOID.property), labels), index.number(p, VOID.triples))
        for p in index.all(dataset, VOID.propertyPartition)
    ]
    subsets, linksets = [], []
    for subset in index.all(dataset, VOID.subset):
        if (subset, RDF_TYPE) in index.values and VOID.Linkset in index.all(subset, RDF_TYPE):
            linksets.append(
                {
                    "name": index.name(subset),
                    "target": index.links(subset, VOID.objectsTarget, labels),
                    "predicate": index.links(subset, VOID.linkPredicate, labels),
                    "triples": index.number(subset, VOID.triples),
                }
            )
        elif (graph := index.one(subset, SD.name)) is not None:
            subsets.append((index.link(graph, labels), index.number(subset, VOID.triples)))
    by_count = lambda row: (-(row[1] or 0), row[0].text.lower())  # noqa: E731
    features = {f.rdf.iri: f.label for f in formats.ALL if f.rdf is not None}
    endpoint = index.one(dataset, VOID.sparqlEndpoint)
    return VoidView(
        title=index.text(dataset, DCT.title),
        description=index.text(dataset, DCT.description),
        dataset_url=uris.local_url(iris.base, iris.dataset),
        figures=[(name, n) for name, p in FIGURES if (n := index.number(dataset, p)) is not None],
        endpoint=Link(endpoint.value, index.link(endpoint).url) if endpoint is not None else None,
        dumps=index.links(dataset, VOID.dataDump),
        uri_space=(index.one(dataset, VOID.uriSpace) or ox.Literal("")).value or None,
        vocabularies=sorted(v.value for v in index.all(dataset, VOID.vocabulary)),
        examples=index.links(dataset, VOID.exampleResource, labels),
        classes=sorted(classes, key=by_count),
        properties=sorted(properties, key=by_count),
        subsets=sorted(subsets, key=by_count),
        linksets=linksets,
        features=[features.get(f.value, local_name(f.value)) for f in index.all(dataset, VOID.feature)],
    )
