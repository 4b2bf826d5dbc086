"""A sync whose rows never reach the coordinating process: on Spark the executors write.

With ``--workers N`` (N > 1) on a warehouse that runs Python next to its data
(``Dialect.map_partitions``: Spark), the run's rows are split into ``N x
SHARDS_PER_WORKER`` partitions by a hash of their keys, and each partition is written by
the task that holds it (``write_partition``): its own ``DynamoDBStore``, the same codec
and the same conditional writer as a sync in one process. The driver gets back one tuple
of counts per partition, never a row.

No lease here: Spark's scheduler is the claim. A task whose executor dies is run again
on another, and a speculative copy may run beside a slow one; both write every item with
the never-regress condition (a first load too: a re-run task reads the table again, so it
is not the same snapshot as the first attempt), so a re-run can repeat a write but never
undo a newer one. The watermark moves only after every task succeeded, as ever.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from featurestore.contracts import FeatureView
from featurestore.online.config import OnlineConfig
from featurestore.online.items import encode_item
from featurestore.online.writer import Counters

COUNTS = ("rows", "written", "skipped", "retried", "unchanged")


@dataclass(frozen=True)
class PartitionJob:
    """What each task needs (picklable: Spark sends it to the executors)."""

    config: OnlineConfig
    view: FeatureView
    threads: int = 8
    batch_size: int = 5_000

    def __call__(self, rows: Iterable) -> Iterator[tuple[int, ...]]:
        yield write_partition(self, rows)


def write_partition(job: PartitionJob, rows: Iterable) -> tuple[int, ...]:
    """Write one partition's rows (Spark ``Row`` objects or dicts); its counts."""
    from featurestore.online.dynamodb import DynamoDBStore

    store = DynamoDBStore.for_sync(job.config, threads=job.threads)
    writer = store.writer(threads=job.threads)
    read, batch = 0, []
    try:
        with store.errors():
            for row in rows:
                batch.append(row.asDict() if hasattr(row, "asDict") else row)
                if len(batch) >= job.batch_size:
                    read += _send(job.view, writer, batch)
                    batch = []
            if batch:
                read += _send(job.view, writer, batch)
            writer.wait()
    except BaseException:
        writer.close(cancel=True)
        raise
    writer.close()
    counters = writer.counters
    return (read, counters.written, counters.skipped, counters.retried, counters.unchanged)


def _send(view: FeatureView, writer, rows: list[dict]) -> int:
    written_at = time.time_ns() // 1_000
    writer.submit([encode_item(view, row, written_at) for row in rows],  # all, first
                  conditional=True, compare=True)
    return len(rows)


def write_on_executors(warehouse, view: FeatureView, relation: str, plan, *, config,
                       partitions: int, threads: int, batch_size: int,
                       progress=None) -> tuple[int, Counters]:
    """Have the warehouse's executors write the run's rows in ``partitions`` key-hash
    partitions; the rows read and the counters summed over them."""
    from featurestore.sync.reader import latest_rows_sql

    sql = latest_rows_sql(view, relation, plan, warehouse.dialect)
    keys = [warehouse.dialect.alias(key) for key in view.keys]
    results = warehouse.dialect.map_partitions(
        warehouse, sql, keys, partitions, PartitionJob(config, view, threads, batch_size))
    total, rows = Counters(), 0
    for read, written, skipped, retried, unchanged in results:
        rows += read
        total.add(written, skipped, retried, unchanged)
    if progress is not None:
        progress(rows, total)
    return rows, total
