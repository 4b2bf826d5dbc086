"""`featurestore forget`, `online init/start/status/stop` and `sync` through the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT
from tests.online.conftest import (
    AS_OF,
    PROFILE,
    T0,
    TXNS,
    assert_online_equals_warehouse,
    dynamodb_items,
    insert_txns,
    txn_row,
)
from tests.online_stores import store_for


def _seed(project, client, table) -> None:
    with Warehouse(project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in (1, 2, 3)])
        warehouse.execute("insert into fs_user__profile values (2, ?, ?, 'FR', 'web', true, 2, "
                          "?, 'example.com')", [T0, T0, T0])
        for view in (TXNS, PROFILE):
            sync_view(warehouse, store_for(client, table), view,
                      SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0)))


def _run(project, table, endpoint, *args):
    env = {"FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint}
    return CliRunner().invoke(cli, ["--project-dir", str(project.root), *args], env=env,
                              obj={})


def test_forget_deletes_every_view_of_the_entity(online_project, dynamodb_table,
                                                 dynamodb_local):
    client, table = dynamodb_table
    _seed(online_project, client, table)
    result = _run(online_project, table, dynamodb_local, "forget", "user", "2")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"online store: DynamoDB Local at {dynamodb_local}, table {table}\n"
    lines = result.stdout.splitlines()
    assert lines[0] == ("DynamoDB: deleted 2 item(s) of user#2: user_profile#v1, "
                        "user_transactions#v1")
    assert lines[1] == (
        'warehouse: user_profile ("main"."fs_user__profile"): 1 row(s). It is a dbt model, '
        "rebuilt from its sources: purge the entity upstream (raw data), then `featurestore "
        'build`. The model\'s rows: delete from "main"."fs_user__profile" where "user_id" = 2;'
    )
    assert lines[2].startswith('warehouse: user_transactions ("main"."fs_user__transactions")'
                               ": 1 row(s).")
    assert set(dynamodb_items(client, table, TXNS)) == {"user#1", "user#3"}
    assert dynamodb_items(client, table, PROFILE) == {}


def test_forget_checks_the_key_count(online_project, dynamodb_table, dynamodb_local):
    _, table = dynamodb_table
    result = _run(online_project, table, dynamodb_local, "forget", "user_device", "42")
    assert result.exit_code == 1
    assert result.stderr.split("\n", 1)[1] == (
        "Error: feature_defs/entities.yml: entity `user_device` has 2 key column(s) "
        "(user_id, device_id); got 1 value(s): 42\n"
    )


def test_online_init_is_idempotent(online_project, dynamodb_local):
    first = _run(online_project, "fs_cli_init", dynamodb_local, "online", "init")
    second = _run(online_project, "fs_cli_init", dynamodb_local, "online", "init")
    assert first.stderr == (f"online store: DynamoDB Local at {dynamodb_local}, table "
                            "fs_cli_init\n")
    assert first.stdout == "table fs_cli_init created.\n"
    assert second.stdout == "table fs_cli_init already exists, key schema checked.\n"


def test_sync_command_without_gate_prints_counts(online_project, dynamodb_table,
                                                  dynamodb_local):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in range(1, 6)])
    result = _run(online_project, table, dynamodb_local, "sync", "--view",
                  "user_transactions", "--no-gate", "--lookback", "0")
    assert result.exit_code == 0, result.output
    assert ("WARNING: --no-gate: publishing 1 view(s) WITHOUT their freshness and quality "
            "gates.") in result.stderr
    assert ("user_transactions v1: read 5, written 5, skipped as not newer 0, retried 0 in"
            in result.output)
    with Warehouse(online_project) as warehouse:
        assert_online_equals_warehouse(warehouse, client, table, TXNS,
                                       as_of=dt.datetime.now(dt.UTC).replace(tzinfo=None))


def test_sync_refuses_a_missing_table(online_project, dynamodb_local):
    result = _run(online_project, "fs_no_such_table", dynamodb_local, "sync", "--no-gate")
    assert result.exit_code == 1
    assert result.output.endswith(
        f"Error: the feature table `fs_no_such_table` does not exist at DynamoDB Local at "
        f"{dynamodb_local}. Create it: `featurestore online init`.\n")


@pytest.mark.slow
def test_online_start_status_stop(online_project, monkeypatch):
    monkeypatch.delenv("FEATURESTORE_DYNAMODB_ENDPOINT", raising=False)
    (online_project.root / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    runner = CliRunner()
    root = ["--project-dir", str(online_project.root)]
    env = {"FEATURESTORE_ONLINE_TABLE": "fs_cli_start"}
    try:
        started = runner.invoke(cli, [*root, "online", "start"], env=env, obj={})
        assert started.exit_code == 0, started.output
        endpoint = started.output.splitlines()[-1].removeprefix(
            "export FEATURESTORE_DYNAMODB_ENDPOINT=")
        assert endpoint.startswith("http://127.0.0.1:")
        # no env var and no --local: AWS, never the emulator without a word. boto3's
        # default session keeps the credentials it first resolved: an earlier test of this
        # worker (moto's S3, with keys in the environment) must not lend them here
        import boto3

        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        aws = runner.invoke(cli, [*root, "online", "init"], env={
            **env, "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": None,
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true"}, obj={})
        assert aws.exit_code == 1
        assert aws.stderr.splitlines()[0] == "online store: AWS DynamoDB in us-east-1, table " \
            "fs_cli_start"
        assert aws.stderr.splitlines()[1].startswith("Error: no AWS credentials found")
        # --local: the instance `online start` runs
        init = runner.invoke(cli, [*root, "online", "init", "--local"], env=env, obj={})
        assert init.stderr == f"online store: DynamoDB Local at {endpoint}, table fs_cli_start\n"
        assert init.stdout == "table fs_cli_start created.\n"
        status = runner.invoke(cli, [*root, "online", "status", "--local"], env=env, obj={})
        assert status.stdout.splitlines()[0] == "table: fs_cli_start (exists)"
    finally:
        stopped = runner.invoke(cli, [*root, "online", "stop"], env=env, obj={})
    assert stopped.output == "DynamoDB Local stopped; its data stays in warehouse/dynamodb.\n"


def test_sync_json_reports_each_view(online_project, dynamodb_table, dynamodb_local):
    import json

    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in range(1, 4)])
    result = _run(online_project, table, dynamodb_local, "sync", "--view",
                  "user_transactions", "--no-gate", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (view,) = document["views"]
    assert document["store"] == f"DynamoDB Local at {dynamodb_local}, table {table}"
    assert document["refused"] == {}
    assert {k: view[k] for k in ("view", "version", "mode", "full", "rows_read", "written",
                                 "skipped")} == {
        "view": "user_transactions", "version": 1, "mode": "first load (BatchWriteItem)",
        "full": True, "rows_read": 3, "written": 3, "skipped": 0}
