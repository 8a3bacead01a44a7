"""Render the README's layout of server/ from the code itself (run by cog): each package with its
one-line docstring and its modules with the first line of theirs, in the order of the layers."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"
# The rooms of the house, bottom up (tests/test_architecture.py checks the imports follow them).
PACKAGES = ("store", "query", "web", "validation", "sparql", "linked", "reconcile", "publish")
BASE_MODULES = ("settings", "formats", "namespaces", "labels", "uris")
TOP_MODULES = ("engines", "app", "openapi", "cli", "running")


def first_sentence(path: Path) -> str:
    """The first sentence of a module's docstring: what it is for."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraph = docstring.split("\n\n")[0].replace("\n", " ").strip()
    return paragraph.split(". ")[0].rstrip(".")


def entry(name: str, path: Path, indent: str, width: int) -> str:
    return f"{indent}{name:<{width}} {first_sentence(path)}"


def layout() -> str:
    lines = ["server/"]
    lines += [entry(f"{m}.py", SERVER / f"{m}.py", "  ", 24) for m in BASE_MODULES]
    for package in PACKAGES:
        lines.append(entry(f"{package}/", SERVER / package / "__init__.py", "  ", 24))
        modules = sorted(p for p in (SERVER / package).glob("*.py") if p.name != "__init__.py")
        lines += [entry(p.name, p, "    ", 22) for p in modules]
    lines += [entry(f"{m}.py", SERVER / f"{m}.py", "  ", 24) for m in TOP_MODULES]
    lines.append(f"  {'templates/ static/':<24} the pages' Jinja templates, scripts, styles and vendored components")
    return "\n".join(lines)


def commands() -> str:
    """The commands of `sistercities`, each with the first line of its help."""
    from server.cli import main

    rows = ["| Command | What it does |", "|---|---|"]
    for name, command in sorted(main.commands.items()):
        rows.append(f"| `sistercities {name}` | {command.get_short_help_str(limit=200)} |")
    return "\n".join(rows)
