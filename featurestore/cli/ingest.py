"""``featurestore ingest``."""

from __future__ import annotations

import click

from featurestore.cli.shared import emit_json, get_project, json_option, say


@click.command("ingest")
@click.option("--table", "tables", multiple=True,
              help="A source table to load (SOURCE.TABLE or TABLE; repeatable); default: "
              "every source table with a landing folder.")
@json_option
@click.pass_context
def ingest_command(ctx: click.Context, tables: tuple[str, ...], as_json: bool) -> None:
    """Load new landed files into their raw tables, each file exactly once.

    The tables are the dbt sources whose meta names a landing folder
    (meta.featurestore.landing); every file's name, size, hash and rows are recorded in
    featurestore.ingested_files. A file that does not fit its table is moved to the
    landing folder's _quarantine/ with the reason beside it, and the others load on.

    \\b
    Example:
      featurestore ingest
      featurestore ingest --table demo.transactions --json
    """
    from featurestore.ingest import ingest

    report = ingest(get_project(ctx), tables=list(tables) or None,
                    progress=lambda line: say(f"ingest: {line}"))
    if as_json:
        emit_json(report.to_dict())
        return
    click.echo(f"{report.count('loaded')} file(s) loaded ({report.rows:,} rows), "
               f"{report.count('quarantined')} quarantined, {report.count('skipped')} "
               "already loaded")
