"""Generate the reference-evidence graphs in data/reference/ from the reference tables.

Identifiers, coordinates, official codes, place names and the 2016 Wikidata twinning links are
columns or rows of the project's reference tables, each with the evidence it was checked
against. Transcribing them by hand invites typos, so this script writes one Turtle file (one
named graph) per evidence source; tests/test_reference_import.py fails when the committed files
and the tables, or the installed CLDR, drift apart. Run it after editing a table:

    python scripts/import_reference.py

Inputs (all in data/reference/):

- entities.tsv: identifiers, codes and coordinates of the entities, with their evidence;
- labels.tsv: en/fi/sv/zh names of places, one row per piece of evidence, with a confidence;
- labels-unverified.tsv: names without sufficient evidence, which are never published;
- wikidata-p190-2016.tsv: every P190 link of the 2016 crawl that touches one of our places,
  with the lines of p190-2016/relations.tsv that state it;
- Unicode CLDR, read at build time through babel, for names of countries and of the cities
  that have a time zone of their own.

Which name is the preferred label (skos:prefLabel) and which an alternative (skos:altLabel) is
decided here, in `label_policy`, for every graph alike; docs/data-policy.md says the rule.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
TABLE = REFERENCE_DIR / "entities.tsv"
LABELS = REFERENCE_DIR / "labels.tsv"
UNVERIFIED_LABELS = REFERENCE_DIR / "labels-unverified.tsv"
P190_LINKS = REFERENCE_DIR / "wikidata-p190-2016.tsv"

BASE = "https://w3id.org/sistercities/"
PREFIXES = """\
@prefix sc:    <https://w3id.org/sistercities/ontology#> .
@prefix place: <https://w3id.org/sistercities/id/place/> .
@prefix adm:   <https://w3id.org/sistercities/id/concept/administrative-status/> .
@prefix owl:   <http://www.w3.org/2002/07/owl#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos:  <http://www.w3.org/2004/02/skos/core#> .
@prefix wgs:   <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix geo:   <http://www.opengis.net/ont/geosparql#> .
@prefix wd:    <http://www.wikidata.org/entity/> .
@prefix xsd:   <http://www.w3.org/2001/XMLSchema#> .
"""
EXTRA_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dct": "http://purl.org/dc/terms/",
    "source": f"{BASE}id/source/",
    "statement": f"{BASE}id/statement/",
}

CHINESE_STATUS = {
    "Municipality directly under the central government (CN)": (
        "sc:City",
        "adm:chinese-direct-administered-municipality",
    ),
    "District (New Area) of Shanghai (CN)": ("sc:District", "adm:chinese-new-area"),
    "Province (CN)": ("sc:Province", "adm:chinese-province"),
    "Prefecture-level city (CN)": ("sc:City", "adm:chinese-prefecture-level-city"),
    "County-level city under Weifang (CN)": ("sc:City", "adm:chinese-county-level-city"),
}

LANGUAGES = ("en", "fi", "sv", "zh")

# Ids of labels.tsv / entities.tsv that differ from the slug of our IRI.
PLACE_SLUGS = {"necc-shanghai": "national-exhibition-and-convention-center-shanghai"}

# --- Unicode CLDR -------------------------------------------------------------------------------
# Countries by their ISO 3166 code (CLDR territories); cities by the time zone named after them
# (CLDR exemplar cities). Only these twelve of our cities have a time zone of their own.
CLDR_TERRITORIES = {
    "finland": "FI",
    "china": "CN",
    "sweden": "SE",
    "estonia": "EE",
    "morocco": "MA",
    "russia": "RU",
    "spain": "ES",
    "united-states": "US",
    "india": "IN",
}
CLDR_ZONES = {
    "helsinki": "Europe/Helsinki",
    "shanghai": "Asia/Shanghai",
    "casablanca": "Africa/Casablanca",
    "moscow": "Europe/Moscow",
    "london": "Europe/London",
    "chicago": "America/Chicago",
    "bangkok": "Asia/Bangkok",
    "phnom-penh": "Asia/Phnom_Penh",
    "port-of-spain": "America/Port_of_Spain",
    "budapest": "Europe/Budapest",
    "buenos-aires": "America/Argentina/Buenos_Aires",
    "dubai": "Asia/Dubai",
}

# Where two verified names of a place in one language have equally many sources and no rule below
# decides, the editors' choice, with the reason.
PREFERRED_NAMES = {
    # Seed 000 uses both; the division's own name, as in the NBS list (浦东新区, "Pudong New Area").
    ("pudong", "en"): "Pudong New Area",
}

# Evidence sources of labels.tsv (source_kind) -> the file (named graph) their names go into.
# Seed names are in the seed graphs (data/seeds/), written by hand and checked by the tests;
# GeoNames rows carry no language and only corroborate, so they are not published as names.
NAME_GRAPHS = {
    "natural-earth": "natural-earth-5.ttl",
    "gnome-libgweather": "gnome-libgweather.ttl",
    "iso-codes": "debian-iso-codes.ttl",
    "organic-maps": "organic-maps.ttl",
    "yle-municipalities": "finland-municipalities-2020.ttl",
    "nbs-division-names": "china-divisions-2023.ttl",
}
CLDR_GRAPH = "unicode-cldr.ttl"


@dataclass(frozen=True)
class Entity:
    """One row of the reference table, with the columns this script reads."""

    row: dict[str, str]

    @property
    def slug(self) -> str:
        return PLACE_SLUGS.get(self.row["id"], self.row["id"])

    def __getitem__(self, column: str) -> str:
        return self.row[column].strip()


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as table:
        return list(csv.DictReader(table, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_table(path: Path = TABLE) -> list[Entity]:
    return [Entity(row) for row in read_tsv(path)]


def literal(text: str, language: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@{language}' if language else f'"{escaped}"'


def chinese_code(raw: str) -> str:
    """'31 (6-digit form 310000)' -> '310000'; codes already 6 or 9 digits stay as they are."""
    padded = re.search(r"6-digit form (\d{6})", raw)
    return padded.group(1) if padded else raw


def chinese_code_datatype(code: str) -> str:
    """Six-digit codes are divisions (GB/T 2260); nine-digit ones township-level statistical units."""
    return "sc:ChineseTownshipCode" if len(code) == 9 else "sc:ChineseDivisionCode"


def chinese_parent(code: str, known: dict[str, str]) -> str | None:
    """The nearest enclosing division present in the table, by the code's own hierarchy."""
    candidates = [code[:6]] if len(code) == 9 else [code[:4] + "00", code[:2] + "0000"]
    return next((known[c] for c in candidates if c != code and c in known), None)


