"""pytest parameters for the suites, shared by every target's test module.

One parameter per manifest entry, id `folder/name`. Entries the harness does not run are skipped
with their reason, a target's known failures are `xfail(strict=True)` with theirs, and cases come
grouped by dataset so that each dataset is loaded once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from _pytest.mark import ParameterSet

from tests.w3c.dataset import Dataset
from tests.w3c.manifest import ProtocolCase, QueryCase, Skipped, evaluation_entries, protocol_cases
from tests.w3c.suites import EVALUATION_FOLDERS, PROTOCOL_FOLDER, find_sparql11, missing_message

UPDATE_REASON = (
    "SPARQL Update operation: only the read-only protocol cases run "
    "(they need no write access and leave the loaded dataset as it is)"
)


def evaluation_params(failures: Mapping[str, str], folders: Sequence[str] = EVALUATION_FOLDERS) -> list[ParameterSet]:
    """The query-evaluation cases of `folders`, or one skip saying how to get the suites."""
    suites = find_sparql11()
    if suites is None:
        return [_missing()]
    entries = evaluation_entries(suites, tuple(folders))
    order = {entry.iri: index for index, entry in enumerate(entries)}
    cases = sorted(entries, key=lambda entry: (entry.folder, _dataset_key(entry), order[entry.iri]))
    return [_param(entry, failures) for entry in cases]


def protocol_params(failures: Mapping[str, str]) -> list[ParameterSet]:
    """The protocol manifest's cases (updates skipped), or one skip saying how to get the suites."""
    suites = find_sparql11()
    if suites is None:
        return [_missing()]
    cases = protocol_cases(suites, PROTOCOL_FOLDER)
    return [_param(case, failures) for case in sorted(cases, key=lambda case: case.dataset)]


def _dataset_key(entry: QueryCase | Skipped) -> Dataset:
    return entry.dataset if isinstance(entry, QueryCase) else Dataset()


def _param(entry: QueryCase | ProtocolCase | Skipped, failures: Mapping[str, str]) -> ParameterSet:
    if isinstance(entry, Skipped):
        return pytest.param(entry, id=entry.id, marks=pytest.mark.skip(reason=entry.reason))
    if isinstance(entry, ProtocolCase) and not entry.read_only:
        return pytest.param(entry, id=entry.id, marks=pytest.mark.skip(reason=UPDATE_REASON))
    marks = [pytest.mark.xfail(strict=True, reason=failures[entry.iri])] if entry.iri in failures else []
    return pytest.param(entry, id=entry.id, marks=marks)


def _missing() -> ParameterSet:
    return pytest.param(None, id="suites-missing", marks=pytest.mark.skip(reason=missing_message()))
