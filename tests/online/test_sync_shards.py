"""A sync in shards (sync/shards.py, sync/shard_workers.py) against a real DynamoDB Local:
the shards split the keys, N workers write what one process writes, and a worker killed
mid-shard loses nothing: its shard is taken over once its lease expires."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.dialects.base import Dialect
from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from featurestore.online.items import encode_item, view_sk
from featurestore.sync import shards as shard_ops
from featurestore.sync.reader import ReadPlan
from featurestore.sync.shard_workers import ShardJob, start_worker, work
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.online.conftest import (
    AS_OF,
    T0,
    TXNS,
    dynamodb_items,
    insert_txns,
    txn_row,
    warehouse_latest,
)
from tests.online.gate_proxy import GateProxy
from tests.online_stores import store_for
from tests.waiting import wait_until

HOUR = dt.timedelta(hours=1)
COLUMNS = ["user_id", "feature_ts", "loaded_at", *TXNS.feature_names]
FULL = ReadPlan(as_of=AS_OF, watermark=None, previous_as_of=None)


def history(users, rows_per_user=2):
    for user in users:
        for i in range(rows_per_user):
            ts = T0 + i * HOUR
            yield txn_row(user, ts, ts + dt.timedelta(minutes=5), scale=1 + i)


def shard_keys(directory, shards: int) -> dict[int, list[int]]:
    """shard -> the user_ids in its files, read back with pyarrow (not the sync's reader)."""
    folders = sorted(p.name for p in directory.iterdir())
    assert all(name.startswith(f"{shard_ops.SHARD_COLUMN}=") for name in folders)
    found = {int(name.partition("=")[2]): [] for name in folders}
    for shard in found:
        for path in (directory / f"{shard_ops.SHARD_COLUMN}={shard}").glob("*.parquet"):
            found[shard] += pq.read_table(path).column("user_id").to_pylist()
    assert set(found) <= set(range(shards))
    return found


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.sets(st.integers(-2**63, 2**63 - 1), max_size=200),
       shards=st.integers(1, 16))
def test_shards_are_disjoint_and_cover_every_key(online_project, tmp_path_factory, keys,
                                                 shards):
    with Warehouse(online_project) as warehouse:
        warehouse.execute("delete from fs_user__transactions")
        if keys:
            insert_txns(warehouse, history(sorted(keys)))
        relation = warehouse.view_relation(TXNS)
        duckdb_dir = tmp_path_factory.mktemp("duckdb_copy")
        shard_ops.export(warehouse, TXNS, relation, FULL, shards, duckdb_dir)
        staged = warehouse.store_table("fs_sync_shards_hypothesis")  # Snowflake's path
        sql = shard_ops.sharded_sql(TXNS, relation, FULL, warehouse.dialect, shards)
        warehouse.ensure_store_schema()
        warehouse.execute(f"drop table if exists {staged}")
        Dialect.stage_shards(warehouse.dialect, warehouse, sql, staged)
        by_table: dict[int, list[int]] = {}
        for shard, key in warehouse.fetch_all(
                f"select {shard_ops.SHARD_COLUMN}, user_id from {staged}"):
            by_table.setdefault(int(shard), []).append(key)
    by_copy = shard_keys(duckdb_dir, shards)
    for found in (by_copy, by_table):
        every = [key for shard_list in found.values() for key in shard_list]
        assert sorted(every) == sorted(keys)  # each key once: disjoint, and none missing
    assert {s: sorted(k) for s, k in by_copy.items()} == {
        s: sorted(k) for s, k in by_table.items()}


