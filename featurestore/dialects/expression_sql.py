"""How each warehouse spells the pinned meaning of every on-demand construct.

The subset (featurestore/ondemand/) gives each construct one meaning where warehouses
disagree: arithmetic in float64, division and modulo by zero NULL, a non-finite result
NULL, modulo with the dividend's sign, rounding half away from zero, least/greatest NULL
when any argument is, ASCII-only case mapping, trimming spaces only, code points, UTC
instants read in a named zone, elapsed time truncated toward zero. ``ExpressionSql``
writes that meaning in the SQL every warehouse reads alike; one subclass per warehouse
overrides only where its spelling differs (as sqlglot's dialect classes do), and each
dialect object (featurestore/dialects/) holds its speller as ``expressions``.
featurestore/ondemand/render.py walks the tree and calls these methods with the
operands already rendered: no ``if dialect == ...`` anywhere else.
"""

from __future__ import annotations

ASCII_UPPER, ASCII_LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
MAX_FLOAT = "1.7976931348623157e+308"
TO_RADIANS, TO_DEGREES = "1.7453292519943295e-02", "5.7295779513082323e+01"


class ExpressionSql:
    """The standard spelling (DuckDB reads all of it)."""

    types = {"int64": "bigint", "float64": "double", "string": "varchar", "bool": "boolean",
             "timestamp": "timestamp", "null": "varchar"}
    # date_part's units: the function of the wall-clock timestamp that reads each
    parts = {"year": "year({})", "month": "month({})", "day": "day({})", "hour": "hour({})",
             "minute": "minute({})", "second": "second({})", "dow": "isodow({})",
             "doy": "dayofyear({})"}
    functions = {"ln": "ln", "log10": "log10", "exp": "exp", "sin": "sin", "cos": "cos",
                 "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
                 "atan2": "atan2", "power": "pow", "sqrt": "sqrt", "abs": "abs",
                 "length": "length", "starts_with": "starts_with", "ends_with": "ends_with",
                 "contains": "contains"}

    # -- values ------------------------------------------------------------------------
    def null(self, dtype: str) -> str:
        return f"cast(null as {self.types[dtype]})"

    def float_literal(self, value: float) -> str:
        """Always with an exponent, so every warehouse reads a float64 (a plain decimal
        is a DECIMAL on DuckDB and Snowflake); 17 digits give back the same double."""
        return f"{value:.17e}"

    def int_literal(self, value: int) -> str:
        return f"cast({value} as bigint)" if abs(value) > 2**31 - 1 else str(value)

    def to_float(self, x: str) -> str:
        return f"cast({x} as double)"

    def finite(self, x: str) -> str:
        """``x`` where it is finite, else NULL: NaN sorts above every number in each
        warehouse, so it fails the bound as infinities do."""
        return f"(case when abs({x}) <= {MAX_FLOAT} then {x} end)"

    def float_input(self, x: str) -> str:
        """A float64 input: NULL unless finite, and a zero without its sign (+ 0.0 turns
        -0.0 into 0.0), since drivers and files do not all keep it."""
        return f"(case when abs({x}) <= {MAX_FLOAT} then {x} + {self.float_literal(0.0)} end)"

    # -- arithmetic --------------------------------------------------------------------
    def div(self, a, b, *, zero_possible: bool = True):
        """``a / b``; NULL for a zero divisor (written only where one can occur)."""
        return f"({a} / nullif({b}, {self.float_literal(0.0)}))" if zero_possible \
            else f"({a} / {b})"

    def neg(self, a):
        return f"(- {a})"

    def mod(self, a, b):
        # x % -1 is 0; spelled % 1 so that min(int64) % -1 cannot overflow
        return f"({a} % nullif(case when {b} = -1 then 1 else {b} end, 0))"

    # -- math --------------------------------------------------------------------------
    def fn(self, op: str, *args: str) -> str:
        return f"{self.functions[op]}({', '.join(args)})"

    def guarded(self, condition: str, value: str) -> str:
        return f"(case when {condition} then {value} end)"

    def sign(self, a):
        return f"cast(sign({a}) as bigint)"

    def floor(self, a):
        return f"floor({a})"

    def ceil(self, a):
        return f"ceil({a})"

    def round(self, a, digits: int, guard=None):
        """Half away from zero, of ``a * 10^digits``, divided back; ``guard`` wraps the
        scaled value where it can overflow."""
        if not digits:
            return f"round({a})"
        scale = self.float_literal(10.0 ** digits)
        scaled = f"({a} * {scale})"
        return f"(round({guard(scaled) if guard else scaled}) / {scale})"

    def radians(self, a):
        return f"({a} * {TO_RADIANS})"

    def degrees(self, a):
        return f"({a} * {TO_DEGREES})"

    def least_greatest(self, op: str, args: list[str]) -> str:
        """NULL when any argument is: DuckDB and Spark skip NULLs, Snowflake does not."""
        nulls = " or ".join(f"{a} is null" for a in args)
        return f"(case when {nulls} then null else {op}({', '.join(args)}) end)"

    # -- strings -----------------------------------------------------------------------
    def lower(self, a):
        return f"translate({a}, '{ASCII_UPPER}', '{ASCII_LOWER}')"

    def upper(self, a):
        return f"translate({a}, '{ASCII_LOWER}', '{ASCII_UPPER}')"

    def trim(self, op: str, a: str) -> str:
        return f"{op}({a}, ' ')"

    def substr(self, a, start: int, count: int):
        return f"substr({a}, {start}, {count})"

    def concat(self, args: list[str]) -> str:
        return "(" + " || ".join(args) + ")"

    # -- time --------------------------------------------------------------------------
    def in_zone(self, ts: str, zone: str) -> str:
        """The wall-clock time in ``zone`` of the naive UTC timestamp ``ts``."""
        return f"timezone({zone}, timezone('UTC', {ts}))"

    def date_part(self, unit: str, ts: str) -> str:
        return f"cast({self.parts[unit].format(ts)} as bigint)"

    def micros_between(self, start: str, end: str) -> str:
        return f"(epoch_us({end}) - epoch_us({start}))"

    def date_diff(self, span: int, start: str, end: str) -> str:
        """Whole ``span``s (in microseconds) elapsed, truncated toward zero: the
        remainder (sign of the dividend) taken off first, so the division is exact."""
        micros = self.micros_between(start, end)
        return f"cast((({micros}) - ({micros}) % {span}) / {span} as bigint)"


