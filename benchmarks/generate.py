"""Generate a synthetic but realistic twinning dataset in the project's vocabulary.

    python benchmarks/generate.py OUTPUT_DIR [--triples 1000000] [--seed 42]

The output is a directory of Turtle files that `sistercities serve --data-dir OUTPUT_DIR` loads as
it loads data/: one named graph per file, the default graph their merge. It is shaped like the
curated data:

- reference files, like data/reference/: `synthetic-divisions` (countries, provinces and cities
  with multilingual skos:prefLabel and sc:partOf), `synthetic-wikidata` (owl:sameAs),
  `synthetic-geonames` (skos:closeMatch, wgs84 coordinates and a GeoSPARQL geometry) and
  `synthetic-wikidata-p190` (direct sc:twinnedWith links for some twinned pairs);
- article files, like data/seeds/, one per synthetic source (`synthetic-articles-NN`):
  sc:PartnershipAgreement nodes with two sc:party, a sc:agreementType from ontology/concepts.ttl,
  a status, sc:startDate or sc:signingDate as xsd:gYear or xsd:date, fields of cooperation and
  dct:source; organisations; events with sc:startDate, sc:location and sc:participant; and
  observations (stated figures);
- `synthetic-sources`, like data/sources.ttl: the sources and which graph each one is.

Twinning is skewed as in reality: a few hub cities have hundreds of partners, most have one or
two. The output depends only on --triples and --seed. Sizing: --triples is the target size of
the merged default graph once the server has loaded the files with the ontology and derived its
links (sc:partnerOf, sc:twinnedWith, sc:country); the generator writes about 85% of it.
The files are written by string building (no RDF library), so a million triples take seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from pathlib import Path

BASE = "https://w3id.org/sistercities/"
GENERATOR_REVISION = "3"

PREFIXES = f"""@prefix sc:           <{BASE}ontology#> .
@prefix place:        <{BASE}id/place/> .
@prefix organisation: <{BASE}id/organisation/> .
@prefix agreement:    <{BASE}id/agreement/> .
@prefix event:        <{BASE}id/event/> .
@prefix observation:  <{BASE}id/observation/> .
@prefix source:       <{BASE}id/source/> .
@prefix graph:        <{BASE}graph/> .
@prefix agt:          <{BASE}id/concept/agreement-type/> .
@prefix ags:          <{BASE}id/concept/agreement-status/> .
@prefix adm:          <{BASE}id/concept/administrative-status/> .
@prefix field:        <{BASE}id/concept/field/> .
@prefix measure:      <{BASE}id/concept/measure/> .
@prefix skos:         <http://www.w3.org/2004/02/skos/core#> .
@prefix dct:          <http://purl.org/dc/terms/> .
@prefix owl:          <http://www.w3.org/2002/07/owl#> .
@prefix prov:         <http://www.w3.org/ns/prov#> .
@prefix wgs:          <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix geo:          <http://www.opengis.net/ont/geosparql#> .
@prefix wd:           <http://www.wikidata.org/entity/> .
@prefix xsd:          <http://www.w3.org/2001/XMLSchema#> .

