"""rolling_windows in buckets of entities (`partitions`): the same rows as one body.

The buckets split the entities by a hash of their keys, and each bucket's body runs on
its entities alone, while the data horizon, the watermark and the old horizon stay the
whole input's. A bucket that read its own horizon would cut its entities' rows short,
and one that read its own watermark would miss or repeat new events. So on random
histories, in random arrival batches with a random number of buckets per run, the
incremental table must equal one full build without buckets, bit for bit, on every body
the project ships for DuckDB, and the brute force. The Snowflake body gives the same
rows on fakesnow, and dbt passes the project's `featurestore_rolling_partitions`.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.offline.rolling_support import (
    BODIES,
    RAW_EVENTS,
    CompilerError,
    Event,
    brute_force,
    dbt_project,
    dbt_sql,
    run_dbt_in,
)
from tests.offline.test_rolling_incremental import (
    AGGREGATES,
    BASE,
    LAST,
    MODEL,
    STAGING,
    SUMMED,
    _apply,
    _approx,
    _connect,
    _first_landings,
    _land,
    _sql,
    _table,
    histories,
)

HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize("aggregates", [AGGREGATES, SUMMED], ids=["min-max", "summed"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=histories(), buckets=st.lists(st.integers(1, 5), min_size=5, max_size=5))
def test_runs_in_buckets_equal_one_full_build(aggregates, runs, buckets):
    if not any(runs):
        return
    expected = _approx(brute_force(_first_landings(runs), aggregates))
    for body in BODIES:
        con = _connect()
        for batch, partitions in zip(runs, buckets, strict=False):
            if batch:
                _land(con, batch)
                _apply(con, body, aggregates, partitions=partitions)
        incremental = _table(con, "features", aggregates)
        con.execute(f"create table full_build as {_sql(body, aggregates=aggregates)}")
        assert incremental == _table(con, "full_build", aggregates), (body, buckets)
        con.execute(f"create table in_buckets as "
                    f"{_sql(body, aggregates=aggregates, partitions=buckets[0])}")
        assert _table(con, "in_buckets", aggregates) == incremental, (body, buckets)
        assert incremental == expected, body


@settings(max_examples=30, deadline=None)
@given(runs=histories(), partitions=st.integers(2, 6), null_key=st.integers(1, 4))
def test_a_null_key_is_one_entity_in_one_bucket(runs, partitions, null_key):
    """A full build where one key is null: its events stay together, as without buckets."""
    events = [Event(None if e.key == null_key else e.key, e.ts, e.amount, e.loaded_at, e.id)
              for e in _first_landings(runs)]
    if not events:
        return
    for body in BODIES:
        con = _connect()
        _land(con, events)
        con.execute(f"create table in_buckets as {_sql(body, partitions=partitions)}")
        assert _table(con, "in_buckets") == _approx(brute_force(events, AGGREGATES)), body


def test_the_horizon_is_the_whole_inputs_not_the_buckets():
    """Key 2's bucket holds no event as late as key 1's: its exit rows still come out up to
    the whole input's horizon, and none past it."""
    con = _connect()
    _land(con, [Event(1, BASE + 5 * HOUR, 1.0, BASE + 5 * HOUR, 1),
                Event(2, BASE, 2.0, BASE, 2)])
    for partitions in (1, 2, 3, 4):
        rows = con.execute(f"select k, feature_ts, count_1h, count_3h from "
                           f"({_sql('duckdb', partitions=partitions)}) order by k, feature_ts")
        assert rows.fetchall() == [
            (1, BASE + 5 * HOUR, 1, 1),
            (2, BASE, 1, 1), (2, BASE + HOUR, 0, 1), (2, BASE + 3 * HOUR, 0, 0)], partitions


@pytest.mark.parametrize("partitions", [0, -1, 2.5, "4", True, 5000])
def test_a_bad_number_of_buckets_stops_compilation(partitions):
    with pytest.raises(CompilerError, match=(
            r"rolling_windows: `partitions` must be a whole number from 1 to 4096 \(how "
            r"many buckets of entities to compute one after the other\), not ")):
        _sql("duckdb", partitions=partitions)


@pytest.mark.filterwarnings("ignore::UserWarning")  # fakesnow's note on Arrow copies
def test_the_snowflake_body_in_buckets_gives_the_duckdb_rows_on_fakesnow():
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector
    import sqlglot

    sqlglot.parse_one(_sql("snowflake", "features", partitions=3), read="snowflake")
    events = [Event(k, BASE + i * 20 * dt.timedelta(minutes=1), 0.5 * i, BASE + 30 * HOUR,
                    100 * k + i) for k in range(1, 7) for i in range(0, 90, 7)]
    late = [Event(3, BASE + 2 * HOUR, 9.0, BASE + 40 * HOUR, 999),
            Event(5, BASE + 31 * HOUR, 1.0, BASE + 40 * HOUR, 998)]
    con = _connect()
    for batch in (events, late):
        _land(con, batch)
        _apply(con, "duckdb")
    expected = _table(con, "features")
    with fakesnow.patch():
        cursor = snowflake.connector.connect(database="db", schema="s").cursor()
        for statement in ("create database if not exists db", "create schema if not exists db.s",
                          "use schema db.s",
                          "create table raw_events (k int, ts timestamp_ntz, amount float, "
                          "loaded_at timestamp_ntz, id int)", STAGING):
            cursor.execute(statement)
        for number, batch in enumerate((events, late)):
            cursor.executemany("insert into raw_events values (%s, %s, %s, %s, %s)",
                               [(e.key, e.ts, e.amount, e.loaded_at, e.id) for e in batch])
            if number == 0:
                cursor.execute(f"create table features as {_sql('snowflake', partitions=3)}")
                continue
            cursor.execute("create or replace temporary table new_rows as "
                           + _sql("snowflake", "features", partitions=3))
            cursor.execute("delete from features using new_rows where new_rows.k = features.k "
                           "and new_rows.feature_ts = features.feature_ts")
            cursor.execute("insert into features select * from new_rows")
        columns = ["k", "feature_ts", "loaded_at", *(a["name"] for a in AGGREGATES),
                   "last_amount"]
        cursor.execute(f"select {', '.join(columns)} from features order by k, feature_ts")
        assert cursor.fetchall() == expected


def test_the_projects_number_of_buckets_reaches_the_model_through_dbt(tmp_path):
    """`vars: {featurestore_rolling_partitions: 3}`: dbt compiles three buckets, and a full
    build and an incremental run give the brute force's rows."""
    root = dbt_project(tmp_path, {"rw_incremental": MODEL % {"aggregates": AGGREGATES,
                                                             "last": LAST}},
                       {"featurestore_rolling_partitions": 3})
    batches = [[Event(k, BASE + k * HOUR, 1.5 * k, BASE + 9 * HOUR, k) for k in range(1, 6)],
               [Event(2, BASE + 30 * dt.timedelta(minutes=1), 8.0, BASE + 12 * HOUR, 7),
                Event(6, BASE + 10 * HOUR, 0.25, BASE + 12 * HOUR, 8)]]
    for batch in batches:
        with duckdb.connect(str(root / "rw.duckdb")) as con:
            con.execute(RAW_EVENTS)
            _land(con, batch)
        run_dbt_in(root, "run")
        assert "-- Bucket 2 of 3" in dbt_sql(root, "rw_incremental")
    assert "_rw_previous" in dbt_sql(root, "rw_incremental")  # the second run was incremental
    with duckdb.connect(str(root / "rw.duckdb")) as con:
        assert _table(con, "rw_incremental") == _approx(
            brute_force(_first_landings(batches), AGGREGATES))
