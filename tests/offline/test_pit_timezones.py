"""Property test: the as-of join over naive and timezone-aware times equals the reference.

The histories and spines of test_pit_property.py, each time then stored either naive
(UTC) or as TIMESTAMPTZ written at a random offset (-10:00 to +14:00, half and quarter
hours included), chosen per example for the spine and per view: every mix of forms.
The DuckDB session runs in America/New_York or Asia/Kolkata, so any comparison that let
the session's zone in would move an instant by hours. Views list their aware columns in
`utc_columns` (feature_ts, created_ts and a timestamp feature) and an aware spine is
joined with `spine_utc`, as dbt's as_of_join does after asking the warehouse.

Every body runs: DuckDB's, Snowflake's (rewritten to DuckDB with sqlglot) and the
portable one. The SQL of each body with timezone-aware inputs is also compiled once by
real dbt and must equal what the plain-Jinja rendering gives.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore import sql_render

from .conftest import jinja_call, jinja_data
from .pit_reference import as_of_join_any_zone, assert_same_rows
from .test_pit_property import (
    BASE,
    DEFAULTS,
    SPINE_COLUMNS,
    VIEW_A,
    VIEW_B,
    snowflake_asof_to_duckdb,
    spines,
    view_a_rows,
    view_b_rows,
)

pytestmark = pytest.mark.slow

ZONES = ("America/New_York", "Asia/Kolkata")
OFFSETS = [timedelta(hours=h, minutes=m)
           for h, m in ((-10, 0), (-5, 0), (0, 0), (5, 30), (5, 45), (14, 0))]
BODIES = ("duckdb", "snowflake", "default")

VIEW_A_TZ = dict(VIEW_A, relation="tz_rows_a", features=[
    *VIEW_A["features"], {"name": "w", "dtype": "timestamp", "default_sql": "null"}])
VIEW_B_TZ = dict(VIEW_B, relation="tz_rows_b")
AWARE_COLUMNS = {"view_a": ["feature_ts", "created_ts", "w"], "view_b": ["ts"]}
TZ_DEFAULTS = {**DEFAULTS, ("view_a", "w"): None}
SCENARIOS = {
    "one_view": ([VIEW_A_TZ], False),
    "one_view_known_at_event": ([VIEW_A_TZ], True),
    "two_views_multi_key": ([VIEW_B_TZ, VIEW_A_TZ], False),
    "two_views_multi_key_known_at_event": ([VIEW_B_TZ, VIEW_A_TZ], True),
}


def with_utc_columns(spec: dict, aware: bool) -> dict:
    return dict(spec, utc_columns=AWARE_COLUMNS[spec["name"]] if aware else [])


@functools.cache
def join_sql(body: str, scenario: str, spine_aware: bool, aware_views: frozenset) -> str:
    """The body's SQL for these forms, runnable on DuckDB (plain-Jinja rendering)."""
    specs, known = SCENARIOS[scenario]
    specs = [with_utc_columns(spec, spec["name"] in aware_views) for spec in specs]
    sql = str(sql_render.dispatch(body, "as_of_join_specs")(
        "tz_spine", specs, event_ts="event_ts", known_at_event=known, spine_utc=spine_aware))
    return snowflake_asof_to_duckdb(sql) if body == "snowflake" else sql


