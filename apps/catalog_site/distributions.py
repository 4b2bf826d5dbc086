"""A feature's distribution in training and in serving, as shares comparable side by side.

Numeric features (int64, float64, timestamp as epoch seconds) get a histogram of ``BINS``
equal-width bins over the 1st to 99th percentile of the reference side (training when
there is one, else serving); values beyond fall into the end bins, which say so. Integer
features with few distinct values, strings and booleans get their most frequent values
(``TOP`` of them, then "(other)"). Shares are of the non-null values; the null share is
reported beside. Both sides use the same bins, so the bars line up.

Training values arrive as Arrow arrays (read from Parquet) and are counted with Arrow and
numpy, never value by value in Python; serving values are the log's JSON values (at most
a sample of them, catalog_site/serving.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

BINS = 10
TOP = 8
DISCRETE_LIMIT = 12  # an integer feature with at most this many values: one bar each
NUMERIC = ("int64", "float64", "timestamp")
OTHER = "(other)"


@dataclass
class Distribution:
    kind: str  # "histogram" | "top"
    labels: list[str]
    ranges: list[str]  # what each label stands for, in full
    training: list[float] | None
    serving: list[float] | None
    training_count: int = 0
    serving_count: int = 0
    training_nulls: float | None = None  # share of nulls
    serving_nulls: float | None = None


@dataclass
class Side:
    """One side's values, reduced: numbers (finite, non-null) or counts of text values."""

    numbers: object = None  # numpy float64 array
    counts: Counter | None = None
    total: int = 0  # values, nulls included
    nulls: int = 0

    @property
    def present(self) -> int:
        if self.numbers is not None:
            return len(self.numbers)
        return sum(self.counts.values()) if self.counts is not None else 0


def from_arrow(values, dtype: str) -> Side:
    """A training column (pyarrow Array or ChunkedArray)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    total, nulls = len(values), values.null_count
    present = pc.drop_null(values)
    if dtype in NUMERIC:
        if pa.types.is_timestamp(present.type):
            if present.type.tz is not None:
                present = present.cast(pa.timestamp(present.type.unit))
            present = present.cast(pa.timestamp("us")).cast(pa.int64())
            numbers = present.to_numpy(zero_copy_only=False).astype("float64") / 1e6
        else:
            numbers = present.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return Side(numbers=numbers[np.isfinite(numbers)], total=total, nulls=nulls)
    counted = pc.value_counts(present.cast(pa.string()) if not pa.types.is_boolean(
        present.type) else present)
    counts = Counter()
    for item in counted.to_pylist():
        value = item["values"]
        counts[_text(value)] += item["counts"]
    return Side(counts=counts, total=total, nulls=nulls)


def from_json(values: list, dtype: str) -> Side:
    """Serving values as the log holds them (JSON: numbers, text, ISO-8601 times)."""
    import numpy as np

    total = len(values)
    nulls = sum(1 for v in values if v is None)
    if dtype in NUMERIC:
        if dtype == "timestamp":
            numbers = [_epoch(v) for v in values if v is not None]
        else:
            numbers = [v for v in values if type(v) in (int, float)]
        array = np.asarray([n for n in numbers if n is not None], dtype="float64")
        return Side(numbers=array[np.isfinite(array)], total=total, nulls=nulls)
    return Side(counts=Counter(_text(v) for v in values if v is not None), total=total,
                nulls=nulls)


def _epoch(value) -> float | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return (value - dt.datetime(1970, 1, 1)).total_seconds()
    if type(value) in (int, float):
        return float(value)
    return None


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def distribution(dtype: str, training: Side | None, serving: Side | None
                 ) -> Distribution | None:
    """The distribution of one feature; None when neither side has a value."""
    sides = [s if s is not None and s.present else None for s in (training, serving)]
    train, serve = sides
    if train is None and serve is None:
        return None
    if dtype in NUMERIC:
        import numpy as np

        reference = (train or serve).numbers
        distinct = np.unique(np.concatenate([s.numbers for s in sides if s is not None]))
        if dtype == "int64" and len(distinct) <= DISCRETE_LIMIT:
            found = _top(*(None if s is None else Counter(
                int(v) for v in s.numbers) for s in sides), sort_values=True)
        else:
            found = _histogram(reference, *(None if s is None else s.numbers for s in sides),
                               dtype=dtype)
    else:
        found = _top(*(None if s is None else s.counts for s in sides), sort_values=False)
    if train is not None:
        found.training_count = train.present
        found.training_nulls = train.nulls / train.total if train.total else None
    if serve is not None:
        found.serving_count = serve.present
        found.serving_nulls = serve.nulls / serve.total if serve.total else None
    return found


def _histogram(reference, train, serve, *, dtype: str) -> Distribution:
    import numpy as np

    low, high = (float(x) for x in np.quantile(reference, [0.01, 0.99]))
    if high <= low:
        low, high = float(reference.min()), float(reference.max())
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, BINS + 1)

    def shares(values):
        if values is None:
            return None
        counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
        total = counts.sum()
        return [float(c / total) if total else 0.0 for c in counts]

    labels = [_edge(edges[i], dtype) for i in range(BINS)]
    ranges = []
    for i in range(BINS):
        start, end = _edge(edges[i], dtype, True), _edge(edges[i + 1], dtype, True)
        ranges.append(f"up to {end}" if i == 0 else f"{start} and above" if i == BINS - 1
                      else f"{start} to {end}")
    return Distribution("histogram", labels, ranges, shares(train), shares(serve))


def _edge(value: float, dtype: str, full: bool = False) -> str:
    if dtype == "timestamp":
        moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(value))
        return moment.strftime("%Y-%m-%d %H:%M" if full else "%m-%d")
    from featurestore.apps.catalog_site.plots import format_number

    return format_number(value) if not full else f"{value:.6g}"


def _top(train: Counter | None, serve: Counter | None, *, sort_values: bool) -> Distribution:
    reference = train if train is not None else serve
    if sort_values:
        chosen = sorted(reference)[:TOP]
    else:
        chosen = [value for value, _ in sorted(reference.items(),
                                               key=lambda item: (-item[1], str(item[0])))[:TOP]]
    kept = set(chosen)
    others = any(v not in kept for counts in (train, serve) if counts for v in counts)

    def shares(counts):
        if counts is None:
            return None
        total = sum(counts.values())
        out = [counts.get(value, 0) / total for value in chosen]
        if others:
            out.append(1 - sum(out))
        return [max(0.0, float(v)) for v in out]

    labels = [str(v) for v in chosen] + ([OTHER] if others else [])
    return Distribution("top", labels, labels, shares(train), shares(serve))

