"""The workload of issue 21 (item 6), shaped like real use, for ``bench/pit_join.py``.

- **The view**: 3 features (``f1`` an int, ``f2`` a float, ``f3`` a float with 5% nulls)
  in a dbt model with ``materialized='table'``, built by ``dbt run`` from a Parquet file
  of the history (so the project has dbt's ``target/manifest.json``, as a real one does).
  Unique (user_id, feature_ts), 50 rows per user over 90 days, TTL 30 days.
- **The spine**: naive UTC ``event_ts``, a ``label`` column, and these rows:
  3% unknown keys; 5% exactly on a feature timestamp of their user; 1% exactly at the
  TTL after their user's last row (still visible) and 1% at the TTL + 1 microsecond
  (expired); the rest at random times; plus 0.05% of the rows again (duplicated (key,
  time) rows).

Two sizes, as the issue's table: 1,000,000 spine rows x 5,000,000 history rows (100,000
users) and 5,000,000 x 20,000,000 (400,000 users). The floor reads the very spine file and
the history's Parquet file (the floor of the issue); ``floor_table_shape`` reads the
very table ``featurestore training-set`` reads. Generated in DuckDB with hash-based
values: deterministic for a given DuckDB version.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

DAY_US = 86_400 * 1_000_000
HISTORY_DAYS = 90
TTL_DAYS = 30
PER_USER = 50
SALT = 500
VIEW_YML = """name: {name}
version: 1
entity: user
source: {name}
timestamp: feature_ts
ttl: {ttl}d
owner: bench
description: Benchmark history shaped like real use.
features:
  - {{name: f1, dtype: int64, default: 0, sensitivity: internal, description: a count}}
  - {{name: f2, dtype: float64, sensitivity: internal, description: an amount}}
  - {{name: f3, dtype: float64, sensitivity: internal, description: a rate with 5% nulls}}
"""
MODEL_SQL = """{{{{ config(materialized='table') }}}}
-- One row per user_id per feature_ts.
select user_id, feature_ts, f1, f2, f3 from read_parquet('{path}')
"""
SIZES = {"shape": (1_000_000, 5_000_000, 100_000), "shape_big": (5_000_000, 20_000_000,
                                                                   400_000)}


def _feature_ts(j: str, entities: int) -> str:
    """The feature_ts of history row ``j`` in microseconds (an SQL expression), as the
    history has it: each user's rows in their own slots of the 90 days."""
    spacing = HISTORY_DAYS * DAY_US // PER_USER
    return (f"(epoch_us(timestamp '2026-01-01') + ({j} // {entities}) * {spacing} "
            f"+ cast(hash({j}, {SALT}) % {spacing} as bigint))")


def history_sql(path: Path, rows: int, entities: int) -> str:
    return f"""
        copy (
            select
                (i % {entities}) + 1 as user_id,
                make_timestamp({_feature_ts('i', entities)}) as feature_ts,
                cast(hash(i, {SALT + 1}) % 100 as bigint) as f1,
                cast(hash(i, {SALT + 2}) % 100000 as double) / 100 as f2,
                case when hash(i, {SALT + 3}) % 20 = 0 then null
                     else cast(hash(i, {SALT + 4}) % 1000 as double) / 1000 end as f3
            from range({rows}) as r(i)
        ) to '{path}' (format parquet)
    """


def spine_sql(path: Path, rows: int, history_rows: int, entities: int) -> str:
    ttl_us = TTL_DAYS * DAY_US
    span = (HISTORY_DAYS + 10) * DAY_US
    last_layer = (history_rows // entities - 1) * entities  # each user's last row

    def ts(j: str) -> str:
        return _feature_ts(j, entities)

    return f"""
        copy (
            with picked as (
                select i, hash(i, 201) % 100 as bucket,
                    cast(hash(i, 202) % {history_rows} as bigint) as j_any,
                    cast({last_layer} + hash(i, 203) % {entities} as bigint) as j_last
                from range({rows}) as r(i)
            ),
            spine as (
                select
                    i as row_id,
                    case
                        when bucket < 3 then {entities} + 1 + hash(i, 204) % {entities}
                        when bucket < 8 then j_any % {entities} + 1
                        when bucket < 10 then j_last % {entities} + 1
                        else hash(i, 205) % {entities} + 1
                    end::bigint as user_id,
                    make_timestamp(case
                        when bucket < 3 then epoch_us(timestamp '2026-01-01')
                            + cast(hash(i, 206) % {span} as bigint)
                        when bucket < 8 then {ts('j_any')}
                        when bucket = 8 then {ts('j_last')} + {ttl_us}
                        when bucket = 9 then {ts('j_last')} + {ttl_us} + 1
                        else epoch_us(timestamp '2026-01-01')
                            + cast(hash(i, 207) % {span} as bigint)
                    end) as event_ts,
                    hash(i, 208) % 50 = 0 as label
                from picked
            )
            select * from spine
            union all
            select * from spine where hash(row_id, 209) % 2000 = 0
        ) to '{path}' (format parquet)
    """


def prepare_shape(folder: Path, scale: float, warehouse: Path) -> dict:
    """The shaped views (dbt-built tables in ``warehouse``), their contracts and spines:
    {case: (spine path, spine rows, view name, history rows)}."""
    import duckdb

    models = folder / "models"
    models.mkdir(exist_ok=True)
    made = {}
    with duckdb.connect() as con:
        for name, (spine_rows, history_rows, entities) in SIZES.items():
            spine_rows, history_rows = int(spine_rows * scale), int(history_rows * scale)
            entities = int(entities * scale)
            view = f"bench_{name}"
            history = folder / f"{view}_history.parquet"
            spine = folder / f"{view}_spine.parquet"
            started = time.perf_counter()
            con.execute(history_sql(history, history_rows, entities)).fetchall()
            con.execute(spine_sql(spine, spine_rows, history_rows, entities)).fetchall()
            (rows,) = con.execute(f"select count(*) from '{spine}'").fetchone()
            (models / f"{view}.sql").write_text(MODEL_SQL.format(path=history))
            (folder / "feature_defs" / f"{view}.yml").write_text(
                VIEW_YML.format(name=view, ttl=TTL_DAYS))
            made[name] = (str(spine), rows, view, history_rows)
            print(f"  shaped {view}: {history_rows:,} history rows, spine {rows:,} rows "
                  f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    dbt = Path(sys.executable).parent / "dbt"
    started = time.perf_counter()
    subprocess.run([str(dbt), "run", "--project-dir", str(folder), "--profiles-dir",
                    str(folder), "--select", *(made[n][2] for n in made)], check=True,
                   capture_output=True, env={**_env(), "FEATURESTORE_DUCKDB_PATH":
                                             str(warehouse)})
    print(f"  dbt run (materialized='table'): {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return made


def _env() -> dict:
    import os

    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