def _norm(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_dbt_compiles_the_timezone_bodies_as_the_plain_rendering(pit_project):
    """Aware spine and aware views, through dbt: the public dispatcher with an explicit
    spine_utc=true (a spine given by name) on DuckDB and on Snowflake, and the portable
    body by name on DuckDB (its helpers are DuckDB's there)."""
    specs, known = SCENARIOS["two_views_multi_key_known_at_event"]
    specs = [with_utc_columns(spec, True) for spec in specs]
    args = ("'tz_spine'", jinja_data(specs), "'event_ts'", "true", "spine_utc=true")
    on_duckdb = pit_project.compile_inline([jinja_call("as_of_join_specs", *args),
                                            jinja_call("default__as_of_join_specs", *args)])
    on_snowflake = pit_project.compile_inline([jinja_call("as_of_join_specs", *args)],
                                              target="snowflake")
    compiled = [on_duckdb[0], on_snowflake[0], on_duckdb[1]]
    bodies = [sql_render.dispatch("duckdb", "as_of_join_specs"),
              sql_render.dispatch("snowflake", "as_of_join_specs"),
              sql_render.macro("duckdb", "default__as_of_join_specs")]
    for body, macro, sql in zip(BODIES, bodies, compiled, strict=True):
        rendered = macro(
            "tz_spine", specs, event_ts="event_ts", known_at_event=known, spine_utc=True)
        assert _norm(str(rendered)) == _norm(sql), body
    assert "exclude (_fs_event_ts)" in compiled[0]
    assert "timezone('UTC', feature_ts) as _fs_feature_ts" in compiled[0]


# -- data ------------------------------------------------------------------------------
def at_offset(instant: datetime | None, offset: timedelta) -> datetime | None:
    """The naive UTC ``instant`` as an aware datetime written at ``offset``."""
    if instant is None:
        return None
    return instant.replace(tzinfo=UTC).astimezone(timezone(offset))


@st.composite
def mixed_forms(draw):
    """A history and a spine, each time naive or aware at a random offset."""
    spine, rows_a, rows_b = draw(spines()), draw(view_a_rows()), draw(view_b_rows())
    forms = {"spine": draw(st.booleans()), "view_a": draw(st.booleans()),
             "view_b": draw(st.booleans())}
    offsets = st.sampled_from(OFFSETS)

    def form(value, aware):
        return at_offset(value, draw(offsets)) if aware else value

    # one w per (k, feature_ts, created_ts): view_a_rows repeats rows exactly, and a
    # repeat with another w would be two versions of one row, which no rule orders
    w_of: dict[tuple, object] = {}
    for row in rows_a:
        identity = (row["k"], row["feature_ts"], row["created_ts"])
        if identity not in w_of:
            w_of[identity] = None if row["feature_ts"] is None else draw(st.one_of(
                st.none(), st.integers(-3, 3).map(
                    lambda m, row=row: row["feature_ts"] + timedelta(minutes=m))))
    rows_a = [dict(row, w=w_of[(row["k"], row["feature_ts"], row["created_ts"])])
              for row in rows_a]
    spine = [dict(row, event_ts=form(row["event_ts"], forms["spine"])) for row in spine]
    rows_a = [dict(row, **{c: form(row[c], forms["view_a"])
                           for c in ("feature_ts", "created_ts", "w")}) for row in rows_a]
    rows_b = [dict(row, ts=form(row["ts"], forms["view_b"])) for row in rows_b]
    return forms, spine, rows_a, rows_b


def _load(con, forms, spine, rows_a, rows_b) -> None:
    def kind(aware):
        return "timestamptz" if aware else "timestamp"

    con.execute("create or replace table tz_spine (k bigint, k1 varchar, k2 varchar, "
                f"event_ts {kind(forms['spine'])}, label bigint)")
    con.executemany("insert into tz_spine values (?, ?, ?, ?, ?)",
                    [[r[c] for c in SPINE_COLUMNS] for r in spine])
    a = kind(forms["view_a"])
    con.execute(f"create or replace table tz_rows_a (k bigint, feature_ts {a}, "
                f"created_ts {a}, x bigint, y varchar, w {a})")
    if rows_a:
        con.executemany("insert into tz_rows_a values (?, ?, ?, ?, ?, ?)",
                        [[r["k"], r["feature_ts"], r["created_ts"], r["x"], r["y"], r["w"]]
                         for r in rows_a])
    con.execute("create or replace table tz_rows_b (k1 varchar, k2 varchar, "
                f"ts {kind(forms['view_b'])}, z bigint)")
    if rows_b:
        con.executemany("insert into tz_rows_b values (?, ?, ?, ?)",
                        [[r["k1"], r["k2"], r["ts"], r["z"]] for r in rows_b])


def _expected(scenario, forms, spine, rows_a, rows_b):
    specs, known = SCENARIOS[scenario]
    by_view = {"view_a": rows_a, "view_b": rows_b}
    return as_of_join_any_zone(spine, SPINE_COLUMNS,
                               [(spec, by_view[spec["name"]]) for spec in specs],
                               TZ_DEFAULTS, spine_aware=forms["spine"],
                               known_at_event=known)


def _check(con, scenario, zone, forms, spine, rows_a, rows_b) -> None:
    con.execute(f"set TimeZone = '{zone}'")
    _load(con, forms, spine, rows_a, rows_b)
    expected = _expected(scenario, forms, spine, rows_a, rows_b)
    aware_views = frozenset(name for name in ("view_a", "view_b") if forms[name])
    for body in BODIES:
        got = con.execute(join_sql(body, scenario, forms["spine"], aware_views)).fetchall()
        assert len(got) == len(spine), f"{body}: row count changed"
        # aware datetimes compare (and hash) by instant, and never equal a naive one:
        # the form of every time is checked along with its value
        assert_same_rows(got, expected, f"{body} body disagrees with the reference "
                         f"(session {zone}, forms {forms})")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_as_of_join_in_any_zone_matches_brute_force(scenario, con):
    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(zone=st.sampled_from(ZONES), drawn=mixed_forms())
    def check(zone, drawn):
        _check(con, scenario, zone, *drawn)

    check()


def test_unmarked_aware_columns_let_the_session_zone_in(con):
    """Proves the property can fail: without `utc_columns`, a naive spine time meets an
    aware feature_ts through the session's zone (Kolkata: 5:30 early) and misses it."""
    forms = {"spine": False, "view_a": True, "view_b": False}
    spine = [{"k": 1, "k1": None, "k2": None, "event_ts": BASE + timedelta(minutes=3),
              "label": 0}]
    instant = BASE + timedelta(minutes=2)
    rows_a = [{"k": 1, "feature_ts": at_offset(instant, OFFSETS[3]),
               "created_ts": at_offset(instant, OFFSETS[0]), "x": 7, "y": "p", "w": None}]
    _check(con, "one_view", "Asia/Kolkata", forms, spine, rows_a, [])
    [(x, feature_ts)] = con.execute(
        "select view_a__x, view_a__feature_ts from ("
        + join_sql("duckdb", "one_view", False, frozenset()) + ")").fetchall()
    assert (x, feature_ts) == (-1, None)  # the default: the value was missed
