"""Fixtures of the Spark tests: one local SparkSession for the whole run.

These tests start a JVM (about 8 s) and run each query through Spark's planner, so each
module is marked `spark` and runs as its own bounded CI step (`make test-spark`), not in
`make test`. The session is featurestore's own (featurestore/dialects/spark.py), with a
driver of 2 GiB and its catalog in a temporary folder, and one setting of the tests' own:
PARSER_CACHES.
"""

from __future__ import annotations

import os

import pytest

# Spark's SQL parser (ANTLR) keeps a DFA cache of every shape of text it has parsed, in
# the JVM, never emptied by default. The on-demand parity test parses hundreds of novel,
# deeply nested expressions: a minute into 45 queries of nine expressions the cache held
# 6.5 million ATNConfig objects and 63,000 DFA states (over 450 MB live, jcmd
# GC.class_histogram), and after 20 such queries the heap held 978 MiB after a
# System.gc(), 90 MiB with these settings (Spark empties the cache after a parse once its
# estimated size passes 10% of the driver's memory): the largest thing live in the heap
# (measured alone), so the likely cause of the 147 full GCs when 10,125 cases followed the
# Spark demo; the Spark step with these settings ran its 10,000 with no full GC. A
# setting of the tests, not a featurestore default: the cache is what makes a text parsed
# before fast to parse again (20 queries parsed a second time: 15 s against 135 s the
# first time, load 9 to 12), and dbt parses the same model texts every cycle.
PARSER_CACHES = {"spark.sql.parser.manageParserCaches": "true",
                 "spark.sql.parser.parserDfaCacheFlushRatio": "10"}


@pytest.fixture(scope="session")
def spark_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="session")
def spark(spark_dir):
    """The session (shared with dbt-spark when a test runs dbt in this process). The JVM
    reads its environment once, at start: the canary variable (tests/hostile_text.py) is
    set before, so that a `${env:...}` Spark substituted would show its value."""
    pytest.importorskip("pyspark", reason="the Spark tests need the spark extra: "
                        "pip install 'featurestore[spark]'")
    from featurestore.dialects.spark import session_config, start_session
    from tests.hostile_text import CANARY_VALUE, CANARY_VAR

    os.environ[CANARY_VAR] = CANARY_VALUE
    return start_session({**session_config(spark_dir, driver_memory="2g"), **PARSER_CACHES})


def load_rows(spark, name: str, schema: str, rows: list[tuple]) -> None:
    """A temporary view `name` with ``rows`` (tuples in ``schema``'s DDL order)."""
    spark.createDataFrame(rows, schema=schema).createOrReplaceTempView(name)


RAW_TABLES = ("users", "profile_updates", "merchants", "devices", "transactions",
              "chargebacks", "refunds")


@pytest.fixture(scope="session")
def spark_demo(demo_project, spark, spark_dir, tmp_path_factory):
    """The demo built on Spark (tests/spark/test_demo_spark.py): the DuckDB demo's raw
    tables lent to Spark through Arrow, then `dbt build` on Spark. Yields the environment
    that points featurestore at it; its landing folder is its own, empty (the raw rows
    came from DuckDB, so Spark's ingest ledger knows none of the demo's files)."""
    import duckdb

    from featurestore.dbt_runner import run_dbt
    from featurestore.project import Project
    from tests.conftest import REPO_ROOT

    with duckdb.connect(str(demo_project.duckdb_path), read_only=True) as con:
        spark.sql("create database if not exists raw")
        for table in RAW_TABLES:
            rows = con.sql(f"select * from raw.{table}").to_arrow_table()
            spark.createDataFrame(rows).write.mode("overwrite").saveAsTable(f"raw.{table}")
    base = tmp_path_factory.mktemp("spark_demo")
    (base / "landing").mkdir()
    env = {**demo_project.env, "FEATURESTORE_TARGET": "spark",
           "FEATURESTORE_SPARK_DIR": str(spark_dir), "DBT_TARGET_PATH": str(base / "target"),
           "FEATURESTORE_LANDING_DIR": str(base / "landing"),
           "FEATURESTORE_INGEST_SETTLE": "0"}  # files here are written whole before a cycle
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        run_dbt(Project(REPO_ROOT), ["build", "--select", "staging", "features", "training",
                                     "--exclude", "staging.serving",
                                     "--log-path", str(base / "logs")])
    return env
