"""The transformations' parameters, computed in the warehouse over a training set's rows.

Every statistic is SQL over the training set (the join's own SQL, as a subquery), run
by the warehouse that built it; nothing is computed from live data and nothing is
computed twice. The rules, the same on every warehouse:

- The values read are the training set's values (defaults applied as the join applies
  them); NULL is left out of every statistic, a float64 that is NaN or infinite reads as
  NULL, and -0.0 as 0.0 (featurestore/dialects/expression_sql.py's ``float_input``).
- ``count`` is the number of non-null values: the n of every statistic.
- ``mean`` is ``avg`` and ``std`` is ``stddev_pop`` (the population's: divided by n) of
  the values as float64; ``min`` and ``max`` keep the input's dtype.
- A quantile q is the value at the nearest rank: the ``r``-th smallest value with
  ``r = max(1, ceil(q * n))``, computed here in exact integers (q read as the decimal it
  is written as: 0.01 is 1/100), and picked with ``row_number()`` over the sorted values.
  Ties do not matter (equal values are equal), so the result is one of the training
  set's own values, the same in every warehouse: no interpolation, no sketch.
- ``quantile_bins`` with B bins has the edges q = 1/B, ..., (B-1)/B.
- A vocabulary is the ``max_categories`` most frequent non-null values, most frequent
  first, a tie in frequency broken by the smaller value (strings compared by code
  point, as every warehouse's default binary collation does; false before true).
"""

from __future__ import annotations

import math
from fractions import Fraction

from featurestore.errors import RequestError
from featurestore.feature_services.model import Transformation
from featurestore.ondemand.nodes import FLOAT


def rank(fraction: Fraction, count: int) -> int:
    """The nearest rank of ``fraction`` among ``count`` sorted values (1-based)."""
    numerator, denominator = fraction.numerator, fraction.denominator
    return max(1, -(-numerator * count // denominator))


def quantile_fractions(transformation: Transformation) -> list[Fraction]:
    """The quantiles a transformation needs, as exact fractions."""
    if transformation.kind == "clip":
        return [Fraction(str(transformation.option("lower"))),
                Fraction(str(transformation.option("upper")))]
    bins = int(transformation.option("bins"))
    return [Fraction(k, bins) for k in range(1, bins)]


class ParameterQueries:
    """The parameter statements of one training set, over its join SQL, in one dialect."""

    def __init__(self, warehouse, join_sql: str):
        self.warehouse = warehouse
        self.dialect = warehouse.dialect
        self.sp = warehouse.dialect.expressions
        self.join_sql = join_sql

    def value(self, transformation: Transformation) -> str:
        """The SQL of the values a statistic reads (unquoted, as the join names them)."""
        column = f"training.{transformation.feature.column}"
        return self.sp.float_input(column) if transformation.feature.dtype == FLOAT \
            else column

    def _values(self, transformation: Transformation) -> str:
        return (f"select {self.value(transformation)} as v from ({self.join_sql}) "
                "as training")

    def compute(self, transformations: tuple[Transformation, ...]) -> list[dict]:
        """Each transformation's parameters, in order."""
        if not transformations:
            return []
        stats = self._statistics(transformations)
        found = []
        for transformation, stat in zip(transformations, stats, strict=True):
            kind, count = transformation.kind, stat["count"]
            params: dict = {"count": count}
            if kind == "zscore":
                params.update(mean=stat["mean"], std=stat["std"])
            elif kind == "min_max":
                params.update(min=stat["min"], max=stat["max"])
            elif kind in ("clip", "quantile_bins"):
                params.update(self._quantiles(transformation, count))
            elif kind in ("one_hot", "index"):
                params.update(self._vocabulary(transformation))
            found.append(params)
        return found

    def _statistics(self, transformations: tuple[Transformation, ...]) -> list[dict]:
        """One pass of aggregates: count, and mean/std or min/max where asked."""
        columns, selects = [], []
        for index, transformation in enumerate(transformations):
            columns.append(f"{self.value(transformation)} as v{index}")
            selects.append(f"count(v{index})")
            if transformation.kind == "zscore":
                as_float = self.sp.to_float(f"v{index}")
                selects += [f"avg({as_float})", f"stddev_pop({as_float})"]
            elif transformation.kind == "min_max":
                selects += [f"min(v{index})", f"max(v{index})"]
        sql = (f"select {', '.join(selects)} from (select {', '.join(columns)} from "
               f"({self.join_sql}) as training) as t")
        row = list(self.warehouse.fetch_all(sql)[0])
        out = []
        for transformation in transformations:
            stat = {"count": int(row.pop(0))}
            if transformation.kind == "zscore":
                stat["mean"] = _float(row.pop(0), transformation, "mean")
                stat["std"] = _float(row.pop(0), transformation, "standard deviation")
            elif transformation.kind == "min_max":
                cast = float if transformation.feature.dtype == FLOAT else int
                low, high = row.pop(0), row.pop(0)
                stat["min"] = None if low is None else cast(low)
                stat["max"] = None if high is None else cast(high)
            out.append(stat)
        return out

    def _quantiles(self, transformation: Transformation, count: int) -> dict:
        fractions = quantile_fractions(transformation)
        ranks = [rank(f, count) for f in fractions]
        values: dict[int, object] = {}
        if count:
            wanted = ", ".join(str(r) for r in sorted(set(ranks)))
            sql = (f"select rn, v from (select v, row_number() over (order by v) as rn "
                   f"from ({self._values(transformation)}) as t where v is not null) "
                   f"as ranked where rn in ({wanted})")
            cast = float if transformation.feature.dtype == FLOAT else int
            values = {int(r): cast(v) for r, v in self.warehouse.fetch_all(sql)}
        picked = [values.get(r) if count else None for r in ranks]
        if transformation.kind == "clip":
            return {"lower": transformation.option("lower"),
                    "upper": transformation.option("upper"), "lower_rank": ranks[0],
                    "upper_rank": ranks[1], "lower_value": picked[0],
                    "upper_value": picked[1]}
        return {"bins": int(transformation.option("bins")),
                "ranks": ranks if count else [], "edges": picked if count else []}

    def _vocabulary(self, transformation: Transformation) -> dict:
        limit = int(transformation.option("max_categories"))
        sql = (f"select v, count(*) as c from ({self._values(transformation)}) as t where "
               f"v is not null group by v order by c desc, v asc limit {limit}")
        cast = {"string": str, "int64": int, "bool": bool}[transformation.feature.dtype]
        rows = self.warehouse.fetch_all(sql)
        return {"max_categories": limit, "vocabulary": [cast(v) for v, _ in rows],
                "frequencies": [int(c) for _, c in rows]}


def _float(value, transformation: Transformation, what: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise RequestError(f"the {what} of `{transformation.feature.name}` over the training "
                           f"set is {number} (its values overflow float64); `zscore` needs "
                           "a finite one: transform it with `log1p` or `clip` instead")
    return number
