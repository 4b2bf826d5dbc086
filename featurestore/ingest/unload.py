"""``featurestore ingest --unload FILE``: take a loaded file's rows out again.

The rows go, with the file's ledger line set to ``unloaded``, in one transaction
(ledger.py). Nothing is rebuilt here: an unload takes rows away, and an incremental model
only ever adds what landed after its watermark, so the models built from those rows keep
them until a full refresh, which can take long and is the operator's to start. The
result names those models and the command's output says what to run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from featurestore.dtypes import utc_naive
from featurestore.ingest import ledger
from featurestore.ingest.sources import raw_tables
from featurestore.project import Project


def unload_file(project: Project, name: str, *, table: str | None = None,
                clock: Callable[[], dt.datetime] = utc_naive) -> ledger.Unloaded:
    """Remove the rows of the loaded file ``name`` (a name, or a path ending in it) from
    its raw table (``table``: SOURCE.TABLE or TABLE, when the name is in several)."""
    from featurestore.warehouse import Warehouse

    tables = raw_tables(project)
    with Warehouse(project) as warehouse:
        book = ledger.ensure_tables(warehouse, tables)
        result = ledger.unload(warehouse, book, tables, name, table, utc_naive(clock()))
    result.models = incremental_models(project.dbt_manifest() or {}, result.table)
    return result


def incremental_models(manifest: dict, table: str) -> list[str]:
    """The incremental models downstream of source ``table`` (``source.table``)."""
    children = manifest.get("child_map", {})
    nodes = manifest.get("nodes", {})
    start = [uid for uid, node in manifest.get("sources", {}).items()
             if f"{node['source_name']}.{node['name']}" == table]
    seen, stack = set(start), list(start)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return sorted(nodes[uid]["name"] for uid in seen if uid in nodes
                  and nodes[uid].get("resource_type") == "model"
                  and (nodes[uid].get("config") or {}).get("materialized") == "incremental")
