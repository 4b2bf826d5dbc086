"""The oracle of feature-service transformations: their documented meaning
(docs/services.md) in plain Python, sharing no code with featurestore, for the tests that
hold the warehouse's parameters and both sides' applied values against it."""

from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter
from fractions import Fraction


def clean(dtype, value):
    if value is None or (dtype == "float64" and not math.isfinite(value)):
        return None
    return value + 0.0 if dtype == "float64" else value


def nearest(ordered, q: Fraction):
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def oracle_params(kind, dtype, values, options) -> dict:
    kept = [v for v in (clean(dtype, v) for v in values) if v is not None]
    ordered = sorted(kept)
    found = {"count": len(kept)}
    if kind == "zscore":
        found.update(mean=statistics.fmean(kept) if kept else None,
                     std=statistics.pstdev([float(v) for v in kept]) if kept else None)
    elif kind == "min_max":
        found.update(min=min(kept) if kept else None, max=max(kept) if kept else None)
    elif kind == "clip":
        lo, hi = Fraction(str(options["lower"])), Fraction(str(options["upper"]))
        found.update(lower_value=nearest(ordered, lo) if kept else None,
                     upper_value=nearest(ordered, hi) if kept else None)
    elif kind == "quantile_bins":
        bins = options["bins"]
        found["edges"] = [nearest(ordered, Fraction(k, bins)) for k in range(1, bins)] \
            if kept else []
    elif kind in ("one_hot", "index"):
        counts = Counter(kept)
        top = sorted(counts, key=lambda v: (-counts[v], v))[:options["max_categories"]]
        found["vocabulary"] = top
    return found


def oracle_apply(kind, dtype, params, value) -> list:
    x = clean(dtype, value)

    def finite(number):
        return number if math.isfinite(number) else None

    if kind in ("one_hot", "index"):
        vocabulary = params["vocabulary"]
        if kind == "index":
            return [len(vocabulary) + 1 if x is None else
                    vocabulary.index(x) if x in vocabulary else len(vocabulary)]
        return ([int(x is not None and x == v) for v in vocabulary]
                + [int(x is not None and x not in vocabulary), int(x is None)])
    if x is None:
        return [None]
    if kind == "zscore":
        if params["mean"] is None:
            return [None]
        return [0.0 if params["std"] == 0 else
                finite((float(x) - params["mean"]) / params["std"])]
    if kind == "min_max":
        low, high = params["min"], params["max"]
        if low is None:
            return [None]
        return [0.0 if low == high else
                finite((float(x) - float(low)) / (float(high) - float(low)))]
    if kind == "log1p":
        return [math.log(1.0 + float(x)) if 1.0 + float(x) > 0 else None]
    if kind == "clip":
        low, high = params["lower_value"], params["upper_value"]
        return [None if low is None else min(max(x, low), high)]
    return [bisect.bisect_left(params["edges"], x)]


def close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
