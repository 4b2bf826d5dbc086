"""Benchmark of freshness end to end: from an event's file landing to the lookup answering
with it, while `featurestore run` cycles and new events keep arriving.

    python bench/freshness.py [--users 20000] [--days 60] [--rate 200] [--minutes 10]
                              [--every 15]

In a temporary folder, with its own in-memory DynamoDB Local:

1. the demo history (``--users`` over ``--days`` ending now) is landed, ingested, built
   and synced, as `make demo` would (each step timed);
2. `featurestore run --every <every>s` starts, as its own process, gates on;
3. the stream generator drops ``--rate`` events/s (one file a second; 5% late by hours to
   days, 1% exact repeats) for ``--minutes``;
4. a prober watches every file land (its mtime is the landing time) and asks the lookup,
   as the endpoint does (``service.lookup`` over DynamoDB), for the keys of a sample of the
   file's on-time events in each view the events feed, until the answer's ``feature_ts``
   reaches the event: that wait is the event-to-online lag;
5. when the stream stops and the last files are served, the loop gets SIGTERM.

It prints the lag per view (p50, p99, max, how many probes), the loop's cycles (stages,
rows, items), whether every landed event is in the warehouse (files, rows and distinct
transaction ids, landed against loaded), then a full rebuild (`build --full-refresh`) and
its time beside the loop's incremental builds, and the parity of every online item with
the rebuilt tables (all entities, not a sample).

Targets (issue 9): lag p99 under 60 s per view; every event accounted for; the online
values equal a full rebuild; an incremental cycle's build at most 5% of a full build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurestore.demo_data import generate  # noqa: E402
from featurestore.demo_stream import stream  # noqa: E402
from featurestore.online.client import ensure_table  # noqa: E402
from featurestore.online.config import OnlineConfig  # noqa: E402
from featurestore.online.dynamodb import DynamoDBStore  # noqa: E402
from featurestore.online.local import LocalDynamoDB  # noqa: E402
from featurestore.online.retry import LOOKUP_RETRY  # noqa: E402

CLI = [sys.executable, "-c", "from featurestore.apps.cli import main; main()",
       "--project-dir", str(ROOT)]
TABLE = "fs_bench_freshness"
PROBES_PER_FILE = 5  # on-time events per file and view whose keys the prober follows
ON_TIME_S = 600  # an event within 10 minutes of its landing is on time; older ones are late
POLL_S = 0.25
# the views transactions feed, their entity, and the key columns of a transaction row
VIEWS = {
    "user_transactions": ("user", ("user_id",)),
    "merchant_risk": ("merchant", ("merchant_id",)),
    "device_seen_before": ("user_device", ("user_id", "device_id")),
}


def say(line: str) -> None:
    print(line, flush=True)


def environment(base: Path, endpoint: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")}
    return {**keep, "FEATURESTORE_LANDING_DIR": str(base / "landing"),
            "FEATURESTORE_DUCKDB_PATH": str(base / "warehouse" / "demo.duckdb"),
            "DBT_TARGET_PATH": str(base / "target"),
            "FEATURESTORE_SERVING_LOG_DIR": str(base / "serving_log"),
            "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint, "FEATURESTORE_ONLINE_TABLE": TABLE,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false"}


def step(env: dict, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"featurestore {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Prober:
    """Follows landed files and measures when the lookup first answers with each sampled
    event; runs on its own thread until ``stop`` is set and nothing is pending."""

    def __init__(self, folder: Path, catalog, reader: DynamoDBStore):
        self.folder = folder
        self.catalog = catalog
        self.reader = reader
        self.seen: set[str] = set()
        self.files: list[tuple[str, float, int]] = []  # name, landed (epoch s), rows
        self.pending: list[dict] = []
        self.lags: dict[str, list[float]] = {view: [] for view in VIEWS}
        self.stop = threading.Event()
        self.drain_until = float("inf")
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not (self.stop.is_set() and (not self.pending
                                           or time.time() > self.drain_until)):
            self.watch()
            self.ask()
            time.sleep(POLL_S)

    def watch(self) -> None:
        import pyarrow.parquet as pq

        for path in sorted(self.folder.glob("stream-*.parquet")):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            landed = path.stat().st_mtime
            table = pq.read_table(path)
            self.files.append((path.name, landed, table.num_rows))
            rows = [r for r in table.to_pylist()
                    if landed - r["transacted_at"].replace(tzinfo=dt.UTC).timestamp()
                    < ON_TIME_S]
            for view, (entity, keys) in VIEWS.items():
                for row in rows[:PROBES_PER_FILE]:
                    self.pending.append({
                        "view": view, "entity": entity, "landed": landed,
                        "key": {k: row[k] for k in keys},
                        "event_us": _micros(row["transacted_at"])})

    def ask(self) -> None:
        from featurestore.lookup import service

        by_entity: dict[str, list[dict]] = {}
        for probe in self.pending:
            by_entity.setdefault(probe["view"], []).append(probe)
        answered_at = time.time()
        done = []
        for view, probes in by_entity.items():
            feature = f"{view}:{self.catalog.views[view].feature_names[0]}"
            for start in range(0, len(probes), service.MAX_KEYS):
                chunk = probes[start:start + service.MAX_KEYS]
                request = service.entity_request(self.catalog, chunk[0]["entity"],
                                                 [p["key"] for p in chunk], [feature])
                outcome = service.lookup([request], self.reader)
                if outcome.degraded:
                    continue
                for probe, row in zip(chunk, outcome.results[0], strict=True):
                    served = row["features"][feature]["feature_ts"]
                    if served is not None and _iso_micros(served) >= probe["event_us"]:
                        self.lags[view].append(answered_at - probe["landed"])
                        done.append(id(probe))
        finished = set(done)
        self.pending = [p for p in self.pending if id(p) not in finished]


def _micros(value: dt.datetime) -> int:
    from featurestore.online.items import to_epoch_micros

    return to_epoch_micros(value)


def _iso_micros(text: str) -> int:
    return _micros(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))


def accounting(env: dict, files: list[tuple[str, float, int]], landing: Path) -> dict:
    """Landed against loaded: stream files, their rows, and distinct transaction ids."""
    import duckdb
    import pyarrow.dataset as ds

    landed_ids = ds.dataset(str(landing / "transactions"), format="parquet").to_table(
        columns=["transaction_id"]).column("transaction_id")
    with duckdb.connect(env["FEATURESTORE_DUCKDB_PATH"], read_only=True) as con:
        loaded_files, loaded_rows, quarantined = con.execute(
            "select count(*) filter (where status = 'loaded'), "
            "coalesce(sum(rows) filter (where status = 'loaded'), 0), "
            "count(*) filter (where status = 'quarantined') "
            "from featurestore.ingested_files where name like 'stream-%'").fetchone()
        (staged,) = con.execute("select count(distinct transaction_id) "
                                "from main.stg_demo__transactions").fetchone()
    import pyarrow.compute as pc

    return {"files_landed": len(files), "files_loaded": loaded_files,
            "files_quarantined": quarantined, "rows_landed": sum(r for _, _, r in files),
            "rows_loaded": loaded_rows,
            "distinct_ids_landed": len(pc.unique(landed_ids)), "distinct_ids_staged": staged}


def cycles(env: dict) -> list[dict]:
    import duckdb

    with duckdb.connect(env["FEATURESTORE_DUCKDB_PATH"], read_only=True) as con:
        rows = con.execute("select * from featurestore.loop_cycles order by started_at")
        names = [c[0] for c in rows.description]
        return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def parity(env: dict, catalog, client) -> dict[str, tuple[int, int, int]]:
    """view -> (entities compared, missing items, mismatched values): every entity."""
    from featurestore.gates.parity import parity_metrics
    from featurestore.project import Project
    from featurestore.settings import Settings
    from featurestore.warehouse import Warehouse

    os.environ.update(env)
    project = Project(ROOT, settings=Settings.from_env())
    out = {}
    with Warehouse(project, read_only=True) as warehouse:
        for view in VIEWS:
            report = parity_metrics(warehouse, DynamoDBStore.over(client, TABLE),
                                    catalog.views[view], sample=10**9)
            out[view] = (report.sampled, len(report.missing), len(report.mismatches))
            for line in report.detail_lines()[1:6]:
                say(f"  {line}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=int, default=15, help="the loop's cycle, seconds")
    args = parser.parse_args()
    say(f"machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.python_implementation()} {platform.python_version()}")

    from featurestore.contracts import load_catalog

    catalog = load_catalog(ROOT / "feature_defs")
    with tempfile.TemporaryDirectory(prefix="fs-bench-freshness-") as tmp, \
            LocalDynamoDB(ROOT) as endpoint:
        base = Path(tmp)
        env = environment(base, endpoint)
        client = OnlineConfig(endpoint=endpoint).client()
        ensure_table(client, TABLE, ttl=False)
        started = time.perf_counter()
        history = generate(base / "landing", users=args.users, days=args.days, seed=7,
                           end=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
        say(f"history: {args.users:,} users over {args.days} days "
            f"({time.perf_counter() - started:.1f} s to write) {history}")
        timings = {"ingest": step(env, "ingest"),
                   "build": step(env, "build", "--quiet"),
                   "sync (first load)": step(env, "sync", "--no-gate")}
        say("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

        log_path = base / "loop.log"
        with open(log_path, "w") as log:
            loop = subprocess.Popen([*CLI, "run", "--every", f"{args.every}s"], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
        reader = DynamoDBStore.over(OnlineConfig(endpoint=endpoint).client(), TABLE,
                                    deadline_s=2.0, retry=LOOKUP_RETRY)
        prober = Prober(base / "landing" / "transactions", catalog, reader)
        prober.thread.start()
        say(f"streaming {args.rate:.0f} events/s for {args.minutes:g} min, the loop every "
            f"{args.every} s")
        stop_at = time.time() + args.minutes * 60
        ticker = threading.Thread(target=_progress, args=(prober, stop_at), daemon=True)
        ticker.start()
        stats = stream(base / "landing", rate=args.rate, every=1.0,
                       duration=args.minutes * 60, seed=17)
        say(f"stream done: {stats.files} files, {stats.events:,} events "
            f"({stats.late:,} late, {stats.duplicates:,} repeats)")
        prober.drain_until = time.time() + 4 * args.every + 60
        prober.stop.set()
        prober.thread.join()
        loop.send_signal(signal.SIGTERM)
        loop.wait(timeout=600)
        say(f"loop stopped (exit {loop.returncode})")

        say("\nevent-to-online lag (file landed -> the lookup answers with the event):")
        say(f"{'view':22} {'probes':>7} {'p50 s':>7} {'p99 s':>7} {'max s':>7} "
            f"{'unserved':>9}")
        unserved = {view: 0 for view in VIEWS}
        for probe in prober.pending:
            unserved[probe["view"]] += 1
        for view, lags in prober.lags.items():
            if lags:
                say(f"{view:22} {len(lags):7,} {percentile(lags, 0.5):7.1f} "
                    f"{percentile(lags, 0.99):7.1f} {max(lags):7.1f} {unserved[view]:9,}")
            else:
                say(f"{view:22} no probe answered; {unserved[view]} unserved")

        loop_cycles = [c for c in cycles(env) if c["status"] == "ok" and c["files"]]
        say(f"\nloop: {len(cycles(env))} cycles recorded, {len(loop_cycles)} with new files")
        for stage in ("ingest", "build", "gate", "sync"):
            values = [c[f"{stage}_seconds"] or 0.0 for c in loop_cycles]
            if values:
                say(f"  {stage:7} p50 {statistics.median(values):6.2f} s, "
                    f"max {max(values):6.2f} s")
        if loop_cycles:
            say(f"  events per cycle p50 "
                f"{statistics.median(c['events'] for c in loop_cycles):,.0f}; items written "
                f"per cycle p50 {statistics.median(c['items_written'] for c in loop_cycles):,.0f}")

        counts = accounting(env, prober.files, base / "landing")
        say("\naccounting: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        whole = (counts["files_landed"] == counts["files_loaded"]
                 and counts["rows_landed"] == counts["rows_loaded"]
                 and counts["distinct_ids_landed"] == counts["distinct_ids_staged"])
        say(f"every landed event in the warehouse: {'yes' if whole else 'NO'}")

        full = step(env, "build", "--quiet", "--full-refresh", "--select", "features")
        builds = [c["build_seconds"] for c in loop_cycles if c["build_seconds"]]
        say(f"\nfull rebuild of the feature models: {full:.1f} s; an incremental cycle's "
            f"build p50 {statistics.median(builds):.2f} s "
            f"({statistics.median(builds) / full:.1%} of it, whole `dbt build` process)"
            if builds else f"\nfull rebuild: {full:.1f} s")
        say("online items against the rebuilt tables (every entity):")
        for view, (compared, missing, mismatched) in parity(env, catalog, client).items():
            say(f"  {view:22} {compared:9,} compared, {missing:,} missing, "
                f"{mismatched:,} mismatched")
        say(f"\nloop log: last lines\n{_tail(log_path)}")


def _progress(prober: Prober, stop_at: float) -> None:
    while time.time() < stop_at:
        time.sleep(30)
        served = {view: len(lags) for view, lags in prober.lags.items()}
        recent = [lag for lags in prober.lags.values() for lag in lags[-200:]]
        say(f"  {len(prober.files)} files landed, probes served {json.dumps(served)}, "
            f"{len(prober.pending)} pending"
            + (f", recent lag p50 {percentile(recent, 0.5):.1f} s" if recent else ""))


def _tail(path: Path, lines: int = 5) -> str:
    return "\n".join(path.read_text().splitlines()[-lines:])


if __name__ == "__main__":
    main()
