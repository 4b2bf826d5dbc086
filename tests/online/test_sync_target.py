"""The sync state belongs to the table it describes, and the table must confirm it.

A new table, a table dropped and created again, a second DynamoDB Local, a table restored
from an older backup, and a state row from before the store was recorded: each used to
get an "incremental" run that read nothing and said it succeeded. Each must get a full
load, and the table must equal the warehouse afterwards.
"""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.online.client import drop_table, ensure_table
from featurestore.online.config import OnlineConfig
from featurestore.online.items import view_sk
from featurestore.online.local import LocalDynamoDB
from featurestore.sync import state as sync_state
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT
from tests.online.conftest import (
    AS_OF,
    T0,
    TXNS,
    assert_online_equals_warehouse,
    dynamodb_items,
    insert_txns,
    txn_row,
)
from tests.online_stores import store_for

HOUR = dt.timedelta(hours=1)
USERS = 40
NO_MARKER = ("the table has no sync marker for this view version (a new, recreated or wiped "
             "table)")


def options(**overrides) -> SyncOptions:
    return SyncOptions(**{"as_of": AS_OF, "lookback": dt.timedelta(0), **overrides})


def history(users=range(1, USERS + 1)):
    for user in users:
        for i in range(2):
            ts = T0 + i * HOUR
            yield txn_row(user, ts, ts + dt.timedelta(minutes=5), scale=1 + i)


def later_rows(users, hours: int = 5):
    """A newer row for each of ``users``, landed ``hours`` after T0."""
    return [txn_row(u, T0 + hours * HOUR, T0 + hours * HOUR, scale=hours) for u in users]


def arn(table: str) -> str:
    return f"arn:aws:dynamodb:ddblocal:000000000000:table/{table}"


def test_a_new_table_gets_a_full_load(online_project, dynamodb_table, dynamodb_local):
    client, first = dynamodb_table
    second = first[:200] + "_new"
    ensure_table(client, second, ttl=False)
    try:
        with Warehouse(online_project) as warehouse:
            insert_txns(warehouse, history())
            sync_view(warehouse, store_for(client, first), TXNS, options())
            result = sync_view(warehouse, store_for(client, second), TXNS, options())
            assert_online_equals_warehouse(warehouse, client, second, TXNS)
            states = sync_state.load_all(warehouse)
    finally:
        drop_table(client, second)
    assert (result.full, result.reason, result.rows_read, result.mode) == (
        True, "no earlier run into this store", USERS, "first load (BatchWriteItem)")
    assert sorted(s.online_store for s in states) == [
        f"{dynamodb_local} {arn(first)}", f"{dynamodb_local} {arn(second)}"]
    assert {s.status for s in states} == {"ok"}


def test_a_table_dropped_and_created_again_gets_a_full_load(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        drop_table(client, table)  # a wiped store under the same name
        ensure_table(client, table, ttl=False)
        result = sync_view(warehouse, store_for(client, table), TXNS, options())
        assert_online_equals_warehouse(warehouse, client, table, TXNS)
        again = sync_view(warehouse, store_for(client, table), TXNS, options())
    assert (result.full, result.reason, result.rows_read) == (True, NO_MARKER, USERS)
    assert result.mode == "first load (BatchWriteItem)"
    assert "; full because the table has no sync marker" in result.summary()
    # and once the table holds it, the next run is incremental again
    assert (again.full, again.reason, again.rows_read) == (False, "", 0)


def test_a_run_that_finds_nothing_new_leaves_the_marker(online_project, dynamodb_table):
    """The marker that confirmed the watermark still does; one that finds rows moves it."""
    client, table = dynamodb_table
    key = sync_state.marker_key(view_sk(TXNS))

    def marker():
        return client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]

    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        first = marker()
        idle = sync_view(warehouse, store_for(client, table), TXNS, options())
        assert marker() == first
        insert_txns(warehouse, later_rows([5]))
        busy = sync_view(warehouse, store_for(client, table), TXNS, options())
        state = sync_state.load(warehouse, TXNS.name, TXNS.version)
    assert (idle.full, idle.rows_read, busy.full, busy.rows_read) == (False, 0, False, 1)
    assert marker()["run_id"] == {"S": state.run_id}
    assert int(marker()["watermark"]["N"]) > int(first["watermark"]["N"])


