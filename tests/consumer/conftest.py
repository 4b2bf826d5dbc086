"""Fixtures for the consumer tests: a team's own dbt project that installs featurestore.

tests/consumer_project/ is copied to a temporary folder and its packages.yml pointed at
this repository's root by absolute path, so `dbt deps` links the package from anywhere
and dbt_packages/, target/, logs/ and the DuckDB file never land in the repository. The
copy is built once per session with the CLI, as a team would (`featurestore build`).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "consumer_project"
PACKAGE_LINE = "local: ../.."  # in the fixture's packages.yml
# Variables that would point featurestore or dbt at another project, file or store.
FOREIGN_ENV = (
    "FEATURESTORE_PROJECT_DIR", "FEATURESTORE_TARGET", "FEATURESTORE_DUCKDB_PATH",
    "FEATURESTORE_SPARK_DIR", "FEATURESTORE_SPARK_DRIVER_MEMORY",
    "FEATURESTORE_RAW_DIR", "FEATURESTORE_SERVING_LOG_DIR", "DBT_TARGET_PATH",
    "DBT_PROFILES_DIR", "DBT_PROFILE", "DBT_TARGET", "SHOP_OTHER_DUCKDB",
    "FEATURESTORE_DYNAMODB_ENDPOINT", "FEATURESTORE_ONLINE_TABLE",
)
# The shop's warehouse: its profile's `dev` target, `path: acme.duckdb` (not
# featurestore's default file), relative to the project folder.
DUCKDB_FILE = "acme.duckdb"


def copy_consumer_project(dest: Path, repo_root: Path = REPO_ROOT) -> Path:
    """The fixture project at ``dest``, installing featurestore from ``repo_root``."""
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns(
        "dbt_packages", "target", "logs", "warehouse", "package-lock.yml", "*.duckdb"))
    packages = dest / "packages.yml"
    text = packages.read_text()
    assert PACKAGE_LINE in text, f"{FIXTURE / 'packages.yml'} no longer says {PACKAGE_LINE}"
    packages.write_text(text.replace(PACKAGE_LINE, f"local: {repo_root}", 1))
    return dest


@dataclass(frozen=True)
class Invocation:
    exit_code: int
    stdout: str
    stderr: str


def featurestore(root: Path, *args: str, env: dict[str, str] | None = None) -> Invocation:
    """``featurestore --project-dir ROOT ARGS...`` through the real CLI, in-process."""
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    result = CliRunner().invoke(cli, ["--project-dir", str(root), *args], obj={}, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Invocation(result.exit_code, result.stdout, result.stderr)


@dataclass(frozen=True)
class Shop:
    """The consumer project, copied and built once (``featurestore build``)."""

    root: Path
    validate_before_build: Invocation
    build: Invocation

    @property
    def duckdb_path(self) -> Path:
        return self.root / DUCKDB_FILE

    def query(self, sql: str) -> list[tuple]:
        return query(self.duckdb_path, sql)

    def query_dicts(self, sql: str) -> list[dict]:
        import duckdb

        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def query(path: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` in the DuckDB file at ``path``, opened by the test itself."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def clear_foreign_env(patch: pytest.MonkeyPatch) -> None:
    for name in FOREIGN_ENV:
        patch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shop_built(tmp_path_factory) -> Shop:
    root = copy_consumer_project(tmp_path_factory.mktemp("consumer") / "shop")
    with pytest.MonkeyPatch.context() as patch:
        clear_foreign_env(patch)
        before = featurestore(root, "validate")
        build = featurestore(root, "build")
    if build.exit_code != 0:
        raise AssertionError(f"featurestore build failed ({build.exit_code}):\n"
                             f"{build.stdout}\n{build.stderr}")
    return Shop(root=root, validate_before_build=before, build=build)


@pytest.fixture
def shop(shop_built, monkeypatch) -> Shop:
    """The built consumer project, with no variable pointing featurestore elsewhere."""
    clear_foreign_env(monkeypatch)
    return shop_built


def spine_times(feature_times: list[dt.datetime], ttl: dt.timedelta) -> list[dt.datetime]:
    """Event times at and around every change of a feature value and every TTL edge."""
    second = dt.timedelta(seconds=1)
    times = set()
    for t in feature_times:
        times.update({t - second, t, t + second, t + ttl, t + ttl + second})
    return sorted(times)
