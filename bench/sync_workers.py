"""Part C of bench/sync.py, ``--workers 1,2,4``: the sync in shards (``sync --workers N``)
against the sync in one process, into the same in-memory DynamoDB Local.

For each worker count, in process (the coordinator is this process; N - 1 worker
processes are started by the sync itself), ``--entities`` entities x 10 features (two
rows each) from a temporary DuckDB:

1. the ceiling, measured again before each worker count: plain BatchWriteItem of items
   already encoded, the same writer threads (``sync.ceiling``);
2. a first load into a fresh table (BatchWriteItem under the first-load claim);
3. a conditional run into another fresh table whose first load is not allowed
   (``allow_first_load=False``): every item read first (BatchGetItem) and written with
   TransactWriteItems and the never-regress condition, what every run but a first load
   pays when values changed.

Each line carries the load average when it was measured: the machine is shared, and the
JVM of DynamoDB Local uses most of a core under conditional writes, so on 2 cores more
than 2 workers is not expected to scale; the figure that matters is that one worker is
as fast as the sync in one process was.

``--read-timeout S`` gives every writer's client (the workers' too: they get the
coordinator's ``OnlineConfig``) that read timeout instead of the default 5 s. Conditional
writes keep ``workers x threads`` TransactWriteItems of 100 items in flight, and DynamoDB
Local answers them one after the other: at 4 workers x 8 threads, 3,200 items queued at a
few hundred items a second is more than 5 s of waiting, so a request times out although
the server is working on it (the writer then counts the store as silent, and a silence
of 5 s stops the run). A variant that fails prints its error and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

from bench.project_files import write_dbt_project
from featurestore.dtypes import utc_naive
from featurestore.errors import FeatureStoreError
from featurestore.online.config import OnlineConfig
from featurestore.online.dynamodb import DynamoDBStore
from featurestore.online.local import LocalDynamoDB
from featurestore.project import Project
from featurestore.sync.worker import SyncOptions, sync_view
from featurestore.warehouse import Warehouse


def workers_race(args, root: Path, view, build_warehouse, ceiling, load) -> None:
    counts = [int(n) for n in args.workers.split(",")]
    print(f"\nC. sync in shards: {args.entities:,} entities x 10 features, 2 rows each, "
          f"{args.threads} writer threads per worker, worker counts {counts}", flush=True)
    t0 = (utc_naive() - dt.timedelta(days=1)).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp, LocalDynamoDB(root) as endpoint:
        write_dbt_project(Path(tmp), "bench_workers")
        with Warehouse(Project(Path(tmp))) as warehouse:
            build_warehouse(warehouse, args.entities, t0)
            warm = store(endpoint, "bench_warm", args.threads)
            ceiling(warm.client, "bench_warm", 2_000, args.threads)  # the JVM, the pool
            rows = []
            for workers in counts:
                top = ceiling(warm.client, "bench_warm", args.ceiling_items, args.threads)
                print(f"  [{load()}] ceiling (plain BatchWriteItem of prepared items): "
                      f"{top:,.0f} items/s", flush=True)
                for label, first_load in (("first load", True), ("conditional", False)):
                    target = store(endpoint, f"bench_w{workers}_{int(first_load)}",
                                   args.threads, args.read_timeout)
                    options = SyncOptions(threads=args.threads, lookback=dt.timedelta(0),
                                          workers=workers, allow_first_load=first_load)
                    started = time.perf_counter()
                    try:
                        result = sync_view(warehouse, target, view, options)
                    except FeatureStoreError as exc:
                        print(f"  [{load()}] workers {workers}, {label}: failed after "
                              f"{time.perf_counter() - started:.1f} s: {exc}", flush=True)
                        continue
                    wall = time.perf_counter() - started
                    assert result.written == args.entities, result
                    rate = args.entities / wall
                    rows.append((workers, label, rate, top))
                    print(f"  [{load()}] workers {workers}, {label}: {rate:,.0f} items/s "
                          f"(whole call {wall:.1f} s; {rate / top:.0%} of the ceiling; "
                          f"{result.mode})", flush=True)
    print("  summary (items/s, whole call):")
    for workers, label, rate, top in rows:
        print(f"    workers {workers}  {label:<12} {rate:>8,.0f}  ({rate / top:.0%} of "
              f"{top:,.0f})")


def store(endpoint: str, table: str, threads: int,
          read_timeout: float | None = None) -> DynamoDBStore:
    """A fresh table, opened as ``sync_views`` opens the store."""
    config = OnlineConfig(endpoint=endpoint, table=table)
    if read_timeout:
        config = config.replace(read_timeout=read_timeout)
    opened = DynamoDBStore.for_sync(config, threads=threads)
    opened.ensure_table()
    return opened
