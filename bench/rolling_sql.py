"""One feature model's compiled SQL alone: its CPU time and peak RSS in a process of its own.

Where the CPU of a bucketed build goes, without dbt: the SQL runs as one ``CREATE TABLE
AS`` on a copy of a warehouse (``bench/rolling_windows.py --keep`` leaves one, with the
compiled SQL under ``project-<label>/target/compiled``), with DuckDB's threads 2 and
``preserve_insertion_order`` false as a capped dbt target sets it, and ``--memory-limit``
if given. ``--statements n`` instead runs the model in n statements, one per bucket of
users (a ``CREATE TABLE AS`` of bucket 0, then an ``INSERT`` each), from the SQL of the
whole body (``featurestore_rolling_partitions`` 1) of ``fs_user__transactions``: with
``--staged``, the model's input is first hashed once into a temporary table sorted by
bucket and each statement reads its bucket from it; without, each statement reads the
model's input again. Prints one line of JSON; asserts nothing.

    python bench/rolling_sql.py WAREHOUSE.duckdb fs_user__transactions.sql --memory-limit 1500MB
    python bench/rolling_sql.py WAREHOUSE.duckdb fs_user__transactions.sql --statements 64 \\
        --staged --profile /tmp/profile.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

SOURCE = "        from transactions\n        where transacted_at is not null"
HORIZON = "select max(_rw_ts_us) as _rw_horizon_us from _rw_source"


def statements(sql: str, buckets: int, staged: bool) -> list[str]:
    """The whole body's SQL as one statement per bucket of users."""
    if sql.count(SOURCE) != 1 or sql.count(HORIZON) != 1:
        raise SystemExit("--statements needs fs_user__transactions compiled whole "
                         "(featurestore_rolling_partitions 1)")
    table = "_rw_in" if staged else "transactions"
    sql = sql.replace(HORIZON, "select max(epoch_us(transacted_at)) as _rw_horizon_us "
                      f"from {table}")
    out = []
    for bucket in range(buckets):
        where = (f"_rw_bucket = {bucket}" if staged
                 else f"hash(user_id) % {buckets} = {bucket}")
        body = sql.replace(SOURCE, f"{SOURCE.replace('transactions', table, 1)} and {where}")
        out.append(("create table out as " if bucket == 0 else "insert into out ") + body)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("sql", type=Path, help="a model's compiled SQL")
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--statements", type=int, default=0)
    parser.add_argument("--staged", action="store_true")
    parser.add_argument("--profile", default=None, help="DuckDB's JSON profile to this file")
    args = parser.parse_args()
    import duckdb

    sql = args.sql.read_text()
    with tempfile.TemporaryDirectory(prefix="rolling_sql_") as tmp:
        copy = Path(tmp) / args.warehouse.name  # the same catalog name as the SQL's
        shutil.copy(args.warehouse, copy)
        con = duckdb.connect(str(copy))
        con.execute("set threads = 2")
        con.execute("set preserve_insertion_order = false")
        con.execute(f"set temp_directory = '{tmp}/spill'")
        if args.memory_limit:
            con.execute(f"set memory_limit = '{args.memory_limit}'")
        if args.profile:
            con.execute("pragma enable_profiling = 'json'")
            con.execute(f"pragma profiling_output = '{args.profile}'")
        started = time.perf_counter()
        if args.statements:
            if args.staged:
                con.execute(f"create temp table _rw_in as select *, hash(user_id) % "
                            f"{args.statements} as _rw_bucket from stg_demo__transactions "
                            "order by _rw_bucket")
            for statement in statements(sql, args.statements, args.staged):
                con.execute(statement)
        else:
            con.execute(f"create table out as {sql}")
        wall = time.perf_counter() - started
        rows = con.execute("select count(*) from out").fetchone()[0]
        con.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"sql": args.sql.name, "memory_limit": args.memory_limit,
                      "statements": args.statements, "staged": args.staged, "rows": rows,
                      "wall": round(wall, 2), "cpu": round(usage.ru_utime + usage.ru_stime, 2),
                      "peak_rss_mib": round(usage.ru_maxrss / 1024),
                      "load": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
