"""``featurestore demo``: the whole pipeline on this machine, end to end.

Raw demo events -> ``dbt build`` (staging, feature views, a point-in-time training
model) -> contracts checked and applied -> a training set exported with its manifest ->
DynamoDB Local started, gated, synced -> feature vectors looked up through the same
handler the Lambda runs. Each step prints one line; the end prints what was built.
"""

from __future__ import annotations

import datetime as dt
import json

from featurestore.dtypes import utc_naive

DEMO_FEATURES = "user_transactions,merchant_risk,user_profile,device_seen_before"
OFFLINE_STEPS, ONLINE_STEPS = 4, 4
DEMO_USERS, DEMO_DAYS, DEMO_SEED = 2000, 60, 7


class Steps:
    """How the demo reports: a numbered step, and notes under it. Says nothing."""

    def __call__(self, title: str) -> Steps:
        return self

    def note(self, line: str) -> None:
        """A detail of the current step."""


DEMO_PROJECT_NAME = "featurestore"  # this repository's dbt project (dbt_project.yml)


def ensure_demo_data(project, progress=lambda _line: None) -> bool:
    """Generate and ingest the demo's events when the demo project has none yet (a fresh
    clone), so that its ``dbt build`` has raw tables to read; True when it did.

    Only this repository's demo project reads them (a team's own project has its own
    sources), so any other project is left alone.
    """
    from featurestore.demo_data import HISTORY_FILE, TABLES

    if project.dbt_project.get("name") != DEMO_PROJECT_NAME:
        return False
    landing = project.settings.landing_dir
    if all((landing / table / HISTORY_FILE).exists() for table in TABLES):
        return False
    progress(f"no demo events in {landing} yet (a fresh clone): generating and ingesting "
             f"them (featurestore demo-data --users {DEMO_USERS} --days {DEMO_DAYS} --seed "
             f"{DEMO_SEED}, then featurestore ingest)")
    load_demo_events(project, DEMO_USERS, DEMO_DAYS, DEMO_SEED, None, progress, fresh=False)
    return True


def load_demo_events(project, users: int, days: int, seed: int, end: dt.datetime | None,
                     progress, *, fresh: bool = True) -> dict[str, int]:
    """New history files land and are ingested. ``fresh``: a new demo world, so the
    previous demo's landing files and warehouse go first (its events were generated for
    another moment, and would meet these in the raw tables)."""
    import shutil

    from featurestore.dbt_runner import run_dbt
    from featurestore.demo_data import generate
    from featurestore.ingest import ingest

    landing, warehouse = project.settings.landing_dir, project.dbt_target.duckdb_path
    if fresh:
        if landing.exists():
            shutil.rmtree(landing)
        for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")) \
                if warehouse is not None else ():
            path.unlink(missing_ok=True)
    rows = generate(landing, users=users, days=days, seed=seed, end=end, progress=progress)
    run_dbt(project, ["parse", "--quiet"])  # the sources ingest reads, from the manifest
    report = ingest(project)
    progress(f"ingested {report.count('loaded')} files, {report.rows:,} rows")
    return rows


def run_offline(project, steps: Steps, users: int, days: int, seed: int,
                end: dt.datetime | None) -> dict:
    """Data, dbt build, contracts, training set; returns the summary's offline part."""
    from featurestore import registry
    from featurestore.model_check import build_project
    from featurestore.training import build_training_set
    from featurestore.warehouse import Warehouse

    steps(f"Demo events: {users:,} users over {days} days (seed {seed}), landed and "
          "ingested")
    raw_rows = load_demo_events(project, users, days, seed, end, steps.note)
    for table, rows in raw_rows.items():
        steps.note(f"{table}: {rows:,} rows")

    steps("dbt build: staging, feature views, training model, tests")
    build_project(project, ["--quiet"])

    steps("Contracts: validated against the built models, applied to the registry")
    catalog = project.catalog()
    with Warehouse(project) as warehouse:
        result = registry.apply(catalog, warehouse, who="featurestore-demo")
        view_rows = {
            view.name: warehouse.fetch_all(
                f"select count(*) from {warehouse.view_relation(view)}")[0][0]
            for view in catalog.views.values()
        }
        spine = project.warehouse_dir / "demo" / "fraud_labels.parquet"
        spine.parent.mkdir(parents=True, exist_ok=True)
        labels = warehouse.model_relation("fraud_labels")
        warehouse.execute(f"copy (select * from {labels} order by event_ts) "
                          f"to '{spine}' (format parquet)")
    for name, rows in sorted(view_rows.items()):
        steps.note(f"{name}: {rows:,} rows")
    steps.note(f"registry: {len(result.pending)} change(s) applied")

    steps("Training set: point-in-time join of the fraud labels with 4 views")
    out = project.warehouse_dir / "demo" / "training_set.parquet"
    manifest = build_training_set(project, spine, DEMO_FEATURES, out=out,
                                  progress=steps.note).manifest
    return {"raw_rows": raw_rows, "view_rows": view_rows, "training_set": str(out),
            "manifest": manifest}


