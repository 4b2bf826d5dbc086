"""``dbt build`` for ``featurestore build``, with the two failures of a project's first
minutes turned into one clear step each.

1. A feature model's columns changed (a scaffold's placeholder replaced by the real
   features, a feature added). Feature models are incremental with
   ``on_schema_change: fail``, so dbt stops with "The source and target schemas on this
   incremental model are out of sync". If nothing has consumed the view yet (no sync,
   no training set, no promotion or backfill: ``registry.consumed_views``), its old
   table holds nothing anyone depends on: it is dropped and the build runs again, which
   rebuilds that model from scratch (what ``--full-refresh`` would do, for it alone),
   and one line says so. A consumed view's table is left alone: one error names the
   model and the exact command, because a full refresh rewrites what a sync or a
   training set already read.
2. A raw table that ``featurestore ingest`` fills does not exist yet (a team's project
   built before its first ingest): one error names the source, its landing folder and
   the command that loads it, instead of dbt's "Table with name ... does not exist".

Which nodes failed, and why, is dbt's own ``run_results.json`` of that run, read by
``dbt_results.read_run_results`` (the loop reads it the same way).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from featurestore.contracts import Catalog, FeatureView
from featurestore.dtypes import utc_naive
from featurestore.errors import ProjectError, WarehouseError, WarehouseUnreachable
from featurestore.project import Project

# dbt's words when an incremental model's columns differ from its table's
# (dbt/include/global_project/macros/materializations/models/incremental/on_schema_change.sql)
OUT_OF_SYNC = "source and target schemas on this incremental model are out of sync"


def build(project: Project, catalog: Catalog, dbt_args: list[str],
          progress: Callable[[str], None] = lambda _line: None) -> None:
    """``dbt build <dbt_args>``; see the module docstring for the two failures it
    explains, and the one it repairs (then the build runs once more)."""
    from featurestore.dbt_runner import run_dbt

    started = utc_naive()
    try:
        run_dbt(project, ["build", *dbt_args])
        return
    except ProjectError:  # a model failed (tests alone failing are ValidationFailed)
        failed = _failed_nodes(project, started)
        missing = _missing_raw_tables(project, failed)
        if missing:
            raise ProjectError(missing) from None
        rebuilt = _drop_unpublished_changed_models(project, catalog, failed)
        if not rebuilt:
            raise
    for line in rebuilt:
        progress(line)
    run_dbt(project, ["build", *dbt_args])


def _failed_nodes(project: Project, since: dt.datetime) -> dict[str, str]:
    """unique_id -> dbt's message, for every node that failed in the run started at
    ``since`` (none if dbt stopped before it wrote its results)."""
    from featurestore.dbt_results import read_run_results

    results = read_run_results(project, project.dbt_manifest() or {}, since=since)
    if results is None:
        return {}
    return {uid: results.nodes[uid].message for uid in results.failed()}


def _node(project: Project, unique_id: str) -> dict:
    manifest = project.dbt_manifest() or {}
    return (manifest.get("nodes") or {}).get(unique_id) or {}


def _view_of(catalog: Catalog, node: dict) -> FeatureView | None:
    """The live view version a dbt model node computes, if any."""
    for view in catalog.all_live():
        if view.source == node.get("name") and (
                node.get("version") is None or str(node["version"]) == str(view.model_version)):
            return view
    return None


def _drop_unpublished_changed_models(project: Project, catalog: Catalog,
                                     failed: dict[str, str]) -> list[str]:
    """Drop the tables of the failed models whose columns changed, when their views were
    never consumed; return a line per model. ProjectError, naming the model and the
    command, when such a model's view (or a model that is no view) was consumed."""
    from featurestore.registry import consumed_views
    from featurestore.warehouse import Warehouse

    changed = [(uid, _node(project, uid)) for uid, message in failed.items()
               if OUT_OF_SYNC in " ".join(message.split())]
    if not changed:
        return []
    lines = []
    with Warehouse(project) as warehouse:
        consumed = consumed_views(warehouse)
        for unique_id, node in changed:
            view = _view_of(catalog, node)
            selector = node.get("name", unique_id.split(".")[2]) + (
                f".v{node['version']}" if node.get("version") is not None else "")
            if view is None or view.name in consumed or not node.get("relation_name"):
                owner = (f" (view `{view.name}`, {consumed[view.name]})"
                         if view is not None and view.name in consumed else "")
                raise ProjectError(
                    f"model `{selector}`{owner}: its columns changed since its table was "
                    "built, and dbt does not change an incremental model's columns in place "
                    "(on_schema_change: fail). Rebuild it from its whole history: "
                    f"`featurestore build --select {selector} --full-refresh`.")
            warehouse.execute(f"drop table if exists {node['relation_name']}")
            lines.append(f"{selector}: its columns changed, and nothing has consumed view "
                         f"`{view.name}` yet (no sync, training set or promotion): rebuilding "
                         "it from scratch, as `--full-refresh` would")
    return lines


def _missing_raw_tables(project: Project, failed: dict[str, str]) -> str | None:
    """The error for failed models that read landed raw tables which do not exist yet."""
    from featurestore.ingest import raw_tables
    from featurestore.warehouse import Warehouse

    manifest = project.dbt_manifest()
    if not failed or not manifest:
        return None
    read = {source for uid in failed
            for source in (_node(project, uid).get("depends_on") or {}).get("nodes", [])}
    relations = {manifest["sources"][uid]["relation_name"] for uid in read
                 if uid in (manifest.get("sources") or {})}
    tables = [table for table in raw_tables(project, manifest) if table.relation in relations]
    missing = []
    with Warehouse(project) as warehouse:
        for table in tables:
            try:
                warehouse.columns(table.relation)
            except WarehouseUnreachable:
                raise
            except WarehouseError:
                missing.append(table)
    if not missing:
        return None
    lines = [f"  source `{t.label}` ({t.relation}): its files land in {t.landing}/"
             for t in missing]
    return ("\n".join([f"{len(missing)} raw table(s) that `featurestore ingest` loads do not "
                       "exist yet:", *lines])
            + "\nRun `featurestore ingest`, then `featurestore build` again.")
