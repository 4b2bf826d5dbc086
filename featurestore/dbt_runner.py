"""Run dbt in-process with the project's environment, and fail loudly when dbt did.

dbt's programmatic runner reports failures as data, not exceptions, and a selector that
matches nothing still "succeeds". Every caller (the CLI's ``build``, the demo, the test
fixtures) wants the same thing instead: an error naming the failing nodes and dbt's
messages, or a result that really did something.

dbt runs from the project folder, with the profile and target featurestore itself
connects to (``Project.dbt_target``): ``--profiles-dir`` and ``--target`` are always
passed, so dbt and featurestore cannot open two different warehouses.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from featurestore.errors import ProjectError, ValidationFailed
from featurestore.project import Project

# Commands that run nodes and therefore report one result per selected node.
_NODE_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot"})
# Commands that write nothing under target/ and refuse --target-path.
_NO_TARGET_COMMANDS = frozenset({"deps", "clean", "debug"})
# Commands that run without the project's packages installed (every other one parses the
# project, which needs them).
_NO_PACKAGES_COMMANDS = frozenset({"deps", "clean", "debug", "init"})
# Where a dbt project lists the packages it installs (dependencies.yml since dbt 1.6).
PACKAGE_FILES = ("packages.yml", "dependencies.yml")
_SELECT_FLAGS = frozenset({"-s", "--select", "-m", "--models", "--selector"})
# dbt's options that choose the connection: featurestore's to set, for dbt and itself
_CONNECTION_FLAGS = {"--target": "target", "-t": "target", "--profiles-dir": "profiles_dir",
                     "--profile": "profile"}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """dbt reads ``env_var()`` from os.environ: set ours for the run, then restore."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def split_connection_args(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """dbt's ``--target``, ``-t``, ``--profiles-dir`` and ``--profile`` taken out of
    ``args`` (e.g. ``featurestore build --target prod``): {"target": ..., ...} and the rest.

    Raises:
        ProjectError: an option without its value.
    """
    found: dict[str, str] = {}
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        flag, equals, value = arg.partition("=")
        if flag not in _CONNECTION_FLAGS or (equals and flag == "-t"):
            rest.append(arg)
            continue
        if not equals:
            value = next(items, None)
            if value is None or value.startswith("-"):
                raise ProjectError(f"{flag} needs a value, e.g. `{flag} prod`.")
        found[_CONNECTION_FLAGS[flag]] = value
    return found, rest


def run_dbt(project: Project, args: list[str], target_path: Path | str | None = None):
    """Run ``dbt <args>`` against ``project``; return dbt's result object.

    Args:
        project: the featurestore project: dbt runs in its folder, with the profile and
            target ``project.dbt_target`` resolved.
        args: the dbt command and its arguments, e.g. ``["build", "-s", "staging"]``.
        target_path: where dbt writes ``target/`` (manifest, compiled SQL); default the
            project's target folder. Parallel runs need separate ones.

    Raises:
        ValidationFailed: dbt ran and only tests failed (each named, with its message).
        ProjectError: a model failed to build or compile, dbt raised an exception, a
            selector matched no node, or ``args`` choose a target or profile themselves
            (that is ``Project(target=...)``, the CLI's ``--target``).
    """
    if not args:
        raise ProjectError("run_dbt: give a dbt command, e.g. ['build'].")
    chosen, _ = split_connection_args(args)
    if chosen:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in chosen)
        raise ProjectError(f"{flags}: featurestore passes dbt the target it connects to "
                           "itself; choose it with `featurestore --target prod ...`, "
                           "--profiles-dir or DBT_PROFILE.")
    if args[0] not in _NO_PACKAGES_COMMANDS:
        ensure_packages(project)
    from dbt.cli.main import dbtRunner

    warehouse = project.dbt_target
    full = [*args]
    if "--project-dir" not in full:
        full += ["--project-dir", str(project.root)]
    full += ["--target", warehouse.target_name]
    target = Path(target_path) if target_path else project.target_dir
    if "--target-path" not in full and args[0] not in _NO_TARGET_COMMANDS:
        full += ["--target-path", str(target)]
    if not any(flag in full for flag in ("--use-colors", "--no-use-colors")) \
            and not sys.stdout.isatty():
        full.append("--no-use-colors")  # no ANSI codes in a piped or captured log
    warehouse.dialect.prepare(warehouse)  # a fresh clone has no warehouse/ folder, and
    env = project.settings.dbt_env()  # dbt-duckdb will not make it
    env["DBT_TARGET_PATH"] = str(target)
    # from the project folder, as a user runs dbt: the profile's relative paths are
    # taken from there, as featurestore takes them
    with warehouse.profiles_dir() as profiles, _environment(env), \
            contextlib.chdir(project.root):
        try:
            result = dbtRunner().invoke([*full, "--profiles-dir", str(profiles)])
        finally:
            warehouse.dialect.release_dbt()
    command = " ".join(["dbt", *args])
    if result.exception is not None:
        raise ProjectError(f"`{command}` could not run: {result.exception}")
    failures = _failures(result.result)
    if not result.success or failures:
        detail = "\n".join(f"  - {name}: {message}" for name, message, _ in failures)
        error = ValidationFailed if failures and all(test for *_, test in failures) \
            else ProjectError
        raise error(
            f"`{command}` failed" + (f":\n{detail}" if detail else " (see dbt's log above).")
        )
    if args[0] in _NODE_COMMANDS and _selects(args) and not _results(result.result):
        raise ProjectError(
            f"`{command}` selected no node: check the selector (model names, folders "
            "like `features`, tags like `tag:fraud`) with `dbt ls -s ...`."
        )
    return result


def ensure_packages(project: Project, progress=None) -> None:
    """``dbt deps`` when the project's packages are missing or older than the file that
    lists them, saying why (on stderr unless ``progress`` takes the line). ``run_dbt``
    calls it before every command that parses the project, so ``ingest``, ``build``,
    the loop and a backfill all work in a fresh clone of a team's project."""
    reason = packages_to_install(project)
    if reason:
        (progress or (lambda line: print(line, file=sys.stderr)))(reason)
        run_dbt(project, ["deps"])


def packages_to_install(project: Project) -> str | None:
    """Why ``dbt deps`` must run before this project builds; None when it need not.

    A team's project that installs featurestore (``packages.yml``, ``local:`` or git)
    cannot even parse before its packages are in ``dbt_packages/``. They count as
    installed when that folder holds at least as many packages as the files list
    (dbt also puts the packages' own dependencies there) and was made after the files
    last changed (``dbt deps`` makes the folder anew each time), so an edited
    ``packages.yml`` is installed again.

    Raises:
        ProjectError: a packages file that is not a YAML mapping with a ``packages`` list.
    """
    import yaml

    declared: list[tuple[str, int]] = []
    for name in PACKAGE_FILES:
        path = project.root / name
        if not path.is_file():
            continue
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ProjectError(f"{path}: not valid YAML ({exc}).") from None
        packages = document.get("packages", []) if isinstance(document, dict) else None
        if not isinstance(packages, list):
            raise ProjectError(
                f"{path}: `packages` must be a list, e.g. `packages: [{{local: ../featurestore}}]`"
                " (see https://docs.getdbt.com/docs/build/packages).")
        if packages:
            declared.append((name, len(packages)))
    if not declared:
        return None
    wanted = sum(count for _, count in declared)
    folder = project.root / str(project.dbt_project.get("packages-install-path") or "dbt_packages")
    installed = [entry for entry in folder.iterdir() if entry.is_dir()
                 and not entry.name.startswith(".")] if folder.is_dir() else []
    if len(installed) < wanted:
        files = " and ".join(f"{name} lists {count}" for name, count in declared)
        return (f"{files} dbt package(s) and {folder.name}/ holds {len(installed)}: "
                "running `dbt deps`")
    changed = [name for name, _ in declared
               if (project.root / name).stat().st_mtime_ns > folder.stat().st_mtime_ns]
    if changed:
        return (f"{' and '.join(changed)} changed since `dbt deps` filled {folder.name}/: "
                "running `dbt deps`")
    return None


def _selects(args: list[str]) -> bool:
    return any(arg in _SELECT_FLAGS or arg.startswith("--select=") for arg in args)


def _results(run_result) -> list:
    return list(getattr(run_result, "results", None) or [])


def _failures(run_result) -> list[tuple[str, str, bool]]:
    """(node name, message, is a test that failed) for every node that errored or whose
    test failed."""
    failed = []
    for item in _results(run_result):
        status = str(getattr(item, "status", "")).lower().rsplit(".", 1)[-1]
        if status in ("error", "fail", "runtime error"):
            node = getattr(item, "node", None)
            name = getattr(node, "unique_id", None) or getattr(node, "name", "?")
            message = (getattr(item, "message", None) or "").strip()
            failures = getattr(item, "failures", None)
            if failures and str(failures) not in message:
                message = f"{message} ({failures} failing rows)".strip()
            is_test = status == "fail" and getattr(node, "resource_type", "") == "test"
            failed.append((name, message or status, is_test))
    return failed
