"""A throwaway copy of the project's contracts, for tests that edit them."""

from __future__ import annotations

import shutil

import pytest

from featurestore.project import Project
from tests.conftest import REPO_ROOT


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    """The repo's feature_defs and dbt project files in tmp, with its own DuckDB file."""
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "feature_defs", tmp_path / "feature_defs")
    shutil.copytree(REPO_ROOT / "macros", tmp_path / "macros")
    (tmp_path / "models" / "features").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "models/features/_featurestore__contracts.yml",
                tmp_path / "models/features/_featurestore__contracts.yml")
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(tmp_path / "warehouse" / "fs.duckdb"))
    monkeypatch.delenv("FEATURESTORE_TARGET", raising=False)
    return Project(tmp_path)


def edit(project: Project, name: str, old: str, new: str) -> None:
    path = project.feature_defs / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def consume(project: Project, view: str, how: str = "training_sets") -> None:
    """Record that something consumed ``view`` (v1), the way the code that does it
    records it: a sync's state row, a training set's views, or a promotion."""
    import datetime as dt

    from featurestore import version_log
    from featurestore.sync import state
    from featurestore.warehouse import Warehouse

    with Warehouse(project) as warehouse:
        if how == "sync_state":
            state.save(warehouse, state.SyncState(view, 1, status="ok"))
        elif how == "training_sets":
            version_log.record_training_set(warehouse, {
                "created_at": dt.datetime.now(dt.UTC).isoformat(), "join_sql_sha256": "",
                "output": {"path": "train.parquet"}, "views": [{"name": view, "version": 1}]})
        else:
            version_log.record(warehouse, version_log.VersionEvent(view, 1, "promote", "alice"))
