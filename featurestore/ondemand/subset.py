"""Parse an on-demand expression and check it against the subset, into a typed tree.

The text is parsed by sqlglot with a parser that knows no function by name: every call
comes out as written (name and arguments in order), so the checker sees what the user
wrote, not a warehouse's reading of it. Then each node is either mapped to one node of
featurestore/ondemand/nodes.py, with its pinned meaning and dtype, or refused with the
file, line and reason: subqueries, aggregates, window functions, non-deterministic
functions, casts, unknown names and anything else outside the subset.
"""

from __future__ import annotations

import math

from sqlglot import exp, parser
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from featurestore.errors import ContractError
from featurestore.ondemand.catalog import (
    AGGREGATES,
    DATE_PARTS,
    FUNCTIONS,
    NON_DETERMINISTIC,
    SPANS,
)
from featurestore.ondemand.macros import MACROS
from featurestore.ondemand.nodes import BOOL, FLOAT, INT, NULL, NUMERIC, STRING, TIMESTAMP, Node

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _Verbatim(Dialect):
    """sqlglot's standard grammar, with no function known by name."""

    class Parser(parser.Parser):
        FUNCTIONS: dict = {}
        FUNCTION_PARSERS: dict = {}
        NO_PAREN_FUNCTIONS: dict = {}


class Refused(Exception):
    """A construct outside the subset (turned into a ContractError with the location)."""


def parse(text: str, inputs: dict[str, str], *, path: str, line: int | None = None,
          field: str = "") -> Node:
    """The checked tree of ``text``, whose names are ``inputs`` (name -> dtype)."""
    try:
        tree = _parse_tree(text)
        return _Checker(inputs).check(tree)
    except Refused as refusal:
        raise ContractError(path, f"expression `{_short(text)}`: {refusal}", line=line,
                            field=field) from None


def _parse_tree(text: str) -> exp.Expression:
    try:
        trees = [t for t in _Verbatim().parse(text) if t is not None]
    except ParseError as error:
        where = error.errors[0] if error.errors else {}
        raise Refused(f"is not valid SQL (it stops at line {where.get('line', 1)}, column "
                      f"{where.get('col', 1)})") from None
    except TokenError as error:
        raise Refused(f"is not valid SQL ({error})") from None
    if len(trees) != 1:
        raise Refused("must be one expression (no `;`)")
    tree = trees[0]
    if isinstance(tree, exp.Subquery):
        raise Refused("a subquery is not in the subset")
    if isinstance(tree, exp.Query | exp.Command) or not isinstance(tree, exp.Condition):
        raise Refused("must be an expression, not a statement")
    return tree


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


def _literal(dtype: str, value) -> Node:
    return Node("lit", (), dtype, value)


def as_float(node: Node) -> Node:
    """``node`` as a float64 operand (an int64 converted exactly as the warehouses do)."""
    if node.dtype == FLOAT:
        return node
    if node.op == "lit":
        return _literal(FLOAT, None if node.value is None else float(node.value))
    return Node("float", (node,), FLOAT)


def unify(nodes: list[Node], what: str) -> tuple[str, list[Node]]:
    """The common dtype of ``nodes`` and the nodes converted to it."""
    kinds = {n.dtype for n in nodes} - {NULL}
    if not kinds:
        return NULL, nodes
    if kinds <= NUMERIC:
        common = FLOAT if FLOAT in kinds else INT
    elif len(kinds) == 1:
        common = kinds.pop()
    else:
        raise Refused(f"{what} mixes {', '.join(sorted(kinds))}; give them one dtype")
    out = []
    for node in nodes:
        if node.dtype == NULL:
            node = _literal(common, None)
        elif common == FLOAT:
            node = as_float(node)
        out.append(node)
    return common, out


BINARY = {exp.Add: "add", exp.Sub: "sub", exp.Mul: "mul", exp.Div: "div"}
COMPARE = {exp.EQ: "eq", exp.NEQ: "ne", exp.LT: "lt", exp.LTE: "le", exp.GT: "gt",
           exp.GTE: "ge"}
REFUSED = {
    exp.Subquery: "a subquery is not in the subset", exp.Query: "a query is not in the subset",
    exp.Exists: "a subquery is not in the subset",
    exp.Window: "window functions are not in the subset",
    exp.Cast: "casts are not in the subset (their rounding differs per warehouse); "
              "use floor, ceil or round",
    exp.Interval: "intervals are not in the subset; use date_diff",
    exp.Star: "`*` is not in the subset",
    exp.Placeholder: "placeholders are not in the subset",
}


