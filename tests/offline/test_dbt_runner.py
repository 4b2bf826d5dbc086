"""run_dbt: dbt's silent outcomes (a failing node, a selector matching nothing) become
errors that name what went wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from featurestore.dbt_runner import run_dbt
from featurestore.errors import ProjectError
from featurestore.project import Project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    shutil.copy(ROOT / "dbt_project.yml", root / "dbt_project.yml")
    shutil.copy(ROOT / "profiles.yml", root / "profiles.yml")
    (root / "models").mkdir()
    (root / "models" / "good.sql").write_text("select 1 as id\n")
    (root / "models" / "broken.sql").write_text("select no_such_column from {{ ref('good') }}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FEATURESTORE_DUCKDB_PATH", str(root / "tiny.duckdb"))
        patch.delenv("DBT_PROFILES_DIR", raising=False)
        yield Project(root)


def test_a_good_selection_returns_dbt_result(tiny):
    result = run_dbt(tiny, ["run", "--select", "good", "--log-path", str(tiny.root / "logs")])
    assert [r.node.name for r in result.result.results] == ["good"]


def test_a_failing_node_is_named(tiny):
    with pytest.raises(ProjectError) as caught:
        run_dbt(tiny, ["run", "--log-path", str(tiny.root / "logs")])
    message = str(caught.value)
    assert message.startswith("`dbt run --log-path ")
    assert "failed:\n  - model.featurestore.broken: " in message
    assert "no_such_column" in message


def test_a_selector_matching_nothing_is_an_error(tiny):
    with pytest.raises(ProjectError) as caught:
        run_dbt(tiny, ["run", "--select", "no_such_model"])
    assert str(caught.value) == (
        "`dbt run --select no_such_model` selected no node: check the selector (model "
        "names, folders like `features`, tags like `tag:fraud`) with `dbt ls -s ...`.")
