"""Each exit code of the CLI, produced by a real failure of its kind.

0 success; 1 a usage or contract error; 2 a check or gate that failed; 3 a warehouse or
online store that cannot be reached. The console script runs in a subprocess, as CI
runs it, so the codes are the process's own.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.core.conftest import consume, edit

SCRIPT = [sys.executable, "-c", "from featurestore.apps.cli import main; main()"]


def featurestore(project, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([*SCRIPT, "--project-dir", str(project.root), *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_0_on_success(project):
    done = featurestore(project, "list", "--json")
    assert (done.returncode, done.stderr) == (0, "")


def test_1_for_a_usage_error(project):
    done = featurestore(project, "training-set", "--spine", "x.parquet", "--out", "o.parquet")
    assert done.returncode == 1
    assert done.stderr.endswith("Error: name the features with --features VIEW[:FEATURE],... "
                                "or a feature service with --service NAME (one of the two)\n")


def test_1_for_a_malformed_contract(project):
    edit(project, "merchant_risk.yml", "dtype: float64", "dtype: decimal")
    done = featurestore(project, "validate")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: feature_defs/merchant_risk.yml:")
    assert "unknown dtype 'decimal'" in done.stderr


def test_2_for_a_refused_plan(project):
    assert featurestore(project, "apply").returncode == 0
    consume(project, "merchant_risk")  # before that, a view is changed in place
    edit(project, "merchant_risk.yml", "dtype: float64", "dtype: int64")
    done = featurestore(project, "plan", "--json")
    assert done.returncode == 2
    assert "dtype changed from float64 to int64 without a new version" in done.stdout
    assert done.stderr == ("Error: plan refused: 1 breaking change(s) without a new "
                           "version.\n")


def test_3_for_a_warehouse_held_by_another_process(project):
    path = project.dbt_target.duckdb_path
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],  # held until killed
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        done = featurestore(project, "plan")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 3
    assert done.stderr.startswith(f"Error: {path}: cannot open the DuckDB warehouse (IO Error: "
                                  "Could not set lock on file")
    assert done.stderr.endswith("Another process (a dbt run, a sync) may hold it; wait for "
                                "it to finish.\n")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_3_for_an_online_store_that_does_not_answer(project):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    done = featurestore(project, "online", "init",
                        env={"FEATURESTORE_DYNAMODB_ENDPOINT": endpoint})
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    assert lines[0] == f"online store: DynamoDB Local at {endpoint}, table featurestore_online"
    assert lines[1].startswith(f"Error: DynamoDB is not reachable at {endpoint} (")


@pytest.mark.parametrize("command", [["list"], ["describe", "merchant_risk"], ["plan"]])
def test_json_output_is_one_document_on_stdout(project, command):
    import json

    done = featurestore(project, *command, "--json")
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)


def test_list_json_names_every_field(project):
    import json

    done = featurestore(project, "list", "--json")
    views = {v["name"]: v for v in json.loads(done.stdout)["views"]}
    assert views["merchant_risk"] == {
        "name": "merchant_risk", "version": 1, "entity": "merchant", "keys": ["merchant_id"],
        "features": 3, "ttl": "30d", "freshness_slo": "1h", "online": True,
        "owner": "risk-ml", "path": "feature_defs/merchant_risk.yml"}


# -- a usage error is 1 for every command (the README's table) ------------------------------
def _leaf_commands() -> list[tuple[str, ...]]:
    """Every command a user can type, groups opened: ("online", "start"), ("keys", "create"),
    ("validate",), ..."""
    import click

    from featurestore.apps.cli import COMMANDS, cli

    found = []
    for name in sorted(COMMANDS):
        command = cli.get_command(None, name)
        if isinstance(command, click.Group):
            found.extend((name, sub) for sub in sorted(command.commands))
        else:
            found.append((name,))
    return found


@pytest.mark.parametrize("path", _leaf_commands(), ids=" ".join)
def test_1_for_a_usage_error_of_every_command(path, tmp_path):
    """An unknown option exits 1 ("a usage or contract error"), never click's own 2, which
    the table gives to a check that failed; with --json, the error is JSON on stdout."""
    import json

    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    # `build` hands unknown options to dbt: a flag given a value is its usage error
    mistake, message = (("--skip-checks=yes", "Option '--skip-checks' does not take a value.")
                        if path == ("build",) else
                        ("--no-such-option", "No such option '--no-such-option'."))
    base = ["--project-dir", str(tmp_path), *path, mistake]
    done = CliRunner().invoke(cli, base, obj={})
    assert (done.exit_code, done.stdout) == (1, "")
    assert done.stderr.endswith(f"Error: {message}\n")
    as_json = CliRunner().invoke(cli, [*base, "--json"], obj={})
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {"error": "usage_error", "message": message,
                                          "exit_code": 1}


@pytest.mark.parametrize("group", ["online", "keys"])
def test_1_for_an_unknown_subcommand(group):
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    done = CliRunner().invoke(cli, [group, "nosuch"], obj={})
    assert done.exit_code == 1
    assert done.stderr.endswith("Error: No such command 'nosuch'.\n")
