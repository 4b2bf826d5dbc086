"""``featurestore serve``, ``featurestore lookup`` and ``featurestore package-lambda``."""

from __future__ import annotations

from pathlib import Path

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


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="0 picks a free port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes on the one port (pre-forked, each with its own "
                   "DynamoDB client and cache); 1 serves from this process.")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="The in-memory hot-key cache.")
@click.option("--cache-ttl-ms", default=1000.0, show_default=True,
              help="How long a cached item is served.")
@click.option("--deadline-ms", default=250.0, show_default=True,
              help="DynamoDB read budget; past it, defaults are served (degraded).")
@click.option("--consistent-read", is_flag=True, help="Strongly consistent DynamoDB reads.")
@click.option("--log-sample", default=1.0, show_default=True,
              help="Share of responses written to warehouse/serving_log/.")
@click.option("--allow-anonymous", is_flag=True,
              help="Serve requests without an API key (public and internal features) on any "
                   "address; on loopback without keys they are served anyway.")
@local_option
@click.pass_context
def serve_command(ctx, host, port, workers, cache, cache_ttl_ms, deadline_ms, consistent_read,
                  log_sample, allow_anonymous, local):
    """Serve the lookup endpoint locally (the Lambda handler behind an HTTP server).

    Without API keys (api_keys.json, `featurestore keys create`), requests on a loopback
    address are anonymous: public and internal features, never pii. On another address
    keys are needed, or --allow-anonymous. With --local, it follows the project's DynamoDB
    Local when `featurestore online stop/start` moves it. The feature catalog that
    `featurestore catalog` wrote (target/catalog/) is served at /catalog/.

    With --workers N, N processes answer on the port: SIGTERM (or Ctrl-C) stops them
    all, a worker that dies is replaced, and one that cannot start stops the server
    (exit 1). Each keeps its own cache and /metrics.

    \b
    Example:
      featurestore serve --local --port 8080
      featurestore serve --local --port 8080 --workers 4
      curl 'localhost:8080/v1/features/user/42?features=user_transactions:txn_count_7d'
    """
    import dataclasses

    from featurestore.lookup.http_server import make_server
    from featurestore.lookup.local import local_app

    project = get_project(ctx, local=local)
    announce_store(project)
    if allow_anonymous:
        project.settings = project.settings.replace(lookup=dataclasses.replace(
            project.settings.lookup, allow_anonymous=True))

    def build_app():
        return local_app(project, cache=cache, cache_ttl_ms=cache_ttl_ms,
                         deadline_ms=deadline_ms, consistent_read=consistent_read,
                         serving_log_sample=log_sample, anonymous_without_keys=loopback,
                         follow_local=local)

    loopback = _is_loopback(host)
    app = build_app()
    _refuse_locked(app, host)
    catalog_dir = project.target_dir / "catalog"
    if workers > 1:
        ctx.exit(_serve_fleet(build_app, app, host, port, workers, catalog_dir))
    server = make_server(app, host, port, catalog_dir=catalog_dir)
    _announce(app, server.server_address, catalog_dir)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _refuse_locked(app, host: str) -> None:
    from featurestore.errors import RequestError

    if app.access.locked:
        raise RequestError(
            f"--host {host}: other machines could call this server, and no API key is "
            "configured. Create one (`featurestore keys create --name NAME --grant "
            "public,internal`), or serve anonymously on purpose with --allow-anonymous.")


def _serve_fleet(build_app, app, host: str, port: int, workers: int, catalog_dir) -> int:
    """``serve --workers N``: bind once, fork the workers (each builds its own app, so its
    own DynamoDB client), supervise them (lookup/workers.py); the exit status."""
    import signal

    from featurestore.lookup.http_server import make_server
    from featurestore.lookup.workers import Fleet, listen

    listener = listen(host, port)
    _announce(app, listener.getsockname(), catalog_dir)

    def serve(sock):
        return make_server(build_app(), catalog_dir=catalog_dir, listener=sock)

    fleet = Fleet(listener, workers, serve, say)
    status = fleet.run()
    if fleet.stopped_by == signal.SIGTERM:  # exit as every command does after SIGTERM
        signal.raise_signal(signal.SIGTERM)
    return status


def _announce(app, address, catalog_dir) -> None:
    bound_host, bound_port = address[:2]
    say(f"access: {app.access.describe()}")
    say(f"serving {len(app.catalog.views)} feature views on http://{bound_host}:{bound_port}"
        " (OpenAPI at /openapi.json); Ctrl-C stops")
    say(f"catalog: http://{bound_host}:{bound_port}/catalog/ ("
        + ("from " if (catalog_dir / "index.html").exists() else "not built yet: run "
           "`featurestore catalog` to write ") + f"{catalog_dir})")


