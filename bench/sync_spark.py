"""The sync on Spark: the driver-side read (``--workers 1``: ``toLocalIterator``, the rows
through the driver) against the executors writing (``--workers N``: ``mapPartitions``, a
DynamoDB client per task, only counts back), into one in-memory DynamoDB Local.

    python bench/sync_spark.py [--entities 1000000] [--workers 2] [--threads 8]

A table of ``--entities`` entities x 10 features (one row each) is made in a local Spark
session (``local[2]``); each variant syncs it into a fresh table, conditionally (the first
load is not allowed, so both pay the same TransactWriteItems per item), timed as the
whole ``sync_view`` call. The driver's peak RSS is printed after each (the executors'
Python workers are other processes). Prints the load average beside each figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalDynamoDB(ROOT) as endpoint:
        write_dbt_project(Path(tmp), "bench_spark_sync")
        os.environ.update({"FEATURESTORE_TARGET": "spark",
                           "FEATURESTORE_SPARK_DIR": str(Path(tmp) / "spark")})
        t0 = (utc_naive() - dt.timedelta(days=1)).replace(microsecond=0)
        values = ", ".join(f"cast(id * {i + 1}.25 as double) as f{i}" if i % 2
                           else f"cast(id % 1000 + {i} as bigint) as f{i}"
                           for i in range(FEATURES))
        with Warehouse(Project(Path(tmp))) as warehouse:
            warehouse.execute("create database if not exists main")
            warehouse.execute(
                "create table main.fs_bench using parquet as select id as user_id, "
                f"timestamp_ntz '{t0}' as feature_ts, timestamp_ntz '{t0}' + interval 5 "
                f"minutes as loaded_at, {values} from range(1, {args.entities + 1})")
            print(f"[{load()}] {args.entities:,} entities x {FEATURES} features in Spark",
                  flush=True)
            for label, workers in (("driver-side (--workers 1)", 1),
                                   (f"executors (--workers {args.workers})", args.workers)):
                store = DynamoDBStore.for_sync(
                    OnlineConfig(endpoint=endpoint, table=f"bench_spark_{workers}"),
                    threads=args.threads)
                store.ensure_table()
                options = SyncOptions(threads=args.threads, lookback=dt.timedelta(0),
                                      workers=workers, allow_first_load=False)
                started = time.perf_counter()
                result = sync_view(warehouse, store, VIEW, options)
                wall = time.perf_counter() - started
                assert result.written == args.entities, result
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"[{load()}] {label}: {args.entities / wall:,.0f} items/s (whole call "
                      f"{wall:.1f} s; driver peak RSS so far {rss:,.0f} MiB)", flush=True)


if __name__ == "__main__":
    main()
