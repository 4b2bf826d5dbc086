"""The sync worker against a real DynamoDB Local: equality, increments, replays, bad values."""

from __future__ import annotations

import datetime as dt

import pytest

from featurestore.errors import BadValueError, OnlineStoreError
from featurestore.online.items import view_sk
from featurestore.sync import state as sync_state
from featurestore.sync.first_load import MARKER_PK, FirstLoadClaim
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.online.conftest import (
    AS_OF,
    PROFILE,
    T0,
    TXNS,
    assert_online_equals_warehouse,
    dynamodb_items,
    insert_txns,
    txn_row,
    warehouse_latest,
)
from tests.online_stores import store_for

HOUR = dt.timedelta(hours=1)


def history(users=range(1, 41), rows_per_user=3):
    """Each user has rows at T0, T0+1h, ...; each landed 5 minutes after its feature_ts."""
    for user in users:
        for i in range(rows_per_user):
            ts = T0 + i * HOUR
            yield txn_row(user, ts, ts + dt.timedelta(minutes=5), scale=1 + i)


def options(**overrides) -> SyncOptions:
    return SyncOptions(**{"as_of": AS_OF, "lookback": dt.timedelta(0), **overrides})


def test_full_sync_equals_warehouse_latest(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        result = sync_view(warehouse, store_for(client, table), TXNS, options())
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
        state = sync_state.load(warehouse, "user_transactions", 1)
    assert len(online) == 40
    assert (result.rows_read, result.written, result.skipped) == (40, 40, 0)
    assert result.mode == "first load (BatchWriteItem)"
    assert result.full is True
    assert state.status == "ok"
    assert state.watermark == T0 + 2 * HOUR + dt.timedelta(minutes=5)
    assert (state.rows_read, state.rows_written, state.rows_skipped) == (40, 40, 0)
    marker = client.get_item(TableName=table, Key={"pk": {"S": MARKER_PK},
                                                   "sk": {"S": "_first_load#user_transactions#v1"}})
    assert marker["Item"]["state"]["S"] == "loaded"


def test_incremental_sync_rewrites_only_changed_entities(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        sync_view(warehouse, store_for(client, table), TXNS, options())
        before = dynamodb_items(client, table, TXNS)
        landed = T0 + 10 * HOUR
        insert_txns(warehouse, [txn_row(u, T0 + 5 * HOUR, landed, scale=9) for u in (3, 17)])
        result = sync_view(warehouse, store_for(client, table), TXNS, options())
        after = assert_online_equals_warehouse(warehouse, client, table, TXNS)
        state = sync_state.load(warehouse, "user_transactions", 1)
    rewritten = {pk for pk in after if after[pk][2] != before[pk][2]}
    assert rewritten == {"user#3", "user#17"}
    assert after["user#3"][0] == T0 + 5 * HOUR
    assert after["user#3"][1]["last_txn_amount"] == 7.75 * 9
    assert (result.rows_read, result.written, result.skipped) == (2, 2, 0)
    assert result.mode == "conditional (TransactWriteItems)"
    assert result.full is False
    assert state.watermark == landed


def test_late_row_with_old_feature_ts_reaches_dynamodb(online_project, dynamodb_table):
    """feast-dev/feast#4133: the newest row for an entity lands late, with an old
    feature_ts, after the sync already passed that event time."""
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(1, T0, T0 + dt.timedelta(minutes=5)),
                                txn_row(2, T0 + 8 * HOUR, T0 + 8 * HOUR)])
        sync_view(warehouse, store_for(client, table), TXNS, options())
        # user 1's row at T0+2h (before user 2's T0+8h, so before any event-time mark)
        # lands only now, at T0+20h
        insert_txns(warehouse, [txn_row(1, T0 + 2 * HOUR, T0 + 20 * HOUR, scale=5)])
        result = sync_view(warehouse, store_for(client, table), TXNS, options())
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
    assert online["user#1"][0] == T0 + 2 * HOUR
    assert online["user#1"][1]["last_txn_amount"] == 7.75 * 5
    assert (result.rows_read, result.written) == (1, 1)


