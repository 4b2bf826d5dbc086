"""Point-in-time join benchmark: `featurestore training-set` against the DuckDB floor.

Prints figures, asserts nothing (speed lives here, never in timed tests). The cases are
those of issue 2's "Speed" section:

  a. one view: 1,000,000 spine rows x 5,000,000 history rows (100,000 entities,
     3 features, TTL 30 days) through build_training_set (spine checks, join, Parquet,
     manifest);
  b. the floor: one hand-written DuckDB ASOF LEFT JOIN reading the same inputs and
     writing the same Parquet output;
  c. the common pattern of other feature stores: a range join on feature_ts <= event_ts
     (within the TTL) and row_number() to keep the latest;
  d. three views, 5,000,000 history rows in total;
  e. 5,000,000 spine rows x 20,000,000 history rows.

Each case runs in its own child process, which reports its own wall time (of the work,
not of Python's start-up) and peak RSS (getrusage of itself), so the figures of one case
never include another's memory. The history is generated in DuckDB with hash-based
values, so a run is deterministic for a given DuckDB version.

    python bench/pit_join.py            # the sizes above (a few minutes)
    python bench/pit_join.py --quick    # a tenth of every size
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


# -- the cases, each run in a child process ------------------------------------------------
def _featurestore(setup: dict, spine: str, views: list[str], out: str) -> None:
    os.environ["FEATURESTORE_DUCKDB_PATH"] = setup["warehouse"]
    from featurestore.project import Project
    from featurestore.training import build_training_set

    build_training_set(Project(Path(setup["root"])), spine, ",".join(views), out)


def _columns(view: str) -> str:
    visible = (f"h.feature_ts is not null and s.event_ts <= h.feature_ts "
               f"+ interval '{TTL_DAYS * 86400} seconds'")
    return (f"case when {visible} then h.f1 else 0 end as {view}__f1, "
            f"case when {visible} then h.f2 end as {view}__f2, "
            f"case when {visible} then h.f3 end as {view}__f3, "
            f"case when {visible} then h.feature_ts end as {view}__feature_ts")


def _floor(setup: dict, spine: str, views: list[str], out: str) -> None:
    import duckdb

    view = views[0]
    with duckdb.connect(setup["warehouse"], read_only=True) as con:
        con.execute(f"""
            copy (
                select s.*, {_columns(view)}
                from read_parquet('{spine}') as s
                asof left join {view} as h
                    on s.user_id = h.user_id and s.event_ts >= h.feature_ts
            ) to '{out}' (format parquet)
        """).fetchall()


def _range_join(setup: dict, spine: str, views: list[str], out: str) -> None:
    import duckdb

    view = views[0]
    with duckdb.connect(setup["warehouse"], read_only=True) as con:
        con.execute(f"""
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
        """).fetchall()


RUNNERS = {"featurestore": _featurestore, "floor": _floor, "range_join": _range_join}


def child(argv: list[str]) -> None:
    runner, setup_json, spine, views, out = argv
    setup = json.loads(Path(setup_json).read_text())
    started = time.perf_counter()
    RUNNERS[runner](setup, spine, views.split(","), out)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_bytes": peak_kib * 1024}))


def run_case(setup_json: Path, runner: str, spine: str, views: list[str], out: Path,
             repeat: int, env: dict[str, str]) -> dict:
    """Best wall time and worst peak RSS of ``repeat`` runs (the machine is shared)."""
    command = [sys.executable, __file__, "--child", runner, str(setup_json), spine,
               ",".join(views), str(out)]
    runs = []
    for _ in range(repeat):
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env={**os.environ, **env})
        if done.returncode != 0:
            raise SystemExit(f"{runner} failed:\n{done.stderr}")
        out.unlink(missing_ok=True)
        Path(str(out) + ".manifest.json").unlink(missing_ok=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"seconds": min(r["seconds"] for r in runs),
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per case; the best time and the worst memory are shown")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate into (and reuse) this folder instead of a temporary one")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
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
        capped = {"FEATURESTORE_DUCKDB_MEMORY_LIMIT": "1GB"}
        cases = [
            ("b. floor: one ASOF LEFT JOIN", "floor", small, small_rows, ["bench_one"], {}),
            ("a. training-set, one view", "featurestore", small, small_rows, ["bench_one"], {}),
            ("c. range join + row_number", "range_join", small, small_rows, ["bench_one"], {}),
            ("d. training-set, three views", "featurestore", small, small_rows, three, {}),
            ("e. training-set, 5M x 20M", "featurestore", big, big_rows, ["bench_big"], {}),
            ("e'. same, memory limit 1GB", "featurestore", big, big_rows, ["bench_big"],
             capped),
        ]
        results = {}
        print(f"\n{'case':32} {'spine':>10} {'history':>11} {'wall s':>8} "
              f"{'rows/s':>11} {'x floor':>8} {'peak RSS':>10}")
        for label, runner, spine, rows, views, env in cases:
            figures = run_case(setup_json, runner, spine, views, folder / "out.parquet",
                               args.repeat, env)
            results[label] = figures
            floor = results["b. floor: one ASOF LEFT JOIN"]["seconds"]
            history = sum(tables[v] for v in views)
            print(f"{label:32} {rows:>10,} {history:>11,} {figures['seconds']:>8.2f} "
                  f"{rows / figures['seconds']:>11,.0f} {figures['seconds'] / floor:>8.2f} "
                  f"{figures['peak_rss_bytes'] / 2**30:>8.2f} GiB", flush=True)
        one = results["a. training-set, one view"]
        print("\ntargets: a within 1.3x of b, and under 1 GiB; d under 2.5x a; e under 2 GiB")
        print(f"  a / b = {one['seconds'] / results['b. floor: one ASOF LEFT JOIN']['seconds']:.2f}"
              f"; a peak = {one['peak_rss_bytes'] / 2**30:.2f} GiB"
              f"; d / a = {results['d. training-set, three views']['seconds'] / one['seconds']:.2f}"
              f"; e peak = {results['e. training-set, 5M x 20M']['peak_rss_bytes'] / 2**30:.2f}"
              " GiB")


if __name__ == "__main__":
    main()
