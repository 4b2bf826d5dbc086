"""A world for the loop's tests: the demo project over a small generated history, with its
own DuckDB file, landing folder, dbt target and DynamoDB table, driven through the CLI
in subprocesses as an operator would (each `run --once` is a fresh process: a restart).

The oracles here read DuckDB and DynamoDB directly (duckdb, boto3), never through
featurestore's code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from featurestore.online.client import ensure_table
from featurestore.online.config import OnlineConfig
from tests.conftest import REPO_ROOT

SCRIPT = [sys.executable, "-c", "from featurestore.apps.cli import main; main()"]
# what a copy of the project needs: the dbt project and its contracts (dbt's own tests
# live under tests/dbt: test-paths)
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "feature_defs", "models", "macros",
                 "tests/dbt")


def environment(base: Path, endpoint: str, table: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FEATURESTORE_")},
            "FEATURESTORE_LANDING_DIR": str(base / "landing"),
            "FEATURESTORE_INGEST_SETTLE": "0",  # files here are written whole before a cycle
            "FEATURESTORE_DUCKDB_PATH": str(base / "warehouse" / "demo.duckdb"),
            "DBT_TARGET_PATH": str(base / "target"),
            "FEATURESTORE_SERVING_LOG_DIR": str(base / "serving_log"),
            "FEATURESTORE_DYNAMODB_ENDPOINT": endpoint, "FEATURESTORE_ONLINE_TABLE": table}


def copy_project(dest: Path) -> Path:
    """A copy of this repository's dbt project, to edit (a model, a contract)."""
    for part in PROJECT_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, dest / part)
        else:
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest / part)
    return dest


@dataclass
class World:
    base: Path
    root: Path  # the project folder
    env: dict[str, str]
    endpoint: str

    @property
    def table(self) -> str:
        return self.env["FEATURESTORE_ONLINE_TABLE"]

    @property
    def duckdb_path(self) -> Path:
        return self.base / "warehouse" / "demo.duckdb"

    def featurestore(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*SCRIPT, "--project-dir", str(self.root), *args], env=self.env,
                              capture_output=True, text=True, timeout=600)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([*SCRIPT, "--project-dir", str(self.root), *args],
                                env=self.env, stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)

    def sql(self, statement: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(statement, params or []).fetchall()

    def execute(self, statement: str, params=None) -> None:
        with duckdb.connect(str(self.duckdb_path)) as con:
            con.execute(statement, params or [])

    def cycles(self) -> list[dict]:
        """featurestore.loop_cycles, oldest first, JSON columns decoded."""
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            columns = [c[0] for c in con.execute(
                "describe featurestore.loop_cycles").fetchall()]
            rows = con.execute("select * from featurestore.loop_cycles order by started_at")
            found = [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]
        for cycle in found:
            for name in ("rows_changed", "freshness_lag", "refused", "held_since",
                         "quarantined", "built", "pending"):
                if isinstance(cycle.get(name), str):
                    cycle[name] = json.loads(cycle[name])
        return found

    def client(self):
        return OnlineConfig(endpoint=self.endpoint).client()

    def item(self, pk: str, sk: str) -> dict | None:
        return self.client().get_item(TableName=self.table, ConsistentRead=True,
                                      Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")

    def items(self, sk: str | None = None) -> dict[tuple[str, str], dict]:
        """Every feature item (or those of one view version), by (pk, sk)."""
        client, found, request = self.client(), {}, {"TableName": self.table,
                                                     "ConsistentRead": True}
        while True:
            page = client.scan(**request)
            for item in page["Items"]:
                if item["pk"]["S"].startswith("_") or (sk and item["sk"]["S"] != sk):
                    continue
                found[(item["pk"]["S"], item["sk"]["S"])] = item
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def make_world(base: Path, endpoint: str, *, root: Path = REPO_ROOT,
               end: dt.datetime | None = None, users: int = 150, days: int = 5) -> World:
    """A built demo (``users`` x ``days`` of history ending at ``end``, default now),
    ingested, built and synced once without gates."""
    from featurestore.demo_data import generate

    table = f"fs_loop_{base.parent.name[-20:]}_{base.name}".replace("-", "_")
    world = World(base, root, environment(base, endpoint, table), endpoint)
    end = end or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    generate(base / "landing", users=users, days=days, seed=11, end=end)
    ensure_table(world.client(), table, ttl=False)
    for step in (["ingest"], ["build", "--quiet"], ["sync", "--no-gate"]):
        done = world.featurestore(*step)
        assert done.returncode == 0, done.stderr[-3000:]
    return world
