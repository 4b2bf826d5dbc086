"""The functions of the on-demand subset: each name, what it takes, what it yields.

One table, read by the checker (subset.py) and printed in docs/request-time.md, so the
documentation and the check cannot disagree. An argument kind says what the checker
accepts in that place:

- ``num``: an int64 or float64 expression, computed as float64 (ints converted first);
- ``int``, ``str``, ``ts``: an expression of that dtype;
- ``unit``: a string literal naming a date part (``DATE_PARTS``); ``span``: a unit of
  elapsed time (``SPANS``);
- ``zone``: a string expression naming an IANA time zone (a literal is checked on load);
- ``digits``: an integer literal from 0 to 15; ``start``: from 1; ``count``: from 0;
- ``needle``: a string literal that is not empty; ``literal``: any string literal.

docs/request-time.md lists every name (tests/core/test_ondemand_subset.py checks it).
The result is a dtype, or ``same``: the operands' common dtype (int64 and float64 mix as
float64; a NULL literal takes the others').
"""

from __future__ import annotations

from dataclasses import dataclass

from featurestore.ondemand.nodes import BOOL, FLOAT, INT, STRING


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]
    result: str
    # how many arguments it takes at least; None: exactly len(params)
    at_least: int | None = None
    # None: exactly the params; "repeat": the last param repeats
    variadic: bool = False
    summary: str = ""


def _num(summary: str) -> Signature:
    return Signature(("num",), FLOAT, summary=summary)


FUNCTIONS: dict[str, Signature] = {
    # math: float64 in, float64 out; outside its domain a function is NULL
    "abs": _num("absolute value"),
    "sign": Signature(("num",), INT, summary="-1, 0 or 1 (int64)"),
    "sqrt": _num("square root; NULL below 0"),
    "ln": _num("natural logarithm; NULL at or below 0"),
    "log10": _num("base-10 logarithm; NULL at or below 0"),
    "exp": _num("e to the power; NULL past float64's range"),
    "power": Signature(("num", "num"), FLOAT,
                       summary="x to the power y; NULL where undefined or out of range"),
    "floor": _num("largest whole number not above, as float64"),
    "ceil": _num("smallest whole number not below, as float64"),
    "round": Signature(("num", "digits"), FLOAT, at_least=1,
                       summary="half away from zero: round(x * 10^d) / 10^d in float64"),
    "sin": _num("sine (radians)"),
    "cos": _num("cosine (radians)"),
    "tan": _num("tangent (radians)"),
    "asin": _num("arcsine; NULL outside [-1, 1]"),
    "acos": _num("arccosine; NULL outside [-1, 1]"),
    "atan": _num("arctangent"),
    "atan2": Signature(("num", "num"), FLOAT, summary="atan2(y, x)"),
    "radians": _num("degrees to radians"),
    "degrees": _num("radians to degrees"),
    "pi": Signature((), FLOAT, summary="3.141592653589793"),
    "mod": Signature(("int", "int"), INT,
                     summary="remainder with the sign of the dividend; NULL for 0"),
    # choices
    "least": Signature(("any",), "same", at_least=2, variadic=True,
                       summary="smallest; NULL if any argument is NULL"),
    "greatest": Signature(("any",), "same", at_least=2, variadic=True,
                          summary="largest; NULL if any argument is NULL"),
    "coalesce": Signature(("any",), "same", at_least=1, variadic=True,
                          summary="first argument that is not NULL"),
    "nullif": Signature(("any", "any"), "same", summary="NULL if both are equal, else the first"),
    # strings: code points, binary (code point) order, ASCII-only case mapping
    "length": Signature(("str",), INT, summary="number of code points"),
    "lower": Signature(("str",), STRING, summary="A-Z to a-z; other characters unchanged"),
    "upper": Signature(("str",), STRING, summary="a-z to A-Z; other characters unchanged"),
    "trim": Signature(("str",), STRING, summary="spaces (U+0020) removed from both ends"),
    "ltrim": Signature(("str",), STRING, summary="spaces removed from the start"),
    "rtrim": Signature(("str",), STRING, summary="spaces removed from the end"),
    "substr": Signature(("str", "start", "count"), STRING,
                        summary="substr(s, start, count): code points from start (1-based)"),
    "replace": Signature(("str", "needle", "literal"), STRING,
                         summary="every occurrence of a non-empty literal replaced"),
    "concat": Signature(("str",), STRING, at_least=1, variadic=True,
                        summary="the strings joined; NULL if any is NULL (as ||)"),
    "starts_with": Signature(("str", "str"), BOOL, summary="whether s starts with p"),
    "ends_with": Signature(("str", "str"), BOOL, summary="whether s ends with p"),
    "contains": Signature(("str", "str"), BOOL, summary="whether s contains p"),
    # time: instants (UTC), read in UTC or in a named zone
    "date_part": Signature(("unit", "ts", "zone"), INT, at_least=2,
                           summary="date_part(unit, ts[, zone]): the wall-clock part in the "
                                   "zone (UTC by default)"),
    "date_diff": Signature(("span", "ts", "ts"), INT,
                           summary="date_diff(unit, start, end): whole units elapsed, "
                                   "truncated toward zero"),
}

# date_part's units; dow is ISO: Monday 1 .. Sunday 7
DATE_PARTS = ("year", "month", "day", "hour", "minute", "second", "dow", "doy")
# date_diff's units, in microseconds
SPANS = {"second": 1_000_000, "minute": 60_000_000, "hour": 3_600_000_000,
         "day": 86_400_000_000}

AGGREGATES = frozenset({
    "sum", "count", "avg", "min", "max", "median", "stddev", "stddev_pop", "stddev_samp",
    "variance", "var_pop", "var_samp", "array_agg", "listagg", "string_agg", "any_value",
    "first", "last", "mode", "approx_count_distinct", "quantile", "percentile_cont",
    "percentile_disc", "corr", "covar_pop", "covar_samp", "bool_and", "bool_or",
    "count_if", "sum_if", "group_concat", "first_value", "last_value", "lag", "lead",
    "row_number", "rank", "dense_rank", "ntile"})
NON_DETERMINISTIC = frozenset({
    "random", "rand", "randn", "uuid", "uuid_string", "gen_random_uuid", "now",
    "current_timestamp", "current_date", "current_time", "localtimestamp", "localtime",
    "getdate", "sysdate", "systimestamp", "today", "get_current_timestamp", "seq4",
    "seq8", "nextval", "setseed", "unix_timestamp", "current_user"})
