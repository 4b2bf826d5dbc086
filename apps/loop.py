"""``featurestore run``: land, build, gate and publish what arrived, cycle after cycle.

One cycle: ingest the new landing files; ``dbt build`` what the pending files reach (the
staging and feature models downstream of their source tables; incremental models
recompute only what new events can change); record dbt's verdict on each view state it
rebuilt; publish every online view whose built state may be published (gates/publish.py:
the gates judge the rebuilt states and those never judged; a state a gate or a dbt test
refused is held back, in this cycle and every later one, until a later state passes);
sync them incrementally into DynamoDB. Every cycle is a row of
``featurestore.loop_cycles`` (featurestore/cycle_log.py).

Pending work is cleared only by a build that succeeded (featurestore/pending_work.py):
a failed build, a failing test or a kill leaves its tables' files pending, and the next
cycle builds them, new files or not.

Safe to stop in every way: one cycle runs at a time (a lock file beside the warehouse,
released by the operating system if the process dies); SIGTERM lets the cycle in
progress finish, then the loop exits; after a SIGKILL the next start resumes from what
was recorded (ingest is exactly-once, the builds are idempotent, the sync moves its
watermark only after DynamoDB acknowledged every write).
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from featurestore import pending_work
from featurestore.cycle_log import TABLE, Cycle, close_interrupted, recent_cycles, save
from featurestore.dtypes import utc_naive
from featurestore.errors import FeatureStoreError, ProjectError
from featurestore.pending_work import reached_nodes
from featurestore.project import Project

__all__ = ["TABLE", "Cycle", "LoopOptions", "recent_cycles", "run_cycle", "run_loop"]


class LoopBusy(FeatureStoreError):
    """Another ``featurestore run`` holds the loop's lock."""


@dataclass
class LoopOptions:
    gate: bool = True  # the cheap gates (freshness, quality) before publishing
    sync: bool = True  # publish into the online store
    threads: int = 8


# -- the lock ---------------------------------------------------------------------------------
def lock_path(project: Project) -> Path:
    return project.dbt_target.local_dir / "featurestore-run.lock"


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


# -- one cycle --------------------------------------------------------------------------------
def reached_models(manifest: dict, tables: list[str], models: list[str]) -> list[str]:
    """dbt selectors for the ``models`` (feature views' models) downstream of the source
    ``tables`` (``source.table``), each with what lies between: staging included."""
    by_name = {node["name"]: uid for uid, node in manifest.get("nodes", {}).items()
               if node.get("resource_type") == "model"}
    selectors = []
    for model in models:
        if model not in by_name:
            continue
        for table in tables:
            if reached_nodes(manifest, table, [model]):
                selectors.append(f"source:{table}+,+{model}")
    return sorted(set(selectors))


def run_cycle(project: Project, options: LoopOptions | None = None,
              progress: Callable[[str], None] = lambda _line: None) -> Cycle:
    """Ingest, build, gate and sync what arrived since the last cycle, and what earlier
    cycles landed but did not build; the record (``Cycle.problem()`` says why it failed:
    a build error, a view held back, a view not synced)."""
    options = options or LoopOptions()
    cycle = Cycle(uuid.uuid4().hex[:12], utc_naive())
    save(project, cycle)
    try:
        _stages(project, cycle, options, progress)
        problem = cycle.problem()
        cycle.status = "failed" if problem else "ok"
        cycle.message = str(problem) if problem else ""
    except BaseException as exc:
        cycle.status, cycle.message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        cycle.finished_at = utc_naive()
        save(project, cycle)
    return cycle


def _stages(project: Project, cycle: Cycle, options: LoopOptions,
            progress: Callable[[str], None]) -> None:
    from featurestore.ingest import ingest

    started = time.perf_counter()
    report = ingest(project)
    cycle.files, cycle.events = report.count("loaded"), report.rows
    cycle.quarantined = [
        {"table": f.table, "file": f.path.rsplit("/", 1)[-1], "reason": _bounded(f.message)}
        for f in report.files if f.status == "quarantined"]
    cycle.seconds["ingest"] = time.perf_counter() - started
    progress(f"ingest: {cycle.files} file(s), {cycle.events:,} events"
             + (f", {len(cycle.quarantined)} quarantined" if cycle.quarantined else ""))
    save(project, cycle)  # a kill from here on leaves what the cycle landed on record
    # what this cycle landed, and what earlier ones landed but did not build (a killed
    # cycle, a failed build): pending until a build of their table succeeds
    waiting = pending_work.pending(project)
    catalog = project.catalog()
    live = _live_versions(project, catalog)
    rebuilt: set[str] = set()
    results = None
    if waiting:
        started = time.perf_counter()
        progress(f"build: starting, for the files of {', '.join(waiting)}")
        results = _build(project, cycle, catalog, waiting, report.run_id)
        if results is not None:
            rebuilt = _judge_rebuilt(project, cycle, live, results)
        cycle.seconds["build"] = time.perf_counter() - started
        progress(f"build: {cycle.models_built} model(s) rebuilt, {cycle.built_files} "
                 f"file(s) built" + (f"; failed: {_bounded(str(cycle.build_error), 500)}"
                                     if cycle.build_error else ""))
        cycle.pending = pending_work.summary(pending_work.pending(project))
    online = [v for v in live if v.online]
    if online and options.sync:
        _publish(project, cycle, online, rebuilt, options, progress)
    held = _model_uids(project, [v for v in live if v.label in cycle.refused])
    if cycle.build_error is not None and results is not None and results.only_tests_of(held):
        cycle.build_error = None  # only tests of views now held back failed: they say it
    cycle.freshness_lag = _freshness(project, catalog)


