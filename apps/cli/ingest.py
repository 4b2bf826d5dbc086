"""``featurestore ingest``."""

from __future__ import annotations

import click

from featurestore.apps.cli.shared import emit_json, get_project, json_option, say


@click.command("ingest")
@click.option("--table", "tables", multiple=True,
              help="A source table to load (SOURCE.TABLE or TABLE; repeatable); default: "
              "every source table with a landing folder. With --unload: the table of FILE, "
              "when its name is loaded in several.")
@click.option("--settle", type=click.FloatRange(min=0), default=None,
              help="Seconds a CSV or JSON lines file must be unchanged before it is taken "
              "(default: FEATURESTORE_INGEST_SETTLE, 5); 0 for writers that rename whole "
              "files into place.")
@click.option("--unload", "unload", metavar="FILE", default=None,
              help="Take the rows of the loaded file FILE (its name) out of its raw table "
              "instead, and record it as unloaded.")
@json_option
@click.pass_context
def ingest_command(ctx: click.Context, tables: tuple[str, ...], settle: float | None,
                   unload: str | None, as_json: bool) -> None:
    """Load new landed files into their raw tables, each file exactly once.

    The tables are the dbt sources whose meta names a landing folder
    (meta.featurestore.landing, rendered now with this environment); every file's name,
    size, hash and rows are recorded in featurestore.ingested_files. A file that does not
    fit its table (a column, a value, a header) is moved to the landing folder's
    _quarantine/ with the reason beside it (file, row, column), and the others load on.
    loaded_at is the loader's: a producer's value outside this run's window is clamped.

    \b
    Example:
      featurestore ingest
      featurestore ingest --table demo.transactions --json
      featurestore ingest --unload upload.csv
    """
    project = get_project(ctx)
    if unload is not None:
        _unload(project, unload, tables, as_json)
        return
    from featurestore.ingest import ingest

    report = ingest(project, tables=list(tables) or None, settle=settle,
                    progress=lambda line: say(f"ingest: {line}"))
    if as_json:
        emit_json(report.to_dict())
        return
    waiting = report.count("waiting")
    click.echo(f"{report.count('loaded')} file(s) loaded ({report.rows:,} rows), "
               f"{report.count('quarantined')} quarantined, {report.count('skipped')} "
               "already loaded" + (f", {waiting} waiting to settle" if waiting else ""))


def _unload(project, name: str, tables: tuple[str, ...], as_json: bool) -> None:
    from featurestore.errors import RequestError
    from featurestore.ingest import unload_file
    from featurestore.ingest.messages import printable

    if len(tables) > 1:
        raise RequestError("--unload takes one --table.")
    result = unload_file(project, name, table=tables[0] if tables else None)
    if as_json:
        emit_json(result.__dict__)
        return
    click.echo(f"unloaded {printable(result.name)} from {result.table}: {result.rows:,} "
               f"row{'' if result.rows == 1 else 's'} removed")
    if result.models:
        click.echo(f"The incremental models built from {result.table} still hold what these "
                   f"rows made ({', '.join(result.models)}); rebuild them:\n"
                   f"  featurestore build --full-refresh --select source:{result.table}+\n"
                   "then repair the online store: featurestore sync --full-refresh")
