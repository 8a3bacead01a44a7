"""Docs that cannot drift: generated sections are current and every setting is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "make serve" in first_block and "make test" in first_block


def test_generated_sections_are_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "README.md"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        "README.md is stale: run `.venv/bin/cog -r README.md`\n" + result.stdout + result.stderr
    )


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`SISTERCITIES_{name.upper()}`" in README, name


def test_the_speed_figures_name_their_results_file_and_date() -> None:
    """Figures in the README say which recorded run they come from, and that run says so too."""
    import json
    import re

    speed = README.split("## Speed", 1)[1].split("\n## ", 1)[0]
    cited = re.findall(r"`(benchmarks/results/[\w.-]+\.json)`, run on (\d{4}-\d{2}-\d{2})", speed)
    assert cited, "the Speed section names no results file with its date"
    for path, day in cited:
        recorded = json.loads((ROOT / path).read_text(encoding="utf-8"))
        assert recorded["date"].startswith(day), f"{path} was recorded on {recorded['date']}, not {day}"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_worked_example_of_the_guide_is_the_fixture_that_validates() -> None:
    """docs/link-to-us.md shows tests/fixtures/municipality-twin-cities.ttl, which the CLI and
    the service tests validate; the two must say the same."""
    import re

    import rdflib
    from rdflib.compare import isomorphic

    guide = (ROOT / "docs" / "link-to-us.md").read_text(encoding="utf-8")
    shown = re.search(r"```turtle\n(.*?)```", guide, re.DOTALL).group(1)
    fixture = rdflib.Graph().parse(ROOT / "tests" / "fixtures" / "municipality-twin-cities.ttl")
    assert isomorphic(rdflib.Graph().parse(data=shown, format="turtle"), fixture)


def test_the_screenshots_of_the_pages_are_there_and_small() -> None:
    """docs/pages.md shows every screenshot scripts/screenshots.py takes, and each file is there
    and small enough to keep in the repository."""
    import re

    pages = (ROOT / "docs" / "pages.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\((screenshots/[\w.-]+\.png)\)", pages))
    taken = {f"screenshots/{p.name}" for p in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert shown == taken and len(taken) >= 10
    assert all((ROOT / "docs" / name).stat().st_size < 300_000 for name in taken)
    assert "docs/pages.md" in README