def test_a_second_dynamodb_local_keeps_its_own_state(online_project, dynamodb_table,
                                                     dynamodb_local):
    client, table = dynamodb_table
    with LocalDynamoDB(REPO_ROOT) as other_endpoint:
        other = OnlineConfig(endpoint=other_endpoint).client()
        ensure_table(other, table, ttl=False)  # the same table name, another store
        with Warehouse(online_project) as warehouse:
            insert_txns(warehouse, history())
            sync_view(warehouse, store_for(client, table), TXNS, options())
            switched = sync_view(warehouse, store_for(other, table), TXNS, options())
            assert_online_equals_warehouse(warehouse, other, table, TXNS)
            insert_txns(warehouse, later_rows([3, 17]))
            back = sync_view(warehouse, store_for(client, table), TXNS, options())
            forth = sync_view(warehouse, store_for(other, table), TXNS, options())
            for store in (client, other):
                assert_online_equals_warehouse(warehouse, store, table, TXNS)
            states = {s.online_store: s for s in sync_state.load_all(warehouse)}
    assert (switched.full, switched.reason, switched.rows_read) == (
        True, "no earlier run into this store", USERS)
    assert (back.full, back.rows_read, forth.full, forth.rows_read) == (False, 2, False, 2)
    assert sorted(states) == sorted([f"{dynamodb_local} {arn(table)}",
                                     f"{other_endpoint} {arn(table)}"])
    assert {s.watermark for s in states.values()} == {T0 + 5 * HOUR}


