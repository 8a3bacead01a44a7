"""The catalogue against the official DCAT-AP 3.0.1 SHACL shapes, as harvesters validate it.

data.europa.eu's metadata quality assessment and the national portals (ckanext-dcat) check a
harvested catalogue with the shapes SEMIC publishes: `dcat-ap-SHACL.ttl` and the class-range shapes
`ranges.ttl`. Each serialisation the real server offers is fetched and validated with pySHACL, alone,
without inference (a harvester validates the one document it fetched), and must give no result at
all: no violation, no warning, no information.

The shapes are not ours and are not copied here: they are read from `../shared/ext/DCAT-AP-3.0.1/`
beside the checkout (README "For harvesters" says where they come from). Without that folder the
tests skip and say so.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
import rdflib
from pyshacl import validate
from rdflib.namespace import RDF, SH

ROOT = Path(__file__).resolve().parent.parent
SHAPES_DIR = ROOT.parent / "shared" / "ext" / "DCAT-AP-3.0.1"
SHAPE_FILES = ("dcat-ap-SHACL.ttl", "ranges.ttl")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
DQV = rdflib.Namespace("http://www.w3.org/ns/dqv#")

# media type -> what rdflib calls it
SERIALISATIONS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}


def dangling_property_links(shapes: rdflib.Graph) -> list[tuple[rdflib.term.Node, rdflib.term.Node]]:
    """sh:property links to shapes that no file defines. The 3.0.1 ranges.ttl names five such
    property shapes under dcat:DatasetShape, dcat:DistributionShape and dcat:RelationshipShape
    (left over from its generator); pySHACL refuses a property shape without sh:path. They add no
    constraint, so they are dropped before validating."""
    return [(s, o) for s, o in shapes.subject_objects(SH.property) if (o, SH.path, None) not in shapes]


@pytest.fixture(scope="module")
def official_shapes() -> rdflib.Graph:
    missing = [name for name in SHAPE_FILES if not (SHAPES_DIR / name).is_file()]
    if missing:
        pytest.skip(
            f"the official DCAT-AP 3.0.1 shapes are not at {SHAPES_DIR} ({', '.join(missing)} missing): clone "
            "SEMICeu/DCAT-AP at commit 7c531da7f154794da620fd0e57a3e8afe0286c0f and copy releases/3.0.1/shacl/ there "
            "(README, 'For harvesters')"
        )
    shapes = rdflib.Graph()
    for name in SHAPE_FILES:
        shapes.parse(SHAPES_DIR / name, format="turtle")
    dangling = dangling_property_links(shapes)
    assert len(dangling) == 5, f"the shapes changed: {len(dangling)} dangling sh:property links, not 5"
    for link in dangling:
        shapes.remove((link[0], SH.property, link[1]))
    return shapes


@pytest.fixture(scope="module")
def complete(http: httpx.Client) -> None:
    """The catalogue says everything it can once the dumps (sizes, checksums) and the validation
    report (quality measurements) exist: produce them first, so that all of it is validated."""
    assert http.get("/validation-report", headers={"Accept": "application/json"}).status_code == 200
    assert http.get("/dumps/").status_code == 200


@pytest.mark.parametrize("media_type", SERIALISATIONS)
def test_catalogue_meets_the_official_dcat_ap_shapes(
    official_shapes: rdflib.Graph, http: httpx.Client, complete: None, media_type: str
) -> None:
    response = http.get("/catalog", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    catalogue = rdflib.Graph().parse(data=response.content, format=SERIALISATIONS[media_type])
    distributions = set(catalogue.subjects(RDF.type, DCAT.Distribution))
    assert distributions and all((d, SPDX.checksum, None) in catalogue for d in distributions)
    assert (None, DQV.hasQualityMeasurement, None) in catalogue
    conforms, report, text = validate(
        catalogue, shacl_graph=official_shapes, inference="none", allow_warnings=True, allow_infos=True
    )
    results = Counter(
        (
            str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1],
            str(report.value(result, SH.resultPath)),
            str(report.value(result, SH.value)),
        )
        for result in report.subjects(RDF.type, SH.ValidationResult)
    )
    assert conforms and not results, text
