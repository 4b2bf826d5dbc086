"""``featurestore online ...``, ``featurestore sync`` and ``featurestore forget``.

The store is AWS unless the command is told otherwise: ``--local`` (this project's
DynamoDB Local) or FEATURESTORE_DYNAMODB_ENDPOINT. Each command's first line says which.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from featurestore.apps.cli.restore import restore_command
from featurestore.apps.cli.shared import (
    announce_store,
    emit_json,
    get_project,
    json_option,
    local_option,
    parse_as_of,
    say,
)


# -- featurestore online ... ---------------------------------------------------------------
@click.group("online")
def online_group() -> None:
    """Run DynamoDB Local and create the feature table.

    \b
    Example:
      featurestore online start && featurestore online init --local
    """


online_group.add_command(restore_command)


@online_group.command("start")
@click.option("--port", type=int, default=None, help="Loopback port; default: a free one.")
@click.option("--in-memory", is_flag=True,
              help="Keep the tables in memory (tests, benchmarks): several times faster "
                   "writes, and everything is lost when it stops.")
@click.pass_context
def online_start(ctx: click.Context, port: int | None, in_memory: bool) -> None:
    """Start DynamoDB Local in the background, on disk (warehouse/dynamodb) or in memory.

    \b
    Example:
      featurestore online start --port 8000
      featurestore online start --in-memory
    """
    from featurestore.online.local import start_detached

    project = get_project(ctx)
    state = start_detached(project.root, project.warehouse_dir, port, in_memory=in_memory)
    where = ("in memory: its tables are lost when it stops" if state["in_memory"]
             else f"data in {project.warehouse_dir / 'dynamodb'}")
    click.echo(f"DynamoDB Local is running at {state['endpoint']} (pid {state['pid']}, "
               f"{where}).")
    if state["in_memory"] != in_memory:
        click.echo("It was already running, started "
                   f"{'in memory' if state['in_memory'] else 'on disk'}; to change, run "
                   "`featurestore online stop` first.")
    click.echo("featurestore commands use it when given --local; for other tools:")
    click.echo(f"export FEATURESTORE_DYNAMODB_ENDPOINT={state['endpoint']}")


@online_group.command("stop")
@click.pass_context
def online_stop(ctx: click.Context) -> None:
    """Stop the DynamoDB Local that `online start` started.

    \b
    Example:
      featurestore online stop
    """
    from featurestore.online.local import stop_detached

    project = get_project(ctx)
    stopped = stop_detached(project.warehouse_dir)
    if stopped and stopped["in_memory"]:
        click.echo("DynamoDB Local stopped; it ran in memory, so its tables are gone.")
    elif stopped:
        click.echo("DynamoDB Local stopped; its data stays in warehouse/dynamodb.")
    else:
        click.echo("No DynamoDB Local of this project is running.")


@online_group.command("status")
@local_option
@json_option
@click.pass_context
def online_status(ctx: click.Context, local: bool, as_json: bool) -> None:
    """Where DynamoDB is, whether the feature table exists, and each view's last sync.

    \b
    Example:
      featurestore online status --local
      featurestore online status --local --json
    """
    from featurestore.errors import OnlineStoreError
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.sync import state as sync_state
    from featurestore.warehouse import Warehouse

    project = get_project(ctx, local=local)
    online = project.settings.online
    announce_store(project)
    table = {"name": online.table, "exists": True, "problem": None}
    try:
        DynamoDBStore.open(online).require_table()
    except OnlineStoreError as exc:
        table.update(exists=False, problem=str(exc))
    states = None
    if Warehouse.exists(project):
        with Warehouse(project) as warehouse:
            states = sync_state.load_all(warehouse)
    if as_json:
        emit_json({"store": online.describe(), "table": table, "sync_state": None
                   if states is None else [_state_document(state) for state in states]})
        return
    click.echo(f"table: {online.table} (exists)" if table["exists"]
               else f"table: {table['problem']}")
    if states is None:
        click.echo("sync state: no warehouse yet")
        return
    if not states:
        click.echo("sync state: no view synced yet")
    for state in states:
        click.echo(f"  {state.view_name} v{state.view_version}: {state.status}, watermark "
                   f"{state.watermark}, last run {state.finished_at or state.started_at}, "
                   f"read {state.rows_read}, written {state.rows_written}, skipped "
                   f"{state.rows_skipped}, retried {state.rows_retried}"
                   + (f" ({state.message})" if state.message else ""))


def _state_document(state) -> dict:
    """One view version's sync state as ``online status --json`` prints it."""
    return {"view": state.view_name, "version": state.view_version, "status": state.status,
            "watermark": state.watermark, "started_at": state.started_at,
            "finished_at": state.finished_at, "rows_read": state.rows_read,
            "rows_written": state.rows_written, "rows_skipped": state.rows_skipped,
            "rows_retried": state.rows_retried, "message": state.message or None}


