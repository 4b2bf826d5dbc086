"""``featurestore backfill``, ``compare``, ``promote``, ``rollback``, ``retire`` and
``versions``: feature versions in production (docs/versions.md).

Every command that changes what is served names the store it talks to first, and takes a
``--reason`` that the registry keeps with who and when.
"""

from __future__ import annotations

import datetime as dt

import click

from featurestore.apps.cli.shared import (
    announce_store,
    emit_json,
    format_table,
    get_project,
    json_option,
    local_option,
    say,
)


def _version_option(required: bool = True, name: str = "--version", help_text: str = ""):
    return click.option(name, "version", type=click.IntRange(1, 2**31 - 1),
                        required=required, help=help_text or "The view version (a number).")


def _reason_option(command):
    return click.option("--reason", "-m", required=True,
                        help="Why (recorded in the registry with who and when).")(command)


def _parse_date(value: str | None) -> dt.datetime | None:
    from featurestore.dtypes import utc_naive
    from featurestore.errors import RequestError

    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"--from {value!r} is not an ISO-8601 date or time; write it like "
                           "2026-05-01 or 2026-05-01T12:00:00Z") from None
    return utc_naive(moment)


def _duration(value: str, option: str = "--pinned-within") -> dt.timedelta:
    from featurestore.durations import parse_duration
    from featurestore.errors import RequestError

    try:
        return dt.timedelta(seconds=parse_duration(value))
    except ValueError as exc:
        raise RequestError(f"{option}: {exc}") from None


@click.command("backfill")
@click.argument("view_name", metavar="VIEW")
@_version_option(help_text="The version to build and sync (never the one served).")
@click.option("--from", "history_from", default=None,
              help="Start the version's history at this date (its model must call "
                   "featurestore.history_from).")
@click.option("--full-refresh", is_flag=True, help="Rebuild the version's table from scratch.")
@click.option("--no-gate", is_flag=True,
              help="Sync without the freshness and quality gates (logged).")