"""

# Concepts of ontology/concepts.ttl, with how often each is used.
AGREEMENT_TYPES = (
    ("sister-city", 50),
    ("friendship-city", 20),
    ("intercity-cooperation", 15),
    ("memorandum-of-understanding", 15),
)
TWINNING_TYPES = {"sister-city", "friendship-city"}
TYPE_LABELS = {
    "sister-city": "sister-city relationship",
    "friendship-city": "friendship-city relationship",
    "intercity-cooperation": "intercity cooperation agreement",
    "memorandum-of-understanding": "memorandum of understanding",
}
STATUSES = (("in-force", 80), ("announced", 8), ("ended", 12))
FIELDS = (
    "education",
    "culture",
    "business",
    "tourism",
    "innovation",
    "environment",
    "urban-planning",
    "research",
    "sustainable-development",
    "technology",
    "smart-city",
    "digitalisation",
    "health",
)
CITY_STATUSES = (
    "chinese-prefecture-level-city",
    "chinese-county-level-city",
    "finnish-municipality",
    "swedish-municipality",
)
ORG_KINDS = (
    ("University", "University of {}"),
    ("ChamberOfCommerce", "{} Chamber of Commerce"),
    ("Company", "{} Trading Company"),
    ("Association", "{} Friendship Association"),
    ("SciencePark", "{} Science Park"),
)
EVENT_KINDS = (
    ("Visit", "Delegation from {} visits {}"),
    ("Forum", "{} \u2013 {} partnership forum"),
    ("TradeFair", "{} trade fair with guests from {}"),
    ("SigningCeremony", "Signing ceremony of {} and {}"),
    ("Celebration", "Anniversary of the partnership of {} and {}"),
)

# Name material: syllables for Latin-script names, characters for Chinese ones.
ONSETS = ("", "b", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "sh", "ch", "st")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ia", "ei", "y")
CODAS = ("", "", "", "n", "r", "s", "l", "ng", "m", "t")
ENDINGS = ("", "", "", "", "burg", "ville", "stad", "la", "polis", "ford", "holm", "shan", "zhou", "ia", "ovo", "inen")
HANZI = "山河州城安海江宁南北东西阳华新天京平福广长兴德和昌清乐泰丰庆湖林云武济台松嘉临金青石"


def weighted(choices: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [c for c, _ in choices], [w for _, w in choices]


class Names:
    """Unique, pronounceable names and slugs, drawn from the generator's random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.slugs: set[str] = set()

    def word(self, syllables: int) -> str:
        r = self.rng
        text = "".join(r.choice(ONSETS) + r.choice(VOWELS) + r.choice(CODAS) for _ in range(syllables))
        return text + r.choice(ENDINGS)

    def name(self) -> tuple[str, str]:
        """A capitalised name and its unique slug (a suffix tells apart equal names)."""
        words = [self.word(self.rng.choice((1, 2, 2, 3))) for _ in range(self.rng.choice((1, 1, 1, 1, 2)))]
        name = " ".join(w.capitalize() for w in words)
        slug = "-".join(words)
        unique, n = slug, 1
        while unique in self.slugs:
            n += 1
            unique = f"{slug}-{n}"
        self.slugs.add(unique)
        return name, unique

    def hanzi(self) -> str:
        return "".join(self.rng.choice(HANZI) for _ in range(self.rng.choice((2, 2, 3))))


