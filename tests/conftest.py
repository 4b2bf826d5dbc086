"""Fixtures shared by every area's tests. Each area keeps its own in tests/<area>/."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_dbt_project(root: Path, name: str) -> None:
    """dbt_project.yml and profiles.yml of a small test project. Its profile is this
    repository's under another name: FEATURESTORE_TARGET picks the output, the DuckDB
    file is FEATURESTORE_DUCKDB_PATH's (default warehouse/featurestore.duckdb), Snowflake's
    fields the SNOWFLAKE_* variables."""
    (root / "dbt_project.yml").write_text(f"name: {name}\nversion: '1.0'\nprofile: {name}\n")
    profile = (REPO_ROOT / "profiles.yml").read_text()
    assert "\nfeaturestore_demo:\n" in profile
    (root / "profiles.yml").write_text(profile.replace("\nfeaturestore_demo:\n",
                                                       f"\n{name}:\n", 1))


@pytest.fixture(scope="session")
def dynamodb_local():
    """A real DynamoDB Local (in memory) for the session: yields its endpoint URL."""
    from featurestore.online.local import LocalDynamoDB

    local = LocalDynamoDB(REPO_ROOT)
    local.start()
    yield local.endpoint
    local.stop()


@pytest.fixture
def dynamodb_table(dynamodb_local, request):
    """A fresh, empty feature table in the session's DynamoDB Local: yields (client, name).

    Its TTL sweeper is off, so items dated on a fixed past clock are not deleted mid-test.
    """
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig

    client = OnlineConfig(endpoint=dynamodb_local).client()
    name = "fs_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:200]
    ensure_table(client, name, ttl=False)
    yield client, name
    client.delete_table(TableName=name)


@pytest.fixture
def online_store(dynamodb_table):
    """The real online store (``DynamoDBStore``) over the fresh, empty ``dynamodb_table``:
    what a test hands the lookup, the sync or a gate (tests/online_stores.py has the
    faults to inject around it)."""
    from tests.online_stores import store_for

    client, name = dynamodb_table
    return store_for(client, name)


# -- the demo warehouse (owned with featurestore/demo_data.py) ---------------------------
DEMO_USERS, DEMO_DAYS, DEMO_SEED = 200, 30, 7
DEMO_END = "2026-05-01T00:00:00"


@dataclass(frozen=True)
class DemoProject:
    """The built demo: this repository's dbt project over a small generated warehouse.

    Nothing is copied: dbt reads the repo's models and macros; the raw Parquet, the
    DuckDB file, dbt's target/ and logs live in a temporary folder. The environment that
    points featurestore there (``env``) is set only during the build; a test that calls
    featurestore code against the demo uses the ``demo_env`` fixture (or ``activate``).
    """

    root: Path
    landing_dir: Path
    duckdb_path: Path
    target_path: Path
    rows: dict[str, int]  # rows per raw table, from the generator
    env: dict[str, str]

    @property
    def project(self):
        from featurestore.project import Project

        return Project(self.root)

    def raw_file(self, table: str) -> Path:
        """The generator's history file of a raw table, in the landing folder."""
        from featurestore.demo_data import HISTORY_FILE

        return self.landing_dir / table / HISTORY_FILE

    def activate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory) -> DemoProject:
    """200 users x 30 days (seed 7, end 2026-05-01) generated, ingested and `dbt
    build`-ed once."""
    import datetime as dt

    from featurestore.dbt_runner import run_dbt
    from featurestore.demo_data import generate
    from featurestore.ingest import ingest
    from featurestore.project import Project

    base = tmp_path_factory.mktemp("demo")
    landing, duckdb_path, target_path = base / "landing", base / "demo.duckdb", base / "target"
    env = {"FEATURESTORE_LANDING_DIR": str(landing),
           "FEATURESTORE_DUCKDB_PATH": str(duckdb_path), "DBT_TARGET_PATH": str(target_path)}
    rows = generate(landing, users=DEMO_USERS, days=DEMO_DAYS, seed=DEMO_SEED,
                    end=dt.datetime.fromisoformat(DEMO_END))
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        logs = ["--log-path", str(base / "logs")]
        run_dbt(Project(REPO_ROOT), ["parse", *logs])
        ingest(Project(REPO_ROOT))
        run_dbt(Project(REPO_ROOT), ["build", "--select", "staging", "features", "training",
                                     *logs])
    demo = DemoProject(root=REPO_ROOT, landing_dir=landing, duckdb_path=duckdb_path,
                       target_path=target_path, rows=rows, env=env)
    return demo


@pytest.fixture
def demo_env(demo_project, monkeypatch) -> DemoProject:
    """The built demo, with featurestore's environment pointing at it for one test."""
    demo_project.activate(monkeypatch)
    return demo_project
