"""Shared fixtures: the settings, the dataset, an in-memory store and the SHACL validator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from playwright.sync_api import Browser, sync_playwright

from server.settings import Settings
from server.store.build import open_store
from server.store.dataset import Dataset
from server.validation.validator import Validator
from tests.live import Server, live_server

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
# The servers the tests start take many requests from 127.0.0.1 in a short time, often several
# at once: the per-client rate limits and each client's share of the query workers are off for
# them unless a test turns one on (tests/test_guards.py and tests/test_fairness.py do, by option).
RATE_LIMITS_OFF = {
    "SISTERCITIES_QUERY_RATE_LIMIT": "0",
    "SISTERCITIES_VALIDATE_RATE_LIMIT": "0",
    "SISTERCITIES_RECONCILE_RATE_LIMIT": "0",
    "SISTERCITIES_CLIENT_QUERY_SHARE": "0",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, value in RATE_LIMITS_OFF.items():
        os.environ.setdefault(name, value)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def dataset(settings: Settings) -> Dataset:
    return Dataset.from_settings(settings)


@pytest.fixture(scope="session")
def store(dataset: Dataset) -> ox.Store:
    """The published dataset in an in-memory store: one graph per file plus derived links."""
    return open_store(dataset, None)


@pytest.fixture(scope="session")
def validator(settings: Settings) -> Validator:
    return Validator.from_settings(settings)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server on the bundled data, in memory, with default limits."""
    with live_server("--no-validate", cache_dir=tmp_path_factory.mktemp("cache")) as server:
        yield server.url


@pytest.fixture(scope="session")
def http(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (its own browser download is not used).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it is
    open, which later tests that call asyncio.run() must not inherit."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps.sh (make test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server for the fuzzers (tests/test_fuzz.py, tests/test_openapi.py), one per module: short
    time limits, so that no drawn request holds a worker for long, and a small row cap."""
    args = ("--no-validate", "--query-timeout", "5", "--validation-timeout", "20", "--max-result-rows", "1000")
    with live_server(*args, cache_dir=tmp_path_factory.mktemp("cache")) as server:
        yield server
