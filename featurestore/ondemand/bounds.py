"""Static bounds of a float64 expression, so the SQL guards only what can overflow.

The subset's meaning (a result that is not finite is NULL, a function outside its
domain is NULL) is spelled in SQL as ``case when abs(x) <= max then x end``, which
repeats ``x``: guarding every operation would double the SQL at each level of nesting
(a haversine over four columns was 430 kB and took DuckDB 29 s to plan). An interval
of the values each node can take shows where a guard can never fire: sin times sin
cannot overflow, asin of least(1, sqrt(...)) is always in its domain, a division by
the literal 2 cannot be a division by zero. Skipping those guards changes no value;
the parity tests hold the rendered SQL to the evaluator either way.
"""

from __future__ import annotations

import functools
import math

from featurestore.ondemand.nodes import FLOAT, INT, Node

MAX = 1.7976931348623157e308
# a bound above this may overflow (the margin covers the rounding of the bounds' own
# arithmetic, done in float64 here)
SAFE = MAX / 4
HALF_PI, PI = math.pi / 2 + 1e-9, math.pi + 1e-9
ANY = (-math.inf, math.inf)


def _hull(*intervals):
    return (min(i[0] for i in intervals), max(i[1] for i in intervals))


def _products(a, b):
    values = [x * y for x in a for y in b]
    return ANY if any(math.isnan(v) for v in values) else (min(values), max(values))


def _clamp(interval):
    """What a guarded node can take: its interval, cut to the finite range."""
    return (max(interval[0], -MAX), min(interval[1], MAX))


@functools.lru_cache(maxsize=4096)
def raw(node: Node) -> tuple[float, float]:
    """The values ``node``'s operation can produce before its own guard."""
    op = node.op
    if op == "lit":
        v = node.value
        return (v, v) if isinstance(v, int | float) and v is not None else ANY
    if op == "col":
        return (-MAX, MAX) if node.dtype == FLOAT else (-(2.0**63), 2.0**63)
    if node.dtype not in (FLOAT, INT):
        return ANY
    args = [bounds(a) for a in node.args]
    if op == "float":
        return args[0]
    if op == "add":
        return (args[0][0] + args[1][0], args[0][1] + args[1][1])
    if op == "sub":
        return (args[0][0] - args[1][1], args[0][1] - args[1][0])
    if op == "mul":
        if node.args[0] == node.args[1]:
            low, high = args[0]
            top = max(low * low, high * high)
            return (0.0 if low <= 0 <= high else min(low * low, high * high), top)
        return _products(args[0], args[1])
    if op == "div":
        low, high = args[1]
        if low > 0 or high < 0:
            return _products(args[0], (1 / high if high else math.inf,
                                       1 / low if low else -math.inf))
        return ANY
    if op == "neg":
        return (-args[0][1], -args[0][0])
    return _function(op, node, args)


def _function(op: str, node: Node, args) -> tuple[float, float]:
    if op in ("sin", "cos"):
        return (-1.0, 1.0)
    if op in ("asin", "atan"):
        return (-HALF_PI, HALF_PI)
    if op == "acos":
        return (0.0, PI)
    if op == "atan2":
        return (-PI, PI)
    if op == "sqrt":
        return (0.0, math.sqrt(args[0][1]) if args[0][1] > 0 else 0.0)
    if op in ("ln", "log10"):
        return (-745.0, 710.0)
    if op == "abs":
        low, high = args[0]
        return (0.0 if low <= 0 <= high else min(abs(low), abs(high)), max(-low, high))
    if op == "radians":
        return (args[0][0] * 0.0175, args[0][1] * 0.0175)
    if op == "degrees":
        return (args[0][0] * 57.3, args[0][1] * 57.3)
    if op in ("floor", "ceil"):
        return (args[0][0] - 1, args[0][1] + 1)
    if op == "round":
        # round(x, d) is within half a step, 10^-d / 2, of x: the step is the margin
        # (the bound of round(x * 10^d), taken before, made round(0.5, 4) look like
        # 5000 and a division by it safe from overflow)
        step = 10.0 ** -(node.value[0] if node.value else 0)
        return (args[0][0] - step, args[0][1] + step)
    if op == "exp":
        return (0.0, math.exp(min(args[0][1], 709.0)) if args[0][1] <= 709.0 else math.inf)
    if op in ("least", "greatest"):
        pick = min if op == "least" else max
        return (pick(a[0] for a in args), pick(a[1] for a in args))
    if op in ("coalesce", "nullif", "case"):
        values = args if op != "case" else [args[i] for i in range(1, len(args), 2)] + [
            args[-1]]
        return _hull(*values)
    return ANY


@functools.lru_cache(maxsize=4096)
def bounds(node: Node) -> tuple[float, float]:
    """The values ``node`` can take once guarded (NULL aside)."""
    low, high = raw(node)
    if math.isnan(low) or math.isnan(high):
        return (-MAX, MAX)
    return _clamp((low, high))


def may_overflow(node: Node) -> bool:
    """Whether ``node``'s result can be past float64's range (or NaN)."""
    low, high = raw(node)
    return math.isnan(low) or math.isnan(high) or low < -SAFE or high > SAFE


def within(node: Node, low: float, high: float) -> bool:
    """Whether every value ``node`` can take lies in [low, high]."""
    have = bounds(node)
    return low <= have[0] and have[1] <= high


def may_be_zero(node: Node) -> bool:
    low, high = bounds(node)
    return low <= 0 <= high
