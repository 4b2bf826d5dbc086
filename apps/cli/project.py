"""The contract and build commands: validate, generate, plan, apply, build, list,
describe, new."""

from __future__ import annotations

import click

from featurestore.apps.cli.shared import emit_json, format_table, get_project, json_option, say


@click.command("validate")
@json_option
@click.pass_context
def validate_command(ctx: click.Context, as_json: bool) -> None:
    """Check every contract, the generated dbt files and the built models' columns.

    Exits 1 on a malformed contract, 2 when contracts, generated files and models
    disagree.

    \b
    Example:
      featurestore validate
      featurestore validate --json
    """
    from featurestore.model_check import validate_project

    catalog, notes = validate_project(get_project(ctx))
    for note in notes:
        say(f"note: {note}")
    on_demand = sorted(catalog.on_demand)
    if as_json:
        emit_json({"ok": True, "views": len(catalog.views),
                   **({"on_demand_views": on_demand} if on_demand else {}),
                   "entities": len(catalog.entities), "notes": list(notes)})
        return
    listed = (f"{len(on_demand)} on-demand view{'s' * (len(on_demand) != 1)} "
              f"({', '.join(on_demand)}), " if on_demand else "")
    click.echo(f"OK: {len(catalog.views)} feature views, {listed}{len(catalog.entities)} "
               "entities.")


@click.command("generate")
@click.pass_context
def generate_command(ctx: click.Context) -> None:
    """Regenerate the dbt files derived from the contracts (macro and model YAML).

    \b
    Example:
      featurestore generate
    """
    from featurestore.generate import write_generated

    project = get_project(ctx)
    written = write_generated(project, project.catalog())
    for path in written:  # a file with nothing left to generate is removed
        click.echo(f"{'wrote' if (project.root / path).exists() else 'removed'} {path}")
    if not written:
        click.echo("Generated files are up to date.")


@click.command("plan")
@json_option
@click.pass_context
def plan_command(ctx: click.Context, as_json: bool) -> None:
    """Show what changed against the registry in the warehouse; refuse breaking changes.

    A dtype change, an entity change or a removed feature needs a new `version`; a
    refused plan exits 2.

    \b
    Example:
      featurestore plan
      featurestore plan --json
    """
    from featurestore import registry
    from featurestore.errors import PlanRefused
    from featurestore.warehouse import Warehouse

    project = get_project(ctx)
    catalog = project.catalog()
    with Warehouse(project) as warehouse:
        result = registry.plan(catalog, warehouse)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(result.render())
    if result.refused:
        raise PlanRefused([f"plan refused: {len(result.refused)} breaking change(s) without "
                           "a new version."])


@click.command("apply")
@json_option
@click.pass_context
def apply_command(ctx: click.Context, as_json: bool) -> None:
    """Record the contracts in the warehouse registry (who, when, which version).

    \b
    Example:
      featurestore apply
      featurestore apply --json
    """
    from featurestore import registry
    from featurestore.warehouse import Warehouse

    project = get_project(ctx)
    with Warehouse(project) as warehouse:
        result = registry.apply(project.catalog(), warehouse, who=project.settings.user)
    if as_json:
        emit_json({**result.to_dict(), "applied": len(result.pending)})
        return
    click.echo(result.render())
    click.echo(f"Applied {len(result.pending)} change(s).")


@click.command(
    "build", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.option("--skip-checks", is_flag=True, help="Skip the contract/column checks after dbt.")
@json_option
@click.pass_context
def build_command(ctx: click.Context, skip_checks: bool, as_json: bool) -> None:
    """Regenerate contract files, run `dbt build`, then check the built columns.

    Extra arguments go to dbt unchanged; `--target` and `--profiles-dir` there choose
    the target for featurestore's checks too. A failing dbt test or column check exits 2.
    In this repository's demo project, a fresh clone's missing demo events are generated
    first. With --json, dbt's log goes to stderr and stdout holds the result.

    \b
    Examples:
      featurestore build
      featurestore build --select fs_user__transactions+
      featurestore build --json
    """
    from featurestore.apps.demo import ensure_demo_data
    from featurestore.dbt_runner import split_connection_args
    from featurestore.model_check import build_project

    chosen, dbt_args = split_connection_args(list(ctx.args))
    if "profile" in chosen:
        raise click.UsageError("--profile: set DBT_PROFILE instead, which dbt and "
                               "featurestore both read.")
    project = get_project(ctx, **chosen)
    ensure_demo_data(project, progress=say)
    notes = build_project(project, dbt_args, checks=not skip_checks, progress=say)
    for note in notes:
        say(f"note: {note}")
    if as_json:
        emit_json({"ok": True, "columns_checked": not skip_checks,
                   "dbt_args": list(ctx.args), "notes": list(notes)})
    elif not skip_checks:
        click.echo("Build OK: models match their contracts.")


@click.command("list")
@json_option
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List the feature views: version, entity, features, TTL, freshness SLO, owner.

    \b
    Example:
      featurestore list
      featurestore list --json
    """
    from featurestore.describe import view_summary

    catalog = get_project(ctx).catalog()
    views = [view_summary(v) for v in sorted(catalog.views.values(), key=lambda v: v.name)]
    if as_json:
        emit_json({"views": views})
        return
    rows = [[v["name"], v["version"], v["entity"], ",".join(v["keys"]), v["features"],
             v["ttl"] or "-", v["freshness_slo"] or "-", "yes" if v["online"] else "no",
             v["owner"]] for v in views]
    click.echo(format_table([["VIEW", "VER", "ENTITY", "KEYS", "FEATURES", "TTL", "SLO",
                              "ONLINE", "OWNER"], *rows]))


@click.command("describe")
@click.argument("view_name", metavar="VIEW")
@json_option
@click.pass_context
def describe_command(ctx: click.Context, view_name: str, as_json: bool) -> None:
    """Show one view: its contract, registry history and what the warehouse holds
    (an on-demand view: its request fields, inputs, expressions and registry history).

    \b
    Example:
      featurestore describe user_transactions
      featurestore describe user_transactions --json
    """
    from featurestore.describe import describe, render_description

    project = get_project(ctx)
    document = describe(project, view_name)
    if as_json:
        emit_json(document)
    else:
        click.echo(render_description(document))


@click.command("new")
@click.argument("view_name", metavar="VIEW")
@click.option("--entity", "entity_name", required=True, help="Entity from entities.yml.")
@click.option("--from", "from_model", default=None,
              help="A dbt model to read from (the import CTE refs it).")
@click.option("--owner", default="", help="Team that owns the view.")
@click.pass_context
def new_command(ctx: click.Context, view_name: str, entity_name: str, from_model: str | None,
                owner: str) -> None:
    """Scaffold a contract and a dbt model for a new feature view.

    \b
    Example:
      featurestore new user_refunds --entity user --from stg_demo__transactions
    """
    from featurestore.scaffold import scaffold_view

    project = get_project(ctx)
    for path in scaffold_view(project, view_name, entity_name, from_model, owner):
        click.echo(f"created {path.relative_to(project.root)}")
    click.echo("Next: edit both files, then `featurestore build` and `featurestore validate`.")
