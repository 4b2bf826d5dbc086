"""``featurestore run``: land, build, gate and publish what arrived, cycle after cycle.

One cycle: ingest the new landing files; ``dbt build`` what they reach (the staging and
feature models downstream of the source tables that got rows; incremental models
recompute only what new events can change); gate the views that changed (freshness and
quality); sync them incrementally into DynamoDB. Every cycle is a row of
``featurestore.loop_cycles``: files, events, models built, rows per view, items written
and skipped, the seconds of each stage, and the freshness lag of each view after it.

Safe to stop in every way: one cycle runs at a time (a lock file beside the warehouse,
released by the operating system if the process dies); SIGTERM lets the cycle in
progress finish, then the loop exits; after a SIGKILL the next start resumes from what
was recorded (ingest is exactly-once, the builds are idempotent, the sync moves its
watermark only after DynamoDB acknowledged every write).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.dtypes import utc_naive
from featurestore.errors import FeatureStoreError, ProjectError
from featurestore.project import Project

TABLE = "loop_cycles"
COLUMNS = (
    ("cycle_id", "varchar"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
    ("status", "varchar"), ("files", "bigint"), ("events", "bigint"),
    ("models_built", "bigint"), ("rows_changed", "varchar"), ("items_written", "bigint"),
    ("items_skipped", "bigint"), ("ingest_seconds", "double"), ("build_seconds", "double"),
    ("gate_seconds", "double"), ("sync_seconds", "double"), ("freshness_lag", "varchar"),
    ("refused", "varchar"), ("message", "varchar"),
)


class LoopBusy(FeatureStoreError):
    """Another ``featurestore run`` holds the loop's lock."""


@dataclass
class Cycle:
    """What one cycle did; ``record()`` writes it to ``featurestore.loop_cycles``."""

    cycle_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str = "running"  # running | ok | failed | interrupted (a killed cycle)
    files: int = 0
    events: int = 0
    models_built: int = 0
    rows_changed: dict[str, int] = field(default_factory=dict)  # view -> rows read by sync
    items_written: int = 0
    items_skipped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    freshness_lag: dict[str, float | None] = field(default_factory=dict)  # view -> seconds
    refused: dict[str, list[str]] = field(default_factory=dict)  # view -> gate failures
    message: str = ""

    def summary(self) -> str:
        stages = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.seconds.items())
        lags = ", ".join(f"{view} {lag:.0f}s" for view, lag in sorted(
            self.freshness_lag.items()) if lag is not None)
        return (f"cycle {self.cycle_id}: {self.status}; {self.files} file(s), "
                f"{self.events:,} events, {self.models_built} model(s) built, "
                f"{self.items_written:,} items written, {self.items_skipped:,} skipped"
                + (f" ({stages})" if stages else "") + (f"; lag {lags}" if lags else "")
                + (f"; refused {', '.join(sorted(self.refused))}" if self.refused else "")
                + (f"; {self.message}" if self.message else ""))

    def row(self) -> list:
        return [self.cycle_id, self.started_at, self.finished_at, self.status, self.files,
                self.events, self.models_built, json.dumps(self.rows_changed),
                self.items_written, self.items_skipped, self.seconds.get("ingest"),
                self.seconds.get("build"), self.seconds.get("gates"),
                self.seconds.get("sync"), json.dumps(self.freshness_lag),
                json.dumps(self.refused), self.message[:2000]]


@dataclass
class LoopOptions:
    gate: bool = True  # the cheap gates (freshness, quality) before publishing
    sync: bool = True  # publish into the online store
    threads: int = 8


# -- the lock ---------------------------------------------------------------------------------
def lock_path(project: Project) -> Path:
    return project.settings.duckdb_path.parent / "featurestore-run.lock"


