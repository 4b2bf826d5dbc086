"""Backfill a version: build its history with dbt, then sync it to its own items.

A ``dbt build`` of the version's model is atomic per run (the incremental model's own
watermark says what a rerun still has to do), and the sync's watermark moves only once
every write is acknowledged, so a killed backfill is rerun as it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from featurestore import version_log
from featurestore.apps.versions.inputs import Say, pick_view_version, quiet, who_of
from featurestore.apps.versions.store import Store, served_version
from featurestore.dtypes import utc_naive
from featurestore.errors import RequestError
from featurestore.project import Project
from featurestore.version_log import VersionEvent


@dataclass
class BackfillResult:
    view: str
    version: int
    model: str
    history_from: dt.datetime | None
    sync: object = None  # the SyncRun
    event: VersionEvent | None = None

    def to_dict(self) -> dict:
        return {"view": self.view, "version": self.version, "model": self.model,
                "history_from": self.history_from,
                "sync": [r.to_dict() for r in self.sync.results] if self.sync else [],
                "event": self.event.to_dict() if self.event else None}


HISTORY_MACRO = "macro.featurestore.history_from"


def backfill(project: Project, view_name: str, version: int, *,
             history_from: dt.datetime | None = None, full_refresh: bool = False,
             gate: bool = True, batch_size: int = 5_000, threads: int = 8,
             who: str | None = None, say: Say = quiet, reporter=None) -> BackfillResult:
    """Build ``version``'s history with dbt (incremental where the model is), then sync
    its latest rows to its own items (``<view>#v<N>``); never the version served."""
    from featurestore.dbt_runner import run_dbt
    from featurestore.errors import ValidationFailed
    from featurestore.generate import write_generated
    from featurestore.model_check import column_problems
    from featurestore.sync.run import sync_views
    from featurestore.sync.worker import SyncOptions
    from featurestore.warehouse import Warehouse

    view = pick_view_version(project, view_name, version)
    store = Store.open(project)
    pointer = store.pointer(view_name)
    served = served_version(project, view_name, pointer)
    if version == served:
        raise RequestError(
            f"v{version} of `{view_name}` is the version served: a backfill would change "
            "what models get without a promotion. Replay into a new version instead: add it "
            f"to `versions:` in {view.path}, then `featurestore backfill {view_name} "
            f"--version <N>`.")
    if version in pointer.retired:
        raise RequestError(f"version {version} of `{view_name}` is retired")
    for path in write_generated(project, project.catalog()):
        say(f"regenerated {path}")
    args = ["build", "--select", view.model_ref]
    if full_refresh:
        args.append("--full-refresh")
    if history_from is not None:
        node = project.model_node(view.source, view.model_version)
        if node is None:
            run_dbt(project, ["parse"])
            node = project.model_node(view.source, view.model_version)
        macros = ((node or {}).get("depends_on") or {}).get("macros") or []
        if HISTORY_MACRO not in macros:
            raise RequestError(
                f"--from: model {view.model_ref} does not call featurestore.history_from, "
                "so its history cannot start at a date (the option would be ignored). Add "
                "`where {{ featurestore.history_from('<event time>', lookback='<longest "
                "window>') }}` to its events and `where {{ featurestore.history_from("
                "'feature_ts') }}` to its rows (docs/versions.md), or leave --from out.")
        args += ["--vars", '{"featurestore_history_from": "'
                 + utc_naive(history_from).isoformat(sep=" ") + '"}']
    say(f"dbt build --select {view.model_ref}"
        + (f" (history from {utc_naive(history_from).isoformat(sep=' ')})"
           if history_from else ""))
    run_dbt(project, args)
    with Warehouse(project, read_only=True) as warehouse:
        relation = warehouse.view_relation(view)
        problems = column_problems(view, warehouse.columns(relation), relation)
    if problems:
        raise ValidationFailed("the built version disagrees with its contract:\n"
                               + "\n".join(problems))
    say(f"built {relation}; syncing {view_name} v{version} to its own items "
        f"({view_name}#v{version})")
    run = sync_views(project, [view], SyncOptions(batch_size=batch_size, threads=threads),
                     gate=gate, reporter=reporter)
    problem = run.problem()
    if problem is not None:
        raise problem
    result = BackfillResult(view_name, version, view.model_ref, history_from, run)
    event = VersionEvent(view_name, version, "backfill", who_of(project, who), "",
                         served, store.store_id, details={
                             "history_from": history_from, "full_refresh": full_refresh,
                             "rows_read": sum(r.rows_read for r in run.results),
                             "items_written": sum(r.written for r in run.results)})
    with Warehouse(project) as warehouse:
        result.event = version_log.record(warehouse, event)
    return result

