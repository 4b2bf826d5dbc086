"""Rolling-window feature models: a full build before and after, and an incremental cycle.

Prints figures, asserts nothing (speed lives here, never in timed tests). The demo's data
(`featurestore demo-data`: 20,000 users x 60 days, seed 42, ending 2026-05-01) is
generated and ingested once; then, per variant, a copy of that warehouse and of the dbt
project (macros/, models/, dbt_project.yml, profiles.yml) at a git revision:

  before   BEFORE_REV: one RANGE frame per aggregate, table models
  after    the working tree: prefix sums looked up by index, incremental models
  capped   after with the settings FEATURESTORE_DUCKDB_MEMORY_LIMIT=``--memory-limit``
           gives a DuckDB target, built in the same run: the times compare under one load
  buckets  after with ``--partitions`` buckets of entities (the project's
           featurestore_rolling_partitions var), capped by ``--memory-limit`` if given
           (with ``--partitions``, the limit caps this variant only: no 'capped').
           Comma-separated lists of --partitions, --memory-limit and --threads (dbt's
           threads: how many models build at once under the one cap) give one such
           build per combination, labelled p<n>-<limit>-t<threads>, each printed as
           it finishes; --skip-after leaves out the unbounded build (one too large to
           run unbounded on this machine)

Each case is `dbt run` of the four feature models as a whole process (dbt's start-up
included), with its wall time, its CPU time (user + system, all threads) and its peak RSS
(``wait4``, from a small launcher: bench/child_usage.py says why), and each model's own
time from dbt's run_results.json. The best of ``--repeat`` runs is shown (the machine is
shared: CPU time moves less than wall time).

Then incremental cycles (after only): 0.1% new transactions land in raw.transactions
(most just after the horizon, 5% hours to days late, 2% exact repeats of landed rows, the
repeats stamped later as ingest stamps them), `dbt run` of the same models runs
incrementally, and its cost is set against the full build; a cycle with nothing new shows
dbt's own floor. A `--full-refresh` of a copy then checks the incremental tables against
a rebuild, row for row. The same again with the two deduplicating staging views made
incremental tables (STAGING_PROPOSAL, written into the copy only): every read of a view
deduplicates the whole raw table, which an incremental cycle cannot avoid otherwise.

    python bench/rolling_windows.py                     # 20,000 users (a few minutes)
    python bench/rolling_windows.py --users 200000      # ten times as many
    python bench/rolling_windows.py --quick             # 2,000 users
    python bench/rolling_windows.py --users 200000 --skip-before --cycles 0 --memory-limit 1GB
    python bench/rolling_windows.py --users 200000 --skip-before --cycles 0 --repeat 1 \
        --skip-sql --partitions 32 --memory-limit 1500MB --keep /tmp/rolling-200k
    python bench/rolling_windows.py --users 200000 --skip-before --cycles 0 --repeat 1 \
        --skip-sql --partitions 16,32 --memory-limit 1600MB --threads 1,2
    python bench/rolling_windows.py --users 200000 --skip-before --cycles 0 --repeat 1 \
        --skip-sql --partitions 64 --memory-limit 1400MB --threads 1 --statements 1,0
        # the documented setting (one statement per bucket) beside the one statement
    python bench/rolling_windows.py --users 620000 --skip-before --skip-after --cycles 0 \
        --repeat 1 --skip-sql --partitions 64 --memory-limit 1400MB --threads 1 \
        --statements 1   # 20.0M events
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import child_usage  # bench/, beside this script
from project_files import DUCKDB_THREADS, cap_memory
from rolling_data import land_new_events, same_tables

ROOT = Path(__file__).resolve().parents[1]
# The last commit with the RANGE-frame body and table-materialized feature models.
BEFORE_REV = "820a0e53528bce6dd79c1335737120e9da26b66e"
MODELS = ("fs_user__transactions", "fs_merchant__risk", "fs_user__profile",
          "fs_user_device__seen")
UNIQUE_KEYS = {"fs_user__transactions": ["user_id", "feature_ts"],  # as dbt_project.yml
               "fs_merchant__risk": ["merchant_id", "feature_ts"],
               "fs_user__profile": ["user_id", "feature_ts"],
               "fs_user_device__seen": ["user_id", "device_id", "feature_ts"]}
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "macros", "models", "tests/dbt")
END = dt.datetime(2026, 5, 1)
DBT = Path(sys.executable).parent / "dbt"


def _env(database: Path, target: Path) -> dict[str, str]:
    return {"FEATURESTORE_DUCKDB_PATH": str(database), "DBT_TARGET_PATH": str(target),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
            "FEATURESTORE_TARGET": "duckdb",
            # the bench writes the cap's settings itself (cap_memory): the profile's
            # threads stay 2 unless --threads, whatever the caller's environment says
            "FEATURESTORE_DUCKDB_MEMORY_LIMIT": ""}


def prepare(folder: Path, users: int, days: int) -> dict:
    """Generate the landing files and ingest them into base.duckdb; rows per table."""
    from featurestore.dbt_runner import run_dbt
    from featurestore.demo_data import generate
    from featurestore.ingest import ingest
    from featurestore.project import Project

    landing, base = folder / "landing", folder / "base.duckdb"
    rows = generate(landing, users=users, days=days, seed=42, end=END)
    env = {**_env(base, folder / "target-base"), "FEATURESTORE_LANDING_DIR": str(landing)}
    with mock.patch.dict(os.environ, env):  # put back as it was when the block ends
        run_dbt(Project(ROOT), ["parse", "--log-path", str(folder / "logs")])
        ingest(Project(ROOT))
    return rows


def checkout(rev: str | None, into: Path) -> Path:
    """The dbt project at ``rev`` (None: the working tree) in ``into``."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    if rev is None:
        for name in PROJECT_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
                continue
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, into / name)
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *PROJECT_FILES],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def dbt(project: Path, database: Path, args: list[str]) -> dict:
    """One dbt process: wall, CPU and peak RSS, and the seconds of each model it ran."""
    target = project / "target"
    argv = [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project),
            "--log-path", str(project / "logs"), "--no-use-colors"]
    result = child_usage.run(argv, _env(database, target), merge=True)
    seconds, output = result["seconds"], result["stdout"]
    figures = {"wall": seconds, "cpu": result["cpu_seconds"],
               "peak_rss_mib": result["peak_rss_bytes"] / 2**20}
    if result["returncode"] != 0:
        # a build that runs out of memory is a figure too: how far it got, at what peak
        raise SystemExit(f"dbt {' '.join(args)} failed after {seconds:.0f} s wall, "
                         f"{figures['cpu']:.0f} s CPU, peak RSS "
                         f"{figures['peak_rss_mib']:.0f} MiB:\n{output[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())
    return {**figures, "models": {r["unique_id"].rsplit(".", 1)[-1]: r["execution_time"]
                                  for r in results["results"]}}


def full_build(project: Path, database: Path, repeat: int,
               staging_tables: bool = False, sql: bool = True) -> dict:
    """The feature models built from scratch, best of ``repeat`` (worst memory); with
    ``staging_tables`` the staging tables they read are built in the same run; ``sql``:
    also time each model's compiled SQL alone."""
    select = ["staging", *MODELS] if staging_tables else list(MODELS)
    dbt(project, database, ["run", "--select", "staging"])
    runs = [dbt(project, database, ["run", "--full-refresh", "--select", *select])
            for _ in range(repeat)]
    figures = best(runs)
    if not sql:
        return figures
    queries = compiled(project)
    figures["sql"] = min((sql_seconds(database, queries, incremental=False)
                          for _ in range(repeat)), key=lambda r: sum(r.values()))
    return figures


def set_partitions(project: Path, partitions: int, statements: bool = False) -> None:
    """The project copy's rolling windows in ``partitions`` buckets of entities, in one
    statement each if ``statements`` (featurestore_rolling_statements)."""
    path = project / "dbt_project.yml"
    text = path.read_text()
    if "\nvars:" in text:
        raise SystemExit(f"{path}: has vars already; add featurestore_rolling_partitions")
    path.write_text(text + f"\nvars:\n  featurestore_rolling_partitions: {partitions}\n"
                    f"  featurestore_rolling_statements: {str(statements).lower()}\n")


def set_threads(project: Path, threads: int) -> None:
    """The project copy's DuckDB target building ``threads`` models at once."""
    path = project / "profiles.yml"
    text = path.read_text()
    if DUCKDB_THREADS not in text:
        raise SystemExit(f"{path}: no `{DUCKDB_THREADS.strip()}` line of the duckdb output "
                         "to change")
    path.write_text(text.replace(DUCKDB_THREADS, f"      threads: {threads}\n", 1))


def compiled(project: Path) -> dict[str, str]:
    """The SQL dbt compiled last for each feature model."""
    root = project / "target" / "compiled" / "featurestore" / "models" / "features"
    return {path.stem: path.read_text() for path in root.rglob("fs_*.sql")}


def sql_seconds(database: Path, queries: dict[str, str], incremental: bool) -> dict:
    """The warehouse's own work, without dbt: each model's compiled SQL on a copy of the
    warehouse, one after the other (2 DuckDB threads, as dbt's profile sets), as a table
    (full) or as dbt's delete+insert (incremental). Seconds per model."""
    import duckdb

    copy = database.with_name(database.stem + "-sql.duckdb")
    shutil.copy(database, copy)
    seconds = {}
    try:
        with duckdb.connect() as con:
            con.execute(f"attach '{copy}' as \"{database.stem}\"")
            con.execute(f"use \"{database.stem}\"")
            con.execute("set threads = 2")
            for model in MODELS:
                started = time.perf_counter()
                con.execute(f"create temp table new_rows as {queries[model]}")
                if incremental:
                    match = " and ".join(f"new_rows.{k} = target.{k}" for k in UNIQUE_KEYS[model])
                    con.execute(f"delete from main.{model} as target using new_rows "
                                f"where {match}")
                    con.execute(f"insert into main.{model} select * from new_rows")
                con.execute("drop table new_rows")
                seconds[model] = time.perf_counter() - started
    finally:
        copy.unlink(missing_ok=True)
    return seconds


def best(runs: list[dict]) -> dict:
    return {"wall": min(r["wall"] for r in runs), "cpu": min(r["cpu"] for r in runs),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "models": {m: min(r["models"][m] for r in runs) for m in runs[0]["models"]}}


# The staging views that deduplicate (keep a repeated row's first landing), as incremental
# tables: a run appends the rows landed since its max(loaded_at) whose id it does not hold
# yet, first landing first. The same rows as the view while loaded_at grows with arrival.
STAGING_PROPOSAL = """{{{{ config(materialized='incremental', incremental_strategy='append') }}}}
"""
STAGING_FILTER = """
    {{% if is_incremental() %}}
    where loaded_at > (select max(loaded_at) from {{{{ this }}}})
        and {key} not in (select {key} from {{{{ this }}}})
    {{% endif %}}
    qualify row_number() over (partition by {key} order by"""


def incremental_staging(project: Path) -> None:
    """Rewrite the project copy's deduplicating staging views as incremental tables."""
    for name, key in (("stg_demo__transactions", "transaction_id"),
                      ("stg_demo__chargebacks", "transaction_id")):
        path = project / "models" / "staging" / f"{name}.sql"
        text = path.read_text()
        marker = f"\n    qualify row_number() over (partition by {key} order by"
        if marker not in text:
            raise SystemExit(f"{path}: no `{marker.strip()}` to make incremental")
        path.write_text(STAGING_PROPOSAL.format() + text.replace(
            marker, STAGING_FILTER.format(key=key)))


def show_build(label: str, figures: dict) -> None:
    models = ", ".join(f"{m.removeprefix('fs_')} {s:.2f}" for m, s in figures["models"].items())
    print(f"  {label:<13} process {figures['wall']:6.2f} s wall, {figures['cpu']:6.2f} s CPU, "
          f"peak RSS {figures['peak_rss_mib']:6.0f} MiB; models: sum "
          f"{sum(figures['models'].values()):.2f} s ({models})")
    if "sql" in figures:
        print(f"  {'':<13} feature SQL alone (one at a time, no dbt): "
              f"{sum(figures['sql'].values()):.2f} s ("
              + ", ".join(f"{m.removeprefix('fs_')} {s:.2f}" for m, s in figures["sql"].items())
              + ")")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="2,000 users")
    parser.add_argument("--repeat", type=int, default=3, help="full builds per variant")
    parser.add_argument("--cycles", type=int, default=3, help="incremental cycles")
    parser.add_argument("--share", type=float, default=0.001,
                        help="new events per cycle, as a share of the transactions")
    parser.add_argument("--before", default=BEFORE_REV, help="git revision of 'before'")
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in (and reuse the data of) this folder")
    parser.add_argument("--memory-limit", default=None,
                        help="also build 'after' capped at this DuckDB memory_limit (with "
                        "--partitions, a comma-separated list: one 'buckets' build each)")
    parser.add_argument("--partitions", type=_numbers, default=None,
                        help="also build 'after' in this many buckets of entities (a "
                        "comma-separated list: one 'buckets' build each)")
    parser.add_argument("--skip-sql", action="store_true",
                        help="time the dbt builds only, not each model's SQL alone")
    parser.add_argument("--statements", type=_numbers, default=None,
                        help="1: 'buckets' in one statement per bucket "
                        "(featurestore_rolling_statements), 0: in one statement; '0,1': "
                        "one build each")
    parser.add_argument("--skip-after", action="store_true",
                        help="build 'buckets' only (a build too large to run unbounded)")
    parser.add_argument("--threads", type=_numbers, default=None,
                        help="dbt threads of 'capped' and 'buckets' (the profile's: 2; a "
                        "comma-separated list: one build each)")
    args = parser.parse_args()
    child_usage.start()  # before the data is generated in this process
    users = 2_000 if args.quick else args.users
    with tempfile.TemporaryDirectory(prefix="rolling_bench_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / f"data-{users}x{args.days}.json"
        if not marker.exists():
            print(f"generating and ingesting {users:,} users x {args.days} days in {folder}",
                  file=sys.stderr)
            marker.write_text(json.dumps(prepare(folder, users, args.days)))
        rows = json.loads(marker.read_text())
        print(f"rolling windows: {users:,} users x {args.days} days: "
              f"{rows['transactions']:,} transactions, {rows['chargebacks']:,} chargebacks "
              f"(DuckDB, dbt threads 2, {os.cpu_count()} cores)")
        builds = {}
        for label, rev, setting in variants(args):
            project = checkout(rev, folder / f"project-{label}")
            if setting.get("limit"):
                cap_memory(project, setting["limit"])
            if setting.get("partitions"):
                set_partitions(project, setting["partitions"], bool(setting["statements"]))
            if setting.get("threads"):
                set_threads(project, setting["threads"])
            database = folder / f"{label}.duckdb"
            shutil.copy(folder / "base.duckdb", database)
            load = os.getloadavg()[0]
            builds[label] = full_build(project, database, args.repeat, sql=not args.skip_sql)
            show_build(label, builds[label])
            print(f"  {'':<13} load average {load:.1f} before, {os.getloadavg()[0]:.1f} after",
                  flush=True)
            if args.cycles == 0:  # only 'after' is built upon, by the cycles
                database.unlink()
        print(f"full build of {', '.join(MODELS)} (best of {args.repeat}), together:")
        for label, figures in builds.items():
            show_build(label, figures)
        if "before" in builds:
            b, a = builds["before"], builds["after"]
            print(f"  speed-up: {sum(b['models'].values()) / sum(a['models'].values()):.1f}x "
                  f"model time, {b['cpu'] / a['cpu']:.1f}x process CPU, "
                  f"{b['wall'] / a['wall']:.1f}x process wall")

        for label in builds:
            if label not in ("after", "before") and "after" in builds:
                ratios = [builds[label][k] / builds["after"][k] for k in ("wall", "cpu",
                                                                            "peak_rss_mib")]
                print(f"  {label}: " + "{:.2f}x the wall time, {:.2f}x the CPU, {:.2f}x the "
                      "peak RSS of after".format(*ratios))
        if args.cycles == 0:
            return
        cycles(folder / "project-after", folder / "after.duckdb", builds["after"], args,
               "as shipped (staging views)")
        project = checkout(None, folder / "project-staging")
        incremental_staging(project)
        database = folder / "staging.duckdb"
        shutil.copy(folder / "base.duckdb", database)
        staged = full_build(project, database, args.repeat, staging_tables=True)
        show_build("full", staged)
        cycles(project, database, staged, args, "with incremental staging (a proposal)",
               staging_tables=True)


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def variants(args) -> list[tuple[str, str | None, dict]]:
    """(label, git revision, setting) of each build: 'after', 'before', and 'capped' or
    one 'buckets' build per combination of --partitions, --memory-limit and --threads."""
    if args.skip_after and not (args.partitions and args.cycles == 0):
        raise SystemExit("--skip-after needs --partitions and --cycles 0")
    builds = [] if args.skip_after else [("after", None, {})]
    builds += [] if args.skip_before else [("before", args.before, {})]
    threads = args.threads or [None]
    if args.memory_limit and not args.partitions:
        return builds + [("capped", None, {"limit": args.memory_limit, "threads": threads[0]})]
    limits = args.memory_limit.split(",") if args.memory_limit else [None]
    settings = [{"partitions": n, "limit": limit, "threads": t, "statements": each}
                for n in args.partitions or [] for limit in limits for t in threads
                for each in args.statements or [0]]
    for setting in settings:
        label = "buckets" if len(settings) == 1 else "-".join(
            [f"p{setting['partitions']}"] + ([setting["limit"]] if setting["limit"] else [])
            + ([f"t{setting['threads']}"] if setting["threads"] else [])
            + (["s"] if setting["statements"] else []))
        builds.append((label, None, setting))
    return builds


def cycles(project: Path, database: Path, full: dict, args, label: str,
           staging_tables: bool = False) -> None:
    """Incremental cycles after a full build; then a --full-refresh to compare with."""
    select = [*(("stg_demo__transactions", "stg_demo__chargebacks") if staging_tables
                else ()), *MODELS]
    full_models = sum(full["models"].values())
    print(f"incremental cycles, {label}: {args.share:.1%} new transactions each")
    idle = dbt(project, database, ["run", "--select", *select])
    print(f"  nothing new: models {sum(idle['models'].values()):.2f} s "
          f"({sum(idle['models'].values()) / full_models:.1%} of the full build's); process "
          f"{idle['wall']:.2f} s wall")
    runs = []
    full_sql = sum(full["sql"].values())
    for cycle in range(1, args.cycles + 1):
        landed = land_new_events(database, args.share, cycle)
        staged = None
        if staging_tables:  # the staging tables first, as a cycle's dbt run orders them
            staged = dbt(project, database, ["run", "--select", *select[:2]])
        dbt(project, database, ["compile", "--select", *MODELS])
        sql = sql_seconds(database, compiled(project), incremental=True)
        figures = dbt(project, database, ["run", "--select", *MODELS])
        if staged:
            figures = {"wall": staged["wall"] + figures["wall"],
                       "cpu": staged["cpu"] + figures["cpu"],
                       "models": {**staged["models"], **figures["models"]}}
        figures["sql"] = sql
        runs.append(figures)
        models = sum(figures["models"].values())
        print(f"  cycle {cycle}: {landed:,} rows landed; models {models:.2f} s = "
              f"{models / full_models:.1%} of the full build's {full_models:.2f} s; its SQL "
              f"alone {sum(sql.values()):.2f} s = {sum(sql.values()) / full_sql:.1%} of "
              f"{full_sql:.2f} s; process {figures['wall']:.2f} s wall, "
              f"{figures['cpu']:.2f} s CPU (full build {full['wall']:.2f}, {full['cpu']:.2f})")
    median = statistics.median(sum(c["models"].values()) for c in runs)
    median_sql = statistics.median(sum(c["sql"].values()) for c in runs)
    print(f"  median: models {median:.2f} s = {median / full_models:.1%} (per model: "
          + ", ".join(f"{m.removeprefix('fs_').removeprefix('stg_demo__')} "
                      f"{statistics.median(c['models'][m] for c in runs):.3f}"
                      for m in select)
          + f"); feature SQL alone {median_sql:.2f} s = {median_sql / full_sql:.1%} (per "
          "model: " + ", ".join(f"{m.removeprefix('fs_')} "
                                f"{statistics.median(c['sql'][m] for c in runs):.3f} / "
                                f"{full['sql'][m]:.3f}" for m in MODELS) + ")")
    rebuilt = database.with_name(database.stem + "-rebuilt.duckdb")
    shutil.copy(database, rebuilt)
    refresh = dbt(project, rebuilt, ["run", "--full-refresh", "--select", *select])
    show_build("refresh", refresh)
    for model, (count, differ) in same_tables(database, rebuilt, MODELS).items():
        print(f"  {model}: {count:,} rows, {differ} differ from a --full-refresh")


if __name__ == "__main__":
    main()
