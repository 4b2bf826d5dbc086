"""A sync in shards on Snowflake (fakesnow), into a real DynamoDB Local: the coordinator
materializes the run's rows once in a transient table, each worker reads only its shards
over a connection of its own, resolved from the dbt profile, and no row passes through
the coordinator; the table is gone after the run, whether it succeeded or failed.

The workers are threads of this process, each opening its own connection, not processes:
fakesnow is a patch of ``snowflake.connector.connect`` over an in-memory DuckDB database
inside one process (another process would reach no database; fakesnow's server mode,
which the real connector could reach, needs uvicorn, not installed here). Everything
else is the production path: ``sync_view`` -> ``run_shards`` -> ``start_worker``, whose
thread runs ``work_in_process`` on the job after a pickle round trip, as the process
would get it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
import threading

import pytest

from featurestore.dialects.base import Dialect
from featurestore.errors import FeatureStoreError, WarehouseError
from featurestore.online.client import ensure_table
from featurestore.project import Project
from featurestore.sync import shard_sources, shard_workers
from featurestore.sync import state as sync_state
from featurestore.sync import worker as sync_worker
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.online.conftest import AS_OF, T0, TXNS, dynamodb_items, txn_row, warehouse_latest
from tests.online_stores import store_for
from tests.waiting import wait_until

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SECRET = "s3cret-Pa55word"  # the profile's password, which no job may carry
SNOWFLAKE_TXN_DDL = (
    "create table fs_user__transactions (user_id number(38,0), feature_ts timestamp_ntz, "
    "loaded_at timestamp_ntz, txn_count_1h number(38,0), txn_count_7d number(38,0), "
    "txn_count_30d number(38,0), txn_amount_sum_1h float, txn_amount_sum_7d float, "
    "txn_amount_sum_30d float, txn_amount_avg_7d float, txn_amount_avg_30d float, "
    "last_txn_amount float)")
USERS = 60


@pytest.fixture
def snowflake_project(online_project, monkeypatch):
    fakesnow = pytest.importorskip("fakesnow")
    for name, value in {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "u",
                        "SNOWFLAKE_PASSWORD": SECRET, "SNOWFLAKE_DATABASE": "DB",
                        "SNOWFLAKE_SCHEMA": "FS", "FEATURESTORE_TARGET": "snowflake"}.items():
        monkeypatch.setenv(name, value)
    with fakesnow.patch():
        project = Project(online_project.root)
        with Warehouse(project) as warehouse:
            warehouse.execute("create database if not exists DB")
            warehouse.execute("create schema if not exists DB.FS")
            warehouse.execute(SNOWFLAKE_TXN_DDL)
            rows = [txn_row(user, T0 + i * dt.timedelta(hours=1),
                            T0 + i * dt.timedelta(hours=1, minutes=5), scale=1 + i)
                    for user in range(1, USERS + 1) for i in range(2)]
            values = ", ".join(["(" + ", ".join("?" * 12) + ")"] * len(rows))
            warehouse.execute(f"insert into fs_user__transactions values {values}",
                              [value for row in rows for value in row])
        yield project


class ThreadWorker:
    """``start_worker``'s stand-in: the job pickled and unpickled as a worker process
    gets it, then ``work_in_process`` in a thread (a thread cannot be killed: it leaves
    once the run is done or failed, which ``wait`` awaits)."""

    started: list[bytes] = []

    def __init__(self, job):
        data = pickle.dumps(job)
        ThreadWorker.started.append(data)
        self.thread = threading.Thread(target=shard_workers.work_in_process,
                                       args=(pickle.loads(data),), name="fs-test-worker")
        self.thread.start()

    def terminate(self) -> None:
        pass

    def wait(self) -> None:
        wait_until(lambda: not self.thread.is_alive(), "the worker thread ended")


class Connections:
    """Every connection ``ShardTable.connect`` opens: its thread, the statements it ran
    and the rows it streamed. The first waits until a second worker has connected, so
    that two workers share the shards whatever the machine's speed."""

    def __init__(self, monkeypatch):
        self.opened: list[dict] = []
        self.lock = threading.Lock()
        connect = shard_sources.ShardTable.connect

        def recorded(table):
            warehouse = connect(table)
            seen = {"thread": threading.get_ident(), "sql": [], "rows": 0,
                    "relation": table.relation, "warehouse": warehouse}
            with self.lock:
                self.opened.append(seen)
            stream = warehouse.stream_batches

            def counted(sql, params=None, batch_size=50_000):
                seen["sql"].append(sql)
                for batch in stream(sql, params, batch_size):
                    seen["rows"] += batch.num_rows
                    yield batch

            warehouse.stream_batches = counted
            wait_until(lambda: len(self.opened) >= 2, "a second worker's connection")
            return warehouse

        monkeypatch.setattr(shard_sources.ShardTable, "connect", recorded)


def no_rows_here(*args, **kwargs):
    raise AssertionError("a row was read through the coordinator")


def forbid_coordinator_rows(monkeypatch, warehouse: Warehouse) -> None:
    """The coordinator's row paths raise: its connection's streams, the Arrow export and
    the one-process read."""
    monkeypatch.setattr(warehouse, "stream_batches", no_rows_here)
    monkeypatch.setattr(warehouse, "fetch_arrow", no_rows_here)
    monkeypatch.setattr(Dialect, "export_shards", no_rows_here)
    monkeypatch.setattr(sync_worker, "read_latest", no_rows_here)


