"""Hypothesis strategies of the on-demand parity tests: expressions drawn from the whole
subset, and input rows full of NULLs, zeros, negatives, extremes, unicode and aware
times in several zones. Shared by tests/core/test_ondemand_parity.py (Python, DuckDB,
Snowflake through fakesnow) and tests/spark/test_ondemand_spark.py.

The expressions are text, written as a user would: the oracle is each engine running the
rendered SQL, and nothing here shares code with the evaluator or the renderers.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import struct
import zoneinfo

from hypothesis import strategies as st

# the inputs every drawn expression may read: name -> dtype
INPUTS = {"i1": "int64", "i2": "int64", "f1": "float64", "f2": "float64", "s1": "string",
          "s2": "string", "t1": "timestamp", "t2": "timestamp", "z": "string", "b1": "bool"}
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/St_Johns", "Asia/Tokyo", "Africa/Casablanca"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

ints = st.one_of(st.none(), st.sampled_from([0, 1, -1, 2, -2, 7, -7, 60, INT64_MAX, INT64_MIN,
                                             INT64_MAX - 1, 2**53 + 1, -(2**31)]),
                 st.integers(-1000, 1000), st.integers(INT64_MIN, INT64_MAX))
floats = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 0.49999999999999994, 1e-300,
                     -1e-300, 5e-324, 1e300, -1e300, 1.7976931348623157e308, math.pi, 709.0,
                     710.0, 4503599627370497.0, 1e16 + 2]),
    st.floats(-1e6, 1e6, allow_nan=False), st.floats(allow_nan=False, allow_infinity=False))
# no surrogates (not UTF-8) and no NUL (not a C string); ASCII letters, spaces, accents,
# emoji, combining marks
text = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "  a  ", "ABC", "abc", "Straße", "ÉCOLE", "İı", "ǅ", "👍🏽",
                     "e\u0301", "日本語", "a'b", "back\\slash", "${x}", "%_", "Σσς"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=12))


@st.composite
def instants(draw):
    """An aware time between 1970 and 2100 in one of the zones (or NULL), whole
    microseconds; the engines get its UTC instant."""
    if draw(st.integers(0, 9)) == 0:
        return None
    naive = draw(st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2099, 12, 30)))
    zone = zoneinfo.ZoneInfo(draw(st.sampled_from(ZONES)))
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


rows = st.fixed_dictionaries({
    "i1": ints, "i2": ints, "f1": floats, "f2": floats, "s1": text, "s2": text,
    "t1": instants(), "t2": instants(), "z": st.one_of(st.none(), st.sampled_from(ZONES)),
    "b1": st.one_of(st.none(), st.booleans())})


def _lit_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _call(name, *parts):
    return st.tuples(*parts).map(lambda args: f"{name}({', '.join(args)})")


def _binary(op, left, right):
    return st.tuples(left, right).map(lambda ab: f"({ab[0]} {op} {ab[1]})")


def expressions(depth: int = 3):
    """(dtype, text) of a drawn expression."""
    return st.one_of(*(typed(t, depth).map(lambda text, t=t: (t, text))
                       for t in ("float64", "int64", "string", "bool", "timestamp")))


@functools.cache
def typed(dtype: str, depth: int):
    leaves = {
        "int64": st.one_of(st.sampled_from(["i1", "i2"]),
                           st.sampled_from(["0", "1", "-1", "3", "-7", "9223372036854775807"])),
        "float64": st.one_of(st.sampled_from(["f1", "f2"]),
                             st.sampled_from(["0.5", "2.0", "-1.5", "1e300", "3.14159",
                                              "0.1"])),
        "string": st.one_of(st.sampled_from(["s1", "s2"]), text.filter(bool).map(_lit_str)),
        "bool": st.sampled_from(["b1", "true", "false"]),
        "timestamp": st.sampled_from(["t1", "t2"]),
    }[dtype]
    if depth <= 0:
        return leaves
    return st.one_of(leaves, _composite(dtype, depth - 1))


@functools.cache
def _num(depth):
    return st.one_of(typed("float64", depth), typed("int64", depth))


@functools.cache
def _composite(dtype: str, d: int):
    same = typed(dtype, d)
    generic = [
        st.tuples(typed("bool", d), same, same).map(
            lambda c: f"case when {c[0]} then {c[1]} else {c[2]} end"),
        st.tuples(same, same).map(lambda ab: f"coalesce({ab[0]}, {ab[1]})"),
        st.tuples(same, same).map(lambda ab: f"nullif({ab[0]}, {ab[1]})"),
        st.tuples(st.sampled_from(["least", "greatest"]), same, same).map(
            lambda c: f"{c[0]}({c[1]}, {c[2]})"),
    ]
    if dtype == "float64":
        unary = st.sampled_from(["abs", "sqrt", "ln", "log10", "exp", "floor", "ceil", "round",
                                 "sin", "cos", "tan", "asin", "acos", "atan", "radians",
                                 "degrees"])
        options = [
            st.tuples(st.sampled_from(["+", "-", "*", "/"]), _num(d), _num(d)).map(
                lambda c: f"({c[1]} {c[0]} {c[2]})"),
            _num(d).map(lambda x: f"(-({x}))"),
            st.tuples(unary, _num(d)).map(lambda c: f"{c[0]}({c[1]})"),
            st.tuples(_num(d), st.integers(0, 4)).map(lambda c: f"round({c[0]}, {c[1]})"),
            _call("power", _num(d), _num(d)), _call("atan2", _num(d), _num(d)),
            _call("haversine_km", _num(d), _num(d), _num(d), _num(d)),
            _call("clip", _num(d), _num(d), _num(d)), _call("zscore", _num(d), _num(d), _num(d)),
        ]
    elif dtype == "int64":
        options = [
            _binary("%", same, same), _call("mod", same, same), _call("sign", _num(d)),
            _call("length", typed("string", d)),
            st.tuples(st.sampled_from(["year", "month", "day", "hour", "minute", "second",
                                       "dow", "doy"]), typed("timestamp", d)).map(
                lambda c: f"date_part('{c[0]}', {c[1]})"),
            st.tuples(st.sampled_from(["hour", "day", "dow", "minute"]), typed("timestamp", d),
                      st.one_of(st.just("z"), st.sampled_from(ZONES).map(_lit_str))).map(
                lambda c: f"date_part('{c[0]}', {c[1]}, {c[2]})"),
            st.tuples(st.sampled_from(["second", "minute", "hour", "day"]),
                      typed("timestamp", d), typed("timestamp", d)).map(
                lambda c: f"date_diff('{c[0]}', {c[1]}, {c[2]})"),
        ]
    elif dtype == "string":
        options = [
            st.tuples(st.sampled_from(["lower", "upper", "trim", "ltrim", "rtrim"]), same).map(
                lambda c: f"{c[0]}({c[1]})"),
            st.tuples(same, st.integers(1, 6), st.integers(0, 5)).map(
                lambda c: f"substr({c[0]}, {c[1]}, {c[2]})"),
            st.tuples(same, text.filter(bool).map(_lit_str), text.map(
                lambda t: _lit_str(t or ""))).map(lambda c: f"replace({c[0]}, {c[1]}, {c[2]})"),
            _binary("||", same, same), _call("concat", same, same, same),
        ]
    elif dtype == "bool":
        options = [
            st.tuples(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), _num(d), _num(d)).map(
                lambda c: f"({c[1]} {c[0]} {c[2]})"),
            *(st.tuples(st.sampled_from(["=", "<>", "<", ">="]), typed(t, d), typed(t, d)).map(
                lambda c: f"({c[1]} {c[0]} {c[2]})")
              for t in ("float64", "int64", "string", "timestamp", "bool")),
            _binary("and", same, same), _binary("or", same, same),
            same.map(lambda x: f"(not {x})"),
            *(st.tuples(typed(t, d), st.sampled_from(["", "not "])).map(
                lambda c: f"({c[0]} is {c[1]}null)") for t in ("float64", "string", "timestamp")),
            st.tuples(typed("int64", d), st.lists(st.integers(-8, 8), min_size=1, max_size=4)
                      ).map(lambda c: f"({c[0]} in ({', '.join(map(str, c[1]))}))"),
            st.tuples(_num(d), st.floats(-10, 10), st.floats(-10, 10)).map(
                lambda c: f"({c[0]} between {c[1]!r} and {c[2]!r})"),
            st.tuples(st.sampled_from(["starts_with", "ends_with", "contains"]),
                      typed("string", d), typed("string", d)).map(
                lambda c: f"{c[0]}({c[1]}, {c[2]})"),
        ]
    else:
        options = []
    return st.one_of(*options, *generic)


def ulps(a: float, b: float) -> int:
    """How many float64s apart ``a`` and ``b`` are (0: the same double)."""
    def ordered(x):
        n = struct.unpack("<q", struct.pack("<d", x))[0]
        return n if n >= 0 else INT64_MIN - n
    return abs(ordered(a) - ordered(b))


def normalize(dtype: str, value):
    """An engine's answer as the evaluator's Python value (for comparison)."""
    if value is None:
        return None
    if dtype == "timestamp":
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if dtype == "int64":
        return int(value)
    if dtype == "float64":
        return float(value)
    if dtype == "bool":
        return bool(value)
    return value


def same(dtype: str, expected, got, max_ulps: int = 0) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if dtype == "float64":
        return expected == got or ulps(expected, got) <= max_ulps
    return expected == got and type(expected) is type(got)
