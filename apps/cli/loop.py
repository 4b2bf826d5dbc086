"""``featurestore run``: the loop from landing files to the online store."""

from __future__ import annotations

import signal

import click

from featurestore.apps.cli.shared import (
    announce_store,
    emit_json,
    get_project,
    json_option,
    local_option,
    say,
)


def _seconds(ctx, param, value: str) -> int:
    from featurestore.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("run")
@click.option("--every", default="30s", show_default=True, callback=_seconds,
              help="How often a cycle starts (a longer cycle starts the next at once).")
@click.option("--once", is_flag=True, help="One cycle, then exit (for cron, Airflow, CI).")
@click.option("--no-gate", is_flag=True,
              help="Publish without the freshness and quality gates (logged); a state a "
                   "gate or a dbt test refused before is still held back.")
@click.option("--no-sync", is_flag=True, help="Ingest and build only; publish nothing.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Parallel DynamoDB writers.")
@click.option("--history", "history", is_flag=True,
              help="Print the recent cycles recorded in featurestore.loop_cycles instead.")
@local_option
@json_option
@click.pass_context
def run_command(ctx, every: int, once: bool, no_gate: bool, no_sync: bool, threads: int,
                history: bool, local: bool, as_json: bool) -> None:
    """Ingest new files, build what they reach, gate, sync: one cycle at a time.

    Each cycle is recorded in featurestore.loop_cycles (files, events, quarantined
    files, files built and still pending, rows per view, items written and skipped,
    views held back and why, seconds per stage, freshness lag per view). A view whose
    built state a gate or a dbt test refused stays unpublished until a later state
    passes. SIGTERM or Ctrl-C lets the cycle in progress finish, then exits; after a
    kill, the next start resumes from what was recorded. With --once, the exit code
    says how the cycle went: 0 ok, 1 a build failed, 2 a view held back, 3 the
    warehouse or DynamoDB did not answer.

    With --json, each cycle is one JSON line on stdout (the fields of
    featurestore.loop_cycles); --history prints the recent cycles as one JSON document.

    \b
    Examples:
      featurestore run --local --every 30s
      featurestore run --once
      featurestore run --once --json
      featurestore run --history
    """
    from featurestore.apps.loop import LoopOptions, recent_cycles, run_loop

    project = get_project(ctx, local=local)
    if history:
        emit_json(recent_cycles(project))
        return
    if not no_sync:
        announce_store(project)
    if no_gate and not no_sync:
        say("WARNING: --no-gate: cycles publish without their freshness and quality gates.")
    stopping = []

    def finish_then_stop(signum, frame) -> None:
        if not stopping:
            say(f"{signal.Signals(signum).name}: finishing the cycle in progress, then "
                "stopping")
        stopping.append(signum)

    previous = {sig: signal.signal(sig, finish_then_stop)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run_loop(project, every=every, once=once,
                 options=LoopOptions(gate=not no_gate, sync=not no_sync, threads=threads),
                 stop=lambda: bool(stopping),
                 on_cycle=(lambda cycle: emit_json(_cycle_document(cycle), line=True))
                 if as_json else (lambda cycle: click.echo(cycle.summary())),
                 progress=lambda line: say(f"run: {line}"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _cycle_document(cycle) -> dict:
    """A cycle as ``run --json`` prints it: its fields, times in ISO-8601."""
    return cycle.document()
