"""DynamoDB Local as tests and `online start` run it: a store that answers on the port we
picked must be ours, or a test that kills "its" store kills nothing and reads another's."""

from __future__ import annotations

import os

import pytest

from featurestore.errors import OnlineStoreError
from featurestore.online import local
from featurestore.online.local import LocalDynamoDB, listens_on
from tests.conftest import REPO_ROOT


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def test_listens_on_names_the_process_that_holds_the_port(dynamodb_local):
    store = LocalDynamoDB(REPO_ROOT)
    try:
        port = _port(store.start())
        assert listens_on(store.process.pid, port) is True
        assert listens_on(store.process.pid, _port(dynamodb_local)) is False
        assert listens_on(os.getpid(), port) is False
    finally:
        store.stop()


def test_a_free_port_someone_else_took_first_is_given_up(dynamodb_local, monkeypatch):
    """free_port() can hand the same port to two processes; the loser moves on."""
    taken = _port(dynamodb_local)
    picks = iter([taken])
    real_free_port = local.free_port
    monkeypatch.setattr(local, "free_port", lambda: next(picks, None) or real_free_port())
    store = LocalDynamoDB(REPO_ROOT)
    try:
        endpoint = store.start()
        assert _port(endpoint) != taken
        assert listens_on(store.process.pid, _port(endpoint)) is True
    finally:
        store.stop()


def test_a_port_given_and_taken_is_an_error_naming_it(dynamodb_local):
    taken = _port(dynamodb_local)
    with pytest.raises(OnlineStoreError) as error:
        LocalDynamoDB(REPO_ROOT, port=taken).start()
    assert str(error.value).startswith("DynamoDB Local could not start: ")
    assert f"port {taken}" in str(error.value)


@pytest.mark.slow
def test_a_store_too_busy_to_answer_is_still_running_and_stop_waits_for_its_port(tmp_path):
    """A suspended DynamoDB Local (SIGSTOP) answers no health check, as a JVM starved on
    a loaded machine may not for seconds: it is still the project's running store (its
    state file kept, so no second store is started on its data), and `online stop` ends
    it, returning only once nothing listens on its port any more."""
    import signal
    import socket

    from featurestore.online.local import read_running, start_detached, state_file, stop_detached

    warehouse = tmp_path / "warehouse"
    state = start_detached(REPO_ROOT, warehouse, in_memory=True)
    try:
        os.kill(state["pid"], signal.SIGSTOP)
        assert read_running(warehouse) == state
        assert state_file(warehouse).exists()
        assert stop_detached(warehouse) == state
        with socket.socket(socket.AF_INET6) as probe:  # the port is free for the next start
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("::", state["port"]))
        assert not state_file(warehouse).exists()
        assert read_running(warehouse) is None
    finally:
        try:
            os.killpg(state["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_online_start_in_memory_keeps_nothing_on_disk_and_says_so(tmp_path):
    import shutil

    from click.testing import CliRunner

    from featurestore.apps.cli import cli
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig

    root = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    shutil.copy(REPO_ROOT / "dbt_project.yml", root)
    (root / "node_modules").symlink_to(REPO_ROOT / "node_modules")  # the jar, as npm ci
    run = CliRunner().invoke
    started = run(cli, ["--project-dir", str(root), "online", "start", "--in-memory"], obj={})
    state = local.read_running(root / "warehouse")
    try:
        assert started.exit_code == 0, started.output
        assert state["in_memory"] is True
        assert started.stdout.startswith(  # its network note is a warning, on stderr
            f"DynamoDB Local is running at {state['endpoint']} (pid {state['pid']}, in "
            "memory: its tables are lost when it stops).\n")
        assert "-inMemory" in open(f"/proc/{state['pid']}/cmdline").read().split("\0")
        again = run(cli, ["--project-dir", str(root), "online", "start"], obj={})
        assert ("It was already running, started in memory; to change, run `featurestore "
                "online stop` first.") in again.output
        ensure_table(OnlineConfig(endpoint=state["endpoint"]).client(), "fs_in_memory",
                     ttl=False)
        assert not (root / "warehouse" / "dynamodb").exists()
    finally:
        stopped = run(cli, ["--project-dir", str(root), "online", "stop"], obj={})
    assert stopped.output == ("DynamoDB Local stopped; it ran in memory, so its tables are "
                              "gone.\n")
