"""``featurestore demo``: the whole pipeline on this machine, end to end.

Raw demo events -> ``dbt build`` (staging, feature views, a point-in-time training
model) -> contracts checked and applied -> a training set exported with its manifest ->
DynamoDB Local started, gated, synced -> feature vectors looked up through the same
handler the Lambda runs. Each step prints one line; the end prints what was built.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from featurestore.cli import get_project

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
    steps = Steps(4 if offline_only else 4)
    summary = run_offline(project, steps, users, days, seed, None)
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
    click.echo(f"  took           {steps.elapsed():.1f} s")