# --- Names: the evidence and the policy --------------------------------------------------------


@dataclass(frozen=True)
class Cldr:
    """Names from Unicode CLDR through babel: (place, language) -> (name, how it was found)."""

    version: str
    babel_version: str
    names: dict[tuple[str, str], tuple[str, str]]


@cache
def cldr() -> Cldr:
    import babel
    from babel.core import Locale, get_cldr_version, get_global

    aliases = get_global("zone_aliases")
    names = {}
    for language in LANGUAGES:
        locale = Locale.parse(language)
        for place, code in CLDR_TERRITORIES.items():
            names[place, language] = (locale.territories[code], f"territories['{code}']")
        for place, zone in CLDR_ZONES.items():
            canonical = aliases.get(zone, zone)
            city = locale.time_zones.get(canonical, {}).get("city")
            if city:
                names[place, language] = (city, f"time_zones['{canonical}']['city']")
            else:  # the locale keeps the root exemplar city, which CLDR derives from the zone id
                root = canonical.rsplit("/", 1)[-1].replace("_", " ")
                names[place, language] = (root, f"time_zones['{canonical}'] (root exemplar city)")
    return Cldr(get_cldr_version(), babel.__version__, names)


@dataclass(frozen=True, order=True)
class Name:
    place: str
    language: str
    name: str


@dataclass
class NameEvidence:
    """Every name of every place with its language-tagged sources and confidence."""

    sources: dict[Name, set[str]]
    confidence: dict[Name, str]
    rows: list[dict[str, str]]
    unverified: set[Name]

    def names_of(self, place: str, language: str) -> list[Name]:
        return sorted(n for n in self.sources if n.place == place and n.language == language)


def name_evidence(labels: Path = LABELS, unverified: Path = UNVERIFIED_LABELS) -> NameEvidence:
    rows = read_tsv(labels)
    sources: dict[Name, set[str]] = defaultdict(set)
    confidence: dict[Name, str] = {}
    for row in rows:
        name = Name(PLACE_SLUGS.get(row["entity_id"], row["entity_id"]), row["lang"], row["name"])
        confidence[name] = row["confidence"]
        if row["language_tagged"] == "yes":
            kind = row["source_kind"]
            sources[name].add("cldr" if kind.startswith("cldr-") else kind)
    for (place, language), (value, _) in cldr().names.items():
        name = Name(place, language, value)
        sources[name].add("cldr")
        confidence[name] = "verified"
    unverified_names = {
        Name(PLACE_SLUGS.get(r["entity_id"], r["entity_id"]), r["lang"], r["name"]) for r in read_tsv(unverified)
    }
    return NameEvidence(dict(sources), confidence, rows, unverified_names)


