"""rolling_windows outside dbt: its bodies rendered by featurestore/sql_render.py, and
the brute force.

The bodies need no dbt context (the public macro alone reads ``this``, ``var`` and
``is_incremental()``), so the property tests render the very text dbt compiles, with
dbt's dispatch, and run it on an in-memory DuckDB: thousands of builds in the time of
a few dbt runs. ``test_rolling_windows.py`` and ``test_rolling_incremental.py`` also
build through dbt once, which keeps this renderer honest; ``dbt_project`` and
``run_dbt_in`` are the project and the run those dbt tests share.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from featurestore.errors import ProjectError
from featurestore.sql_render import render_rolling_windows

ROOT = Path(__file__).resolve().parents[2]
# body -> the dialect whose dispatch picks it: every body the project ships that runs on
# DuckDB (DuckDB's prefix sums; the RANGE frames of every other adapter, with the
# portable helpers)
BODIES = {"duckdb": "duckdb", "default": "default"}
RENDERERS = {**BODIES, "snowflake": "snowflake"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# What a macro's `exceptions.raise_compiler_error` raises outside dbt.
CompilerError = ProjectError
# The raw table the dbt tests' models read.
RAW_EVENTS = ("create table if not exists raw_events (k bigint, ts timestamp, amount double, "
              "loaded_at timestamp, id bigint)")


def dbt_project(root: Path, models: dict[str, str], project_vars: dict | None = None) -> Path:
    """A dbt project at ``root``: this repository's dbt_project.yml (with ``project_vars``),
    profiles.yml and macros, and ``models`` (name -> SQL) under models/."""
    project_yml = (ROOT / "dbt_project.yml").read_text()
    assert "\nvars:" not in project_yml
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        project_yml + ("\n" + yaml.safe_dump({"vars": project_vars}) if project_vars else ""))
    shutil.copy(ROOT / "profiles.yml", root / "profiles.yml")
    shutil.copytree(ROOT / "macros", root / "macros")
    (root / "models").mkdir()
    for name, sql in models.items():
        (root / "models" / f"{name}.sql").write_text(sql)
    return root


def run_dbt_in(root: Path, *args: str, database: str = "rw.duckdb"):
    """`dbt <args>` in the project at ``root``, on the DuckDB file ``root/<database>``."""
    from featurestore.dbt_runner import run_dbt
    from featurestore.project import Project

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEATURESTORE_DUCKDB_PATH", str(root / database))
        patch.delenv("DBT_PROFILES_DIR", raising=False)
        return run_dbt(Project(root), [*args, "--log-path", str(root / "logs")])


def dbt_sql(root: Path, model: str, kind: str = "compiled") -> str:
    """The SQL dbt compiled for ``model`` (``kind`` compiled), or ran for it (run)."""
    return (root / "target" / kind / "featurestore" / "models" / f"{model}.sql").read_text()


def render(body: str, relation: str, partition_by: list[str], event_ts: str,
           aggregates: list[dict], loaded_at: str | None = None,
           last_values: Iterable[dict] = (), feature_ts: str = "feature_ts",
           previous: str | None = None, allowed_lateness: str | None = None,
           too_late: str = "skip", sum_scale: int = 12, partitions: int = 1) -> str:
    """The SQL of ``rolling_windows(...)`` as ``body`` (duckdb, default, snowflake) renders it;
    ``previous``: the table of an incremental run (dbt passes ``this``); ``partitions``:
    buckets of entities."""
    return render_rolling_windows(
        RENDERERS[body], relation, partition_by, event_ts, aggregates, loaded_at=loaded_at,
        last_values=last_values, feature_ts=feature_ts, previous=previous,
        allowed_lateness=allowed_lateness, too_late=too_late, sum_scale=sum_scale,
        partitions=partitions)


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
