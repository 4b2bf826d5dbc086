"""``featurestore online restore --table T``: a whole online table rebuilt from the
warehouse.

A table lost, or a region rebuilt, is what the warehouse already holds: every online view's
latest rows, and in the registry's version log which version each view serves. So a
restore is the sync itself, run for every live version of every online view into the
table ``T`` (created if missing), as a first load:

- each view's serving pointer is rebuilt from the registry's version log before its
  first item (``sync/pointer.py``, as any sync into a table without one), so the restored
  table serves the versions the original served, and never a retired one;
- the sync state is the table's own (keyed by its endpoint and ARN), and the load is full
  (``--full-refresh``), so nothing is skipped because another table was synced before;
- a view version nobody has written in ``T`` is claimed and loaded with plain
  BatchWriteItem (``sync/first_load.py``); in a table that already holds some, the
  writes are conditional, so a restore over a table that is not empty never regresses it.

The built states are judged as a sync judges them, from the verdicts they already have
(``rejudge`` none): a state the gates passed is restored without running them again, a
refused one is held back and reported, one never judged is judged now (unless ``gate`` is
false, as ``sync --no-gate``). Only the primary region is written: a global
table's replica receives the restored items from it (docs/architecture.md).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from featurestore.online.dynamodb import DynamoDBStore
from featurestore.online.serving import Pointer
from featurestore.project import Project
from featurestore.sync.run import SyncReporter, SyncRun, online_views, sync_views
from featurestore.sync.worker import SyncOptions


@dataclass
class RestoreReport:
    """What ``restore_table`` did: the table, whether it was created, the sync run, each
    online view's serving pointer as it stands after the run, and the wall time."""

    table: str
    where: str
    created: bool
    run: SyncRun
    pointers: dict[str, Pointer]
    seconds: float

    @property
    def items(self) -> int:
        return sum(result.written for result in self.run.results)

    def to_dict(self) -> dict:
        """What ``featurestore online restore --json`` prints."""
        return {"table": self.table, "store": self.where, "created": self.created,
                "seconds": round(self.seconds, 3), "items": self.items,
                "views": [result.to_dict() for result in self.run.results],
                "pointers": {view: {"served": pointer.served,
                                    "retired": sorted(pointer.retired)}
                             for view, pointer in sorted(self.pointers.items())
                             if pointer.event_id is not None},
                "refused": self.run.refused,
                "failed": {name: str(error) for name, error in self.run.failed.items()}}


def restore_table(project: Project, table: str, *, threads: int = 8, as_of=None,
                  gate: bool = True, reporter: SyncReporter | None = None) -> RestoreReport:
    """Rebuild ``table`` (in the project's online store, the primary region) from the
    warehouse: create it if missing, then a full first load of every live version of
    every online view, each view's serving pointer first. Views that failed or were
    refused are in the report's run (``problem()`` says so); the others are restored."""
    from featurestore.version_log import retired_versions
    from featurestore.warehouse import Warehouse

    started = time.perf_counter()
    target = copy.copy(project)  # the caller's project keeps its own table
    target.settings = project.settings.replace(online=project.settings.online.primary()
                                               .replace(table=table))
    store = DynamoDBStore.open(target.settings.online)
    created = store.ensure_table()
    catalog = target.catalog()
    retired = {}
    if catalog.versions and Warehouse.exists(target):
        with Warehouse(target, read_only=True) as warehouse:
            retired = retired_versions(warehouse)
    views = online_views(catalog, retired=retired)
    run = sync_views(target, views, SyncOptions(full_refresh=True, threads=threads,
                                                as_of=as_of),
                     gate=gate, reporter=reporter, raise_failed=False, rejudge=set())
    pointers = store.read_pointers(sorted({view.name for view in views}))
    return RestoreReport(table, target.settings.online.describe(), created, run, pointers,
                         time.perf_counter() - started)
