"""Point-in-time join benchmark: `featurestore training-set` against the DuckDB floor.

Prints figures, asserts nothing (speed lives here, never in timed tests). Every case is a
whole process, from a Parquet spine to a Parquet file, timed from its start to its exit
with its own CPU time and peak RSS (``wait4``, from a small launcher: bench/child_usage.py
says why), as a user or a scheduler runs it:

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

The cases ``floor_shape``/``cli_shape`` (1M x 5M) and ``floor_shape_big``/``cli_shape_big``
(5M x 20M) run the workload of issue 21, shaped like real use (``bench/pit_shape.py``:
a float with 5% nulls, a dbt-built ``materialized='table'`` view, unknown keys, rows on a
feature timestamp and at the TTL's edge, duplicated spine rows). Their floor reads the
history's Parquet file, as the issue's did; ``floor_table_shape``(``_big``) reads the
view's table, as featurestore does (DuckDB keeps the table's blocks it scanned in its
buffer pool, so that floor's peak RSS is higher). Each figure is printed
with its ratio to its floor in time and in peak memory, and the machine's load; the two
shaped outputs are then compared row for row. Each case runs once untimed first (see
``run_case``), then ``--repeat`` times.

    python bench/pit_join.py            # the sizes above (a few minutes)
    python bench/pit_join.py --quick    # a tenth of every size
    python bench/pit_join.py --target spark   # 1M x 5M on local Spark: featurestore's
        # spark__ body against a hand-written Spark as-of join and against DuckDB
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import child_usage  # bench/, beside this script
from project_files import write_dbt_project

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
    from pit_shape import prepare_shape

    shapes = prepare_shape(folder, scale, warehouse)
    return {"root": str(folder), "warehouse": str(warehouse), "shapes": shapes,
            "history_files": {view: str(folder / f"{view}_history.parquet")
                              for _, _, view, _ in shapes.values()},
            "spines": {k: [str(v[0]), v[1]] for k, v in spines.items()},
            "tables": {**{k: v[0] for k, v in tables.items()},
                       **{view: rows for _, _, view, rows in shapes.values()}}}


# -- the cases: each a whole process -------------------------------------------------------
def _floor_code(warehouse: str, spine: str, view: str, out: str,
                relation: str | None = None) -> str:
    """One ASOF LEFT JOIN of the spine file with ``relation`` (default: the view's table),
    the contract's default and TTL, COPY TO parquet."""
    visible = (f"h.feature_ts is not null and s.event_ts <= h.feature_ts "
               f"+ interval '{TTL_DAYS * 86400} seconds'")
    columns = (f"case when {visible} then h.f1 else 0 end as {view}__f1, "
               f"case when {visible} then h.f2 end as {view}__f2, "
               f"case when {visible} then h.f3 end as {view}__f3, "
               f"case when {visible} then h.feature_ts end as {view}__feature_ts")
    sql = (f"copy (select s.*, {columns} from read_parquet('{spine}') as s "
           f"asof left join {relation or view} as h on s.user_id = h.user_id "
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
    if runner == "floor_files":  # the history's Parquet file, as issue 21's floor read it
        history = f"read_parquet('{setup['history_files'][views[0]]}')"
        return [sys.executable, "-c", _floor_code(setup["warehouse"], spine, views[0],
                                                  str(out), history)]
    code = {"floor": _floor_code, "range": _range_code}[runner]
    return [sys.executable, "-c", code(setup["warehouse"], spine, views[0], str(out))]


def run_process(argv: list[str], env: dict[str, str]) -> dict:
    """Wall time from start to exit, and the process's own peak RSS (bench/child_usage.py)."""
    result = child_usage.run(argv, env)
    if result["returncode"] != 0:
        raise SystemExit(f"{' '.join(argv[:3])} ... failed:\n{result['stderr'][-3000:]}")
    figures = {key: result[key] for key in ("seconds", "peak_rss_bytes", "cpu_seconds")}
    stdout = result["stdout"]
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if last.startswith("{"):
        figures.update(json.loads(last))
    return figures


def run_case(setup: dict, runner: str, spine: str, views: list[str], out: Path,
             repeat: int, env: dict[str, str], keep: Path | None = None) -> dict:
    """Best wall time, CPU time (and call time) and worst peak RSS of ``repeat`` runs, after one
    untimed run: every case then starts as it does after any earlier command (the files
    in the OS's cache; featurestore's resolved dbt target kept, featurestore/
    profile_cache.py). ``keep``: where the last run's file goes."""
    env = {"FEATURESTORE_DUCKDB_PATH": setup["warehouse"], **env}
    runs = []
    for attempt in range(repeat + 1):
        figures = run_process(command(setup, runner, spine, views, out), env)
        if attempt:
            runs.append(figures)
        if keep is not None and out.exists():  # the last run's rows, to compare
            out.replace(keep)
        out.unlink(missing_ok=True)
        Path(str(out) + ".manifest.json").unlink(missing_ok=True)
    best = {"seconds": min(r["seconds"] for r in runs),
            "cpu_seconds": min(r["cpu_seconds"] for r in runs),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs)}
    if "call_seconds" in runs[0]:
        best["call_seconds"] = min(r["call_seconds"] for r in runs)
    return best


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
    child_usage.start()  # before the data is generated in this process
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
            from pit_join_spark import main_spark

            main_spark(args, folder, setup)
            return
        small, small_rows = setup["spines"]["small"]
        big, big_rows = setup["spines"]["big"]
        three = ["bench_three_a", "bench_three_b", "bench_three_c"]
        tables = setup["tables"]
        shape, shape_big = setup["shapes"]["shape"], setup["shapes"]["shape_big"]
        cases = [  # key, label, runner, spine, rows, views, the floor it is compared with
            ("floor", "floor: one ASOF LEFT JOIN", "floor", small, small_rows, ["bench_one"],
             "floor"),
            ("cli", "training-set, one view", "cli", small, small_rows, ["bench_one"],
             "floor"),
            ("sdk", "SDK training_set (process)", "sdk", small, small_rows, ["bench_one"],
             "floor"),
            ("range", "range join + row_number", "range", small, small_rows, ["bench_one"],
             "floor"),
            ("three", "training-set, three views", "cli", small, small_rows, three, "floor"),
            ("floor_big", "floor, 5M x 20M", "floor", big, big_rows, ["bench_big"],
             "floor_big"),
            ("cli_big", "training-set, 5M x 20M", "cli", big, big_rows, ["bench_big"],
             "floor_big"),
            ("sdk_big", "SDK, 5M x 20M (process)", "sdk", big, big_rows, ["bench_big"],
             "floor_big"),
            ("floor_shape", "shaped: floor, Parquet files", "floor_files", shape[0],
             shape[1], [shape[2]], "floor_shape"),
            ("floor_table_shape", "shaped: floor, the view's table", "floor", shape[0],
             shape[1], [shape[2]], "floor_shape"),
            ("cli_shape", "shaped: training-set, 1M x 5M", "cli", shape[0], shape[1],
             [shape[2]], "floor_shape"),
            ("floor_shape_big", "shaped: floor, Parquet, 5M x 20M", "floor_files",
             shape_big[0], shape_big[1], [shape_big[2]], "floor_shape_big"),
            ("floor_table_shape_big", "shaped: floor, table, 5M x 20M", "floor",
             shape_big[0], shape_big[1], [shape_big[2]], "floor_shape_big"),
            ("cli_shape_big", "shaped: training-set, 5M x 20M", "cli", shape_big[0],
             shape_big[1], [shape_big[2]], "floor_shape_big"),
        ]
        wanted = set(args.only.split(",")) if args.only else None
        results = {}
        print(f"load average (1, 5, 15 min) at the start: {load_average()}")
        print(f"\n{'case':32} {'spine':>10} {'history':>11} {'wall s':>8} "
              f"{'x floor':>8} {'CPU s':>7} {'x floor':>8} {'peak RSS':>12} {'x floor':>8}")
        for key, label, runner, spine, rows, views, floor_key in cases:
            if wanted and key not in wanted:
                continue
            keep = (folder / f"{key}.parquet"
                    if key in ("floor_shape", "cli_shape", "floor_shape_big", "cli_shape_big")
                    else None)
            figures = run_case(setup, runner, spine, views, folder / "out.parquet",
                               args.repeat, {}, keep)
            results[key] = figures
            floor = results.get(floor_key)
            ratio = cpu = memory = f"{'':>8}"
            if floor and floor is not figures:
                ratio = f"{figures['seconds'] / floor['seconds']:>8.2f}"
                cpu = f"{figures['cpu_seconds'] / floor['cpu_seconds']:>8.2f}"
                memory = f"{figures['peak_rss_bytes'] / floor['peak_rss_bytes']:>8.2f}"
            history = sum(tables[v] for v in views)
            print(f"{label:32} {rows:>10,} {history:>11,} {figures['seconds']:>8.2f} "
                  f"{ratio} {figures['cpu_seconds']:>7.2f} {cpu} "
                  f"{figures['peak_rss_bytes'] / 2**30:>8.2f} GiB {memory}",
                  flush=True)
            if "call_seconds" in figures:
                cli = results.get("cli_big" if key.endswith("_big") else "cli")
                versus = (f", {figures['call_seconds'] / cli['seconds']:.2f}x the CLI process"
                          if cli else "")
                print(f"{'  of which the call':32} {'':>10} {'':>11} "
                      f"{figures['call_seconds']:>8.2f}{versus}", flush=True)
        for size in ("shape", "shape_big"):
            rows = same_rows(folder / f"floor_{size}.parquet", folder / f"cli_{size}.parquet")
            if rows is not None:
                print(f"shaped {size}: training-set and floor {rows}")
        print(f"\nload average (1, 5, 15 min) at the end: {load_average()} on "
              f"{os.cpu_count()} cores")
        print("\ntargets: training-set within 1.3x of the floor at both sizes; 5M x 20M under "
              "2 GiB; three views under 2.5x one view; the SDK's call within 1.1x of the CLI; "
              "shaped: within 1.15x of the floor in time and 1.1x in peak memory")


def same_rows(floor: Path, cli: Path) -> str | None:
    """Whether the two files hold the same rows (as multisets), said in a few words."""
    import duckdb

    if not (floor.exists() and cli.exists()):
        return None
    with duckdb.connect() as con:
        (rows,), (only_floor,), (only_cli,) = (con.execute(sql).fetchone() for sql in (
            f"select count(*) from '{cli}'",
            f"select count(*) from (from '{floor}' except all from '{cli}')",
            f"select count(*) from (from '{cli}' except all from '{floor}')"))
    if only_floor == only_cli == 0:
        return f"hold the same {rows:,} rows"
    return f"DIFFER: {only_floor:,} rows only in the floor's, {only_cli:,} only in featurestore's"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
