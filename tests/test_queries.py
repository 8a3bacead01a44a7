"""The competency queries in queries/*.rq: headers, syntax, and answers against expectations.

Each query file starts with a `# title:` and a `# question:` header and runs as-is on the
published dataset (the union of all named graphs as the default graph). Its answer is compared
with the rows in tests/query_expectations.toml, which were written by hand from the source
articles and the reference table, not copied from the engine. An expectation may carry an
`xfail = "reason"` key when the published data are known to disagree with the sources; the
test is then a strict xfail, so that it starts failing loudly once the data are corrected.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.namespaces import prefixes
from server.settings import DEFAULT_BASE_IRI, Settings

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "queries"
EXPECTATIONS_FILE = Path(__file__).resolve().parent / "query_expectations.toml"
MIN_QUERIES = 15

QUERY_FILES = sorted(QUERIES_DIR.glob("*.rq"))
EXPECTATIONS: dict[str, dict] = tomllib.loads(EXPECTATIONS_FILE.read_text(encoding="utf-8"))

TITLE = re.compile(r"^# title: \S.*$")
QUESTION = re.compile(r"^# question: \S.*$")
CONTINUATION = re.compile(r"^#   \S.*$")
PREFIXED_NAME = re.compile(r"^([A-Za-z][\w.-]*):(.*)$")

Row = tuple[str, ...]


# --- Turning terms and expected values into one comparable string form -----------------------


def compact(iri: str, namespaces: dict[str, str]) -> str:
    """`prefix:local` with the longest matching namespace, else `<iri>`."""
    matches = [
        (prefix, namespace)
        for prefix, namespace in namespaces.items()
        if iri.startswith(namespace) and len(iri) > len(namespace)
    ]
    if not matches:
        return f"<{iri}>"
    prefix, namespace = max(matches, key=lambda match: len(match[1]))
    return f"{prefix}:{iri[len(namespace) :]}"


def term_to_string(term: ox.NamedNode | ox.BlankNode | ox.Literal | None, namespaces: dict[str, str]) -> str:
    """IRIs as prefixed names or <IRI>, literals as their lexical form, unbound as ""."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value, namespaces)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def normalise_expected(value: object, namespaces: dict[str, str]) -> str:
    """Expected cells may write an IRI as `<IRI>` or with any known prefix; compact both alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith("<") and text.endswith(">"):
        return compact(text[1:-1], namespaces)
    match = PREFIXED_NAME.match(text)
    if match and match.group(1) in namespaces:
        return compact(namespaces[match.group(1)] + match.group(2), namespaces)
    return text


# --- Helpers ----------------------------------------------------------------------------------


def query_text(path: Path, settings: Settings) -> str:
    """The query as written, with IRIs moved to the configured base if that is not the default."""
    text = path.read_text(encoding="utf-8")
    if settings.base_iri != DEFAULT_BASE_IRI:
        text = text.replace(DEFAULT_BASE_IRI, settings.base_iri)
    return text


def run(store: ox.Store, path: Path, settings: Settings) -> ox.QuerySolutions | ox.QueryBoolean:
    return store.query(query_text(path, settings))


def actual_rows(result: object, columns: list[str], namespaces: dict[str, str]) -> list[Row]:
    if isinstance(result, ox.QueryBoolean):
        assert columns == ["answer"], f"an ASK query's expectation must have columns = ['answer'], not {columns}"
        return [("true" if bool(result) else "false",)]
    if not isinstance(result, ox.QuerySolutions):
        pytest.fail(f"only SELECT and ASK queries can be compared, got {type(result).__name__}")
    variables = [v.value for v in result.variables]
    missing = [c for c in columns if c not in variables]
    assert not missing, f"columns {missing} are not selected by the query (it selects {variables})"
    return [tuple(term_to_string(solution[c], namespaces) for c in columns) for solution in result]


def format_rows(rows: list[Row] | Counter[Row]) -> str:
    items = list(rows.elements()) if isinstance(rows, Counter) else rows
    if not items:
        return "    (none)"
    return "\n".join("    " + " | ".join(repr(cell) for cell in row) for row in items)


def mismatch_report(name: str, columns: list[str], expected: list[Row], actual: list[Row], ordered: bool) -> str:
    header = f"{name}: the answer differs from the expectation ({'ordered' if ordered else 'unordered'})"
    lines = [header, f"  columns: {' | '.join(columns)}"]
    if not ordered:
        missing = Counter(expected) - Counter(actual)
        unexpected = Counter(actual) - Counter(expected)
        lines += [f"  expected but missing ({sum(missing.values())}):", format_rows(missing)]
        lines += [
            f"  returned but not expected ({sum(unexpected.values())}):",
            format_rows(unexpected),
        ]
    lines += [f"  expected ({len(expected)} rows):", format_rows(expected)]
    lines += [f"  actual ({len(actual)} rows):", format_rows(actual)]
    return "\n".join(lines)


def answer_params() -> list:
    params = []
    for path in QUERY_FILES:
        expectation = EXPECTATIONS.get(path.stem, {})
        marks = []
        if "xfail" in expectation:
            marks.append(pytest.mark.xfail(strict=True, reason=str(expectation["xfail"])))
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


# --- Tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def namespaces(settings: Settings) -> dict[str, str]:
    return prefixes(settings.base_iri)


def test_there_are_enough_queries() -> None:
    assert len(QUERY_FILES) >= MIN_QUERIES, f"only {len(QUERY_FILES)} queries in {QUERIES_DIR}"


def test_every_query_has_an_expectation() -> None:
    stems = {p.stem for p in QUERY_FILES}
    without = sorted(stems - EXPECTATIONS.keys())
    assert not without, f"queries without an expectation in {EXPECTATIONS_FILE.name}: {without}"


def test_every_expectation_has_a_query() -> None:
    stems = {p.stem for p in QUERY_FILES}
    orphans = sorted(EXPECTATIONS.keys() - stems)
    assert not orphans, f"expectations without a query file in queries/: {orphans}"


@pytest.mark.parametrize("name", sorted(EXPECTATIONS), ids=str)
def test_expectation_is_well_formed(name: str) -> None:
    expectation = EXPECTATIONS[name]
    unknown = set(expectation) - {"ordered", "columns", "rows", "xfail"}
    assert not unknown, f"unknown keys {sorted(unknown)}"
    assert isinstance(expectation.get("ordered"), bool), "`ordered` must be true or false"
    columns = expectation.get("columns")
    assert isinstance(columns, list) and columns, "`columns` must be a non-empty list"
    assert len(set(columns)) == len(columns), "`columns` has duplicates"
    rows = expectation.get("rows")
    assert isinstance(rows, list), "`rows` must be a list"
    for row in rows:
        assert isinstance(row, list) and len(row) == len(columns), f"row {row} does not match {columns}"
    if "xfail" in expectation:
        assert str(expectation["xfail"]).strip(), "`xfail` needs a reason"
    path = QUERIES_DIR / f"{name}.rq"
    if expectation["ordered"] and path.exists():
        assert "ORDER BY" in path.read_text(encoding="utf-8").upper(), "ordered = true but no ORDER BY"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_has_title_and_question_header(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 3, "the file is too short for a header and a query"
    assert TITLE.match(lines[0]), f"line 1 must be '# title: <short title>', got {lines[0]!r}"
    assert QUESTION.match(lines[1]), f"line 2 must be '# question: <question>', got {lines[1]!r}"
    index = 2
    while index < len(lines) and (QUESTION.match(lines[index]) or CONTINUATION.match(lines[index])):
        index += 1
    assert index < len(lines) and lines[index] == "#", (
        f"the question must be followed by a blank comment line '#', got {lines[index : index + 1]!r}"
    )
    assert re.search(r"^\s*PREFIX\s", "\n".join(lines), flags=re.MULTILINE | re.IGNORECASE), (
        "the query must declare its prefixes (PREFIX ...) so that it runs as-is on any endpoint"
    )


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_parses_and_runs(store: ox.Store, settings: Settings, path: Path) -> None:
    try:
        result = run(store, path, settings)
        if isinstance(result, ox.QuerySolutions):
            list(result)
    except SyntaxError as error:
        pytest.fail(f"{path.name} does not parse: {error}")


@pytest.mark.parametrize("path", answer_params())
def test_query_answer_matches_expectation(
    store: ox.Store, settings: Settings, namespaces: dict[str, str], path: Path
) -> None:
    expectation = EXPECTATIONS.get(path.stem)
    if expectation is None:
        pytest.fail(f"no expectation for {path.stem} in {EXPECTATIONS_FILE.name}")
    columns: list[str] = expectation["columns"]
    ordered: bool = expectation["ordered"]
    expected = [tuple(normalise_expected(cell, namespaces) for cell in row) for row in expectation["rows"]]
    actual = actual_rows(run(store, path, settings), columns, namespaces)
    same = actual == expected if ordered else Counter(actual) == Counter(expected)
    if not same:
        pytest.fail(mismatch_report(path.stem, columns, expected, actual, ordered), pytrace=False)