class _Checker:
    def __init__(self, inputs: dict[str, str]):
        self.inputs = inputs

    def check(self, node: exp.Expression) -> Node:
        for kind, reason in REFUSED.items():
            if isinstance(node, kind):
                raise Refused(reason)
        if isinstance(node, exp.Paren):
            return self.check(node.this)
        if isinstance(node, exp.Literal | exp.Boolean | exp.Null):
            return self.literal(node)
        if isinstance(node, exp.Column):
            return self.column(node)
        if type(node) in BINARY:
            args = [as_float(self.numeric(a, node)) for a in (node.left, node.right)]
            return Node(BINARY[type(node)], tuple(args), FLOAT)
        if isinstance(node, exp.Mod):
            return self.call("mod", [node.left, node.right])
        if isinstance(node, exp.Neg):
            return self.negate(node)
        if type(node) in COMPARE:
            return self.compare(COMPARE[type(node)], node.left, node.right)
        if isinstance(node, exp.And | exp.Or):
            args = tuple(self.boolean(a, node) for a in (node.left, node.right))
            return Node("and" if isinstance(node, exp.And) else "or", args, BOOL)
        if isinstance(node, exp.Not):
            return Node("not", (self.boolean(node.this, node),), BOOL)
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise Refused("only `IS NULL` and `IS NOT NULL` are in the subset")
            return Node("is_null", (self.check(node.this),), BOOL)
        if isinstance(node, exp.Between):
            low = self.compare("ge", node.this, node.args["low"])
            high = self.compare("le", node.this, node.args["high"])
            return Node("and", (low, high), BOOL)
        if isinstance(node, exp.In):
            return self.in_list(node)
        if isinstance(node, exp.Case):
            return self.case(node)
        if isinstance(node, exp.DPipe):
            return self.call("concat", [node.left, node.right])
        if isinstance(node, exp.Anonymous):
            return self.function(node)
        raise Refused(f"`{node.sql()}` is not in the subset")

    # -- leaves ------------------------------------------------------------------------
    def literal(self, node) -> Node:
        if isinstance(node, exp.Null):
            return _literal(NULL, None)
        if isinstance(node, exp.Boolean):
            return _literal(BOOL, bool(node.this))
        if node.is_string:
            return _literal(STRING, node.this)
        text = node.this
        if text.isdigit():
            value = int(text)
            if value > INT64_MAX:
                raise Refused(f"{text} is past int64's range")
            return _literal(INT, value)
        value = float(text)
        if not math.isfinite(value):
            raise Refused(f"{text} is past float64's range")
        return _literal(FLOAT, value)

    def column(self, node: exp.Column) -> Node:
        if node.table:
            raise Refused(f"`{node.sql()}`: name an input directly, without a qualifier")
        name = node.name
        if name.lower() in NON_DETERMINISTIC:
            raise Refused(f"`{name}` is not deterministic")
        if name not in self.inputs:
            known = ", ".join(sorted(self.inputs)) or "none"
            raise Refused(f"unknown name `{name}` (the inputs are: {known})")
        return Node("col", (), self.inputs[name], name)

    def negate(self, node: exp.Neg) -> Node:
        if isinstance(node.this, exp.Literal) and node.this.this == str(-INT64_MIN):
            return _literal(INT, INT64_MIN)
        inner = self.check(node.this)
        if inner.op == "lit" and inner.dtype in NUMERIC and inner.value is not None:
            if inner.dtype == INT and -inner.value < INT64_MIN:
                raise Refused(f"-{inner.value} is past int64's range")
            return _literal(inner.dtype, -inner.value)
        if inner.dtype not in NUMERIC | {NULL}:
            raise Refused(f"`-` takes a number, not {inner.dtype}")
        return Node("neg", (as_float(inner),), FLOAT)

    # -- typed operands ----------------------------------------------------------------
    def numeric(self, arg: exp.Expression, parent: exp.Expression) -> Node:
        checked = self.check(arg)
        if checked.dtype not in NUMERIC | {NULL}:
            raise Refused(f"`{parent.sql()}` needs numbers; `{arg.sql()}` is {checked.dtype}")
        return checked

    def boolean(self, arg: exp.Expression, parent: exp.Expression) -> Node:
        checked = self.check(arg)
        if checked.dtype == NULL:
            return _literal(BOOL, None)
        if checked.dtype != BOOL:
            raise Refused(f"`{parent.sql()}` needs a condition; `{arg.sql()}` is "
                          f"{checked.dtype}")
        return checked

    def compare(self, op: str, left: exp.Expression, right: exp.Expression) -> Node:
        _, args = unify([self.check(left), self.check(right)],
                        f"the comparison of `{left.sql()}` and `{right.sql()}`")
        return Node(op, tuple(args), BOOL)

    def in_list(self, node: exp.In) -> Node:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise Refused("`IN` takes a list of literals, not a subquery")
        values = [self.check(v) for v in node.expressions]
        if not values or any(v.op != "lit" or v.value is None for v in values):
            raise Refused("`IN` takes a list of literals that are not NULL")
        _, args = unify([self.check(node.this), *values], f"`{node.sql()}`")
        return Node("in", (args[0],), BOOL, tuple(a.value for a in args[1:]))

    def case(self, node: exp.Case) -> Node:
        subject = node.this
        pairs: list[Node] = []
        values: list[Node] = []
        for branch in node.args.get("ifs") or []:
            cond = (self.compare("eq", subject, branch.this) if subject is not None
                    else self.boolean(branch.this, node))
            pairs.append(cond)
            values.append(self.check(branch.args["true"]))
        default = node.args.get("default")
        values.append(self.check(default) if default is not None else _literal(NULL, None))
        dtype, values = unify(values, "the branches of CASE")
        args = []
        for cond, value in zip(pairs, values, strict=False):
            args += [cond, value]
        return Node("case", (*args, values[-1]), dtype)

    # -- calls -------------------------------------------------------------------------
    def function(self, node: exp.Anonymous) -> Node:
        name = str(node.this).lower()
        args = list(node.expressions)
        if name in MACROS:
            return self.check(_expand(name, args))
        if name in ("cast", "try_cast"):
            raise Refused(REFUSED[exp.Cast])
        if name in NON_DETERMINISTIC:
            raise Refused(f"`{name}()` is not deterministic")
        if name in AGGREGATES:
            raise Refused(f"`{name}()` is an aggregate; aggregates are not in the subset "
                          "(compute them in a feature view and read the feature)")
        if name not in FUNCTIONS:
            raise Refused(f"unknown function `{name}()`; docs/request-time.md lists the "
                          "subset's functions")
        if name == "pi" and not args:
            return _literal(FLOAT, math.pi)
        return self.call(name, args)

    def call(self, name: str, args: list[exp.Expression]) -> Node:
        sig = FUNCTIONS[name]
        low = len(sig.params) if sig.at_least is None else sig.at_least
        high = None if sig.variadic else len(sig.params)
        if len(args) < low or (high is not None and len(args) > high):
            wanted = (f"at least {low}" if high is None else
                      str(low) if low == high else f"{low} to {high}")
            raise Refused(f"`{name}()` takes {wanted} arguments, not {len(args)}")
        kinds = [sig.params[min(i, len(sig.params) - 1)] for i in range(len(args))]
        checked = [self.argument(name, kind, arg) for kind, arg in zip(kinds, args, strict=True)]
        if sig.result != "same":
            nodes = [c for c, k in zip(checked, kinds, strict=True) if isinstance(c, Node)]
            values = tuple(c for c in checked if not isinstance(c, Node))
            return Node(name, tuple(nodes), sig.result, values or None)
        dtype, nodes = unify(checked, f"the arguments of `{name}()`")
        return Node(name, tuple(nodes), dtype)

    def argument(self, name: str, kind: str, arg: exp.Expression):
        """One checked argument: a Node, or the constant a literal-only place takes."""
        if kind in ("unit", "span", "digits", "start", "count", "needle", "literal"):
            return _constant(name, kind, self.check(arg), arg)
        checked = self.check(arg)
        want = {"num": NUMERIC, "int": {INT}, "str": {STRING}, "ts": {TIMESTAMP},
                "zone": {STRING}, "any": None}[kind]
        if want is not None and checked.dtype not in want | {NULL}:
            raise Refused(f"`{name}()` takes {' or '.join(sorted(want))} here; "
                          f"`{arg.sql()}` is {checked.dtype}")
        if kind == "num":
            return as_float(checked)
        if checked.dtype == NULL and want is not None:
            return _literal(next(iter(want)), None)
        if kind == "zone" and checked.op == "lit":
            _check_zone(checked.value)
        return checked


