"""``featurestore demo-data`` and ``featurestore demo``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from featurestore.apps.cli.shared import get_project, say


def _seconds(ctx, param, value):
    from featurestore.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("demo-data")
@click.option("--users", type=int, default=1000, show_default=True,
              help="Number of user accounts.")
@click.option("--days", type=int, default=60, show_default=True,
              help="Days of transaction history.")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Random seed; the same numbers give byte-identical files.")
@click.option("--end", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                                             "%Y-%m-%d"]),
              default=None, help="Newest moment of the data, naive UTC "
              "[default: now, floored to the hour].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="The landing folder [default: the project's, warehouse/landing].")
@click.option("--stream", is_flag=True,
              help="Instead of a history: keep dropping small files of new transactions "
              "(some late, some repeated) next to the history already written.")
@click.option("--rate", type=float, default=200.0, show_default=True,
              help="With --stream: events per second.")
@click.option("--every", default="5s", show_default=True, callback=_seconds,
              help="With --stream: one file this often.")
@click.option("--for", "duration", default=None, callback=_seconds,
              help="With --stream: stop after this long (default: until Ctrl-C or SIGTERM).")
@click.option("--late", "late_share", type=float, default=0.05, show_default=True,
              help="With --stream: share of events that happened hours to days ago.")
@click.option("--duplicates", "duplicate_share", type=float, default=0.01, show_default=True,
              help="With --stream: share of events sent again, exactly.")
@click.pass_context
def demo_data_command(ctx, users: int, days: int, seed: int, end, out: str | None,
                      stream: bool, rate: float, every: int, duration: int | None,
                      late_share: float, duplicate_share: float) -> None:
    """Generate the demo shop's raw events as Parquet files in the landing folder.

    \b
    Examples, a history of 2,000 users over 90 days ending at a fixed hour, then a stream
    of 200 new events a second for ten minutes:
      featurestore demo-data --users 2000 --days 90 --seed 7 --end 2026-05-01T00:00:00
      featurestore demo-data --stream --rate 200 --every 5s --for 10m
    """
    from featurestore.demo_data import generate
    from featurestore.demo_stream import stream as stream_events

    if out is None:
        out = str(get_project(ctx).settings.landing_dir)
    if stream:
        stats = stream_events(out, rate=rate, every=every, duration=duration,
                              late_share=late_share, duplicate_share=duplicate_share,
                              seed=seed, progress=lambda line: say(f"demo-data: {line}"))
        click.echo(f"{stats.events:,} events in {stats.files} files ({stats.late:,} late, "
                   f"{stats.duplicates:,} repeated) written to {out}/transactions")
        return
    rows = generate(out, users=users, days=days, seed=seed, end=end,
                    progress=lambda line: say(f"demo-data: {line}"))
    click.echo(f"{sum(rows.values()):,} rows in {len(rows)} tables written to {out}")


class PrintedSteps:
    """The demo's steps as numbered bold lines on stderr, notes indented under them."""

    def __init__(self, total: int):
        self.total = total
        self.number = 0
        self.started = time.perf_counter()

    def __call__(self, title: str) -> PrintedSteps:
        self.number += 1
        click.secho(f"[{self.number}/{self.total}] {title}", err=True, bold=True)
        return self

    def note(self, line: str) -> None:
        say(f"      {line}")

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@click.command("demo")
@click.option("--users", default=2000, show_default=True, help="Demo users to generate.")
@click.option("--days", default=60, show_default=True, help="Days of history.")
@click.option("--seed", default=7, show_default=True, help="Random seed (deterministic).")
@click.option("--offline-only", is_flag=True, help="Stop after the training set.")
@click.pass_context
def demo_command(ctx: click.Context, users: int, days: int, seed: int,
                 offline_only: bool) -> None:
    """Run the demo pipeline end to end on DuckDB and DynamoDB Local.

    The demo always uses this project's DynamoDB Local (started if needed), never AWS,
    and leaves it running for `featurestore serve --local`; its last lines say where,
    and that `featurestore online stop` stops it.

    \b
    Example:
      featurestore demo --users 2000 --days 60
    """
    from featurestore.apps.demo import OFFLINE_STEPS, ONLINE_STEPS, run_demo

    project = get_project(ctx)
    steps = PrintedSteps(OFFLINE_STEPS + (0 if offline_only else ONLINE_STEPS))
    try:
        summary = run_demo(project, steps, users=users, days=days, seed=seed,
                           offline_only=offline_only)
    except BaseException:
        left = None if offline_only else _left_running(project)
        if left:  # a demo that stopped half-way says what it leaves behind, too
            say(f"left running: {left}")
        raise
    manifest, online = summary["manifest"], summary["online"]
    click.echo("")
    click.secho("featurestore demo: what was built", bold=True)
    click.echo(f"  warehouse      {project.dbt_target.duckdb_path}")
    click.echo("  raw events     " + ", ".join(f"{t} {n:,}" for t, n in
                                               summary["raw_rows"].items()))
    click.echo("  feature views  " + ", ".join(f"{v} {n:,}" for v, n in
                                               sorted(summary["view_rows"].items())))
    click.echo(f"  training set   {summary['training_set']} ({manifest['output']['rows']:,} rows)")
    click.echo(f"  manifest       {Path(summary['training_set'])}.manifest.json")
    if online:
        click.echo(f"  online store   DynamoDB Local at {online['endpoint']}, table "
                   f"{project.settings.online.table}")
        click.echo("  a lookup       " + json.dumps(online["single"], indent=2)
                   .replace("\n", "\n                 "))
        statuses = [value["status"] for result in online["batch"]["results"]
                    for value in result["features"].values()]
        click.echo(f"  a batch        {len(online['batch']['results'])} entities, "
                   + ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses))))
        click.echo("  next           featurestore serve --local   (then curl the URL it "
                   "prints)")
        click.echo(f"  left running   DynamoDB Local at {online['endpoint']} (pid "
                   f"{online['pid']}); stop it: featurestore online stop")
    click.echo(f"  took           {steps.elapsed():.1f} s")


def _left_running(project) -> str | None:
    """The project's DynamoDB Local, if one runs: what a stopped demo leaves behind."""
    from featurestore.online.local import read_running

    state = read_running(project.warehouse_dir)
    if state is None:
        return None
    return (f"DynamoDB Local at {state['endpoint']} (pid {state['pid']}); stop it: "
            "featurestore online stop")
