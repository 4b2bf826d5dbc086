"""How the lookup should evaluate on-demand expressions: the three candidates, measured.

    python bench/ondemand_eval.py            # 2,000 requests per candidate
    python bench/ondemand_eval.py --requests 500

Each request evaluates the same 10 expressions (arithmetic, CASE, COALESCE, a date part
in a zone, a haversine distance, string functions) over one row of request fields and
stored features. The candidates:

1. generated: featurestore/ondemand/codegen.py, the checked tree compiled once into one
   generated Python function per expression (what the lookup uses); and closures:
   featurestore/ondemand/evaluate.py's nested closures, one per node (what it used);
2. sqlglot's executor: ``sqlglot.executor.execute`` of a SELECT over a one-row table;
3. DuckDB embedded: one prepared statement over the row's values as parameters.

Printed per candidate: p50 and p99 latency per request (10 expressions; in µs for the
Python candidates), and, from a
fresh interpreter, the import time of what it needs and the size of that package on disk
(what it adds to the Lambda zip, compressed there roughly 3:1 for pure Python, about 2:1
for DuckDB's shared library). docs/request-time.md has the figures and the choice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INPUTS = {"amount": "float64", "avg_amount_30d": "float64", "txn_count_7d": "int64",
          "lat": "float64", "lon": "float64", "home_lat": "float64", "home_lon": "float64",
          "merchant_tz": "string", "event_ts": "timestamp", "country": "string",
          "last_seen_ts": "timestamp"}
EXPRESSIONS = [
    "amount / avg_amount_30d",
    "case when txn_count_7d = 0 then 1.0 else amount / txn_count_7d end",
    "coalesce(avg_amount_30d, 0) + 1",
    "date_part('hour', event_ts, merchant_tz)",
    "haversine_km(lat, lon, home_lat, home_lon)",
    "lower(country) = 'fr'",
    "date_diff('minute', last_seen_ts, event_ts)",
    "round(ln(amount + 1), 3)",
    "clip(amount, 0, 500)",
    "length(country) > 2 and amount > 100",
]
ROW = {"amount": 123.45, "avg_amount_30d": 40.5, "txn_count_7d": 12, "lat": 48.8566,
       "lon": 2.3522, "home_lat": 45.764, "home_lon": 4.8357, "merchant_tz": "Europe/Paris",
       "event_ts": dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), "country": "FR",
       "last_seen_ts": dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC)}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1e3,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3)


def _time(fn, requests: int) -> tuple[float, float]:
    for _ in range(50):
        fn()
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _percentiles(samples)


def generated():
    from featurestore.ondemand import compile_expression

    compiled = [compile_expression(e, INPUTS).evaluate for e in EXPRESSIONS]
    return lambda: [f(ROW) for f in compiled]


def closures():
    from featurestore.ondemand import compile_expression
    from featurestore.ondemand.evaluate import compile_node

    compiled = [compile_node(compile_expression(e, INPUTS).tree) for e in EXPRESSIONS]
    return lambda: [f(ROW) for f in compiled]


def _select(dialect, expressions=EXPRESSIONS) -> str:
    from featurestore.ondemand import compile_expression

    parts = [compile_expression(e, INPUTS).sql(dialect, lambda n: n) for e in expressions]
    return "select " + ", ".join(f"{p} as e{i}" for i, p in enumerate(parts)) + " from t"


def sqlglot_executor():
    """Only the expressions the executor can run at all (it lacks NULLIF, the zone
    conversion, translate...): the count is printed, the latency is of those."""
    from sqlglot.executor import execute

    from featurestore.dialects.duckdb import DuckDB

    row = {k: (v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v)
           for k, v in ROW.items()}
    runnable = []
    for expression in EXPRESSIONS:
        try:
            execute(_select(DuckDB(), [expression]), tables={"t": [row]})
            runnable.append(expression)
        except Exception:  # noqa: BLE001 - the executor's errors have no common class
            pass
    print(f"sqlglot executor runs {len(runnable)} of the {len(EXPRESSIONS)} expressions "
          "(the pinned spellings need functions it lacks)")
    if not runnable:
        raise RuntimeError("none of the expressions runs")
    sql = _select(DuckDB(), runnable)
    return lambda: execute(sql, tables={"t": [row]})


def duckdb_embedded():
    import duckdb

    from featurestore.dialects.duckdb import DuckDB

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    names = list(INPUTS)
    sql = _select(DuckDB()).replace(
        " from t", " from (select " + ", ".join(f"?::{_duck(INPUTS[n])} as {n}"
                                                for n in names) + ") as t")
    values = [ROW[n].replace(tzinfo=None) if isinstance(ROW[n], dt.datetime) else ROW[n]
              for n in names]
    return lambda: con.execute(sql, values).fetchall()


def _duck(dtype: str) -> str:
    return {"float64": "double", "int64": "bigint", "string": "varchar",
            "timestamp": "timestamp"}[dtype]


IMPORTS = {"generated": "featurestore.ondemand", "closures": "featurestore.ondemand.evaluate",
           "sqlglot executor": "sqlglot.executor", "duckdb embedded": "duckdb"}


def _import_ms(module: str) -> float:
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print((time.perf_counter() - t) * 1e3)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                 text=True, check=True, cwd=ROOT).stdout) for _ in range(5)]
    return statistics.median(runs)


def _zipped_mb(distribution: str) -> float:
    """Every file the installed distribution holds (its native library too), deflated
    as the Lambda zip would hold it."""
    import importlib.metadata
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in importlib.metadata.files(distribution) or []:
            path = Path(file.locate())
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, str(file))
    return buffer.tell() / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", choices=["generated", "closures", "sqlglot executor",
                                           "duckdb embedded"])
    args = parser.parse_args()
    print(f"{len(EXPRESSIONS)} expressions per request, {args.requests} requests")
    candidates = {"generated": generated, "closures": closures,
                  "sqlglot executor": sqlglot_executor, "duckdb embedded": duckdb_embedded}
    for name, build in candidates.items():
        if args.only and name != args.only:
            continue
        try:
            evaluate = build()
            p50, p99 = _time(evaluate, args.requests if name != "sqlglot executor"
                             else max(50, args.requests // 20))
            latency = (f"p50 {p50 * 1e3:.1f} µs  p99 {p99 * 1e3:.1f} µs"
                       if name in ("generated", "closures") else
                       f"p50 {p50:.3f} ms  p99 {p99:.3f} ms")
        except Exception as exc:  # the executor lacks some functions: say which
            latency = f"cannot run the subset: {type(exc).__name__}: {str(exc)[:80]}"
        module = IMPORTS[name]
        size = ("(featurestore's own modules)" if name in ("generated", "closures")
                else f"{_zipped_mb(module.split('.')[0]):.1f} MB zipped")
        print(f"{name:17} {latency}; import {_import_ms(module):.0f} ms; {size}")


if __name__ == "__main__":
    main()
