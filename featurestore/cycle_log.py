"""The record of the loop's cycles: one row of ``featurestore.loop_cycles`` per cycle.

A row says what the cycle landed (files, events, and the files it quarantined, with
why), what it built (the files whose rows reached their models, a killed or failed
cycle's included, and what is still pending), what it published (rows per view, items
written and skipped), what it held back (each view whose built state a gate or a dbt
test refused, why, and since when), the seconds of each stage, and each view's
freshness lag after it. ``featurestore run --history`` prints the recent rows; the
catalog site shows them per view.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from featurestore.errors import CHECK_FAILED, CycleFailed, FeatureStoreError, WarehouseError
from featurestore.project import Project

TABLE = "loop_cycles"
COLUMNS = (
    ("cycle_id", "varchar"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
    ("status", "varchar"), ("files", "bigint"), ("events", "bigint"),
    ("models_built", "bigint"), ("rows_changed", "varchar"), ("items_written", "bigint"),
    ("items_skipped", "bigint"), ("ingest_seconds", "double"), ("build_seconds", "double"),
    ("gate_seconds", "double"), ("sync_seconds", "double"), ("freshness_lag", "varchar"),
    ("refused", "varchar"), ("message", "varchar"),
    # added later: a table made before them gets them (ensure_table)
    ("held_since", "varchar"), ("quarantined", "varchar"), ("built_files", "bigint"),
    ("built_events", "bigint"), ("built", "varchar"), ("pending", "varchar"),
)
ADDED = COLUMNS[17:]
JSON_COLUMNS = frozenset({"rows_changed", "freshness_lag", "refused", "held_since",
                          "quarantined", "built", "pending"})
MESSAGE_LIMIT = 2000


@dataclass
class Cycle:
    """What one cycle did; ``save()`` writes it to ``featurestore.loop_cycles``."""

    cycle_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str = "running"  # running | ok | failed | interrupted (a killed cycle)
    files: int = 0  # ingested by this cycle
    events: int = 0
    quarantined: list[dict] = field(default_factory=list)  # {table, file, reason}
    built_files: int = 0  # files whose rows this cycle's build carried into the models
    built_events: int = 0
    built: dict[str, dict] = field(default_factory=dict)  # table -> files, events, ...
    pending: dict[str, dict] = field(default_factory=dict)  # table -> still not built
    models_built: int = 0
    rows_changed: dict[str, int] = field(default_factory=dict)  # view -> rows read by sync
    items_written: int = 0
    items_skipped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    freshness_lag: dict[str, float | None] = field(default_factory=dict)  # view -> seconds
    refused: dict[str, list[str]] = field(default_factory=dict)  # view -> why held back
    held_since: dict[str, str | None] = field(default_factory=dict)  # view -> since (UTC)
    message: str = ""
    # what the exit code comes from; not columns of the row
    build_error: FeatureStoreError | None = field(default=None, repr=False)
    sync_failed: dict[str, FeatureStoreError] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.seconds.items())
        lags = ", ".join(f"{view} {lag:.0f}s" for view, lag in sorted(
            self.freshness_lag.items()) if lag is not None)
        earlier = sum(entry.get("from_earlier_runs", 0) for entry in self.built.values())
        return (f"cycle {self.cycle_id}: {self.status}; {self.files} file(s), "
                f"{self.events:,} events"
                + (f", {len(self.quarantined)} quarantined" if self.quarantined else "")
                + (f"; built {self.built_files} file(s) ({self.built_events:,} events"
                   + (f", {earlier} landed by earlier cycles" if earlier else "") + ")"
                   if self.built_files else "")
                + (f"; pending {', '.join(sorted(self.pending))}" if self.pending else "")
                + f"; {self.models_built} model(s) built, "
                f"{self.items_written:,} items written, {self.items_skipped:,} skipped"
                + (f" ({stages})" if stages else "") + (f"; lag {lags}" if lags else "")
                + (f"; held back {', '.join(sorted(self.refused))}" if self.refused else "")
                + (f"; {self.message}" if self.message else ""))

    def problem(self) -> CycleFailed | None:
        """Why the cycle failed (its exit code the highest of its causes), or None."""
        causes: list[tuple[int, str]] = []
        if self.build_error is not None:
            causes.append((self.build_error.exit_code, f"build failed: {self.build_error}"))
        for view, reasons in sorted(self.refused.items()):
            since = self.held_since.get(view)
            causes.append((CHECK_FAILED, f"{view} held back"
                           + (f" (refused since {since} UTC)" if since else "")
                           + f": {'; '.join(reasons)}"))
        for view, error in sorted(self.sync_failed.items()):
            causes.append((error.exit_code, f"{view} not synced: {error}"))
        if not causes:
            return None
        return CycleFailed(f"cycle {self.cycle_id}: " + " | ".join(t for _, t in causes),
                           max(code for code, _ in causes))

    def document(self) -> dict:
        """The cycle as ``run --json`` prints it: the row's fields, JSON ones as values,
        the stages' seconds in one mapping."""
        return {"cycle_id": self.cycle_id, "started_at": self.started_at,
                "finished_at": self.finished_at, "status": self.status, "files": self.files,
                "events": self.events, "quarantined": self.quarantined,
                "built_files": self.built_files, "built_events": self.built_events,
                "built": self.built, "pending": self.pending,
                "models_built": self.models_built, "rows_changed": self.rows_changed,
                "items_written": self.items_written, "items_skipped": self.items_skipped,
                "seconds": self.seconds, "freshness_lag": self.freshness_lag,
                "refused": self.refused, "held_since": self.held_since,
                "message": self.message}

    def row(self) -> list:
        values = {
            "cycle_id": self.cycle_id, "started_at": self.started_at,
            "finished_at": self.finished_at, "status": self.status, "files": self.files,
            "events": self.events, "models_built": self.models_built,
            "rows_changed": self.rows_changed, "items_written": self.items_written,
            "items_skipped": self.items_skipped,
            "ingest_seconds": self.seconds.get("ingest"),
            "build_seconds": self.seconds.get("build"),
            "gate_seconds": self.seconds.get("gates"),
            "sync_seconds": self.seconds.get("sync"), "freshness_lag": self.freshness_lag,
            "refused": self.refused, "message": self.message[:MESSAGE_LIMIT],
            "held_since": self.held_since, "quarantined": self.quarantined,
            "built_files": self.built_files, "built_events": self.built_events,
            "built": self.built, "pending": self.pending}
        return [json.dumps(values[name]) if name in JSON_COLUMNS else values[name]
                for name, _ in COLUMNS]


