"""Timezone-aware timestamps outside the as-of join's property test.

Paired in the sqlglot style where SQL is concerned: one spec in, the Snowflake fragments
we rely on out. Then rolling_windows over a TIMESTAMPTZ event time (DuckDB), the
contract checks that accept DuckDB's and Snowflake's aware types, and the DynamoDB item
codec, which must store an aware value at its instant.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from featurestore import sql_render
from featurestore.dtypes import accepts
from featurestore.model_check import column_problems
from featurestore.online.items import encode_item, to_epoch_micros
from featurestore.project import Project
from featurestore.sql_render import render_as_of_join, render_feature_timeline

from .conftest import ROOT, jinja_call
from .test_pit_property import snowflake_asof_to_duckdb
from .test_snowflake_sql import ONE_KEY, TWO_KEYS

KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))
AWARE_ONE_KEY = dict(ONE_KEY, utc_columns=["feature_ts", "loaded_at"])


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(str(sql), read="snowflake", error_level=ErrorLevel.RAISE)


def cte(tree: exp.Expression, name: str) -> exp.Expression:
    return next(c for c in tree.find_all(exp.CTE) if c.alias == name).this


def snowflake_join(specs, known_at_event=False, spine_utc=False) -> str:
    return str(sql_render.dispatch("snowflake", "as_of_join_specs")(
        "ANALYTICS.ML.SPINE", specs, event_ts="event_ts", known_at_event=known_at_event,
        spine_utc=spine_utc))


# -- the Snowflake body ----------------------------------------------------------------
@pytest.mark.parametrize(("known_at_event", "candidates", "expected"), [
    (False, "user_transactions__rows__ranked", [
        "user_id",
        "CAST(CONVERT_TIMEZONE('UTC', feature_ts) AS TIMESTAMPNTZ) AS _fs_feature_ts",
        "txn_count_7d", "last_txn_amount",
        "ROW_NUMBER() OVER (PARTITION BY user_id, CAST(CONVERT_TIMEZONE('UTC', feature_ts) "
        "AS TIMESTAMPNTZ) ORDER BY CAST(CONVERT_TIMEZONE('UTC', loaded_at) AS TIMESTAMPNTZ) "
        "DESC NULLS LAST) AS _fs_version_rank"]),
    (True, "user_transactions__rows__known", [
        "user_id",
        "CAST(CONVERT_TIMEZONE('UTC', feature_ts) AS TIMESTAMPNTZ) AS _fs_feature_ts",
        "CAST(CONVERT_TIMEZONE('UTC', loaded_at) AS TIMESTAMPNTZ) AS _fs_created_ts",
        "txn_count_7d", "last_txn_amount",
        "CASE WHEN CAST(CONVERT_TIMEZONE('UTC', loaded_at) AS TIMESTAMPNTZ) > "
        "CAST(CONVERT_TIMEZONE('UTC', feature_ts) AS TIMESTAMPNTZ) THEN "
        "CAST(CONVERT_TIMEZONE('UTC', loaded_at) AS TIMESTAMPNTZ) ELSE "
        "CAST(CONVERT_TIMEZONE('UTC', feature_ts) AS TIMESTAMPNTZ) END AS _fs_known_ts"]),
])
def test_snowflake_body_reads_aware_view_columns_as_utc(known_at_event, candidates, expected):
    tree = parse(snowflake_join([AWARE_ONE_KEY, TWO_KEYS], known_at_event))
    assert [e.sql("snowflake") for e in cte(tree, candidates).expressions] == expected
    # a view without utc_columns reads its columns as they are
    plain = cte(tree, "device_seen_before__rows").expressions
    assert plain[2].sql("snowflake") == "feature_ts AS _fs_feature_ts"


def test_snowflake_body_joins_an_aware_spine_by_instant_and_leaves_its_column_alone():
    tree = parse(snowflake_join([AWARE_ONE_KEY, TWO_KEYS], spine_utc=True))
    assert cte(tree, "spine").sql("snowflake") == (
        "SELECT *, CAST(CONVERT_TIMEZONE('UTC', \"EVENT_TS\") AS TIMESTAMPNTZ) AS "
        "_fs_event_ts FROM ANALYTICS.ML.SPINE")
    conditions = [j.args["match_condition"].sql("snowflake") for j in tree.find_all(exp.Join)]
    assert conditions == ["spine._fs_event_ts >= user_transactions._fs_feature_ts",
                          "spine._fs_event_ts >= device_seen_before._fs_feature_ts"]
    final = cte(tree, "final")
    assert final.expressions[3].sql("snowflake") == (
        "CASE WHEN NOT user_transactions._fs_feature_ts IS NULL AND spine._fs_event_ts <= "
        "DATEADD(SECOND, 2592000, user_transactions._fs_feature_ts) THEN "
        "TIMESTAMP_TZ_FROM_PARTS(YEAR(user_transactions._fs_feature_ts), "
        "MONTH(user_transactions._fs_feature_ts), DAY(user_transactions._fs_feature_ts), "
        "HOUR(user_transactions._fs_feature_ts), MINUTE(user_transactions._fs_feature_ts), "
        "SECOND(user_transactions._fs_feature_ts), "
        "DATE_PART(nanosecond, user_transactions._fs_feature_ts), 'UTC') END "
        "AS user_transactions__feature_ts")
    assert tree.sql("snowflake").endswith("SELECT * EXCLUDE (_fs_event_ts) FROM final")


def test_snowflake_body_without_time_zones_is_unchanged():
    # no utc_columns and no spine_utc: exactly the text sql_render has always given
    assert snowflake_join([ONE_KEY, TWO_KEYS]).strip() == render_as_of_join(
        "snowflake", "ANALYTICS.ML.SPINE", [ONE_KEY, TWO_KEYS]).strip()
    assert "_fs_event_ts" not in snowflake_join([ONE_KEY])


def test_snowflake_timeline_orders_and_bounds_an_aware_view_in_utc():
    tree = parse(render_feature_timeline("snowflake", "X", AWARE_ONE_KEY))
    utc = "CAST(CONVERT_TIMEZONE('UTC', feature_ts) AS TIMESTAMPNTZ)"
    final = cte(tree, "final")
    assert [e.sql("snowflake") for e in final.expressions[1:]] == [
        f"{utc} AS valid_from",
        f"LEAD({utc}) OVER (PARTITION BY user_id ORDER BY {utc}) AS valid_to",
        f"DATEADD(SECOND, 2592000, {utc}) AS expires_at"]
    latest = cte(tree, "latest_version")
    assert latest.args["qualify"].sql("snowflake") == (
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id, {utc} ORDER BY "
        "CAST(CONVERT_TIMEZONE('UTC', loaded_at) AS TIMESTAMPNTZ) DESC NULLS LAST) = 1")


def test_snowflake_body_with_time_zones_gives_the_duckdb_rows():
    """The rewrite of the Snowflake body to DuckDB, in a Kolkata session, gives the rows
    of the DuckDB body: aware spine and views, timestamps at several offsets."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'Asia/Kolkata'")
    con.execute("create table spine (user_id bigint, event_ts timestamptz)")
    con.execute("create table rows (user_id bigint, feature_ts timestamptz, "
                "loaded_at timestamptz, txn_count_7d bigint, last_txn_amount double)")
    base = dt.datetime(2024, 3, 10, 6, 0, tzinfo=dt.UTC)  # New York's DST starts at 07:00Z
    con.executemany("insert into spine values (?, ?)", [
        [1, (base + dt.timedelta(hours=h)).astimezone(zone)]
        for h in range(-2, 4) for zone in (KOLKATA, NEW_YORK)])
    con.executemany("insert into rows values (?, ?, ?, ?, ?)", [
        [1, (base + dt.timedelta(minutes=m)).astimezone(NEW_YORK),
         (base + dt.timedelta(minutes=m + 5)).astimezone(KOLKATA), m, m / 2]
        for m in (-60, 0, 59, 61, 150)])
    spec = dict(AWARE_ONE_KEY, relation="rows")
    duckdb_sql = sql_render.dispatch("duckdb", "as_of_join_specs")(
        "spine", [spec], event_ts="event_ts", known_at_event=True, spine_utc=True)
    snowflake_sql = snowflake_asof_to_duckdb(sql_render.dispatch("snowflake", "as_of_join_specs")(
        "spine", [spec], event_ts="event_ts", known_at_event=True, spine_utc=True))
    expected = con.execute(str(duckdb_sql)).fetchall()
    assert Counter(con.execute(snowflake_sql).fetchall()) == Counter(expected)
    # defaults (0) before anything is known, then the values as they become known
    assert sorted({r[2] for r in expected}) == [-60, 0, 61, 150]