def label_policy(evidence: NameEvidence) -> dict[Name, str]:
    """Name -> "prefLabel" or "altLabel", for every name with evidence.

    At most one preferred name per place and language, and only a verified one: the CLDR name
    where CLDR has one; else the verified name with the most language-tagged sources; on a tie
    the short form in Chinese (北京 before the official 北京市), else the editors' choice in
    PREFERRED_NAMES. Every other name, and every name with a single source, is an alternative.
    """
    choice: dict[Name, str] = {}
    places = {(n.place, n.language) for n in evidence.sources}
    for place, language in sorted(places):
        names = evidence.names_of(place, language)
        verified = [n for n in names if evidence.confidence.get(n) == "verified"]
        preferred = None
        cldr_name = cldr().names.get((place, language))
        if cldr_name:
            preferred = Name(place, language, cldr_name[0])
        elif verified:
            most = max(len(evidence.sources[n]) for n in verified)
            top = [n for n in verified if len(evidence.sources[n]) == most]
            if len(top) > 1 and language == "zh":
                shortest = min(len(n.name) for n in top)
                top = [n for n in top if len(n.name) == shortest]
            if len(top) > 1:
                chosen = PREFERRED_NAMES[place, language]  # a tie without a rule must be decided
                top = [n for n in top if n.name == chosen]
            preferred = top[0]
        for name in names:
            choice[name] = "prefLabel" if name == preferred else "altLabel"
    return choice


def name_statements(evidence: NameEvidence, policy: dict[Name, str], names: Iterable[Name]) -> dict[str, list[str]]:
    """place slug -> skos statements about its names, in a stable order."""
    statements: dict[str, list[str]] = defaultdict(list)
    for name in sorted(
        set(names), key=lambda n: (n.place, LANGUAGES.index(n.language), policy[n] != "prefLabel", n.name)
    ):
        statements[name.place].append(f"skos:{policy[name]} {literal(name.name, name.language)}")
    return statements


def rows_of(evidence: NameEvidence, source_kind: str) -> list[Name]:
    return [
        Name(PLACE_SLUGS.get(r["entity_id"], r["entity_id"]), r["lang"], r["name"])
        for r in evidence.rows
        if r["source_kind"] == source_kind and r["language_tagged"] == "yes"
    ]


def names_graph(source_kind: str, comment: list[str]) -> Callable[[list[Entity]], str]:
    def build(_: list[Entity]) -> str:
        evidence = name_evidence()
        policy = label_policy(evidence)
        lines = [*comment, ""]
        for place, statements in name_statements(evidence, policy, rows_of(evidence, source_kind)).items():
            lines.append(f"place:{place} " + " ;\n    ".join(statements) + " .")
        return "\n".join(lines)

    return build


def cldr_graph(_: list[Entity]) -> str:
    data = cldr()
    evidence = name_evidence()
    policy = label_policy(evidence)
    lines = [
        "# Names of countries (CLDR territory names) and of the cities that have a time zone of their",
        f"# own (CLDR exemplar cities), from Unicode CLDR {data.version} read through babel {data.babel_version}.",
        "# Where a locale sets no exemplar city it keeps the root one, which CLDR derives from the zone id.",
        "",
    ]
    names = [Name(place, language, value) for (place, language), (value, _) in data.names.items()]
    for place, statements in name_statements(evidence, policy, names).items():
        lines.append(f"place:{place} " + " ;\n    ".join(statements) + " .")
    return "\n".join(lines)


# --- Identifiers, codes, coordinates ------------------------------------------------------------


def wikidata_graph(entities: Iterable[Entity]) -> str:
    lines = [
        "# Wikidata items of places, from the 2016 crawl of Wikidata's P190 network. The places that",
        "# the crawl links to ours and that this dataset does not otherwise describe are minimal nodes:",
        "# their Wikidata item and the crawl's label. The crawl's labels prefer German and record no",
        "# language, so they are untagged rdfs:labels, not names in any language. Such a node is an",
        '# administrative area only in that the crawl gives it as a value of P190, "twinned',
        '# administrative body"; nothing else is known about it here.',
        "",
    ]
    for e in entities:
        if e["wikidata_qid"] and e["qid_evidence"].startswith("L3viathan/sister-cities"):
            lines.append(f"place:{e.slug} owl:sameAs wd:{e['wikidata_qid']} .")
    lines.append("")
    for qid, label in sorted(crawl_neighbours().items(), key=lambda item: int(item[0][1:])):
        lines.append(
            f"place:{neighbour_slug(qid)} a sc:AdministrativeArea ;\n    owl:sameAs wd:{qid} ;\n"
            f"    rdfs:label {literal(label)} ."
        )
    lines += [
        "",
        'place:dubai skos:note "Wikidata has two items for Dubai, the city (Q612) and the emirate (Q613); the 2016 '
        "crawl links both to Shanghai. This dataset identifies the city, Q612, with its place Dubai; the emirate "
        'is the minimal node of Q613."@en .',
    ]
    return "\n".join(lines)


