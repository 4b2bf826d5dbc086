"""``featurestore demo``: the whole pipeline on this machine, end to end.

Raw demo events -> ``dbt build`` (staging, feature views, a point-in-time training
model) -> contracts checked and applied -> a training set exported with its manifest ->
DynamoDB Local started, gated, synced -> feature vectors looked up through the same
handler the Lambda runs. Each step prints one line; the end prints what was built.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import click

from featurestore.cli import get_project
from featurestore.dtypes import utc_naive

DEMO_FEATURES = "user_transactions,merchant_risk,user_profile,device_seen_before"


class Steps:
    """Numbered progress lines with timings, to stderr."""

    def __init__(self, total: int):
        self.total = total
        self.number = 0
        self.started = time.perf_counter()

    def __call__(self, title: str):
        self.number += 1
        click.secho(f"[{self.number}/{self.total}] {title}", err=True, bold=True)
        return self

    def note(self, line: str) -> None:
        click.echo(f"      {line}", err=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def run_offline(project, steps: Steps, users: int, days: int, seed: int,
                end: dt.datetime | None) -> dict:
    """Data, dbt build, contracts, training set; returns the summary's offline part."""
    from featurestore import registry
    from featurestore.dbt_runner import run_dbt
    from featurestore.demo_data import generate
    from featurestore.generate import write_generated
    from featurestore.model_check import check_built_models
    from featurestore.training import build_training_set
    from featurestore.warehouse import Warehouse

    steps(f"Generating demo events: {users:,} users over {days} days (seed {seed})")
    raw_rows = generate(project.raw_dir, users=users, days=days, seed=seed, end=end,
                        progress=steps.note)
    for table, rows in raw_rows.items():
        steps.note(f"{table}: {rows:,} rows")

    steps("dbt build: staging, feature views, training model, tests")
    write_generated(project.root, project.catalog())
    run_dbt(project, ["build", "--quiet"])
    problems, _notes = check_built_models(project, project.catalog())
    if problems:
        from featurestore.errors import ProjectError

        raise ProjectError("\n".join(problems))

    steps("Contracts: validated against the built models, applied to the registry")
    catalog = project.catalog()
    with Warehouse(project) as warehouse:
        result = registry.apply(catalog, warehouse, who="featurestore-demo")
        view_rows = {
            view.name: warehouse.fetch_all(
                f"select count(*) from {warehouse.model_relation(view.source)}")[0][0]
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
    manifest = build_training_set(project, spine, DEMO_FEATURES, out, progress=steps.note)
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


def _drop_online_table(project) -> bool:
    """Delete the demo's DynamoDB table if it exists (True when it did)."""
    from featurestore.dynamodb import project_client

    client = project_client(project)
    try:
        client.delete_table(TableName=project.online_table)
    except client.exceptions.ResourceNotFoundException:
        return False
    client.get_waiter("table_not_exists").wait(TableName=project.online_table)
    return True


def run_online(ctx: click.Context, project, steps: Steps) -> dict:
    """DynamoDB Local, gated sync, lookups over HTTP, parity gate."""
    from featurestore.local_dynamodb import start_detached
    from gates.cli import gate_command
    from lookup.cli import local_app
    from lookup.http_server import BackgroundServer
    from sync.cli import online_init, sync_command

    steps("DynamoDB Local: started on loopback, a fresh feature table")
    state = start_detached(project.root, project.warehouse_dir)
    steps.note(f"endpoint {state['endpoint']} (pid {state['pid']})")
    # The demo regenerated every event, so the previous run's items are from another
    # world: some carry a newer feature_ts, which the conditional sync would (rightly)
    # refuse to overwrite. Start the demo's table afresh instead.
    if _drop_online_table(project):
        steps.note(f"dropped the previous demo's table {project.online_table}")
    ctx.invoke(online_init)

    steps("Sync: freshness and quality gates, then the latest values into DynamoDB")
    ctx.invoke(sync_command, view_names=(), full_refresh=True, no_gate=False,
               lookback=dt.timedelta(minutes=10), threads=8)

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
    ctx.invoke(gate_command, views=(), suites=("parity",), as_of=None, training_set=None,
               serving_log=None, serving_window="7d", parity_sample=1000, history_view=None,
               runs=10)
    return {"endpoint": state["endpoint"], "single": single, "batch": batch}


@click.command("demo")
@click.option("--users", default=2000, show_default=True, help="Demo users to generate.")
@click.option("--days", default=60, show_default=True, help="Days of history.")
@click.option("--seed", default=7, show_default=True, help="Random seed (deterministic).")
@click.option("--offline-only", is_flag=True, help="Stop after the training set.")
@click.pass_context
def demo_command(ctx: click.Context, users: int, days: int, seed: int,
                 offline_only: bool) -> None:
    """Run the demo pipeline end to end on DuckDB and DynamoDB Local.

    \b
    Example:
      featurestore demo --users 2000 --days 60
    """
    project = get_project(ctx)
    steps = Steps(4 if offline_only else 8)
    # to the minute, so the freshest views are minutes old, well inside their SLOs
    end = utc_naive().replace(second=0, microsecond=0)
    summary = run_offline(project, steps, users, days, seed, end)
    online = None if offline_only else run_online(ctx, project, steps)
    manifest = summary["manifest"]
    click.echo("")
    click.secho("featurestore demo: what was built", bold=True)
    click.echo(f"  warehouse      {project.duckdb_path}")
    click.echo("  raw events     " + ", ".join(f"{t} {n:,}" for t, n in
                                               summary["raw_rows"].items()))
    click.echo("  feature views  " + ", ".join(f"{v} {n:,}" for v, n in
                                               sorted(summary["view_rows"].items())))
    click.echo(f"  training set   {summary['training_set']} ({manifest['output']['rows']:,} rows)")
    click.echo(f"  manifest       {Path(summary['training_set'])}.manifest.json")
    if online:
        click.echo(f"  online store   DynamoDB Local at {online['endpoint']}, table "
                   f"{project.online_table}")
        click.echo("  a lookup       " + json.dumps(online["single"], indent=2)
                   .replace("\n", "\n                 "))
        statuses = [value["status"] for result in online["batch"]["results"]
                    for value in result["features"].values()]
        click.echo(f"  a batch        {len(online['batch']['results'])} entities, "
                   + ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses))))
        click.echo("  next           featurestore serve   (then curl the URL it prints); "
                   "featurestore online stop")
    click.echo(f"  took           {steps.elapsed():.1f} s")
