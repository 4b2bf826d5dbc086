"""The endpoint's evaluator: a checked tree compiled once into one Python function.

evaluate.py's closures (one per node) cost a Python call per node and per row; this
module writes the whole tree as one expression of one function, compiled once when the
contract (or the registry snapshot) is loaded, so a row costs one call and the nodes
run inline. The meanings are evaluate.py's, node for node: the simple operators are
spelled inline exactly as its closures compute them (NULL in, NULL out; a float64 that
is not finite is NULL; CASE, COALESCE, NULLIF, AND and OR evaluate lazily, in order),
and every other operation calls the very function evaluate.py builds for it.

The expression's text is hostile input, and none of it reaches the generated source:
every name the source holds is generated here (``row``, ``get``, ``k0``.. for the
constants, ``t0``.. for temporaries); every value from the tree (a literal, an input's
name, a function's constant part) is a constant the function reads from its globals by
index; an operation is looked up in fixed tables, so an unknown one is a KeyError as in
evaluate.py. The function's globals hold no builtins. A tree too deep for Python's
parser falls back to evaluate.py's closures (same meanings, slower).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from featurestore.errors import RequestError
from featurestore.ondemand.evaluate import STRICT, UTC, Compiled, Row, compile_node, zone
from featurestore.ondemand.nodes import FLOAT, TIMESTAMP, Node

# strict operators spelled inline: (source with {0}, {1} for the operands, whether the
# result may be None before the finiteness check)
_INLINE = {"add": ("{0} + {1}", False), "sub": ("{0} - {1}", False),
           "mul": ("{0} * {1}", False), "neg": ("-{0}", False),
           "float": ("float({0})", False), "div": ("(None if {1} == 0 else {0} / {1})", True),
           "eq": ("{0} == {1}", False), "ne": ("{0} != {1}", False),
           "lt": ("{0} < {1}", False), "le": ("{0} <= {1}", False),
           "gt": ("{0} > {1}", False), "ge": ("{0} >= {1}", False)}
NAME = "<on-demand expression>"


def source_of(*nodes: Node) -> tuple[str, list]:
    """``(the source of a function of the row giving the value of each of ``nodes``,
    the constants it reads as k0, k1, ...)``: one value for one node, else a tuple. Each
    input is read from the row once, first; a KeyError for an operation outside the
    vocabulary."""
    source = Source()
    reads, bodies = source.values(nodes)
    result = bodies[0] if len(bodies) == 1 else f"({', '.join(bodies)},)"
    return (f"def evaluate(row):\n    get = row.get\n{reads}    return {result}\n",
            source.constants)


def compile_function(node: Node) -> Compiled:
    """The function computing ``node`` for a row (input name -> value)."""
    return compile_source(*source_of(node)) or compile_node(node)


def compile_functions(nodes: Sequence[Node]) -> Callable[[Row], tuple]:
    """One function computing all of ``nodes`` for a row, as a tuple in their order: one
    call per row, and an input the expressions share read once."""
    compiled = compile_source(*source_of(*nodes)) if nodes else None
    if compiled is None:
        functions = [compile_function(node) for node in nodes]
        return lambda row: tuple(f(row) for f in functions)
    return compiled if len(nodes) > 1 else lambda row: (compiled(row),)


def compile_source(text: str, constants: list, names: dict | None = None,
                   function: str = "evaluate") -> Callable | None:
    """The function ``function`` of ``text`` (source written by a ``Source``: generated
    names only, every value a constant ``k<n>``), or None when it is nested past the
    parser's limits (the caller then falls back to evaluate.py's closures). ``names``:
    more globals the caller's own generated source reads (never builtins)."""
    try:
        code = compile(text, NAME, "exec")
    except (SyntaxError, RecursionError, MemoryError):
        return None
    namespace = {"__builtins__": {}, "isfinite": math.isfinite, "float": float, "UTC": UTC,
                 "abs": abs, "trunc": math.trunc, "copysign": math.copysign,
                 "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "zone": zone,
                 **(names or {})}
    namespace.update((f"k{i}", value) for i, value in enumerate(constants))
    exec(code, namespace)  # noqa: S102 - generated names only; values are constants
    return namespace[function]


