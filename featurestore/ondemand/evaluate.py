"""The pinned meanings of the on-demand operations in Python, and a closure compiler.

Chosen over sqlglot's executor and an embedded DuckDB for the figures in
docs/request-time.md: Python code runs 10 expressions in microseconds, adds no package
to the Lambda, and spells each pinned meaning in a few lines that the parity tests hold
against every warehouse's SQL. ``STRICT`` holds, per operation, the function of its
operands' values; the lookup compiles a tree into one generated function (codegen.py)
that spells the simple operators inline and calls these. ``compile_node``, the same tree
as nested closures (one per node, each taking the row: input name -> value: int, float,
str, bool or an aware datetime, and returning the value or None), is the reference the
generated code is tested against and its fallback for a tree too deep to compile.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from featurestore.errors import RequestError
from featurestore.ondemand.catalog import SPANS
from featurestore.ondemand.nodes import FLOAT, TIMESTAMP, Node

Row = Mapping[str, Any]
Compiled = Callable[[Row], Any]
UTC = dt.UTC
ONE_US = dt.timedelta(microseconds=1)
LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# radians and degrees are one multiplication by these, in every engine
TO_RADIANS, TO_DEGREES = 0.017453292519943295, 57.29577951308232


def compile_node(node: Node) -> Compiled:
    """The closure computing ``node`` for a row."""
    if node.op == "lit":
        value = node.value
        return lambda row: value
    if node.op == "col":
        return _column(node)
    args = [compile_node(a) for a in node.args]
    if node.op in STRICT:
        return _strict(STRICT[node.op](node), args, node.dtype == FLOAT)
    return _LAZY[node.op](node, args)


def _column(node: Node) -> Compiled:
    name = node.value
    if node.dtype == FLOAT:
        def read(row):
            v = row.get(name)
            # + 0.0: a zero input has no sign (-0.0 reads as 0.0), as in the SQL
            return None if v is None or not math.isfinite(v) else float(v) + 0.0
        return read
    if node.dtype == TIMESTAMP:
        def read_ts(row):
            v = row.get(name)
            if v is None:
                return None
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return read_ts
    return lambda row: row.get(name)


def _strict(fn, args: list[Compiled], finite: bool) -> Compiled:
    """``fn`` of the arguments' values; NULL when any is NULL (and, for float64, when
    the result is not finite: no engine returns inf or NaN)."""
    if len(args) == 1:
        (a,) = args

        def one(row):
            x = a(row)
            if x is None:
                return None
            r = fn(x)
            return None if finite and r is not None and not math.isfinite(r) else r
        return one
    if len(args) == 2:
        a, b = args

        def two(row):
            x = a(row)
            if x is None:
                return None
            y = b(row)
            if y is None:
                return None
            r = fn(x, y)
            return None if finite and r is not None and not math.isfinite(r) else r
        return two

    def many(row):
        values = [f(row) for f in args]
        if any(v is None for v in values):
            return None
        return fn(*values)
    return many


def _guarded(fn, domain=lambda *v: True):
    """A libm function that is NULL outside its domain, on overflow and on NaN."""
    def call(*values):
        if not domain(*values):
            return None
        try:
            return fn(*values)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None
    return call


def _div(x, y):
    return None if y == 0 else x / y


def _mod(x, y):
    """The remainder with the sign of the dividend (C, SQL), not Python's floor modulo."""
    if y == 0:
        return None
    r = abs(x) % abs(y)
    return -r if x < 0 else r


def round_half_away(x: float) -> float:
    t = float(math.trunc(x))
    if abs(x - t) >= 0.5:
        t += math.copysign(1.0, x)
    return t


def _round(node: Node):
    digits = node.value[0] if node.value else 0
    if not digits:
        return round_half_away
    scale = 10.0 ** digits

    def scaled(x):
        y = x * scale
        return round_half_away(y) / scale if math.isfinite(y) else None
    return scaled


def _floor_ceil(fn):
    return lambda x: float(fn(x))


def _sign(x):
    return (x > 0) - (x < 0)


