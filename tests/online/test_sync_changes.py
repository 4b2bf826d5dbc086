"""A sync writes only what changed: items that already hold their row are not written,
rows past their TTL are not written, and ``--full-refresh`` verifies every item and
repairs the ones that differ (never regressing a newer one)."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.online.items import to_epoch_micros, view_sk
from featurestore.sync import state as sync_state
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
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
US = dt.timedelta(microseconds=1)
TTL = dt.timedelta(seconds=TXNS.ttl_seconds)


def history(users=range(1, 21)):
    for user in users:
        for i in range(2):
            ts = T0 + i * HOUR
            yield txn_row(user, ts, ts + dt.timedelta(minutes=5), scale=1 + i)


def options(**overrides) -> SyncOptions:
    return SyncOptions(**{"as_of": AS_OF, "lookback": dt.timedelta(0), **overrides})


def key(user: int) -> dict:
    return {"pk": {"S": f"user#{user}"}, "sk": {"S": view_sk(TXNS)}}


def test_a_second_full_refresh_with_no_change_writes_nothing(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        first = sync_view(warehouse, store_for(client, table), TXNS, options(full_refresh=True))
        written_at = {pk: at for pk, (_, _, at) in dynamodb_items(client, table, TXNS).items()}
        second = sync_view(warehouse, store_for(client, table), TXNS, options(full_refresh=True))
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
        state = sync_state.load(warehouse, TXNS.name, TXNS.version)
    for result in (first, second):
        assert (result.full, result.rows_read, result.written, result.skipped,
                result.unchanged, result.differed) == (True, 20, 0, 0, 20, 0)
    assert {pk: at for pk, (_, _, at) in online.items()} == written_at  # not rewritten
    assert (state.rows_written, state.rows_unchanged) == (0, 20)


def test_a_value_edited_behind_the_stores_back_is_repaired_and_counted(online_project,
                                                                       dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        client.update_item(TableName=table, Key=key(3), UpdateExpression="SET txn_count_7d = :v",
                           ExpressionAttributeValues={":v": {"N": "999"}})
        client.update_item(TableName=table, Key=key(4), UpdateExpression="SET stray = :v",
                           ExpressionAttributeValues={":v": {"S": "left by a script"}})
        client.update_item(TableName=table, Key=key(5), UpdateExpression="REMOVE expires_at")
        result = sync_view(warehouse, store_for(client, table), TXNS, options(full_refresh=True))
        assert_online_equals_warehouse(warehouse, client, table, TXNS)
    stored = client.get_item(TableName=table, Key=key(4), ConsistentRead=True)["Item"]
    assert "stray" not in stored
    repaired = client.get_item(TableName=table, Key=key(5), ConsistentRead=True)["Item"]
    assert int(repaired["expires_at"]["N"]) == to_epoch_micros(T0 + HOUR) // 10**6 + \
        TXNS.ttl_seconds
    assert (result.rows_read, result.written, result.skipped, result.unchanged,
            result.differed) == (20, 3, 0, 17, 3)


def test_a_repair_never_regresses_a_newer_item(online_project, dynamodb_table):
    """An item whose feature_ts is newer than the warehouse's differs, and stays."""
    client, table = dynamodb_table
    newer = to_epoch_micros(T0 + 5 * HOUR)
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        client.update_item(TableName=table, Key=key(7), UpdateExpression="SET feature_ts = :v",
                           ExpressionAttributeValues={":v": {"N": str(newer)}})
        result = sync_view(warehouse, store_for(client, table), TXNS, options(full_refresh=True))
    stored = client.get_item(TableName=table, Key=key(7), ConsistentRead=True)["Item"]
    assert int(stored["feature_ts"]["N"]) == newer
    assert (result.written, result.skipped, result.unchanged, result.differed) == (0, 1, 19, 1)


def test_an_incremental_sync_skips_entities_whose_item_holds_their_row(online_project,
                                                                       dynamodb_table):
    """Rows re-read (the lookback) but already stored are compared, not written."""
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        landed = T0 + 10 * HOUR
        insert_txns(warehouse, [txn_row(2, T0 + 3 * HOUR, landed, scale=4)])
        result = sync_view(warehouse, store_for(client, table), TXNS,
                           options(lookback=landed - (T0 + HOUR)))
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
    assert online["user#2"][0] == T0 + 3 * HOUR
    assert (result.full, result.rows_read, result.written, result.unchanged) == (
        False, 20, 1, 19)


def test_rows_past_their_ttl_are_not_written(online_project, dynamodb_table):
    """Age exactly the TTL is still served (PRESENT or STALE): written. A microsecond
    more is EXPIRED: not written, on a first load as on a full refresh."""
    client, table = dynamodb_table
    at_ttl, past_ttl = AS_OF - TTL, AS_OF - TTL - US
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(1, at_ttl, at_ttl), txn_row(2, past_ttl, past_ttl),
                                txn_row(3, T0, T0)])
        first = sync_view(warehouse, store_for(client, table), TXNS, options())
        assert sorted(dynamodb_items(client, table, TXNS)) == ["user#1", "user#3"]
        # two hours on, user 1's row is past its TTL: not read, not written; its item
        # stays until DynamoDB's TTL deletes it (the lookup serves it as EXPIRED)
        full = sync_view(warehouse, store_for(client, table), TXNS,
                         options(full_refresh=True, as_of=AS_OF + 2 * HOUR))
        online = dynamodb_items(client, table, TXNS)
    assert (first.rows_read, first.written) == (2, 2)
    assert (full.rows_read, full.written, full.unchanged) == (1, 0, 1)
    assert sorted(online) == ["user#1", "user#3"]


def test_sync_full_refresh_prints_how_many_differed(online_project, dynamodb_table,
                                                    dynamodb_local):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(u, T0, T0) for u in range(1, 6)])
    env = {"FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local}

    def sync(*extra):
        return CliRunner().invoke(cli, ["--project-dir", str(online_project.root), "sync",
                                        "--view", "user_transactions", "--no-gate",
                                        "--lookback", "0", *extra], env=env, obj={})

    assert sync().exit_code == 0
    client.update_item(TableName=table, Key=key(2), UpdateExpression="SET txn_count_1h = :v",
                       ExpressionAttributeValues={":v": {"N": "40"}})
    text = sync("--full-refresh")
    assert text.exit_code == 0, text.output
    assert ("user_transactions v1: read 5, unchanged 4, differed 1 (written 1, skipped as "
            "not newer 0), retried 0 in") in text.stdout
    as_json = sync("--full-refresh", "--json")
    assert as_json.exit_code == 0, as_json.output
    (view,) = json.loads(as_json.stdout)["views"]
    assert (view["full"], view["rows_read"], view["unchanged"], view["differed"],
            view["written"]) == (True, 5, 5, 0, 0)
