"""When `featurestore build` runs `dbt deps` first: `packages_to_install` decides."""

from __future__ import annotations

import pytest

from featurestore.dbt_runner import packages_to_install
from featurestore.errors import ProjectError
from featurestore.project import Project


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "feature_defs").mkdir()
    return Project(tmp_path)


def test_no_packages_file_needs_no_deps(project):
    assert packages_to_install(project) is None
    (project.root / "packages.yml").write_text("packages: []\n")
    assert packages_to_install(project) is None


def test_packages_not_installed_yet_need_deps(project):
    (project.root / "packages.yml").write_text("packages:\n  - local: ../featurestore\n")
    (project.root / "dependencies.yml").write_text(
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n")
    assert packages_to_install(project) == (
        "packages.yml lists 1 and dependencies.yml lists 1 dbt package(s) and "
        "dbt_packages/ holds 0: running `dbt deps`")
    (project.root / "dbt_packages" / "featurestore").mkdir(parents=True)
    assert packages_to_install(project).endswith("dbt_packages/ holds 1: running `dbt deps`")
    (project.root / "dbt_packages" / "dbt_utils").mkdir()
    assert packages_to_install(project) is None


def test_packages_install_path_of_dbt_project_is_honoured(project):
    (project.root / "dbt_project.yml").write_text(
        "name: shop\nprofile: shop\npackages-install-path: vendor\n")
    (project.root / "packages.yml").write_text("packages:\n  - local: ../featurestore\n")
    (project.root / "dbt_packages" / "featurestore").mkdir(parents=True)
    assert packages_to_install(project).endswith("vendor/ holds 0: running `dbt deps`")
    (project.root / "vendor" / "featurestore").mkdir(parents=True)
    assert packages_to_install(project) is None


def test_a_malformed_packages_file_names_the_file_and_the_fix(project):
    path = project.root / "packages.yml"
    path.write_text("packages:\n  local: ../featurestore\n")
    with pytest.raises(ProjectError) as error:
        packages_to_install(project)
    assert str(error.value) == (
        f"{path}: `packages` must be a list, e.g. `packages: [{{local: ../featurestore}}]` "
        "(see https://docs.getdbt.com/docs/build/packages).")
