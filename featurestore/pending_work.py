"""Landed files the loop has not built yet: pending until a build of their table succeeded.

Ingest records every loaded file in ``featurestore.ingested_files``; the loop records
in ``featurestore.loop_builds`` each file whose rows a build carried into the models
its table reaches, with the cycle that did it. A file is pending while it is loaded and
not built. A build that fails (a model error, a failing dbt test, a kill mid-build)
leaves its table's files pending, so the next cycle builds them again, with or without
new files, until one succeeds; the cycle that does lists them in its row. A file is
known by its ingest run, table, name and hash: a file unloaded and loaded again is
pending again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from featurestore.dbt_results import BuildResults
from featurestore.dtypes import utc_naive
from featurestore.errors import WarehouseError, WarehouseUnreachable
from featurestore.project import Project

TABLE = "loop_builds"
COLUMNS = (
    ("run_id", "varchar"), ("source", "varchar"), ("source_table", "varchar"),
    ("name", "varchar"), ("sha256", "varchar"), ("events", "bigint"),
    ("ingested_at", "timestamp"), ("cycle_id", "varchar"), ("built_at", "timestamp"),
)
CHUNK = 200  # rows per insert statement


@dataclass(frozen=True)
class Landing:
    """One loaded file: its ingest run, table (``source.table``), name, hash, rows."""

    run_id: str
    source: str
    table: str
    name: str
    sha256: str
    events: int
    ingested_at: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.source}.{self.table}"


def ensure_table(warehouse) -> str:
    warehouse.ensure_store_schema()
    table = warehouse.store_table(TABLE)
    warehouse.execute(f"create table if not exists {table} "
                      f"({', '.join(f'{n} {t}' for n, t in COLUMNS)})")
    return table


def pending(project: Project) -> dict[str, list[Landing]]:
    """``source.table`` -> its loaded files not built yet, oldest first."""
    from featurestore.ingest import LEDGER
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        builds = ensure_table(warehouse)
        ledger = warehouse.store_table(LEDGER)
        try:
            rows = warehouse.fetch_all(
                f"select l.run_id, l.source, l.source_table, l.name, l.sha256, l.rows, "
                f"l.ingested_at from {ledger} as l where l.status = 'loaded' and not exists ("
                f"select 1 from {builds} as b where b.run_id = l.run_id and b.source = "
                "l.source and b.source_table = l.source_table and b.name = l.name and "
                "b.sha256 = l.sha256) order by l.ingested_at, l.name")
        except WarehouseUnreachable:
            raise
        except WarehouseError:  # no ledger yet: nothing was ever ingested
            return {}
    found: dict[str, list[Landing]] = defaultdict(list)
    for run_id, source, table, name, sha256, events, ingested_at in rows:
        landing = Landing(run_id, source, table, name, sha256, int(events or 0),
                          utc_naive(ingested_at))
        found[landing.label].append(landing)
    return dict(sorted(found.items()))


def mark_built(project: Project, landings: list[Landing], cycle_id: str) -> None:
    """Record ``landings`` as built by ``cycle_id``, all in one transaction."""
    from featurestore.warehouse import Warehouse

    if not landings:
        return
    now = utc_naive()
    with Warehouse(project) as warehouse:
        table = ensure_table(warehouse)
        with warehouse.transaction():
            for start in range(0, len(landings), CHUNK):
                chunk = landings[start:start + CHUNK]
                values = ", ".join(f"({', '.join('?' for _ in COLUMNS)})" for _ in chunk)
                params = [value for landing in chunk for value in (
                    landing.run_id, landing.source, landing.table, landing.name,
                    landing.sha256, landing.events, landing.ingested_at, cycle_id, now)]
                warehouse.execute(f"insert into {table} values {values}", params)


def summary(found: dict[str, list[Landing]], this_run: str | None = None) -> dict[str, dict]:
    """Per table: files and events; for pending files (no ``this_run``) when the oldest
    landed, for built ones how many came from ingest runs before ``this_run`` (a killed
    or failed cycle's)."""
    result = {}
    for table, landings in sorted(found.items()):
        entry: dict = {"files": len(landings), "events": sum(x.events for x in landings)}
        if this_run is None:
            entry["since"] = min(x.ingested_at for x in landings).isoformat(
                sep=" ", timespec="seconds")
        else:
            entry["from_earlier_runs"] = sum(1 for x in landings if x.run_id != this_run)
        result[table] = entry
    return result


# -- what a build reached ---------------------------------------------------------------------
def reached_nodes(manifest: dict, table: str, models: list[str]) -> set[str]:
    """The models downstream of source ``table`` (``source.table``) and upstream of (or
    one of) the feature ``models``: what a build of that table's landings must rebuild."""
    parents = manifest.get("parent_map", {})
    sources = {f"{node['source_name']}.{node['name']}": uid
               for uid, node in manifest.get("sources", {}).items()}
    source = sources.get(table)
    if source is None:
        return set()
    wanted = {uid for uid, node in manifest.get("nodes", {}).items()
              if node.get("resource_type") == "model" and node.get("name") in models}
    reached: set[str] = set()
    for model in wanted:
        lineage = _upstream(parents, model) | {model}
        if source not in lineage:
            continue
        reached |= {uid for uid in lineage if uid.startswith("model.")
                    and source in _upstream(parents, uid)}
    return reached


def _upstream(parents: dict, uid: str) -> set[str]:
    seen: set[str] = set()
    stack = [uid]
    while stack:
        for parent in parents.get(stack.pop(), []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def table_built(results: BuildResults | None, manifest: dict, table: str,
                models: list[str]) -> bool:
    """Whether the build whose ``results`` these are carried ``table``'s landings into
    every model they reach: each rebuilt, each of its tests passed. A table that reaches
    no model has nothing to build; a build that left no results built nothing."""
    nodes = reached_nodes(manifest, table, models)
    if not nodes:
        return True
    if results is None:
        return False
    return all(results.node_ok(uid) for uid in nodes)