@click.option("--batch-size", default=5_000, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows per sync batch (each batch is validated before it is written).")
@local_option
@json_option
@click.pass_context
def backfill_command(ctx, view_name, version, history_from, full_refresh, no_gate, batch_size,
                     local, as_json):
    """Build a new version's history (dbt, incremental where the model is) and sync its
    latest rows to its own items (VIEW#vN), without touching the version served.

    Killed, it is rerun: the model's table and the sync's watermark say what is left.

    \b
    Example:
      featurestore backfill user_transactions --version 2 --local
      featurestore backfill user_transactions --version 2 --from 2026-04-01 --local
    """
    from featurestore.apps.cli.online import ProgressBars
    from featurestore.apps.versions import backfill

    project = get_project(ctx, local=local)
    announce_store(project)
    result = backfill(project, view_name, version, history_from=_parse_date(history_from),
                      full_refresh=full_refresh, gate=not no_gate, batch_size=batch_size,
                      say=say, reporter=ProgressBars(quiet=as_json))
    if as_json:
        emit_json(result.to_dict())
        return
    items = sum(r.written for r in result.sync.results)
    click.echo(f"{view_name} v{version}: built ({result.model}) and synced, {items:,} "
               f"item(s) written. Next: `featurestore compare {view_name} --from <served> "
               f"--to {version}`.")


@click.command("compare")
@click.argument("view_name", metavar="VIEW")
@_version_option(name="--from", help_text="The version compared against (usually served).")
@click.option("--to", "to_version", type=click.IntRange(1, 2**31 - 1), required=True,
              help="The version judged.")
@click.option("--as-of", default=None, help="Compare the latest values as of this UTC time.")
@click.option("--live", "live_window", default=None, metavar="WINDOW",
              help="Compare on live traffic instead: the serving log's shadow reads of this "
                   "window (e.g. 24h) up to --as-of.")
@click.option("--serving-log", default=None, type=click.Path(),
              help="With --live: the serving log folder or file (default: the project's).")
@json_option
@click.pass_context
def compare_command(ctx, view_name, version, to_version, as_of, live_window, serving_log,
                    as_json):
    """Compare two versions' latest values per feature: the share of entities whose
    value differs, PSI, null rates, and each version's newest feature_ts.

    The figures go to featurestore.gate_results (suite compare; with --live, suite
    shadow); exits 2 when a threshold of the contract's `compare:` is passed. --live
    reads the pairs of answers that lookups with a shadow version logged.

    \b
    Example:
      featurestore compare user_transactions --from 1 --to 2
      featurestore compare user_transactions --from 1 --to 2 --live 24h
    """
    from featurestore.apps.versions import compare
    from featurestore.apps.versions.comparison import render
    from featurestore.errors import GateFailed

    project = get_project(ctx)
    from featurestore.apps.cli.shared import parse_as_of

    moment = parse_as_of(as_of)
    report = compare(project, view_name, version, to_version, as_of=moment,
                     live_window=_duration(live_window, "--live") if live_window else None,
                     serving_log=serving_log)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(render(report))
    if not report.passed:
        raise GateFailed(f"compare {view_name} v{version} -> v{to_version}: "
                         f"{len(report.failures())} threshold(s) passed; a promotion would "
                         "be refused without --force.")


@click.command("promote")
@click.argument("view_name", metavar="VIEW")
@_version_option(help_text="The version to serve by default.")
@_reason_option
@click.option("--force", is_flag=True,
              help="Promote even if compare fails or the version was never synced "
                   "(recorded with the failures).")
@local_option
@json_option
@click.pass_context
def promote_command(ctx, view_name, version, reason, force, local, as_json):
    """Serve VERSION to every lookup that names the view without a version.

    Compares it with the version served first and refuses past the contract's
    thresholds unless --force. Lookups pick it up within their refresh interval
    (FEATURESTORE_LOOKUP_VERSION_REFRESH_MS, 1 s by default), without a redeploy; a
    running `serve` reloads its contracts if it started before VERSION was declared. A
    Lambda package (dist/lookup-lambda.zip) whose snapshot lacks VERSION is named: a
    lookup deployed from it answers 503 for the view until it is redeployed.

    \b
    Example:
      featurestore promote user_transactions --version 2 --reason "24h window" --local
    """
    from featurestore.apps.versions import promote

    project = get_project(ctx, local=local)
    announce_store(project)
    change = promote(project, view_name, version, reason=reason, force=force, say=say)
    if as_json:
        emit_json(change.to_dict())
        return
    if change.action == "unchanged":
        click.echo(f"{view_name}: v{version} is already served.")
        return
    if change.forced_over:
        say(f"WARNING: --force: promoted over {len(change.forced_over)} failed check(s):")
        for line in change.forced_over:
            say(f"  {line}")
    click.echo(f"{view_name}: v{change.previous} -> v{version} promoted by "
               f"{change.event.by_user} (event {change.event.event_id}). "
               f"`featurestore rollback {view_name}` returns to v{change.previous}.")
    for line in change.lookups:
        say(line)


@click.command("rollback")
@click.argument("view_name", metavar="VIEW")
@_reason_option
@local_option
@json_option
@click.pass_context
def rollback_command(ctx, view_name, reason, local, as_json):
    """Serve again the version served before the last promotion or rollback.

    \b
    Example:
      featurestore rollback user_transactions --reason "v2 skews on live traffic" --local
    """
    from featurestore.apps.versions import rollback

    project = get_project(ctx, local=local)
    announce_store(project)
    change = rollback(project, view_name, reason=reason)
    if as_json:
        emit_json(change.to_dict())
        return
    click.echo(f"{view_name}: v{change.previous} -> v{change.version} rolled back by "
               f"{change.event.by_user} (event {change.event.event_id}).")
    for line in change.lookups:
        say(line)


@click.command("retire")
@click.argument("view_name", metavar="VIEW")
@_version_option(help_text="The version to retire.")
@_reason_option
@click.option("--force", is_flag=True,
              help="Retire even if a recent training set pinned it (recorded). Never "
                   "overrides a version that is served.")
@click.option("--pinned-within", default="30d", show_default=True,
              help="How far back a training set that pinned the version counts.")
@click.option("--scan", is_flag=True,
              help="Find the items by a Scan of the table (also entities no longer in the "
                   "warehouse) instead of by the version's keys.")
@click.option("--batch-keys", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Keys deleted between two saves of the resume cursor.")
@click.option("--drop-offline", is_flag=True,
              help="Drop the retired version's warehouse table (once the contract marks it "
                   "`retired: true`).")
@local_option
@json_option
@click.pass_context
def retire_command(ctx, view_name, version, reason, force, pinned_within, scan, batch_keys,
                   drop_offline, local, as_json):
    """Delete a version's online items and mark it retired in the registry.

    Refused while the version is served, or was pinned by a training set recorded
    recently. Batched and resumable: a killed run is finished by the next. The offline
    table is kept until --drop-offline (docs/versions.md).

    \b
    Example:
      featurestore retire user_transactions --version 1 --reason "v2 promoted" --local
    """
    from featurestore.apps import versions

    project = get_project(ctx, local=local)
    if drop_offline:
        relation = versions.drop_offline(project, view_name, version)
        click.echo(f"dropped {relation} ({view_name} v{version}, retired).")
        return
    announce_store(project)
    result = versions.retire(project, view_name, version, reason=reason, force=force,
                    pinned_within=_duration(pinned_within), scan=scan,
                    batch_keys=batch_keys, say=say)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.already:
        click.echo(f"{view_name} v{version} was already retired.")
        return
    if result.forced_over:
        say(f"WARNING: --force: retired over {len(result.forced_over)} pin(s):")
        for line in result.forced_over:
            say(f"  {line}")
    resumed = f", resumed after {result.resumed_from}" if result.resumed_from else ""
    click.echo(f"{view_name} v{version} retired: {result.deleted:,} online item(s) deleted"
               f"{resumed}. Its warehouse table is kept; docs/versions.md says how to drop "
               "it.")


@click.command("versions")
@click.argument("view_name", metavar="VIEW")
@local_option
@json_option
@click.pass_context
def versions_command(ctx, view_name, local, as_json):
    """A view's versions: served, synced, retired; the serving pointer and the history.

    \b
    Example:
      featurestore versions user_transactions --local
    """
    from featurestore.apps.versions import status

    project = get_project(ctx, local=local)
    announce_store(project)
    document = status(project, view_name)
    if as_json:
        emit_json(document)
        return
    if document["online_problem"]:
        say(f"online store not read: {document['online_problem']}")
    rows = [[f"v{v['version']}", "yes" if v["served"] else "",
             {True: "yes", False: "no", None: "-"}[v["synced"]] if not v["retired"] else "-",
             "yes" if v["retired"] else "", v["relation"], v["features"],
             (v["changes"] or "")[:60]] for v in document["versions"]]
    click.echo(format_table(rows, ["VERSION", "SERVED", "SYNCED", "RETIRED", "RELATION",
                                   "FEATURES", "CHANGES"]))
    if document["events"]:
        click.echo("history:")
        for event in document["events"]:
            forced = " (forced)" if event["forced"] else ""
            click.echo(f"  {event['at']:%Y-%m-%d %H:%M:%S} {event['action']:<14} "
                       f"v{event['version']} by {event['by']}{forced}"
                       + (f": {event['reason']}" if event["reason"] else ""))