def lit(text: str, lang: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"@' + lang


def date_literal(rng: random.Random, first: int, last: int, precise: float) -> str:
    year = rng.randint(first, last)
    if rng.random() < precise:
        return f'"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"^^xsd:date'
    return f'"{year}"^^xsd:gYear'


class TurtleFile:
    """A Turtle file written by string building, counting the triples it states."""

    def __init__(self, directory: Path, stem: str, comment: str) -> None:
        self.path = directory / f"{stem}.ttl"
        self.parts: list[str] = [f"# {comment}\n# Generated by benchmarks/generate.py: synthetic data.\n", PREFIXES]
        self.triples = 0

    def subject(self, subject: str, statements: list[tuple[str, list[str]]]) -> None:
        lines = []
        for predicate, objects in statements:
            if objects:
                lines.append(f"    {predicate} " + " , ".join(objects))
                self.triples += len(objects)
        self.parts.append(subject + "\n" + " ;\n".join(lines) + " .\n")

    def write(self) -> None:
        self.path.write_text("".join(self.parts), encoding="utf-8")


# Triples in the merged default graph per city, found by generating and loading (see --help):
# the city's own ~13, its share of provinces and countries, 2 agreements of ~13 triples each
# with their derived links, organisations, events and observations.
TRIPLES_PER_CITY = 49.0
ONTOLOGY_TRIPLES = 1_800  # what ontology/ adds to the merge


def generate(out: Path, target: int, seed: int, sources: int = 20) -> dict:
    started = time.perf_counter()
    rng = random.Random(seed)
    names = Names(rng)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.ttl"):
        old.unlink()

    n_cities = max(30, round((target - ONTOLOGY_TRIPLES) / TRIPLES_PER_CITY))
    n_countries = max(3, min(190, n_cities // 100))
    n_agreements = 2 * n_cities
    n_orgs = n_cities // 2
    n_events = n_cities * 3 // 4
    n_observations = n_cities // 2

    divisions = TurtleFile(out, "synthetic-divisions", "Countries, provinces and cities with their names.")
    wikidata = TurtleFile(out, "synthetic-wikidata", "Wikidata items of places.")
    geonames = TurtleFile(out, "synthetic-geonames", "GeoNames features and coordinates of cities.")
    p190 = TurtleFile(out, "synthetic-wikidata-p190", "Twinning links as a Wikidata crawl states them.")
    articles = [
        TurtleFile(out, f"synthetic-articles-{i:02d}", f"What synthetic source {i:02d} says.") for i in range(sources)
    ]
    registry = TurtleFile(out, "synthetic-sources", "The synthetic sources and the graph of each.")
    qid = iter(range(10_000_000, 99_999_999))

    # Countries, each with a few provinces.
    countries: list[tuple[str, str]] = []
    provinces: list[tuple[str, str, str]] = []  # slug, name, country slug
    for _ in range(n_countries):
        name, slug = names.name()
        countries.append((slug, name))
        divisions.subject(
            f"place:{slug}",
            [
                ("a", ["sc:Country"]),
                (
                    "skos:prefLabel",
                    [lit(name, "en"), lit(name, "fi"), lit(name, "sv"), lit(names.hanzi() + "国", "zh")],
                ),
            ],
        )
        wikidata.subject(f"place:{slug}", [("owl:sameAs", [f"wd:Q{next(qid)}"])])
        for _ in range(rng.randint(3, 8)):
            pname, pslug = names.name()
            provinces.append((pslug, pname, slug))
            divisions.subject(
                f"place:{pslug}",
                [
                    ("a", ["sc:Province"]),
                    ("sc:partOf", [f"place:{slug}"]),
                    ("skos:prefLabel", [lit(f"{pname} Province", "en"), lit(names.hanzi() + "省", "zh")]),
                ],
            )

    # Cities: most in a province, some directly in their country.
    cities: list[tuple[str, str]] = []
    for _ in range(n_cities):
        name, slug = names.name()
        cities.append((slug, name))
        labels = [lit(name, "en")]
        if rng.random() < 0.5:
            labels.append(lit(names.hanzi() + "市", "zh"))
        if rng.random() < 0.3:
            labels.append(lit(name, "fi"))
        if rng.random() < 0.3:
            labels.append(lit(name.replace("burg", "borg").replace("ville", "stad"), "sv"))
        parent = rng.choice(provinces)[0] if rng.random() < 0.8 else rng.choice(countries)[0]
        statements = [("a", ["sc:City"]), ("skos:prefLabel", labels), ("sc:partOf", [f"place:{parent}"])]
        if rng.random() < 0.4:
            statements.append(("sc:administrativeStatus", [f"adm:{rng.choice(CITY_STATUSES)}"]))
        divisions.subject(f"place:{slug}", statements)
        wikidata.subject(f"place:{slug}", [("owl:sameAs", [f"wd:Q{next(qid)}"])])
        lat, long = round(rng.uniform(-60, 70), 5), round(rng.uniform(-180, 180), 5)
        geonames.subject(
            f"place:{slug}",
            [
                ("skos:closeMatch", [f"<https://sws.geonames.org/{rng.randint(100_000, 9_999_999)}/>"]),
                ("wgs:lat", [str(lat)]),
                ("wgs:long", [str(long)]),
                ("geo:hasGeometry", [f'[ a geo:Geometry ; geo:asWKT "POINT({long} {lat})"^^geo:wktLiteral ]']),
            ],
        )
        geonames.triples += 2  # the two statements about the geometry node

    # Agreements between two cities; partners are drawn with a skewed (Zipf-like) popularity.
    popularity = [1.0 / (rank + 1) ** 0.5 for rank in range(n_cities)]
    order = list(range(n_cities))
    rng.shuffle(order)  # hubs are spread over the list, not the first cities written
    weights = [0.0] * n_cities
    for rank, index in enumerate(order):
        weights[index] = popularity[rank]
    cum_weights = list(itertools.accumulate(weights))
    type_names, type_weights = weighted(AGREEMENT_TYPES)
    status_names, status_weights = weighted(STATUSES)
    firsts = rng.choices(range(n_cities), cum_weights=cum_weights, k=n_agreements)
    agreements: list[tuple[str, int, int]] = []
    agreement_slugs: set[str] = set()
    for a in firsts:
        b = rng.randrange(n_cities)
        while b == a:
            b = rng.randrange(n_cities)
        (sa, na), (sb, nb) = cities[a], cities[b]
        kind = rng.choices(type_names, weights=type_weights)[0]
        slug, n = f"{sa}-{sb}", 1
        while slug in agreement_slugs:
            n += 1
            slug = f"{sa}-{sb}-{n}"
        agreement_slugs.add(slug)
        source = rng.randrange(sources)
        agreements.append((slug, a, b))
        statements = [
            ("a", ["sc:PartnershipAgreement"]),
            ("skos:prefLabel", [lit(f"{na} \u2013 {nb} {TYPE_LABELS[kind]}", "en")]),
            ("sc:party", [f"place:{sa}", f"place:{sb}"]),
            ("sc:agreementType", [f"agt:{kind}"]),
            ("sc:agreementStatus", [f"ags:{rng.choices(status_names, weights=status_weights)[0]}"]),
        ]
        date = date_literal(rng, 1950, 2025, precise=0.3)
        statements.append(("sc:startDate" if rng.random() < 0.75 else "sc:signingDate", [date]))
        statements.append(("sc:cooperationField", [f"field:{f}" for f in rng.sample(FIELDS, rng.randint(0, 2))]))
        statements.append(("dct:source", [f"source:synthetic-{source:02d}"]))
        articles[source].subject(f"agreement:{slug}", statements)
        if kind in TWINNING_TYPES and rng.random() < 0.3:
            p190.subject(f"place:{sa}", [("sc:twinnedWith", [f"place:{sb}"])])

    # Organisations: a local government for many cities, and other bodies located in a city.
    orgs: list[tuple[str, int]] = []
    for i in range(n_orgs):
        city = rng.choices(range(n_cities), cum_weights=cum_weights)[0] if i % 2 else rng.randrange(n_cities)
        cslug, cname = cities[city]
        source = rng.randrange(sources)
        if i % 3 == 0:
            slug = f"city-of-{cslug}"
            if slug in names.slugs:
                slug = f"{slug}-{i}"
            statements = [
                ("a", ["sc:LocalGovernment"]),
                ("skos:prefLabel", [lit(f"City of {cname}", "en"), lit(f"{cname} stad", "sv")]),
                ("sc:governs", [f"place:{cslug}"]),
            ]
        else:
            cls, pattern = rng.choice(ORG_KINDS)
            slug = f"{cslug}-{cls.lower()}-{i}"
            statements = [
                ("a", [f"sc:{cls}"]),
                ("skos:prefLabel", [lit(pattern.format(cname), "en")]),
                ("sc:location", [f"place:{cslug}"]),
            ]
        names.slugs.add(slug)
        if orgs and rng.random() < 0.3:
            statements.append(("sc:memberOf", [f"organisation:{rng.choice(orgs)[0]}"]))
        statements.append(("dct:source", [f"source:synthetic-{source:02d}"]))
        articles[source].subject(f"organisation:{slug}", statements)
        orgs.append((slug, city))

    # Events around agreements: visits, forums, fairs, with participants.
    for i in range(n_events):
        aslug, a, b = rng.choice(agreements)
        (sa, na), (sb, nb) = cities[a], cities[b]
        cls, pattern = rng.choice(EVENT_KINDS)
        source = rng.randrange(sources)
        statements = [
            ("a", [f"sc:{cls}"]),
            ("skos:prefLabel", [lit(pattern.format(na, nb), "en")]),
            ("sc:startDate", [date_literal(rng, 1990, 2025, precise=0.8)]),
            ("sc:location", [f"place:{rng.choice((sa, sb))}"]),
            ("sc:participant", [f"organisation:{o[0]}" for o in rng.sample(orgs, rng.randint(1, 3))]),
        ]
        if rng.random() < 0.5:
            statements.append(("sc:relatedAgreement", [f"agreement:{aslug}"]))
        statements.append(("dct:source", [f"source:synthetic-{source:02d}"]))
        articles[source].subject(f"event:{sa}-{cls.lower()}-{i}", statements)

    # Observations: stated figures about cities.
    for i in range(n_observations):
        city = rng.choices(range(n_cities), cum_weights=cum_weights)[0]
        cslug, cname = cities[city]
        measure = rng.choice(("sister-cities", "population", "direct-flights-per-week"))
        value = {"sister-cities": rng.randint(1, 120), "population": rng.randint(10_000, 9_000_000)}.get(
            measure, rng.randint(0, 40)
        )
        year = rng.randint(2000, 2025)
        source = rng.randrange(sources)
        articles[source].subject(
            f"observation:{cslug}-{measure}-{year}-{i}",
            [
                ("a", ["sc:Observation"]),
                ("skos:prefLabel", [lit(f"{measure.replace('-', ' ').capitalize()} of {cname} ({year})", "en")]),
                ("sc:observedEntity", [f"place:{cslug}"]),
                ("sc:measure", [f"measure:{measure}"]),
                ("sc:value", [str(value)]),
                ("sc:observationDate", [f'"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"^^xsd:date']),
                ("dct:source", [f"source:synthetic-{source:02d}"]),
            ],
        )

    # The sources and the graph each one was loaded into.
    for i in range(sources):
        registry.subject(
            f"source:synthetic-{i:02d}",
            [
                ("a", ["sc:Article"]),
                ("skos:prefLabel", [lit(f"Synthetic source {i:02d}", "en")]),
                ("dct:issued", [f'"{2000 + i}-01-01"^^xsd:date']),
            ],
        )
        registry.subject(
            f"graph:synthetic-articles-{i:02d}",
            [("a", ["sc:SourceGraph"]), ("prov:wasDerivedFrom", [f"source:synthetic-{i:02d}"])],
        )

    files = [divisions, wikidata, geonames, p190, *articles, registry]
    for f in files:
        f.write()
    manifest = {
        "generator_revision": GENERATOR_REVISION,
        "target_triples": target,
        "seed": seed,
        "sources": sources,
        "written_triples": sum(f.triples for f in files),
        "countries": n_countries,
        "provinces": len(provinces),
        "cities": n_cities,
        "agreements": n_agreements,
        "organisations": n_orgs,
        "events": n_events,
        "observations": n_observations,
        "files": {f.path.name: f.triples for f in files},
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "generated.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def is_current(out: Path, target: int, seed: int) -> bool:
    """Whether OUTPUT_DIR already holds exactly what these parameters generate."""
    try:
        manifest = json.loads((out / "generated.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        manifest.get("generator_revision") == GENERATOR_REVISION
        and manifest.get("target_triples") == target
        and manifest.get("seed") == seed
        and all((out / name).is_file() for name in manifest.get("files", {}))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="directory to write the Turtle files into (replaced)")
    parser.add_argument("--triples", type=int, default=1_000_000, help="target size of the merged default graph")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sources", type=int, default=20, help="number of synthetic article sources (files)")
    args = parser.parse_args(argv)
    manifest = generate(args.output, args.triples, args.seed, args.sources)
    print(json.dumps({k: v for k, v in manifest.items() if k != "files"}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