def test_lookback_rereads_rows_landed_just_before_the_watermark(online_project,
                                                                 dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        # user 5's row at T0+8h is the data horizon
        insert_txns(warehouse, [*history(users=range(1, 6)),
                                txn_row(5, T0 + 8 * HOUR, T0 + 8 * HOUR, scale=2)])
        sync_view(warehouse, store_for(client, table), TXNS, options())
        # a load whose clock ran 3 minutes behind: landed "before" the watermark, and
        # before the horizon in event time
        watermark = sync_state.load(warehouse, "user_transactions", 1).watermark
        insert_txns(warehouse, [txn_row(4, T0 + 6 * HOUR, watermark - dt.timedelta(minutes=3),
                                        scale=4)])
        missed = sync_view(warehouse, store_for(client, table), TXNS, options())
        assert missed.rows_read == 0
        caught = sync_view(warehouse, store_for(client, table), TXNS,
                           options(lookback=dt.timedelta(minutes=10)))
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
    # the late row, and user 5 whose row landed at the watermark itself (unchanged)
    assert (caught.rows_read, caught.written, caught.skipped, caught.unchanged) == (
        2, 1, 0, 1)
    assert online["user#4"][0] == T0 + 6 * HOUR


def test_replay_of_an_older_run_never_regresses(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history())
        warehouse.execute("create table snapshot as select * from fs_user__transactions")
        sync_view(warehouse, store_for(client, table), TXNS, options())
        insert_txns(warehouse, [txn_row(u, T0 + 7 * HOUR, T0 + 9 * HOUR, scale=3)
                                for u in range(1, 11)])
        sync_view(warehouse, store_for(client, table), TXNS, options())
        newer = warehouse_latest(warehouse, TXNS)
        # The warehouse goes back to the old state (a restored backup, a backfill rebuilt
        # from older data) and the old run is replayed from scratch.
        warehouse.execute("delete from fs_user__transactions")
        warehouse.execute("insert into fs_user__transactions select * from snapshot")
        sync_state.reset(warehouse, "user_transactions", 1, None)
        replay = sync_view(warehouse, store_for(client, table), TXNS, options(full_refresh=True))
    online = dynamodb_items(client, table, TXNS)
    assert {pk: (ts, values) for pk, (ts, values, _) in online.items()} == newer
    # 30 items already held the snapshot's rows (unchanged, not written); 10 were newer
    assert (replay.rows_read, replay.written, replay.skipped, replay.unchanged) == (
        40, 0, 10, 30)
    assert replay.mode == "conditional (TransactWriteItems)"


def test_full_refresh_rewrites_values_recomputed_at_the_same_feature_ts(online_project,
                                                                         dynamodb_table):
    """`feature_ts <= :ts`: a model fix at an unchanged feature_ts reaches DynamoDB."""
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history(users=range(1, 4)))
        sync_view(warehouse, store_for(client, table), TXNS, options())
        warehouse.execute("update fs_user__transactions set last_txn_amount = 1.5")
        result = sync_view(warehouse, store_for(client, table), TXNS, options(full_refresh=True))
        online = assert_online_equals_warehouse(warehouse, client, table, TXNS)
    assert {values["last_txn_amount"] for _, values, _ in online.values()} == {1.5}
    assert (result.written, result.skipped) == (3, 0)


