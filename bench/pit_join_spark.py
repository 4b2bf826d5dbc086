"""``bench/pit_join.py --target spark``: the point-in-time join on a local Spark, against
a hand-written Spark as-of join and against DuckDB's training-set (1M x 5M)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pit_join import TTL_DAYS, command  # bench/, beside this script

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


