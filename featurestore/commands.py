"""The contract and build commands: validate, generate, plan, apply, build, list,
describe, new. Each is a thin shell over a function in another module."""

from __future__ import annotations

import click

from featurestore.cli import get_project
from featurestore.errors import FeatureStoreError, ProjectError


def _warehouse(project, read_only: bool = False):
    from featurestore.warehouse import Warehouse

    return Warehouse(project, read_only=read_only)


@click.command("validate")
@click.pass_context
def validate_command(ctx: click.Context) -> None:
    """Check every contract, the generated dbt files and the built models' columns.

    \b
    Example:
      featurestore validate
    """
    from featurestore.generate import stale_generated
    from featurestore.model_check import check_built_models, missing_models

    project = get_project(ctx)
    catalog = project.catalog()
    problems = [
        f"{path}: out of date with feature_defs/. Run `featurestore generate` "
        "(or `featurestore build`, which regenerates it)."
        for path in stale_generated(project.root, catalog)
    ]
    problems += missing_models(project, catalog)
    column_problems, notes = check_built_models(project, catalog)
    problems += column_problems
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if problems:
        raise FeatureStoreError(f"{len(problems)} problem(s):\n" + "\n".join(problems))
    click.echo(f"OK: {len(catalog.views)} feature views, {len(catalog.entities)} entities.")


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
    written = write_generated(project.root, project.catalog())
    for path in written:
        click.echo(f"wrote {path}")
    if not written:
        click.echo("Generated files are up to date.")


@click.command("plan")
@click.pass_context
def plan_command(ctx: click.Context) -> None:
    """Show what changed against the registry in the warehouse; refuse breaking changes.

    A dtype change, an entity change or a removed feature needs a new `version`.

    \b
    Example:
      featurestore plan
    """
    from featurestore import registry

    project = get_project(ctx)
    catalog = project.catalog()
    with _warehouse(project) as warehouse:
        result = registry.plan(catalog, warehouse)
    click.echo(result.render())
    if result.refused:
        raise FeatureStoreError(
            f"plan refused: {len(result.refused)} breaking change(s) without a new version."
        )


@click.command("apply")
@click.pass_context
def apply_command(ctx: click.Context) -> None:
    """Record the contracts in the warehouse registry (who, when, which version).

    \b
    Example:
      featurestore apply
    """
    from featurestore import registry

    project = get_project(ctx)
    with _warehouse(project) as warehouse:
        result = registry.apply(project.catalog(), warehouse)
    click.echo(result.render())
    click.echo(f"Applied {len(result.pending)} change(s).")


@click.command(
    "build", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.option("--skip-checks", is_flag=True, help="Skip the contract/column checks after dbt.")
@click.pass_context
def build_command(ctx: click.Context, skip_checks: bool) -> None:
    """Regenerate contract files, run `dbt build`, then check the built columns.

    Extra arguments go to dbt unchanged.

    \b
    Examples:
      featurestore build
      featurestore build --select fs_user__transactions+
    """
    from featurestore.dbt_runner import run_dbt
    from featurestore.generate import write_generated
    from featurestore.model_check import check_built_models

    project = get_project(ctx)
    catalog = project.catalog()
    for path in write_generated(project.root, catalog):
        click.echo(f"regenerated {path}", err=True)
    click.echo(f"dbt build {' '.join(ctx.args)}".rstrip(), err=True)
    run_dbt(project, ["build", *ctx.args])
    if skip_checks:
        return
    problems, notes = check_built_models(project, catalog)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if problems:
        raise ProjectError("the built models disagree with their contracts:\n"
                           + "\n".join(problems))
    click.echo("Build OK: models match their contracts.")


@click.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List the feature views: version, entity, features, TTL, freshness SLO, owner.

    \b
    Example:
      featurestore list
    """
    from featurestore.durations import format_duration

    catalog = get_project(ctx).catalog()
    rows = [("VIEW", "VER", "ENTITY", "KEYS", "FEATURES", "TTL", "SLO", "ONLINE", "OWNER")]
    for view in sorted(catalog.views.values(), key=lambda v: v.name):
        rows.append((
            view.name, str(view.version), view.entity.name, ",".join(view.keys),
            str(len(view.features)),
            format_duration(view.ttl_seconds) if view.ttl_seconds else "-",
            format_duration(view.freshness_slo_seconds) if view.freshness_slo_seconds else "-",
            "yes" if view.online else "no", view.owner,
        ))
    click.echo(format_table(rows))


def format_table(rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        .rstrip()
        for row in rows
    )


@click.command("describe")
@click.argument("view_name", metavar="VIEW")
@click.pass_context
def describe_command(ctx: click.Context, view_name: str) -> None:
    """Show one view: its contract, registry history and what the warehouse holds.

    \b
    Example:
      featurestore describe user_transactions
    """
    from featurestore.describe import describe_view

    project = get_project(ctx)
    click.echo(describe_view(project, project.catalog().view(view_name)))


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
    click.echo("Next: edit both files, then `featurestore validate` and `featurestore build`.")
