"""``featurestore training-set``."""

from __future__ import annotations

import click

from featurestore.apps.cli.shared import emit_json, get_project, json_option, say


@click.command("training-set")
@click.option("--spine", "spine_path", required=True,
              type=click.Path(dir_okay=False),
              help="Parquet or CSV: the views' key columns, the event time column, anything "
              "else is carried through.")
@click.option("--features", default=None,
              help="Comma-separated VIEW or VIEW:FEATURE items; VIEW@vN:FEATURE pins a "
              "version (unpinned: the version served).")
@click.option("--service", default=None,
              help="A feature service of feature_services/ instead of --features: its "
              "features in its order, its transformations applied, their parameters frozen "
              "in the registry.")
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
def training_set_command(ctx, spine_path: str, features: str | None, service: str | None,
                         out_path: str, event_ts: str, known_at_event: bool,
                         allow_retired: bool, as_json: bool) -> None:
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
      featurestore training-set --spine labels.parquet --service fraud_model \\
        --out train.parquet
    """
    from featurestore.dialects.duckdb import allocator_for_joins
    from featurestore.training import build_training_set, manifest_path

    allocator_for_joins()  # a whole process for one join: before DuckDB is imported
    if (features is None) == (service is None):
        raise click.UsageError("name the features with --features VIEW[:FEATURE],... or a "
                               "feature service with --service NAME (one of the two)")
    options = {"out": out_path, "event_ts": event_ts, "known_at_event": known_at_event,
               "progress": lambda line: say(f"training-set: {line}"),
               "allow_retired": allow_retired}
    if service is not None:
        from featurestore.feature_services.freeze import build_service_training_set

        built = build_service_training_set(get_project(ctx), spine_path, service, **options)
    else:
        built = build_training_set(get_project(ctx), spine_path, features, **options)
    output = built.manifest["output"]
    if as_json:
        emit_json({"path": output["path"], "rows": output["rows"],
                   "manifest_path": str(manifest_path(output["path"])),
                   "manifest": built.manifest})
        return
    click.echo(f"{output['rows']:,} rows written to {output['path']} "
               f"(manifest: {manifest_path(output['path'])})")
    frozen = built.manifest.get("service")
    if frozen:
        click.echo(f"parameters frozen: {frozen['name']} v{frozen['version']}, parameter set "
                   f"{frozen['parameters_version']} (sha256 {frozen['parameters_sha256']})")
