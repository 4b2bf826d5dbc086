"""Contract text and column names on Spark: exactly themselves, never substituted.

Spark reads a backslash in a string literal as an escape, and (unless a session turns
`spark.sql.variable.substitute` off) replaces `${env:NAME}`, `${spark:...}` and
`${system:...}` anywhere in a statement's text, quoted names included. So here:
the Spark dialect's literals and the portable ones read back as the text, with
substitution on and off; a contract default `${env:...}` reaches a training row
verbatim, and featurestore's session substitutes nothing; a spine's event time column
may have any name; the quality gate compares hostile allowed values as text; and a
gated sync publishes a view that passes and holds back one that does not.

The canary variable is in the JVM's environment (tests/spark/conftest.py): a
substituted `${env:...}` would show its value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.dialects.spark import Spark
from featurestore.dtypes import sql_literal
from featurestore.project import Project
from tests.conftest import write_dbt_project
from tests.core.test_contract_text import sql_text
from tests.hostile_text import CANARY_VALUE, kept_text, yaml_quoted

pytestmark = [pytest.mark.spark, pytest.mark.slow]

T = dt.datetime(2026, 3, 1, 12)
TABLE = "main.spark_text_rows"
DEFAULT = "${env:FEATURESTORE_TEST_CANARY} it's a \\ ${spark:spark.app.name} ${X} \\'"
ENTITIES = "entities:\n  - name: user\n    join_keys: [{name: user_id, dtype: int64}]\n"
VIEW = f"""name: spark_text
version: 1
entity: user
source: spark_text_rows
timestamp: feature_ts
ttl: 30d
online: true
owner: tests
description: Hostile text on Spark.
features:
  - name: channel
    dtype: string
    default: {yaml_quoted(DEFAULT)}
    sensitivity: internal
    allowed_values: [web, ios]
    description: Where the user signed up.
"""


def _write_rows(spark, rows: list[tuple]) -> None:
    spark.sql("create database if not exists main")
    spark.createDataFrame(rows, schema="user_id bigint, feature_ts timestamp_ntz, "
                          "channel string").write.mode("overwrite").saveAsTable(TABLE)


@pytest.fixture(scope="module")
def text_project(tmp_path_factory, spark, spark_dir):
    """A project with one view on Spark: user 1 has a row (`web` at T), user 2 none."""
    root = tmp_path_factory.mktemp("spark_text")
    (root / "feature_defs").mkdir()
    (root / "feature_defs" / "entities.yml").write_text(ENTITIES)
    (root / "feature_defs" / "spark_text.yml").write_text(VIEW)
    write_dbt_project(root, "spark_text")
    _write_rows(spark, [(1, T, "web")])
    return root


@pytest.fixture
def on_spark(text_project, spark_dir, monkeypatch) -> Project:
    for name in ("DBT_TARGET_PATH", "FEATURESTORE_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEATURESTORE_TARGET", "spark")
    monkeypatch.setenv("FEATURESTORE_SPARK_DIR", str(spark_dir))
    return Project(text_project)


@settings(max_examples=25, deadline=None)
@given(texts=st.lists(sql_text, min_size=1, max_size=10))
def test_literals_read_back_as_the_text_with_substitution_on_and_off(spark, texts):
    """A Spark query costs tens of milliseconds: one example is up to ten texts, each as
    the Spark dialect's literal and as the portable one, in one select per setting."""
    literals = [f(text) for text in texts
                for f in (lambda t: Spark().literal("string", t), sql_literal_of)]
    select = ", ".join(f"{literal} as c{i}" for i, literal in enumerate(literals))
    try:
        for substitute in ("true", "false"):
            spark.conf.set("spark.sql.variable.substitute", substitute)
            (row,) = spark.sql(f"select {select}").collect()
            assert list(row) == [text for text in texts for _ in range(2)], substitute
    finally:
        spark.conf.set("spark.sql.variable.substitute", "false")


def sql_literal_of(text: str) -> str:
    return sql_literal("string", text)


def test_a_default_reaches_a_training_row_verbatim(on_spark, spark):
    from featurestore.training import build_training_set

    spark.conf.set("spark.sql.variable.substitute", "true")  # as another caller left it
    spine = pa.table({"user_id": [1, 2], "event_ts": pa.array([T, T], pa.timestamp("us"))})
    rows = build_training_set(on_spark, spine, "spark_text").table.to_pylist()
    assert sorted((r["user_id"], r["spark_text__channel"]) for r in rows) == [
        (1, "web"), (2, DEFAULT)]
    assert CANARY_VALUE not in json.dumps(rows, default=str)
    # featurestore's session substitutes nothing, whoever started it
    assert spark.conf.get("spark.sql.variable.substitute") == "false"


# each name once, half of them on a naive spine and half on an aware one
EVENT_NAMES = {False: ["event-ts", "a`b", "line\nbreak", "${env:FEATURESTORE_TEST_CANARY}"],
               True: ['a"b', "a.b", "sel ect", "é日本"]}