def test_future_rows_wait_until_they_come_due(online_project, dynamodb_table):
    client, table = dynamodb_table
    future = AS_OF + dt.timedelta(days=2)
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, [txn_row(1, T0, T0), txn_row(1, future, T0, scale=2)])
        sync_view(warehouse, store_for(client, table), TXNS, options())
        assert dynamodb_items(client, table, TXNS)["user#1"][0] == T0
        # two days on, nothing new landed, but the future row is due now
        later = AS_OF + dt.timedelta(days=3)
        result = sync_view(warehouse, store_for(client, table), TXNS, options(as_of=later))
        assert_online_equals_warehouse(warehouse, client, table, TXNS, as_of=later)
    assert dynamodb_items(client, table, TXNS)["user#1"][0] == future
    assert result.rows_read == 1


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("last_txn_amount", "'nan'::double",
         "view `user_transactions`, entity user_id=7, feature `last_txn_amount`: nan cannot "
         "be stored in DynamoDB (NaN and infinity have no DynamoDB number); fix the model or "
         "make it null. 0 items of this run were written before the error; the watermark did "
         "not move, so the next sync re-reads them."),
        ("txn_amount_sum_7d", "'-infinity'::double",
         "view `user_transactions`, entity user_id=7, feature `txn_amount_sum_7d`: -inf "
         "cannot be stored in DynamoDB (NaN and infinity have no DynamoDB number); fix the "
         "model or make it null. 0 items of this run were written before the error; the "
         "watermark did not move, so the next sync re-reads them."),
    ],
)
def test_bad_float_is_named_and_nothing_is_synced(online_project, dynamodb_table, column,
                                                  value, message):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history(users=range(1, 11)))
        warehouse.execute(f"update fs_user__transactions set {column} = {value} "
                          "where user_id = 7")
        with pytest.raises(BadValueError) as error:
            sync_view(warehouse, store_for(client, table), TXNS, options())
        state = sync_state.load(warehouse, "user_transactions", 1)
    assert str(error.value) == message
    assert dynamodb_items(client, table, TXNS) == {}
    assert state.status == "failed"
    assert state.watermark is None
    assert state.message == f"BadValueError: {message}"


def test_string_where_the_contract_says_float(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        warehouse.execute("alter table fs_user__transactions alter last_txn_amount "
                          "type varchar")
        insert_txns(warehouse, [txn_row(5, T0, T0)])
        with pytest.raises(BadValueError) as error:
            sync_view(warehouse, store_for(client, table), TXNS, options())
    assert str(error.value).startswith(
        "view `user_transactions`, entity user_id=5, feature `last_txn_amount`: '7.75' is "
        "not a number (the contract says float64)."
    )


def test_item_over_400_kb_names_the_largest_feature(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        warehouse.execute(
            "insert into fs_user__profile values (9, ?, ?, 'FR', 'web', true, 2, "
            "timestamp '2020-01-01 00:00:00', repeat('x', 410000))", [T0, T0]
        )
        with pytest.raises(BadValueError) as error:
            sync_view(warehouse, store_for(client, table), PROFILE, options())
        assert sync_state.load(warehouse, "user_profile", 1).watermark is None
    assert str(error.value).startswith(
        "view `user_profile`, entity user_id=9, feature `email_domain`: the item is 410,"
    )
    assert "over DynamoDB's 400 KB item limit" in str(error.value)
    assert dynamodb_items(client, table, PROFILE) == {}


def test_bad_value_in_a_later_batch_keeps_the_watermark(online_project, dynamodb_table):
    client, table = dynamodb_table
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history(users=range(1, 31), rows_per_user=1))
        warehouse.execute("update fs_user__transactions set last_txn_amount = 'nan'::double "
                          "where user_id = 30")
        with pytest.raises(BadValueError, match="user_id=30"):
            sync_view(warehouse, store_for(client, table), TXNS, options(batch_size=10))
        state = sync_state.load(warehouse, "user_transactions", 1)
        expected = warehouse_latest(warehouse, TXNS)
    assert state.watermark is None
    assert state.status == "failed"
    # whatever was written is a whole, correct latest value; the bad entity is not there
    online = dynamodb_items(client, table, TXNS)
    assert "user#30" not in online
    assert all(expected[pk] == (ts, values) for pk, (ts, values, _) in online.items())


def test_a_live_first_load_blocks_a_concurrent_sync(online_project, dynamodb_table):
    client, table = dynamodb_table
    loader = FirstLoadClaim(store_for(client, table), view_sk(TXNS), "otherhost:1:abc", 60)
    assert loader.acquire() is True
    try:
        with Warehouse(online_project) as warehouse:
            insert_txns(warehouse, history(users=range(1, 3)))
            with pytest.raises(OnlineStoreError) as error:
                sync_view(warehouse, store_for(client, table), TXNS, options())
    finally:
        loader.release(completed=True)
    assert str(error.value).startswith(
        "view version user_transactions#v1 is being loaded for the first time by "
        "otherhost:1:abc (lease until "
    )
    assert dynamodb_items(client, table, TXNS) == {}