def _is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (a name is resolved)."""
    import ipaddress
    import socket

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback
                                   for a in addresses)


def parse_key(entity, text: str) -> dict:
    """``42`` for a one-column key, ``user_id=42,device_id=d-1`` for any key."""
    from featurestore.errors import RequestError

    if "=" not in text:
        if len(entity.key_names) != 1:
            raise RequestError(
                f"entity `{entity.name}` has keys {', '.join(entity.key_names)}: write "
                + ",".join(f"{k}=VALUE" for k in entity.key_names))
        return {entity.key_names[0]: text}
    pairs = [part.split("=", 1) for part in text.split(",")]
    bad = [part for part in pairs if len(part) != 2]
    if bad:
        raise RequestError(f"key {text!r}: write it as NAME=VALUE,NAME=VALUE "
                           f"({', '.join(entity.key_names)})")
    return dict(pairs)


@click.command("lookup")
@click.argument("entity")
@click.argument("key")
@click.option("--features", "-f", default=None,
              help="Comma-separated view:feature names, or whole views by name; "
              "view@vN:feature pins a version.")
@click.option("--service", default=None,
              help="A feature service instead of --features: its model-ready vector, raw "
              "and transformed with its frozen parameters.")
@click.option("--at", "at", default=None,
              help="Evaluate statuses as of this UTC time (ISO-8601) instead of now.")
@click.option("--allow-degraded", is_flag=True,
              help="When DynamoDB does not answer, print the contract defaults (marked "
                   "degraded) and exit 0, instead of failing with exit 3.")
@click.option("--request", "-r", "request", multiple=True, metavar="FIELD=VALUE",
              help="A request field of the on-demand features asked, as the GET route's "
                   "request.FIELD=VALUE (repeat it for each field).")
@local_option
@json_option
@click.pass_context
def lookup_command(ctx, entity, key, features, service, at, allow_degraded, request, local,
                   as_json):
    """Look up one entity's features in the online store.

    Prints one line per feature (value, status, feature_ts); --json prints the
    endpoint's JSON answer. A store that does not answer exits 3, unless
    --allow-degraded asks for the defaults the endpoint would serve.

    \b
    Example:
      featurestore lookup --local user 42 -f user_transactions:txn_count_7d,user_profile
      featurestore lookup --local user_device user_id=42,device_id=d-0001 -f device_seen_before
      featurestore lookup --local user 42 --service fraud_model
      featurestore lookup --local user 42 -f txn_context -r amount=120 -r merchant_country=FR
    """
    import datetime as dt

    from featurestore.errors import RequestError, StoreUnavailable
    from featurestore.feature_refs import resolve_entity
    from featurestore.lookup.local import lookup_keys, service_keys

    if (features is None) == (service is None):
        raise click.UsageError("name the features with --features VIEW[:FEATURE],... or a "
                               "feature service with --service NAME (one of the two)")
    project = get_project(ctx, local=local)
    announce_store(project)
    entity_obj = resolve_entity(project.catalog(), entity)
    now = None
    if at:
        try:
            now = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise RequestError(f"--at: {at!r} is not an ISO-8601 time like "
                               "2026-05-01T12:00:00Z") from None
    fields = {}
    for text in request:
        name, equals, value = text.partition("=")
        if not equals or not name.strip():
            raise RequestError(f"--request {text!r}: write it as FIELD=VALUE")
        fields[name.strip()] = value
    keys = [parse_key(entity_obj, key)]
    body = (service_keys(project, service, entity_obj.name, keys, now=now,
                         request=fields or None, request_text=True) if service else
            lookup_keys(project, entity_obj.name, keys, features, now=now,
                        request=fields or None, request_text=True))
    if body["degraded"]:
        if not allow_degraded:
            raise StoreUnavailable(f"the online store did not answer: {body.get('error')}. "
                                   "No value was read; --allow-degraded prints the contract "
                                   "defaults instead, marked degraded.")
        say(f"warning: DynamoDB did not answer, defaults served: {body.get('error')}")
    if as_json:
        emit_json(body)
        return
    (result,) = body["results"]
    if service:
        click.echo(f"service {body['service']} v{body['service_version']}, parameter set "
                   f"{body['parameters_version']} (sha256 {body['parameters_sha256'][:12]})")
        statuses = [a["status"] for a in result["features"].values()]
        rows = [[column, _text(value), statuses[i] if i < len(statuses) else "transformed"]
                for i, (column, value) in enumerate(zip(body["columns"], result["vector"],
                                                        strict=True))]
        click.echo(format_table(rows, ["column", "value", "status"]))
        return
    rows = [[name, _text(answer["value"]), answer["status"], answer["feature_ts"] or "-"]
            for name, answer in result["features"].items()]
    click.echo(format_table(rows, ["feature", "value", "status", "feature_ts"]))


def _text(value) -> str:
    return "null" if value is None else str(value)


@click.command("package-lambda")
@click.option("--output", "-o", default="dist/lookup-lambda.zip", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the zip.")
@click.pass_context
def package_lambda_command(ctx, output):
    """Build the deployable Lambda zip (handler featurestore.lookup.handler.handler) with
    the catalog baked in; deploy it with deploy/template.yaml.

    \b
    Example:
      featurestore package-lambda -o dist/lookup-lambda.zip
      sam deploy --template-file deploy/template.yaml --guided
    """
    from featurestore.lookup.package import build_zip

    project = get_project(ctx)
    path = Path(output)
    if not path.is_absolute():
        path = project.root / path
    from featurestore.feature_services.serving import project_records

    catalog = project.catalog()
    services = project_records(project, catalog)
    for record in services.values():
        if record["problem"]:
            say(f"warning: service {record['name']} cannot be served yet: {record['problem']}")
    summary = build_zip(catalog, path, progress=say, services=services)
    click.echo(f"wrote {summary['path']} ({summary['bytes']:,} bytes, {summary['files']} "
               f"files; handler {summary['handler']}; views: {', '.join(summary['views'])}"
               + (f"; services: {', '.join(summary['services'])}" if summary['services']
                  else "") + ")")