def test_a_table_restored_from_an_older_backup_gets_a_full_load(online_project,
                                                                dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        backup = client.scan(TableName=table, ConsistentRead=True)["Items"]
        insert_txns(warehouse, later_rows(range(1, 11)))
        assert sync_view(warehouse, store_for(client, table), TXNS, options()).written == 10
        # the table is restored from the backup taken after the first run
        drop_table(client, table)
        ensure_table(client, table, ttl=False)
        for start in range(0, len(backup), 25):
            client.batch_write_item(RequestItems={table: [
                {"PutRequest": {"Item": item}} for item in backup[start:start + 25]]})
        result = sync_view(warehouse, store_for(client, table), TXNS, options())
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
    assert result.full is True
    assert result.reason == (
        f"the table's sync marker is at watermark {T0 + HOUR + dt.timedelta(minutes=5)}, "
        f"older than the state's {T0 + 5 * HOUR} (a table restored from a backup?)")
    assert result.mode == "conditional (TransactWriteItems)"  # its first-load marker says so
    # the 10 entities the backup lacks are repaired; the other items held their rows
    assert (result.rows_read, result.written, result.skipped, result.unchanged) == (
        USERS, 10, 0, USERS - 10)
    assert online["user#7"][0] == T0 + 5 * HOUR


OLD_STATE_DDL = (
    "create table {table} (view_name varchar not null, view_version integer not null, "
    "watermark timestamp, last_as_of timestamp, run_id varchar, status varchar, "
    "started_at timestamp, finished_at timestamp, rows_read bigint, rows_written bigint, "
    "rows_skipped bigint, rows_retried bigint, message varchar)"
)


def test_a_state_row_from_before_the_store_was_recorded(online_project, dynamodb_table,
                                                         dynamodb_local):
    """The old table, without `online_store`, and its row claiming a watermark newer than
    every row: the row cannot say which table it described, so the first run is full."""
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        warehouse.ensure_store_schema()
        state_table = warehouse.store_table("sync_state")
        warehouse.execute(OLD_STATE_DDL.format(table=state_table))
        warehouse.execute(
            f"insert into {state_table} values ('user_transactions', 1, ?, ?, 'old', 'ok', "
            "?, ?, 40, 40, 0, 0, '')", [T0 + 24 * HOUR, AS_OF, T0, T0])
        result = sync_view(warehouse, store_for(client, table), TXNS, options())
        assert_online_equals_warehouse(warehouse, client, table, TXNS)
        columns = list(warehouse.columns(state_table))
        rows = warehouse.fetch_all(f"select view_name, online_store, status from {state_table}")
    assert (result.full, result.reason, result.rows_read) == (True, NO_MARKER, USERS)
    assert columns[-3:] == ["online_store", "horizon", "rows_unchanged"]
    assert rows == [("user_transactions", f"{dynamodb_local} {arn(table)}", "ok")]


def test_sync_command_into_a_new_table_says_why_it_is_full(online_project, dynamodb_table,
                                                           dynamodb_local):
    client, first = dynamodb_table
    second = first[:200] + "_cli"
    ensure_table(client, second, ttl=False)
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in range(1, 6)])

    def sync(table):
        env = {"FEATURESTORE_ONLINE_TABLE": table,
               "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local}
        return CliRunner().invoke(cli, ["--project-dir", str(online_project.root), "sync",
                                        "--view", "user_transactions", "--no-gate",
                                        "--lookback", "0"],
                                  env=env, obj={})

    try:
        assert sync(first).exit_code == 0
        result = sync(second)
        items = dynamodb_items(client, second, TXNS)
    finally:
        drop_table(client, second)
    assert result.exit_code == 0, result.output
    assert ("user_transactions v1: read 5, written 5, skipped as not newer 0, retried 0 in"
            in result.stdout)
    assert result.stdout.rstrip().endswith(
        "full, first load (BatchWriteItem)); full because no earlier run into this store")
    assert sorted(items) == [f"user#{u}" for u in range(1, 6)]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_old_state_table_is_migrated_on_snowflake(online_project, monkeypatch):
    """`alter table ... add column` as Snowflake takes it (fakesnow)."""
    fakesnow = pytest.importorskip("fakesnow")
    from featurestore.project import Project

    for name, value in {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "u",
                        "SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_DATABASE": "DB",
                        "SNOWFLAKE_SCHEMA": "FS", "FEATURESTORE_TARGET": "snowflake"}.items():
        monkeypatch.setenv(name, value)
    with fakesnow.patch():
        warehouse = Warehouse(Project(online_project.root))
        warehouse.execute("create database if not exists DB")
        warehouse.ensure_store_schema()
        state_table = warehouse.store_table("sync_state")
        warehouse.execute(OLD_STATE_DDL.format(table=state_table))
        warehouse.execute(
            f"insert into {state_table} (view_name, view_version, watermark, status) "
            "values ('user_transactions', 1, ?, 'ok')", [T0])
        legacy = sync_state.load(warehouse, "user_transactions", 1, "store-a")
        legacy.status = "running"
        sync_state.save(warehouse, legacy)
        mine = sync_state.load(warehouse, "user_transactions", 1, "store-a")
        other = sync_state.load(warehouse, "user_transactions", 1, "store-b")
        rows = len(sync_state.load_all(warehouse))
    assert (legacy.watermark, mine.status, mine.online_store) == (T0, "running", "store-a")
    assert (other.status, other.watermark) == ("never", None)
    assert rows == 1


def test_sync_view_names_a_missing_table_and_its_store(online_project, dynamodb_local):
    from featurestore.errors import OnlineStoreError

    client = OnlineConfig(endpoint=dynamodb_local).client()
    with Warehouse(online_project) as warehouse, pytest.raises(OnlineStoreError) as error:
        sync_view(warehouse, store_for(client, "fs_never_created"), TXNS, options())
    assert str(error.value) == (
        f"the feature table `fs_never_created` does not exist at DynamoDB at {dynamodb_local}. "
        "Create it: `featurestore online init`.")