def neighbour_slug(qid: str) -> str:
    """Our IRIs are lower case: place/wikidata-q105060 is the crawl's item Q105060."""
    return f"wikidata-{qid.lower()}"


@dataclass(frozen=True)
class CrawlClaim:
    """One line of the crawl: the item `subject` has a P190 claim with the value `object`."""

    subject: str
    object: str
    lines: tuple[int, ...]


def crawl_rows() -> list[dict[str, str]]:
    return read_tsv(P190_LINKS)


def crawl_neighbours() -> dict[str, str]:
    """QID -> crawl label of every place the crawl links to ours that is not one of ours."""
    found = {}
    for row in crawl_rows():
        for end in ("subject", "object"):
            if not row[f"{end}_entity_id"]:
                found[row[f"{end}_qid"]] = row[f"{end}_label"]
    return found


def crawl_claims() -> list[CrawlClaim]:
    claims = []
    for row in crawl_rows():
        forward = tuple(int(n) for n in row["lines_subject_to_object"].split(",") if n)
        claims.append(CrawlClaim(row["subject_qid"], row["object_qid"], forward))
        if row["lines_object_to_subject"]:
            backward = tuple(int(n) for n in row["lines_object_to_subject"].split(","))
            claims.append(CrawlClaim(row["object_qid"], row["subject_qid"], backward))
    return sorted(claims, key=lambda c: c.lines)


def place_of_qid(entities: Iterable[Entity]) -> dict[str, str]:
    ours = {e["wikidata_qid"]: e.slug for e in entities if e["wikidata_qid"]}
    return {**{q: neighbour_slug(q) for q in crawl_neighbours()}, **ours}


def statement_slug(claim: CrawlClaim) -> str:
    return f"wikidata-p190-2016-{claim.subject}-{claim.object}".lower()


def wikidata_links_graph(entities: list[Entity]) -> str:
    places = place_of_qid(entities)
    prefixes = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in EXTRA_PREFIXES.items())
    lines = [
        prefixes,
        '# Twinning links of the 2016 crawl of Wikidata\'s "twinned administrative body" (P190)',
        "# network: every P190 claim on the item of one of our places, and every claim on another item",
        "# whose value is one of our places. sc:twinnedWith is equivalent to P190, so each claim is the",
        "# link itself, and a statement node records where it was read: the item that carries the claim",
        "# (sc:statedOn), the crawl (dct:source, with its date in data/sources.ttl) and the line of the",
        "# crawl's relations.tsv (sc:sourceLine). Links that the crawl does not have are not statements;",
        "# where an article names a partner the crawl lacks, data/curation/conflicts.ttl says so.",
        "",
    ]
    for claim in crawl_claims():
        subject, obj = places[claim.subject], places[claim.object]
        line_list = " , ".join(str(n) for n in claim.lines)
        lines.append(
            f"place:{subject} sc:twinnedWith place:{obj} .\n"
            f"statement:{statement_slug(claim)} a sc:TwinningStatement ;\n"
            f"    rdf:subject place:{subject} ; rdf:predicate sc:twinnedWith ; rdf:object place:{obj} ;\n"
            f"    sc:statedOn wd:{claim.subject} ; sc:sourceLine {line_list} ;\n"
            "    dct:source source:wikidata-p190-crawl-2016 ."
        )
    return "\n".join(lines)


def geonames_graph(entities: Iterable[Entity]) -> str:
    lines = [
        "# GeoNames features and their coordinates, from the GeoNames cities15000 extract.",
        "# The point is that of the GeoNames populated place, hence skos:closeMatch.",
        "",
    ]
    for e in entities:
        if not (e["geonames_id"] and e["geonames_evidence"].startswith("CliveEvans/lucene-spike")):
            continue
        lines.append(f"place:{e.slug} skos:closeMatch <https://sws.geonames.org/{e['geonames_id']}/>")
        if e["lat"] and e["coord_evidence"].startswith("CliveEvans/lucene-spike"):
            wkt = f"POINT({e['lon']} {e['lat']})"
            lines[-1] += (
                f" ;\n    wgs:lat {e['lat']} ;\n    wgs:long {e['lon']} ;\n"
                f'    geo:hasGeometry [ a geo:Geometry ; geo:asWKT "{wkt}"^^geo:wktLiteral ]'
            )
        lines[-1] += " ."
    return "\n".join(lines)


