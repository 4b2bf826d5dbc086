"""``featurestore keys ...``: API keys of the lookup endpoint."""

from __future__ import annotations

import click

from featurestore.apps.cli.shared import emit_json, get_project, json_option, say


@click.group("keys")
def keys_group() -> None:
    """API keys of the lookup endpoint: only their SHA-256 is kept, in api_keys.json.

    \b
    Example:
      featurestore keys create --name fraud-model --grant public,internal
    """


@keys_group.command("create")
@click.option("--name", required=True, help="Who the key is for; logged with each refusal.")
@click.option("--grant", "grant", required=True, metavar="SENSITIVITY[,..]",
              help="Sensitivities it may read, comma-separated: public, internal, pii.")
@click.option("--view", "views", multiple=True,
              help="A feature view it may read (repeatable); default: every view.")
@json_option
@click.pass_context
def keys_create(ctx: click.Context, name: str, grant: str, views: tuple[str, ...],
                as_json: bool) -> None:
    """Create an API key: print it once, keep only its SHA-256 in the keys file.

    The keys file is api_keys.json at the project root (FEATURESTORE_API_KEYS_FILE moves
    it), which `featurestore serve` reads and `deploy/README.md` deploys. The key itself is
    on stdout and nowhere else: store it now.

    \b
    Example:
      featurestore keys create --name fraud-model --grant public,internal
      featurestore keys create --name growth --grant public,internal,pii --view user_profile
      featurestore keys create --name batch-scorer --grant public --json
    """
    from featurestore.contracts import SENSITIVITIES, suggest
    from featurestore.errors import RequestError
    from featurestore.lookup.access import create_key

    project = get_project(ctx)
    catalog = project.catalog()
    known = [*catalog.views, *catalog.on_demand]  # an on-demand view is granted by name too
    for view in views:
        if view not in known:
            raise RequestError(f"--view: unknown feature view `{view}`"
                               f"{suggest(view, known)}; known views: "
                               f"{', '.join(sorted(known))}")
    settings = project.settings.lookup
    path = settings.api_keys_file or project.root / "api_keys.json"
    levels = [level.strip() for level in grant.split(",") if level.strip()]
    key = create_key(path, name, levels, list(views) or None)
    if as_json:
        emit_json({"name": name, "key": key,
                   "sensitivities": sorted(set(levels), key=SENSITIVITIES.index),
                   "views": sorted(set(views)) or ["*"], "keys_file": str(path),
                   "keys_file_ignored": bool(settings.api_keys)})
    else:
        click.echo(key)
    say(f"created API key `{name}` ({', '.join(levels)}; views: "
        f"{', '.join(views) or 'all'}); its SHA-256 is in {path}. The key is shown this "
        "once: store it now.")
    if settings.api_keys:
        say("note: FEATURESTORE_API_KEYS is set, and is used instead of this file while it is.")
