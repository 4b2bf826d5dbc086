"""What every command module shares: the project of the run, the store it talks to,
options spelled the same everywhere, and output as text or JSON."""

from __future__ import annotations

import datetime as dt
import json

import click


def get_project(ctx: click.Context, *, local: bool = False, target: str | None = None,
                profiles_dir: str | None = None):
    """The project the command runs in (``--project-dir`` or found from the cwd), with
    the dbt target and profiles folder of the global options (or of the command's own
    dbt arguments, ``target`` and ``profiles_dir``).

    ``local``: the online store is the DynamoDB Local that ``featurestore online start``
    runs for this project; without it the settings decide (an endpoint variable, or AWS).
    """
    from featurestore.project import Project

    options = ctx.find_root().obj or {}
    chosen = {}
    for name, value in (("target", target), ("profiles_dir", profiles_dir)):
        given = options.get(name)
        if given and value and given != value:
            flag = "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag} {given} before the command and {flag} {value} "
                                   "after it: give it once.")
        chosen[name] = value or given
    project = Project.find(options.get("project_dir"), **chosen)
    if local:
        from featurestore.online.local import running_endpoint

        project.settings = project.settings.with_online(
            endpoint=running_endpoint(project.warehouse_dir), local=True)
    return project


def local_option(command):
    """``--local``: talk to this project's DynamoDB Local instead of AWS."""
    return click.option(
        "--local", is_flag=True,
        help="Use the DynamoDB Local that `featurestore online start` runs for this "
        "project (default: FEATURESTORE_DYNAMODB_ENDPOINT if set, else AWS).")(command)


class JsonOutput:
    """Whether this run asked for ``--json``, and whether its document is out: an error
    then goes to stdout as JSON too (``error_document``), unless the command already
    printed its result (a refused plan, a failed gate: the document says so itself).

    While a ``--json`` command runs, whatever else writes to stdout (dbt's log, a
    library's print) goes to stderr, so stdout holds the command's JSON and nothing else;
    ``stdout`` is where that JSON goes.
    """

    requested = False
    emitted = False
    stdout = None

    @classmethod
    def reset(cls) -> None:
        cls.requested = cls.emitted = False
        cls.stdout = None


def _remember_json(ctx: click.Context, param, value: bool) -> bool:
    if value:
        import contextlib
        import sys

        JsonOutput.requested = True
        JsonOutput.stdout = sys.stdout
        ctx.with_resource(contextlib.redirect_stdout(sys.stderr))  # until the command ends
    return value


def json_option(command):
    """``--json``: print one JSON document on stdout instead of text; an error is then a
    JSON document on stdout too (``{"error", "message", "exit_code"}``)."""
    return click.option("--json", "as_json", is_flag=True, is_eager=True,
                        callback=_remember_json,
                        help="Print the result as JSON on stdout (an error too, with its "
                             "exit code).")(command)


def error_document(kind: str, message: str, exit_code: int) -> str:
    """What stdout holds under --json when the command fails before its result."""
    return json.dumps({"error": kind, "message": message, "exit_code": exit_code}, indent=2)


def error_kind(exc: BaseException) -> str:
    """``StoreUnavailable`` -> ``store_unavailable``: the error's class, machine-readable."""
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def say(line: str) -> None:
    """A progress or status line: stderr, so stdout stays the command's result."""
    click.echo(line, err=True)


def announce_store(project) -> None:
    """The first line of every command that talks to DynamoDB: which store it is."""
    say(f"online store: {project.settings.online.describe()}")


def emit_json(document, *, line: bool = False) -> None:
    """The command's result on stdout: one indented document, or with ``line`` one
    compact JSON line (a stream of them: one per cycle of ``run``)."""
    JsonOutput.emitted = True
    text = json.dumps(document, indent=None if line else 2, default=_json_default,
                      separators=(",", ":") if line else None)
    click.echo(text, file=JsonOutput.stdout)


def _json_default(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def format_table(rows: list[list], header: list[str] | None = None) -> str:
    """Left-aligned columns; a rule under ``header`` when one is given."""
    table = [list(map(str, row)) for row in ([header] if header else []) + list(rows)]
    if not table:
        return ""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(row: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                   strict=True)).rstrip()

    lines = [line(row) for row in table]
    if header:
        lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def registry_retired(project, catalog) -> dict[str, set[int]]:
    """View -> the versions retired in the registry (none unless a view has versions):
    what syncs and gates leave out."""
    if not catalog.versions:
        return {}
    from featurestore.version_log import retired_versions
    from featurestore.warehouse import Warehouse

    if not Warehouse.exists(project):
        return {}
    with Warehouse(project, read_only=True) as warehouse:
        return retired_versions(warehouse)


def parse_as_of(value: str | None) -> dt.datetime | None:
    """An --as-of option's ISO-8601 text as naive UTC; None when not given."""
    from featurestore.dtypes import utc_naive
    from featurestore.errors import RequestError

    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"--as-of {value!r} is not an ISO-8601 time; write it like "
                           "2026-05-22T18:00:00Z") from None
    return utc_naive(moment)
