"""The on-demand subset's load-time check and its pinned meanings.

The refusals: everything outside the subset is refused with the contract's file:line,
the field and the reason. The pinned meanings: one table of (expression, inputs,
expected value) where warehouses disagree, each value worked out by hand from
docs/request-time.md; the evaluator gives it, and DuckDB and the Snowflake body (through
fakesnow) give it too (tests/core/test_ondemand_parity.py draws the rest).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from featurestore.errors import ContractError
from featurestore.ondemand import compile_expression

INPUTS = {"a": "int64", "x": "float64", "s": "string", "ts": "timestamp", "zone": "string",
          "b": "bool"}
WHERE = "feature_defs/fraud_request.yml:12, field `features[0].sql`: expression "


@pytest.mark.parametrize(("text", "reason"), [
    ("(select max(a) from t)", "a subquery is not in the subset"),
    ("a + (select 1)", "a subquery is not in the subset"),
    ("sum(a)", "`sum()` is an aggregate; aggregates are not in the subset (compute them in "
               "a feature view and read the feature)"),
    ("count(*) over ()", "window functions are not in the subset"),
    ("random()", "`random()` is not deterministic"),
    ("now()", "`now()` is not deterministic"),
    ("current_timestamp", "`current_timestamp` is not deterministic"),
    ("unknown_column + 1", "unknown name `unknown_column` (the inputs are: a, b, s, ts, x, "
                           "zone)"),
    ("frobnicate(a)", "unknown function `frobnicate()`; docs/request-time.md lists the "
                      "subset's functions"),
    ("cast(a as double)", "casts are not in the subset (their rounding differs per "
                          "warehouse); use floor, ceil or round"),
    ("a::double", "casts are not in the subset (their rounding differs per warehouse); use "
                  "floor, ceil or round"),
    ("t.a", "`t.a`: name an input directly, without a qualifier"),
    ("a + s", "`a + s` needs numbers; `s` is string"),
    ("x % 2", "`mod()` takes int64 here; `x` is float64"),
    ("case when a then 1 end", "`CASE WHEN a THEN 1 END` needs a condition; `a` is int64"),
    ("coalesce(a, s)", "the arguments of `coalesce()` mixes int64, string; give them one "
                       "dtype"),
    ("date_part('week', ts)", "`date_part()` takes one of 'year', 'month', 'day', 'hour', "
                              "'minute', 'second', 'dow', 'doy', not 'week'"),
    ("date_part('hour', ts, 'Mars/Olympus')", "unknown time zone 'Mars/Olympus'; name an "
                                              "IANA zone such as 'Europe/Paris'"),
    ("round(x, a)", "`round()` takes a literal in place of `a`"),
    ("round(x, 16)", "`round()` takes an integer from 0 to 15 in place of 16"),
    ("substr(s, 0, 2)", "`substr()` takes an integer from 1 up in place of 0"),
    ("replace(s, '', 'x')", "`replace()` takes a non-empty string literal, not ''"),
    ("a in (1, null)", "`IN` takes a list of literals that are not NULL"),
    ("haversine_km(x, x)", "`haversine_km()` takes 4 arguments (lat1, lon1, lat2, lon2), "
                           "not 2"),
    ("a like 'x%'", "`a LIKE 'x%'` is not in the subset"),
    ("a +", "is not valid SQL (it stops at line 1, column 3)"),
    ("a; a", "must be one expression (no `;`)"),
    ("99999999999999999999", "99999999999999999999 is past int64's range"),
])
def test_outside_the_subset_is_refused_with_file_line_and_reason(text, reason):
    with pytest.raises(ContractError) as caught:
        compile_expression(text, INPUTS, path="feature_defs/fraud_request.yml", line=12,
                           field="features[0].sql")
    assert str(caught.value) == f"{WHERE}`{text}`: {reason}"


UTC = dt.UTC
ROW = {"a": -7, "x": 2.5, "s": " Straße ÉCOLE ", "zone": "America/New_York", "b": None,
       "ts": dt.datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC)}
# (expression, expected): where warehouses disagree, the subset's one meaning
PINNED = [
    ("7 / 2", 3.5),                      # no integer division: / is float64
    ("a / 0", None),                     # division by zero is NULL, not an error or inf
    ("a % 3", -1),                       # modulo keeps the dividend's sign
    ("mod(7, -3)", 1),
    ("mod(a, 0)", None),
    ("mod(-9223372036854775808, -1)", 0),  # not an overflow
    ("round(x)", 3.0),                   # half away from zero, not half to even
    ("round(-x)", -3.0),
    ("round(0.125, 2)", 0.13),
    ("floor(-x)", -3.0),
    ("sign(a)", -1),
    ("sqrt(a)", None),                   # outside the domain: NULL, not NaN or an error
    ("ln(0)", None),
    ("exp(1000)", None),                 # past float64: NULL, not inf
    ("1e300 * 1e300", None),
    ("least(a, null)", None),            # NULL if any argument is (DuckDB, Spark skip it)
    ("greatest(x, a)", 2.5),
    ("lower(s)", " straße École "),      # ASCII-only case mapping: É stays, ß stays
    ("upper(s)", " STRAßE ÉCOLE "),
    ("trim(s)", "Straße ÉCOLE"),
    ("length(s)", 14),                   # code points
    ("'B' < 'a'", True),                 # binary (code point) order, not a locale's
    ("'é' > 'z'", True),
    ("s || null", None),
    ("concat(s, null)", None),           # concat is ||: DuckDB's concat skips NULLs
    ("date_part('hour', ts)", 6),        # UTC by default
    ("date_part('hour', ts, zone)", 1),  # 06:59:59Z on the morning New York springs ahead
    ("date_part('dow', ts)", 7),         # ISO: Sunday is 7
    ("date_diff('day', ts, ts)", 0),
    ("b and false", False),              # three-valued logic
    ("b or true", True),
    ("b and true", None),
    ("a in (1, 2)", False),
    ("case when b then 1 else 2 end", 2),  # a NULL condition is not true
    ("coalesce(b, a > 0)", False),
    ("nullif(a, -7)", None),
]


@pytest.mark.parametrize(("text", "expected"), PINNED)
def test_the_pinned_meaning(text, expected):
    assert compile_expression(text, INPUTS).evaluate(ROW) == expected


def test_haversine_km_is_the_great_circle_distance():
    """Paris to Lyon, against the spherical law of cosines (another formula)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (48.8566, 2.3522, 45.764, 4.8357))
    expected = 6371.0088 * math.acos(math.sin(lat1) * math.sin(lat2) + math.cos(lat1)
                                     * math.cos(lat2) * math.cos(lon2 - lon1))
    got = compile_expression("haversine_km(48.8566, 2.3522, 45.764, 4.8357)", {}).evaluate({})
    assert got == pytest.approx(expected, rel=1e-9) and round(got) == 391


