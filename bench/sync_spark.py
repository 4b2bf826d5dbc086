"""The sync on Spark: the driver-side read (``--workers 1``: ``toLocalIterator``, the rows
through the driver) against the executors writing (``--workers N``: ``mapPartitions``, a
DynamoDB client per task, only counts back), into one in-memory DynamoDB Local.

    python bench/sync_spark.py [--entities 1000000] [--conditional-entities 100000]
                               [--workers 2] [--threads 8]

Two rounds, each over a table of that many entities x 10 features (one row each) made in
a local Spark session (``local[2]``), each variant syncing it into a fresh table timed as
the whole ``sync_view`` call:

1. ``--conditional-entities``, both variants conditional (the first load is not allowed,
   so both pay the same read-compare-put per item): like for like;
2. ``--entities``, each variant's own first sync of a never-written view version: the
   driver-side one a first load (BatchWriteItem under the first-load claim), the
   executors conditional (they never write unconditionally: a re-run task reads the
   table again, ``sync/executor_writes.py``). This is what ``featurestore sync`` does at
   each setting; 1M conditional writes a side would take well over an hour here.

``--conditional-entities 0`` or ``--entities 0`` skips a round. After each variant it
prints the driver's peak RSS during that variant alone (the peak is reset before it
through ``/proc/self/clear_refs``; the JVM and the executors' Python workers are other
processes), and the load average; ``uptime`` at the start and the end. Each table is
counted, then deleted, so DynamoDB Local holds one table's items at a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.project_files import write_dbt_project  # noqa: E402
from bench.sync import FEATURES, VIEW  # noqa: E402
from featurestore.dtypes import utc_naive  # noqa: E402
from featurestore.online.config import OnlineConfig  # noqa: E402
from featurestore.online.dynamodb import DynamoDBStore  # noqa: E402
from featurestore.online.local import LocalDynamoDB  # noqa: E402
from featurestore.project import Project  # noqa: E402
from featurestore.sync.worker import SyncOptions, sync_view  # noqa: E402
from featurestore.warehouse import Warehouse  # noqa: E402


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def reset_peak_rss() -> None:
    """Start this process's peak RSS (VmHWM) again from its current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def make_table(warehouse: Warehouse, entities: int) -> None:
    t0 = (utc_naive() - dt.timedelta(days=1)).replace(microsecond=0)
    values = ", ".join(f"cast(id * {i + 1}.25 as double) as f{i}" if i % 2
                       else f"cast(id % 1000 + {i} as bigint) as f{i}"
                       for i in range(FEATURES))
    warehouse.execute("drop table if exists main.fs_bench")
    warehouse.execute(
        "create table main.fs_bench using parquet as select id as user_id, "
        f"timestamp_ntz '{t0}' as feature_ts, timestamp_ntz '{t0}' + interval 5 "
        f"minutes as loaded_at, {values} from range(1, {entities + 1})")
    print(f"[{load()}] {entities:,} entities x {FEATURES} features in Spark", flush=True)


def count_and_drop(endpoint: str, table: str) -> int:
    """The table's feature items (markers and the pointer left out), then the table gone:
    pages of 10,000 on a client that waits (a scan of a page can take DynamoDB Local
    longer than the sync's 5 s read timeout on a loaded machine)."""
    client = OnlineConfig(endpoint=endpoint).client(read_timeout=300, max_attempts=5)
    count, start = 0, None
    while True:
        page = client.scan(TableName=table, Select="COUNT", Limit=10_000,
                           FilterExpression="begins_with(pk, :user)",
                           ExpressionAttributeValues={":user": {"S": "user#"}},
                           **({"ExclusiveStartKey": start} if start else {}))
        count += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    client.delete_table(TableName=table)
    return count


def variant(warehouse, endpoint: str, args, entities: int, workers: int,
            first_load: bool) -> None:
    label = ("driver-side (--workers 1)" if workers == 1
             else f"executors (--workers {workers})")
    store = DynamoDBStore.for_sync(
        OnlineConfig(endpoint=endpoint, table=f"bench_spark_{entities}_{workers}"),
        threads=args.threads)
    store.ensure_table()
    options = SyncOptions(threads=args.threads, lookback=dt.timedelta(0), workers=workers,
                          allow_first_load=first_load)
    reset_peak_rss()
    started = time.perf_counter()
    result = sync_view(warehouse, store, VIEW, options)
    wall = time.perf_counter() - started
    rss = peak_rss_mib()
    print(f"[{load()}] {entities:,} items, {label}, {result.mode}: "
          f"{entities / wall:,.0f} items/s (whole call {wall:.1f} s; driver peak RSS "
          f"during it {rss:,.0f} MiB)", flush=True)  # before the count, which may fail
    assert result.written == entities, result
    items = count_and_drop(endpoint, store.table)
    assert items == entities, (items, entities)
    print(f"  {items:,} items counted in the table", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--conditional-entities", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(f"start: {uptime()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, LocalDynamoDB(ROOT) as endpoint:
        write_dbt_project(Path(tmp), "bench_spark_sync")
        os.environ.update({"FEATURESTORE_TARGET": "spark",
                           "FEATURESTORE_SPARK_DIR": str(Path(tmp) / "spark")})
        with Warehouse(Project(Path(tmp))) as warehouse:
            warehouse.execute("create database if not exists main")
            for entities, first_load in ((args.conditional_entities, False),
                                         (args.entities, True)):
                if not entities:
                    continue
                make_table(warehouse, entities)
                for workers in (1, args.workers):
                    variant(warehouse, endpoint, args, entities, workers, first_load)
    print(f"end: {uptime()}", flush=True)


if __name__ == "__main__":
    main()
