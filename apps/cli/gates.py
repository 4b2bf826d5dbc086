"""``featurestore gate``: run the quality gates, print the verdicts, fail CI on a failure."""

from __future__ import annotations

from pathlib import Path

import click

from featurestore.apps.cli.shared import (
    announce_store,
    emit_json,
    format_table,
    get_project,
    json_option,
    local_option,
    parse_as_of,
    say,
)
from featurestore.gates.suites import SUITES

OBSERVED_WIDTH = 48


def _clip(text: str, width: int = OBSERVED_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def print_history(project, view_name: str, runs: int, as_json: bool) -> None:
    from featurestore.feature_refs import select_versions
    from featurestore.gates.results import history_trend
    from featurestore.warehouse import Warehouse

    select_versions(project.catalog(), [view_name])  # an unknown view: a clear error
    with Warehouse(project) as warehouse:
        trend = history_trend(warehouse, view_name, runs)
    if as_json:
        emit_json(trend)
        return
    if not trend["runs"]:
        click.echo(f"no gate results recorded for view `{view_name}` yet; run `featurestore "
                   f"gate --view {view_name}` first.")
        return
    run_ids = [run["run_id"] for run in trend["runs"]]
    click.echo(f"gate history of `{view_name}`, {len(run_ids)} run(s), oldest first:")
    for index, run in enumerate(trend["runs"], start=1):
        click.echo(f"  run {index}: {run['run_at']:%Y-%m-%d %H:%M:%S} UTC ({run['run_id']})")
    table = []
    for series in trend["series"]:
        values = series["observed"]
        trend_text = " -> ".join(
            (_clip(values[r]["observed"], 16) + {False: " FAIL", None: " (too few)"}.get(
                values[r]["passed"], ""))
            if r in values else "-" for r in run_ids)
        table.append([series["suite"], series["expectation"], series["threshold"], trend_text])
    click.echo(format_table(table, ["suite", "expectation", "threshold", "observed per run"]))


@click.command("gate")
@click.option("--view", "views", multiple=True, help="A feature view to gate (repeatable; "
              "`view@v2` for one version); default: every live version of every view.")
@click.option("--suite", "suites", multiple=True, type=click.Choice(SUITES),
              help="A suite to run (repeatable); default: all four.")
@click.option("--as-of", help="Judge freshness as of this ISO-8601 time instead of now.")
@click.option("--training-set", type=click.Path(dir_okay=False, path_type=Path),
              help="Training set Parquet (with its .manifest.json) for the skew suite.")
@click.option("--serving-log", type=click.Path(path_type=Path),
              help="Serving log folder or file; default: warehouse/serving_log/.")
@click.option("--serving-window", default="7d", show_default=True,
              help="How far back from now (or --as-of) served lines count for skew.")
@click.option("--parity-sample", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Entities per view compared with DynamoDB (all when there are fewer).")
@click.option("--history", "history_view", metavar="VIEW",
              help="Print the recorded trend of VIEW's gate results instead of running.")
@click.option("--runs", type=click.IntRange(min=1), default=10, show_default=True,
              help="With --history: how many recent runs to show.")
@local_option
@json_option
@click.pass_context
def gate_command(ctx, views, suites, as_of, training_set, serving_log, serving_window,
                 parity_sample, history_view, runs, local, as_json):
    """Run the Great Expectations gates built from the contracts.

    Prints one row per expectation (suite, view, expectation, observed, threshold,
    pass, FAIL, or "insufficient data" for a skew check below its skew.min_sample) and
    the path of the Data Docs it wrote; exits 2 if any fails. A suite whose store cannot
    be reached (parity, without DynamoDB) says so and the others run on; then, if
    nothing failed, the exit code is 3. What ran is kept in the warehouse table
    featurestore.gate_results either way.

    \b
    Examples:
      featurestore gate
      featurestore gate --view user_transactions --suite freshness --as-of 2026-05-22T18:00Z
      featurestore gate --suite parity --local
      featurestore gate --suite skew --training-set out/train.parquet
      featurestore gate --history user_transactions
    """
    from featurestore.durations import parse_duration
    from featurestore.errors import GateFailed, RequestError, StoreUnavailable

    project = get_project(ctx, local=local)
    if history_view:
        print_history(project, history_view, runs, as_json)
        return
    suites = tuple(suites) or SUITES
    if "parity" in suites:
        announce_store(project)
    from featurestore.apps.cli.shared import registry_retired
    from featurestore.feature_refs import select_versions

    catalog = project.catalog()
    chosen = select_versions(catalog, views, retired=registry_retired(project, catalog))
    try:
        window = parse_duration(serving_window)
    except ValueError as exc:
        raise RequestError(f"--serving-window: {exc}") from None
    from featurestore.gates.runner import GateOptions, run_gates
    from featurestore.warehouse import Warehouse

    options = GateOptions(
        suites=suites, as_of=parse_as_of(as_of), training_set=training_set,
        serving_log=serving_log, serving_window_seconds=window, parity_sample=parity_sample,
        docs_dir=project.target_dir / "gates" / "data_docs", skip_unreachable=True,
    )
    with Warehouse(project) as warehouse:
        run = run_gates(project, warehouse, chosen, options, progress=say)
    failed = [c for c in run.checks if c.passed is False]
    unjudged = [c for c in run.checks if c.passed is None]  # the skew gate's small samples
    if as_json:
        emit_json(run.to_dict())
    else:
        rows = [[c.suite, c.view, c.expectation, _clip(c.observed), c.threshold, c.result]
                for c in run.checks]
        click.echo(format_table(rows, ["suite", "view", "expectation", "observed",
                                       "threshold", "result"]))
        for line in run.details:
            click.echo(line)
        if run.docs_path:
            click.echo(f"Data Docs: {run.docs_path}")
        for suite, why in run.unreachable.items():
            click.echo(f"{suite}: not run, {why}")
        click.echo(f"run {run.run_id}: {len(run.checks) - len(failed) - len(unjudged)} "
                   f"passed, {len(failed)} failed"
                   + (f", {len(unjudged)} insufficient data (not judged)" if unjudged else "")
                   + (f", {len(run.unreachable)} suite(s) not run" if run.unreachable else "")
                   + " (results in featurestore.gate_results)")
    not_run = "; ".join(f"{suite} not run: {why}" for suite, why in run.unreachable.items())
    if failed:
        raise GateFailed("gate failed: " + "; ".join(c.failure_line() for c in failed[:10])
                         + (f"; and {len(failed) - 10} more" if len(failed) > 10 else "")
                         + (f" ({not_run})" if not_run else ""))
    if run.unreachable:
        raise StoreUnavailable(
            f"{not_run}. Nothing that ran failed ({len(run.checks) - len(unjudged)} passed"
            + (f", {len(unjudged)} insufficient data" if unjudged else "")
            + ", recorded in featurestore.gate_results).")
