"""Benchmark of the sync worker: DuckDB -> DynamoDB Local, with the ceiling measured alongside.

    python bench/sync.py [--entities 200000] [--threads 8]

Starts its own in-memory DynamoDB Local, builds one feature view of 10 features (two rows
per entity) in a temporary DuckDB, then prints:

1. the ceiling: plain BatchWriteItem of already-encoded items (no reading, no encoding);
2. a first sync (first load, BatchWriteItem under the first-load claim): items/s and the
   ratio to the ceiling;
3. a ``--full-refresh`` sync of the same view, which writes conditionally (TransactWriteItems
   of 100 ``feature_ts <=`` puts), and its ratio to the ceiling;
4. an incremental sync after 1% of the entities got a new row, and how much faster it is
   than the full refresh;
5. the process's peak RSS (the DynamoDB Local JVM is a separate process, not counted).

Each sync also prints its whole call's wall-clock time, which ``seconds`` (from the
first-load claim to the last acknowledged write) leaves out: the read plan's queries, the
table's description and the sync marker.

Targets (issue 3): first sync >= 70% of the ceiling, peak RSS < 1 GiB, incremental >= 30x
faster than the full refresh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurestore.contracts import Entity, Feature, FeatureView, JoinKey  # noqa: E402
from featurestore.dtypes import utc_naive  # noqa: E402
from featurestore.online.client import ensure_table  # noqa: E402
from featurestore.online.config import OnlineConfig  # noqa: E402
from featurestore.online.items import encode_item  # noqa: E402
from featurestore.online.local import LocalDynamoDB  # noqa: E402
from featurestore.online.writer import Writer  # noqa: E402
from featurestore.project import Project  # noqa: E402
from featurestore.sync.worker import SyncOptions, sync_view  # noqa: E402
from featurestore.warehouse import Warehouse  # noqa: E402

FEATURES = 10
VIEW = FeatureView(
    name="bench_view", version=1,
    entity=Entity("user", (JoinKey("user_id", "int64"),)),
    source="fs_bench", timestamp="feature_ts", created_timestamp="loaded_at",
    owner="bench", description="benchmark view", ttl_seconds=30 * 86400,
    features=tuple(
        Feature(f"f{i}", "float64" if i % 2 else "int64", "internal", "bench feature")
        for i in range(FEATURES)
    ),
)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_warehouse(warehouse: Warehouse, entities: int, t0: dt.datetime) -> None:
    values = ", ".join(
        f"(u * {i + 1}.25 + r)::double as f{i}" if i % 2 else f"(u % 1000 + {i} + r)::bigint "
        f"as f{i}" for i in range(FEATURES)
    )
    warehouse.execute(
        "create table fs_bench as select u as user_id, "
        f"timestamp '{t0}' + to_hours(r) as feature_ts, "
        f"timestamp '{t0}' + to_hours(r) + interval '5 minutes' as loaded_at, {values} "
        f"from range(1, {entities} + 1) as e(u), range(0, 2) as h(r)"
    )


def ceiling(client, table: str, entities: int, threads: int) -> float:
    """Plain BatchWriteItem of prepared items, the same threads and request size."""
    now_us = time.time_ns() // 1000
    ts = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    items = [encode_item(VIEW, {"user_id": 10_000_000 + u, "feature_ts": ts,
                                **{f"f{i}": (u * 1.5 if i % 2 else u) for i in range(FEATURES)}},
                         now_us) for u in range(entities)]
    writer = Writer(client, table, threads=threads)
    started = time.perf_counter()
    writer.submit(items, conditional=False)
    writer.wait()
    writer.close()
    return entities / (time.perf_counter() - started)


def timed(function, *args):
    """The call's result and its wall-clock seconds: the plan's queries, the table's
    description and the sync marker included, which ``SyncResult.seconds`` leaves out."""
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--ceiling-items", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.entities:,} entities x {FEATURES} features, "
          f"2 rows each, {args.threads} writer threads", flush=True)
    t0 = (utc_naive() - dt.timedelta(days=1)).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp, LocalDynamoDB(ROOT) as endpoint:
        client = OnlineConfig(endpoint=endpoint).client(
            max_attempts=1, max_pool_connections=args.threads + 4)
        ensure_table(client, "bench_ceiling")
        ensure_table(client, "bench_online")
        project = Project(Path(tmp))
        with Warehouse(project) as warehouse:
            build_warehouse(warehouse, args.entities, t0)
            # warm the JVM and the HTTP pool before anything is timed
            ceiling(client, "bench_ceiling", 2_000, args.threads)
            top = ceiling(client, "bench_ceiling", args.ceiling_items, args.threads)
            print(f"ceiling, plain BatchWriteItem of prepared items: {top:,.0f} items/s "
                  f"({args.ceiling_items:,} items)", flush=True)

            options = SyncOptions(threads=args.threads, lookback=dt.timedelta(0))
            first, wall = timed(sync_view, warehouse, client, "bench_online", VIEW, options)
            print(f"first sync: {first.summary()}", flush=True)
            print(f"  -> {first.rows_per_second:,.0f} items/s = "
                  f"{first.rows_per_second / top:.0%} of the ceiling; whole call {wall:.2f} s",
                  flush=True)

            full, wall = timed(sync_view, warehouse, client, "bench_online", VIEW,
                               SyncOptions(threads=args.threads, full_refresh=True,
                                           lookback=dt.timedelta(0)))
            print(f"full refresh: {full.summary()}", flush=True)
            print(f"  -> {full.rows_per_second:,.0f} items/s = "
                  f"{full.rows_per_second / top:.0%} of the ceiling (conditional); whole call "
                  f"{wall:.2f} s", flush=True)

            changed = args.entities // 100
            warehouse.execute(
                "insert into fs_bench select user_id, feature_ts + interval '3 hours', "
                "now()::timestamp, " + ", ".join(f"f{i} + 1" for i in range(FEATURES)) +
                f" from fs_bench where user_id % 100 = 0 and feature_ts = timestamp '{t0}'"
            )
            incremental, wall = timed(sync_view, warehouse, client, "bench_online", VIEW,
                                      options)
            print(f"incremental (1% = {changed:,} entities changed): {incremental.summary()}",
                  flush=True)
            print(f"  -> {full.seconds / incremental.seconds:,.1f}x faster than the full refresh"
                  f" ({full.seconds:.1f} s vs {incremental.seconds:.2f} s); whole call "
                  f"{wall:.2f} s")
            assert incremental.written == changed, incremental
    print(f"peak RSS of this process: {peak_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
