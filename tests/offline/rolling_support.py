"""rolling_windows outside dbt: its bodies rendered with plain Jinja, and the brute force.

The bodies in ``macros/rolling_windows.sql`` are plain Jinja (the public macro alone needs
dbt: ``return``, ``adapter``, ``this``), so the property tests render the very text dbt
compiles and run it on an in-memory DuckDB: thousands of builds in the time of a few dbt
runs. ``test_rolling_windows.py`` and ``test_rolling_incremental.py`` also build through
dbt once, which keeps this renderer honest.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parents[2]
MACRO_FILES = ("featurestore_helpers.sql", "rolling_windows.sql")
# body -> (macro, dialect of its helpers): every body the project ships that runs on DuckDB
BODIES = {
    "duckdb": ("featurestore_rolling_prefix_sql", "duckdb"),
    "default": ("featurestore_rolling_range_sql", "default"),
}
RENDERERS = {**BODIES, "snowflake": ("featurestore_rolling_range_sql", "snowflake")}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CompilerError(Exception):
    """What ``exceptions.raise_compiler_error`` raises here."""


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message):
        raise CompilerError(message)


class _Namespace:
    module = None

    def __getattr__(self, name):
        return getattr(self.module, name)


@functools.lru_cache(maxsize=4)
def macro_module(files: tuple[str, ...] = MACRO_FILES):
    """The macros of ``files`` (under macros/) as one plain-Jinja module, each macro's
    ``featurestore.<name>`` calls resolved within it."""
    source = "\n".join((ROOT / "macros" / name).read_text() for name in files)
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined,
                             loader=jinja2.DictLoader({"macros": source}))
    namespace = _Namespace()
    env.globals.update(featurestore=namespace, exceptions=_Exceptions())
    namespace.module = env.get_template("macros").module
    return namespace.module


def render(body: str, relation: str, partition_by: list[str], event_ts: str,
           aggregates: list[dict], loaded_at: str | None = None,
           last_values: Iterable[dict] = (), feature_ts: str = "feature_ts",
           previous: str | None = None, allowed_lateness: str | None = None,
           too_late: str = "skip", sum_scale: int = 12) -> str:
    """The SQL of ``rolling_windows(...)`` as ``body`` (duckdb, default, snowflake) renders it;
    ``previous``: the table of an incremental run (dbt passes ``this``)."""
    module = macro_module()
    spec: dict = {}
    module.featurestore_rolling_spec(spec, relation, partition_by, event_ts, aggregates,
                                     loaded_at, list(last_values), feature_ts,
                                     previous or False, allowed_lateness, too_late, sum_scale)
    macro, dialect = RENDERERS[body]
    return str(getattr(module, macro)(spec, dialect))


def duration(text: str) -> dt.timedelta:
    return dt.timedelta(seconds=int(text[:-1]) * UNITS[text[-1]])


@dataclass(frozen=True)
class Event:
    key: int | None
    ts: dt.datetime
    amount: float | None
    loaded_at: dt.datetime
    id: int


def brute_force(events: list[Event], aggregates: list[dict], last: bool = True) -> list[tuple]:
    """Every change point and its values, the slow, obvious way.

    ``aggregates`` read ``id`` (count) or ``amount``; rows are (key, feature_ts,
    loaded_at, each aggregate..., last amount by id) sorted by key (None first) and time.
    """
    if not events:
        return []
    horizon = max(e.ts for e in events)
    rows = []
    for key in sorted({e.key for e in events}, key=lambda k: (k is not None, k or 0)):
        mine = [e for e in events if e.key == key]
        points = {e.ts for e in mine}
        for aggregate in aggregates:
            points |= {e.ts + duration(aggregate["window"]) for e in mine
                       if getattr(e, aggregate["expr"]) is not None}
        for t in sorted(p for p in points if p <= horizon):
            row = [key, t, max(e.loaded_at for e in mine if e.ts <= t)]
            for aggregate in aggregates:
                w = duration(aggregate["window"])
                values = [getattr(e, aggregate["expr"]) for e in mine if t - w < e.ts <= t]
                values = [v for v in values if v is not None]
                row.append({
                    "count": len(values),
                    "sum": float(sum(values)),
                    "avg": sum(values) / len(values) if values else None,
                    "min": min(values) if values else None,
                    "max": max(values) if values else None,
                }[aggregate["agg"]])
            if last:
                value = None
                for instant in sorted({e.ts for e in mine if e.ts <= t}):
                    winner = max((e for e in mine if e.ts == instant), key=lambda e: e.id)
                    if winner.amount is not None:
                        value = winner.amount
                row.append(value)
            rows.append(tuple(row))
    return rows