# -- rolling windows -------------------------------------------------------------------
def test_rolling_windows_over_an_aware_event_time_on_duckdb(pit_project):
    """epoch_us of a TIMESTAMPTZ is its instant: the windows over aware event times,
    in a New York session across its DST change, equal those over the naive UTC ones."""
    [sql] = pit_project.compile_inline([jinja_call(
        "rolling_windows", "relation='rw_events'", "partition_by=['k']", "event_ts='ts'",
        "aggregates=[{'name': 'n_1h', 'agg': 'count', 'expr': 'v', 'window': '1h'}, "
        "{'name': 's_1d', 'agg': 'sum', 'expr': 'v', 'window': '1d'}]",
        "last_values=[{'name': 'last_v', 'expr': 'v', 'order_by': 'v'}]")])
    base = dt.datetime(2024, 3, 10, 5, 0)  # naive UTC; New York springs forward at 07:00Z
    events = [(1, base + dt.timedelta(minutes=m), m) for m in (0, 30, 90, 119, 120, 180, 1500)]
    events += [(2, base + dt.timedelta(hours=h), h) for h in (1, 2, 2)]
    con = duckdb.connect()
    con.execute("set TimeZone = 'America/New_York'")
    results = {}
    for kind, zone in (("timestamp", None), ("timestamptz", KOLKATA)):
        con.execute(f"create or replace table rw_events (k bigint, ts {kind}, v bigint)")
        con.executemany("insert into rw_events values (?, ?, ?)", [
            [k, ts.replace(tzinfo=dt.UTC).astimezone(zone) if zone else ts, v]
            for k, ts, v in events])
        results[kind] = sorted(con.execute(sql).fetchall())
    assert results["timestamptz"] == results["timestamp"]
    assert results["timestamp"][:3] == [  # feature_ts stays naive UTC
        (1, base, 1, 0, 0),
        (1, base + dt.timedelta(minutes=30), 2, 30, 30),
        (1, base + dt.timedelta(minutes=60), 1, 30, 30)]  # the 05:00 event left the hour


