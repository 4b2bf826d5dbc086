"""On-demand features in a training set on Spark: the demo's txn_context over the Spark
demo (tests/spark/conftest.py `spark_demo`) equals DuckDB's, exactly (its expressions
use no transcendental function, where Spark's Java math may differ by one ulp)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from featurestore.project import Project

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
FEATURES = "txn_context,user_transactions:txn_count_7d"
ON_DEMAND = ["txn_context__amount_over_avg_30d", "txn_context__amount_minus_avg_7d",
             "txn_context__local_hour", "txn_context__is_foreign"]


def _spine(demo_project, aware: bool) -> pa.Table:
    """Every seventh labelled transaction, with its request fields; ``aware``: the
    transaction time as a timezone-aware column (its instant must be what counts)."""
    import duckdb

    # timezone('UTC', naive) is the aware instant of a naive UTC time (timestamptz)
    txn_ts = "timezone('UTC', txn_ts)" if aware else "txn_ts"
    with duckdb.connect(str(demo_project.duckdb_path), read_only=True) as con:
        return con.sql(f"select transaction_id, user_id, event_ts, amount, {txn_ts} as "
                       "txn_ts, merchant_country from main.fraud_labels "
                       "where transaction_id % 7 = 0 order by transaction_id").to_arrow_table()


def _by_id(table: pa.Table) -> dict:
    rows = table.select(["transaction_id", *ON_DEMAND]).to_pylist()
    return {row.pop("transaction_id"): row for row in rows}


@pytest.mark.parametrize("aware", [False, True], ids=["naive", "aware"])
def test_on_demand_features_on_spark_equal_duckdb(spark_demo, demo_project, monkeypatch,
                                                  aware):
    from featurestore.training import build_training_set

    spine = _spine(demo_project, aware)
    demo_project.activate(monkeypatch)
    expected = build_training_set(Project(REPO_ROOT), spine, FEATURES).table
    for name, value in spark_demo.items():
        monkeypatch.setenv(name, value)
    got = build_training_set(Project(REPO_ROOT), spine, FEATURES).table
    assert got.column_names == expected.column_names
    assert got.column_names[-4:] == ON_DEMAND
    assert "user_transactions__txn_amount_avg_30d" not in got.column_names
    want, have = _by_id(expected), _by_id(got)
    assert len(have) == spine.num_rows > 500
    assert have == want
    assert sum(r["txn_context__amount_over_avg_30d"] is not None for r in have.values()) > 100