class DuckDBSql(ExpressionSql):
    """DuckDB: the standard spelling.
    https://duckdb.org/docs/sql/functions/overview"""


class SnowflakeSql(ExpressionSql):
    """Snowflake: its own names for a few functions and date parts.
    https://docs.snowflake.com/en/sql-reference-functions"""

    types = {**ExpressionSql.types, "float64": "float", "timestamp": "timestamp_ntz"}
    parts = {**ExpressionSql.parts, "dow": "dayofweekiso({})"}
    functions = {**ExpressionSql.functions, "power": "power", "starts_with": "startswith",
                 "ends_with": "endswith"}

    def to_float(self, x):
        return f"cast({x} as float)"

    def fn(self, op, *args):
        if op == "log10":  # https://docs.snowflake.com/en/sql-reference/functions/log
            return f"log(10, {args[0]})"
        return super().fn(op, *args)

    def mod(self, a, b):
        # https://docs.snowflake.com/en/sql-reference/functions/mod
        return f"mod({a}, nullif(case when {b} = -1 then 1 else {b} end, 0))"

    def in_zone(self, ts, zone):
        # https://docs.snowflake.com/en/sql-reference/functions/convert_timezone
        return f"convert_timezone('UTC', {zone}, {ts})"

    def micros_between(self, start, end):
        # https://docs.snowflake.com/en/sql-reference/functions/timestampdiff
        return f"timestampdiff(microsecond, {start}, {end})"

    def date_diff(self, span, start, end):
        micros = self.micros_between(start, end)
        return f"cast((({micros}) - mod({micros}, {span})) / {span} as bigint)"


class SparkSql(ExpressionSql):
    """Spark: floor and ceil yield bigint (so whole doubles pass through), signum a
    double, trim takes no characters; times are instants read in the session's zone,
    which featurestore's sessions set to UTC.
    https://spark.apache.org/docs/latest/api/sql/index.html"""

    types = {**ExpressionSql.types, "string": "string", "null": "string"}
    parts = {**ExpressionSql.parts, "dow": "(weekday({}) + 1)"}
    functions = {**ExpressionSql.functions, "length": "char_length",
                 "starts_with": "startswith", "ends_with": "endswith"}

    def sign(self, a):
        return f"cast(signum({a}) as bigint)"

    def floor(self, a):
        # a double at or past 2^52 is whole already, and past bigint's range floor fails
        return f"(case when abs({a}) >= 4.5035996273704960e+15 then {a} else " \
               f"cast(floor({a}) as double) end)"

    def ceil(self, a):
        return f"(case when abs({a}) >= 4.5035996273704960e+15 then {a} else " \
               f"cast(ceil({a}) as double) end)"

    def trim(self, op, a):
        # https://spark.apache.org/docs/latest/api/sql/index.html#trim (spaces only)
        return f"{op}({a})"

    def in_zone(self, ts, zone):
        return f"from_utc_timestamp({ts}, {zone})"

    def micros_between(self, start, end):
        return f"(unix_micros({end}) - unix_micros({start}))"

    def date_diff(self, span, start, end):
        micros = self.micros_between(start, end)
        return f"(({micros}) div {span})"