class Source:
    """Python source for trees; ``constants``: the values it reads, by index. ``read``
    spells where an input's value comes from, given its name and this source (for its
    ``constant`` and ``temp``): by default ``get(k<n>)``, the row's ``get``."""

    def __init__(self, read: Callable[[str, Source], str] | None = None):
        self.constants: list = []
        self.count = 0
        self.columns: dict[str, tuple[str, str]] = {}  # input -> (its local, its read)
        self.read = read or (lambda name, source: f"get({source.constant(name)})")
        # (input, dtype) -> the temporary holding its converted value, once it is
        # converted where it is sure to be: every later use reads that (see ``column``)
        self.converted: dict[tuple[str, str], str] = {}

    def values(self, nodes: Sequence[Node]) -> tuple[str, list[str]]:
        """``(the lines reading each input into its local, first, in the order the trees
        read them; the expression of each node's value)``."""
        bodies = [self.expr(node, True) for node in nodes]
        return "".join(f"    {local} = {read}\n" for local, read in self.columns.values()), bodies

    def constant(self, value) -> str:
        self.constants.append(value)
        return f"k{len(self.constants) - 1}"

    def temp(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def expr(self, node: Node, always: bool = False) -> str:
        """``node``'s value; ``always``: it is evaluated whenever the function runs this
        far (a tree's root, a first operand of such a node), before anything written
        after it (the source is written in the order it runs)."""
        op = node.op
        if op == "lit":
            return "None" if node.value is None else self.constant(node.value)
        if op == "col":
            return self.column(node, always)
        if op in _LAZY:
            return _LAZY[op](self, node, always)
        return self.strict(node, STRICT[op], always)

    def column(self, node: Node, always: bool = False) -> str:
        """The input's value, read into a local first (``c0``, ``c1``...); a float64 and
        a timestamp are converted where they are used, as the closures do. A conversion
        that is sure to run (``always``) is kept in a temporary that every use after it
        reads: the same value (it is a pure function of the input), computed once."""
        if node.value not in self.columns:
            self.columns[node.value] = (f"c{len(self.columns)}", self.read(node.value, self))
        v = self.columns[node.value][0]
        if node.dtype == FLOAT:
            # + 0.0: a zero input has no sign (-0.0 reads as 0.0), as in the SQL
            value = f"(None if {v} is None or not isfinite({v}) else float({v}) + 0.0)"
        elif node.dtype == TIMESTAMP:
            value = (f"(None if {v} is None else {v}.replace(tzinfo=UTC) "
                     f"if {v}.tzinfo is None else {v}.astimezone(UTC))")
        else:
            return v
        key = (node.value, node.dtype)
        if key in self.converted:
            return self.converted[key]
        if not always:
            return value
        self.converted[key] = t = self.temp()
        return f"({t} := {value})"

    def strict(self, node: Node, build, always: bool = False) -> str:
        """NULL when any operand is NULL (the first two are read lazily, as the closures
        do; three or more are all read first); a float64 result of one or two operands
        that is not finite is NULL."""
        first = next((i for i, a in enumerate(node.args) if not _is_constant(a)), None)
        args = [self.expr(a, always and (i == first or len(node.args) > 2))
                for i, a in enumerate(node.args)]
        # a literal that is not NULL is read as itself: no temporary, no NULL test
        names = [a if _is_constant(n) or self.is_local(a) else self.temp()
                 for a, n in zip(args, node.args, strict=True)]
        tested = [(n, a) for n, a, node_ in zip(names, args, node.args, strict=True)
                  if not _is_constant(node_)]
        if node.op in _INLINE:
            spelled, may_be_none = _INLINE[node.op]
            value = spelled.format(*names)
        elif node.op in _SPELLED:
            value, may_be_none = _SPELLED[node.op](self, node, names)
        else:
            value, may_be_none = f"{self.constant(build(node))}({', '.join(names)})", True
        if node.dtype == FLOAT and len(args) <= 2:
            r = self.temp()
            check = (f"({r} := {value}) is None or isfinite({r})" if may_be_none
                     else f"isfinite(({r} := {value}))")
            value = f"({r} if {check} else None)"
        if not tested:
            return f"({value})"
        tests = [f"{a} is None" if n == a else f"({n} := {a}) is None" for n, a in tested]
        if len(args) <= 2:
            guard = " or ".join(tests)
        else:
            guard = " | ".join(f"({test})" for test in tests)
        return f"(None if {guard} else {value})"

    def is_local(self, source: str) -> bool:
        """An input read as it is (not float64, not a timestamp), or a conversion kept
        in a temporary: a local, read as often as needed."""
        return (source[:1] == "c" and source[1:].isdigit()) or (
            source in self.converted.values())


# the libm functions that are NULL outside their domain (evaluate.py's ``_guarded``, which
# cannot raise inside it); date_part's units as attribute reads
_DOMAINS = {"sqrt": ("sqrt", ">= 0"), "ln": ("log", "> 0"), "log10": ("log10", "> 0")}
_PARTS = {"year": ".year", "month": ".month", "day": ".day", "hour": ".hour",
          "minute": ".minute", "second": ".second", "dow": ".isoweekday()"}


def _in(src: Source, node: Node, names: list[str]) -> tuple[str, bool]:
    return f"{names[0]} in {src.constant(frozenset(node.value))}", False


def _guarded(src: Source, node: Node, names: list[str]) -> tuple[str, bool]:
    fn, domain = _DOMAINS[node.op]
    return f"({fn}({names[0]}) if {names[0]} {domain} else None)", True


def _round(src: Source, node: Node, names: list[str]) -> tuple[str, bool]:
    """evaluate.py's ``round_half_away`` of x (times 10^digits, NULL when that is not
    finite, divided back), spelled inline."""
    digits = node.value[0] if node.value else 0
    x, t = (names[0], src.temp()) if not digits else (src.temp(), src.temp())
    half_away = (f"({t} + copysign(1.0, {x}) if abs({x} - ({t} := float(trunc({x})))) "
                 f">= 0.5 else {t})")
    if not digits:
        return half_away, False
    scale = src.constant(10.0 ** digits)
    return f"(None if not isfinite(({x} := {names[0]} * {scale})) else {half_away} / {scale})", True


def _date_part(src: Source, node: Node, names: list[str]) -> tuple[str, bool]:
    unit = node.value[0]
    if unit not in _PARTS:  # doy: timetuple() imports, and these globals have no builtins
        return f"{src.constant(STRICT['date_part'](node))}({', '.join(names)})", False
    x, part = names[0], _PARTS[unit]
    if len(names) == 1:
        return f"{x}{part}", False
    rules = _zone(node.args[1])
    if rules is None:
        return f"{x}.astimezone(zone({names[1]})){part}", False
    # a literal zone: its rules looked up once, here, and the part of the last instant
    # kept (the keys of a batch often share one): the same object, the same part
    last, m = src.constant([(None, None)]), src.temp()
    return (f"({m}[{src.constant(1)}] if ({m} := {last}[0])[0] is {x} else "
            f"{src.constant(_keep)}({last}, {x}, {x}.astimezone({src.constant(rules)}){part}))",
            False)


def _zone(node: Node):
    """A literal zone's rules (``zone`` is cached: the same rules), or None: a zone read
    from an input, or an unknown one (refused where it is evaluated, as before)."""
    if _is_constant(node) and isinstance(node.value, str):
        try:
            return zone(node.value)
        except RequestError:
            return None
    return None


def _keep(last: list, instant, part):
    """Keep ``(instant, part)`` as the last computed (one tuple, replaced whole: a thread
    reading it sees one pair or the other, never half of each); return ``part``."""
    last[0] = (instant, part)
    return part


_SPELLED = {"in": _in, "sqrt": _guarded, "ln": _guarded, "log10": _guarded, "round": _round,
            "date_part": _date_part}


def _is_constant(node: Node) -> bool:
    return node.op == "lit" and node.value is not None


def _and(src: Source, node: Node, always: bool) -> str:
    (a, b), x, y = _operands(src, node, always), src.temp(), src.temp()
    return (f"(False if ({x} := {a}) is False or ({y} := {b}) is False else None "
            f"if {x} is None or {y} is None else True)")


def _or(src: Source, node: Node, always: bool) -> str:
    (a, b), x, y = _operands(src, node, always), src.temp(), src.temp()
    return (f"(True if ({x} := {a}) is True or ({y} := {b}) is True else None "
            f"if {x} is None or {y} is None else False)")


def _not(src: Source, node: Node, always: bool) -> str:
    (a,), x = _operands(src, node, always), src.temp()
    return f"(None if ({x} := {a}) is None else not {x})"


def _is_null(src: Source, node: Node, always: bool) -> str:
    (a,) = _operands(src, node, always)
    return f"({a} is None)"


def _case(src: Source, node: Node, always: bool) -> str:
    args = _operands(src, node, always)
    branches = "".join(f"{value} if {cond} is True else "
                       for cond, value in zip(args[:-1:2], args[1:-1:2], strict=True))
    return f"({branches}{args[-1]})"


def _coalesce(src: Source, node: Node, always: bool) -> str:
    args = _operands(src, node, always)
    out = ""
    for arg in args[:-1]:
        x = src.temp()
        out += f"{x} if ({x} := {arg}) is not None else "
    return f"({out}{args[-1]})"


def _nullif(src: Source, node: Node, always: bool) -> str:
    (a, b), x, y = _operands(src, node, always), src.temp(), src.temp()
    return (f"(None if ({x} := {a}) is None else None "
            f"if ({y} := {b}) is not None and {x} == {y} else {x})")


def _operands(src: Source, node: Node, always: bool) -> list[str]:
    """The operands of a lazy operation, in the order its source runs them: only the
    first is sure to run."""
    return [src.expr(n, always and i == 0) for i, n in enumerate(node.args)]


_LAZY = {"and": _and, "or": _or, "not": _not, "is_null": _is_null, "case": _case,
         "coalesce": _coalesce, "nullif": _nullif}