def test_date_diff_truncates_elapsed_time_toward_zero():
    start = dt.datetime(2024, 1, 1, 23, 0, tzinfo=UTC)
    row = {"ts": start, "t2": start + dt.timedelta(hours=47, minutes=59)}
    days = compile_expression("date_diff('day', ts, t2)", {"ts": "timestamp",
                                                             "t2": "timestamp"})
    back = compile_expression("date_diff('day', t2, ts)", {"ts": "timestamp",
                                                             "t2": "timestamp"})
    assert (days.evaluate(row), back.evaluate(row)) == (1, -1)


def test_a_naive_time_is_utc_and_an_aware_one_its_instant():
    hour = compile_expression("date_part('hour', ts)", {"ts": "timestamp"})
    paris = dt.datetime(2024, 7, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert hour.evaluate({"ts": paris}) == 12
    assert hour.evaluate({"ts": dt.datetime(2024, 7, 1, 14, 0)}) == 14


def test_the_result_dtype_is_inferred():
    dtypes = {text: compile_expression(text, INPUTS).dtype for text in
              ("a + 1", "a % 2", "s || 'x'", "a > 1", "coalesce(ts, ts)", "sign(x)",
               "case when b then a else null end")}
    assert dtypes == {"a + 1": "float64", "a % 2": "int64", "s || 'x'": "string",
                      "a > 1": "bool", "coalesce(ts, ts)": "timestamp", "sign(x)": "int64",
                      "case when b then a else null end": "int64"}


def test_a_checked_tree_round_trips_through_json_without_sqlglot():
    """The lookup rebuilds expressions from a snapshot's JSON: same tree, same values,
    and importing the evaluator does not import sqlglot."""
    import json
    import subprocess
    import sys

    from featurestore.ondemand import from_tree

    for text, _ in PINNED:
        checked = compile_expression(text, INPUTS)
        rebuilt = from_tree(text, json.loads(json.dumps(checked.tree.to_dict())))
        assert rebuilt.tree == checked.tree
        assert rebuilt.evaluate(ROW) == checked.evaluate(ROW)
    code = ("import sys, featurestore.ondemand, featurestore.ondemand.evaluate; "
            "print('sqlglot' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_the_sql_guards_only_what_can_overflow():
    """Each guard repeats its operand, so a guard everywhere doubles the SQL per level (a
    haversine over four columns was 430 kB, 29 s for DuckDB to plan); bounds.py leaves
    out the guards that can never fire, which the parity tests hold to the same values."""
    from featurestore.dialects.duckdb import DuckDB

    floats = {name: "float64" for name in ("x", "y", "lat1", "lon1", "lat2", "lon2")}

    def sql(text):
        return compile_expression(text, floats).sql(DuckDB(), lambda name: name)

    guard = "<= 1.7976931348623157e+308 then"
    assert len(sql("haversine_km(lat1, lon1, lat2, lon2)")) < 12_000
    # the product is guarded, and repeats its operands (each input guarded as read)
    assert sql("x * y").count(guard) == 5
    assert sql("sin(x) * cos(y)").count(guard) == 2   # the inputs only
    assert "nullif" not in sql("x / 2") and "nullif" in sql("x / y")
    assert "case when" not in sql("asin(sin(1.5))") and "case when" in sql("asin(x)")
