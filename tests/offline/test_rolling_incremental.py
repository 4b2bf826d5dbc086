"""Incremental rolling windows: any arrival order gives the table a full build gives.

A random event history is split into arrival batches (late events, exact repeats of
rows already landed, several events at one instant, entities that first appear late).
Each batch lands in a raw table (with its loaded_at) under a staging view that keeps a
repeated event's first landing, as the demo's staging does; then the incremental query
runs against the table so far and its rows replace the table's by (key, feature_ts), as
dbt's delete+insert does. After the last batch the table must equal one full build of
all events, row for row and bit for bit, on every body the project ships for DuckDB,
and the full build must match the brute force. The SQL is the macro bodies rendered with
plain Jinja (tests/offline/rolling_support.py); test_incremental_models_through_dbt
runs dbt itself.
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
    render,
    run_dbt_in,
)

BASE = dt.datetime(2026, 3, 1)
US = dt.timedelta(microseconds=1)
AGGREGATES = [
    {"name": "count_1h", "agg": "count", "expr": "id", "window": "1h"},
    {"name": "count_3h", "agg": "count", "expr": "amount", "window": "3h"},
    {"name": "sum_1h", "agg": "sum", "expr": "amount", "window": "1h"},
    {"name": "sum_1d", "agg": "sum", "expr": "amount", "window": "1d"},
    {"name": "avg_3h", "agg": "avg", "expr": "amount", "window": "3h"},
    {"name": "min_3h", "agg": "min", "expr": "amount", "window": "3h"},
    {"name": "max_1d", "agg": "max", "expr": "amount", "window": "1d"},
]
# Without min and max an incremental run sums up the instants it cannot look up
# (the DuckDB body's slices): both shapes are tested.
SUMMED = [a for a in AGGREGATES if a["agg"] not in ("min", "max")]
LAST = [{"name": "last_amount", "expr": "amount", "order_by": "id"}]
STAGING = """
    create or replace view events as
    select * from raw_events
    qualify row_number() over (partition by id order by loaded_at, ts) = 1
"""


def _sql(body: str, previous: str | None = None, aggregates=AGGREGATES, **options) -> str:
    return render(body, "events", ["k"], "ts", aggregates, loaded_at="loaded_at",
                  last_values=LAST, previous=previous, **options)


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create table raw_events (k bigint, ts timestamp, amount double, "
                "loaded_at timestamp, id bigint)")
    con.execute(STAGING)
    return con


def _land(con, rows) -> None:
    con.executemany("insert into raw_events values (?, ?, ?, ?, ?)",
                    [[e.key, e.ts, e.amount, e.loaded_at, e.id] for e in rows])


def _apply(con, body: str, aggregates=AGGREGATES, **options) -> None:
    """One run: the first builds the table, later ones are incremental (delete+insert on
    (k, feature_ts), dbt's statements for a list unique_key)."""
    if not con.execute("select count(*) from information_schema.tables "
                       "where table_name = 'features'").fetchall()[0][0]:
        con.execute(f"create table features as {_sql(body, aggregates=aggregates, **options)}")
        return
    sql = _sql(body, "features", aggregates, **options)
    con.execute(f"create or replace temp table new_rows as {sql}")
    con.execute("delete from features using new_rows "
                "where new_rows.k = features.k and new_rows.feature_ts = features.feature_ts")
    con.execute("insert into features select * from new_rows")


def _table(con, name: str, aggregates=AGGREGATES) -> list[tuple]:
    columns = ["k", "feature_ts", "loaded_at", *(a["name"] for a in aggregates), "last_amount"]
    return con.execute(f"select {', '.join(columns)} from {name} "
                       "order by k nulls first, feature_ts").fetchall()


@st.composite
def histories(draw):
    """Events on a 20-minute grid (windows of 1h, 3h and 1d meet it exactly), some a
    microsecond off; arrival batches in order, each event at or after its own time."""
    n = draw(st.integers(1, 40))
    events, ids = [], iter(range(1, 10_000))
    for _ in range(n):
        minute = draw(st.integers(0, 3 * 24 * 3)) * 20
        nudge = draw(st.sampled_from([0, 0, 0, 1, -1]))
        ts = BASE + dt.timedelta(minutes=minute) + nudge * US
        amount = draw(st.one_of(
            st.none(), st.sampled_from([0.1, 0.2, 0.3, 1e-9, 2.5, -7.25, 100.0]),
            st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 4))))
        events.append((draw(st.integers(1, 4)), ts, amount, next(ids)))
    batches = draw(st.integers(1, 5))
    landed = []
    for key, ts, amount, id_ in events:
        batch = draw(st.integers(0, batches - 1))
        landed.append([batch, key, ts, amount, id_])
    # exact repeats: a row landed again later, as a retried upload does
    for row in draw(st.lists(st.sampled_from(landed), max_size=4)) if landed else []:
        landed.append([draw(st.integers(row[0], batches - 1)), *row[1:]])
    runs = []
    for batch in range(batches):
        at = BASE + dt.timedelta(days=4, minutes=10 * batch)
        rows = [r for r in landed if r[0] == batch]
        runs.append([Event(key, ts, amount, at + dt.timedelta(seconds=i % 3), id_)
                     for i, (_, key, ts, amount, id_) in enumerate(rows)])
    return runs


