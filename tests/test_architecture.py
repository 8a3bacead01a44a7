"""The layout shows the architecture: server/ is layered packages, and nothing imports upward.

    base modules (settings, formats, namespaces, labels, uris)
      -> store -> query -> web -> validation -> features (sparql, linked, reconcile, publish)
        -> app, cli (and running: the server as a process, for tests and benchmarks)

A module may import its own layer and the layers below; a feature may not import another
feature (what two features share belongs below them). The imports are read from the source,
including those inside functions, so a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "server"
MAX_LINES = 600

# Module prefix -> layer; the longest matching prefix decides.
LAYERS = {
    "server": 0,
    "server.settings": 0,
    "server.formats": 0,
    "server.namespaces": 0,
    "server.labels": 0,
    "server.uris": 0,
    "server.store": 1,
    "server.query": 2,
    "server.web": 3,
    "server.validation": 4,
    "server.sparql": 5,
    "server.linked": 5,
    "server.reconcile": 5,
    "server.publish": 5,
    "server.engines": 6,
    "server.app": 6,
    "server.openapi": 6,
    "server.cli": 6,
    "server.running": 6,
    "server.__main__": 6,
}
FEATURES = ("server.sparql", "server.linked", "server.reconcile", "server.publish")
# Libraries that belong to one room only: reconciliation's fuzzy scores and pinyin keys.
CONFINED = {"rapidfuzz": "server.reconcile", "pypinyin": "server.reconcile"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SERVER.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> set[str]:
    """Every module a file imports (`from server.x import y` is server.x.y when y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known}
    return found


def layer(module: str) -> int | None:
    matches = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def feature(module: str) -> str | None:
    return next((f for f in FEATURES if module == f or module.startswith(f + ".")), None)


def test_every_module_has_a_layer() -> None:
    assert all(layer(name) is not None for name in modules()), [n for n in modules() if layer(n) is None]


@pytest.mark.parametrize("name", sorted(modules()))
def test_nothing_imports_upward_or_sideways(name: str) -> None:
    known = set(modules())
    own, own_feature = layer(name), feature(name)
    for target in sorted(imported(modules()[name], known) & known):
        assert layer(target) <= own, f"{name} (layer {own}) imports {target} (layer {layer(target)})"
        if own_feature and feature(target):
            assert feature(target) == own_feature, f"feature {own_feature} imports feature {feature(target)}"


@pytest.mark.parametrize(("library", "room"), sorted(CONFINED.items()))
def test_libraries_stay_in_their_room(library: str, room: str) -> None:
    known = set(modules())
    users = {name for name, path in modules().items() if any(m.split(".")[0] == library for m in imported(path, known))}
    assert users and all(user.startswith(room) for user in users), users


def test_the_store_knows_nothing_of_http_or_reconciliation() -> None:
    known = set(modules())
    for name, path in modules().items():
        if name.startswith("server.store"):
            roots = {m.split(".")[0] for m in imported(path, known)}
            assert not roots & {"starlette", "fastapi", "httpx", "rapidfuzz", "pypinyin"}, name


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_a_hall(name: str) -> None:
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by responsibility"


@pytest.mark.parametrize("name", sorted(n for n, p in modules().items() if p.name == "__init__.py"))
def test_every_package_says_what_it_is(name: str) -> None:
    docstring = ast.get_docstring(ast.parse(modules()[name].read_text(encoding="utf-8")))
    assert docstring and len(docstring.splitlines()) == 1, f"{name}: a one-line docstring"


def test_application_state_is_the_typed_services_object() -> None:
    """Handlers share state through server.web.services, never through app.state attributes."""
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        uses = [line.strip() for line in text.splitlines() if "app.state." in line and "app.state.services" not in line]
        assert not uses, f"{name}: {uses}"


def test_fake_upward_import_is_caught(tmp_path: Path) -> None:
    """The walk finds imports inside functions too."""
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from server.app import create_app\n")
    assert "server.app" in imported(path, {"server.app"})
