"""feature_timeline on Spark gives DuckDB's validity intervals for the same rows: the
shared shape with Spark's corrections step (row_number in a subquery, no QUALIFY)."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from featurestore.sql_render import render_feature_timeline
from tests.offline.pit_reference import assert_same_rows
from tests.offline.test_pit_property import VIEW_A, VIEW_B

from .conftest import load_rows

pytestmark = [pytest.mark.spark, pytest.mark.slow]

T = datetime(2024, 1, 1)
ROWS_A = [  # k, feature_ts, created_ts, x, y: a correction, an unknown created_ts, a gap
    (1, T, T, 1, "p"),
    (1, T, T + timedelta(minutes=5), 2, "q"),  # the correction wins
    (1, T + timedelta(minutes=1), None, 3, None),
    (1, T + timedelta(minutes=1), T + timedelta(minutes=2), 4, "r"),  # known beats unknown
    (2, T + timedelta(hours=3), T + timedelta(hours=3), 5, "p"),
    (None, T, T, 6, "q"),
]
ROWS_B = [("1", "23", T, 7), ("12", "3", T, 8), ("12", "3", T + timedelta(days=2), 9)]


@pytest.mark.parametrize(("spec", "relation", "schema", "rows", "ddl"), [
    (VIEW_A, "tl_rows_a", "k bigint, feature_ts timestamp_ntz, created_ts timestamp_ntz, "
     "x bigint, y string", ROWS_A, "k bigint, feature_ts timestamp, created_ts timestamp, "
     "x bigint, y varchar"),
    (VIEW_B, "tl_rows_b", "k1 string, k2 string, ts timestamp_ntz, z bigint", ROWS_B,
     "k1 varchar, k2 varchar, ts timestamp, z bigint"),
])
def test_spark_timeline_equals_duckdb(spark, spec, relation, schema, rows, ddl):
    load_rows(spark, relation, schema, rows)
    got = [tuple(r) for r in spark.sql(render_feature_timeline("spark", relation, spec)).collect()]
    with duckdb.connect() as con:
        con.execute(f"create table {relation} ({ddl})")
        con.executemany(f"insert into {relation} values ({', '.join('?' * len(rows[0]))})", rows)
        expected = con.execute(render_feature_timeline("duckdb", relation, spec)).fetchall()
    assert len(expected) == (4 if spec is VIEW_A else 3)
    assert_same_rows(got, expected, f"spark timeline of {spec['name']}")
