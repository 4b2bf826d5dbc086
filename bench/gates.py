"""Benchmark: every gate suite over benchmark-size feature tables.

Builds ~5,000,000 feature rows directly in DuckDB (bench/feature_tables.py), a training
set and a serving log for the skew suite, starts DynamoDB Local and loads the items of
the 10,000 entities the parity suite samples; then times each suite (the one-time GX
import is counted in the first) and the whole gate, and prints peak memory.

    python bench/gates.py [--users 64000] [--hours 48] [--parity-sample 10000]

Targets (2 cores): the whole gate under 60 s; parity for 10,000 entities under 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from bench.feature_tables import create_feature_tables  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_skew_inputs(warehouse, view, folder: Path, end: dt.datetime, rows: int,
                      lines: int) -> Path:
    """A training set (Parquet + manifest) and a serving log drawn from the feature table."""
    columns = ", ".join(f"{f.name} as {view.name}__{f.name}" for f in view.features)
    training = folder / "train.parquet"
    warehouse.execute(f"copy (select {columns} from main.{view.source} using sample "
                      f"{rows} rows (reservoir, 7)) to '{training}' (format parquet)").fetchall()
    manifest = {"views": [{"name": view.name, "version": view.version, "features": [
        {"name": f.name, "column": f"{view.name}__{f.name}", "dtype": f.dtype}
        for f in view.features]}]}
    training.with_name(training.name + ".manifest.json").write_text(json.dumps(manifest))
    served = warehouse.fetch_arrow(
        f"select * from main.{view.source} using sample {lines} rows (reservoir, 11)"
    ).to_pylist()
    log = folder / "serving_log"
    log.mkdir()
    stamp = (end - dt.timedelta(minutes=5)).isoformat() + "Z"
    with (log / "bench.jsonl").open("w") as out:
        for index, row in enumerate(served):
            features = {f"{view.name}:{f.name}": {"value": row[f.name], "feature_ts": stamp,
                                                  "status": "PRESENT"} for f in view.features}
            out.write(json.dumps({"ts": stamp, "request_id": str(index), "model": None,
                                  "entity": view.entity.name,
                                  "key": {k: row[k] for k in view.keys},
                                  "features": features}) + "\n")
    return training


def load_parity_items(warehouse, client, table, view, sample: int) -> int:
    """Write the sampled entities' latest rows as the sync would (BatchWriteItem)."""
    from featurestore.gates.parity import sample_sql
    from featurestore.online.items import encode_item

    rows = warehouse.fetch_arrow(sample_sql(warehouse, view, sample,
                                            dt.datetime.now(dt.UTC).replace(tzinfo=None))
                                 ).to_pylist()
    items = [encode_item(view, row, 1) for row in rows]

    def write(chunk):
        request = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, [items[i:i + 25] for i in range(0, len(items), 25)]))
    return len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=64_000)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--merchants", type=int, default=5_000)
    parser.add_argument("--parity-sample", type=int, default=10_000)
    parser.add_argument("--training-rows", type=int, default=500_000)
    parser.add_argument("--serving-lines", type=int, default=50_000)
    args = parser.parse_args()

    from featurestore.gates.runner import GateOptions, run_gates
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig
    from featurestore.online.local import LocalDynamoDB
    from featurestore.project import Project
    from featurestore.warehouse import Warehouse

    workdir = Path(tempfile.mkdtemp(prefix="bench-gates-"))
    root = workdir / "project"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO_ROOT / name, root / name)
    os.environ.pop("FEATURESTORE_DUCKDB_PATH", None)
    end = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    project = Project(root)
    catalog = project.catalog()
    dynamodb = LocalDynamoDB(REPO_ROOT)
    try:
        endpoint = dynamodb.start()
        os.environ["FEATURESTORE_DYNAMODB_ENDPOINT"] = endpoint
        os.environ["FEATURESTORE_ONLINE_TABLE"] = "bench_gates"
        client = OnlineConfig(endpoint=endpoint).client(max_pool_connections=16)
        ensure_table(client, "bench_gates")
        with Warehouse(project) as warehouse:
            started = time.perf_counter()
            counts = create_feature_tables(warehouse.connection, end, users=args.users,
                                           merchants=args.merchants, hours=args.hours)
            total = sum(counts.values())
            print(f"setup: {total:,} feature rows in {time.perf_counter() - started:.1f} s "
                  f"({', '.join(f'{m} {n:,}' for m, n in counts.items())})")
            view = catalog.view("user_transactions")
            started = time.perf_counter()
            training = write_skew_inputs(warehouse, view, workdir, end, args.training_rows,
                                         args.serving_lines)
            loaded = sum(load_parity_items(warehouse, client, "bench_gates", online,
                                           args.parity_sample)
                         for online in catalog.views.values() if online.online)
            print(f"setup: training set {args.training_rows:,} rows, serving log "
                  f"{args.serving_lines:,} lines, {loaded:,} DynamoDB items in "
                  f"{time.perf_counter() - started:.1f} s")

            print(f"peak memory before the gate: {peak_mib():,.0f} MiB")
            timings = {}
            whole = time.perf_counter()
            for suite, views in (("freshness", list(catalog.views.values())),
                                 ("quality", list(catalog.views.values())),
                                 ("parity", [view]), ("skew", [view])):
                options = GateOptions(suites=(suite,), training_set=training,
                                      serving_log=workdir / "serving_log",
                                      parity_sample=args.parity_sample,
                                      docs_dir=workdir / "data_docs")
                started = time.perf_counter()
                run = run_gates(project, warehouse, views, options, progress=lambda _: None)
                timings[suite] = time.perf_counter() - started
                failed = [c.failure_line() for c in run.checks if not c.passed]
                print(f"{suite:<10} {len(views)} view(s) {len(run.checks):>3} expectations "
                      f"{timings[suite]:6.2f} s  peak RSS {peak_mib():,.0f} MiB"
                      f"{'  FAILED: ' + '; '.join(failed) if failed else ''}")
            print(f"gate, suites one after another: {time.perf_counter() - whole:.2f} s "
                  "(first suite includes importing Great Expectations)")
            options = GateOptions(suites=("freshness", "quality", "parity", "skew"),
                                  training_set=training, serving_log=workdir / "serving_log",
                                  parity_sample=args.parity_sample,
                                  docs_dir=workdir / "data_docs")
            started = time.perf_counter()
            run = run_gates(project, warehouse, list(catalog.views.values()), options,
                            progress=lambda _: None)
            print(f"whole gate in one run (all 4 views, parity on every online view with "
                  f"sample {args.parity_sample:,}): {time.perf_counter() - started:.2f} s, "
                  f"{len(run.checks)} expectations, passed={run.passed}; per suite: "
                  + ", ".join(f"{s} {t:.2f} s" for s, t in run.timings.items()))
            print(f"peak memory: {peak_mib():,.0f} MiB; Data Docs: {run.docs_path}")
    finally:
        dynamodb.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