def test_workers_write_what_one_process_writes(online_project, dynamodb_table,
                                               dynamodb_local):
    client, table = dynamodb_table
    other = f"{table[:200]}_w1"
    ensure_table(client, other, ttl=False)
    try:
        with Warehouse(online_project) as warehouse:
            insert_txns(warehouse, history(range(1, 301)))
            options = SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0), batch_size=50)
            one = sync_view(warehouse, store_for(client, other), TXNS, options)
            two = sync_view(warehouse, store_for(client, table), TXNS,
                            dataclasses.replace(options, workers=2))
            assert (two.rows_read, two.written, two.mode) == (300, 300, one.mode)
            # an incremental run in shards: conditional, only what changed
            insert_txns(warehouse, [txn_row(u, T0 + 5 * HOUR, T0 + 9 * HOUR, scale=3)
                                    for u in (7, 150, 299)])
            again_one = sync_view(warehouse, store_for(client, other), TXNS, options)
            again_two = sync_view(warehouse, store_for(client, table), TXNS,
                                  dataclasses.replace(options, workers=3))
            idle = sync_view(warehouse, store_for(client, table), TXNS,
                             dataclasses.replace(options, workers=2))
            expected = warehouse_latest(warehouse, TXNS)
        assert (idle.rows_read, idle.written) == (0, 0)  # nothing new: no worker started
        assert (again_two.rows_read, again_two.written, again_two.unchanged) == (
            again_one.rows_read, again_one.written, again_one.unchanged) == (3, 3, 0)
        assert again_two.mode == "conditional (TransactWriteItems)"
        sharded, single = dynamodb_items(client, table, TXNS), dynamodb_items(client, other,
                                                                              TXNS)
        assert {pk: item[:2] for pk, item in sharded.items()} == {
            pk: item[:2] for pk, item in single.items()} == expected
        # the run's shard claims are gone once it is done
        leftover = store_for(client, table).read_markers(
            shard_ops.marker_names(view_sk(TXNS), 12))
        assert leftover == {}
    finally:
        client.delete_table(TableName=other)


def test_a_killed_workers_shard_is_taken_over_after_its_lease(online_project, dynamodb_table,
                                                              dynamodb_local, tmp_path):
    client, table = dynamodb_table
    store = store_for(client, table)
    with Warehouse(online_project) as warehouse:
        insert_txns(warehouse, history(range(1, 401)))
        # users 5 and 6 already have newer values online: nothing may regress them
        newer = [dict(zip(COLUMNS, txn_row(u, T0 + 40 * HOUR, T0 + 40 * HOUR, scale=8),
                          strict=True)) for u in (5, 6)]
        seeding = store.writer(threads=1)
        seeding.submit([encode_item(TXNS, row, 1) for row in newer])
        seeding.wait()
        seeding.close()
        shard_ops.export(warehouse, TXNS, warehouse.view_relation(TXNS), FULL, 2, tmp_path)
        expected = warehouse_latest(warehouse, TXNS)
    for row in newer:
        expected[f"user#{row['user_id']}"] = (
            row["feature_ts"], {f: row[f] for f in TXNS.feature_names})
    shard_ops.open_shards(store, view_sk(TXNS), 2, "run-a")
    names = shard_ops.marker_names(view_sk(TXNS), 2)
    with GateProxy(dynamodb_local, allow=1) as proxy:
        job = ShardJob(OnlineConfig(table=table, endpoint=proxy.url), TXNS, str(tmp_path), 2,
                       "run-a", unconditional=False, threads=1, batch_size=20,
                       lease_seconds=2.0)
        killed = start_worker(job)
        # its first batch was written, and what it asked for next is held: from here on
        # nothing it sends reaches the table (no renewal, no "failed" after its own
        # timeouts), so the state below holds however long the kill takes under load
        wait_until(proxy.held.is_set, "the worker's request after its first batch")
        markers = store.read_markers(names)
        running = [n for n in names if markers[n]["state"] == "running"]
        assert len(running) == 1 and f":{killed.pid}:" in markers[running[0]]["owner"]
        assert [markers[n]["state"] for n in names if n not in running] == ["pending"]
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        # the batch of 20, less the seeded users it may hold (refused, not regressed)
        assert proxy.accepted_items in range(18, 21)
        assert len(dynamodb_items(client, table, TXNS)) == 2 + proxy.accepted_items
        # a second worker: the pending shard at once, the killed one once its lease ends
        work(dataclasses.replace(job, config=OnlineConfig(table=table,
                                                          endpoint=dynamodb_local)), store)
    markers = store.read_markers(names)
    assert [markers[n]["state"] for n in names] == ["done", "done"]
    assert f":{killed.pid}:" not in markers[running[0]]["owner"]
    assert sum(int(markers[n]["rows"]) for n in names) == 400
    online = dynamodb_items(client, table, TXNS)
    assert {pk: item[:2] for pk, item in online.items()} == expected
    assert online["user#5"][1]["last_txn_amount"] == 7.75 * 8  # not regressed
