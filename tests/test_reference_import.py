"""The generated reference graphs stay in step with the reference table they come from."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "import_reference.py"


@pytest.fixture(scope="module")
def importer():
    spec = importlib.util.spec_from_file_location("import_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_committed_reference_graphs_match_the_table(importer) -> None:
    rendered = importer.render_all(importer.read_table())
    for name, text in rendered.items():
        committed = (importer.REFERENCE_DIR / name).read_text(encoding="utf-8")
        assert committed == text, f"data/reference/{name} is stale: run python scripts/import_reference.py"


def test_chinese_codes_are_written_in_six_digit_form(importer) -> None:
    assert importer.chinese_code("31 (6-digit form 310000)") == "310000"
    assert importer.chinese_code("310115503") == "310115503"


def test_chinese_parents_follow_the_code_hierarchy(importer) -> None:
    known = {"310000": "shanghai", "310115": "pudong", "370000": "shandong", "370700": "weifang"}
    assert importer.chinese_parent("310115", known) == "shanghai"
    assert importer.chinese_parent("370782", known) == "weifang"
    assert importer.chinese_parent("310115503", known) == "pudong"
    assert importer.chinese_parent("310000", known) is None


def test_chinese_codes_have_the_datatype_of_their_length(importer) -> None:
    assert importer.chinese_code_datatype("310115") == "sc:ChineseDivisionCode"
    assert importer.chinese_code_datatype("310115503") == "sc:ChineseTownshipCode"


def test_cldr_is_the_version_the_sources_name(importer) -> None:
    """The installed babel gives the CLDR version that data/sources.ttl records for the CLDR graph."""
    cldr = importer.cldr()
    sources = (importer.REFERENCE_DIR.parent / "sources.ttl").read_text(encoding="utf-8")
    assert f'dct:hasVersion "{cldr.version}"' in sources
    assert f"Unicode CLDR {cldr.version}, read through babel {cldr.babel_version}" in sources


def test_cldr_names_agree_with_the_evidence_table(importer) -> None:
    """Every CLDR row of labels.tsv is what babel gives now (same call, same name)."""
    cldr = importer.cldr().names
    for row in importer.read_tsv(importer.LABELS):
        if row["source_kind"].startswith("cldr-"):
            place = importer.PLACE_SLUGS.get(row["entity_id"], row["entity_id"])
            assert cldr[place, row["lang"]][0] == row["name"], row


def test_label_policy(importer) -> None:
    """One preferred name per place and language, always verified; single-source names are alternatives."""
    evidence = importer.name_evidence()
    policy = importer.label_policy(evidence)
    preferred: dict[tuple[str, str], list[str]] = {}
    for name, prop in policy.items():
        if prop == "prefLabel":
            assert evidence.confidence[name] == "verified", name
            preferred.setdefault((name.place, name.language), []).append(name.name)
        if evidence.confidence.get(name) == "single-source":
            assert prop == "altLabel", name
    assert all(len(names) == 1 for names in preferred.values()), preferred
    name = importer.Name
    assert policy[name("beijing", "fi", "Peking")] == "altLabel"
    assert policy[name("beijing", "sv", "Peking")] == "altLabel"
    assert policy[name("beijing", "zh", "北京")] == "prefLabel"
    assert policy[name("beijing", "zh", "北京市")] == "altLabel"
    assert policy[name("china", "fi", "Kiina")] == "prefLabel"
    assert policy[name("china", "zh", "中国")] == "prefLabel"
    assert policy[name("kuopio", "zh", "库奥皮奥")] == "altLabel"
    assert not any(n in policy for n in evidence.unverified), "an unverified name would be published"
