"""``featurestore serve``, ``featurestore lookup`` and ``featurestore package-lambda``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from featurestore.cli import get_project


def local_app(project, *, cache: bool = True, cache_ttl_ms: float = 1000,
              deadline_ms: float = 250, consistent_read: bool = False,
              serving_log_sample: float = 1.0, log_serving: bool = True):
    """The lookup app for this project on this machine: the same code as in Lambda."""
    from featurestore.dynamodb import resolve_endpoint
    from lookup.access import AccessPolicy
    from lookup.cache import TTLCache
    from lookup.handler import LookupApp
    from lookup.reads import DynamoReader
    from lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
    from lookup.serving_log import ServingLog

    # Through the snapshot, so that local serving sees exactly what a package would.
    snapshot = build_snapshot(project.catalog())
    catalog = catalog_from_snapshot(snapshot, "feature_defs/")
    reader = DynamoReader.within_deadline(
        resolve_endpoint(project), project.aws_region, project.online_table,
        deadline_s=deadline_ms / 1000, consistent_read=consistent_read, max_pool_connections=32)
    serving_log = None
    if log_serving:
        serving_log = ServingLog(sample_rate=serving_log_sample,
                                 folder=Path(project.dbt_env()["FEATURESTORE_SERVING_LOG_DIR"]))
    return LookupApp(catalog, reader, cache=TTLCache(ttl_s=cache_ttl_ms / 1000) if cache
                     else None, access=AccessPolicy.from_env(project.root / "api_keys.json"),
                     serving_log=serving_log, built_at=snapshot["built_at"])


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="0 picks a free port.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="The in-memory hot-key cache.")
@click.option("--cache-ttl-ms", default=1000.0, show_default=True,
              help="How long a cached item is served.")
@click.option("--deadline-ms", default=250.0, show_default=True,
              help="DynamoDB read budget; past it, defaults are served (degraded).")
@click.option("--consistent-read", is_flag=True, help="Strongly consistent DynamoDB reads.")
@click.option("--log-sample", default=1.0, show_default=True,
              help="Share of responses written to warehouse/serving_log/.")
@click.pass_context
def serve_command(ctx, host, port, cache, cache_ttl_ms, deadline_ms, consistent_read,
                  log_sample):
    """Serve the lookup endpoint locally (the Lambda handler behind an HTTP server).

    \b
    Example:
      featurestore serve --port 8080
      curl 'localhost:8080/v1/features/user/42?features=user_transactions:txn_count_7d'
    """
    from lookup.http_server import make_server

    project = get_project(ctx)
    app = local_app(project, cache=cache, cache_ttl_ms=cache_ttl_ms, deadline_ms=deadline_ms,
                    consistent_read=consistent_read, serving_log_sample=log_sample)
    server = make_server(app, host, port)
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"serving {len(app.catalog.views)} feature views on "
               f"http://{bound_host}:{bound_port} (table {project.online_table}); "
               "Ctrl-C stops", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def parse_key(entity, text: str) -> dict:
    """``42`` for a one-column key, ``user_id=42,device_id=d-1`` for any key."""
    from featurestore.errors import LookupRequestError

    if "=" not in text:
        if len(entity.key_names) != 1:
            raise LookupRequestError(
                f"entity `{entity.name}` has keys {', '.join(entity.key_names)}: write "
                + ",".join(f"{k}=VALUE" for k in entity.key_names))
        return {entity.key_names[0]: text}
    return dict(part.split("=", 1) for part in text.split(","))


@click.command("lookup")
@click.argument("entity")
@click.argument("key")
@click.option("--features", "-f", required=True,
              help="Comma-separated view:feature names, or whole views by name.")
@click.option("--at", "at", default=None,
              help="Evaluate statuses as of this UTC time (ISO-8601) instead of now.")
@click.pass_context
def lookup_command(ctx, entity, key, features, at):
    """Look up one entity's features in the online store and print the JSON answer.

    \b
    Example:
      featurestore lookup user 42 --features user_transactions:txn_count_7d,user_profile
      featurestore lookup user_device user_id=42,device_id=d-0001 -f device_seen_before
    """
    import datetime as dt

    from featurestore.errors import LookupRequestError
    from lookup import service

    project = get_project(ctx)
    app = local_app(project, cache=False, deadline_ms=2000, log_serving=False)
    entity_obj = service.resolve_entity(app.catalog, entity)
    now = None
    if at:
        try:
            now = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise LookupRequestError(f"--at: {at!r} is not an ISO-8601 time like "
                                     "2026-05-01T12:00:00Z") from None
    requests = [service.entity_request(app.catalog, entity_obj.name,
                                       [parse_key(entity_obj, key)], features)]
    # No API key here: the operator at the terminal holds the AWS credentials that read
    # the table directly anyway; keys guard the network endpoint.
    outcome = service.lookup(requests, app.reader, now=now)
    if outcome.degraded:
        click.echo(f"warning: DynamoDB did not answer, defaults served: {outcome.error}",
                   err=True)
    click.echo(json.dumps(service.response_body(requests, outcome, single=True), indent=2))


@click.command("package-lambda")
@click.option("--output", "-o", default="dist/lookup-lambda.zip", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the zip.")
@click.pass_context
def package_lambda_command(ctx, output):
    """Build the deployable Lambda zip (handler lookup.handler.handler) with the catalog
    baked in; deploy it with deploy/template.yaml.

    \b
    Example:
      featurestore package-lambda -o dist/lookup-lambda.zip
      sam deploy --template-file deploy/template.yaml --guided
    """
    from lookup.package import build_zip

    project = get_project(ctx)
    path = Path(output)
    if not path.is_absolute():
        path = project.root / path
    summary = build_zip(project.catalog(), path,
                        progress=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {summary['path']} ({summary['bytes']:,} bytes, {summary['files']} "
               f"files; handler {summary['handler']}; views: {', '.join(summary['views'])})")
