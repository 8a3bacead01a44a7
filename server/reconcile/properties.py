"""The properties offered for constraints and columns, and their values.

The properties offered for constraints (reconciliation) and columns (data extension), and
fetching their values for many entities at once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from server.namespaces import GEONAMES, WD
from server.query.engine import QueryEngine, select
from server.store.sparql_text import chunks, prologue, valid_iri, values_clause
from server.uris import Iris


@dataclass(frozen=True)
class Property:
    """A property offered for constraints (reconciliation) and columns (data extension).

    `pattern` binds ?v for the subject ?x; `match_pattern`, when given, is used for constraints
    instead (partOf matches any larger area, not only the next one).
    """

    id: str
    name: str
    description: str
    kind: str  # "entity", "string" or "coordinates"
    domains: tuple[str, ...]  # the classes (local names) it is proposed for
    pattern: str
    match_pattern: str | None = None
    value_type: str | None = None  # the class of entity values


PLACE_ORG_EVENT = ("Place", "Organisation", "Event")
# One property path rather than a UNION: with ?x bound by VALUES, a path is looked up in the
# store's indexes, while a UNION is evaluated on its own first (a scan of every location).
_COUNTRY = "?x sc:country|sc:location|sc:governs|((sc:location|sc:governs)/sc:country) ?v . ?v a sc:Country"
PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in (
        Property(
            "country",
            "country",
            "The country of a place; of an organisation or event, that of the place it is in or governs.",
            "entity",
            PLACE_ORG_EVENT,
            _COUNTRY,
            value_type="Country",
        ),
        Property(
            "partOf",
            "part of",
            "The larger area a place belongs to (constraints match any of them: Zhucheng is part of Shandong).",
            "entity",
            ("Place",),
            "?x sc:partOf ?v",
            "?x sc:partOf+ ?v",
            value_type="Place",
        ),
        Property(
            "twinnedWith",
            "twinned with",
            "Sister and friendship cities (derived from the agreements).",
            "entity",
            ("Place",),
            "?x sc:twinnedWith ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "partnerOf",
            "partner of",
            "Partners in any partnership agreement.",
            "entity",
            ("Place",),
            "?x sc:partnerOf ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "governedBy",
            "governed by",
            "The local government of a place.",
            "entity",
            ("Place",),
            "?v sc:governs ?x",
            value_type="LocalGovernment",
        ),
        Property(
            "governs",
            "governs",
            "The area a local government governs.",
            "entity",
            ("Organisation",),
            "?x sc:governs ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "location",
            "location",
            "Where an organisation is based or an event takes place.",
            "entity",
            ("Organisation", "Event"),
            "?x sc:location ?v",
            value_type="Place",
        ),
        Property(
            "party",
            "party",
            "The parties to a partnership agreement.",
            "entity",
            ("PartnershipAgreement",),
            "?x sc:party ?v",
            value_type="AdministrativeArea",
        ),
        Property(
            "agreementType",
            "agreement type",
            "Sister city, friendship city, intercity cooperation, memorandum of understanding.",
            "entity",
            ("PartnershipAgreement",),
            "?x sc:agreementType ?v",
            value_type="AgreementType",
        ),
        Property(
            "signingDate",
            "signing date",
            "When the agreement was signed, as precisely as the source says (2012, 2012-05).",
            "string",
            ("PartnershipAgreement",),
            "?x sc:signingDate ?v",
        ),
        Property(
            "startDate",
            "start date",
            "When an agreement, event or programme began, as precisely as the source says.",
            "string",
            ("PartnershipAgreement", "Event", "CooperationProgramme"),
            "?x sc:startDate ?v",
        ),
        Property(
            "coordinates",
            "coordinates",
            "Latitude and longitude (WGS84) as 'lat,long'; constraints match within about 10 km.",
            "coordinates",
            ("Place",),
            '?x wgs:lat ?lat ; wgs:long ?long BIND(CONCAT(STR(?lat), ",", STR(?long)) AS ?v)',
        ),
        Property(
            "wikidata",
            "Wikidata item",
            "The Wikidata item (Q number) of the entity.",
            "string",
            ("Place",),
            f'?x owl:sameAs ?v FILTER(STRSTARTS(STR(?v), "{WD.iri}"))',
        ),
        Property(
            "geonames",
            "GeoNames feature",
            "The GeoNames feature of the place (its populated place).",
            "string",
            ("Place",),
            f'?x skos:closeMatch ?v FILTER(STRSTARTS(STR(?v), "{GEONAMES.iri}"))',
        ),
        Property(
            "code",
            "official code",
            "Finnish municipality number (297) or Chinese administrative division code (310115).",
            "string",
            ("AdministrativeArea", "Place"),
            "?x skos:notation ?v",
        ),
        *(
            Property(
                f"label_{lang}",
                f"name ({name})",
                f"The preferred name in {name}.",
                "string",
                ("Place", "Organisation", "Event", "PartnershipAgreement", "Person"),
                f'?x skos:prefLabel ?v FILTER(LANGMATCHES(LANG(?v), "{lang}"))',
            )
            for lang, name in (("en", "English"), ("fi", "Finnish"), ("sv", "Swedish"), ("zh", "Chinese"))
        ),
    )
}


async def property_values(
    engine: QueryEngine, base_iri: str, iris: Iterable[str], pids: Iterable[str], for_matching: bool = False
) -> dict[str, dict[str, list[ox.NamedNode | ox.Literal]]]:
    """Values of some properties for many entities: IRI -> property id -> values (in a stable
    order). One query per property and few hundred entities, each of the form
    `VALUES ?x { ... } <pattern>`, which the store answers by index lookups from each ?x."""
    ordered = sorted({i for i in iris if valid_iri(i)})
    wanted = [PROPERTIES[p] for p in dict.fromkeys(pids)]
    found: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    if not ordered or not wanted:
        return found
    asked = [
        (
            prop.id,
            prologue(Iris(base_iri).ontology_namespace)
            + f"SELECT DISTINCT ?x ?v WHERE {{ {values_clause('x', chunk)} {pattern} }}",
        )
        for prop in wanted
        for pattern in [prop.match_pattern if for_matching and prop.match_pattern else prop.pattern]
        for chunk in chunks(ordered)
    ]
    answers = await asyncio.gather(*(select(engine, query, 50_000) for _, query in asked))
    for (pid, _), rows in zip(asked, answers, strict=True):
        for row in rows:
            if row["v"] is not None:
                found[row["x"].value][pid].append(row["v"])
    for by_property in found.values():
        for pid, values in by_property.items():
            by_property[pid] = sorted(set(values), key=str)
    return found


def string_value(pid: str, term: ox.NamedNode | ox.Literal) -> str:
    """A literal or external IRI value as a string a spreadsheet wants (Q162279, 650224, 297)."""
    if pid == "wikidata":
        return term.value.rsplit("/", 1)[-1]
    if pid == "geonames":
        return term.value.rstrip("/").rsplit("/", 1)[-1]
    return term.value
