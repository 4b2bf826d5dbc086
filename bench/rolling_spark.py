"""Rolling windows on Spark: the RANGE-frame body against the running-sum body.

Prints figures, asserts nothing (speed lives here, never in timed tests). The demo's data
(`featurestore demo-data`: ``--users`` users x 60 days, seed 42, ending 2026-05-01) is
generated once into a folder, deduplicated as the staging models do, and read by one
local Spark session (``local[2]``, ``--driver-memory``). Two workloads, the demo's two
rolling-window models with their own aggregates:

  user      fs_user__transactions: 8 aggregates over 1h, 7d and 30d per user_id, a
            last value, loaded_at (about 32 events a user)
  merchant  fs_merchant__risk: 3 counts over 7d and 30d per merchant_id over the
            transactions and the chargebacks' filings (a few hot merchants: long
            partitions, dense windows)

Each body (featurestore_rolling_range_sql, featurestore_rolling_running_sql, rendered by
featurestore/sql_render.py as dbt compiles them) is run to the end into Spark's `noop`
sink, ``--repeat`` times interleaved (range, running, range, running, ...); the best and
every run are printed. Then the rows: EXCEPT ALL both ways between the two bodies' full
results on the benchmark data, and on ``--histories`` random small histories (ties at
one instant, a microsecond off the window, null inputs, null and tied orders of a last
value, min and max), so a speed-up is never bought with different rows.

    python bench/rolling_spark.py                      # 20,000 users (~640k events)
    python bench/rolling_spark.py --users 60000 --repeat 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurestore.sql_render import macro  # noqa: E402

END = dt.datetime(2026, 5, 1)
BODIES = ("featurestore_rolling_range_sql", "featurestore_rolling_running_sql")
LABELS = {"featurestore_rolling_range_sql": "RANGE frames",
          "featurestore_rolling_running_sql": "running sums"}
USER = {  # models/features/user/fs_user__transactions.sql
    "relation": "transactions", "keys": ["user_id"], "event_ts": "transacted_at",
    "aggregates": [
        {"name": "txn_count_1h", "agg": "count", "expr": "transaction_id", "window": "1h"},
        {"name": "txn_count_7d", "agg": "count", "expr": "transaction_id", "window": "7d"},
        {"name": "txn_count_30d", "agg": "count", "expr": "transaction_id", "window": "30d"},
        {"name": "txn_amount_sum_1h", "agg": "sum", "expr": "amount", "window": "1h"},
        {"name": "txn_amount_sum_7d", "agg": "sum", "expr": "amount", "window": "7d"},
        {"name": "txn_amount_sum_30d", "agg": "sum", "expr": "amount", "window": "30d"},
        {"name": "txn_amount_avg_7d", "agg": "avg", "expr": "amount", "window": "7d"},
        {"name": "txn_amount_avg_30d", "agg": "avg", "expr": "amount", "window": "30d"}],
    "last_values": [{"name": "last_txn_amount", "expr": "amount",
                     "order_by": "transaction_id"}]}
MERCHANT = {  # models/features/merchant/fs_merchant__risk.sql
    "relation": "merchant_events", "keys": ["merchant_id"], "event_ts": "event_at",
    "aggregates": [
        {"name": "txn_count_7d", "agg": "count", "expr": "txn_marker", "window": "7d"},
        {"name": "txn_count_30d", "agg": "count", "expr": "txn_marker", "window": "30d"},
        {"name": "chargeback_count_30d", "agg": "count", "expr": "chargeback_marker",
         "window": "30d"}],
    "last_values": []}
SMALL = {  # tests/offline/test_rolling_incremental.py's aggregates, and min and max
    "relation": "small_events", "keys": ["k"], "event_ts": "ts",
    "aggregates": [
        {"name": "count_1h", "agg": "count", "expr": "id", "window": "1h"},
        {"name": "count_3h", "agg": "count", "expr": "amount", "window": "3h"},
        {"name": "sum_1h", "agg": "sum", "expr": "amount", "window": "1h"},
        {"name": "sum_1d", "agg": "sum", "expr": "amount", "window": "1d"},
        {"name": "avg_3h", "agg": "avg", "expr": "amount", "window": "3h"},
        {"name": "min_3h", "agg": "min", "expr": "amount", "window": "3h"},
        {"name": "max_1d", "agg": "max", "expr": "amount", "window": "1d"}],
    "last_values": [{"name": "last_amount", "expr": "amount", "order_by": "id"}]}
STAGING = {  # the staging models' dedup: a repeated row keeps its first landing
    "transactions": """
        select cast(transaction_id as bigint) as transaction_id,
               cast(user_id as bigint) as user_id, cast(merchant_id as bigint) as merchant_id,
               cast(amount as double) as amount, transacted_at, loaded_at
        from raw_transactions
        qualify row_number() over (partition by transaction_id
                                   order by loaded_at, transacted_at) = 1""",
    "chargebacks": """
        select cast(transaction_id as bigint) as transaction_id, filed_at, loaded_at
        from raw_chargebacks
        qualify row_number() over (partition by transaction_id
                                   order by loaded_at, filed_at) = 1"""}
MERCHANT_EVENTS = """
    select merchant_id, transacted_at as event_at, transaction_id as txn_marker,
           cast(null as bigint) as chargeback_marker, loaded_at
    from transactions
    union all
    select t.merchant_id, c.filed_at, cast(null as bigint), c.transaction_id, c.loaded_at
    from chargebacks as c inner join transactions as t
        on c.transaction_id = t.transaction_id"""


def render(body: str, workload: dict) -> str:
    """The body's SQL for the workload, as dbt compiles rolling_windows on Spark."""
    spec: dict = {}
    macro("spark", "featurestore_rolling_spec")(
        spec, workload["relation"], workload["keys"], workload["event_ts"],
        workload["aggregates"], "loaded_at", workload["last_values"], "feature_ts", False,
        None, "skip", 12, 1)
    return str(macro("spark", body)(spec))


