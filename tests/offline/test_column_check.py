"""One check of "does the built table have the contract's columns?", one sentence: the
same from `featurestore validate`, `featurestore training-set` and `featurestore sync`
(featurestore/model_check.py, ``missing_columns``)."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from tests.offline.one_view import one_view_project, view_contract

VIEW = view_contract(
    "A view whose model lost two of its features.",
    "  - {name: f2, dtype: int64, default: 0, sensitivity: internal, description: a count}\n"
    "  - {name: f3, dtype: string, sensitivity: internal, description: a name}\n")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project whose built `history` has f1 but neither f2 nor f3."""
    one_view_project(tmp_path, monkeypatch, "columns", "select 1::bigint as user_id, "
                     "timestamp '2026-01-01' as feature_ts, 7::bigint as f1", view=VIEW)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "history.sql").write_text("select 1 as user_id\n")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("copy (select 1::bigint as user_id, timestamp '2026-01-02' as event_ts) "
                    f"to '{tmp_path / 'spine.parquet'}' (format parquet)")
    return tmp_path


def _run(root, *args, env=None):
    return CliRunner().invoke(cli, ["--project-dir", str(root), *args], obj={}, env=env)


def _expected(root) -> str:
    return ("feature_defs/history.yml, view `history`: "
            '"main"."history" has no column(s) f2, f3 that the contract names (its '
            "columns: user_id, feature_ts, f1). Add them to model `history` or fix the "
            "contract, then rebuild: `featurestore build`.")


def test_validate_names_the_missing_columns(project):
    _run(project, "generate")
    result = _run(project, "validate")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == ["Error: 1 problem(s):", _expected(project)]


def test_a_training_set_names_the_missing_columns_alike(project):
    result = _run(project, "training-set", "--spine", str(project / "spine.parquet"),
                  "--features", "history:f2", "--out", str(project / "t.parquet"))
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == "Error: " + _expected(project).replace(
        "f2, f3", "f2")
    assert not (project / "t.parquet").exists()


def test_a_sync_names_the_missing_columns_alike(project, dynamodb_table, dynamodb_local):
    _client, table = dynamodb_table
    result = _run(project, "sync", "--no-gate", env={
        "FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local})
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[2:] == [
        "failed, history: " + _expected(project),
        "Error: 1 view(s) not synced: history (WarehouseError); 0 other view(s) published. "
        "Fix what the lines above say, then run `featurestore sync` again."]

