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
    (folder / "dbt_project.yml").write_text("name: bench\n")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per case; the best time and the worst memory are shown")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate into (and reuse) this folder instead of a temporary one")
    parser.add_argument("--only", default=None,
                        help="comma-separated case keys to run (e.g. floor,cli)")
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
