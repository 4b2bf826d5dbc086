"""`featurestore new`: valid YAML whatever the owner, and nothing left behind on failure."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings

from featurestore.apps.cli import cli
from featurestore.contracts import text_problem
from featurestore.errors import FeatureStoreError
from featurestore.project import Project
from featurestore.scaffold import scaffold_view, yaml_text
from tests.conftest import REPO_ROOT
from tests.hostile_text import hostile_text


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``root`` (folders as None), with its content."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def _new(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--project-dir", str(root), "new", *args], obj={})


def test_an_owner_with_a_colon_is_written_as_valid_yaml(project):
    result = _new(project.root, "refunds", "--entity", "user", "--owner", "risk: ml")
    assert result.exit_code == 0, result.output
    contract = (project.feature_defs / "refunds.yml").read_text()
    assert 'owner: "risk: ml"' in contract
    assert project.catalog().views["refunds"].owner == "risk: ml"


@pytest.mark.parametrize("owner", ["yes", "null", "1e3", "- x", "# x", "it's", 'say "hi"',
                                   "{{ env_var('HOME') }}", "a\\b", "[x]", "&a", "日本"])
def test_owners_yaml_would_misread_are_quoted(owner):
    assert yaml.safe_load(f"owner: {yaml_text(owner)}") == {"owner": owner}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A project with the repo's contracts and generated files, to copy per example."""
    root = tmp_path_factory.mktemp("scaffold") / "project"
    root.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "feature_defs", root / "feature_defs")
    (root / "macros" / "generated").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "macros/generated/featurestore_contracts.sql",
                root / "macros/generated/featurestore_contracts.sql")
    (root / "models" / "features").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "models/features/_featurestore__contracts.yml",
                root / "models/features/_featurestore__contracts.yml")
    return root


@settings(max_examples=60, deadline=None)
@given(owner=hostile_text)
def test_any_owner_is_kept_exactly_or_refused_with_nothing_written(template, owner):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "project"
        shutil.copytree(template, root)
        before = _snapshot(root)
        try:
            scaffold_view(Project(root), "refunds", "user", None, owner)
        except FeatureStoreError as error:
            assert text_problem(owner) is not None, str(error)
            assert str(error).startswith("feature_defs/refunds.yml, field `owner`: ")
            assert _snapshot(root) == before
            return
        assert Project(root).catalog().views["refunds"].owner == (owner.strip() or "unowned")


def test_a_failure_after_writing_leaves_the_project_as_it_was(project):
    # another contract is broken: the new files are written, the catalog does not load
    (project.feature_defs / "merchant_risk.yml").write_text("name: [")
    before = _snapshot(project.root)
    result = _new(project.root, "refunds", "--entity", "user", "--owner", "payments")
    assert result.exit_code == 1
    assert result.output.startswith("Error: feature_defs/merchant_risk.yml:1: invalid YAML")
    assert _snapshot(project.root) == before  # no contract, no model, no models/features/user


def test_a_reserved_view_name_leaves_nothing_behind(project):
    before = _snapshot(project.root)
    result = _new(project.root, "order", "--entity", "user")
    assert result.exit_code == 1
    assert "`order` is a reserved word of DuckDB or Snowflake SQL" in result.output
    assert _snapshot(project.root) == before


@pytest.mark.parametrize(("args", "message"), [
    (["refunds\n", "--entity", "user"],
     "Error: 'refunds\\n' is not a valid view name: use lowercase letters"),
    (["refunds", "--entity", "user", "--from", "x') }}{{ env_var('HOME') }}{{ ('"],
     "Error: --from \"x') }}{{ env_var('HOME') }}{{ ('\" is not a dbt model name"),
])
def test_names_that_would_break_the_files_are_refused_before_writing(project, args, message):
    before = _snapshot(project.root)
    result = _new(project.root, *args)
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert _snapshot(project.root) == before
