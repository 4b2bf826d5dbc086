"""The sync's reader and state on Snowflake: fakesnow runs the statements, sqlglot's
Snowflake dialect parses every statement the worker sends."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot

from featurestore.dialects import for_target
from featurestore.errors import WarehouseError
from featurestore.project import Project
from featurestore.sync import state as sync_state
from featurestore.sync.reader import ReadPlan, high_water_sql, latest_rows_sql, read_latest
from featurestore.warehouse import Warehouse
from tests.online.conftest import TXNS

T = dt.datetime(2026, 1, 1)
SNOWFLAKE = for_target("snowflake")
PLAN = ReadPlan(as_of=T + dt.timedelta(days=1), watermark=T + dt.timedelta(hours=1),
                previous_as_of=T, lookback=dt.timedelta(minutes=10))


@pytest.mark.parametrize("plan", [PLAN, ReadPlan(as_of=T, watermark=None, previous_as_of=None)])
def test_reader_sql_parses_as_snowflake(plan):
    sql = latest_rows_sql(TXNS, '"DB"."FS"."FS_USER__TRANSACTIONS"', plan, SNOWFLAKE)
    tree = sqlglot.parse_one(sql, read="snowflake")
    assert tree.find(sqlglot.exp.Qualify) is not None
    assert '"USER_ID" AS "user_id"' in tree.sql(dialect="snowflake")
    as_of = plan.as_of.isoformat(sep=" ", timespec="microseconds")
    assert f"CAST('{as_of}' AS TIMESTAMP)" in tree.sql(dialect="snowflake")
    sqlglot.parse_one(high_water_sql(TXNS, "t", T, SNOWFLAKE), read="snowflake")


@pytest.fixture
def snowflake_project(online_project, monkeypatch):
    fakesnow = pytest.importorskip("fakesnow")
    for name, value in {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "u",
                        "SNOWFLAKE_PASSWORD": "p", "SNOWFLAKE_DATABASE": "DB",
                        "SNOWFLAKE_SCHEMA": "FS", "FEATURESTORE_TARGET": "snowflake"}.items():
        monkeypatch.setenv(name, value)
    with fakesnow.patch():
        yield Project(online_project.root)


def test_missing_env_vars_are_named(online_project, monkeypatch):
    monkeypatch.setenv("FEATURESTORE_TARGET", "snowflake")
    for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD",
                 "SNOWFLAKE_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SNOWFLAKE_USER", "me")
    with pytest.raises(WarehouseError) as error:
        Warehouse(Project(online_project.root)).execute("select 1")
    assert str(error.value) == (
        f"target `snowflake` of profile `online_test` ({online_project.root}/profiles.yml): "
        "account, database, password (or authenticator, private_key_path) empty. Set them in "
        "the profile (this repository's reads SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, "
        "SNOWFLAKE_PASSWORD, SNOWFLAKE_DATABASE, ...), or pick another target with --target."
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_latest_rows_stream_from_snowflake(snowflake_project):
    warehouse = Warehouse(snowflake_project)
    warehouse.execute("create database if not exists DB")
    warehouse.execute("create schema if not exists DB.FS")
    warehouse.execute(
        "create table fs_user__transactions (user_id number(38,0), feature_ts timestamp_ntz, "
        "loaded_at timestamp_ntz, txn_count_1h number(38,0), txn_count_7d number(38,0), "
        "txn_count_30d number(38,0), txn_amount_sum_1h float, txn_amount_sum_7d float, "
        "txn_amount_sum_30d float, txn_amount_avg_7d float, txn_amount_avg_30d float, "
        "last_txn_amount float)"
    )
    rows = [(1, T, T, 1), (1, T + dt.timedelta(hours=3), T + dt.timedelta(hours=3), 2),
            (2, T, T, 3), (3, T + dt.timedelta(days=5), T, 4)]
    for user, ts, loaded, n in rows:
        warehouse.execute("insert into fs_user__transactions values "
                          "(?, ?, ?, ?, 0, 0, 0.5, 0, 0, null, 0, ?)",
                          [user, ts, loaded, n, n * 1.5])
    relation = warehouse.model_relation("fs_user__transactions")
    full = ReadPlan(as_of=T + dt.timedelta(days=1), watermark=None, previous_as_of=None)
    batches = list(read_latest(warehouse, TXNS, relation, full, batch_size=1))
    got = sorted((r["user_id"], r["feature_ts"], r["txn_count_1h"], r["last_txn_amount"])
                 for batch in batches for r in batch)
    assert [len(b) for b in batches] == [1, 1]
    assert got == [(1, T + dt.timedelta(hours=3), 2, 3.0), (2, T, 3, 4.5)]
    incremental = ReadPlan(as_of=T + dt.timedelta(days=1), watermark=T + dt.timedelta(hours=1),
                           previous_as_of=T + dt.timedelta(hours=1))
    changed = [r["user_id"] for b in read_latest(warehouse, TXNS, relation, incremental)
               for r in b]
    assert changed == [1]

    state = sync_state.load(warehouse, "user_transactions", 1)
    state.watermark, state.status = T, "ok"
    sync_state.save(warehouse, state)
    assert sync_state.load(warehouse, "user_transactions", 1).watermark == T


def test_shard_sql_parses_as_snowflake():
    from featurestore.sync.shards import sharded_sql

    sql = sharded_sql(TXNS, '"DB"."FS"."FS_USER__TRANSACTIONS"', PLAN, SNOWFLAKE, 8)
    tree = sqlglot.parse_one(sql, read="snowflake")
    assert 'ABS(HASH("user_id")) % 8 AS _fs_shard' in tree.sql(dialect="snowflake")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_shards_are_staged_in_a_snowflake_table(snowflake_project):
    """Where a sync in shards keeps its rows on Snowflake: one transient table, which a
    worker reads a shard of over its own connection; every user in exactly one shard,
    with its latest row; the table dropped when the block ends."""
    from featurestore.sync import shard_sources

    warehouse = Warehouse(snowflake_project)
    warehouse.execute("create database if not exists DB")
    warehouse.execute("create schema if not exists DB.FS")
    warehouse.execute(
        "create table fs_user__transactions (user_id number(38,0), feature_ts timestamp_ntz, "
        "loaded_at timestamp_ntz, txn_count_1h number(38,0), txn_count_7d number(38,0), "
        "txn_count_30d number(38,0), txn_amount_sum_1h float, txn_amount_sum_7d float, "
        "txn_amount_sum_30d float, txn_amount_avg_7d float, txn_amount_avg_30d float, "
        "last_txn_amount float)")
    for user in range(1, 41):
        for hours in (0, 2):
            warehouse.execute("insert into fs_user__transactions values "
                              "(?, ?, ?, ?, 0, 0, 0.5, 0, 0, null, 0, 1.5)",
                              [user, T + dt.timedelta(hours=hours), T, user * 10 + hours])
    relation = warehouse.model_relation("fs_user__transactions")
    full = ReadPlan(as_of=T + dt.timedelta(days=1), watermark=None, previous_as_of=None)
    with shard_sources.staged(warehouse, TXNS, relation, full, 3, "run1") as rows:
        assert rows.table.relation == "featurestore.fs_sync_shards_run1"
        assert (rows.directory, rows.empty) == ("", False)
        with shard_sources.reader("", rows.table, 100) as read:
            found = {shard: [(r["user_id"], r["txn_count_1h"]) for batch in read(shard)
                             for r in batch] for shard in range(3)}
    every = sorted(row for rows in found.values() for row in rows)
    assert every == [(user, user * 10 + 2) for user in range(1, 41)]
    assert all(found.values())  # 40 users fill all three shards
    with pytest.raises(WarehouseError, match="FS_SYNC_SHARDS_RUN1 does not exist"):
        warehouse.execute("select count(*) from featurestore.fs_sync_shards_run1")
