"""The ``featurestore`` command line: the one layer that knows click.

Each area's commands live in a module of this package (``project``, ``training``,
``demo``, ``online``, ``lookup``, ``gates``) as thin shells over functions that tests
and the SDK call directly. Modules are imported only when a command runs (or ``--help``
lists them), and heavy libraries (dbt, boto3, Great Expectations) only inside the
functions that use them, so ``featurestore --help`` answers at once. The command modules
import ``featurestore.apps.cli.shared``, never this module: imports run one way.

Exit codes (the README has the table): 0 success; 1 a usage or contract error; 2 a check
or gate that failed; 3 a warehouse or online store that cannot be reached. They come
from the error's class (featurestore/errors.py), so a CI job can tell them apart.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys

import click

from featurestore.errors import USAGE, FeatureStoreError

TERMINATED = 128 + 15  # the shell's exit code for a process ended by SIGTERM
_terminated = False


def _on_sigterm(signum, frame) -> None:
    """SIGTERM (a scheduler stopping the job) unwinds like an error, so that every
    ``finally`` runs: no half-written training set or partial file is left behind. A
    query running in DuckDB is interrupted by it too."""
    global _terminated
    _terminated = True
    raise SystemExit(TERMINATED)


def _stopped() -> int:
    click.echo("Error: stopped by SIGTERM; nothing half-written was left behind.", err=True)
    return TERMINATED

def _as_json(exc: BaseException, message: str, code: int, raw: list[str]) -> int:
    """``code``, after the error's JSON document on stdout when the run asked for --json
    (a usage error stops before the option is read: then its presence in the arguments
    counts) and printed no result of its own."""
    from featurestore.apps.cli.shared import JsonOutput, error_document, error_kind

    if (JsonOutput.requested or "--json" in raw) and not JsonOutput.emitted:
        kind = "usage_error" if isinstance(exc, click.UsageError) else error_kind(exc)
        click.echo(error_document(kind, message, code))
    return code


# name -> (module of this package, attribute)
COMMANDS = {
    "validate": ("project", "validate_command"),
    "generate": ("project", "generate_command"),
    "plan": ("project", "plan_command"),
    "apply": ("project", "apply_command"),
    "build": ("project", "build_command"),
    "list": ("project", "list_command"),
    "describe": ("project", "describe_command"),
    "new": ("project", "new_command"),
    "training-set": ("training", "training_set_command"),
    "demo-data": ("demo", "demo_data_command"),
    "ingest": ("ingest", "ingest_command"),
    "run": ("loop", "run_command"),
    "demo": ("demo", "demo_command"),
    "online": ("online", "online_group"),
    "sync": ("online", "sync_command"),
    "forget": ("online", "forget_command"),
    "serve": ("lookup", "serve_command"),
    "lookup": ("lookup", "lookup_command"),
    "package-lambda": ("lookup", "package_lambda_command"),
    "keys": ("keys", "keys_group"),
    "gate": ("gates", "gate_command"),
    "backfill": ("versions", "backfill_command"),
    "compare": ("versions", "compare_command"),
    "promote": ("versions", "promote_command"),
    "rollback": ("versions", "rollback_command"),
    "retire": ("versions", "retire_command"),
    "versions": ("versions", "versions_command"),
    "catalog": ("catalog", "catalog_command"),
}


class LazyGroup(click.Group):
    """Loads a command's module on first use; ends with the exit code of its error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        sys.exit(self.exit_code_of(args, prog_name, complete_var, **extra))

    def exit_code_of(self, args=None, prog_name=None, complete_var=None, **extra) -> int:
        """Run, print any error as one line (and, under --json, as a JSON document on
        stdout), and return the exit code (no sys.exit)."""
        from featurestore.apps.cli.shared import JsonOutput

        JsonOutput.reset()
        raw = sys.argv[1:] if args is None else list(args)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except FeatureStoreError as exc:
            if _terminated:
                return _stopped()
            click.echo(f"Error: {exc}", err=True)
            return _as_json(exc, str(exc), exc.exit_code, raw)
        except click.exceptions.Abort as exc:
            click.echo("Aborted.", err=True)
            return _as_json(exc, "aborted", USAGE, raw)
        except click.ClickException as exc:  # a bad option, a missing argument
            exc.show()
            return _as_json(exc, exc.format_message(), USAGE, raw)
        except BaseException:
            if _terminated:  # a query interrupted by the signal, or the signal's SystemExit
                return _stopped()
            raise
        return result if isinstance(result, int) else 0

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target
        return getattr(importlib.import_module(f"{__name__}.{module_name}"), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False),
    envvar="FEATURESTORE_PROJECT_DIR",
    help="The featurestore (dbt) project; default: the nearest one at or above the cwd.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="FEATURESTORE_LOG_FORMAT",
    help="Warnings and errors logged on stderr: plain sentences, or one JSON object a line.",
)
@click.option(
    "--target", "-t", metavar="NAME",
    help="The dbt target of the project's profile, for dbt and featurestore alike; "
    "default: DBT_TARGET, else the profile's `target:`.",
)
@click.option(
    "--profiles-dir", type=click.Path(file_okay=False),
    help="The folder of profiles.yml; default: DBT_PROFILES_DIR, else the project folder "
    "if it has one, else ~/.dbt/.",
)
@click.version_option(package_name="featurestore")
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None, log_format: str, target: str | None,
        profiles_dir: str | None) -> None:
    """featurestore: SQL features, point-in-time training sets, DynamoDB serving.

    \b
    Exit codes: 0 ok, 1 usage or contract error, 2 a check or gate failed,
    3 the warehouse or the online store cannot be reached.

    \b
    Example, the whole demo on this machine:
      featurestore demo
    """
    from featurestore.logs import configure_cli

    configure_cli(log_format)
    ctx.ensure_object(dict)
    ctx.obj.update(project_dir=project_dir, target=target, profiles_dir=profiles_dir)


def run(args: list[str] | None = None) -> int:
    """Run the CLI on ``args``; return the exit code instead of leaving."""
    return cli.exit_code_of(args, prog_name="featurestore", obj={})


def main() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    signal.signal(signal.SIGTERM, _on_sigterm)
    code = run()
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
