"""Killing `sistercities load`, `publish` or the server at random moments leaves a store that
reopens on the last complete version and answers as it did: a handful of runs of
scripts/kill-test.py (100 runs in docs/hardening.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_kills_at_random_moments_leave_the_last_complete_version(tmp_path: Path) -> None:
    report = tmp_path / "kill.json"
    command = [sys.executable, str(ROOT / "scripts" / "kill-test.py"), "--runs", "5", "--triples", "50000"]
    command += ["--work", str(tmp_path / "work"), "--json", str(report)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(report.read_text())
    assert summary["runs"] == 5 and summary["failed"] == 0
    assert summary["builds_in_progress_left_after_a_final_load"] == 0
