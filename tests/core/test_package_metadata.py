"""The package's metadata (issue 18, item 6): an Apache-2.0 LICENSE, an SPDX license with
a setuptools that reads it, authors, keywords, classifiers, an `all` extra, and the dbt
versions the dbt package declares. The built wheel's METADATA is checked in
tests/consumer/test_wheel.py."""

from __future__ import annotations

import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
RUNTIME_EXTRAS = {"aws", "snowflake", "gates", "spark", "catalog"}


def test_the_license_is_apache_2_in_full():
    text = (REPO_ROOT / "LICENSE").read_text()
    assert [line.strip() for line in text.strip().splitlines()[:3]] == [
        "Apache License", "Version 2.0, January 2004", "http://www.apache.org/licenses/"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert (PROJECT["license"], PROJECT["license-files"]) == ("Apache-2.0", ["LICENSE"])
    # PEP 639: an SPDX license expression and a License classifier exclude each other
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]


def test_setuptools_is_new_enough_for_an_spdx_license():
    (requirement,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert requirement.name == "setuptools"
    assert not requirement.specifier.contains("76.1")  # the last without PEP 639
    assert requirement.specifier.contains("77.0.0")


def test_authors_keywords_and_classifiers():
    assert PROJECT["authors"] and all(a["name"].strip() for a in PROJECT["authors"])
    assert {"feature store", "dbt", "duckdb", "snowflake", "dynamodb"} <= set(
        PROJECT["keywords"])
    python = re.search(r">=3\.(\d+)", PROJECT["requires-python"]).group(1)
    assert f"Programming Language :: Python :: 3.{python}" in PROJECT["classifiers"]
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert (REPO_ROOT / "featurestore" / "py.typed").exists()


def test_the_all_extra_is_every_runtime_extra():
    extras = PROJECT["optional-dependencies"]
    assert set(extras) == RUNTIME_EXTRAS | {"all", "dev", "mutation"}
    (everything,) = [Requirement(r) for r in extras["all"]]
    assert (everything.name, everything.extras) == ("featurestore", RUNTIME_EXTRAS)


def test_the_dbt_package_requires_the_dbt_it_is_tested_with():
    declared = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    required = SpecifierSet(",".join(declared["require-dbt-version"]))
    pinned = next(Requirement(r) for r in PROJECT["dependencies"]
                  if Requirement(r).name == "dbt-core")
    assert required == pinned.specifier  # the Python package and the dbt package agree
    from importlib.metadata import version

    assert Version(version("dbt-core")) in required
