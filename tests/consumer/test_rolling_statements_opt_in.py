"""A team that installs featurestore turns on one statement per bucket of entities for its
rolling windows (docs/incremental.md, "One statement per bucket"): the vars, and dbt's
`dispatch` for the `dbt` namespace so that featurestore's `duckdb__create_table_as` is
found before dbt-duckdb's. Its model then builds bucket by bucket, with the rows of the
one statement that the shop built without it."""

from __future__ import annotations

import re

import pytest

from .conftest import clear_foreign_env, copy_consumer_project, featurestore, query

pytestmark = pytest.mark.slow

MODEL = "fs_customer__orders"
VARS = """
vars:
  featurestore_rolling_partitions: 3
  featurestore_rolling_statements: true
"""
DISPATCH = """
dispatch:
  - macro_namespace: dbt
    search_order: [shop, featurestore, dbt]
"""
ROWS = f"select * from main.{MODEL} order by all"


def _built(root, *blocks: str):
    with (root / "dbt_project.yml").open("a") as project:
        project.write("".join(blocks))
    with pytest.MonkeyPatch.context() as patch:
        clear_foreign_env(patch)
        build = featurestore(root, "build")
    assert build.exit_code == 0, f"{build.stdout}\n{build.stderr}"
    ran = (root / "target" / "run" / "shop" / "models" / "features" / "customer"
           / f"{MODEL}.sql").read_text()
    return ran, query(root / "acme.duckdb", ROWS)


def test_dispatch_turns_the_statements_on_with_the_same_rows(shop, tmp_path):
    ran, rows = _built(copy_consumer_project(tmp_path / "shop"), VARS, DISPATCH)
    assert ran.count("create or replace temp table _featurestore_rw_input") == 1
    assert re.findall(r"_featurestore_rw_bucket = (\d+)", ran) == ["0", "1", "2"]
    assert ran.count("\ninsert into ") == 2  # buckets 1 and 2; bucket 0 creates the table
    assert ran.rstrip().endswith("drop table _featurestore_rw_input;")
    assert rows == shop.query(ROWS)
    assert len(rows) > 0


def test_without_dispatch_the_model_builds_as_the_one_statement(shop, tmp_path):
    """dbt-duckdb's own macro comes first in the `dbt` namespace unless the project says
    otherwise: the vars alone change nothing but the buckets of the one statement."""
    ran, rows = _built(copy_consumer_project(tmp_path / "shop"), VARS)
    assert "featurestore:rolling_statements" in ran  # marked, as the one statement
    assert "create or replace temp table _featurestore_rw_input" not in ran
    assert "insert into" not in ran
    assert rows == shop.query(ROWS)
