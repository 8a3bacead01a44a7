"""Render the settings table of the README from the Settings model (run by cog)."""

from __future__ import annotations

from pathlib import Path

from server.settings import PROJECT_ROOT, Settings


def shown_default(value: object) -> str:
    if isinstance(value, Path):
        if value.is_relative_to(PROJECT_ROOT):
            return f"`./{value.relative_to(PROJECT_ROOT)}`"
        if value.is_relative_to(Path.home()):
            return f"`~/{value.relative_to(Path.home())}`"
    return "" if value is None else f"`{value}`"


def settings_table() -> str:
    rows = ["| Setting | Environment variable | Default | Meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "number of CPUs, at least 2" if field.default_factory else shown_default(field.default)
        rows.append(f"| `{name}` | `SISTERCITIES_{name.upper()}` | {default} | {field.description} |")
    return "\n".join(rows)