# -- contract checks -------------------------------------------------------------------
@pytest.mark.parametrize("warehouse_type", [
    "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ",  # DuckDB
    "TIMESTAMP_TZ", "TIMESTAMP_TZ(9)", "TIMESTAMP_LTZ(9)", "timestamp_ltz",  # Snowflake
    "TIMESTAMP", "TIMESTAMP_NTZ(9)",  # naive: UTC
])
def test_timestamp_dtype_accepts_aware_and_naive_types(warehouse_type):
    assert accepts("timestamp", warehouse_type)


def test_timestamp_dtype_still_refuses_what_is_not_a_timestamp():
    assert not accepts("timestamp", "DATE")
    assert not accepts("timestamp", "VARCHAR")
    assert not accepts("int64", "TIMESTAMP WITH TIME ZONE")


@pytest.fixture(scope="module")
def user_profile():
    return Project(ROOT).catalog().views["user_profile"]


def _duckdb_types(select: str) -> dict[str, str]:
    cursor = duckdb.connect().execute(f"select * from ({select}) limit 0")
    return {column[0]: str(column[1]) for column in cursor.description}


def test_column_check_accepts_a_timestamptz_feature_model(user_profile):
    actual = _duckdb_types(
        "select 1::bigint as user_id, now() as feature_ts, now() as loaded_at, "
        "'US' as country, 'web' as signup_channel, true as is_verified, "
        "1::bigint as kyc_level, now() as signed_up_at, 'x.com' as email_domain")
    assert actual["feature_ts"] == "TIMESTAMP WITH TIME ZONE"
    assert column_problems(user_profile, actual, "main.fs_user__profile") == []
    snowflake = {name.upper(): kind for name, kind in actual.items()}
    snowflake.update(FEATURE_TS="TIMESTAMP_TZ", LOADED_AT="TIMESTAMP_LTZ",
                     SIGNED_UP_AT="TIMESTAMP_TZ")
    assert column_problems(user_profile, snowflake, "DB.FEATURESTORE.FS_USER__PROFILE") == []


def test_column_check_still_names_a_text_timestamp(user_profile):
    actual = _duckdb_types(
        "select 1::bigint as user_id, now() as feature_ts, now() as loaded_at, "
        "'US' as country, 'web' as signup_channel, true as is_verified, "
        "1::bigint as kyc_level, '2024-01-01' as signed_up_at, 'x.com' as email_domain")
    assert column_problems(user_profile, actual, "main.fs_user__profile") == [
        f"{user_profile.path}, feature `signed_up_at`: column has type VARCHAR in "
        "main.fs_user__profile, which does not hold a timestamp. Cast it in model "
        "`fs_user__profile` to TIMESTAMP."]


# -- the DynamoDB item codec -----------------------------------------------------------
def test_aware_values_are_stored_at_their_instant(user_profile):
    naive = dt.datetime(2024, 1, 1, 0, 0, 0, 123456)
    aware = naive.replace(tzinfo=dt.UTC).astimezone(KOLKATA)
    assert to_epoch_micros(aware) == to_epoch_micros(naive) == 1_704_067_200_123_456
    row = {"user_id": 7, "country": "US", "signup_channel": "web", "is_verified": True,
           "kyc_level": 1, "email_domain": "x.com"}
    from_naive = encode_item(user_profile, dict(row, feature_ts=naive, signed_up_at=naive), 1)
    from_aware = encode_item(user_profile, dict(row, feature_ts=aware,
                                                signed_up_at=aware.astimezone(NEW_YORK)), 1)
    assert from_aware == from_naive
    assert from_aware["feature_ts"] == {"N": "1704067200123456"}
