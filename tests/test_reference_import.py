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
