"""What the lookup endpoint served, per view: requests, status mix, latency, and values.

Read from the local serving log (lookup/serving_log.py: one JSON line per entity key
looked up, a file per UTC day). Only the last ``window`` up to the newest line counts, so
the catalog describes the endpoint as it is now, and only the files of those days are
opened. pii features are never in the clear in the log (they sit under ``pii``, as an
HMAC at most) and are never read here. Lines that degraded to defaults (DynamoDB did not
answer) count as requests and in the status mix, but their values are left out of the
distributions, as the skew gate leaves them out. A reference pinned to a version
(``view@v2:feature``) counts for its view like any other; its values are kept under the
reference as written, apart from the served version's ``view:feature``.

The files and the lines are read by featurestore/serving_log_reader.py, the skew gate's
reader too: the folder's ``*.jsonl`` and ``*.json`` files, nested ones included; a line
that is not a serving-log line is skipped and counted in a note naming the first ones
(file and line number), and the rest of the log still counts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.errors import RequestError
from featurestore.feature_refs import FeatureRef
from featurestore.serving_log_reader import SkippedLines, day_of, log_files, read_lines

VALUES_PER_FEATURE = 50_000  # a uniform sample (reservoir) beyond this


@dataclass
class ViewServing:
    requests: int = 0  # entity keys looked up with at least one feature of the view
    degraded: int = 0
    statuses: Counter = field(default_factory=Counter)  # per value served
    latencies_ms: list[float] = field(default_factory=list)
    models: Counter = field(default_factory=Counter)
    first: dt.datetime | None = None
    last: dt.datetime | None = None

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        import numpy as np

        return float(np.percentile(np.asarray(self.latencies_ms), q))


@dataclass
class ServingRecords:
    folder: Path | None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    lines: int = 0
    views: dict[str, ViewServing] = field(default_factory=dict)
    values: dict[str, list] = field(default_factory=dict)  # "view:feature" -> values
    notes: list[str] = field(default_factory=list)

    def view(self, name: str) -> ViewServing | None:
        return self.views.get(name)


def read_serving_log(folder: Path | None, views: dict, window: dt.timedelta,
                     seed: int = 0) -> ServingRecords:
    """The last ``window`` of the log in ``folder``; ``views``: name -> FeatureView."""
    records = ServingRecords(folder)
    if folder is None:
        records.notes.append("no local serving log is configured (FEATURESTORE_SERVING_LOG_"
                             "DIR); the online sections show no requests.")
        return records
    files = log_files(folder)
    if not files:
        records.notes.append(f"{folder}: the serving log is empty (no serving-*.jsonl file); "
                             "the online sections show no requests. `featurestore serve` "
                             "writes it.")
        return records
    days = [d for d in (day_of(p) for p in files) if d is not None]
    if days:  # only the files of the window's days (and any not named by day)
        newest = max(days)
        oldest = newest - dt.timedelta(days=window.days + 1)
        files = [p for p in files if (day_of(p) or newest) >= oldest]
    bad = SkippedLines()
    parsed = list(read_lines(files, bad))
    if bad.count:
        records.notes.append(bad.note())
    if not parsed:
        if not bad.count:
            records.notes.append(f"{folder}: the serving log has no lines; the online "
                                 "sections show no requests.")
        return records
    records.end = max(moment for moment, _ in parsed)
    records.start = records.end - window
    sampler = random.Random(seed)
    seen: Counter = Counter()
    for served, record in parsed:
        if served < records.start:
            continue
        records.lines += 1
        _count(records, views, served, record, sampler, seen)
    return records


def _view_of(ref: object) -> str | None:
    """The view a served reference names, pinned (``view@v2:feature``) or not; None for
    a key that is no reference (the line is still counted for the other views)."""
    try:
        return FeatureRef.parse(str(ref)).view
    except RequestError:
        return None


def _count(records: ServingRecords, views: dict, served: dt.datetime, record: dict,
           sampler: random.Random, seen: Counter) -> None:
    degraded = record.get("degraded") is True
    latency = record.get("latency_ms")
    model = record.get("model")
    touched: set[str] = set()
    for ref, answer in record["features"].items():
        name = _view_of(ref)
        if name not in views or not isinstance(answer, dict):
            continue
        stats = records.views.get(name)
        if stats is None:
            stats = records.views[name] = ViewServing()
        if name not in touched:
            touched.add(name)
            stats.requests += 1
            stats.degraded += degraded
            if isinstance(latency, int | float) and not isinstance(latency, bool):
                stats.latencies_ms.append(float(latency))
            stats.models[model if isinstance(model, str) else "(none)"] += 1
            stats.first = served if stats.first is None else min(stats.first, served)
            stats.last = served if stats.last is None else max(stats.last, served)
        status = answer.get("status")
        stats.statuses[status if isinstance(status, str) else "(none)"] += 1
        if degraded:
            continue
        seen[ref] += 1
        sample = records.values.setdefault(ref, [])
        value = answer.get("value")
        if len(sample) < VALUES_PER_FEATURE:
            sample.append(value)
        else:  # reservoir sampling: every value served has the same chance to be kept
            slot = sampler.randrange(seen[ref])
            if slot < VALUES_PER_FEATURE:
                sample[slot] = value
