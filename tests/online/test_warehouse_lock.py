"""A DuckDB file held by another process is an unreachable warehouse (exit 3), not a
missing relation: ``Warehouse.columns`` used to report "relation ... does not exist"."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.errors import UNREACHABLE, WarehouseUnreachable
from featurestore.warehouse import Warehouse

HOLDER = textwrap.dedent("""
    import sys, duckdb
    connection = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def held_warehouse(online_project):
    """Another process holds the project's DuckDB file open for writing."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(online_project.dbt_target.duckdb_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        yield online_project
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_columns_reports_the_lock(held_warehouse):
    with pytest.raises(WarehouseUnreachable) as error:
        Warehouse(held_warehouse).columns("fs_user__transactions")
    message = str(error.value)
    assert message.startswith(f"{held_warehouse.dbt_target.duckdb_path}: cannot open the DuckDB "
                              "warehouse (")
    assert message.endswith("Another process (a dbt run, a sync) may hold it; wait for it to "
                            "finish.")
    assert "does not exist" not in message


def test_sync_command_exits_3_on_the_lock(held_warehouse, dynamodb_table, dynamodb_local):
    _, table = dynamodb_table
    env = {"FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local}
    result = CliRunner().invoke(cli, ["--project-dir", str(held_warehouse.root), "sync",
                                      "--no-gate", "--view", "user_transactions"],
                                env=env, obj={})
    assert result.exit_code == UNREACHABLE, result.output
    assert result.stderr.splitlines()[-1].startswith(
        f"Error: {held_warehouse.dbt_target.duckdb_path}: cannot open the DuckDB warehouse (")
