"""The spine's event time column may have any name: `--event-ts` / `event_ts=` reaches
SQL as a quoted identifier of the warehouse, never as SQL text.

Hypothesis draws hostile names (quotes of every kind, SQL comments, Spark variables,
line breaks, non-ASCII, reserved words) for one column of a small spine; the training
set on DuckDB must equal, row for row, the one built from the same spine with the column
named `event_ts`, naive or timezone-aware, from a DataFrame or a Parquet file. The
Snowflake body is parsed by sqlglot and must compare that very column. (Spark runs the
same on a few names: tests/spark/test_spark_text.py.)
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from featurestore.generate import view_spec
from featurestore.sql_render import render_as_of_join
from featurestore.training import build_training_set
from tests.offline.one_view import ENTITIES, VIEW, one_view_project

T = dt.datetime(2026, 1, 2)
PIECES = ["event-ts", '"', "'", "`", "--", "/*", ";", " ", "${env:HOME}", "${X}", "\\",
          "\n", "é", "日本", "select", "from", "EVENT_TS", ".", "[", "]", "$$"]
# a name the warehouse can hold; `_fs_` is the join's own prefix, refused on purpose
hostile_names = st.lists(st.one_of(st.sampled_from(PIECES), st.text(
    st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=3)),
    min_size=1, max_size=4).map("".join).filter(
    lambda n: n.strip() != "" and not n.lower().startswith("_fs_")
    and n.lower() not in ("user_id", "row_no") and "\x00" not in n)


@pytest.fixture
def project(tmp_path, monkeypatch):
    from featurestore.project import Project

    return Project(one_view_project(
        tmp_path, monkeypatch, "names", "select i % 3 + 1 as user_id, timestamp '2026-01-01' "
        "+ to_hours(i) as feature_ts, i as f1 from range(30) r(i)"))


def _spine(name: str, aware: bool) -> pa.Table:
    times = [T, T + dt.timedelta(hours=5), T - dt.timedelta(days=40)]
    return pa.table({"row_no": [0, 1, 2], "user_id": [1, 2, 4],
                     name: pa.array(times, pa.timestamp("us", "UTC" if aware else None))})


def _rows(table: pa.Table, name: str) -> list[tuple]:
    return [(r["row_no"], r[name], r["history__f1"], r["history__feature_ts"])
            for r in sorted(table.to_pylist(), key=lambda r: r["row_no"])]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile_names, aware=st.booleans(), from_file=st.booleans())
def test_any_event_time_name_gives_the_rows_of_event_ts(project, name, aware, from_file):
    expected = _rows(build_training_set(project, _spine("event_ts", aware), "history").table,
                     "event_ts")
    spine: object = _spine(name, aware)
    with tempfile.TemporaryDirectory() as folder:
        if from_file:
            path = Path(folder) / "spine.parquet"
            pq.write_table(spine, path)
            spine = path
        table = build_training_set(project, spine, "history", event_ts=name).table
    assert table.column_names == ["row_no", "user_id", name, "history__f1",
                                  "history__feature_ts"]
    assert _rows(table, name) == expected


@settings(max_examples=200, deadline=None)
@given(name=hostile_names, aware=st.booleans())
def test_the_snowflake_body_compares_the_named_column(name, aware):
    """Snowflake stores an unquoted name in upper case: the join names the column so."""
    from featurestore.contracts import load_catalog

    defs = Path(tempfile.mkdtemp()) / "feature_defs"
    defs.mkdir()
    (defs / "entities.yml").write_text(ENTITIES)
    (defs / "history.yml").write_text(VIEW)
    spec = {**view_spec(load_catalog(defs).views["history"]), "relation": "H"}
    sql = render_as_of_join("snowflake", "S", [spec], event_ts=name, spine_utc=aware)
    tree = sqlglot.parse_one(sql, read="snowflake")
    named = {column.name for column in tree.find_all(exp.Column)
             if column.table == "spine" or column.table == ""}
    assert name.upper() in named, (name, named)
