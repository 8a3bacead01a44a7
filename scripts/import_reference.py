"""Generate the reference-evidence graphs in data/reference/ from data/reference/entities.tsv.

Identifiers, coordinates and official codes are columns of the project's reference table, each
with the evidence it was checked against. Transcribing them by hand invites typos, so this
script writes one Turtle file per evidence source; tests/test_reference_import.py fails when the
committed files and the table drift apart. Run it after editing the table:

    python scripts/import_reference.py
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
TABLE = REFERENCE_DIR / "entities.tsv"

PREFIXES = """\
@prefix sc:    <https://w3id.org/sistercities/ontology#> .
@prefix place: <https://w3id.org/sistercities/id/place/> .
@prefix adm:   <https://w3id.org/sistercities/id/concept/administrative-status/> .
@prefix owl:   <http://www.w3.org/2002/07/owl#> .
@prefix skos:  <http://www.w3.org/2004/02/skos/core#> .
@prefix wgs:   <http://www.w3.org/2003/01/geo/wgs84_pos#> .
@prefix geo:   <http://www.opengis.net/ont/geosparql#> .
@prefix wd:    <http://www.wikidata.org/entity/> .
@prefix xsd:   <http://www.w3.org/2001/XMLSchema#> .
"""

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


@dataclass(frozen=True)
class Entity:
    """One row of the reference table, with the columns this script reads."""

    row: dict[str, str]

    @property
    def slug(self) -> str:
        return self.row["id"]

    def __getitem__(self, column: str) -> str:
        return self.row[column].strip()


def read_table(path: Path = TABLE) -> list[Entity]:
    with path.open(encoding="utf-8", newline="") as table:
        return [Entity(row) for row in csv.DictReader(table, delimiter="\t")]


def literal(text: str, language: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@{language}' if language else f'"{escaped}"'


def chinese_code(raw: str) -> str:
    """'31 (6-digit form 310000)' -> '310000'; codes already 6 or 9 digits stay as they are."""
    padded = re.search(r"6-digit form (\d{6})", raw)
    return padded.group(1) if padded else raw


def chinese_parent(code: str, known: dict[str, str]) -> str | None:
    """The nearest enclosing division present in the table, by the code's own hierarchy."""
    candidates = [code[:6]] if len(code) == 9 else [code[:4] + "00", code[:2] + "0000"]
    return next((known[c] for c in candidates if c != code and c in known), None)


def wikidata_graph(entities: Iterable[Entity]) -> str:
    lines = ["# Wikidata items of places, from the 2016 crawl of Wikidata's P190 network.", ""]
    for e in entities:
        if e["wikidata_qid"] and e["qid_evidence"].startswith("L3viathan/sister-cities"):
            lines.append(f"place:{e.slug} owl:sameAs wd:{e['wikidata_qid']} .")
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
    for e in entities:
        if e["stat_code_scheme"] != "Statistics Finland municipality code":
            continue
        statements = [
            "a sc:Municipality",
            "sc:administrativeStatus adm:finnish-municipality",
            f'skos:notation "{e["stat_code"]}"^^sc:FinnishMunicipalityCode',
            "sc:partOf place:finland",
        ]
        if "from YLE file" in e["names_note"]:
            statements += [f"skos:prefLabel {literal(e[f'name_{lang}'], lang)}" for lang in ("fi", "sv")]
        lines.append(f"place:{e.slug} " + " ;\n    ".join(statements) + " .")
    return "\n".join(lines)


def chinese_divisions_graph(entities: Iterable[Entity]) -> str:
    lines = [
        "# Chinese statistical division codes, names and hierarchy, from the National Bureau of",
        "# Statistics division codes of 2023. Province-level codes are written in their six-digit",
        "# (zero-padded) GB/T 2260 form.",
        "",
    ]
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
        statements.append(f'skos:notation "{code}"^^sc:ChineseDivisionCode')
        parent = chinese_parent(code, known)
        # Every code of the list is a division of China; without a parent in the table (Nanjing's
        # province, Jiangsu, is not in it) the place is only known to be part of China.
        statements.append(f"sc:partOf place:{parent or 'china'}")
        if "zh from NBS list" in e["names_note"] and e["name_zh"]:
            statements.append(f"skos:prefLabel {literal(e['name_zh'], 'zh')}")
        lines.append(f"place:{e.slug} " + " ;\n    ".join(statements) + " .")
    return "\n".join(lines)


GRAPHS: dict[str, Callable[[list[Entity]], str]] = {
    "wikidata-p190-2016.ttl": wikidata_graph,
    "geonames-cities15000.ttl": geonames_graph,
    "finland-municipalities-2020.ttl": finnish_municipalities_graph,
    "china-divisions-2023.ttl": chinese_divisions_graph,
}

HEADER = "# Generated by scripts/import_reference.py from data/reference/entities.tsv: do not edit.\n"


def render_all(entities: list[Entity]) -> dict[str, str]:
    return {name: f"{HEADER}{PREFIXES}\n{build(entities)}\n" for name, build in GRAPHS.items()}


def main() -> int:
    for name, text in render_all(read_table()).items():
        (REFERENCE_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote data/reference/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