def _first_landings(runs) -> list[Event]:
    first = {}
    for event in (e for batch in runs for e in batch):
        if event.id not in first or event.loaded_at < first[event.id].loaded_at:
            first[event.id] = event
    return list(first.values())


def _approx(rows):
    return [tuple(pytest.approx(v, rel=1e-9, abs=1e-9) if isinstance(v, float) else v
                  for v in row) for row in rows]


@pytest.mark.parametrize("aggregates", [AGGREGATES, SUMMED], ids=["min-max", "summed"])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=histories())
def test_incremental_runs_equal_one_full_build(aggregates, runs):
    tables = {}
    for body in BODIES:
        con = _connect()
        for batch in runs:
            if batch:
                _land(con, batch)
                _apply(con, body, aggregates)
        if not any(runs):
            continue
        incremental = _table(con, "features", aggregates)
        con.execute(f"create table full_build as {_sql(body, aggregates=aggregates)}")
        assert incremental == _table(con, "full_build", aggregates), body
        tables[body] = incremental
    if tables:
        assert tables["duckdb"] == tables["default"]  # the same bits from both bodies
        assert tables["duckdb"] == _approx(brute_force(_first_landings(runs), aggregates))


def test_a_late_event_recomputes_its_entity_from_its_time():
    con = _connect()
    _land(con, [Event(1, BASE, 1.0, BASE, 1), Event(1, BASE + dt.timedelta(hours=2), 2.0,
                                                   BASE + dt.timedelta(hours=2), 2),
                Event(2, BASE + dt.timedelta(hours=5), 4.0, BASE + dt.timedelta(hours=5), 3)])
    _apply(con, "duckdb")
    late = BASE + dt.timedelta(hours=6)
    _land(con, [Event(1, BASE + dt.timedelta(minutes=30), 10.0, late, 4)])
    new_rows = con.execute(f"select k, feature_ts from ({_sql('duckdb', 'features')}) "
                           "order by k, feature_ts").fetchall()
    # key 1 from the late event on (its time, its exit, the later events and exits);
    # key 2 gets nothing: no new event, and no exit between the old and new horizon
    assert new_rows == [(1, BASE + dt.timedelta(minutes=30)), (1, BASE + dt.timedelta(hours=1)),
                        (1, BASE + dt.timedelta(hours=1, minutes=30)),
                        (1, BASE + dt.timedelta(hours=2)), (1, BASE + dt.timedelta(hours=3)),
                        (1, BASE + dt.timedelta(hours=3, minutes=30)),
                        (1, BASE + dt.timedelta(hours=5))]