def _constant(name: str, kind: str, checked: Node, arg: exp.Expression):
    """The value of a literal-only argument, checked against its kind."""
    if checked.op != "lit" or checked.value is None:
        raise Refused(f"`{name}()` takes a literal in place of `{arg.sql()}`")
    value = checked.value
    if kind in ("unit", "span"):
        units = DATE_PARTS if kind == "unit" else tuple(SPANS)
        if checked.dtype != STRING or value.lower() not in units:
            raise Refused(f"`{name}()` takes one of {', '.join(map(repr, units))}, "
                          f"not {arg.sql()}")
        return value.lower()
    if kind in ("needle", "literal"):
        if checked.dtype != STRING or (kind == "needle" and not value):
            raise Refused(f"`{name}()` takes a non-empty string literal, not {arg.sql()}")
        return value
    bounds = {"digits": (0, 15), "start": (1, INT64_MAX), "count": (0, INT64_MAX)}[kind]
    if checked.dtype != INT or not bounds[0] <= value <= bounds[1]:
        raise Refused(f"`{name}()` takes an integer from {bounds[0]}"
                      + (f" to {bounds[1]}" if bounds[1] < INT64_MAX else " up")
                      + f" in place of {arg.sql()}")
    return value


def _check_zone(zone: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Refused(f"unknown time zone {zone!r}; name an IANA zone such as "
                      "'Europe/Paris'") from None


def _expand(name: str, args: list[exp.Expression]) -> exp.Expression:
    macro = MACROS[name]
    if len(args) != len(macro.params):
        raise Refused(f"`{name}()` takes {len(macro.params)} arguments "
                      f"({', '.join(macro.params)}), not {len(args)}")
    body = _parse_tree(macro.body)
    bound = dict(zip(macro.params, args, strict=True))

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name in bound and not node.table:
            return exp.Paren(this=bound[node.name].copy())
        return node

    return body.transform(bind)


__all__ = ["parse", "unify", "as_float", "Refused", "INT64_MIN", "INT64_MAX", "TIMESTAMP",
           "SPANS", "DATE_PARTS"]