def finnish_municipalities_graph(entities: Iterable[Entity]) -> str:
    lines = ["# Finnish municipality numbers and names, from Yle's municipality map of 2020.", ""]
    evidence = name_evidence()
    policy = label_policy(evidence)
    names = name_statements(evidence, policy, rows_of(evidence, "yle-municipalities"))
    for e in entities:
        if e["stat_code_scheme"] != "Statistics Finland municipality code":
            continue
        statements = [
            "a sc:Municipality",
            "sc:administrativeStatus adm:finnish-municipality",
            f'skos:notation "{e["stat_code"]}"^^sc:FinnishMunicipalityCode',
            "sc:partOf place:finland",
            *names.pop(e.slug, []),
        ]
        lines.append(f"place:{e.slug} " + " ;\n    ".join(statements) + " .")
    assert not names, f"Yle names of places without a municipality number: {sorted(names)}"
    return "\n".join(lines)


def chinese_divisions_graph(entities: Iterable[Entity]) -> str:
    lines = [
        "# Chinese statistical division codes, names and hierarchy, from the National Bureau of",
        "# Statistics division codes of 2023. Province-level codes are written in their six-digit",
        "# (zero-padded) GB/T 2260 form; nine-digit codes of township-level units have a datatype of",
        "# their own.",
        "",
    ]
    evidence = name_evidence()
    policy = label_policy(evidence)
    names = name_statements(evidence, policy, rows_of(evidence, "nbs-division-names"))
    chinese = [e for e in entities if e["stat_code_scheme"].startswith("CN ")]
    known = {chinese_code(e["stat_code"]): e.slug for e in chinese}
    for e in chinese:
        code = chinese_code(e["stat_code"])
        statements = []
        status = next((v for k, v in CHINESE_STATUS.items() if e["type"].startswith(k)), None)
        if status:
            statements += [f"a {status[0]}", f"sc:administrativeStatus {status[1]}"]
        else:
            statements.append("a sc:DevelopmentZone")
        statements.append(f'skos:notation "{code}"^^{chinese_code_datatype(code)}')
        parent = chinese_parent(code, known)
        # Every code of the list is a division of China; without a parent in the table (Nanjing's
        # province, Jiangsu, is not in it) the place is only known to be part of China.
        statements.append(f"sc:partOf place:{parent or 'china'}")
        statements += names.pop(e.slug, [])
        lines.append(f"place:{e.slug} " + " ;\n    ".join(statements) + " .")
    assert not names, f"NBS names of places without a code: {sorted(names)}"
    return "\n".join(lines)


GRAPHS: dict[str, Callable[[list[Entity]], str]] = {
    "wikidata-p190-2016.ttl": wikidata_graph,
    "wikidata-p190-links-2016.ttl": wikidata_links_graph,
    "geonames-cities15000.ttl": geonames_graph,
    "finland-municipalities-2020.ttl": finnish_municipalities_graph,
    "china-divisions-2023.ttl": chinese_divisions_graph,
    CLDR_GRAPH: cldr_graph,
    NAME_GRAPHS["natural-earth"]: names_graph(
        "natural-earth",
        ["# Names of places in Natural Earth 5.0.0 (fields NAME_EN, NAME_SV, NAME_ZH), as labels.tsv records them."],
    ),
    NAME_GRAPHS["gnome-libgweather"]: names_graph(
        "gnome-libgweather",
        [
            "# Names of places in GNOME libgweather's translated location names (po-locations), as",
            "# labels.tsv records them. A translation identical to the English name is not evidence of the",
            "# language (it may be an untranslated copy), so such names are not here.",
        ],
    ),
    NAME_GRAPHS["iso-codes"]: names_graph(
        "iso-codes",
        ["# Names of countries and Chinese provinces in Debian iso-codes (ISO 3166-1 and 3166-2 translations)."],
    ),
    NAME_GRAPHS["organic-maps"]: names_graph(
        "organic-maps",
        ["# Names of map regions in Organic Maps' translated country strings, as labels.tsv records them."],
    ),
}

HEADER = "# Generated by scripts/import_reference.py from data/reference/ and Unicode CLDR: do not edit.\n"


def render_all(entities: list[Entity]) -> dict[str, str]:
    return {name: f"{HEADER}{PREFIXES}\n{build(entities)}\n" for name, build in GRAPHS.items()}


def main() -> int:
    for name, text in render_all(read_table()).items():
        (REFERENCE_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote data/reference/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
