"""Point-in-time join benchmark: `featurestore training-set` against the DuckDB floor.

Prints figures, asserts nothing (speed lives here, never in timed tests). Every case is a
whole process, from a Parquet spine to a Parquet file, timed from its start to its exit
with its own peak RSS (``wait4``), as a user or a scheduler runs it:

  floor     python -c "<one hand-written DuckDB ASOF LEFT JOIN, COPY ... TO parquet>"
  cli       featurestore training-set --spine ... --features ... --out ...
  range     the common pattern of other feature stores: a range join on
            feature_ts <= event_ts (within the TTL) and row_number() to keep the latest
  sdk       FeatureStore(...).training_set(<pandas DataFrame>) in a Python process; its
            figure is the call itself (the DataFrame already in memory), and the whole
            process beside it

on two sizes: 1,000,000 spine rows x 5,000,000 history rows (100,000 entities, 3
features, TTL 30 days), and 5,000,000 x 20,000,000; plus three views (5,000,000 rows in
total) on the first. The views are plain tables, as a table-materialized dbt model is.
The data is generated in DuckDB with hash-based values: a run is deterministic for a
given DuckDB version.

    python bench/pit_join.py            # the sizes above (a few minutes)
    python bench/pit_join.py --quick    # a tenth of every size
    python bench/pit_join.py --target spark   # 1M x 5M on local Spark: featurestore's
        # spark__ body against a hand-written Spark as-of join and against DuckDB
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from project_files import write_dbt_project  # bench/, beside this script

DAY_US = 86_400 * 1_000_000
HISTORY_DAYS = 90
TTL_DAYS = 30
ENTITIES_YML = """entities:
  - name: user
    join_keys:
      - {name: user_id, dtype: int64}
"""
VIEW_YML = """name: {name}
version: 1
entity: user
source: {name}
timestamp: feature_ts
ttl: {ttl}d
owner: bench
description: Benchmark history.
features:
  - {{name: f1, dtype: int64, default: 0, sensitivity: internal, description: a count}}
  - {{name: f2, dtype: float64, sensitivity: internal, description: an amount}}
  - {{name: f3, dtype: float64, sensitivity: internal, description: a rate}}
