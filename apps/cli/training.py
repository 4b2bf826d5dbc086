"""``featurestore training-set``."""

from __future__ import annotations

import click

from featurestore.apps.cli.shared import emit_json, get_project, json_option, say


@click.command("training-set")
@click.option("--spine", "spine_path", required=True,
              type=click.Path(dir_okay=False),
              help="Parquet or CSV: the views' key columns, the event time column, anything "
              "else is carried through.")
@click.option("--features", required=True,
              help="Comma-separated VIEW or VIEW:FEATURE items; VIEW@vN:FEATURE pins a "
              "version (unpinned: the version served).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The Parquet file to write; the manifest goes to OUT.manifest.json.")
@click.option("--event-ts", default="event_ts", show_default=True,
              help="The spine's event time column (naive UTC, or timezone-aware).")
@click.option("--known-at-event", is_flag=True,
              help="Only use feature rows already loaded into the warehouse at event_ts.")
@click.option("--allow-retired", is_flag=True,
              help="Build a VIEW@vN pin of a retired version anyway (warned, and recorded "
              "in the manifest); without it, refused: a model trained on it cannot be served.")
@json_option
@click.pass_context
def training_set_command(ctx, spine_path: str, features: str, out_path: str, event_ts: str,
                         known_at_event: bool, allow_retired: bool, as_json: bool) -> None:
    """Build a point-in-time-correct training set from a spine.

    Each spine row gets, per view, the last value with feature_ts <= event_ts within
    the view's TTL, else the contract's default. Output columns are VIEW__FEATURE and
    VIEW__feature_ts.

    \b
    Example:
      featurestore training-set --spine labels.parquet \\
        --features user_transactions,merchant_risk:chargeback_rate_30d --out train.parquet
      featurestore training-set --spine labels.parquet --features user_transactions \\
        --out train.parquet --json
    """
    from featurestore.training import build_training_set, manifest_path

    built = build_training_set(get_project(ctx), spine_path, features, out=out_path,
                               event_ts=event_ts, known_at_event=known_at_event,
                               progress=lambda line: say(f"training-set: {line}"),
                               allow_retired=allow_retired)
    output = built.manifest["output"]
    if as_json:
        emit_json({"path": output["path"], "rows": output["rows"],
                   "manifest_path": str(manifest_path(output["path"])),
                   "manifest": built.manifest})
        return
    click.echo(f"{output['rows']:,} rows written to {output['path']} "
               f"(manifest: {manifest_path(output['path'])})")
