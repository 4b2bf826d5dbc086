"""A sync in shards: the latest rows split by a hash of their keys, each shard claimed by
one worker at a time through a lease.

The rows a run publishes (``reader.latest_rows_sql``) get one more column, the shard, a
hash of the entity's keys modulo the number of shards (``Dialect.shard_of``): every key
falls in exactly one shard, whatever the rows, so the shards are disjoint and together
hold every row. The warehouse writes them as Parquet, a folder per shard
(``Dialect.export_shards``: DuckDB's partitioned ``COPY``, one pass and none of the rows
through Python), and the workers read the files: a DuckDB file admits one writing
process, so the workers never open it. On Snowflake the rows stay in the warehouse, in
one table a worker reads its shards of over its own connection (``shard_sources.py``).

The leases are markers in the online store, not rows of ``sync_state`` in the warehouse:
a claim must be an atomic compare-and-set that every worker can reach, and a DuckDB file
lets only the coordinating process in, while a conditional put on DynamoDB is one
request from any process, executor or host. The lease guards writes to that table, so it
lives with the table, like the first-load claim (``first_load.py``). One marker per
shard::

    pk = "_featurestore#sync"   sk = "_shard#<view>#v<version>#<shard>"
    run (S), state ("pending" | "running" | "done" | "failed"), owner (S),
    lease_until (N, epoch milliseconds), rows, written, skipped, retried, unchanged (N),
    message (S, of a failed shard)

The coordinator writes every marker "pending" for its run. A worker claims a pending
shard, or a running one whose lease has expired, with a put conditional on the fields it
read (run, state, owner, lease): of two workers racing for it, one wins. It renews the
lease every third of it while it writes, and marks the shard done with its counts, only
if it still owns it. A worker killed mid-shard stops renewing; once its lease expires
another worker takes the shard over and writes all of it again. Nothing is lost (the
shard is done only when a worker wrote all of it) and nothing regresses (every write
carries the same ``feature_ts`` condition as a sync in one process, or, under a
first-load claim, writes values of the same snapshot).
"""

from __future__ import annotations

import time
from pathlib import Path

from featurestore.contracts import FeatureView
from featurestore.dialects import Dialect
from featurestore.online.store import OnlineStore
from featurestore.sync.reader import ReadPlan, latest_rows_sql

SHARD_COLUMN = "_fs_shard"
COUNTS = ("rows", "written", "skipped", "retried", "unchanged")


def sharded_sql(view: FeatureView, relation: str, plan: ReadPlan, dialect: Dialect,
                shards: int) -> str:
    """The rows a run publishes, each with the shard its keys hash to."""
    keys = [dialect.alias(key) for key in view.keys]
    return (f"select latest_rows.*, {dialect.shard_of(keys, shards)} as {SHARD_COLUMN}\n"
            f"from (\n{latest_rows_sql(view, relation, plan, dialect)}\n) as latest_rows")


def export(warehouse, view: FeatureView, relation: str, plan: ReadPlan, shards: int,
           directory: Path) -> None:
    """Write the run's rows into ``directory``, a folder per non-empty shard."""
    sql = sharded_sql(view, relation, plan, warehouse.dialect, shards)
    warehouse.dialect.export_shards(warehouse, sql, directory, SHARD_COLUMN)


def shard_files(directory: Path, shard: int) -> list[Path]:
    """The Parquet files of one shard (none: the shard has no rows)."""
    return sorted((Path(directory) / f"{SHARD_COLUMN}={shard}").glob("*.parquet"))


def read_shard(directory: Path, shard: int, batch_size: int):
    """The rows of one shard as lists of dicts of up to ``batch_size`` rows."""
    import pyarrow.parquet as pq

    from featurestore.sync.reader import batch_rows

    for path in shard_files(directory, shard):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
            yield batch_rows(batch)


# -- the leases ---------------------------------------------------------------------------
def marker_names(view_sk: str, shards: int) -> list[str]:
    return [f"_shard#{view_sk}#{shard}" for shard in range(shards)]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def open_shards(store: OnlineStore, view_sk: str, shards: int, run_id: str) -> None:
    """Mark every shard of run ``run_id`` pending (a later run replaces them)."""
    for name in marker_names(view_sk, shards):
        store.put_marker(name, {"run": run_id, "state": "pending", "owner": "none",
                                "lease_until": 0})


def close_shards(store: OnlineStore, view_sk: str, shards: int) -> None:
    store.delete_markers(marker_names(view_sk, shards))


def claimable(marker: dict, run_id: str, at_ms: int) -> bool:
    """Whether a worker of run ``run_id`` may claim this shard now: pending, or running
    under a lease that has expired (its worker died or stalled)."""
    if marker.get("run") != run_id:
        return False
    return marker["state"] == "pending" or (
        marker["state"] == "running" and int(marker["lease_until"]) < at_ms)


def claim(store: OnlineStore, name: str, marker: dict, owner: str,
          lease_seconds: float) -> bool:
    """Take the shard if its marker still holds what was read (``marker``)."""
    fields = {"run": marker["run"], "state": "running", "owner": owner,
              "lease_until": now_ms() + int(lease_seconds * 1000)}
    expect = {key: marker[key] for key in ("run", "state", "owner", "lease_until")}
    return store.put_marker(name, fields, expect=expect)


def renew(store: OnlineStore, name: str, run_id: str, owner: str,
          lease_seconds: float) -> bool:
    """Extend this worker's lease; False when another worker took the shard over."""
    return store.put_marker(name, {"run": run_id, "state": "running", "owner": owner,
                                   "lease_until": now_ms() + int(lease_seconds * 1000)},
                            expect={"run": run_id, "owner": owner})


def finish(store: OnlineStore, name: str, run_id: str, owner: str, counts: dict,
           message: str = "") -> bool:
    """Mark the shard done (with its counts) or failed (``message``), if still owned."""
    fields = {"run": run_id, "state": "failed" if message else "done", "owner": owner,
              "lease_until": 0, **{key: int(counts.get(key, 0)) for key in COUNTS}}
    if message:
        fields["message"] = message[:2000]
    return store.put_marker(name, fields, expect={"run": run_id, "owner": owner})
