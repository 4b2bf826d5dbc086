"""The checked form of an on-demand expression: a small typed tree, one meaning per node.

sqlglot parses the text (featurestore/ondemand/subset.py); what comes out of the check is
this tree, not sqlglot's, because every node here has one pinned meaning and one dtype:
the Python evaluator (evaluate.py) and the per-warehouse SQL (render.py, spelled by the
dialects) both walk it, so neither can read a construct the other never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# the dtypes an expression computes with (featurestore/dtypes.py names); "null" is the
# type of a bare NULL literal until its context gives it one
INT, FLOAT, STRING, BOOL, TIMESTAMP, NULL = (
    "int64", "float64", "string", "bool", "timestamp", "null")
NUMERIC = frozenset({INT, FLOAT})


@dataclass(frozen=True)
class Node:
    """One operation: ``op`` names it (the vocabulary is render.py's and evaluate.py's),
    ``args`` its operands, ``dtype`` what it yields, ``value`` its constant part (a
    literal's value, a column's name, a date part's unit, substr's bounds)."""

    op: str
    args: tuple[Node, ...] = ()
    dtype: str = NULL
    value: Any = None

    def walk(self):
        """Every node of the tree, this one first."""
        yield self
        for arg in self.args:
            yield from arg.walk()

    def columns(self) -> set[str]:
        """The input names the expression reads."""
        return {node.value for node in self.walk() if node.op == "col"}

    def to_dict(self) -> dict:
        """Plain JSON values (a registry snapshot keeps the checked tree)."""
        out: dict[str, Any] = {"op": self.op, "dtype": self.dtype}
        if self.args:
            out["args"] = [a.to_dict() for a in self.args]
        if self.value is not None:
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Node:
        value = data.get("value")
        if isinstance(value, list):
            value = tuple(value)
        args = tuple(cls.from_dict(a) for a in data.get("args", ()))
        return cls(data["op"], args, data["dtype"], value)