def test_an_advancing_horizon_adds_exit_rows_to_untouched_entities():
    con = _connect()
    _land(con, [Event(1, BASE, 1.0, BASE, 1), Event(2, BASE + dt.timedelta(minutes=20), 2.0,
                                                   BASE + dt.timedelta(minutes=20), 2)])
    _apply(con, "duckdb")
    later = BASE + dt.timedelta(hours=4)
    _land(con, [Event(2, later, 3.0, later, 3)])
    new_rows = con.execute(f"select k, feature_ts, count_1h, sum_1h, loaded_at from "
                           f"({_sql('duckdb', 'features')}) order by k, feature_ts").fetchall()
    assert [r for r in new_rows if r[0] == 1] == [  # exits of key 1 (1h, 3h), old loaded_at
        (1, BASE + dt.timedelta(hours=1), 0, 0.0, BASE),
        (1, BASE + dt.timedelta(hours=3), 0, 0.0, BASE)]


@pytest.mark.parametrize("body", list(BODIES))
def test_an_exit_one_microsecond_past_the_old_horizon(body):
    """The entity's rows restart at old horizon + 1 us; the event exactly the longest
    window before that is read (its exit is that very row), none older is."""
    con = _connect()
    day = dt.timedelta(days=1)
    _land(con, [Event(1, BASE, 1.0, BASE, 1), Event(2, BASE + day - US, 2.0, BASE + day, 2)])
    _apply(con, body)
    _land(con, [Event(2, BASE + 2 * day, 3.0, BASE + 2 * day, 3)])
    new_rows = con.execute(f"select k, feature_ts, sum_1d, max_1d from "
                           f"({_sql(body, 'features')}) where k = 1").fetchall()
    assert new_rows == [(1, BASE + day, 0.0, None)]


@pytest.mark.parametrize("body", list(BODIES))
def test_events_later_than_the_allowed_lateness_are_skipped_or_fail(body):
    con = _connect()
    _land(con, [Event(1, BASE, 1.0, BASE, 1), Event(2, BASE + dt.timedelta(days=2), 2.0,
                                                   BASE + dt.timedelta(days=2), 2)])
    _apply(con, body)
    before = _table(con, "features")
    arrival = BASE + dt.timedelta(days=3)
    _land(con, [Event(1, BASE + dt.timedelta(hours=20), 5.0, arrival, 3)])  # 28 h late
    skipped = con.execute(
        f"select count(*) from ({_sql(body, 'features', allowed_lateness='1d')})").fetchall()
    assert skipped == [(0,)]
    with pytest.raises(duckdb.Error, match="later than the allowed lateness"):
        sql = _sql(body, "features", allowed_lateness="1d", too_late="fail")
        con.execute(f"select * from ({sql})").fetchall()
    _apply(con, body, allowed_lateness="2d")  # within two days: applied
    assert _table(con, "features") != before
    con.execute(f"create table full_build as {_sql(body)}")
    assert _table(con, "features") == _table(con, "full_build")


def test_an_incremental_run_without_loaded_at_stops_compilation():
    with pytest.raises(CompilerError, match="an incremental run needs `loaded_at`"):
        render("duckdb", "events", ["k"], "ts", AGGREGATES, previous="features")


def test_bad_lateness_and_policy_stop_compilation():
    with pytest.raises(CompilerError, match="allowed_lateness `3 days` is not a duration"):
        _sql("duckdb", "features", allowed_lateness="3 days")
    with pytest.raises(CompilerError, match="`too_late` must be 'skip' or 'fail'"):
        _sql("duckdb", "features", too_late="drop")


