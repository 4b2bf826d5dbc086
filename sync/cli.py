"""``featurestore online ...``, ``featurestore sync`` and ``featurestore forget``.

A thin shell: the work is in ``sync.worker``, ``sync.forget`` and ``featurestore.dynamodb``
so tests call it directly. DynamoDB is found by ``resolve_endpoint``: the
FEATURESTORE_DYNAMODB_ENDPOINT variable, else the instance ``online start`` left running,
else real AWS.
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from featurestore.cli import get_project
from featurestore.errors import FeatureStoreError, GateFailed, OnlineStoreError


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


# -- featurestore online ... ---------------------------------------------------------------
@click.group("online")
def online_group() -> None:
    """Run DynamoDB Local and create the feature table.

    \b
    Example:
      featurestore online start && featurestore online init
    """


@online_group.command("start")
@click.option("--port", type=int, default=None, help="Loopback port; default: a free one.")
@click.pass_context
def online_start(ctx: click.Context, port: int | None) -> None:
    """Start DynamoDB Local on disk (warehouse/dynamodb) in the background.

    \b
    Example:
      featurestore online start --port 8000
    """
    from featurestore.local_dynamodb import start_detached

    project = get_project(ctx)
    state = start_detached(project.root, project.warehouse_dir, port)
    click.echo(f"DynamoDB Local is running at {state['endpoint']} (pid {state['pid']}, data "
               f"in {project.warehouse_dir / 'dynamodb'}).")
    click.echo("featurestore commands in this project find it on their own; for other tools:")
    click.echo(f"export FEATURESTORE_DYNAMODB_ENDPOINT={state['endpoint']}")


@online_group.command("stop")
@click.pass_context
def online_stop(ctx: click.Context) -> None:
    """Stop the DynamoDB Local that `online start` started.

    \b
    Example:
      featurestore online stop
    """
    from featurestore.local_dynamodb import stop_detached

    project = get_project(ctx)
    if stop_detached(project.warehouse_dir):
        click.echo("DynamoDB Local stopped; its data stays in warehouse/dynamodb.")
    else:
        click.echo("No DynamoDB Local of this project is running.")


@online_group.command("status")
@click.pass_context
def online_status(ctx: click.Context) -> None:
    """Where DynamoDB is, whether the feature table exists, and each view's last sync.

    \b
    Example:
      featurestore online status
    """
    from featurestore.dynamodb import project_client, require_table, resolve_endpoint
    from featurestore.warehouse import Warehouse
    from sync import state as sync_state

    project = get_project(ctx)
    endpoint = resolve_endpoint(project)
    click.echo(f"endpoint: {endpoint or 'AWS (' + project.aws_region + ')'}")
    client = project_client(project)
    try:
        require_table(client, project.online_table, endpoint or "AWS")
        click.echo(f"table: {project.online_table} (exists)")
    except OnlineStoreError as exc:
        click.echo(f"table: {exc}")
    if project.target == "duckdb" and not project.duckdb_path.exists():
        click.echo("sync state: no warehouse yet")
        return
    with Warehouse(project) as warehouse:
        states = sync_state.load_all(warehouse)
    if not states:
        click.echo("sync state: no view synced yet")
    for state in states:
        click.echo(f"  {state.view_name} v{state.view_version}: {state.status}, watermark "
                   f"{state.watermark}, last run {state.finished_at or state.started_at}, "
                   f"read {state.rows_read}, written {state.rows_written}, skipped "
                   f"{state.rows_skipped}, retried {state.rows_retried}"
                   + (f" ({state.message})" if state.message else ""))


@online_group.command("init")
@click.pass_context
def online_init(ctx: click.Context) -> None:
    """Create the feature table (idempotent; checks an existing table's key schema).

    \b
    Example:
      featurestore online init
    """
    from featurestore.dynamodb import ensure_table, project_client, resolve_endpoint

    project = get_project(ctx)
    endpoint = resolve_endpoint(project)
    created = ensure_table(project_client(project), project.online_table)
    verb = "created" if created else "already exists, key schema checked"
    click.echo(f"table {project.online_table} {verb} at {endpoint or 'AWS'}.")


# -- featurestore sync -------------------------------------------------------------------
def _parse_lookback(ctx, param, value: str) -> dt.timedelta:
    from featurestore.durations import parse_duration

    if value in ("0", "0s"):
        return dt.timedelta(0)
    try:
        return dt.timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("sync")
@click.option("--view", "view_names", multiple=True,
              help="Sync only this view (repeatable); default: every online view.")
@click.option("--full-refresh", is_flag=True,
              help="Read every entity, not only those changed since the watermark.")
@click.option("--no-gate", is_flag=True,
              help="Publish without running the freshness and quality gates (logged).")
@click.option("--lookback", default="10m", show_default=True, callback=_parse_lookback,
              help="Also re-read rows landed this long before the watermark (late loads).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Parallel DynamoDB writers.")
@click.pass_context
def sync_command(ctx: click.Context, view_names: tuple[str, ...], full_refresh: bool,
                 no_gate: bool, lookback: dt.timedelta, threads: int) -> None:
    """Copy the latest value of each online feature view into DynamoDB.

    Incremental from a watermark kept in the warehouse; writes only values newer than
    the stored ones, so a replay or a backfill never regresses DynamoDB.

    \b
    Example:
      featurestore sync --view user_transactions --lookback 1h
    """
    from featurestore.dtypes import utc_naive
    from featurestore.dynamodb import project_client, require_table, resolve_endpoint
    from featurestore.warehouse import Warehouse
    from sync.worker import SyncOptions, sync_view

    project = get_project(ctx)
    catalog = project.catalog()
    if view_names:
        views = [catalog.view(name) for name in view_names]
        offline = [v.name for v in views if not v.online]
        if offline:
            raise FeatureStoreError(f"view(s) {', '.join(offline)} have `online: false` in "
                                    "their contract; set `online: true` to sync them.")
    else:
        views = [v for v in sorted(catalog.views.values(), key=lambda v: v.name) if v.online]
    if not views:
        raise FeatureStoreError("no online feature views to sync (feature_defs/ has none "
                                "with `online: true`).")
    endpoint = resolve_endpoint(project)
    client = project_client(project, max_attempts=1, max_pool_connections=threads + 4)
    require_table(client, project.online_table, endpoint or "AWS")
    as_of = utc_naive()
    options = SyncOptions(full_refresh=full_refresh, lookback=lookback, as_of=as_of,
                          threads=threads)
    refused: dict[str, list[str]] = {}
    with Warehouse(project) as warehouse:
        if no_gate:
            _echo_err(f"WARNING: --no-gate: publishing {len(views)} view(s) to "
                      f"{project.online_table} WITHOUT their freshness and quality gates.")
        else:
            from gates.publish import gate_views_for_sync

            outcomes = gate_views_for_sync(project, warehouse, views, as_of)
            for view in views:
                outcome = outcomes.get(view.name)
                if outcome is not None and not outcome.passed:
                    refused[view.name] = list(outcome.failures)
            for name, failures in refused.items():
                _echo_err(f"gate failed, not publishing {name}:")
                for failure in failures:
                    _echo_err(f"  {failure}")
        for view in views:
            if view.name in refused:
                continue
            _sync_one(warehouse, client, project.online_table, view, options, sync_view)
    if refused:
        raise GateFailed(f"{len(refused)} view(s) not published because their gates "
                         f"failed: {', '.join(sorted(refused))} (DynamoDB untouched for them)")


def _sync_one(warehouse, client, table, view, options, sync_view) -> None:
    bar = None
    totals = {"read": 0}

    def on_plan(count: int) -> None:
        nonlocal bar
        bar = click.progressbar(length=max(count, 1), label=f"{view.name} v{view.version}",
                                file=sys.stderr, show_pos=True,
                                item_show_func=lambda text: text)
        bar.__enter__()

    def progress(rows: int, counters) -> None:
        totals["read"] += rows
        bar.update(rows, f"written {counters.written:,} skipped {counters.skipped:,} "
                   f"retried {counters.retried:,}")

    try:
        result = sync_view(warehouse, client, table, view, options, progress=progress,
                           on_plan=on_plan)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(result.summary())


# -- featurestore forget -----------------------------------------------------------------
@click.command("forget")
@click.argument("entity")
@click.argument("key", nargs=-1, required=True)
@click.pass_context
def forget_command(ctx: click.Context, entity: str, key: tuple[str, ...]) -> None:
    """Delete an entity's items from DynamoDB and report its offline rows to purge.

    KEY is one value per join key of ENTITY, in the order of feature_defs/entities.yml.

    \b
    Example:
      featurestore forget user 42
      featurestore forget user_device 42 d-0001234
    """
    from featurestore.dynamodb import project_client, require_table, resolve_endpoint
    from featurestore.warehouse import Warehouse
    from sync.forget import forget

    project = get_project(ctx)
    catalog = project.catalog()
    client = project_client(project)
    require_table(client, project.online_table, resolve_endpoint(project) or "AWS")
    has_warehouse = project.target != "duckdb" or project.duckdb_path.exists()
    warehouse = Warehouse(project, read_only=True) if has_warehouse else None
    try:
        report = forget(warehouse, client, project.online_table, catalog, entity, key)
    finally:
        if warehouse is not None:
            warehouse.close()
    if report.deleted:
        click.echo(f"DynamoDB: deleted {len(report.deleted)} item(s) of {report.pk}: "
                   f"{', '.join(report.deleted)}")
    else:
        click.echo(f"DynamoDB: no items of {report.pk}")
    for rows in report.offline:
        if rows.rows == 0:
            click.echo(f"warehouse: {rows.view}: no rows")
            continue
        count = "not built" if rows.rows < 0 else f"{rows.rows:,} row(s)"
        click.echo(f"warehouse: {rows.view} ({rows.relation}): {count}. It is a dbt model, "
                   "rebuilt from its sources: purge the entity upstream (raw data), then "
                   "`featurestore build`. The model's rows: " + rows.purge_sql)
