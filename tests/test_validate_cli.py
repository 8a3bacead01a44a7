"""The `validate` command: syntax first, then SHACL; readable, Turtle or JSON; exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import rdflib

from tests.conftest import FIXTURES

EXAMPLE = FIXTURES / "municipality-twin-cities.ttl"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "validate", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_published_data_conform() -> None:
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 violation(s)" in result.stdout


def test_broken_turtle_names_file_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n    ex:d undeclared:x .\n")
    result = run(str(broken))
    assert result.returncode == 1
    assert f"{broken}:3:10:" in result.stderr
    assert "undeclared" in result.stderr


def test_missing_file_or_unknown_format_cannot_run(tmp_path: Path) -> None:
    assert run(str(tmp_path / "absent.ttl")).returncode == 2
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    result = run(str(odd))
    assert result.returncode == 2
    assert "unknown RDF file extension" in result.stderr


def test_violations_are_reported_with_focus_property_message_and_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix sc: <https://w3id.org/sistercities/ontology#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        '<http://example.org/agreement> a sc:PartnershipAgreement ; skos:prefLabel "x"@en ;\n'
        "    sc:party <https://w3id.org/sistercities/id/place/kuopio> .\n"
    )
    text = run(str(bad))
    assert text.returncode == 1
    assert "<http://example.org/agreement> sc:party" in text.stdout
    assert "exactly two parties" in text.stdout
    assert str(bad) in text.stdout

    report = json.loads(run(str(bad), "--format", "json").stdout)
    assert report["conforms"] is False
    parties = [r for r in report["results"] if r["source_shape"] == "scsh:PartnershipAgreementShape-party"]
    assert parties and parties[0]["node_shape"] == "scsh:PartnershipAgreementShape"
    assert parties[0]["file"] == str(bad)

    graph = rdflib.Graph().parse(data=run(str(bad), "--format", "turtle").stdout, format="turtle")
    assert list(graph.objects(None, rdflib.SH.conforms)) == [rdflib.Literal(False)]


def test_the_worked_example_of_the_link_to_us_guide_conforms() -> None:
    result = run(str(EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr
