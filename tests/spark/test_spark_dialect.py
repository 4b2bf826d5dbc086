"""The Spark dialect without Spark: statement spelling, the target's wiring, the profile.

No JVM here, so these run in `make test` with the rest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from featurestore.dialects import for_target
from featurestore.dialects.spark import Spark, quote, session_config, spark_statement

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_transaction_boundaries_are_skipped():
    for sql in ("begin transaction", "BEGIN", "commit", "rollback;"):
        assert spark_statement(sql).kind == "skip"


def test_varchar_without_a_length_is_a_string():
    statement = spark_statement("create table if not exists s.t (a varchar not null, "
                                "b VARCHAR, c varchar(10), d integer)")
    assert statement.kind == "sql"
    assert statement.sql == ("create table if not exists s.t (a string not null, "
                             "b string, c varchar(10), d integer)")


def test_a_delete_is_read_as_its_table_and_condition():
    statement = spark_statement("delete from featurestore.sync_state where view_name = ? "
                                "and (online_store = ? or online_store is null)")
    assert (statement.kind, statement.table, statement.where) == (
        "delete", "featurestore.sync_state",
        "view_name = ? and (online_store = ? or online_store is null)")


def test_add_column_is_add_columns():
    assert spark_statement("alter table s.t add column horizon timestamp").sql == (
        "alter table s.t add columns (horizon timestamp)")


def test_identifiers_are_backticked():
    assert quote("a`b") == "`a``b`"
    spark = for_target("spark")
    assert isinstance(spark, Spark) and spark.macro_dialect == "spark"
    assert (spark.column("user_id"), spark.alias("User_Id")) == ("`user_id`", "`User_Id`")


def test_the_dialect_imports_no_spark():
    code = ("import sys; import featurestore.dialects.spark, featurestore.warehouse; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("memory", ["2g", "512m"])
def test_the_profile_starts_spark_as_featurestore_does(tmp_path, monkeypatch, memory):
    """dbt-spark starts the session when dbt runs first, featurestore when it does: both
    from the same settings, the repository's spark target as dbt renders it."""
    from featurestore.project import Project

    for name in ("DBT_TARGET", "DBT_PROFILES_DIR", "DBT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FEATURESTORE_TARGET", "spark")
    monkeypatch.setenv("FEATURESTORE_SPARK_DIR", str(tmp_path))
    monkeypatch.setenv("FEATURESTORE_SPARK_DRIVER_MEMORY", memory)
    target = Project(REPO_ROOT).dbt_target
    assert (target.type, target.notes) == ("spark", [])
    assert target.credentials.server_side_parameters == session_config(tmp_path, memory)