def prepare(spark, folder: Path, users: int) -> dict[str, int]:
    """The demo's transactions and chargebacks, deduplicated, as Parquet under
    ``folder`` (generated once per folder), read back as temporary views."""
    from featurestore.demo_data import generate

    landing, staged = folder / "landing", folder / "staged"
    if not (staged / "_done").exists():
        generate(landing, users=users, days=60, seed=42, end=END)
        for table, sql in STAGING.items():
            spark.read.parquet(str(landing / table / "history.parquet")) \
                .createOrReplaceTempView(f"raw_{table}")
            spark.sql(sql).write.mode("overwrite").parquet(str(staged / table))
        (staged / "_done").write_text("ok\n")
    for table in STAGING:
        spark.read.parquet(str(staged / table)).createOrReplaceTempView(table)
    spark.sql(MERCHANT_EVENTS).createOrReplaceTempView("merchant_events")
    return {table: spark.table(table).count() for table in ("transactions", "merchant_events")}


def differing(spark, left: str, right: str, folder: Path) -> tuple[int, int, int]:
    """(rows of left, rows of right, rows in one and not the other: EXCEPT ALL both
    ways), each side computed once into Parquet under ``folder`` and compared there."""
    views = []
    for side, sql in (("left", left), ("right", right)):
        spark.sql(sql).write.mode("overwrite").parquet(str(folder / side))
        spark.read.parquet(str(folder / side)).createOrReplaceTempView(f"_bench_{side}")
        views.append(f"_bench_{side}")
    rows = [spark.table(view).count() for view in views]
    a, b = views
    differ = spark.sql(f"select count(*) from (select * from {a} except all select * from {b}) "
                       f"union all select count(*) from (select * from {b} except all "
                       f"select * from {a})").collect()
    return rows[0], rows[1], sum(r[0] for r in differ)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process's children so far: the driver JVM,
    where local Spark runs every task."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def timed(spark, sql: str) -> tuple[float, float]:
    """(wall seconds, JVM CPU seconds) to run ``sql`` to the end (every row made, none
    kept: the noop sink)."""
    started, cpu = time.perf_counter(), cpu_seconds()
    spark.sql(sql).write.format("noop").mode("overwrite").save()
    return time.perf_counter() - started, cpu_seconds() - cpu