def table_gone(warehouse: Warehouse, relation: str) -> bool:
    try:
        warehouse.fetch_all(f"select count(*) from {relation}")
    except WarehouseError as exc:
        return "does not exist" in str(exc).lower() or "not found" in str(exc).lower()
    return False


@pytest.mark.parametrize("workers", [2, 3])
def test_snowflake_workers_read_their_shards_over_their_own_connections(
        snowflake_project, dynamodb_table, monkeypatch, workers):
    client, table = dynamodb_table
    single = f"{table[:200]}_one"
    ensure_table(client, single, ttl=False)
    options = SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0), batch_size=7)
    try:
        with Warehouse(snowflake_project) as warehouse:
            expected = warehouse_latest(warehouse, TXNS)  # (before a `create schema`)
            one = sync_view(warehouse, store_for(client, single), TXNS, options)
            ThreadWorker.started = []
            monkeypatch.setattr(shard_workers, "start_worker", ThreadWorker)
            connections = Connections(monkeypatch)
            forbid_coordinator_rows(monkeypatch, warehouse)
            sharded = sync_view(warehouse, store_for(client, table), TXNS,
                                dataclasses.replace(options, workers=workers))
            relation = connections.opened[0]["relation"]
            assert table_gone(warehouse, relation)
            run_id = sync_state.load(warehouse, TXNS.name, TXNS.version,
                                     store_for(client, table).store_id()).run_id
            idle = sync_view(warehouse, store_for(client, table), TXNS,
                             dataclasses.replace(options, workers=workers))
            assert (idle.rows_read, idle.written) == (0, 0)  # nothing new: no worker
            idle_run = sync_state.load(warehouse, TXNS.name, TXNS.version,
                                       store_for(client, table).store_id()).run_id
            assert idle_run != run_id
            assert table_gone(warehouse, shard_sources.table_name(warehouse, idle_run))
        assert (sharded.rows_read, sharded.written, sharded.mode) == (
            one.rows_read, one.written, one.mode) == (USERS, USERS, one.mode)
        assert sharded.mode == "first load (BatchWriteItem)"
        got, want = dynamodb_items(client, table, TXNS), dynamodb_items(client, single, TXNS)
        assert {pk: item[:2] for pk, item in got.items()} == {
            pk: item[:2] for pk, item in want.items()} == expected
        opened = connections.opened
        assert len(opened) >= 2
        assert len({id(seen["warehouse"]) for seen in opened}) == len(opened)
        assert len({seen["thread"] for seen in opened}) == len(opened)  # one a worker
        assert sum(seen["rows"] for seen in opened) == USERS  # every row read by a worker
        shards = [int(sql.rsplit("= ", 1)[1]) for seen in opened for sql in seen["sql"]]
        assert sorted(shards) == sorted(set(shards))  # each shard read once, by one worker
        assert relation.lower().endswith(f"{shard_sources.TABLE_PREFIX}{run_id}")
        assert len(ThreadWorker.started) == workers - 1
        assert all(SECRET.encode() not in data for data in ThreadWorker.started)
    finally:
        client.delete_table(TableName=single)


def test_the_shard_table_is_dropped_when_a_worker_fails(snowflake_project, dynamodb_table,
                                                         monkeypatch):
    client, table = dynamodb_table
    with Warehouse(snowflake_project) as warehouse:
        warehouse.execute("update fs_user__transactions set last_txn_amount = ? "
                          "where user_id = 17", [float("inf")])
        monkeypatch.setattr(shard_workers, "start_worker", ThreadWorker)
        connections = Connections(monkeypatch)
        forbid_coordinator_rows(monkeypatch, warehouse)
        with pytest.raises(FeatureStoreError) as error:
            sync_view(warehouse, store_for(client, table), TXNS,
                      SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0), batch_size=7,
                                  workers=2))
        assert ("view `user_transactions`" in str(error.value)
                and "inf cannot be stored in DynamoDB (NaN and infinity have no DynamoDB "
                "number); fix the model or make it null" in str(error.value))
        assert connections.opened
        assert table_gone(warehouse, connections.opened[0]["relation"])


def test_a_killed_coordinators_shard_table_is_dropped_by_the_next_sync(
        snowflake_project, dynamodb_table):
    """What a SIGKILL of the coordinator leaves: its transient table, and its sync state
    row still ``running`` under its run id. The next sync of the view version, in shards
    or not, drops that table; a finished run's id names nothing to drop."""
    client, table = dynamodb_table
    store = store_for(client, table)
    options = SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0), batch_size=7)
    with Warehouse(snowflake_project) as warehouse:
        killed = shard_sources.table_name(warehouse, "deadbeef0001")
        relation = warehouse.view_relation(TXNS)  # (before the store's `create schema`)
        warehouse.ensure_store_schema()
        warehouse.execute(f"create transient table {killed} as "
                          f"select *, 0 as _fs_shard from {relation}")
        sync_state.save(warehouse, sync_state.SyncState(
            TXNS.name, TXNS.version, store.store_id(), run_id="deadbeef0001",
            status="running", started_at=dt.datetime(2026, 1, 1)))
        assert not table_gone(warehouse, killed)
        result = sync_view(warehouse, store, TXNS, options)
        assert table_gone(warehouse, killed)
        assert result.rows_read == USERS
        done = sync_state.load(warehouse, TXNS.name, TXNS.version, store.store_id())
        assert (done.status, done.run_id != "deadbeef0001") == ("ok", True)
        assert shard_sources.drop_leftover(warehouse, done) is None
