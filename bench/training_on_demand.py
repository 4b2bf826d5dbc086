"""A training set with 10 on-demand features against the same set without them.

Prints figures, asserts nothing. Both cases are whole `featurestore training-set`
processes on DuckDB, from a Parquet spine of 1,000,000 rows (with the request columns
`amount`, `txn_ts`, `merchant_country`) to a Parquet file, over one view of 5,000,000
rows (100,000 users, 3 features, TTL 30 days; bench/pit_join.py's data):

  stored     --features bench_one                 (3 stored features)
  on-demand  --features bench_one,bench_ctx       (the same, plus 10 expressions over
                                                   the request columns and all 3 inputs)

Each case runs once untimed, then ``--repeat`` times; the best wall time and the worst
peak RSS are printed, with their ratio (issue 20's target: at most 1.2x) and the
machine's load.

    python bench/training_on_demand.py            # 1M x 5M (about a minute)
    python bench/training_on_demand.py --quick    # a tenth of it
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from pit_join import ENTITIES_YML, VIEW_YML, _history_sql, load_average, run_case
from project_files import write_dbt_project  # bench/, beside this script

DAY_US = 86_400 * 1_000_000
EXPRESSIONS = {  # 10 expressions over every kind of the subset the demo's view uses
    "amount_over_f2": "amount / f2",
    "amount_minus_f2": "amount - f2",
    "f1_mod_7": "mod(f1, 7)",
    "hour_paris": "date_part('hour', txn_ts, 'Europe/Paris')",
    "day_of_week": "date_part('dow', txn_ts)",
    "amount_band": "case when amount > 100 then 'high' when amount > 10 then 'mid' "
                   "else 'low' end",
    "weighted": "coalesce(f3, 0) * amount",
    "is_fr": "merchant_country = 'FR'",
    "log_amount": "round(ln(amount + 1), 3)",
    "f3_clipped": "clip(f3, 0.1, 0.9)",
}


def _on_demand_yml() -> str:
    features = "".join(
        f"  - {{name: {name}, sql: \"{sql}\", sensitivity: internal, description: b.}}\n"
        for name, sql in EXPRESSIONS.items())
    return ("name: bench_ctx\nkind: on_demand\nversion: 1\nentity: user\nowner: bench\n"
            "description: Benchmark expressions.\nrequest:\n"
            "  - {name: amount, dtype: float64}\n  - {name: txn_ts, dtype: timestamp}\n"
            "  - {name: merchant_country, dtype: string}\n"
            "inputs: [bench_one:f1, bench_one:f2, bench_one:f3]\nfeatures:\n" + features)


def _spine_sql(path: Path, rows: int, entities: int) -> str:
    span = 100 * DAY_US
    return f"""
        copy (
            select
                i as row_id,
                cast(hash(i, 101) % {entities + entities // 100} as bigint) + 1 as user_id,
                make_timestamp(epoch_us(timestamp '2026-01-01')
                    + cast(hash(i, 102) % {span} as bigint)) as event_ts,
                cast(hash(i, 104) % 100000 as double) / 100 as amount,
                make_timestamp(epoch_us(timestamp '2026-01-01')
                    + cast(hash(i, 102) % {span} as bigint)) as txn_ts,
                ['FR', 'DE', 'US', 'IN', NULL][cast(hash(i, 105) % 5 as bigint) + 1]
                    as merchant_country
            from range({rows}) as r(i)
        ) to '{path}' (format parquet)
    """


def prepare(folder: Path, scale: float) -> dict:
    import duckdb

    rows, entities, spine_rows = (max(1, int(n * scale)) for n in (5_000_000, 100_000,
                                                                  1_000_000))
    defs = folder / "feature_defs"
    defs.mkdir(parents=True)
    (defs / "entities.yml").write_text(ENTITIES_YML)
    (defs / "bench_one.yml").write_text(VIEW_YML.format(name="bench_one", ttl=30))
    (defs / "bench_ctx.yml").write_text(_on_demand_yml())
    write_dbt_project(folder, "bench")
    warehouse, spine = folder / "bench.duckdb", folder / "spine.parquet"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(_history_sql("bench_one", rows, entities, 0)).fetchall()
        con.execute(_spine_sql(spine, spine_rows, entities)).fetchall()
    print(f"  history: {rows:,} rows, {entities:,} users; spine: {spine_rows:,} rows",
          file=sys.stderr)
    return {"root": str(folder), "warehouse": str(warehouse), "spine": str(spine),
            "spine_rows": spine_rows, "history_rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    loads = [load_average()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        setup = prepare(folder, 0.1 if args.quick else 1.0)
        print(f"  prepared in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        out = folder / "out.parquet"
        figures = {}
        for name, views in (("stored", ["bench_one"]),
                            ("on-demand", ["bench_one", "bench_ctx"])):
            print(f"  {name} ...", file=sys.stderr)
            figures[name] = run_case(setup, "cli", setup["spine"], views, out, args.repeat,
                                     {})
    loads.append(load_average())
    print(f"\ntraining set, {setup['spine_rows']:,} spine rows x {setup['history_rows']:,} "
          f"history rows, DuckDB, best of {args.repeat}")
    for name, result in figures.items():
        print(f"  {name:<10} {result['seconds']:6.2f} s   peak RSS "
              f"{result['peak_rss_bytes'] / 2**30:.2f} GiB")
    ratio = figures["on-demand"]["seconds"] / figures["stored"]["seconds"]
    print(f"  10 on-demand features: {ratio:.2f} x the set without them (target 1.2)")
    print(f"load average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]}")


if __name__ == "__main__":
    main()