@contextmanager
def cycle_lock(project: Project):
    """One cycle at a time across processes: an exclusive lock on a file beside the
    warehouse, which the operating system releases when the holder dies."""
    path = lock_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise LoopBusy(f"{path}: another `featurestore run` (pid {holder}) is running a "
                           "cycle; one runs at a time. Stop it, or wait for it.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- the record -------------------------------------------------------------------------------
def ensure_table(warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(f"create table if not exists {table} "
                      f"({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    return table


def _save(project: Project, cycle: Cycle) -> None:
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        table = ensure_table(warehouse)
        with warehouse.transaction():
            warehouse.execute(f"delete from {table} where cycle_id = ?", [cycle.cycle_id])
            warehouse.execute(f"insert into {table} values "
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
    """The last ``limit`` cycles, newest first."""
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        table = ensure_table(warehouse)
        rows = warehouse.fetch_all(f"select {', '.join(n for n, _ in COLUMNS)} from {table} "
                                   f"order by started_at desc limit {int(limit)}")
    return [dict(zip([n for n, _ in COLUMNS], row, strict=True)) for row in rows]


# -- one cycle --------------------------------------------------------------------------------
def reached_models(manifest: dict, tables: list[str], models: list[str]) -> list[str]:
    """dbt selectors for the ``models`` (feature views' models) downstream of the source
    ``tables`` (``source.table``), each with what lies between: staging included."""
    parents = manifest.get("parent_map", {})
    by_name = {node["name"]: uid for uid, node in manifest.get("nodes", {}).items()
               if node.get("resource_type") == "model"}
    sources = {f"{node['source_name']}.{node['name']}": uid
               for uid, node in manifest.get("sources", {}).items()}

    def upstream(uid: str, seen: set) -> set:
        for parent in parents.get(uid, []):
            if parent not in seen:
                seen.add(parent)
                upstream(parent, seen)
        return seen

    selectors = []
    for model in models:
        uid = by_name.get(model)
        if uid is None:
            continue
        above = upstream(uid, set())
        for table in tables:
            if sources.get(table) in above:
                selectors.append(f"source:{table}+,+{model}")
    return sorted(set(selectors))


def run_cycle(project: Project, options: LoopOptions | None = None,
              progress: Callable[[str], None] = lambda _line: None) -> Cycle:
    """Ingest, build, gate and sync what arrived since the last cycle; the record."""
    options = options or LoopOptions()
    cycle = Cycle(uuid.uuid4().hex[:12], utc_naive())
    _save(project, cycle)
    try:
        _stages(project, cycle, options, progress)
        cycle.status = "failed" if cycle.refused else "ok"
    except BaseException as exc:
        cycle.status, cycle.message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        cycle.finished_at = utc_naive()
        _save(project, cycle)
    return cycle


def _stages(project: Project, cycle: Cycle, options: LoopOptions,
            progress: Callable[[str], None]) -> None:
    from featurestore.ingest import ingest

    started = time.perf_counter()
    report = ingest(project)
    cycle.files, cycle.events = report.count("loaded"), report.rows
    cycle.seconds["ingest"] = time.perf_counter() - started
    progress(f"ingest: {cycle.files} file(s), {cycle.events:,} events")
    # what this cycle landed, and what a killed cycle landed but did not build
    tables = sorted(set(report.tables_loaded()) | set(pending_tables(project)))
    catalog = project.catalog()
    built: set[str] = set()
    if tables:
        started = time.perf_counter()
        built = _build(project, catalog, tables)
        cycle.models_built = len(built)
        cycle.seconds["build"] = time.perf_counter() - started
        progress(f"build: {len(built)} model(s) reached by {', '.join(tables)}")
    online = [v for v in _live_versions(project, catalog) if v.online]
    if online and options.sync:
        # every online view (each live version): an incremental sync of a view with
        # nothing new is a query, and one killed before it published is published now
        _publish(project, cycle, online, {v.label for v in online if v.source in built},
                 options, progress)
    cycle.freshness_lag = _freshness(project, catalog)


def _live_versions(project: Project, catalog) -> list:
    """Every live version of every view, less those retired in the registry."""
    from featurestore.feature_refs import select_versions

    retired = {}
    if catalog.versions:
        from featurestore.version_log import retired_versions
        from featurestore.warehouse import Warehouse

        with Warehouse(project, read_only=True) as warehouse:
            retired = retired_versions(warehouse)
    return select_versions(catalog, retired=retired)


def pending_tables(project: Project) -> list[str]:
    """Source tables with files loaded after the last cycle that finished: a killed
    cycle's landings, which the next one must build."""
    from featurestore.ingest import LEDGER
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        cycles = ensure_table(warehouse)
        ledger = warehouse.store_table(LEDGER)
        try:
            rows = warehouse.fetch_all(
                f"select distinct source || '.' || source_table from {ledger} "
                f"where status = 'loaded' and ingested_at > coalesce((select max(finished_at) "
                f"from {cycles} where status in ('ok', 'failed')), timestamp '1970-01-01')")
        except FeatureStoreError:  # no ledger yet: nothing was ever ingested
            return []
    return sorted(row[0] for row in rows)


def _build(project: Project, catalog, tables: list[str]) -> set[str]:
    """``dbt build`` of the feature models the loaded tables reach; their names."""
    from featurestore.dbt_runner import run_dbt

    manifest = project.dbt_manifest()
    if manifest is None:
        raise ProjectError("no dbt manifest: run `featurestore build` once before the loop")
    models = sorted({view.source for view in catalog.views.values()})
    selectors = reached_models(manifest, tables, models)
    if not selectors:
        return set()
    run_dbt(project, ["build", "--quiet", "--select", *selectors])
    return {selector.rsplit("+", 1)[-1] for selector in selectors}


def _publish(project: Project, cycle: Cycle, views, rebuilt: set[str], options: LoopOptions,
             progress: Callable[[str], None]) -> None:
    """Gate the views rebuilt this cycle, then sync every view that did not fail."""
    from featurestore.sync.run import sync_views
    from featurestore.sync.worker import SyncOptions

    gated = [v for v in views if v.label in rebuilt]
    if options.gate and gated:
        from featurestore.gates.publish import gate_views_for_sync
        from featurestore.warehouse import Warehouse

        started = time.perf_counter()
        with Warehouse(project) as warehouse:
            outcomes = gate_views_for_sync(project, warehouse, gated, utc_naive())
        cycle.refused = {name: list(outcome.failures) for name, outcome in outcomes.items()
                         if not outcome.passed}
        cycle.seconds["gates"] = time.perf_counter() - started
        for name, failures in cycle.refused.items():
            progress(f"gate failed, not publishing {name}: {'; '.join(failures)}")
        views = [v for v in views if v.label not in cycle.refused]
    if not views:
        return
    started = time.perf_counter()
    run = sync_views(project, views, SyncOptions(threads=options.threads), gate=False)
    for result in run.results:
        if result.rows_read:
            cycle.rows_changed[result.view] = result.rows_read
        cycle.items_written += result.written
        cycle.items_skipped += result.skipped
    cycle.seconds["sync"] = time.perf_counter() - started
    progress(f"sync: {cycle.items_written:,} items written, {cycle.items_skipped:,} skipped")


def _freshness(project: Project, catalog) -> dict[str, float | None]:
    """Seconds between now and each view's newest feature_ts (None: no rows yet)."""
    from featurestore.errors import WarehouseError
    from featurestore.warehouse import Warehouse

    now = utc_naive()
    lags: dict[str, float | None] = {}
    with Warehouse(project, read_only=True) as warehouse:
        for view in sorted(catalog.views.values(), key=lambda v: v.name):
            relation = warehouse.view_relation(view)
            ts = warehouse.column(view.timestamp)
            try:
                (newest,) = warehouse.fetch_all(f"select max({ts}) from {relation} "
                                                f"where {ts} <= ?", [now])[0]
            except WarehouseError:
                newest = None
            lags[view.name] = None if newest is None else round(
                (now - utc_naive(newest)).total_seconds(), 3)
    return lags


# -- the loop ---------------------------------------------------------------------------------
def run_loop(project: Project, *, every: float, once: bool = False,
             options: LoopOptions | None = None, stop: Callable[[], bool] = lambda: False,
             on_cycle: Callable[[Cycle], None] = lambda _cycle: None,
             progress: Callable[[str], None] = lambda _line: None) -> list[Cycle]:
    """Cycles every ``every`` seconds (a cycle that runs longer starts the next at once)
    until ``stop()`` says so, or one cycle with ``once``. A failing cycle is recorded and
    reported; the loop goes on (``once`` raises it)."""
    cycles: list[Cycle] = []
    with cycle_lock(project):
        interrupted = close_interrupted(project)
        if interrupted:
            progress(f"{interrupted} cycle(s) of a killed run marked interrupted; resuming "
                     "from what they recorded")
        while True:
            started = time.monotonic()
            try:
                cycle = run_cycle(project, options, progress)
            except FeatureStoreError as exc:
                if once:
                    raise
                progress(f"cycle failed: {exc}")
            else:
                cycles.append(cycle)
                on_cycle(cycle)
            if once or stop():
                return cycles
            while time.monotonic() - started < every and not stop():
                time.sleep(min(0.2, every))
            if stop():
                return cycles
