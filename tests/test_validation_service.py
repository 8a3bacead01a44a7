"""POST /validate against the real server: formats, errors, limits, and the same answers as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib

from tests.conftest import FIXTURES
from tests.live import Server, live_server

EXAMPLE = FIXTURES / "municipality-twin-cities.ttl"
SHAPE_FIXTURES = sorted((FIXTURES / "shapes").glob("*-invalid-*.ttl"))


def cli_report(path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "server", "validate", "--format", "json", str(path)], capture_output=True, text=True
    )
    return json.loads(result.stdout)


def comparable(report: dict) -> list[dict]:
    """Results without the file name, and with blank-node labels (arbitrary in each parse) blanked."""

    def plain(value: object) -> object:
        return "_:" if isinstance(value, str) and value.startswith("_:") else value

    return sorted(({k: plain(v) for k, v in r.items() if k != "file"} for r in report["results"]), key=json.dumps)


def test_the_worked_example_validates(http: httpx.Client) -> None:
    response = http.post("/validate", content=EXAMPLE.read_bytes(), headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200
    assert response.json()["conforms"] is True


@pytest.mark.parametrize("path", SHAPE_FIXTURES[::9], ids=lambda p: p.name)
def test_the_service_and_the_command_give_the_same_results(http: httpx.Client, path: Path) -> None:
    response = http.post("/validate", content=path.read_bytes(), headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200
    served = response.json()
    offline = cli_report(path)
    assert served["conforms"] == offline["conforms"] is False
    assert comparable(served) == comparable(offline)


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("json-ld", "application/ld+json"),
        ("xml", "application/rdf+xml"),
        ("nt", "application/n-triples"),
        ("turtle", "text/turtle"),
    ],
)
def test_every_rdf_format_is_accepted(http: httpx.Client, fmt: str, media_type: str) -> None:
    body = rdflib.Graph().parse(EXAMPLE).serialize(format=fmt)
    response = http.post("/validate", content=body.encode(), headers={"Content-Type": media_type})
    assert response.status_code == 200, response.text
    assert response.json()["conforms"] is True


def test_the_report_as_turtle(http: httpx.Client) -> None:
    bad = next(p for p in SHAPE_FIXTURES if p.name.startswith("PartnershipAgreementShape-party"))
    response = http.post(
        "/validate", content=bad.read_bytes(), headers={"Content-Type": "text/turtle", "Accept": "text/turtle"}
    )
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    assert list(graph.objects(None, rdflib.SH.conforms)) == [rdflib.Literal(False)]
    assert any(graph.subjects(rdflib.RDF.type, rdflib.SH.ValidationResult))


def test_syntax_errors_name_line_and_column(http: httpx.Client) -> None:
    response = http.post(
        "/validate",
        content=b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d undeclared:x .\n",
        headers={"Content-Type": "text/turtle"},
    )
    assert response.status_code == 400
    assert "request body:3:8" in response.text and "undeclared" in response.text


def test_wrong_content_type_and_too_large(http: httpx.Client) -> None:
    assert http.post("/validate", content=b"%PDF", headers={"Content-Type": "application/pdf"}).status_code == 415
    huge = b"# " + b"x" * 5_100_000 + b"\n"
    assert http.post("/validate", content=huge, headers={"Content-Type": "text/turtle"}).status_code == 413


def test_a_person_uploads_a_file_and_reads_the_problems(http: httpx.Client) -> None:
    bad = next(p for p in SHAPE_FIXTURES if p.name.startswith("PartnershipAgreementShape-party"))
    response = http.post("/validate", files={"file": (bad.name, bad.read_bytes(), "text/turtle")})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "does not conform" in response.text
    assert "exactly two parties" in response.text
    assert "How to fix" in response.text
    pasted = http.post("/validate", data={"data": "this is not turtle", "format": "turtle"}, files={"file": ("", b"")})
    assert pasted.status_code == 400 and "could not be read" in pasted.text
    assert "form" in http.get("/validate").text


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SISTERCITIES_VALIDATION_TIMEOUT": "0.5"}
    with live_server("--no-validate", cache_dir=tmp_path_factory.mktemp("cache"), env=env) as server:
        yield server


def many_agreements(count: int) -> bytes:
    lines = [
        "@prefix sc: <https://w3id.org/sistercities/ontology#> .",
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
    ]
    lines += [f'<http://example.org/a{i}> a sc:PartnershipAgreement ; skos:prefLabel "a{i}"@en .' for i in range(count)]
    return "\n".join(lines).encode()


def test_a_validation_past_its_time_limit_is_stopped(impatient: Server) -> None:
    started = time.perf_counter()
    response = httpx.post(
        f"{impatient.url}/validate", content=many_agreements(4000), headers={"Content-Type": "text/turtle"}, timeout=60
    )
    assert response.status_code == 503 and "stopped" in response.text
    assert time.perf_counter() - started < 10
    small = httpx.post(
        f"{impatient.url}/validate", content=EXAMPLE.read_bytes(), headers={"Content-Type": "text/turtle"}, timeout=60
    )
    assert small.status_code == 200 and small.json()["conforms"] is True