@pytest.mark.parametrize("aware", [False, True], ids=["naive", "aware"])
def test_the_event_time_column_may_have_any_name(on_spark, aware):
    from featurestore.training import build_training_set

    zone = "UTC" if aware else None
    for name in EVENT_NAMES[aware]:
        times = pa.array([T + dt.timedelta(hours=1)] * 2, pa.timestamp("us", tz=zone))
        spine = pa.table({"user_id": [1, 2], name: times})
        table = build_training_set(on_spark, spine, "spark_text", event_ts=name).table
        assert table.column_names == ["user_id", name, "spark_text__channel",
                                      "spark_text__feature_ts"], name
        rows = sorted(table.to_pylist(), key=lambda r: r["user_id"])
        assert [r[name].replace(tzinfo=None) for r in rows] == [T + dt.timedelta(hours=1)] * 2
        assert [r["spark_text__channel"] for r in rows] == ["web", DEFAULT], name
        feature_ts = [r["spark_text__feature_ts"] for r in rows]
        assert [v and v.replace(tzinfo=None) for v in feature_ts] == [T, None], name


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(allowed=st.lists(kept_text, min_size=1, max_size=5, unique=True))
def test_hostile_allowed_values_are_compared_as_text_in_the_quality_sql(
        on_spark, spark, allowed):
    """Rows holding exactly an allowed value are allowed; the same plus one letter not."""
    from featurestore.gates.quality import quality_metrics
    from featurestore.warehouse import Warehouse

    view = on_spark.catalog().view("spark_text")
    channel = view.feature("channel")
    view = dataclasses.replace(view, features=(
        dataclasses.replace(channel, allowed_values=("web", *allowed)),))
    outside = allowed[0] + "x" if allowed[0] + "x" not in allowed else allowed[0] + "y"
    _write_rows(spark, [(i, T, text) for i, text in enumerate([*allowed, outside], start=1)])
    with Warehouse(on_spark) as warehouse:
        values = quality_metrics(warehouse, view)["values(channel)"]
    assert values[0] == outside  # the one value outside the list comes first
    assert sorted(values[1:]) == sorted(allowed)


def test_a_gated_sync_publishes_what_passes_and_holds_back_what_does_not(
        on_spark, spark, dynamodb_local, dynamodb_table, monkeypatch):
    from featurestore.sync.run import online_views, sync_views
    from featurestore.sync.worker import SyncOptions
    from featurestore.warehouse import Warehouse

    client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    on_spark = Project(on_spark.root)  # settings are read when a project is made
    views = online_views(on_spark.catalog(), ["spark_text"])
    as_of = T + dt.timedelta(days=1)

    _write_rows(spark, [(1, T, "web"), (2, T, "ios")])
    run = sync_views(on_spark, views, SyncOptions(as_of=as_of), gate=True)
    assert run.refused == {} and [r.written for r in run.results] == [2]

    _write_rows(spark, [(1, T + dt.timedelta(hours=1), "web'; --"), (2, T, "ios")])
    run = sync_views(on_spark, views, SyncOptions(as_of=as_of), gate=True)
    (failures,) = run.refused.values()
    assert any("values(channel)" in line and "web'; --" in line for line in failures), failures
    assert run.results == []
    item = client.get_item(TableName=table, Key={"pk": {"S": "user#1"},
                                                 "sk": {"S": "spark_text#v1"}})["Item"]
    assert item["channel"] == {"S": "web"}  # the refused value never reached DynamoDB
    with Warehouse(on_spark) as warehouse:  # the verdicts, recorded on Spark
        recorded = warehouse.fetch_all(
            "select passed, observed from featurestore.gate_results where view = ? and "
            "expectation = 'values(channel)' order by run_at", ["spark_text"])
    assert [passed for passed, _ in recorded] == [True, False]
    assert "web'; --" in recorded[1][1]


@pytest.mark.parametrize("name", ["spine.parquet", "spine.pq", "spine[1].parquet",
                                  "spine{a,b}.parquet"])
def test_a_spine_file_is_read_as_itself_whatever_its_name(on_spark, tmp_path, name):
    """A Parquet spine Spark reads in place (``Spark.file_relation``), unless its name
    holds a character Spark's file reader takes as a glob pattern: then through Arrow,
    so the rows are this file's, as the manifest's hash says."""
    import pyarrow.parquet as pq

    from featurestore.spine import file_sha256
    from featurestore.training import build_training_set

    spine = pa.table({"user_id": [1, 2], "event_ts": pa.array([T, T], pa.timestamp("us"))})
    pq.write_table(spine, tmp_path / name)
    decoy = pa.table({"user_id": [9], "event_ts": pa.array([T], pa.timestamp("us"))})
    pq.write_table(decoy, tmp_path / "spine1.parquet")  # what `spine[1]` would match
    result = build_training_set(on_spark, tmp_path / name, "spark_text")
    assert sorted(r["user_id"] for r in result.table.to_pylist()) == [1, 2]
    assert result.manifest["spine"]["sha256"] == file_sha256(tmp_path / name)
