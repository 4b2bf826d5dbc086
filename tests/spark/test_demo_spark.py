"""The demo's feature models on Spark, and the same training set as on DuckDB.

The DuckDB demo warehouse (tests/conftest.py `demo_project`: 200 users x 30 days,
ingested and built) lends its raw tables to a local Spark catalog, through Arrow; then
`dbt build` runs the demo's staging, feature and training models on Spark (dbt-spark's
session method, in this process, so in this session). For the same spine the Spark
training set must equal DuckDB's row for row: the fraud_training_set model, and the
`featurestore training-set` export through the Spark dialect (streamed out as Arrow).
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest

from featurestore.project import Project
from tests.online_stores import store_for

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]


def _rows(table: pa.Table, order: list[str]) -> list[tuple]:
    """Rows as tuples sorted by ``order``; floats rounded to 9 significant digits."""
    def clean(value):
        if isinstance(value, float) and math.isfinite(value):
            return float(f"{value:.9g}")
        return value

    rows = [tuple(clean(v) for v in row.values()) for row in table.to_pylist()]
    positions = [table.column_names.index(name) for name in order]
    return sorted(rows, key=lambda r: tuple((r[i] is None, r[i]) for i in positions))


def test_training_model_equals_duckdb_row_for_row(spark_demo, spark, demo_project):
    import duckdb

    with duckdb.connect(str(demo_project.duckdb_path), read_only=True) as con:
        expected = con.sql("select * from main.fraud_training_set").to_arrow_table()
    got = spark.table("main.fraud_training_set").toArrow()
    assert got.column_names == expected.column_names
    assert got.num_rows == expected.num_rows > 1000
    order = ["transaction_id", "event_ts"]
    assert _rows(got, order) == _rows(expected, order)


def test_built_models_agree_with_their_contracts_on_spark(spark_demo, monkeypatch):
    """What `featurestore build` and `validate` check after dbt: every feature view's
    built columns and types (Spark's bigint, double, string, timestamp_ntz, boolean)."""
    from featurestore.model_check import check_built_models

    for name, value in spark_demo.items():
        monkeypatch.setenv(name, value)
    project = Project(REPO_ROOT)
    problems, _notes = check_built_models(project, project.catalog())
    assert problems == []


FEATURES = "user_transactions,merchant_risk,user_profile,device_seen_before"


def _spine(demo_project) -> pa.Table:
    """Every fifth labelled transaction of the DuckDB demo, as an Arrow spine."""
    import duckdb

    with duckdb.connect(str(demo_project.duckdb_path), read_only=True) as con:
        return con.sql("select transaction_id, user_id, merchant_id, device_id, event_ts "
                       "from main.fraud_labels where transaction_id % 5 = 0 "
                       "order by transaction_id").to_arrow_table()


def test_training_set_export_equals_duckdb(spark_demo, demo_project, tmp_path, monkeypatch):
    """`featurestore training-set` on Spark (the dialect's spine view, the spark body,
    the result streamed out through Arrow into Parquet) gives DuckDB's rows."""
    import pyarrow.parquet as pq

    from featurestore.training import build_training_set

    spine = _spine(demo_project)
    demo_project.activate(monkeypatch)
    expected = build_training_set(Project(REPO_ROOT), spine, FEATURES).table
    for name, value in spark_demo.items():
        monkeypatch.setenv(name, value)
    result = build_training_set(Project(REPO_ROOT), spine, FEATURES,
                                out=tmp_path / "spark_training.parquet")
    got = pq.read_table(tmp_path / "spark_training.parquet")
    assert result.manifest["output"]["rows"] == spine.num_rows
    assert got.column_names == expected.column_names
    order = ["transaction_id"]
    assert _rows(got, order) == _rows(expected, order)


def test_a_spark_built_view_syncs_into_dynamodb_local_and_is_looked_up(
        spark_demo, spark, dynamodb_local, dynamodb_table, monkeypatch):
    """The sync reads the latest rows of a Spark-built view through Arrow in batches,
    writes them into DynamoDB Local, and the lookup serves them."""
    import datetime as dt

    from featurestore.lookup import service
    from featurestore.sync.run import online_views, sync_views
    from featurestore.sync.worker import SyncOptions
    from tests.conftest import DEMO_END

    client, table = dynamodb_table
    for name, value in {**spark_demo, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local,
                        "FEATURESTORE_ONLINE_TABLE": table}.items():
        monkeypatch.setenv(name, value)
    project = Project(REPO_ROOT)
    catalog = project.catalog()
    as_of = dt.datetime.fromisoformat(DEMO_END)
    views = online_views(catalog, ["user_transactions"])
    run = sync_views(project, views, SyncOptions(as_of=as_of, batch_size=50), gate=False)
    view = views[0]
    oldest = as_of - dt.timedelta(seconds=view.ttl_seconds)
    latest = {row["user_id"]: row for row in (r.asDict() for r in spark.sql(
        "select * from main.fs_user__transactions where feature_ts <= ? and feature_ts >= ? "
        "qualify row_number() over (partition by user_id order by feature_ts desc) = 1",
        args=[as_of, oldest]).collect())}
    assert [r.written for r in run.results] == [len(latest)] and len(latest) > 50

    reader = store_for(client, table, deadline_s=5.0)
    users = sorted(latest)[:20]
    requests = [service.entity_request(catalog, "user", [{"user_id": u} for u in users],
                                       ["user_transactions"])]
    outcome = service.lookup(requests, reader, now=as_of)
    for user, result in zip(users, outcome.results[0], strict=True):
        for feature in view.features:
            got = result["features"][f"user_transactions:{feature.name}"]
            assert got["value"] == service.json_value(latest[user][feature.name]), (user, feature)
            assert got["status"] in ("PRESENT", "STALE")