@functools.lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone's rules from the ``tzdata`` package, never the host's: the IANA version
    is then the one pinned in constraints.txt (the one DuckDB's ICU carries), not
    whatever a Lambda image or a laptop has. Morocco's 2026 change is why: a 2025 host
    database and DuckDB disagree on every Africa/Casablanca time from 2026-09."""
    import importlib.resources

    parts = name.split("/") if isinstance(name, str) else []
    if not parts or any(part in ("", ".", "..") or not part.replace("_", "").replace(
            "-", "").replace("+", "").isalnum() for part in parts):
        raise RequestError(f"unknown time zone {name!r} in an on-demand expression; "
                           "name an IANA zone such as 'Europe/Paris'")
    try:
        with importlib.resources.files("tzdata.zoneinfo").joinpath(*parts).open("rb") as rules:
            return zoneinfo.ZoneInfo.from_file(rules, key=name)
    except (OSError, ValueError):
        raise RequestError(f"unknown time zone {name!r} in an on-demand expression; "
                           "name an IANA zone such as 'Europe/Paris'") from None


PARTS = {
    "year": lambda t: t.year, "month": lambda t: t.month, "day": lambda t: t.day,
    "hour": lambda t: t.hour, "minute": lambda t: t.minute, "second": lambda t: t.second,
    "dow": lambda t: t.isoweekday(), "doy": lambda t: t.timetuple().tm_yday,
}


def _date_part(node: Node):
    part = PARTS[node.value[0]]
    if len(node.args) == 1:
        return lambda ts: part(ts)
    return lambda ts, name: part(ts.astimezone(zone(name)))


def _date_diff(node: Node):
    span = SPANS[node.value[0]]

    def diff(start, end):
        micros = (end - start) // ONE_US
        q = abs(micros) // span
        return -q if micros < 0 else q
    return diff


def _substr(node: Node):
    start, count = node.value
    return lambda s: s[start - 1:start - 1 + count]


def _replace(node: Node):
    old, new = node.value
    return lambda s: s.replace(old, new)


def _fixed(fn):
    return lambda node: fn


STRICT = {
    "float": _fixed(float), "add": _fixed(lambda x, y: x + y),
    "sub": _fixed(lambda x, y: x - y), "mul": _fixed(lambda x, y: x * y),
    "div": _fixed(_div), "neg": _fixed(lambda x: -x), "mod": _fixed(_mod),
    "eq": _fixed(lambda x, y: x == y), "ne": _fixed(lambda x, y: x != y),
    "lt": _fixed(lambda x, y: x < y), "le": _fixed(lambda x, y: x <= y),
    "gt": _fixed(lambda x, y: x > y), "ge": _fixed(lambda x, y: x >= y),
    "abs": _fixed(abs), "sign": _fixed(_sign),
    "sqrt": _fixed(_guarded(math.sqrt, lambda x: x >= 0)),
    "ln": _fixed(_guarded(math.log, lambda x: x > 0)),
    "log10": _fixed(_guarded(math.log10, lambda x: x > 0)),
    "exp": _fixed(_guarded(math.exp)), "power": _fixed(_guarded(math.pow)),
    "floor": _fixed(_floor_ceil(math.floor)), "ceil": _fixed(_floor_ceil(math.ceil)),
    "round": _round, "sin": _fixed(math.sin), "cos": _fixed(math.cos),
    "tan": _fixed(math.tan),
    "asin": _fixed(_guarded(math.asin, lambda x: -1 <= x <= 1)),
    "acos": _fixed(_guarded(math.acos, lambda x: -1 <= x <= 1)),
    "atan": _fixed(math.atan), "atan2": _fixed(math.atan2),
    "radians": _fixed(lambda x: x * TO_RADIANS), "degrees": _fixed(lambda x: x * TO_DEGREES),
    "least": _fixed(min), "greatest": _fixed(max),
    "length": _fixed(len), "lower": _fixed(lambda s: s.translate(LOWER)),
    "upper": _fixed(lambda s: s.translate(UPPER)), "trim": _fixed(lambda s: s.strip(" ")),
    "ltrim": _fixed(lambda s: s.lstrip(" ")), "rtrim": _fixed(lambda s: s.rstrip(" ")),
    "substr": _substr, "replace": _replace, "concat": _fixed(lambda *s: "".join(s)),
    "starts_with": _fixed(str.startswith), "ends_with": _fixed(str.endswith),
    "contains": _fixed(lambda s, p: p in s),
    "date_part": _date_part, "date_diff": _date_diff,
    "in": lambda node: (lambda x, values=frozenset(node.value): x in values),
}


def _and(node, args):
    a, b = args

    def both(row):
        x = a(row)
        if x is False:
            return False
        y = b(row)
        if y is False:
            return False
        return None if x is None or y is None else True
    return both


def _or(node, args):
    a, b = args

    def either(row):
        x = a(row)
        if x is True:
            return True
        y = b(row)
        if y is True:
            return True
        return None if x is None or y is None else False
    return either


def _not(node, args):
    (a,) = args

    def negation(row):
        x = a(row)
        return None if x is None else not x
    return negation


def _is_null(node, args):
    (a,) = args
    return lambda row: a(row) is None


def _case(node, args):
    pairs = list(zip(args[:-1:2], args[1:-1:2], strict=True))
    default = args[-1]

    def choose(row):
        for cond, value in pairs:
            if cond(row) is True:
                return value(row)
        return default(row)
    return choose


def _coalesce(node, args):
    def first(row):
        for f in args:
            v = f(row)
            if v is not None:
                return v
        return None
    return first


def _nullif(node, args):
    a, b = args

    def unless_equal(row):
        x = a(row)
        if x is None:
            return None
        y = b(row)
        return None if y is not None and x == y else x
    return unless_equal


_LAZY = {"and": _and, "or": _or, "not": _not, "is_null": _is_null, "case": _case,
         "coalesce": _coalesce, "nullif": _nullif}
