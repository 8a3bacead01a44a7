"""Identity links: counted, and malformed or duplicated ones reported by `check-links`."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from server.settings import Settings
from server.store.build import open_store
from server.store.dataset import Dataset
from server.store.links import check_links

ROOT = Path(__file__).resolve().parent.parent


def run(data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"SISTERCITIES_DATA_DIR": str(data_dir)} if data_dir else {})}
    command = [sys.executable, "-m", "server", "check-links", "--format", "json"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_the_published_links_are_clean_and_counted() -> None:
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["problems"] == []
    table = list(csv.DictReader((ROOT / "data" / "reference" / "entities.tsv").open(encoding="utf-8"), delimiter="\t"))
    # Our entities' items, and the items of the places the 2016 crawl links to ours (minimal nodes).
    crawl = list(
        csv.DictReader((ROOT / "data" / "reference" / "wikidata-p190-2016.tsv").open(encoding="utf-8"), delimiter="\t")
    )
    neighbours = {row[f"{end}_qid"] for row in crawl for end in ("subject", "object") if not row[f"{end}_entity_id"]}
    assert report["counts"]["Wikidata"] == sum(bool(row["wikidata_qid"].strip()) for row in table) + len(neighbours)
    assert report["counts"]["GeoNames"] == sum(bool(row["geonames_id"].strip()) for row in table)
    assert report["counts"]["Finnish municipality code"] == 3
    assert report["counts"]["Chinese division code"] == 8
    assert report["counts"]["Chinese township code"] == 1


def test_malformed_and_duplicated_links_are_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "seeds" / "998-bad-links.ttl").write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "<https://w3id.org/sistercities/id/place/atlantis> owl:sameAs <https://www.wikidata.org/wiki/Q1757> ;\n"
        "    skos:closeMatch <https://sws.geonames.org/650224/> .\n"  # Kuopio's GeoNames feature again
    )
    result = run(data)
    assert result.returncode == 1
    problems = {
        (p["kind"], p["problem"], p["resource"].rsplit("/", 1)[-1]) for p in json.loads(result.stdout)["problems"]
    }
    assert ("Wikidata", "malformed", "atlantis") in problems
    assert ("GeoNames", "shared", "atlantis") in problems and ("GeoNames", "shared", "kuopio") in problems


def test_the_report_in_text() -> None:
    report = check_links(open_store(Dataset.from_settings(Settings()), None), Settings().base_iri)
    assert report.as_text().endswith("All links are well-formed and unique.\n")
