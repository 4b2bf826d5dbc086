"""The sync when DynamoDB dies under it, and when one view's values are bad.

Each test runs its own DynamoDB Local and kills it (SIGKILL, as a crash would): before
the command, when the view starts, mid-write of conditional puts, and mid first load with
two threads. Every time the command must end within seconds with one line naming the
view and the store (exit 3), record the failure in ``sync_state``, and leave no writer or
lease thread behind.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.apps.cli.online import ProgressBars
from featurestore.errors import (
    CHECK_FAILED,
    UNREACHABLE,
    USAGE,
    BadValueError,
    WarehouseError,
)
from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from featurestore.online.items import view_sk
from featurestore.online.local import LocalDynamoDB
from featurestore.sync import state as sync_state
from featurestore.sync.first_load import FirstLoadClaim
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT
from tests.online.conftest import (
    PROFILE,
    T0,
    TXNS,
    assert_online_equals_warehouse,
    dynamodb_items,
    insert_txns,
    txn_row,
)
from tests.online_stores import store_for

TABLE = "fs_faults"
ROWS = 20_000
# A deadline, not a speed: the writer gives a silent store 5 s (retry.UNREACHABLE_SECONDS)
# and then stops, while a writer that treated no answer as throttling would retry it for
# ever. Seconds on an idle machine, tens of seconds at load 20 on 2 cores.
BOUND_SECONDS = 180


@pytest.fixture
def doomed_store():
    """A DynamoDB Local of this test's own, with the feature table, to be killed."""
    local = LocalDynamoDB(REPO_ROOT)
    local.start()
    ensure_table(OnlineConfig(endpoint=local.endpoint).client(), TABLE, ttl=False)
    yield local
    local.stop()


def _seed(project, users: int = ROWS) -> None:
    """``users`` rows of fs_user__transactions at T0, in one statement (executemany of
    20,000 rows takes DuckDB a minute)."""
    with Warehouse(project) as warehouse:
        warehouse.execute(
            "insert into fs_user__transactions select u, ?, ?, u % 7 + 1, 3, 9, 10.5, 31.25, "
            "90.0, null, 11.0, 7.75 from range(1, ?) as t(u)", [T0, T0, users + 1])


def _sync(project, endpoint: str, *args: str):
    """`featurestore sync --no-gate --view user_transactions ...`; the result and the
    seconds it took."""
    env = {"FEATURESTORE_ONLINE_TABLE": TABLE, "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint}
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["--project-dir", str(project.root), "sync", "--no-gate",
                                      "--view", "user_transactions", *args], env=env, obj={})
    return result, time.monotonic() - started


def _sync_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fs-sync")]


def _state(project, view=TXNS) -> sync_state.SyncState:
    with Warehouse(project) as warehouse:
        return sync_state.load(warehouse, view.name, view.version)


def _kill_when(monkeypatch, hook: str, local: LocalDynamoDB) -> None:
    """Kill the store the first time the CLI's progress reporter calls ``hook``."""
    original = getattr(ProgressBars, hook)

    def kill_then_report(self, *args):
        local.kill()
        monkeypatch.setattr(ProgressBars, hook, original)
        original(self, *args)

    monkeypatch.setattr(ProgressBars, hook, kill_then_report)


def _assert_failed_fast(result, seconds: float, local: LocalDynamoDB, project) -> str:
    """Exit 3, one error line naming the view and the store, recorded, no thread left."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert result.exit_code == UNREACHABLE, result.output
    assert seconds < BOUND_SECONDS
    assert "Traceback" not in result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.stderr
    (line,) = error_lines
    assert line == result.stderr.splitlines()[-1]
    assert line.startswith(f"Error: view `user_transactions`: DynamoDB at {local.endpoint} "
                           f"(table {TABLE}) does not answer (")
    assert "Start it or check the network, then run the command again" in line
    assert "throttl" not in line.lower()
    state = _state(project)
    assert state.status == "failed"
    assert state.message == "StoreUnavailable: " + line.removeprefix("Error: ")
    assert state.watermark is None
    assert _sync_threads() == []
    return line


def test_store_dead_before_the_command(online_project, doomed_store):
    _seed(online_project, users=10)
    doomed_store.kill()
    result, seconds = _sync(online_project, doomed_store.endpoint)
    assert result.exit_code == UNREACHABLE
    assert seconds < BOUND_SECONDS
    assert result.stderr.splitlines()[1:] == [
        f"Error: DynamoDB is not reachable at {doomed_store.endpoint} (Could not connect to the "
        f'endpoint URL: "{doomed_store.endpoint}/"). Start it (`featurestore online start`, '
        "then pass --local), or unset FEATURESTORE_DYNAMODB_ENDPOINT for AWS."]
    # no view started: nothing was written to sync_state, nothing is left `running`
    with Warehouse(online_project) as warehouse:
        assert sync_state.load_all(warehouse) == []
    assert _sync_threads() == []


def test_store_dies_as_the_view_starts(online_project, doomed_store, monkeypatch):
    """After the table check, before the first write: the first-load claim's put_item
    used to raise botocore's EndpointConnectionError as a traceback."""
    _seed(online_project, users=100)
    _kill_when(monkeypatch, "view_started", doomed_store)
    result, seconds = _sync(online_project, doomed_store.endpoint)
    line = _assert_failed_fast(result, seconds, doomed_store, online_project)
    assert line.endswith("again. 0 items of this run were written before the error; the "
                         "watermark did not move, so the next sync re-reads them.")


