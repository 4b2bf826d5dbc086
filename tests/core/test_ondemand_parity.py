"""On-demand parity: the endpoint's Python value equals DuckDB's and the Snowflake
body's (run by fakesnow, parsed by sqlglot's Snowflake dialect) for expressions drawn
from the whole subset over hostile inputs, exactly (floats too: Python, DuckDB and
fakesnow's DuckDB call the same C library). Spark's side is tests/spark/
test_ondemand_spark.py. Each drawn example is one expression over ROWS rows, so the
property covers EXAMPLES * ROWS cases (10,000 with the figures below).
"""

from __future__ import annotations

import datetime as dt
import os
from unittest import mock

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from featurestore.dialects.duckdb import DuckDB
from featurestore.dialects.snowflake import Snowflake
from featurestore.ondemand import compile_expression
from tests.ondemand_cases import INPUTS, expressions, normalize, rows, same

EXAMPLES, ROWS = int(os.environ.get("ONDEMAND_EXAMPLES", "400")), 25
# CI checks one known sample, whole (as the Spark step does); ONDEMAND_RANDOM=1 draws a new
# one, the way to look for more: random runs found the round() bound (fixed) and a
# fakesnow rewrite of ltrim(x, ' ') that trims both ends (2026-12-05)
RANDOM = os.environ.get("ONDEMAND_RANDOM") == "1"
DUCK_TYPES = {"int64": "bigint", "float64": "double", "string": "varchar", "bool": "boolean",
              "timestamp": "timestamp"}
SNOW_TYPES = {**DUCK_TYPES, "int64": "number(38,0)", "float64": "float",
              "timestamp": "timestamp_ntz"}
NAMES = list(INPUTS)


def _column(name: str) -> str:
    return f'"{name}"'


def _naive(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _create(cursor, types):
    columns = ", ".join(f'"{n}" {types[INPUTS[n]]}' for n in NAMES)
    cursor.execute(f'create or replace table inputs ("rid" integer, {columns})')


def _trim_cast_keeping_its_side(expression):
    """fakesnow's own trim_cast_varchar (the implicit cast of Snowflake's TRIM) rebuilds the
    TRIM from its operand alone, so `ltrim(x, ' ')` trimmed both ends and `ltrim(x, 'ab')`
    lost its characters: a random draw of `length(ltrim(s1))` on '  a  ' failed CI on
    fakesnow's rewrite, not on our SQL. The same cast, the side and characters kept."""
    from sqlglot import exp

    if not isinstance(expression, exp.Trim):
        return expression
    operand = expression.this
    if isinstance(operand, exp.Cast) and operand.to.this in (exp.DataType.Type.VARCHAR,
                                                            exp.DataType.Type.TEXT):
        return expression
    trimmed = expression.copy()
    trimmed.set("this", exp.Cast(this=operand, to=exp.DataType.build("varchar")))
    return trimmed


@pytest.fixture(scope="module")
def duck():
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    _create(con, DUCK_TYPES)
    yield con
    con.close()


@pytest.fixture(scope="module")
def snow():
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector
    from fakesnow.variables import Variables

    # fakesnow finds session variables by a regular expression over the whole statement,
    # string literals included, so a drawn literal such as '$J' fails as "Session variable
    # '$J' does not exist"; Snowflake reads none inside a literal, and these statements
    # use no session variable, so none is inlined here
    with fakesnow.patch(), mock.patch.object(Variables, "inline_variables",
                                             lambda self, sql: sql), \
            mock.patch("fakesnow.transforms.trim_cast_varchar", _trim_cast_keeping_its_side):
        con = snowflake.connector.connect(database="DB", schema="ONDEMAND")
        cursor = con.cursor()
        cursor.execute("create database if not exists DB")
        cursor.execute("create schema if not exists DB.ONDEMAND")
        cursor.execute("use schema DB.ONDEMAND")
        _create(cursor, SNOW_TYPES)
        yield cursor
        con.close()


def _load(duck, snow, batch):
    """The rows into both warehouses, one INSERT each (one statement for fakesnow to
    translate, not one per row)."""
    values = [v for i, row in enumerate(batch) for v in (i, *(_naive(row[n]) for n in NAMES))]
    for cursor, mark in ((duck, "?"), (snow, "%s")):
        marks = "(" + ", ".join([mark] * (len(NAMES) + 1)) + ")"
        cursor.execute("delete from inputs")
        cursor.execute(f"insert into inputs values {', '.join([marks] * len(batch))}", values)


def _answers(cursor, sql):
    cursor.execute(f'select {sql} from inputs order by "rid"')
    return [r[0] for r in cursor.fetchall()]


def check(duck, snow, dtype, text, batch):
    expression = compile_expression(text, INPUTS)
    expected = [expression.evaluate(row) for row in batch]
    duck_sql = expression.sql(DuckDB(), _column)
    snow_sql = expression.sql(Snowflake(), _column)
    sqlglot.parse_one(f"select {snow_sql} from inputs", read="snowflake")
    for engine, cursor, sql in (("duckdb", duck, duck_sql), ("snowflake", snow, snow_sql)):
        got = [normalize(expression.dtype, v) for v in _answers(cursor, sql)]
        for row, want, value in zip(batch, expected, got, strict=True):
            assert same(expression.dtype, want, value), (
                f"{engine}: {text}\nrow {row}\npython {want!r} != {engine} {value!r}\n{sql}")


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(drawn=expressions(), batch=st.lists(rows, min_size=ROWS, max_size=ROWS))
def test_python_equals_duckdb_and_snowflake(duck, snow, drawn, batch):
    dtype, text = drawn
    _load(duck, snow, batch)
    check(duck, snow, dtype, text, batch)


def test_a_dollar_word_in_a_string_literal_is_text(duck, snow):
    """CI drew '$J' in a literal: fakesnow took it for a session variable (see `snow`)."""
    batch = [{**dict.fromkeys(INPUTS), "s1": "x"}, dict.fromkeys(INPUTS)]
    _load(duck, snow, batch)
    check(duck, snow, "string", "least(('$J' || nullif(s1, 'y')), s1)", batch)
    check(duck, snow, "string", "concat('$name and $1', s1)", batch)


def test_ltrim_and_rtrim_keep_the_other_side(duck, snow):
    """CI drew `length(ltrim(s1))` on '  a  ': Snowflake keeps the trailing spaces (3),
    and so must the check (see _trim_cast_keeping_its_side)."""
    batch = [{**dict.fromkeys(INPUTS), "s1": "  a  "}, {**dict.fromkeys(INPUTS), "s1": " "},
             dict.fromkeys(INPUTS)]
    _load(duck, snow, batch)
    check(duck, snow, "int64", "length(ltrim(s1))", batch)
    check(duck, snow, "string", "concat('[', rtrim(s1), ']')", batch)


def test_a_division_by_a_rounded_fraction_can_overflow(duck, snow):
    """CI drew it: dividing the largest double by -round(0.5, 4) overflows to NULL; the
    bounds once took round(0.5, 4) for about 5000 and left the quotient unguarded, so
    DuckDB answered -inf."""
    batch = [{**dict.fromkeys(INPUTS), "f1": 1.7976931348623157e308}, dict.fromkeys(INPUTS)]
    _load(duck, snow, batch)
    check(duck, snow, "float64", "zscore(f1, (-(round(0.5, 0))), (-(round(0.5, 4))))", batch)
    check(duck, snow, "float64", "f1 / round(0.04, 1)", batch)
