"""Fixtures for the point-in-time macro tests: a small dbt project in a temporary folder.

The project is the real one (dbt_project.yml, profiles.yml, macros/, tests/dbt/) with
only the macro-test seeds and models of tests/offline/fixtures/pit_project/, and a
contracts macro describing those seeds, so the demo's models stay out of the way.
It is built once per session (one `dbt build`), and the same folder serves the inline
compiles that prove sql_render and dbt produce the same SQL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.offline.ingest_support import shop  # noqa: F401  (the ingest tests' project)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "pit_project"
SPLIT = "-- @@featurestore-split@@"
# A Snowflake profile for compiling only (fakesnow answers if dbt connects).
SNOWFLAKE_ENV = {"SNOWFLAKE_ACCOUNT": "acct", "SNOWFLAKE_USER": "u", "SNOWFLAKE_PASSWORD": "p",
                 "SNOWFLAKE_DATABASE": "DB", "SNOWFLAKE_SCHEMA": "FS"}


def use_snowflake_target(monkeypatch) -> None:
    """Every project opened from here on picks SNOWFLAKE_ENV's target `snowflake`."""
    for name, value in {**SNOWFLAKE_ENV, "FEATURESTORE_TARGET": "snowflake"}.items():
        monkeypatch.setenv(name, value)


@contextlib.contextmanager
def on_fakesnow(root: Path, load: Callable) -> Iterator:
    """The project at ``root`` on fakesnow's Snowflake (after use_snowflake_target), its
    database and schema created and ``load(warehouse, "snowflake")`` run; fakesnow stays
    patched for the block, where the project's warehouse is that same Snowflake."""
    fakesnow = pytest.importorskip("fakesnow")
    from featurestore.project import Project
    from featurestore.warehouse import Warehouse

    with fakesnow.patch():
        project = Project(root)
        with Warehouse(project) as warehouse:
            warehouse.execute("create database if not exists DB")
            warehouse.execute("create schema if not exists DB.FS")
            load(warehouse, "snowflake")
        yield project


def fixture_contracts() -> dict:
    return json.loads((FIXTURE / "contracts.json").read_text())


def jinja_data(value) -> str:
    """A Jinja expression for ``value`` (dicts, lists, None): fromjson of its JSON."""
    return f"fromjson({json.dumps(value)!r})"


def jinja_call(macro: str, *args: str) -> str:
    """``{{ macro(arg, ...) }}``, for inline compiles."""
    return "{{ " + f"{macro}({', '.join(args)})" + " }}"


def _contracts_macro(specs: dict) -> str:
    body = json.dumps(specs, sort_keys=True)
    return (
        "{% macro featurestore_contracts() %}\n"
        f"{{{{ return(fromjson({body!r})) }}}}\n"
        "{% endmacro %}\n"
    )


@dataclass
class DbtProject:
    root: Path
    duckdb_path: Path

    def invoke(self, *args: str, messages: list[str] | None = None):
        """Run dbt in-process on this project; returns dbt's result object.

        ``messages``, when given, collects the text of every event dbt logs (compile
        errors reach the caller only that way for inline queries).
        """
        from dbt.cli.main import dbtRunner

        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        os.environ["FEATURESTORE_DUCKDB_PATH"] = str(self.duckdb_path)
        os.environ.pop("FEATURESTORE_TARGET", None)
        callbacks = [] if messages is None else [lambda event: messages.append(event.info.msg)]
        return dbtRunner(callbacks=callbacks).invoke(
            [*args, "--project-dir", str(self.root), "--profiles-dir", str(self.root),
             "--quiet"]
        )

    def compile_inline(self, pieces: list[str], target: str = "duckdb") -> list[str]:
        """Compile several Jinja snippets with one `dbt compile --inline`; their SQL.

        ``target`` "snowflake" compiles on dbt-snowflake's adapter (its dispatch picks
        the ``snowflake__`` macros), through fakesnow: nothing reaches a real account."""
        args = ["compile", "--inline", f"\n{SPLIT}\n".join(pieces)]
        if target == "snowflake":
            fakesnow = pytest.importorskip("fakesnow")
            with fakesnow.patch(), pytest.MonkeyPatch.context() as patch:
                for name, value in SNOWFLAKE_ENV.items():
                    patch.setenv(name, value)
                result = self.invoke(*args, "--target", "snowflake", "--no-populate-cache")
        else:
            result = self.invoke(*args)
        if not result.success:
            raise AssertionError(f"dbt compile --inline failed: {result.exception}")
        compiled = result.result.results[0].node.compiled_code
        return compiled.split(SPLIT)

    def compile_error(self, snippet: str) -> str:
        """The message of the compilation error dbt raises for ``snippet``."""
        messages: list[str] = []
        result = self.invoke("compile", "--inline", snippet, messages=messages)
        assert not result.success, f"dbt compiled {snippet!r} without error"
        return "\n".join([str(result.exception), *map(str, messages)])


@pytest.fixture(scope="session")
def pit_project(tmp_path_factory) -> DbtProject:
    """A dbt project with the real macros and the point-in-time fixtures (not built)."""
    root = tmp_path_factory.mktemp("pit_project")
    shutil.copy(ROOT / "dbt_project.yml", root / "dbt_project.yml")
    shutil.copy(ROOT / "profiles.yml", root / "profiles.yml")
    shutil.copytree(ROOT / "macros", root / "macros")
    (root / "macros" / "generated" / "featurestore_contracts.sql").write_text(
        _contracts_macro(fixture_contracts())
    )
    # the fixture's own contracts only: not the demo's on-demand views
    (root / "macros" / "generated" / "featurestore_on_demand.sql").unlink(missing_ok=True)
    shutil.copytree(ROOT / "tests" / "dbt", root / "tests" / "dbt")
    shutil.copytree(FIXTURE / "seeds", root / "seeds")
    shutil.copytree(FIXTURE / "models", root / "models" / "pit_tests")
    (root / "warehouse").mkdir()
    return DbtProject(root=root, duckdb_path=root / "warehouse" / "pit.duckdb")


@dataclass
class BuildResult:
    project: DbtProject
    success: bool
    nodes: dict  # unique_id -> dbt's node result

    def by_name(self, prefix: str) -> list:
        """Node results whose dbt name is ``prefix`` or starts with ``prefix*``."""
        if prefix.endswith("*"):
            return [r for r in self.nodes.values() if r.node.name.startswith(prefix[:-1])]
        return [r for r in self.nodes.values() if r.node.name == prefix]

    def query(self, sql: str) -> list[tuple]:
        import duckdb

        with duckdb.connect(str(self.project.duckdb_path)) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="session")
def pit_build(pit_project) -> BuildResult:
    """One `dbt build` of the fixture project; every dbt assertion reads this."""
    result = pit_project.invoke("build")
    if result.result is None:
        raise AssertionError(f"dbt build did not run: {result.exception}")
    nodes = {r.node.unique_id: r for r in result.result.results}
    return BuildResult(project=pit_project, success=result.success, nodes=nodes)


@pytest.fixture(scope="module")
def con():
    """An in-memory DuckDB connection for a module's generated SQL."""
    import duckdb

    connection = duckdb.connect()
    yield connection
    connection.close()