def small_history(rng: random.Random, keys: int) -> list[tuple]:
    """Events on a 20-minute grid (meets 1h, 3h and 1d exactly), some a microsecond off,
    several at one instant (their ids in random order), null amounts, null ids on lone
    events. Ids are unique: the last value of two events tied at one instant and on
    their order is either's, in both bodies, so ties on it would compare nothing."""
    start, rows, next_id = dt.datetime(2026, 1, 1), [], 0
    for key in range(keys):
        for _ in range(rng.randint(0, 30)):
            ts = start + dt.timedelta(minutes=20 * rng.randint(0, 200),
                                      microseconds=rng.choice([0, 0, 0, 1, -1]))
            together = rng.choice([1, 1, 1, 2, 3])
            ids = [next_id + i for i in rng.sample(range(together), together)]
            next_id += together
            for order in ids:
                if together == 1 and rng.random() < 0.05:
                    order = None
                amount = None if rng.random() < 0.15 else round(rng.uniform(-50, 500), 2)
                loaded = ts + dt.timedelta(seconds=rng.randint(0, 86400))
                rows.append((key, ts, amount, loaded, order))
    return rows


def check_small(spark, histories: int, seed: int, folder: Path) -> tuple[int, int]:
    """(rows, rows that differ) over ``histories`` random histories of 40 keys each."""
    rng, total, differ = random.Random(seed), 0, 0
    for _ in range(histories):
        spark.createDataFrame(small_history(rng, 40), "k bigint, ts timestamp_ntz, "
                              "amount double, loaded_at timestamp_ntz, id bigint") \
            .createOrReplaceTempView("small_events")
        rows, _, bad = differing(spark, *(render(body, SMALL) for body in BODIES), folder)
        total, differ = total + rows, differ + bad
    return total, differ


def report(name: str, events: int, runs: dict, rows: tuple[int, int, int]) -> None:
    """One workload's line: events, rows, each body's best wall and CPU, and equality."""
    wall = {body: min(run[0] for run in runs[body]) for body in BODIES}
    cpu = {body: min(run[1] for run in runs[body]) for body in BODIES}
    slow, fast = BODIES
    print(f"{name}: {events:,} events -> {rows[0]:,} rows | best of {len(runs[slow])}: "
          f"RANGE {wall[slow]:.2f} s wall, {cpu[slow]:.1f} s CPU; running sums "
          f"{wall[fast]:.2f} s wall, {cpu[fast]:.1f} s CPU; RANGE / running sums "
          f"{wall[slow] / wall[fast]:.2f}x wall, {cpu[slow] / cpu[fast]:.2f}x CPU | rows "
          f"differing (EXCEPT ALL both ways): {rows[2]} ({rows[0]:,} vs {rows[1]:,})",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each body")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--histories", type=int, default=5,
                        help="random small histories whose rows are compared")
    parser.add_argument("--workloads", default="user,merchant")
    parser.add_argument("--folder", type=Path, default=None,
                        help="keep the generated data here (reused when present)")
    args = parser.parse_args()

    from featurestore.dialects.spark import session_config, start_session

    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    folder = args.folder or Path(tempfile.mkdtemp(prefix="rolling-spark-"))
    spark = start_session(session_config(folder / "spark", driver_memory=args.driver_memory))
    rows = prepare(spark, folder / f"users-{args.users}", args.users)
    print(f"{args.users:,} users: {rows['transactions']:,} transactions, "
          f"{rows['merchant_events']:,} merchant events (with chargeback filings); "
          f"Spark {spark.version}, local[2], driver {args.driver_memory}, 2 cores")
    workloads = {"user": USER, "merchant": MERCHANT}
    for name in args.workloads.split(","):
        workload = workloads[name]
        sqls = {body: render(body, workload) for body in BODIES}
        runs: dict[str, list[tuple[float, float]]] = {body: [] for body in BODIES}
        for _ in range(args.repeat):
            for body in BODIES:
                runs[body].append(timed(spark, sqls[body]))
                wall, cpu = runs[body][-1]
                print(f"  {name:8} {LABELS[body]:13} {wall:8.2f} s wall {cpu:8.2f} s CPU "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
        report(name, rows[workload["relation"]], runs,
               differing(spark, *sqls.values(), folder / "compared"))
    total, differ = check_small(spark, args.histories, args.users, folder / "compared")
    print(f"random small histories: {args.histories} x 40 keys, {total:,} rows, "
          f"differing: {differ}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load}")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    spark.stop()


if __name__ == "__main__":
    main()
