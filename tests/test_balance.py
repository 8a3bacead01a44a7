"""The count of each HTTP process's connections, by which one that holds more than its share
closes one (server/web/balance.py). The real server's connections are checked in
tests/test_http_workers.py; here the rule, with the other process's slot written by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from server import cli
from server.web.balance import SLOT, ConnectionShares


@pytest.fixture
def shares() -> Iterator[ConnectionShares]:
    made = ConnectionShares.create(2)
    try:
        yield made
    finally:
        made.remove()


def other_process(shares: ConnectionShares, pid: int, connections: int) -> None:
    SLOT.pack_into(shares._map, 1 * SLOT.size, pid, connections)


def gone_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(finished.stdout)


def test_a_process_above_its_share_closes_one_connection_at_a_time(shares: ConnectionShares) -> None:
    assert shares.claim() and shares.slot == 0
    other_process(shares, os.getppid(), 3)
    for _ in range(5):
        shares.opened()
    assert shares.counts() == [5, 3]
    assert shares.should_close_one()  # 5 > ceil(8 / 2)
    assert not shares.should_close_one(), "one close at a time, until that connection is gone"
    shares.closed(told_to_close=True)
    assert shares.counts() == [4, 3]
    assert not shares.should_close_one()  # 4 <= ceil(7 / 2)


def test_an_even_or_lone_process_keeps_its_connections(shares: ConnectionShares) -> None:
    assert shares.claim()
    shares.opened()
    assert not shares.should_close_one(), "one connection, no sibling with a slot yet"
    other_process(shares, os.getppid(), 1)
    assert not shares.should_close_one()


def test_the_slot_of_a_process_that_died_is_taken_again(shares: ConnectionShares) -> None:
    SLOT.pack_into(shares._map, 0, os.getppid(), 2)
    other_process(shares, gone_pid(), 7)
    assert shares.claim() and shares.slot == 1
    assert shares.counts() == [2, 0]


def test_every_slot_held_by_a_live_process_leaves_this_one_uncounted(shares: ConnectionShares) -> None:
    SLOT.pack_into(shares._map, 0, os.getppid(), 1)
    other_process(shares, os.getppid(), 1)
    assert not shares.claim()
    shares.opened()
    assert not shares.should_close_one()
    assert shares.counts() == [1, 1]


def test_the_server_names_the_file_in_the_environment(shares: ConnectionShares, monkeypatch) -> None:
    monkeypatch.setenv("SISTERCITIES_CONNECTION_SHARES", shares.environment)
    found = ConnectionShares.from_environment()
    assert found is not None and found.path == shares.path and found.processes == 2
    monkeypatch.setenv("SISTERCITIES_CONNECTION_SHARES", "2:/nonexistent/file")
    assert ConnectionShares.from_environment() is None


def test_without_a_folder_to_write_in_the_server_serves_unbalanced(monkeypatch) -> None:
    """The count file is a convenience: when it cannot be made, the HTTP processes start anyway."""

    def refuse(processes: int) -> ConnectionShares:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(ConnectionShares, "create", staticmethod(refuse))
    monkeypatch.delenv("SISTERCITIES_CONNECTION_SHARES", raising=False)
    assert cli.connection_shares_for(2) is None
    assert "SISTERCITIES_CONNECTION_SHARES" not in os.environ
