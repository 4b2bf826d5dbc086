"""Feature versions in production: backfill, compare, promote, roll back, retire.

The commands of docs/versions.md, as functions the CLI and tests call. A view version is
a dbt model version (``versions:`` in the contract); several live side by side in the
warehouse and online (items ``<view>#v<N>``). Which one a reference without ``@vN`` gets
is the *serving pointer*, an item of the feature table (``online/serving.py``) that the
lookup reads at most once per refresh interval; every change of it is also a row of the
registry's version log (``version_log.py``): who, when, why, and whether a check was
overridden (``--force``).

The order of every change makes it safe to kill and rerun:

* promote and rollback write the pointer (conditionally on the pointer they read, so two
  at once cannot both win), then the registry row with the same event id; a rerun after
  a kill between the two finds the pointer ahead of the registry and records it;
* retire records ``retire_started`` and adds the version to the pointer's retired set
  (the sync and pinned lookups stop using it), deletes the items from a cursor a rerun
  resumes from, then records ``retired``;
* backfill is a ``dbt build`` of the version's model (atomic per run: the incremental
  model's own watermark says what a rerun still has to do) and a sync of that version,
  whose watermark moves only once every write is acknowledged.

docs/versions.md names every file of the workflow, here and in the layers below.
"""

from __future__ import annotations

from featurestore.apps.versions.backfill import HISTORY_MACRO, BackfillResult, backfill
from featurestore.apps.versions.inputs import MAX_REASON, Say
from featurestore.apps.versions.promote import ServingChange, compare, promote, rollback
from featurestore.apps.versions.retire import (
    DEFAULT_PINNED_WITHIN,
    RetireResult,
    drop_offline,
    retire,
)
from featurestore.apps.versions.status import status
from featurestore.apps.versions.store import Store, served_version

__all__ = [
    "DEFAULT_PINNED_WITHIN", "HISTORY_MACRO", "MAX_REASON", "BackfillResult", "RetireResult",
    "Say", "ServingChange", "Store", "backfill", "compare", "drop_offline", "promote",
    "retire", "rollback", "served_version", "status",
]