def _bounded(text: str, limit: int = 300) -> str:
    """A message for the record: one line, bounded (it may quote a file's content)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


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


def _build(project: Project, cycle: Cycle, catalog, waiting: dict[str, list],
           this_run: str):
    """``dbt build`` of the feature models the pending files reach; records which files
    it carried into their models (their tables' builds succeeded), and returns dbt's
    results (None: it left none). A failed build is kept on the cycle
    (``build_error``): the views it did rebuild are still judged and published, and the
    files of the tables it failed stay pending."""
    from featurestore.dbt_results import read_run_results
    from featurestore.dbt_runner import run_dbt

    manifest = project.dbt_manifest()
    if manifest is None:
        raise ProjectError("no dbt manifest: run `featurestore build` once before the loop")
    models = sorted({view.source for view in catalog.views.values()})
    selectors = reached_models(manifest, list(waiting), models)
    results = None
    if selectors:
        started = utc_naive()
        try:
            run_dbt(project, ["build", "--quiet", "--select", *selectors])
        except FeatureStoreError as exc:
            cycle.build_error = exc
        manifest = project.dbt_manifest() or manifest
        results = read_run_results(project, manifest, since=started)
    done = [landing for table, landings in waiting.items()
            if pending_work.table_built(results, manifest, table, models)
            for landing in landings]
    pending_work.mark_built(project, done, cycle.cycle_id)
    cycle.built = pending_work.summary(
        {table: [x for x in done if x.label == table] for table in {x.label for x in done}},
        this_run)
    cycle.built_files, cycle.built_events = len(done), sum(x.events for x in done)
    return results


def _model_uids(project: Project, views: list) -> set[str]:
    nodes = (project.model_node(view.source, view.model_version) for view in views)
    return {node["unique_id"] for node in nodes if node}


def _judge_rebuilt(project: Project, cycle: Cycle, live: list, results) -> set[str]:
    """Record what dbt's tests said of each view version whose model the build rebuilt
    (the verdict on its new state); the labels of those versions."""
    from featurestore.gates import verdicts
    from featurestore.warehouse import Warehouse

    rebuilt: set[str] = set()
    models: set[str] = set()
    with Warehouse(project) as warehouse:
        for view in live:
            node = project.model_node(view.source, view.model_version)
            if not node or not results.built(node["unique_id"]):
                continue
            models.add(node["unique_id"])
            state = verdicts.built_state(warehouse, view)
            if state is None:
                continue
            failing = results.failing_tests(node["unique_id"])
            verdicts.record(warehouse, state, verdicts.DBT, not failing, failing,
                            cycle_id=cycle.cycle_id, judged_by=project.settings.user)
            rebuilt.add(view.label)
    cycle.models_built = len(models)
    return rebuilt


def _publish(project: Project, cycle: Cycle, views, rebuilt: set[str], options: LoopOptions,
             progress: Callable[[str], None]) -> None:
    """Sync every online view version whose built state may be published: the gates
    judge the states this cycle rebuilt and those never judged; a state a gate or a dbt
    test refused, in this cycle or before, is held back (gates/publish.py)."""
    from featurestore.sync.run import sync_views
    from featurestore.sync.worker import SyncOptions

    started = time.perf_counter()
    run = sync_views(project, views, SyncOptions(threads=options.threads), gate=options.gate,
                     raise_failed=False, rejudge=rebuilt, cycle_id=cycle.cycle_id)
    cycle.refused = run.refused
    cycle.held_since = {name: None if since is None else since.isoformat(
        sep=" ", timespec="seconds") for name, since in run.held_since.items()}
    cycle.sync_failed = run.failed
    cycle.seconds["gates"] = run.screen_seconds
    for name, reasons in sorted(run.refused.items()):
        since = cycle.held_since.get(name)
        progress(f"held back, not publishing {name}"
                 + (f" (refused since {since} UTC)" if since else "")
                 + f": {'; '.join(reasons)}")
    for result in run.results:
        if result.rows_read:
            cycle.rows_changed[result.view] = result.rows_read
        cycle.items_written += result.written
        cycle.items_skipped += result.skipped
    cycle.seconds["sync"] = time.perf_counter() - started - run.screen_seconds
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
    reported, and the loop goes on; ``once`` raises why it failed (``CycleFailed``, or
    the error that stopped it), so that cron and CI see its exit code."""
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
                problem = cycle.problem()
                if problem is not None and once:
                    raise problem
                if problem is not None:
                    progress(f"cycle failed: {problem}")
            if once or stop():
                return cycles
            while time.monotonic() - started < every and not stop():
                time.sleep(min(0.2, every))
            if stop():
                return cycles
