"""``featurestore online restore``: a whole online table rebuilt from the warehouse
(``sync/restore.py``), a command of the ``online`` group."""

from __future__ import annotations

import click

from featurestore.apps.cli.shared import (
    announce_store,
    emit_json,
    get_project,
    json_option,
    local_option,
    parse_as_of,
    say,
)


@click.command("restore")
@click.option("--table", required=True,
              help="The table to rebuild (created if missing), in the online store the "
                   "settings name (its primary region).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Parallel DynamoDB writers.")
@click.option("--no-gate", is_flag=True,
              help="Restore built states the gates never judged without judging them "
                   "(logged); a state a gate or a dbt test refused is still held back.")
@click.option("--as-of", help="Restore the latest rows as of this ISO-8601 time instead of "
              "now (as `sync --as-of`).")
@local_option
@json_option
@click.pass_context
def restore_command(ctx: click.Context, table: str, threads: int, no_gate: bool,
                    as_of: str | None, local: bool, as_json: bool) -> None:
    """Rebuild a whole online table from the warehouse: every live version of every
    online view, first loaded, with the serving pointers the registry's version log
    gives.

    A built state a gate or a dbt test refused is held back (exit 2), as by a sync; a view
    that fails does not stop the others (exit 1); a store that stops answering ends the
    run (exit 3). Writes the primary region only: a global table's replica follows.

    \b
    Example:
      featurestore online restore --local --table featurestore_online_restored
    """
    from featurestore.sync.restore import restore_table

    project = get_project(ctx, local=local)
    announce_store(project)
    report = restore_table(project, table, threads=threads, as_of=parse_as_of(as_of),
                           gate=not no_gate, reporter=_Lines(quiet=as_json))
    for name, failures in report.run.refused.items():
        say(f"refused, not restoring {name}: {'; '.join(failures)}")
    for name, error in report.run.failed.items():
        say(f"failed, {name}: {error}")
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"table {table} {'created and ' if report.created else ''}restored: "
                   f"{report.items:,} items of {len(report.run.results)} view version(s) "
                   f"in {report.seconds:.1f} s.")
        for view, pointer in sorted(report.pointers.items()):
            if pointer.event_id is not None:
                served = f"v{pointer.served}" if pointer.served is not None else "base"
                retired = ", ".join(f"v{v}" for v in sorted(pointer.retired)) or "none"
                click.echo(f"  {view}: serves {served} (retired: {retired})")
    problem = report.run.problem(details=False)
    if problem is not None:
        raise problem


class _Lines:
    """The restore's reporter (a ``SyncReporter``): a line on stderr when a view version
    starts, with its rows, and its summary on stdout when it is done."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def gate_skipped(self, views) -> None:
        say(f"WARNING: --no-gate: restoring {len(views)} view(s) whose built states the "
            "gates never judged WITHOUT judging them.")

    def view_started(self, view, rows_to_read: int) -> None:
        say(f"{view.name} v{view.version}: {rows_to_read:,} rows to load")

    def view_progress(self, view, rows: int, counters) -> None:
        """(no bar: one line when the view starts, one when it is done)"""

    def view_finished(self, view, result) -> None:
        if result is not None and not self.quiet:
            click.echo(result.summary())