def ensure_table(warehouse) -> str:
    """The table, or the columns a table made before them lacks."""
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(f"create table if not exists {table} "
                      f"({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    have = {name.lower() for name in warehouse.columns(table)}
    for name, kind in ADDED:
        if name in have:
            continue
        try:
            warehouse.execute(f"alter table {table} add column {name} {kind}")
        except WarehouseError:  # added meanwhile (a catalog build reading it, say)
            if name not in {c.lower() for c in warehouse.columns(table)}:
                raise
    return table


def save(project: Project, cycle: Cycle) -> None:
    from featurestore.warehouse import Warehouse

    names = ", ".join(name for name, _ in COLUMNS)
    with Warehouse(project) as warehouse:
        table = ensure_table(warehouse)
        with warehouse.transaction():
            warehouse.execute(f"delete from {table} where cycle_id = ?", [cycle.cycle_id])
            warehouse.execute(f"insert into {table} ({names}) values "
                              f"({', '.join('?' for _ in COLUMNS)})", cycle.row())


def close_interrupted(project: Project) -> int:
    """Cycles left ``running`` by a killed process are ``interrupted``; how many."""
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        table = ensure_table(warehouse)
        (count,) = warehouse.fetch_all(
            f"select count(*) from {table} where status = 'running'")[0]
        warehouse.execute(f"update {table} set status = 'interrupted' "
                          "where status = 'running'")
    return int(count)


def recent_cycles(project: Project, limit: int = 20) -> list[dict]:
    """The last ``limit`` cycles, newest first, their JSON columns read back as values."""
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        table = ensure_table(warehouse)
        rows = warehouse.fetch_all(f"select {', '.join(n for n, _ in COLUMNS)} from {table} "
                                   f"order by started_at desc limit {int(limit)}")
    return [{name: _json(value) if name in JSON_COLUMNS else value
             for (name, _), value in zip(COLUMNS, row, strict=True)} for row in rows]


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
