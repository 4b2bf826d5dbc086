"""Each transformation as on-demand expressions over its feature, with its frozen
parameters written in as literals: one tree per output column.

The trees are featurestore/ondemand/'s (nodes.py), so a transformation has the meaning
the on-demand subset pins and proves on every side: the training set renders them as
the warehouse's SQL (render.py, spelled by the dialect), the lookup compiles them into
generated Python (codegen.py, with evaluate.py's meanings: one function of the raw
vector per service). The same function builds the trees from the same frozen parameters
on both sides, so no number is ever computed twice.

The meanings (docs/services.md says the same for users):

- a float64 input that is NULL, NaN or infinite reads as NULL, and -0.0 as 0.0; an
  int64 input is converted to float64 where a number is computed;
- ``zscore``: ``(x - mean) / std`` with the population standard deviation (divided by
  n); 0.0 for every non-null x when std is 0; NULL when the training set had no value;
- ``min_max``: ``(x - min) / (max - min)``, not clipped (a value past the training
  range gives a value past [0, 1]); 0.0 when max = min; NULL with no training value;
- ``log1p``: ``ln(1.0 + x)`` with ``1.0 + x`` rounded to float64 first (what every
  warehouse can spell; it is not C's ``log1p``); NULL where ``1.0 + x <= 0``;
- ``clip``: ``least(greatest(x, lower), upper)`` with the quantile values of the
  training set (below); the input's dtype is kept;
- ``quantile_bins``: the number of edges strictly below x, 0 to bins - 1 (so a value
  equal to an edge falls in the lower bin, and repeated edges leave bins empty);
- ``one_hot``: one 0/1 column per vocabulary value, then ``oov`` (a value outside the
  vocabulary) and ``null``: a NULL is a category of its own, never a NULL column;
- ``index``: the value's position in the vocabulary (0-based), the vocabulary's size
  for a value outside it, size + 1 for NULL;
- numeric transformations keep NULL as NULL: imputing is the model's decision.
"""

from __future__ import annotations

from collections.abc import Callable

from featurestore.ondemand.nodes import BOOL, FLOAT, INT, Node

INPUT = "x"  # the one input of every transformation's expressions


def _lit(dtype: str, value: object) -> Node:
    return Node("lit", (), dtype, value)


def _as_float(node: Node) -> Node:
    return node if node.dtype == FLOAT else Node("float", (node,), FLOAT)


def _case(pairs: list[tuple[Node, Node]], default: Node, dtype: str) -> Node:
    args: list[Node] = []
    for condition, value in pairs:
        args += [condition, value]
    return Node("case", (*args, default), dtype)


def _is_null(x: Node) -> Node:
    return Node("is_null", (x,), BOOL)


def _number(dtype: str, value: float | int) -> Node:
    return _lit(dtype, float(value) if dtype == FLOAT else int(value))


def output_columns(column: str, kind: str, params: dict) -> list[str]:
    """The training set's columns of one transformation of ``column``, in order."""
    if kind == "one_hot":
        return [*(f"{column}__one_hot_{i}" for i in range(len(params["vocabulary"]))),
                f"{column}__one_hot_oov", f"{column}__one_hot_null"]
    return [f"{column}__{kind}"]


def output_dtypes(kind: str, dtype: str, params: dict) -> list[str]:
    """The dtype of each output column (as ``output_columns`` orders them)."""
    if kind == "one_hot":
        return [INT] * (len(params["vocabulary"]) + 2)
    if kind in ("quantile_bins", "index"):
        return [INT]
    if kind == "clip":
        return [dtype]
    return [FLOAT]


def expressions(kind: str, dtype: str, params: dict) -> list[Node]:
    """The tree of each output column, reading the input ``x`` of ``dtype``."""
    x = Node("col", (), dtype, INPUT)
    return _BUILDERS[kind](x, dtype, params)


def _zscore(x: Node, dtype: str, params: dict) -> list[Node]:
    if params["mean"] is None:
        return [_lit(FLOAT, None)]
    if params["std"] == 0:
        return [_case([(_is_null(x), _lit(FLOAT, None))], _lit(FLOAT, 0.0), FLOAT)]
    centred = Node("sub", (_as_float(x), _lit(FLOAT, params["mean"])), FLOAT)
    return [Node("div", (centred, _lit(FLOAT, params["std"])), FLOAT)]


