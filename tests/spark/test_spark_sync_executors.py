"""The sync on Spark with ``--workers N``: the executors write (sync/executor_writes.py),
and what they write equals the DuckDB sync item for item; no row reaches the driver."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from featurestore.dialects.spark import Spark
from featurestore.online.client import ensure_table
from featurestore.project import Project
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse
from tests.conftest import REPO_ROOT, write_dbt_project
from tests.online.conftest import AS_OF, T0, TXN_DDL, TXNS, dynamodb_items, insert_txns, txn_row
from tests.online_stores import store_for

pytestmark = pytest.mark.spark
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def online_project(tmp_path, monkeypatch):
    """A project of the repo's contracts whose DuckDB warehouse holds the view's table
    (as tests/online's fixture of that name)."""
    import shutil

    for name in ("FEATURESTORE_DUCKDB_PATH", "FEATURESTORE_TARGET", "DBT_PROFILES_DIR"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(REPO_ROOT / "feature_defs", tmp_path / "feature_defs")
    write_dbt_project(tmp_path, "online_test")
    project = Project(tmp_path)
    with Warehouse(project) as warehouse:
        warehouse.execute(TXN_DDL)
    return project


RELATION, KEPT = "main.fs_user__transactions", "main.fs_user__transactions_kept_by_sync_test"


def rows(users):
    for user in users:
        for i in range(2):
            ts = T0 + i * HOUR
            yield txn_row(user, ts, ts + dt.timedelta(minutes=5), scale=1 + i)


def test_executors_write_what_the_duckdb_sync_writes_and_no_row_reaches_the_driver(
        online_project, spark, spark_dir, dynamodb_table, monkeypatch):
    client, table = dynamodb_table
    other = f"{table[:200]}_duck"
    ensure_table(client, other, ttl=False)
    options = SyncOptions(as_of=AS_OF, lookback=dt.timedelta(0), batch_size=40)
    kept = False
    try:
        with Warehouse(online_project) as warehouse:
            insert_txns(warehouse, rows(range(1, 251)))
            duck = sync_view(warehouse, store_for(client, other), TXNS, options)
            lent = warehouse.fetch_arrow("select * from fs_user__transactions")
        spark.sql("create database if not exists main")
        # the session's warehouse is shared: the Spark demo (conftest `spark_demo`) may
        # hold this relation, and later tests read it, so it is set aside and put back
        kept = spark.catalog.tableExists(RELATION)
        if kept:
            spark.sql(f"alter table {RELATION} rename to {KEPT}")
        spark.createDataFrame(lent).write.mode("overwrite").saveAsTable(RELATION)
        monkeypatch.setenv("FEATURESTORE_TARGET", "spark")
        monkeypatch.setenv("FEATURESTORE_SPARK_DIR", str(spark_dir))
        collected = []
        real = Spark.map_partitions

        def spy(self, *args):
            collected.extend(real(self, *args))
            return collected

        def no_driver_rows(*args, **kwargs):
            raise AssertionError("the sync read rows through the driver")

        monkeypatch.setattr(Spark, "map_partitions", spy)
        monkeypatch.setattr(Spark, "stream_batches", no_driver_rows)
        with Warehouse(Project(online_project.root)) as warehouse:
            assert warehouse.dialect.name == "spark"
            executors = sync_view(warehouse, store_for(client, table), TXNS,
                                  dataclasses.replace(options, workers=2))
        on_duckdb = dynamodb_items(client, other, TXNS)
    finally:
        client.delete_table(TableName=other)
        if kept:
            spark.sql(f"drop table if exists {RELATION}")
            spark.sql(f"alter table {KEPT} rename to {RELATION}")
    # what reached the driver: one tuple of five counts per partition (2 workers x 4)
    assert len(collected) == 8
    assert all(len(counts) == 5 and all(type(n) is int for n in counts)
               for counts in collected)
    assert (executors.rows_read, executors.written) == (duck.rows_read, duck.written) == (
        250, 250)
    assert executors.mode == "conditional (TransactWriteItems)"
    on_spark = dynamodb_items(client, table, TXNS)
    assert {pk: item[:2] for pk, item in on_spark.items()} == {
        pk: item[:2] for pk, item in on_duckdb.items()}
    assert len(on_spark) == 250
