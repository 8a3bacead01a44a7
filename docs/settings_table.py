"""Render the settings table of the README from the Settings model and the CLI (run by cog)."""

from __future__ import annotations

from server.cli import option_names
from server.settings import Settings


def settings_table() -> str:
    rows = ["| Setting | Command line | Environment variable | Default | Meaning |", "|---|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = Settings.shown_default(name)
        shown = f"`{default}`" if default and not field.json_schema_extra else default
        options = ", ".join(f"`{option}`" for option in option_names(name))
        rows.append(f"| `{name}` | {options} | `SISTERCITIES_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)
