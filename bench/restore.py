"""Benchmark of ``featurestore online restore``: a whole online table rebuilt from the
warehouse, as one process, timed from its start to its exit.

    python bench/restore.py [--entities 1000000] [--threads 8]

A project of one online view (3 features per user, ``bench/sync.py``'s first-load view)
over ``--entities`` users in a DuckDB warehouse, and an in-memory DynamoDB Local. The
restore creates its table, rebuilds the serving pointer from the registry (a promotion of
v1 is recorded, so there is one to rebuild) and first-loads every item under the
first-load claim. Prints the wall time, items per second, the items found in the table
afterwards, and the machine's load (``uptime``) before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sync import FIRST_LOAD_VIEW, first_load_project  # noqa: E402
from featurestore.online.config import OnlineConfig  # noqa: E402
from featurestore.online.local import LocalDynamoDB  # noqa: E402


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def record_promotion(env: dict[str, str], root: Path) -> None:
    """A promotion of v1 in the registry's version log: the pointer the restore rebuilds."""
    import datetime as dt

    from featurestore import version_log
    from featurestore.project import Project
    from featurestore.settings import Settings
    from featurestore.version_log import VersionEvent
    from featurestore.warehouse import Warehouse

    project = Project(root, Settings.from_env(root, env))
    with Warehouse(project) as warehouse:
        version_log.record(warehouse, VersionEvent(
            FIRST_LOAD_VIEW, 1, "promote", "bench", "the benchmark's pointer", None,
            at=dt.datetime(2026, 1, 1), event_id="bench-promote"))


def count_items(endpoint: str, table: str) -> int:
    client = OnlineConfig(endpoint=endpoint, read_timeout=300).client()
    # pages of 10,000: one scan of a million items made DynamoDB Local (1 GB of heap)
    # answer InternalFailure
    request, total = {"TableName": table, "Select": "COUNT", "Limit": 10_000}, 0
    while True:
        page = client.scan(**request)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    print(f"load at start: {uptime()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        started = time.perf_counter()
        env = first_load_project(root, args.entities)
        record_promotion(env, root)
        print(f"warehouse of {args.entities:,} entities in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        with LocalDynamoDB(ROOT) as endpoint:
            cli = [sys.executable, "-c", "from featurestore.apps.cli import main; main()"]
            command = [*cli, "--project-dir", str(root), "online", "restore", "--table",
                       "bench_restored", "--no-gate", "--json", "--threads",
                       str(args.threads)]
            run_env = {**env, "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint}
            started = time.perf_counter()
            done = subprocess.run(command, env=run_env, capture_output=True, text=True,
                                  cwd=ROOT)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"restore failed ({done.returncode}):\n{done.stderr[-3000:]}")
            report = json.loads(done.stdout)
            print(f"restore of {args.entities:,} entities: {seconds:.1f} s as a whole "
                  f"process ({args.entities / seconds:,.0f} items/s; the restore's own "
                  f"count {report['seconds']:.1f} s), {report['items']:,} items written, "
                  f"pointers {report['pointers']}, threads {args.threads}", flush=True)
            try:
                found = count_items(endpoint, "bench_restored")
            except Exception as exc:  # the figure above stands; say why there is no count
                print(f"items in the table: not counted ({exc})", flush=True)
            else:
                print(f"items in the table: {found:,} (the features, the serving pointer, "
                      "the sync's markers)", flush=True)
    print(f"load at end: {uptime()}", flush=True)


if __name__ == "__main__":
    main()