# -- Snowflake ------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")  # fakesnow's note on Arrow copies
def test_the_snowflake_body_gives_the_duckdb_bodys_rows_on_fakesnow():
    """No Snowflake account here: the snowflake__ body parses as Snowflake SQL (sqlglot) and,
    on fakesnow (Snowflake's connector over DuckDB), builds and updates the table the DuckDB
    body does, bit for bit."""
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector
    import sqlglot

    for previous in (None, "features"):
        sqlglot.parse_one(_sql("snowflake", previous), read="snowflake")
    hour = dt.timedelta(hours=1)
    batches = [
        [Event(1, BASE, 1.5, BASE, 1), Event(2, BASE + hour, None, BASE + hour, 2),
         Event(1, BASE + 2 * hour, 0.1, BASE + 2 * hour, 3)],
        [Event(1, BASE + 30 * dt.timedelta(minutes=1), 0.2, BASE + 3 * hour, 4),  # late
         Event(1, BASE, 1.5, BASE + 3 * hour, 1),  # a repeat
         Event(3, BASE + 26 * hour, 7.0, BASE + 26 * hour, 5)],
        [Event(2, BASE + 27 * hour, 0.3, BASE + 27 * hour, 6)],
    ]
    con = _connect()
    for batch in batches:
        _land(con, batch)
        _apply(con, "duckdb")
    expected = _table(con, "features")
    with fakesnow.patch():
        snow = snowflake.connector.connect(database="db", schema="s")
        cursor = snow.cursor()
        for statement in ("create database if not exists db", "create schema if not exists db.s",
                          "use schema db.s",
                          "create table raw_events (k int, ts timestamp_ntz, amount float, "
                          "loaded_at timestamp_ntz, id int)", STAGING):
            cursor.execute(statement)
        for number, batch in enumerate(batches):
            cursor.executemany("insert into raw_events values (%s, %s, %s, %s, %s)",
                               [(e.key, e.ts, e.amount, e.loaded_at, e.id) for e in batch])
            if number == 0:
                cursor.execute(f"create table features as {_sql('snowflake')}")
                continue
            cursor.execute("create or replace temporary table new_rows as "
                           + _sql("snowflake", "features"))
            cursor.execute("delete from features using new_rows where new_rows.k = features.k "
                           "and new_rows.feature_ts = features.feature_ts")
            cursor.execute("insert into features select * from new_rows")
        columns = ["k", "feature_ts", "loaded_at", *(a["name"] for a in AGGREGATES),
                   "last_amount"]
        cursor.execute(f"select {', '.join(columns)} from features order by k, feature_ts")
        assert cursor.fetchall() == expected


# -- through dbt ---------------------------------------------------------------------------
MODEL = """
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['k', 'feature_ts'], on_schema_change='fail') }}
with

events as (
    select * from raw_events
    qualify row_number() over (partition by id order by loaded_at, ts) = 1
),

windows as (
    {{ featurestore.rolling_windows(
        relation='events',
        partition_by=['k'],
        event_ts='ts',
        loaded_at='loaded_at',
        aggregates=%(aggregates)r,
        last_values=%(last)r,
    ) }}
)

select * from windows
"""


def test_incremental_models_through_dbt(tmp_path):
    """dbt's incremental materialization around the macro: three runs as batches land,
    then a --full-refresh gives the same table."""
    root = dbt_project(tmp_path, {"rw_incremental": MODEL % {"aggregates": AGGREGATES,
                                                             "last": LAST}})
    database = root / "rw.duckdb"
    hour = dt.timedelta(hours=1)
    batches = [
        [Event(1, BASE, 1.5, BASE, 1), Event(2, BASE + hour, 2.0, BASE + hour, 2)],
        [Event(1, BASE + 3 * hour, 4.0, BASE + 3 * hour, 3),
         Event(1, BASE + dt.timedelta(minutes=30), 8.0, BASE + 3 * hour, 4),  # late
         Event(1, BASE, 1.5, BASE + 3 * hour, 1)],  # a repeat
        [Event(3, BASE + 30 * hour, 0.25, BASE + 30 * hour, 5)],  # a new entity, exits
    ]
    for batch in batches:
        with duckdb.connect(str(database)) as con:
            con.execute(RAW_EVENTS)
            _land(con, batch)
        run_dbt_in(root, "run")
    assert "_rw_previous" in dbt_sql(root, "rw_incremental")  # the last run was incremental
    with duckdb.connect(str(database)) as con:
        incremental = _table(con, "rw_incremental")
    run_dbt_in(root, "run", "--full-refresh")
    with duckdb.connect(str(database)) as con:
        assert incremental == _table(con, "rw_incremental")
    assert incremental == _approx(brute_force(_first_landings(batches), AGGREGATES))
    assert "_rw_previous" not in dbt_sql(root, "rw_incremental")  # this one was the full refresh