def test_store_dies_mid_write_of_conditional_puts(online_project, doomed_store, monkeypatch):
    """Killed once the first batch of 5,000 rows is handed over (most of it acknowledged);
    three batches are still to come. It used to retry for about a minute, then blame
    throttling."""
    _seed(online_project)
    client = OnlineConfig(endpoint=doomed_store.endpoint).client()
    claim = FirstLoadClaim(store_for(client, TABLE), view_sk(TXNS), "elsewhere:1:x")
    claim.acquire()
    claim.release(completed=True)  # a loaded view version: every write is conditional
    _kill_when(monkeypatch, "view_progress", doomed_store)
    result, seconds = _sync(online_project, doomed_store.endpoint, "--threads", "4")
    _assert_failed_fast(result, seconds, doomed_store, online_project)
    state = _state(online_project)
    assert 0 < state.rows_written < ROWS
    assert state.rows_read <= 2 * 5_000


def test_store_dies_mid_first_load_with_two_threads(online_project, doomed_store,
                                                    monkeypatch):
    """BatchWriteItem under the first-load claim, 2 threads: it used to hang for about 14
    minutes, then leave sync_state at `running`."""
    _seed(online_project)
    _kill_when(monkeypatch, "view_progress", doomed_store)
    result, seconds = _sync(online_project, doomed_store.endpoint, "--threads", "2")
    _assert_failed_fast(result, seconds, doomed_store, online_project)
    assert 0 < _state(online_project).rows_written < ROWS


def test_a_bad_value_in_one_view_does_not_stop_the_others(online_project, dynamodb_table,
                                                          dynamodb_local):
    """user_profile (synced first) holds an item over 400 KB; user_transactions is fine."""
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in range(1, 6)])
        warehouse.execute(
            "insert into fs_user__profile values (9, ?, ?, 'FR', 'web', true, 2, "
            "timestamp '2020-01-01 00:00:00', repeat('x', 410000))", [T0, T0])
    env = {"FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local}
    result = CliRunner().invoke(cli, ["--project-dir", str(online_project.root), "sync",
                                      "--no-gate", "--view", "user_profile", "--view",
                                      "user_transactions"], env=env, obj={})
    assert result.exit_code == USAGE, result.output
    lines = result.stderr.splitlines()
    assert lines[-2].startswith(
        "failed, user_profile: view `user_profile`, entity user_id=9, feature `email_domain`: "
        "the item is 410,")
    assert lines[-1] == (
        "Error: 1 view(s) not synced: user_profile (BadValueError); 1 other view(s) "
        "published. Fix what the lines above say, then run `featurestore sync` again.")
    assert "user_transactions v1: read 5, written 5" in result.stdout
    with Warehouse(online_project) as warehouse:
        assert_online_equals_warehouse(warehouse, client, table, TXNS,
                                       as_of=dt.datetime.now(dt.UTC).replace(tzinfo=None))
        assert sync_state.load(warehouse, "user_transactions", 1).status == "ok"
        profile = sync_state.load(warehouse, "user_profile", 1)
    assert dynamodb_items(client, table, PROFILE) == {}
    assert profile.status == "failed"
    assert profile.message.startswith("BadValueError: view `user_profile`, entity user_id=9")


def test_sync_views_raises_after_publishing_the_other_views(online_project, dynamodb_table,
                                                           dynamodb_local, monkeypatch):
    """A library caller (the loop, the demo) that never looks at ``failed`` still gets
    an error, once the good views are published."""
    from featurestore.errors import SyncIncomplete
    from featurestore.project import Project
    from featurestore.sync.run import sync_views
    from featurestore.sync.worker import SyncOptions

    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in range(1, 6)])
        warehouse.execute("insert into fs_user__profile values (9, ?, ?, 'FR', 'web', true, 2, "
                          "?, 'example.com')", [T0, T0, T0])
        warehouse.execute("update fs_user__transactions set last_txn_amount = 'nan'::double "
                          "where user_id = 3")
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    project = Project(online_project.root)
    with pytest.raises(SyncIncomplete) as error:
        sync_views(project, [PROFILE, TXNS], SyncOptions(lookback=dt.timedelta(0)), gate=False)
    assert error.value.exit_code == USAGE
    assert str(error.value).startswith(
        "1 view(s) not synced: user_transactions (BadValueError: view `user_transactions`, "
        "entity user_id=3, feature `last_txn_amount`: nan cannot be stored in DynamoDB")
    assert str(error.value).endswith(
        "); 1 other view(s) published. Fix the above, then run `featurestore sync` again.")
    assert "\n" not in str(error.value)
    assert [r.view for r in error.value.run.results] == ["user_profile"]
    assert sorted(dynamodb_items(client, table, PROFILE)) == ["user#9"]


@pytest.mark.parametrize(
    ("refused", "failed", "kind", "code"),
    [
        ({}, {}, None, 0),
        ({"a": ["x"]}, {}, "GateFailed", CHECK_FAILED),
        ({}, {"b": BadValueError("b", {"id": 1}, "f", "nan")}, "SyncIncomplete", USAGE),
        ({}, {"b": WarehouseError("missing")}, "SyncIncomplete", USAGE),
        ({"a": ["x"]}, {"b": BadValueError("b", {"id": 1}, "f", "nan")}, "SyncIncomplete",
         CHECK_FAILED),
    ],
)
def test_a_run_exits_with_the_highest_code_of_its_causes(refused, failed, kind, code):
    from featurestore.sync.run import SyncRun

    problem = SyncRun(refused=refused, failed=failed).problem()
    if kind is None:
        assert problem is None
        return
    assert type(problem).__name__ == kind
    assert problem.exit_code == code