def _demo_keys(project) -> dict:
    """A busy user, merchant and device pair, so the lookups show real values."""
    from featurestore.warehouse import Warehouse

    with Warehouse(project, read_only=True) as warehouse:
        user, merchant, device = warehouse.fetch_all(
            f"select user_id, merchant_id, device_id from "
            f"{warehouse.model_relation('fraud_labels')} order by event_ts desc limit 1")[0]
    return {"user": user, "merchant": merchant, "device": device}


def _get(url: str, path: str, body: dict | None = None) -> dict:
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers={
        "Content-Type": "application/json", "X-Model-Name": "featurestore-demo"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def run_online(project, steps: Steps) -> dict:
    """DynamoDB Local, gated sync, lookups over HTTP, parity gate."""
    from featurestore.gates.runner import GateOptions, run_gates
    from featurestore.lookup.http_server import BackgroundServer
    from featurestore.lookup.local import local_app
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.online.local import read_running, start_detached
    from featurestore.sync.run import online_views, sync_views
    from featurestore.sync.worker import SyncOptions
    from featurestore.warehouse import Warehouse

    # It listens on every interface (start_detached's note says so); featurestore itself
    # connects over 127.0.0.1.
    running = read_running(project.warehouse_dir) is not None
    steps("DynamoDB Local: " + ("already running" if running else "started")
          + ", a fresh feature table")
    state = start_detached(project.root, project.warehouse_dir)
    project.settings = project.settings.with_online(endpoint=state["endpoint"], local=True)
    online = project.settings.online
    steps.note(f"endpoint {state['endpoint']} (pid {state['pid']})")
    # The demo regenerated every event, so the previous run's items are from another
    # world: some carry a newer feature_ts, which the conditional sync would (rightly)
    # refuse to overwrite. Start the demo's table afresh instead.
    store = DynamoDBStore.open(online)
    if store.drop_table():
        steps.note(f"dropped the previous demo's table {online.table}")
    store.ensure_table()

    steps("Sync: freshness and quality gates, then the latest values into DynamoDB")
    run = sync_views(project, online_views(project.catalog()), SyncOptions(full_refresh=True))
    if run.refused:
        from featurestore.errors import GateFailed

        raise GateFailed("demo views failed their gates: " + "; ".join(
            line for lines in run.refused.values() for line in lines))
    for result in run.results:
        steps.note(result.summary())

    steps("Lookups through the lookup handler behind its local HTTP server")
    keys = _demo_keys(project)
    with BackgroundServer(local_app(project)) as url:
        single_path = (f"/v1/features/user/{keys['user']}?features=user_transactions:"
                       "txn_count_7d,user_transactions:txn_amount_sum_7d,user_profile:country,"
                       "user_profile:kyc_level")
        single = _get(url, single_path)
        steps.note(f"GET {single_path}")
        batch = _get(url, "/v1/features/retrieve", {"requests": [
            {"entity": "user", "keys": [{"user_id": keys["user"]}],
             "features": ["user_transactions:txn_count_1h"]},
            {"entity": "merchant", "keys": [{"merchant_id": keys["merchant"]}],
             "features": ["merchant_risk"]},
            {"entity": "user_device",
             "keys": [{"user_id": keys["user"], "device_id": keys["device"]}],
             "features": ["device_seen_before"]},
        ]})
        steps.note("POST /v1/features/retrieve: a fraud model's user, merchant and device "
                   "features in one call")

    steps("Gate: online/offline parity, warehouse latest values against DynamoDB items")
    with Warehouse(project) as warehouse:
        gate = run_gates(project, warehouse, list(project.catalog().views.values()),
                         GateOptions(suites=("parity",), docs_dir=project.target_dir / "gates"
                                     / "data_docs"), progress=steps.note)
    for line in gate.details:
        steps.note(line)
    if not gate.passed:
        from featurestore.errors import GateFailed

        raise GateFailed("parity gate failed: " + "; ".join(gate.failures()))
    return {"endpoint": state["endpoint"], "pid": state["pid"], "single": single,
            "batch": batch}


def run_demo(project, steps: Steps, *, users: int = DEMO_USERS, days: int = DEMO_DAYS,
             seed: int = DEMO_SEED, offline_only: bool = False) -> dict:
    """The whole pipeline; the summary of what was built."""
    # to the minute, so the freshest views are minutes old, well inside their SLOs
    end = utc_naive().replace(second=0, microsecond=0)
    summary = run_offline(project, steps, users, days, seed, end)
    summary["online"] = None if offline_only else run_online(project, steps)
    return summary
