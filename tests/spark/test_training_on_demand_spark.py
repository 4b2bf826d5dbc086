"""On-demand features in a training set on Spark, over the Spark demo (tests/spark/
conftest.py `spark_demo`).

Each value equals, exactly, what the lookup's evaluator computes from the same row's
request fields and inputs as Spark joined them (txn_context uses no transcendental
function, where Java's math may differ by one ulp). Against DuckDB's training set the
values agree to 9 significant digits, as tests/spark/test_demo_spark.py compares the
stored features: the feature models' averages are summed in another order on Spark, so
their last bits, and so the expressions' inputs, differ."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from featurestore.project import Project

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
FEATURES = ("txn_context,user_transactions:txn_amount_avg_30d,"
            "user_transactions:txn_amount_avg_7d,user_profile:country")
INPUTS = {"txn_amount_avg_30d": "user_transactions__txn_amount_avg_30d",
          "txn_amount_avg_7d": "user_transactions__txn_amount_avg_7d",
          "home_country": "user_profile__country"}
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
    rows = table.to_pylist()
    return {row["transaction_id"]: row for row in rows}


def _rounded(row: dict) -> dict:
    return {c: float(f"{v:.9g}") if isinstance(v, float) else v
            for c, v in row.items() if c in ON_DEMAND}


@pytest.mark.parametrize("aware", [False, True], ids=["naive", "aware"])
def test_on_demand_features_on_spark_are_the_lookups_values_of_its_rows(
        spark_demo, demo_project, monkeypatch, aware):
    from featurestore.training import build_training_set

    spine = _spine(demo_project, aware)
    demo_project.activate(monkeypatch)
    expected = build_training_set(Project(REPO_ROOT), spine, FEATURES).table
    for name, value in spark_demo.items():
        monkeypatch.setenv(name, value)
    project = Project(REPO_ROOT)
    got = build_training_set(project, spine, FEATURES).table
    assert got.column_names == expected.column_names
    assert got.column_names[-4:] == ON_DEMAND
    view = project.catalog().on_demand["txn_context"]
    have = _by_id(got)
    assert len(have) == spine.num_rows > 400
    for row in have.values():
        inputs = {"amount": row["amount"], "txn_ts": row["txn_ts"],
                  "merchant_country": row["merchant_country"],
                  **{name: row[column] for name, column in INPUTS.items()}}
        computed = {f"txn_context__{f.name}": f.expression.evaluate(inputs)
                    for f in view.features}
        assert {c: row[c] for c in ON_DEMAND} == computed, row["transaction_id"]
    assert sum(r["txn_context__amount_over_avg_30d"] is not None for r in have.values()) > 100
    want = _by_id(expected)
    assert {k: _rounded(r) for k, r in have.items()} == {k: _rounded(r) for k, r in want.items()}