@online_group.command("init")
@local_option
@click.pass_context
def online_init(ctx: click.Context, local: bool) -> None:
    """Create the feature table (idempotent; checks an existing table's key schema).

    \b
    Example:
      featurestore online init --local
    """
    from featurestore.online.dynamodb import DynamoDBStore

    project = get_project(ctx, local=local)
    online = project.settings.online
    announce_store(project)
    created = DynamoDBStore.open(online).ensure_table()
    verb = "created" if created else "already exists, key schema checked"
    click.echo(f"table {online.table} {verb}.")


# -- featurestore sync -------------------------------------------------------------------
def _parse_lookback(ctx, param, value: str) -> dt.timedelta:
    from featurestore.durations import parse_duration

    if value in ("0", "0s"):
        return dt.timedelta(0)
    try:
        return dt.timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class ProgressBars:
    """A progress bar per view on stderr (the sync's reporter)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar = None

    def gate_skipped(self, views) -> None:
        say(f"WARNING: --no-gate: publishing {len(views)} view(s) WITHOUT their freshness "
            "and quality gates.")

    def view_started(self, view, rows_to_read: int) -> None:
        if self.quiet:
            return
        self.bar = click.progressbar(length=max(rows_to_read, 1),
                                     label=f"{view.name} v{view.version}", file=sys.stderr,
                                     show_pos=True, item_show_func=lambda text: text)
        self.bar.__enter__()

    def view_progress(self, view, rows: int, counters) -> None:
        if self.bar is not None:
            self.bar.update(rows, f"written {counters.written:,} skipped "
                            f"{counters.skipped:,} retried {counters.retried:,}")

    def view_finished(self, view, result) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        if result is not None and not self.quiet:
            click.echo(result.summary())


@click.command("sync")
@click.option("--view", "view_names", multiple=True,
              help="Sync only this view (repeatable; `view@v2` for one of its versions); "
                   "default: every live version of every online view.")
@click.option("--full-refresh", is_flag=True,
              help="Verify and repair: read every entity and its stored item, write "
                   "only the items that differ, and say how many differed.")
@click.option("--no-gate", is_flag=True,
              help="Publish without running the freshness and quality gates (logged); a "
                   "state a gate or a dbt test refused before is still held back.")
@click.option("--publish-refused", "publish_refused", metavar="REASON",
              help="Publish even a built state that a gate or a dbt test refused, for this "
                   "reason (recorded in featurestore.publish_verdicts with who forced it).")
@click.option("--lookback", default="10m", show_default=True, callback=_parse_lookback,
              help="Also re-read rows landed this long before the watermark (late loads).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Parallel DynamoDB writers.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes, each writing key-hash shards of the rows under a "
                   "lease (1: this process alone).")
@click.option("--as-of", help="Publish the latest rows as of this ISO-8601 time instead "
              "of now (a replay of history): later rows are left out, rows past their TTL "
              "at that time are not written, and the gates judge freshness then.")
@local_option
@json_option
@click.pass_context
def sync_command(ctx: click.Context, view_names: tuple[str, ...], full_refresh: bool,
                 no_gate: bool, publish_refused: str | None, lookback: dt.timedelta,
                 threads: int, workers: int, as_of: str | None, local: bool,
                 as_json: bool) -> None:
    """Copy the latest value of each online feature view into DynamoDB.

    Incremental from a watermark kept in the warehouse for this table, which the table
    must confirm (else a full load); writes only items that differ from the stored ones,
    never rows past their TTL, and only values not older than the stored ones, so a
    replay or a backfill never regresses DynamoDB. A view whose built state a gate or a
    dbt test refused (now or before: the verdict stays with the state until a later
    state passes) is not published (exit 2); a view with a bad value stops, the others
    are published (exit 1); a store that stops answering ends the run (exit 3).

    \b
    Example:
      featurestore sync --local --view user_transactions --lookback 1h
      featurestore sync --view user_profile --publish-refused "kyc_level 7 is real (INC-42)"
    """
    from featurestore.apps.cli.shared import registry_retired
    from featurestore.sync.run import online_views, sync_views
    from featurestore.sync.worker import SyncOptions

    project = get_project(ctx, local=local)
    announce_store(project)
    catalog = project.catalog()
    views = online_views(catalog, view_names, retired=registry_retired(project, catalog))
    options = SyncOptions(full_refresh=full_refresh, lookback=lookback, threads=threads,
                          workers=workers, as_of=parse_as_of(as_of))
    if publish_refused is not None and not publish_refused.strip():
        raise click.BadParameter("say why the refused state is published anyway",
                                 param_hint="--publish-refused")
    run = sync_views(project, views, options, gate=not no_gate,
                     reporter=ProgressBars(quiet=as_json), raise_failed=False,
                     publish_refused=publish_refused)
    for name, overridden in run.forced.items():
        say(f"WARNING: --publish-refused: publishing {name} although its built state was "
            f"refused ({'; '.join(overridden)})")
    for name, failures in run.refused.items():
        since = run.held_since.get(name)
        say(f"refused, not publishing {name}"
            + (f" (held back since {since:%Y-%m-%d %H:%M:%S} UTC)" if since else "") + ":")
        for failure in failures:
            say(f"  {failure}")
    for name, error in run.failed.items():
        say(f"failed, {name}: {error}")
    if as_json:
        emit_json({"store": project.settings.online.describe(),
                   "views": [result.to_dict() for result in run.results],
                   "refused": run.refused, "held_since": run.held_since,
                   "forced": run.forced,
                   "failed": {name: str(error) for name, error in run.failed.items()}})
    problem = run.problem(details=False)
    if problem is not None:
        raise problem


# -- featurestore forget -----------------------------------------------------------------
@click.command("forget")
@click.argument("entity")
@click.argument("key", nargs=-1, required=True)
@local_option
@json_option
@click.pass_context
def forget_command(ctx: click.Context, entity: str, key: tuple[str, ...], local: bool,
                   as_json: bool) -> None:
    """Delete an entity's items from DynamoDB and its lines from the local serving log;
    report its offline rows to purge, and what it cannot reach.

    KEY is one value per join key of ENTITY, in the order of feature_defs/entities.yml.
    The serving log of a deployed endpoint (CloudWatch Logs) is out of its reach: it says
    so, and what to delete there.

    \b
    Example:
      featurestore forget user 42
      featurestore forget --local user_device 42 d-0001234
      featurestore forget --local user 42 --json
    """
    from featurestore.online.dynamodb import DynamoDBStore
    from featurestore.sync.forget import forget, parse_key
    from featurestore.warehouse import Warehouse

    project = get_project(ctx, local=local)
    online = project.settings.online
    announce_store(project)
    catalog = project.catalog()
    parse_key(catalog, entity, key)  # a bad key is named before any store is asked
    store = DynamoDBStore.open(online)
    store.require_table()
    warehouse = Warehouse(project, read_only=True) if Warehouse.exists(project) else None
    try:
        report = forget(warehouse, store, catalog, entity, key)
    finally:
        if warehouse is not None:
            warehouse.close()
    from featurestore.lookup.serving_log import forget_entity

    folder = project.settings.serving_log_dir or project.root / "warehouse" / "serving_log"
    gone = forget_entity(folder, entity, report.key)
    not_covered = ("the serving log of a deployed lookup endpoint (Lambda's stdout, in the "
                   "CloudWatch Logs group /aws/lambda/<function>) and any copy delivered "
                   "from it (a subscription to S3): delete the lines with "
                   f"\"entity\":\"{entity}\" and \"key\":"
                   f"{json.dumps(report.key, separators=(',', ':'))} there.")
    if as_json:
        emit_json({"entity": entity, "key": report.key,
                   "dynamodb": {"pk": report.pk, "deleted": report.deleted},
                   "warehouse": [{"view": rows.view, "relation": rows.relation,
                                  "rows": None if rows.rows < 0 else rows.rows,
                                  "purge_sql": rows.purge_sql if rows.rows else None}
                                 for rows in report.offline],
                   "serving_log": {"folder": str(folder), "lines": gone.lines,
                                   "files": [str(f) for f in gone.files]},
                   "not_covered": not_covered})
        return
    _print_forgotten(report)
    key_text = json.dumps(report.key)
    if gone.lines:
        click.echo(f"serving log: removed {gone.lines} line(s) of {entity} {key_text} from "
                   f"{len(gone.files)} file(s) in {folder}")
    else:
        click.echo(f"serving log: no lines of {entity} {key_text} in {folder}")
    click.echo(f"not covered: {not_covered}")


def _print_forgotten(report) -> None:
    """What ``forget`` deleted online and what is left in the warehouse, as text."""
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
