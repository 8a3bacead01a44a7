"""The SHACL shapes, tested with fixtures that are found automatically and named after their shape.

As in the Brick and GeoSPARQL test suites, `tests/fixtures/shapes/{Shape}-invalid-NN.ttl` breaks
exactly one rule of the shape or property shape `scsh:{Shape}` and must be rejected by it, and
`{Shape}-valid-NN.ttl` is a realistic example (often an edge case) that must pass. Fixtures describe
only subjects under http://example.org/ and may link to published IRIs, because submitted data are
validated in the context of the ontology and the published data. Every fixture starts with a
comment that says what it tests and why it must fail or pass.

Fixtures in KNOWN_MISSES are not rejected today, although the rule says they should be: they are
strict expected failures, so a fix shows up as an unexpected pass and the entry can be removed.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SH

from server.settings import Settings
from server.validation.validator import Report, Validator, read_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "shapes"
NAME = re.compile(r"^(?P<shape>[A-Za-z]+(?:-[A-Za-z]+)?)-(?P<kind>valid|invalid)-(?P<number>\d{2})\.ttl$")
EXAMPLE = "http://example.org/"

ALL_FIXTURES = sorted(FIXTURES.glob("*.ttl"))
INVALID = sorted(FIXTURES.glob("*-invalid-*.ttl"))
VALID = sorted(FIXTURES.glob("*-valid-*.ttl"))

# --- Known misses --------------------------------------------------------------------------------

# Fixtures whose rule the validator cannot enforce yet, each with the reason; a strict xfail, so a
# fix shows up as an unexpected pass. Empty: the focus-node and skolemisation problems were fixed
# in server/validation/validator.py and the shape gaps in shapes/shapes.ttl.
KNOWN_MISSES: dict[str, str] = {}


def shape_of(path: Path) -> str:
    """The local name of the shape a fixture tests: the file name before -valid- / -invalid-."""
    match = NAME.match(path.name)
    assert match, f"{path.name} is not named {{Shape}}-valid-NN.ttl or {{Shape}}-invalid-NN.ttl"
    return match["shape"]


def cases(paths: list[Path], *, expect_misses: bool) -> list:
    return [
        pytest.param(
            path,
            id=path.name,
            marks=[pytest.mark.xfail(reason=KNOWN_MISSES[path.name], strict=True)]
            if expect_misses and path.name in KNOWN_MISSES
            else [],
        )
        for path in paths
    ]


# --- Shared helpers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scsh(settings: Settings) -> rdflib.Namespace:
    return rdflib.Namespace(f"{settings.base_iri}shapes#")


@pytest.fixture(scope="module")
def shapes_graph(settings: Settings) -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in sorted(settings.shapes_dir.glob("*.ttl")):
        graph += read_file(path, settings.base_iri)
    return graph


@pytest.fixture(scope="module")
def named_shapes(shapes_graph: rdflib.Graph, scsh: rdflib.Namespace) -> dict[str, rdflib.URIRef]:
    """Local name -> IRI of every named node shape and property shape."""
    shapes = {}
    for kind in (SH.NodeShape, SH.PropertyShape):
        for shape in shapes_graph.subjects(RDF.type, kind):
            if isinstance(shape, rdflib.URIRef):
                assert shape.startswith(scsh), f"{shape} is not in the scsh: namespace"
                shapes[shape[len(scsh) :]] = shape
    return shapes


_reports: dict[Path, Report] = {}


def report_of(validator: Validator, settings: Settings, path: Path) -> Report:
    """Validate a fixture once per session; several tests read the same report."""
    if path not in _reports:
        _reports[path] = validator.validate(read_file(path, settings.base_iri))
    return _reports[path]


def of_shape(report: Report, names: set[str]) -> list:
    return [f for f in report.findings if f.source_shape in names or f.node_shape in names]


def nested_shapes(shapes_graph: rdflib.Graph, shape: rdflib.URIRef) -> set[rdflib.term.Node]:
    """The node shapes a shape uses through sh:node, directly or via its property shapes.

    pySHACL reports their results as details of the sh:node result, so they belong to the rule.
    """
    found, frontier = set(), [shape]
    while frontier:
        node = frontier.pop()
        for owned in [node, *shapes_graph.objects(node, SH.property)]:
            for used in shapes_graph.objects(owned, SH.node):
                if used not in found:
                    found.add(used)
                    frontier.append(used)
    return found


def prefixed(scsh: rdflib.Namespace, shape: rdflib.term.Node) -> str:
    return f"scsh:{shape[len(scsh) :]}"


# --- Every invalid fixture is rejected by its own shape -------------------------------------------


@pytest.mark.parametrize("path", cases(INVALID, expect_misses=True))
def test_invalid_fixture_is_rejected_by_its_shape(
    path: Path, validator: Validator, settings: Settings, named_shapes: dict, shapes_graph: rdflib.Graph
) -> None:
    name = shape_of(path)
    assert name in named_shapes, f"{path.name}: no shape scsh:{name} in the shapes"
    report = report_of(validator, settings, path)
    own = of_shape(report, {f"scsh:{name}"})
    assert own, f"{path.name}: nothing reported by scsh:{name}\n{report.as_text()}"
    if (named_shapes[name], SH.severity, SH.Warning) in shapes_graph:
        assert any(f.severity == "Warning" for f in own), f"{path.name}: expected a warning\n{report.as_text()}"
    else:
        assert any(f.severity == "Violation" for f in own), f"{path.name}: expected a violation\n{report.as_text()}"
        assert not report.conforms, f"{path.name}: reported, but the data still conform\n{report.as_text()}"


@pytest.mark.parametrize("path", cases(INVALID, expect_misses=False))
def test_invalid_fixture_breaks_no_other_rule(
    path: Path,
    validator: Validator,
    settings: Settings,
    named_shapes: dict,
    shapes_graph: rdflib.Graph,
    scsh: rdflib.Namespace,
) -> None:
    """An invalid fixture is otherwise valid, so a result really comes from the rule it tests."""
    name = shape_of(path)
    if name not in named_shapes:
        pytest.skip(f"no shape scsh:{name}")
    shape = named_shapes[name]
    allowed = {f"scsh:{name}", *(prefixed(scsh, s) for s in nested_shapes(shapes_graph, shape))}
    report = report_of(validator, settings, path)
    others = [f for f in report.findings if f.source_shape not in allowed and f.node_shape not in allowed]
    assert not others, f"{path.name} also breaks other rules:\n{report.as_text()}"


# --- Every valid fixture passes ------------------------------------------------------------------


@pytest.mark.parametrize("path", cases(VALID, expect_misses=True))
def test_valid_fixture_passes(path: Path, validator: Validator, settings: Settings) -> None:
    name = shape_of(path)
    report = report_of(validator, settings, path)
    violations = [f for f in report.findings if f.severity == "Violation"]
    assert not violations, f"{path.name} must pass but has violations:\n{report.as_text()}"
    assert not of_shape(report, {f"scsh:{name}"}), f"{path.name}: scsh:{name} reports it\n{report.as_text()}"
    assert report.conforms, report.as_text()


@pytest.mark.parametrize("path", cases(VALID, expect_misses=False))
def test_valid_fixture_is_a_target_of_its_shape(
    path: Path, validator: Validator, settings: Settings, named_shapes: dict, shapes_graph: rdflib.Graph
) -> None:
    """A valid fixture must exercise its shape: some node it describes is a target of the shape."""
    name = shape_of(path)
    shape = named_shapes.get(name)
    assert shape is not None and (shape, RDF.type, SH.NodeShape) in shapes_graph, (
        f"{path.name}: valid fixtures are for node shapes, and scsh:{name} is not one"
    )
    data = read_file(path, settings.base_iri)
    context = validator.context + data
    subjects = set(data.subjects())
    targeted = set()
    for cls in shapes_graph.objects(shape, SH.targetClass):
        for sub in context.transitive_subjects(RDFS.subClassOf, cls):
            targeted |= set(data.subjects(RDF.type, sub))
    for prop in shapes_graph.objects(shape, SH.targetSubjectsOf):
        targeted |= set(data.subjects(prop, None))
    assert targeted & subjects, f"{path.name} describes nothing that scsh:{name} targets"


# --- Coverage and hygiene of the fixtures ------------------------------------------------------------


def test_every_shape_has_fixtures(named_shapes: dict, shapes_graph: rdflib.Graph) -> None:
    """Every named node shape and property shape has an invalid fixture; node shapes a valid one."""
    invalid = {shape_of(p) for p in INVALID}
    valid = {shape_of(p) for p in VALID}
    without_invalid = sorted(set(named_shapes) - invalid)
    node_shapes = {n for n, s in named_shapes.items() if (s, RDF.type, SH.NodeShape) in shapes_graph}
    without_valid = sorted(node_shapes - valid)
    assert not without_invalid, f"shapes without an invalid fixture: {without_invalid}"
    assert not without_valid, f"node shapes without a valid fixture: {without_valid}"


def test_every_shape_has_an_invalid_fixture_it_rejects(named_shapes: dict) -> None:
    """A shape whose every invalid fixture is a known miss is not tested at all."""
    rejected = {shape_of(p) for p in INVALID if p.name not in KNOWN_MISSES}
    untested = sorted(set(named_shapes) - rejected)
    assert not untested, f"shapes whose only invalid fixtures are known misses: {untested}"


def test_no_stale_fixtures(named_shapes: dict) -> None:
    """Every fixture is named after an existing shape, and every known miss is an existing fixture."""
    misnamed = [p.name for p in FIXTURES.iterdir() if not NAME.match(p.name)]
    assert not misnamed, f"not named {{Shape}}-valid-NN.ttl or {{Shape}}-invalid-NN.ttl: {misnamed}"
    stale = sorted(p.name for p in ALL_FIXTURES if shape_of(p) not in named_shapes)
    assert not stale, f"fixtures for shapes that do not exist: {stale}"
    unknown = sorted(set(KNOWN_MISSES) - {p.name for p in INVALID})
    assert not unknown, f"KNOWN_MISSES names fixtures that do not exist: {unknown}"


def test_fixtures_are_self_describing_and_link_only_to_published_iris(validator: Validator, settings: Settings) -> None:
    """Each fixture opens with a comment, describes only example.org subjects (so only they are
    reported) and links only to IRIs the published data describe (so it fails for its own reason)."""
    base = settings.base_iri
    published = set(validator.context.subjects())
    problems = []
    for path in ALL_FIXTURES:
        if not path.read_text(encoding="utf-8").startswith("# "):
            problems.append(f"{path.name}: does not start with a comment line")
        data = read_file(path, base)
        for subject in set(data.subjects()):
            if isinstance(subject, rdflib.URIRef) and not subject.startswith(EXAMPLE):
                problems.append(f"{path.name}: describes {subject}, which is not under {EXAMPLE}")
        for node in set(data.objects()):
            if isinstance(node, rdflib.URIRef) and node.startswith(f"{base}id/") and node not in published:
                problems.append(f"{path.name}: links to {node}, which the published data do not describe")
    assert not problems, "\n".join(problems)


# --- The published data and the ontology ------------------------------------------------------------


def places_without_an_english_name_in_the_evidence(settings: Settings) -> set[str]:
    """Places of the name evidence (data/reference/labels.tsv) that no source names in English.

    Their English names ("Weifang", "Food Valley (Weifang)") are listed in labels-unverified.tsv:
    without evidence they are not published, so the English-name warning is expected for them.
    """
    labels = settings.data_dir / "reference" / "labels.tsv"
    rows = list(csv.DictReader(labels.open(encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
    places = {r["entity_id"] for r in rows}
    named_in_english = {r["entity_id"] for r in rows if r["lang"] == "en" and r["language_tagged"] == "yes"}
    return {f"place:{p}" for p in places - named_in_english}


def test_published_data_have_no_violations_and_no_unexplained_warnings(
    validator: Validator, settings: Settings
) -> None:
    """No violations; the only warnings are the English-name warnings of places that no source names in
    English, and each such place has one (so the list cannot hide another warning)."""
    report = validator.validate_published()
    assert report.count("Violation") == 0, report.as_text()
    assert report.conforms, report.as_text()
    expected = places_without_an_english_name_in_the_evidence(settings)
    warned = {f.focus_node for f in report.findings if f.severity == "Warning"}
    unexplained = [
        f
        for f in report.findings
        if f.severity == "Warning" and not (f.node_shape == "scsh:EnglishLabelShape" and f.focus_node in expected)
    ]
    assert not unexplained, report.as_text()
    assert warned == expected, f"expected English-name warnings for {sorted(expected)}, got {sorted(warned)}"


def test_every_ontology_class_is_targeted_by_a_shape(settings: Settings, shapes_graph: rdflib.Graph) -> None:
    """Every sc: class is a target of some shape, itself or through one of its superclasses."""
    ontology = read_file(settings.ontology_dir / "sistercities.ttl", settings.base_iri)
    sc = f"{settings.base_iri}ontology#"
    targets = set(shapes_graph.objects(None, SH.targetClass))
    classes = {c for c in ontology.subjects(RDF.type, OWL.Class) if isinstance(c, rdflib.URIRef) and c.startswith(sc)}
    assert classes, "no sc: classes found in the ontology"
    uncovered = sorted(str(c) for c in classes if not targets & set(ontology.transitive_objects(c, RDFS.subClassOf)))
    assert not uncovered, f"classes that no shape targets, directly or through a superclass: {uncovered}"
