"""A small demo world for the versions scenario: this repository's dbt project copied to a
temporary folder (so a test can add version 2 of `user_transactions` without touching
the checkout), a few hundred users over a few days ending now, its own DuckDB file and
DynamoDB table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
USERS, DAYS, SEED = 250, 4, 23
COPIED = ("dbt_project.yml", "profiles.yml", "macros", "models", "feature_defs",
          "tests/dbt")


@dataclass
class World:
    root: Path  # the project (a copy of the repository's dbt project)
    base: Path  # its data: landing files, warehouse, serving log, dbt target
    env: dict[str, str]
    table: str
    endpoint: str

    @property
    def project(self):
        from featurestore.project import Project

        return Project(self.root)

    def cli(self, *args: str):
        """Run the CLI in this process (the environment is the world's, as set by the
        fixture); returns click's Result, with the exit code and both streams."""
        from click.testing import CliRunner

        from featurestore.apps.cli import cli

        return CliRunner().invoke(cli, ["--project-dir", str(self.root), *args], obj={})

    def add_version_2(self) -> None:
        """Declare v2 of user_transactions: its `versions:` entry and its dbt model."""
        contract = self.root / "feature_defs" / "user_transactions.yml"
        contract.write_text(contract.read_text()
                            + (FIXTURES / "user_transactions_versions.yml").read_text())
        shutil.copy(FIXTURES / "fs_user__transactions_v2.sql",
                    self.root / "models" / "features" / "user" / "fs_user__transactions_v2.sql")

    def sql(self, statement: str, params=None) -> list[tuple]:
        import duckdb

        with duckdb.connect(self.env["FEATURESTORE_DUCKDB_PATH"], read_only=True) as con:
            return con.execute(statement, params or []).fetchall()

    def serving_lines(self) -> list[dict]:
        folder = Path(self.env["FEATURESTORE_SERVING_LOG_DIR"])
        return [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
                for line in path.read_text().splitlines() if line.strip()]


def make_world(tmp: Path, endpoint: str, table: str, *, users: int = USERS,
               days: int = DAYS) -> World:
    """Copy the project and generate its demo events (nothing built or synced yet)."""
    from featurestore.demo_data import generate
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig

    root, base = tmp / "project", tmp / "data"
    for name in COPIED:
        source, target = REPO_ROOT / name, root / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    env = {"FEATURESTORE_LANDING_DIR": str(base / "landing"),
           "FEATURESTORE_DUCKDB_PATH": str(base / "warehouse" / "demo.duckdb"),
           "DBT_TARGET_PATH": str(base / "target"),
           "FEATURESTORE_SERVING_LOG_DIR": str(base / "serving_log"),
           "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint, "FEATURESTORE_ONLINE_TABLE": table,
           "FEATURESTORE_LOOKUP_VERSION_REFRESH_MS": "100",
           "FEATURESTORE_USER": "alice"}
    (base / "warehouse").mkdir(parents=True)
    generate(base / "landing", users=users, days=days, seed=SEED,
             end=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0))
    ensure_table(OnlineConfig(endpoint=endpoint).client(), table, ttl=False)
    return World(root, base, env, table, endpoint)


def subprocess_env(world: World) -> dict[str, str]:
    """The environment of a `featurestore` child process of this world."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")},
            **world.env, "PYTHONPATH": str(REPO_ROOT)}
