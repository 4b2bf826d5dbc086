"""A checked on-demand expression as one warehouse's SQL.

The tree (nodes.py) is walked here; every construct is spelled by the dialect's
``expressions`` object (featurestore/dialects/expression_sql.py), which knows that
warehouse's names and pinned meanings. Columns are spelled by the caller (a training
set's query names them after its own CTEs); a timestamp column must hold naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable

from featurestore.ondemand import bounds
from featurestore.ondemand.catalog import SPANS
from featurestore.ondemand.nodes import FLOAT, Node

_COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_GUARDS = {"sqrt": "{0} >= 0", "ln": "{0} > 0", "log10": "{0} > 0",
           "asin": "{0} between -1 and 1", "acos": "{0} between -1 and 1"}
# each guarded function's domain, as an interval (bounds.within)
_DOMAINS = {"sqrt": (0.0, bounds.MAX), "ln": (5e-324, bounds.MAX),
            "log10": (5e-324, bounds.MAX), "asin": (-1.0, 1.0), "acos": (-1.0, 1.0)}
_OVERFLOWING = frozenset({"add", "sub", "mul", "div", "degrees", "exp"})


def render(node: Node, dialect, column: Callable[[str], str]) -> str:
    """``node`` in ``dialect``'s SQL; ``column(name)`` spells an input."""
    return _Renderer(dialect, column).sql(node)


class _Renderer:
    def __init__(self, dialect, column: Callable[[str], str]):
        self.dialect = dialect
        self.sp = dialect.expressions
        self.column = column

    def sql(self, node: Node) -> str:
        spelled = self._sql(node)
        if node.op in _OVERFLOWING and bounds.may_overflow(node):
            return self.sp.finite(spelled)
        return spelled

    def _sql(self, node: Node) -> str:
        op, sp = node.op, self.sp
        if op == "lit":
            return self.literal(node)
        if op == "col":
            spelled = self.column(node.value)
            return sp.float_input(spelled) if node.dtype == FLOAT else spelled
        args = [self.sql(a) for a in node.args]
        if op == "float":
            return sp.to_float(args[0])
        if op in ("add", "sub", "mul"):
            return f"({args[0]} {dict(add='+', sub='-', mul='*')[op]} {args[1]})"
        if op == "div":
            return sp.div(*args, zero_possible=bounds.may_be_zero(node.args[1]))
        if op in ("neg", "mod", "sign", "floor", "ceil", "radians", "degrees", "lower",
                  "upper"):
            return getattr(sp, op)(*args)
        if op in _COMPARE:
            return f"({args[0]} {_COMPARE[op]} {args[1]})"
        if op in ("and", "or"):
            return f"({args[0]} {op} {args[1]})"
        if op == "not":
            return f"(not {args[0]})"
        if op == "is_null":
            return f"({args[0]} is null)"
        if op == "in":
            values = ", ".join(self.literal(Node("lit", (), node.args[0].dtype, v))
                               for v in node.value)
            return f"({args[0]} in ({values}))"
        if op == "case":
            whens = " ".join(f"when {c} then {v}" for c, v in zip(args[:-1:2], args[1:-1:2],
                                                                    strict=True))
            return f"(case {whens} else {args[-1]} end)"
        if op in ("coalesce", "nullif"):
            return f"{op}({', '.join(args)})"
        return self.function(node, args)

    def function(self, node: Node, args: list[str]) -> str:
        op, sp = node.op, self.sp
        if op in _GUARDS:
            if bounds.within(node.args[0], *_DOMAINS[op]):
                return sp.fn(op, *args)
            return sp.guarded(_GUARDS[op].format(args[0]), sp.fn(op, *args))
        if op == "power":
            x, y = args
            # a negative base needs a whole exponent; the dialect's floor, since Spark's
            # own yields a bigint, which an exponent past 2^63 overflows
            return sp.finite(sp.guarded(f"not ({x} = 0 and {y} < 0) and ({x} >= 0 or "
                                        f"{y} = {sp.floor(y)})", sp.fn(op, x, y)))
        if op == "exp":
            return sp.fn(op, *args)
        if op in ("abs", "tan", "atan", "atan2", "sin", "cos", "length", "starts_with",
                  "ends_with", "contains"):
            return sp.fn(op, *args)
        if op == "round":
            digits = node.value[0] if node.value else 0
            low, high = bounds.bounds(node.args[0])
            overflow = max(-low, high) * 10.0 ** digits > bounds.SAFE
            return sp.round(args[0], digits, sp.finite if overflow else None)
        if op in ("least", "greatest"):
            return sp.least_greatest(op, args)
        if op in ("trim", "ltrim", "rtrim"):
            return sp.trim(op, args[0])
        if op == "substr":
            return sp.substr(args[0], *node.value)
        if op == "replace":
            old, new = (self.dialect.string_literal(v) for v in node.value)
            return f"replace({args[0]}, {old}, {new})"
        if op == "concat":
            return sp.concat(args)
        if op == "date_part":
            ts = sp.in_zone(args[0], args[1]) if len(args) == 2 else args[0]
            return sp.date_part(node.value[0], ts)
        if op == "date_diff":
            return sp.date_diff(SPANS[node.value[0]], *args)
        raise ValueError(f"no SQL for on-demand operation {op!r}")

    def literal(self, node: Node) -> str:
        value, sp = node.value, self.sp
        if value is None:
            return sp.null(node.dtype)
        if node.dtype == "bool":
            return "true" if value else "false"
        if node.dtype == FLOAT:
            return sp.float_literal(value)
        if node.dtype == "int64":
            return sp.int_literal(value)
        return self.dialect.string_literal(value)
