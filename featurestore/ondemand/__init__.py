"""On-demand (request-time) features: SQL expressions with one meaning everywhere.

An expression is written once, in a documented subset of SQL (docs/request-time.md), over
request fields and stored features. It is checked on load (subset.py), into a typed tree
(nodes.py) that is both compiled to one Python function for the lookup (codegen.py, with
evaluate.py's meanings) and rendered as each warehouse's SQL for training sets
(render.py, spelled by the dialects).
The pinned meanings are proven equal on every side by tests/core/test_ondemand_parity.py
and tests/spark/test_ondemand_spark.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from featurestore.ondemand.codegen import compile_function, compile_functions
from featurestore.ondemand.nodes import Node
from featurestore.ondemand.render import render


@dataclass(frozen=True)
class Expression:
    """One checked expression: its text, its tree and its dtype."""

    text: str
    tree: Node
    evaluate: Callable[[Mapping[str, Any]], Any] = field(compare=False, repr=False)

    @property
    def dtype(self) -> str:
        return self.tree.dtype

    @functools.cached_property
    def inputs(self) -> frozenset[str]:
        """The input names it reads (worked out once: the lookup asks per request)."""
        return frozenset(self.tree.columns())

    def sql(self, dialect, column: Callable[[str], str]) -> str:
        """The expression in ``dialect``'s SQL; ``column(name)`` spells each input."""
        return render(self.tree, dialect, column)


def compile_expression(text: str, inputs: Mapping[str, str], *, path: str = "<expression>",
                       line: int | None = None, field: str = "") -> Expression:
    """Check ``text`` against the subset, reading ``inputs`` (name -> dtype); a
    ContractError names ``path:line`` and ``field`` when it is outside the subset."""
    from featurestore.ondemand.subset import parse  # sqlglot: only where text is checked

    tree = parse(text, dict(inputs), path=path, line=line, field=field)
    return Expression(text, tree, compile_function(tree))


@functools.lru_cache(maxsize=512)
def evaluate_all(expressions: tuple[Expression, ...]) -> Callable[[Mapping[str, Any]], tuple]:
    """One function computing all of ``expressions`` over a row, a tuple in their order
    (codegen.py's ``compile_functions``): how the lookup evaluates the features asked of
    one on-demand view, one call per key."""
    return compile_functions([e.tree for e in expressions])


def from_tree(text: str, tree: Mapping[str, Any]) -> Expression:
    """An expression checked before (``Node.to_dict``), rebuilt without sqlglot: how a
    lookup that reads a registry snapshot gets its expressions at a cold start."""
    node = Node.from_dict(tree)
    return Expression(text, node, compile_function(node))


__all__ = ["Expression", "compile_expression", "evaluate_all", "from_tree"]
