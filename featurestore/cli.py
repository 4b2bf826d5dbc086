"""The ``featurestore`` command line: a thin shell over functions that tests call.

Commands are imported only when run (or when ``--help`` lists them), and heavy libraries
(dbt, boto3, Great Expectations) only inside the functions that use them, so that
``featurestore --help`` answers at once. A ``FeatureStoreError`` anywhere becomes one
short message and exit code 1; nothing else is caught.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys

import click

from featurestore.errors import FeatureStoreError

# name -> "module:attribute"; each area of the project owns its own commands.
COMMANDS = {
    "validate": "featurestore.commands:validate_command",
    "generate": "featurestore.commands:generate_command",
    "plan": "featurestore.commands:plan_command",
    "apply": "featurestore.commands:apply_command",
    "build": "featurestore.commands:build_command",
    "list": "featurestore.commands:list_command",
    "describe": "featurestore.commands:describe_command",
    "new": "featurestore.commands:new_command",
    "training-set": "featurestore.training:training_set_command",
    "demo-data": "featurestore.demo_data:demo_data_command",
    "demo": "featurestore.demo:demo_command",
    "online": "sync.cli:online_group",
    "sync": "sync.cli:sync_command",
    "forget": "sync.cli:forget_command",
    "serve": "lookup.cli:serve_command",
    "lookup": "lookup.cli:lookup_command",
    "package-lambda": "lookup.cli:package_lambda_command",
    "gate": "gates.cli:gate_command",
}


class LazyGroup(click.Group):
    """Loads a command's module on first use; turns our errors into ClickExceptions."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FeatureStoreError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True),
    envvar="FEATURESTORE_PROJECT_DIR",
    help="The featurestore (dbt) project; default: the nearest one at or above the cwd.",
)
@click.version_option(package_name="featurestore")
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None) -> None:
    """featurestore: SQL features, point-in-time training sets, DynamoDB serving.

    \b
    Example, the whole demo on this machine:
      featurestore demo
    """
    ctx.ensure_object(dict)
    ctx.obj["project_dir"] = project_dir


def get_project(ctx: click.Context):
    """The project the command runs in (``--project-dir`` or found from the cwd)."""
    from featurestore.project import Project

    root = ctx.find_root()
    return Project.find((root.obj or {}).get("project_dir"))


def main() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        cli.main(obj={})
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    # Every file is written and every connection closed by now; what is left is the
    # interpreter's teardown, where DuckDB's native bindings print dozens of harmless
    # "nanobind: leaked ..." lines after dbt and Great Expectations ran in-process.
    # Flush every stream (click's own wrappers too: its error messages go through them),
    # run the atexit handlers (logging, multiprocessing's semaphores), then leave
    # without the native teardown.
    for stream in (click.get_text_stream("stdout"), click.get_text_stream("stderr"),
                   sys.stdout, sys.stderr):
        stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)
