"""The fingerprint of a built state on Spark (gates/verdicts.py): the same rows in any
order give the same fingerprint; a changed value, a repeated row, or a null moved from
one column to another (Spark's hashes skip null arguments) give another."""

from __future__ import annotations

import pytest

from featurestore.dialects.spark import Spark, quote
from tests.spark.conftest import load_rows

pytestmark = pytest.mark.spark
SCHEMA = "k bigint, a string, b string, x double"
ROWS = [(1, "a", None, 1.5), (2, None, "a", 2.5), (3, "c", "d", None), (4, "e", "f", -0.5)]


def _fingerprint(spark, name: str, rows: list[tuple]) -> tuple:
    load_rows(spark, name, SCHEMA, rows)
    sql = Spark().fingerprint_sql(name, [quote(c) for c in ("k", "a", "b", "x")])
    row = spark.sql(sql).collect()[0]
    return int(row[0]), str(row[1])


def test_the_spark_fingerprint_ignores_order_and_sees_every_change(spark):
    first = _fingerprint(spark, "fp_rows", ROWS)
    assert first[0] == 4
    assert _fingerprint(spark, "fp_reversed", list(reversed(ROWS))) == first
    assert _fingerprint(spark, "fp_repeated", [*ROWS, ROWS[0]]) != first
    assert _fingerprint(spark, "fp_changed", [(1, "a", None, 1.25), *ROWS[1:]]) != first
    # the null moves from b to a, the value from a to b: only the null mask tells them
    moved = [(1, None, "a", 1.5), *ROWS[1:]]
    assert _fingerprint(spark, "fp_moved", moved) != first
    assert _fingerprint(spark, "fp_empty", []) == (0, "0")
