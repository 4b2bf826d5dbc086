"""A small featurestore project in a temporary folder, with feature tables built in SQL."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.feature_tables import create_feature_tables

REPO_ROOT = Path(__file__).resolve().parents[2]
# The newest feature_ts is END - 10 minutes; gates run --as-of END so lags are exact.
END = dt.datetime(2026, 5, 1, 12, 0, 0)
AS_OF = "2026-05-01T12:00:00Z"


@dataclass
class GateProject:
    root: Path

    @property
    def project(self):
        from featurestore.project import Project

        return Project(self.root)

    def warehouse(self):
        from featurestore.warehouse import Warehouse

        return Warehouse(self.project)

    def sql(self, statement: str) -> list[tuple]:
        with self.warehouse() as warehouse:
            return warehouse.fetch_all(statement)

    def gate(self, *args: str):
        from click.testing import CliRunner

        from featurestore.apps.cli import cli

        return CliRunner().invoke(cli, ["--project-dir", str(self.root), "gate", *args],
                                  obj={}, catch_exceptions=False)


@pytest.fixture
def gate_project(tmp_path, monkeypatch) -> GateProject:
    """feature_defs/ of this repo, fresh tables (200 users x 24 h) in warehouse/*.duckdb."""
    for name in ("FEATURESTORE_DUCKDB_PATH", "FEATURESTORE_TARGET", "DBT_PROFILES_DIR"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO_ROOT / name, root / name)
    gp = GateProject(root)
    with gp.warehouse() as warehouse:
        create_feature_tables(warehouse.connection, END)
    return gp