"""


def _history_sql(name: str, rows: int, entities: int, salt: int) -> str:
    """``rows`` rows over ``entities`` users, unique (user_id, feature_ts), 90 days."""
    per_entity = -(-rows // entities)
    spacing = HISTORY_DAYS * DAY_US // per_entity
    return f"""
        create or replace table {name} as
        select
            (i % {entities}) + 1 as user_id,
            make_timestamp(epoch_us(timestamp '2026-01-01')
                + (i // {entities}) * {spacing}
                + cast(hash(i, {salt}) % {spacing} as bigint)) as feature_ts,
            cast(hash(i, {salt + 1}) % 100 as bigint) as f1,
            cast(hash(i, {salt + 2}) % 100000 as double) / 100 as f2,
            cast(hash(i, {salt + 3}) % 1000 as double) / 1000 as f3
        from range({rows}) as r(i)
    """


def _spine_sql(path: Path, rows: int, entities: int) -> str:
    span = (HISTORY_DAYS + 10) * DAY_US
    return f"""
        copy (
            select
                i as row_id,
                cast(hash(i, 101) % {entities + entities // 100} as bigint) + 1 as user_id,
                make_timestamp(epoch_us(timestamp '2026-01-01')
                    + cast(hash(i, 102) % {span} as bigint)) as event_ts,
                hash(i, 103) % 50 = 0 as label
            from range({rows}) as r(i)
        ) to '{path}' (format parquet)
    """


def prepare(folder: Path, scale: float) -> dict:
    """The warehouse (history tables), the spines and a featurestore project for them."""
    import duckdb

    def n(value: int) -> int:
        return max(1, int(value * scale))

    (folder / "feature_defs").mkdir(parents=True, exist_ok=True)
    (folder / "feature_defs" / "entities.yml").write_text(ENTITIES_YML)
    write_dbt_project(folder, "bench")
    tables = {"bench_one": (n(5_000_000), n(100_000)),
              "bench_three_a": (n(5_000_000) // 3, n(100_000)),
              "bench_three_b": (n(5_000_000) // 3, n(100_000)),
              "bench_three_c": (n(5_000_000) - 2 * (n(5_000_000) // 3), n(100_000)),
              "bench_big": (n(20_000_000), n(400_000))}
    for name in tables:
        (folder / "feature_defs" / f"{name}.yml").write_text(
            VIEW_YML.format(name=name, ttl=TTL_DAYS))
    warehouse = folder / "bench.duckdb"
    spines = {"small": (folder / "spine_1m.parquet", n(1_000_000), n(100_000)),
              "big": (folder / "spine_5m.parquet", n(5_000_000), n(400_000))}
    with duckdb.connect(str(warehouse)) as con:
        for salt, (name, (rows, entities)) in enumerate(tables.items()):
            started = time.perf_counter()
            con.execute(_history_sql(name, rows, entities, salt * 10)).fetchall()
            print(f"  history {name}: {rows:,} rows, {entities:,} entities "
                  f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
        for path, rows, entities in spines.values():
            con.execute(_spine_sql(path, rows, entities)).fetchall()
            print(f"  spine {path.name}: {rows:,} rows", file=sys.stderr)
    return {"root": str(folder), "warehouse": str(warehouse),
            "spines": {k: [str(v[0]), v[1]] for k, v in spines.items()},
            "tables": {k: v[0] for k, v in tables.items()}}


# -- the cases: each a whole process -------------------------------------------------------
def _floor_code(warehouse: str, spine: str, view: str, out: str) -> str:
    visible = (f"h.feature_ts is not null and s.event_ts <= h.feature_ts "
               f"+ interval '{TTL_DAYS * 86400} seconds'")
    columns = (f"case when {visible} then h.f1 else 0 end as {view}__f1, "
               f"case when {visible} then h.f2 end as {view}__f2, "
               f"case when {visible} then h.f3 end as {view}__f3, "
               f"case when {visible} then h.feature_ts end as {view}__feature_ts")
    sql = (f"copy (select s.*, {columns} from read_parquet('{spine}') as s "
           f"asof left join {view} as h on s.user_id = h.user_id "
           f"and s.event_ts >= h.feature_ts) to '{out}' (format parquet)")
    return (f"import duckdb\nwith duckdb.connect({warehouse!r}, read_only=True) as con:\n"
            f"    con.execute({sql!r}).fetchall()\n")


def _range_code(warehouse: str, spine: str, view: str, out: str) -> str:
    sql = f"""
        copy (
            with s as (
                select *, row_number() over () as _spine_row from read_parquet('{spine}')
            ),
            matched as (
                select s.*, h.f1, h.f2, h.f3, h.feature_ts,
                    row_number() over (
                        partition by s._spine_row order by h.feature_ts desc
                    ) as _rank
                from s
                left join {view} as h
                    on s.user_id = h.user_id
                    and h.feature_ts <= s.event_ts
                    and s.event_ts <= h.feature_ts + interval '{TTL_DAYS * 86400} seconds'
            )
            select * exclude (_spine_row, _rank, f1, f2, f3, feature_ts),
                coalesce(f1, 0) as {view}__f1, f2 as {view}__f2, f3 as {view}__f3,
                feature_ts as {view}__feature_ts
            from matched
            where _rank = 1
        ) to '{out}' (format parquet)
    """
    return (f"import duckdb\nwith duckdb.connect({warehouse!r}, read_only=True) as con:\n"
            f"    con.execute({sql!r}).fetchall()\n")


SDK_CODE = """\
import json, sys, time
import pandas as pd
from featurestore import FeatureStore
root, spine, features = sys.argv[1:4]
frame = pd.read_parquet(spine)
started = time.perf_counter()
table = FeatureStore(root).training_set(frame, features)
print(json.dumps({"call_seconds": time.perf_counter() - started, "rows": table.num_rows}))
"""


def command(setup: dict, runner: str, spine: str, views: list[str], out: Path) -> list[str]:
    if runner == "cli":
        script = Path(sys.executable).parent / "featurestore"
        return [str(script), "--project-dir", setup["root"], "training-set", "--spine", spine,
                "--features", ",".join(views), "--out", str(out)]
    if runner == "sdk":
        return [sys.executable, "-c", SDK_CODE, setup["root"], spine, ",".join(views)]
    code = {"floor": _floor_code, "range": _range_code}[runner]
    return [sys.executable, "-c", code(setup["warehouse"], spine, views[0], str(out))]


def run_process(argv: list[str], env: dict[str, str]) -> dict:
    """Wall time from start to exit, and the process's own peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, **env})
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} ... failed:\n{stderr[-3000:]}")
    figures = {"seconds": seconds, "peak_rss_bytes": usage.ru_maxrss * 1024}
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if last.startswith("{"):
        figures.update(json.loads(last))
    return figures


def run_case(setup: dict, runner: str, spine: str, views: list[str], out: Path,
             repeat: int, env: dict[str, str]) -> dict:
    """Best wall time (and call time) and worst peak RSS of ``repeat`` runs."""
    env = {"FEATURESTORE_DUCKDB_PATH": setup["warehouse"], **env}
    runs = []
    for _ in range(repeat):
        runs.append(run_process(command(setup, runner, spine, views, out), env))
        out.unlink(missing_ok=True)
        Path(str(out) + ".manifest.json").unlink(missing_ok=True)
    best = {"seconds": min(r["seconds"] for r in runs),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs)}
    if "call_seconds" in runs[0]:
        best["call_seconds"] = min(r["call_seconds"] for r in runs)
    return best


# -- --target spark: the same data on a local Spark ----------------------------------------
SPARK_DRIVER_MEMORY = "3g"

SPARK_SESSION = """\
import sys
from pathlib import Path
from featurestore.dialects.spark import session_config, start_session
spark = start_session(session_config(Path({spark_dir!r}), {memory!r}))
"""


def prepare_spark(setup: dict) -> dict:
    """The history table bench_one in a Spark catalog under the benchmark folder (read
    from a Parquet export of the DuckDB table), and a featurestore project pointing there."""
    import duckdb

    folder = Path(setup["root"])
    spark_dir = folder / "spark"
    if (folder / "spark_ready").exists():
        return {"spark_dir": str(spark_dir)}
    history = folder / "bench_one.parquet"
    with duckdb.connect(setup["warehouse"], read_only=True) as con:
        con.execute(f"copy bench_one to '{history}' (format parquet)").fetchall()
    code = SPARK_SESSION.format(spark_dir=str(spark_dir), memory=SPARK_DRIVER_MEMORY) + (
        "spark.sql('create database if not exists main')\n"
        f"spark.read.parquet({str(history)!r}).write.mode('overwrite')"
        ".saveAsTable('main.bench_one')\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    (folder / "spark_ready").write_text("ok\n")
    return {"spark_dir": str(spark_dir)}


def _spark_floor_code(spark_dir: str, spine: str, view: str, out: str) -> str:
    """The hand-written as-of join on Spark: spine and history rows in one stream per
    user, last(struct, true) over the rows so far, TTL checked on the pick."""
    ttl = TTL_DAYS * 86400
    sql = f"""
        with stream as (
            select user_id, event_ts as t, 1 as is_spine, struct(s.*) as spine,
                   cast(null as struct<feature_ts: timestamp_ntz, f1: bigint, f2: double,
                                       f3: double>) as pick
            from spine as s
            union all
            select user_id, feature_ts, 0, null, named_struct('feature_ts', feature_ts,
                   'f1', f1, 'f2', f2, 'f3', f3)
            from main.{view}
        ),
        carried as (
            select is_spine, spine, t,
                   last(pick, true) over (partition by user_id order by t, is_spine
                                          rows between unbounded preceding and current row) as h
            from stream
        )
        select spine.*,
            case when t <= h.feature_ts + interval '{ttl} seconds' then h.f1 else 0 end
                as {view}__f1,
            case when t <= h.feature_ts + interval '{ttl} seconds' then h.f2 end as {view}__f2,
            case when t <= h.feature_ts + interval '{ttl} seconds' then h.f3 end as {view}__f3,
            case when t <= h.feature_ts + interval '{ttl} seconds' then h.feature_ts end
                as {view}__feature_ts
        from carried
        where is_spine = 1
    """
    return (SPARK_SESSION.format(spark_dir=spark_dir, memory=SPARK_DRIVER_MEMORY)
            + f"spark.read.parquet({spine!r}).createOrReplaceTempView('spine')\n"
            + f"spark.sql({sql!r}).write.mode('overwrite').parquet({out!r})\n")


def run_tree(argv: list[str], env: dict[str, str]) -> dict:
    """Wall time, and the peak of the summed RSS of the process and its children (the
    Spark driver is a JVM the Python process starts), sampled every 0.1 s."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **env})
    parent, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode()
    process.stderr.close()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} ... failed:\n{stderr[-3000:]}")
    return {"seconds": seconds, "peak_rss_bytes": peak}


def main_spark(args, folder: Path, setup: dict) -> None:
    """1M spine x 5M history: featurestore training-set on Spark against the hand-written
    Spark as-of join (the floor there) and against DuckDB's training-set."""
    import shutil

    spark = prepare_spark(setup)
    small, small_rows = setup["spines"]["small"]
    out = folder / "spark_out.parquet"
    spark_env = {"FEATURESTORE_TARGET": "spark", "FEATURESTORE_SPARK_DIR": spark["spark_dir"],
                 "FEATURESTORE_SPARK_DRIVER_MEMORY": SPARK_DRIVER_MEMORY}
    script = Path(sys.executable).parent / "featurestore"
    cli = [str(script), "--project-dir", setup["root"], "training-set", "--spine", small,
           "--features", "bench_one", "--out", str(out)]
    floor = [sys.executable, "-c",
             _spark_floor_code(spark["spark_dir"], small, "bench_one", str(out))]
    duckdb_cli = command(setup, "cli", small, ["bench_one"], out)
    cases = [("spark_floor", "Spark floor: hand-written", floor, spark_env),
             ("spark_cli", "training-set on Spark", cli, spark_env),
             ("duckdb_cli", "training-set on DuckDB", duckdb_cli,
              {"FEATURESTORE_DUCKDB_PATH": setup["warehouse"]})]
    history = setup["tables"]["bench_one"]
    print(f"\n{'case (driver: ' + SPARK_DRIVER_MEMORY + ', local[2])':36} {'spine':>10} "
          f"{'history':>11} {'wall s':>8} {'x floor':>8} {'peak RSS':>12}")
    results = {}
    for key, label, argv, env in cases:
        runs = []
        for _ in range(args.repeat):
            runs.append(run_tree(argv, env))
            shutil.rmtree(out, ignore_errors=True)
            out.unlink(missing_ok=True)
            Path(str(out) + ".manifest.json").unlink(missing_ok=True)
        figures = {"seconds": min(r["seconds"] for r in runs),
                   "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs)}
        results[key] = figures
        ratio = figures["seconds"] / results["spark_floor"]["seconds"]
        print(f"{label:36} {small_rows:>10,} {history:>11,} {figures['seconds']:>8.2f} "
              f"{ratio:>8.2f} {figures['peak_rss_bytes'] / 2**30:>8.2f} GiB", flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print("target: training-set on Spark within 1.5x of the Spark floor. Peak RSS: the "
          "Python process and the driver JVM it starts, together. Each figure is a whole "
          "process, Spark's start (about 8 s) included; shared 2-core machine: noisy.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per case; the best time and the worst memory are shown")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate into (and reuse) this folder instead of a temporary one")
    parser.add_argument("--only", default=None,
                        help="comma-separated case keys to run (e.g. floor,cli)")
    parser.add_argument("--target", choices=["duckdb", "spark"], default="duckdb",
                        help="spark: 1M x 5M on a local Spark, against a hand-written Spark "
                        "as-of join and against DuckDB (needs the spark extra)")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    with tempfile.TemporaryDirectory(prefix="pit_bench_") as tmp:
        folder = args.keep or Path(tmp)
        setup_json = folder / "setup.json"
        if not setup_json.exists():
            print(f"generating benchmark data (scale {scale}) in {folder} ...", file=sys.stderr)
            setup_json.parent.mkdir(parents=True, exist_ok=True)
            setup_json.write_text(json.dumps(prepare(folder, scale)))
        setup = json.loads(setup_json.read_text())
        if args.target == "spark":
            main_spark(args, folder, setup)
            return
        small, small_rows = setup["spines"]["small"]
        big, big_rows = setup["spines"]["big"]
        three = ["bench_three_a", "bench_three_b", "bench_three_c"]
        tables = setup["tables"]
        cases = [  # key, label, runner, spine, rows, views, env
            ("floor", "floor: one ASOF LEFT JOIN", "floor", small, small_rows, ["bench_one"]),
            ("cli", "training-set, one view", "cli", small, small_rows, ["bench_one"]),
            ("sdk", "SDK training_set (process)", "sdk", small, small_rows, ["bench_one"]),
            ("range", "range join + row_number", "range", small, small_rows, ["bench_one"]),
            ("three", "training-set, three views", "cli", small, small_rows, three),
            ("floor_big", "floor, 5M x 20M", "floor", big, big_rows, ["bench_big"]),
            ("cli_big", "training-set, 5M x 20M", "cli", big, big_rows, ["bench_big"]),
            ("sdk_big", "SDK, 5M x 20M (process)", "sdk", big, big_rows, ["bench_big"]),
        ]
        wanted = set(args.only.split(",")) if args.only else None
        results = {}
        print(f"\n{'case':30} {'spine':>10} {'history':>11} {'wall s':>8} "
              f"{'x floor':>8} {'peak RSS':>12}")
        for key, label, runner, spine, rows, views in cases:
            if wanted and key not in wanted:
                continue
            figures = run_case(setup, runner, spine, views, folder / "out.parquet",
                               args.repeat, {})
            results[key] = figures
            floor = results.get("floor_big" if key.endswith("_big") else "floor")
            ratio = f"{figures['seconds'] / floor['seconds']:>8.2f}" if floor else f"{'':>8}"
            history = sum(tables[v] for v in views)
            print(f"{label:30} {rows:>10,} {history:>11,} {figures['seconds']:>8.2f} "
                  f"{ratio} {figures['peak_rss_bytes'] / 2**30:>8.2f} GiB", flush=True)
            if "call_seconds" in figures:
                cli = results.get("cli_big" if key.endswith("_big") else "cli")
                versus = (f", {figures['call_seconds'] / cli['seconds']:.2f}x the CLI process"
                          if cli else "")
                print(f"{'  of which the call':30} {'':>10} {'':>11} "
                      f"{figures['call_seconds']:>8.2f}{versus}", flush=True)
        print("\ntargets: training-set within 1.3x of the floor at both sizes; 5M x 20M under "
              "2 GiB; three views under 2.5x one view; the SDK's call within 1.1x of the CLI")


if __name__ == "__main__":
    main()