def _min_max(x: Node, dtype: str, params: dict) -> list[Node]:
    low, high = params["min"], params["max"]
    if low is None:
        return [_lit(FLOAT, None)]
    if low == high:
        return [_case([(_is_null(x), _lit(FLOAT, None))], _lit(FLOAT, 0.0), FLOAT)]
    span = Node("sub", (_lit(FLOAT, float(high)), _lit(FLOAT, float(low))), FLOAT)
    centred = Node("sub", (_as_float(x), _lit(FLOAT, float(low))), FLOAT)
    return [Node("div", (centred, span), FLOAT)]


def _log1p(x: Node, dtype: str, params: dict) -> list[Node]:
    return [Node("ln", (Node("add", (_lit(FLOAT, 1.0), _as_float(x)), FLOAT),), FLOAT)]


def _clip(x: Node, dtype: str, params: dict) -> list[Node]:
    low, high = params["lower_value"], params["upper_value"]
    if low is None:
        return [_case([(_is_null(x), _lit(dtype, None))], _lit(dtype, None), dtype)]
    raised = Node("greatest", (x, _number(dtype, low)), dtype)
    return [Node("least", (raised, _number(dtype, high)), dtype)]


def _quantile_bins(x: Node, dtype: str, params: dict) -> list[Node]:
    edges = params["edges"]
    pairs = [(_is_null(x), _lit(INT, None))]
    pairs += [(Node("le", (x, _number(dtype, edge)), BOOL), _lit(INT, index))
              for index, edge in enumerate(edges)]
    return [_case(pairs, _lit(INT, len(edges)), INT)]


def _equals(x: Node, dtype: str, value: object) -> Node:
    return Node("eq", (x, _lit(dtype, value)), BOOL)


def _one_hot(x: Node, dtype: str, params: dict) -> list[Node]:
    vocabulary = params["vocabulary"]
    one, zero = _lit(INT, 1), _lit(INT, 0)
    hot = [_case([(_equals(x, dtype, value), one)], zero, INT) for value in vocabulary]
    known = ([(Node("in", (x,), BOOL, tuple(vocabulary)), zero)] if vocabulary else [])
    outside = _case([(_is_null(x), zero), *known], one, INT)
    return [*hot, outside, _case([(_is_null(x), one)], zero, INT)]


def _index(x: Node, dtype: str, params: dict) -> list[Node]:
    vocabulary = params["vocabulary"]
    pairs = [(_is_null(x), _lit(INT, len(vocabulary) + 1))]
    pairs += [(_equals(x, dtype, value), _lit(INT, position))
              for position, value in enumerate(vocabulary)]
    return [_case(pairs, _lit(INT, len(vocabulary)), INT)]


_BUILDERS = {"zscore": _zscore, "min_max": _min_max, "log1p": _log1p, "clip": _clip,
             "quantile_bins": _quantile_bins, "one_hot": _one_hot, "index": _index}


def compiled(kind: str, dtype: str, params: dict) -> list:
    """The Python function of each output column (the lookup's side), generated as the
    on-demand path's are (featurestore/ondemand/codegen.py): each takes ``{"x": value}``."""
    from featurestore.ondemand.codegen import compile_function

    return [compile_function(node) for node in expressions(kind, dtype, params)]


def compiled_vector(transforms: list[tuple[int, str, str, dict]]) -> Callable[[list], tuple]:
    """One generated function of a service's raw values (its features' values, in its
    order) giving every transformed column, in order: ``transforms`` holds per
    transformation ``(its feature's position, kind, dtype, parameters)``. A feature
    several transformations read is read (and converted) once. A tree too deep for
    Python's parser falls back to ``compiled``'s functions, one call per column."""
    from featurestore.ondemand.codegen import Source, compile_source

    trees = [_reading(node, position) for position, kind, dtype, params in transforms
             for node in expressions(kind, dtype, params)]
    if not trees:
        return lambda raw: ()
    source = Source(lambda position, src: f"raw[{src.constant(position)}]")
    reads, bodies = source.values(trees)
    found = compile_source(f"def evaluate(raw):\n{reads}    return ({', '.join(bodies)},)\n",
                           source.constants)
    if found is not None:
        return found
    functions = [(position, function) for position, kind, dtype, params in transforms
                 for function in compiled(kind, dtype, params)]
    return lambda raw: tuple(f({INPUT: raw[position]}) for position, f in functions)


def _reading(node: Node, position: int) -> Node:
    """``node`` reading the raw value at ``position`` where it reads ``x``."""
    if node.op == "col":
        return Node("col", (), node.dtype, position)
    if not node.args:
        return node
    return Node(node.op, tuple(_reading(a, position) for a in node.args), node.dtype,
                node.value)
